"""From an error group to a pull request: localize, select context, ask the model, validate,
publish one branch and one PR per group.

    frames ─locate─▶ repository files ─select_context─▶ prompt ─Converse─▶ propose_fix edits
      ─apply_edits + validate─▶ (one more round with the concrete error, then FAILED)
      ─▶ risky additions flagged (core/risks.py: a draft PR with a warning section)
      ─▶ branch selfheal/<fingerprint[:12]> stored on the group ─▶ commit, push ─▶ open or update PR

Repository code is never executed here: the PR's own CI runs the tests, and the PR body says so.
Everything published or stored that holds log or model text — commit message, PR title and body,
the reason of a rejection — is redacted and made inert by core/pr_text.py. Publishing is
idempotent: the branch name depends on the group only, the repository adapters move an existing
branch and the pull-request adapters update the open PR of that branch, so an attempt that
crashed after its push is completed by the next one, never duplicated.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.core.checks import repair_messages
from chalicelib.core.codeowners import ReviewerChoice, ReviewRequest, choose, find
from chalicelib.core.context import select_context, shown_section
from chalicelib.core.edits import EditError, EditResult, apply_edits
from chalicelib.core.localize import DEFAULT_PREFIXES, Limits, group_chain, localize
from chalicelib.core.models import ErrorGroup, FixOutcome, FixProposal, Status
from chalicelib.core.overlap import changed_ranges, decode, describe, encode, overlaps
from chalicelib.core.pr_text import code_span, commit_message, inert, plain_line, pr_body, weakening_section
from chalicelib.core.prompt import (
    SYSTEM_PROMPT,
    TOOL_NAME,
    MalformedAnswer,
    ProposalError,
    attempt_diff,
    marker_id,
    parse_proposal,
    read_answer,
    request_text,
    retry_text,
    tool_config,
)
from chalicelib.core.redact import redact
from chalicelib.core.risks import Finding, scan_changes, scan_weakening
from chalicelib.errors import FixRejected

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from contextlib import AbstractContextManager

    from chalicelib.adapters.bedrock import Model
    from chalicelib.core.codeowners import Reviewers
    from chalicelib.core.context import Context
    from chalicelib.core.localize import Located
    from chalicelib.usecases.fix import Lease

log = logging.getLogger(__name__)
__all__ = ["PROMPT_VERSION", "FixSettings", "ModelFixer", "PullRequests", "Repository", "pr_body"]
# The prompt template's version, recorded on every attempt (core/outcomes.py splits the figures by
# it): a digest of the system prompt and the tool's schema, so any change to either is a new version.
PROMPT_VERSION = hashlib.md5(
    (SYSTEM_PROMPT + json.dumps(tool_config(), sort_keys=True)).encode(), usedforsecurity=False
).hexdigest()[:12]


class Repository(Protocol):
    """Read access at the default branch head, and publishing a branch.

    ``paths`` lists regular files only (never a symbolic link or a submodule); ``read`` returns a
    file's exact text (line endings kept) or None; ``publish`` commits ``files`` (each an existing
    regular file, its mode kept) on ``branch`` from the head and creates or moves the branch —
    FixRejected when the commit would change nothing.
    """

    default_branch: str
    # Optional ``search_files``: files the ranked search may read beyond the trace (a remote read costs
    # a request; without it, localize's default). Optional ``changes()``: the lines the latest
    # commits changed (``core/changes.py``), which the search scores higher.

    def paths(self) -> list[str]: ...

    def read(self, path: str) -> str | None: ...

    def publish(self, branch: str, files: Mapping[str, str], message: str) -> str: ...


class PullRequests(Protocol):
    """Opens a PR for a branch, or updates the open one: never two for one group.

    ``reviewers`` (passed only when there is someone to ask) are requested on the PR; a refused
    request never fails the call. An implementation may leave what it did in ``reviews[branch]``
    (a ReviewRequest), which the fixer records on the outcome.
    """

    def open_or_update(  # noqa: PLR0913 - one PR's parts
        self,
        branch: str,
        base: str,
        title: str,
        body: str,
        draft: bool,
        labels: Sequence[str],
        reviewers: Reviewers | None = None,
    ) -> str: ...


@dataclass(frozen=True)
class FixSettings:
    """Limits and choices of fix generation."""

    path_prefixes: tuple[str, ...] = DEFAULT_PREFIXES
    context_tokens: int = 6_000
    max_changed_lines: int = 200
    max_line_chars: int = 400  # an added line, unless the file already had longer ones
    max_edit_chars: int = 20_000  # one edit's replacement text
    draft_below: float = 0.6  # confidence under which the PR is a draft
    labels: tuple[str, ...] = ("selfheal",)
    min_occurrences: int = 1
    extra_allowed: tuple[str, ...] = ()  # files the model may edit beyond those in the trace
    # Per service (core/services.py): every PR a draft; the service's reviewers (logins,
    # org/team) asked when CODEOWNERS names nobody; the service's name.
    draft: bool = False
    reviewers: tuple[str, ...] = ()
    service: str = "default"
    # The repository's key (core/services.py repo_key): open PRs are compared within it.
    repository: str = ""
    # CI is the judge (core/checks.py): every PR opens as a draft, reviewers are asked when green.
    await_checks: bool = False


@dataclass
class _Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    rounds: int = 0


def _report_usage(lease: Lease, usage: _Usage) -> None:
    """Tell the lease (usecases/fix.py) the tokens this attempt spent; leases without a ledger ignore it."""
    record = getattr(lease, "record_usage", None)
    if record is not None:
        record(usage.tokens_in, usage.tokens_out)


class ModelFixer:
    """The Fixer of the fix service: a model writes the fix, selfheal checks and publishes it."""

    def __init__(
        self,
        open_repo: Callable[[], AbstractContextManager[Repository]],
        pulls: PullRequests,
        model: Model,
        settings: FixSettings | None = None,
    ) -> None:
        self._open_repo = open_repo
        self._pulls = pulls
        self._model = model
        self._settings = settings or FixSettings()

    def fix(self, group: ErrorGroup, lease: Lease) -> FixOutcome:
        s = self._settings
        if group.occurrences < s.min_occurrences:
            # A wait, not an end: ingest re-opens the group when its count reaches the minimum.
            return FixOutcome(
                Status.SKIPPED,
                f"seen {group.occurrences} time(s), fixing starts at {s.min_occurrences}",
                details={"reopen_at": s.min_occurrences},
            )
        note = getattr(lease, "note", None)  # the attempt's model and prompt version, whatever its end
        if note is not None:
            note(model=self._model.model_id, prompt_version=PROMPT_VERSION)
        # A repair (the PR's checks failed: usecases/checks.py) works on the branch as it stands.
        repair = group.previous_attempt == "repair" and bool(group.branch) and bool(group.pr_url)
        with self._open_repo() as repo:
            if repair:
                use_branch = getattr(repo, "use_branch", None)
                if use_branch is None:
                    raise FixRejected("a repair needs a repository that can read its branch")
                use_branch(group.branch)
            # Every exception of the chain, the definitions its raising lines use, and the
            # allowed_paths files: all loaded, so an edit of any of them applies.
            bounds = Limits(search_files=getattr(repo, "search_files", Limits.search_files))
            changes = getattr(repo, "changes", list)()
            found = localize(
                group_chain(group), repo.paths(), repo.read, s.path_prefixes, s.extra_allowed, bounds, changes=changes
            )
            located = list(found.located)
            if not located:
                return FixOutcome(
                    Status.SKIPPED,
                    "no frame of the trace maps to a repository file (library code only, or path prefixes to set)",
                )
            files = {path: text for path in found.editable if (text := repo.read(path)) is not None}
            context = select_context(
                located, repo.read, s.context_tokens, definitions=found.definitions, extra=found.extra
            )
            usage = _Usage()
            marker = marker_id()
            request = request_text(group, context, marker)
            history = repair_messages(group, request, marker) if repair else None
            try:
                proposal, result = self._propose(group, request, files, usage, history)
            finally:  # tokens are spent whether or not the rounds end in a fix (the spend ledger)
                _report_usage(lease, usage)
            findings = scan_changes(files, result.files)
            weakened = scan_weakening(files, result.files)
            ranges = changed_ranges(files, result.files)
            duplicate = None if repair else self._duplicate(group, ranges, lease, usage)
            if duplicate is not None:
                return duplicate
            branch = group.branch if repair else f"selfheal/{group.fingerprint[:12]}"
            lease.set_branch(branch)  # stored before the PR exists: a retry reuses branch and PR
            choice = self._reviewers(repo, result.files, group)
            # With CI as the judge, the reviewers are asked when the checks pass (usecases/checks.py).
            asked = None if s.await_checks else choice.reviewers
            url, draft, head = self._publish(
                repo,
                group,
                branch,
                proposal,
                result,
                usage,
                findings,
                located,
                context,
                reviewers=asked,
                weakened=weakened,
            )
        details: dict[str, object] = {
            "model": self._model.model_id,
            "tokens_in": usage.tokens_in,
            "tokens_out": usage.tokens_out,
            "rounds": usage.rounds,
            "context_shown": "; ".join(f"{p}:{a}-{b}" for p, a, b in context.shown),
            "confidence": str(round(proposal.confidence, 2)),
            "lines_changed": result.lines_added + result.lines_removed,
            "apply_result": f"applied in round {usage.rounds}" + (f" (repair {group.repairs})" if repair else ""),
            "context_tokens": context.tokens,
            "risk_flags": len(findings),
            # Every risky addition and weakened check, named (the group's `risks`); a weakened
            # check keeps the PR a draft whatever its checks say.
            "risks": [str(f) for f in (*weakened, *findings)],
            "weakened_checks": len(weakened),
            "draft": draft,
            **_review_details(choice, getattr(self._pulls, "reviews", {}).pop(branch, None)),
            # Stored on the group: a regression or a reviewer's /selfheal retry shows it again.
            "pr_diff": attempt_diff(files, result.files),
            "head_sha": head,  # the checks of this commit judge the fix (usecases/checks.py)
            "prompt_version": PROMPT_VERSION,
            **self._check_details(group, choice, repair, draft),
        }
        if not repair:  # a repair keeps the lines its PR was opened with
            details |= {"repository": self._repository(), "pr_ranges": encode(ranges)}
        return FixOutcome(Status.PR_OPENED, pr_url=url, branch=branch, details=details)

    def _check_details(self, group: ErrorGroup, choice: ReviewerChoice, repair: bool, draft: bool) -> dict[str, object]:
        """The outcome's CI fields: checks awaited (pending) or not asked for (none), the repairs
        made, whether the PR is ready for review, and the reviewers to ask once it is."""
        if not self._settings.await_checks:
            return {"checks": "none", "repairs": 0, "ready": not draft, "reviewers_pending": ""}
        return {
            "checks": "pending",
            "repairs": group.repairs if repair else 0,
            "ready": False,
            "reviewers_pending": ", ".join(choice.reviewers.names()) if choice.reviewers else "",
            "check_output": group.check_output if repair else "",
        }

    def _repository(self) -> str:
        return self._settings.repository or f"service/{self._settings.service}"

    def _duplicate(
        self, group: ErrorGroup, ranges: Mapping[str, Any], lease: Lease, usage: _Usage
    ) -> FixOutcome | None:
        """When the fix changes lines an open selfheal PR of the same repository changes: a comment on
        that PR naming this group, and this group SKIPPED, linked to it; None otherwise (or when the
        lease cannot list open PRs)."""
        open_pulls = getattr(lease, "open_pulls", None)
        if open_pulls is None or not ranges:
            return None
        for other in open_pulls(self._repository()):
            if other.fingerprint == group.fingerprint:
                continue
            common = overlaps(ranges, decode(other.pr_ranges))
            if not common:
                continue
            where = describe({p: r for p, r in ranges.items() if p in common})
            comment = getattr(self._pulls, "comment", None)
            if comment is not None:
                comment(other.pr_url, _duplicate_comment(group, where))
            log.info("duplicate of %s: same lines (%s)", other.pr_url, where, extra={"fingerprint": group.fingerprint})
            return FixOutcome(
                Status.SKIPPED,
                f"duplicate: the open pull request {other.pr_url} (group {other.fingerprint[:12]}) changes the "
                f"same lines ({where})",
                details={
                    "model": self._model.model_id, "tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out,
                    "rounds": usage.rounds, "duplicate_of": other.fingerprint, "duplicate_pr": other.pr_url,
                    "prompt_version": PROMPT_VERSION,
                    "repository": self._repository(), "pr_ranges": encode(ranges),
                },
            )  # fmt: skip
        return None

    def _reviewers(self, repo: Repository, changed: Mapping[str, str], group: ErrorGroup) -> ReviewerChoice:
        """The code owners of the changed files (the repository's CODEOWNERS, GitHub's location
        order, read at the default head like every other file), else the service's reviewers.

        CODEOWNERS lives at the repository's root: a monorepo service's view of its folder
        (services/service_fixers.FolderView) reads it from the whole repository, and the changed
        files' full paths are matched, as GitHub matches them."""
        root = getattr(repo, "repository", repo)
        choice = choose(sorted(changed), find(root.read), self._settings.reviewers)
        for note in choice.notes:
            log.info("reviewers: %s", note, extra={"fingerprint": group.fingerprint})
        return choice

    def _publish(  # noqa: PLR0913 - the parts of one publication
        self,
        repo: Repository,
        group: ErrorGroup,
        branch: str,
        proposal: FixProposal,
        result: EditResult,
        usage: _Usage,
        findings: tuple[Finding, ...],
        located: list[Located],
        context: Context,
        reviewers: Reviewers | None = None,
        weakened: tuple[Finding, ...] = (),
    ) -> tuple[str, bool, str]:
        """Commit and push the branch, then open or update its PR (requesting ``reviewers`` when
        there are any); returns its URL, draft flag and the commit pushed."""
        s = self._settings
        fallback = f"Fix {group.exception_type} in {located[0].frame.function}"
        title = plain_line(proposal.title, fallback) or "Fix an error seen in production"
        head = repo.publish(branch, result.files, commit_message(title, proposal.root_cause, group.fingerprint))
        # With CI as the judge every PR opens as a draft; the checks make it ready (usecases/checks.py).
        draft = s.await_checks or s.draft or proposal.confidence < s.draft_below or bool(findings) or bool(weakened)
        if weakened:
            log.warning(
                "the fix weakens a check, opening a draft: %s", "; ".join(map(str, weakened)),
                extra={"fingerprint": group.fingerprint},
            )  # fmt: skip
        if findings:
            log.warning(
                "risky additions, opening a draft: %s", "; ".join(map(str, findings)),
                extra={"fingerprint": group.fingerprint},
            )  # fmt: skip
        body = pr_body(group, proposal, result, self._model.model_id, usage, findings) + shown_section(context)
        if weakened:
            body = "\n".join(weakening_section(weakened)) + "\n" + body
        asked = {"reviewers": reviewers} if reviewers else {}  # implementations without reviewers still work
        url = self._pulls.open_or_update(branch, repo.default_branch, title, body, draft, s.labels, **asked)
        return url, draft, str(head or "")

    def _propose(
        self,
        group: ErrorGroup,
        request: str,
        files: Mapping[str, str],
        usage: _Usage,
        history: Sequence[Mapping[str, Any]] | None = None,
    ) -> tuple[FixProposal, EditResult]:
        """Ask, validate; on failure ask once more with the concrete error; then FixRejected.

        A malformed answer (MalformedAnswer) ends the attempt at once with FixRejected: the
        conversation cannot go on from it, and another call would be billed for nothing. Every
        rejection message is redacted (it may quote the model, which may quote a secret).
        """
        s = self._settings
        # A repair continues the conversation (core/checks.py repair_messages); a fix starts it.
        messages: list[dict[str, Any]] = (
            [dict(m) for m in history] if history else [{"role": "user", "content": [{"text": request}]}]
        )
        error = ""
        allowed = set(files) | set(s.extra_allowed)
        for round_ in (1, 2):
            response = self._model.converse(SYSTEM_PROMPT, messages, group=group)
            usage.rounds = round_
            try:
                answer = read_answer(response)
            except MalformedAnswer as exc:
                raise FixRejected(redact(f"the model's answer is malformed (round {round_}): {exc}")[:1000]) from exc
            usage.tokens_in += answer.tokens_in
            usage.tokens_out += answer.tokens_out
            try:
                if answer.tool_input is None:
                    raise ProposalError(f"the answer did not call {TOOL_NAME}")
                proposal = parse_proposal(answer.tool_input)
                if not proposal.edits:
                    raise FixRejected(redact(f"the model proposed no edit: {proposal.explanation}")[:500])
                result = apply_edits(
                    files, proposal.edits, allowed, s.max_changed_lines, s.max_line_chars, s.max_edit_chars
                )
            except (ProposalError, EditError) as exc:
                error = redact(str(exc))
                log.info("round %d rejected: %s", round_, error, extra={"fingerprint": group.fingerprint})
                reply: list[dict[str, Any]] = []
                if answer.tool_use_id:
                    reply.append(
                        {
                            "toolResult": {
                                "toolUseId": answer.tool_use_id,
                                "content": [{"text": error}],
                                "status": "error",
                            }
                        }
                    )
                reply.append({"text": retry_text(error)})
                messages += [answer.message, {"role": "user", "content": reply}]
                continue
            return proposal, result
        raise FixRejected(f"the model's edits did not apply in 2 rounds: {error}"[:1000])


def _duplicate_comment(group: ErrorGroup, where: str) -> str:
    """The comment on an open PR that a second group's fix would have duplicated (log text inert)."""
    return "\n".join([
        f"selfheal: error group `{group.fingerprint}` ({code_span(group.exception_type)}: {inert(group.message)}) "
        "has a fix that changes the same lines as this pull request:",
        "",
        f"- {inert(where)}",
        "",
        "It is linked to this pull request instead of opening a second one. If this PR does not fix it, "
        "`selfheal.py retry` re-opens the group once this PR is merged or closed.",
    ])  # fmt: skip


def _review_details(choice: ReviewerChoice, done: ReviewRequest | None) -> dict[str, object]:
    """The outcome's reviewer fields (strings, every one always set, so a retry overwrites them):
    who was requested, from where (a CODEOWNERS path, ``service`` or ``""``), who was refused or
    left out and why."""
    done = done if done is not None else ReviewRequest(choice.reviewers)
    return {
        "reviewers": ", ".join(done.requested.names()),
        "reviewers_source": choice.source,
        "reviewers_refused": redact("; ".join(done.refused))[:1000],
        "reviewers_notes": redact("; ".join([*choice.notes, *done.notes]))[:1000],
    }
