"""Domain data: frozen dataclasses that the core builds and every other layer reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChainLink = Literal["cause", "context"]


@dataclass(frozen=True)
class Frame:
    """One stack frame as printed: where the call was and the code on that line."""

    file: str
    line: int | None
    function: str | None
    source: str = ""
    repeated: int = 0  # "[Previous line repeated N more times]" printed after this frame


@dataclass(frozen=True)
class Location:
    """A file position without a function: where a SyntaxError points."""

    file: str
    line: int | None
    source: str = ""


@dataclass(frozen=True)
class RaisedException:
    """One exception of a chain: its type as printed, first message line, frames, outermost first."""

    type: str
    message: str = ""
    frames: tuple[Frame, ...] = ()
    # Lines printed after the message: a multi-line message's rest or PEP 678 notes
    # (CPython prints both the same way, so they cannot be told apart).
    notes: tuple[str, ...] = ()
    # How this exception leads to the next one in the chain, if any.
    link: ChainLink | None = None
    # Sub-exceptions of an exception group (PEP 654), in printed order.
    children: tuple[RaisedException, ...] = ()
    syntax_error: Location | None = None

    def with_leaves(self) -> list[RaisedException]:
        """This exception and, for an exception group, its sub-exceptions, each group before its
        leaves, in printed order."""
        return [self, *(e for child in self.children for e in child.with_leaves())]


@dataclass(frozen=True)
class Traceback:
    """A whole printed traceback: the chain of exceptions, oldest first, the final one last."""

    exceptions: tuple[RaisedException, ...]
    text: str
    form: str
    origin: int = 0  # the line (text) or log event index (payload) where it starts
    truncated: bool = False
    log_stream: str = ""
    timestamp: int | None = None
    # Why the parser stopped early when ``truncated`` (no exception line, a depth or size limit).
    truncated_reason: str = ""
    # The Lambda request the record names (JSON ``requestId``, Powertools ``function_request_id``,
    # the runtime's text log line); "" when the record names none. Two records of one failure share it.
    request_id: str = ""

    @property
    def final(self) -> RaisedException:
        """The exception that ended the program or request."""
        return self.exceptions[-1]


class Status:
    """Error group states. Every change is a conditional write (see adapters/store.py)."""

    NEW = "NEW"
    QUEUED = "QUEUED"
    FIXING = "FIXING"
    PR_OPENED = "PR_OPENED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    # The pull request's fate and whether the fix held (issue 12; docs/fate.md).
    MERGED = "MERGED"
    REJECTED = "REJECTED"
    REGRESSED = "REGRESSED"
    HEALED = "HEALED"
    # CI is the judge (core/checks.py; docs/fixer.md): the PR's checks stayed red after the repairs.
    CI_FAILED = "CI_FAILED"

    # NEW → QUEUED → FIXING → PR_OPENED; FIXING → FAILED (retried while attempts remain) or
    # SKIPPED; PR_OPENED → MERGED → HEALED | REGRESSED (→ QUEUED, a new job); PR_OPENED → REJECTED.
    # FAILED / SKIPPED / PR_OPENED / REJECTED / REGRESSED → NEW is the explicit re-open
    # (adapters/store.py): `selfheal retry`, or `/selfheal retry` on the PR.
    REOPENABLE = frozenset({FAILED, SKIPPED, PR_OPENED, REJECTED, REGRESSED, CI_FAILED})
    # What a re-open (a MODIFY to NEW) may come from: those, and FIXING whose lease expired (a
    # fixer that died before recording its result, re-opened by `selfheal retry`).
    REOPENED_FROM = REOPENABLE | {FIXING}
    # An occurrence after the merge (plus the deploy grace) means the fix did not hold.
    REGRESSES_FROM = frozenset({MERGED, HEALED})


@dataclass(frozen=True)
class Observation:
    """What one log batch saw of one bug: the first traceback and how often it occurred."""

    fingerprint: str
    traceback: Traceback
    count: int
    first_seen: int
    last_seen: int
    log_group: str
    service: str = "default"  # the service that owns the log group (core/services.py)
    # Records near the delivery's edges whose other record of the same failure may be in the
    # delivery before or after (core/fingerprint.py failure_tokens): kept on the group a while.
    failure_tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErrorGroup:
    """One bug: the error group item of the DynamoDB table, as the domain sees it."""

    fingerprint: str
    status: str
    exception_type: str = ""
    message: str = ""
    frames: tuple[Frame, ...] = ()
    sample: str = ""
    occurrences: int = 0
    first_seen: int = 0
    last_seen: int = 0
    log_groups: frozenset[str] = frozenset()
    attempts: int = 0
    pr_url: str = ""
    branch: str = ""
    reason: str = ""
    updated_at: int = 0
    expires_at: int = 0
    raw_fingerprint: str = ""
    lease_owner: str = ""
    lease_until: int = 0
    # The service the group belongs to (core/services.py); groups stored before services read as default.
    service: str = "default"
    # Spend (core/spend.py decide_spend; adapters/store.py): how a SKIPPED group waits, who
    # re-opened it, the fix jobs sent since its last explicit re-open, and model tokens spent on it.
    wait: str = ""  # "budget" (the sweep re-opens it), "occurrences" (ingest, at reopen_at), "" (none)
    wait_until: int = 0  # epoch ms: the refusing budget window ends
    budget_since: int = 0  # epoch ms: first refused for budget (the sweep's order)
    reopen_at: int = 0  # occurrences at which an occurrences wait ends
    reopened_by: str = ""  # "retry", "regression", "spend", "occurrences", ...
    resumed_by: str = ""
    auto_jobs: int = 0
    spent_tokens_in: int = 0
    spent_tokens_out: int = 0
    # The pull request's fate (issue 12): epoch ms, 0 when it did not happen.
    merged_at: int = 0
    pr_checked_at: int = 0  # the last lazy read of the PR's state (no webhook)
    regressed_at: int = 0
    healed_at: int = 0
    regressions: int = 0
    review_reason: str = ""  # the reviewer's last review or comment (redacted, bounded)
    pr_diff: str = ""  # the diff of the last PR selfheal opened (redacted, bounded)
    previous_attempt: str = ""  # why the next fix must see the last diff: "regressed" or "retry"
    # Fixability (core/fixability.py), decided before the job is sent: code / input / environment
    # / library, and why.
    fixability: str = ""
    fixability_reason: str = ""
    # The last PR's risky additions and weakened checks (core/risks.py), named.
    risks: tuple[str, ...] = ()
    weakened_checks: int = 0
    # Duplicates (core/overlap.py): the repository the PR is in and the base lines it changes (JSON);
    # for a fix that changed the same lines as another group's open PR, that group and PR.
    repository: str = ""
    pr_ranges: str = ""
    duplicate_of: str = ""
    duplicate_pr: str = ""
    # CI is the judge (core/checks.py): the PR's checks ("" before any report, pending, passed,
    # failed, none), repair commits made on its branch, whether it is ready for review, and the
    # failing checks' output the next repair is shown (redacted, bounded).
    checks: str = ""
    repairs: int = 0
    ready: bool = False
    check_output: str = ""
    reviewers_pending: str = ""  # chosen when the PR opened as a draft, requested when it is ready
    head_sha: str = ""  # the commit the fixer last pushed on the branch: the checks judged are its
    checks_since: int = 0  # epoch ms: when that commit was pushed (no check after a while: "none")
    # The model and the prompt template's version of the last attempt (core/outcomes.py splits by them).
    model: str = ""
    prompt_version: str = ""


@dataclass(frozen=True)
class FixOutcome:
    """What a fix attempt ended in: a PR, a skip with its reason, or a failure with its reason."""

    status: str  # Status.PR_OPENED, Status.SKIPPED or Status.FAILED
    reason: str = ""
    pr_url: str = ""
    branch: str = ""
    details: dict[str, object] | None = None


@dataclass(frozen=True)
class FixJob:
    """A queued request to fix one group: what the fixer needs to start (the rest it reads)."""

    fingerprint: str
    exception_type: str = ""
    occurrences: int = 0
    trigger: str = "new"  # "new", "reopened" or "regressed"
    token: str = ""  # the stream record that made it: a replay sends the same job again
    service: str = "default"  # the group's service (not in the message body: the fixer reads the group)

    def to_body(self) -> str:
        """The SQS message body (JSON)."""
        import json

        return json.dumps(
            {
                "fingerprint": self.fingerprint,
                "exception_type": self.exception_type,
                "occurrences": self.occurrences,
                "trigger": self.trigger,
                "token": self.token,
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class Edit:
    """Replace ``search`` (found exactly once in ``path``) by ``replace``."""

    path: str
    search: str
    replace: str


@dataclass(frozen=True)
class FixProposal:
    """What the model proposed through the ``propose_fix`` tool."""

    root_cause: str
    explanation: str
    confidence: float
    edits: tuple[Edit, ...]
    title: str = ""
