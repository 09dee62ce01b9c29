"""GitHub webhook deliveries: the signature check and what a delivery asks of selfheal. Pure.

Signature: GitHub signs the raw body with HMAC-SHA256 under the webhook's secret and sends
``X-Hub-Signature-256: sha256=<hex>``; it is compared in constant time
(https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).

Intent, from the event name (``X-GitHub-Event``) and the parsed payload:

    ping                                              → ping       (answered, nothing else)
    pull_request, action closed, merged true          → merged     (merged_at recorded)
    pull_request, action closed, merged false         → rejected
    issue_comment, action created, on a pull request,
      first line exactly ``/selfheal retry``          → retry      (the commenter needs write access)
      first line exactly ``/selfheal stop``           → stop       (the commenter needs write access)
    check_suite / check_run, action completed, on a
      selfheal branch (``selfheal/…``)                 → checks     (the head's checks are read and judged)
    status (any state but pending), on a selfheal
      branch                                          → checks
    anything else                                     → ignored    (with why)

The payload is GitHub's; nothing here trusts it beyond its shape: a value of the wrong type makes
the delivery ``ignored``, never an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

SIGNATURE_PREFIX = "sha256="
COMMANDS = {"/selfheal retry": "retry", "/selfheal stop": "stop"}
# Where selfheal's own PR body names the group (core/pr_text.py: "- error group: `<fingerprint>`").
_GROUP_IN_BODY = re.compile(r"error group: `([0-9a-f]{32})`")
_PR_NUMBER = re.compile(r"/pull/(\d+)/?$")

IntentKind = Literal["ping", "merged", "rejected", "retry", "stop", "checks", "ignored"]
BRANCH_PREFIX = "selfheal/"  # the fixer's branches (usecases/fix_generation.py)


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body`` under ``secret``."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` is ``sha256=<hex>`` of ``body`` under ``secret`` (constant-time compare).
    An empty secret never validates: an unconfigured webhook accepts nothing."""
    if not secret or not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


# A rotated secret takes effect without a cold start: the secret is read again once it is older than
# SECRET_TTL_MS (so an old, perhaps leaked, secret stops validating within that bound), and after a
# signature mismatch at most once per SECRET_RECHECK_MS (so GitHub's first delivery signed with a new
# secret is accepted at once, while a flood of bad signatures costs at most one read per interval).
SECRET_TTL_MS = 60_000
SECRET_RECHECK_MS = 10_000


class SecretCache:
    """The webhook secret as ``read`` returns it, cached with a TTL against ``clock`` (epoch ms).

    ``current()`` is the secret, read again when older than ``ttl_ms``; ``recheck()`` is called after a
    signature mismatch: it reads again when the last read is at least ``recheck_ms`` old and returns
    the secret when it changed (None otherwise: answer 401). Errors of ``read`` propagate; nothing is
    cached then, so the next delivery reads again.
    """

    def __init__(
        self,
        read: Callable[[], bytes],
        clock: Callable[[], int],
        ttl_ms: int = SECRET_TTL_MS,
        recheck_ms: int = SECRET_RECHECK_MS,
    ) -> None:
        self._read = read
        self._clock = clock
        self._ttl_ms = ttl_ms
        self._recheck_ms = recheck_ms
        self._value: bytes | None = None
        self._read_at = 0

    def _load(self) -> bytes:
        value = self._read()
        self._value, self._read_at = value, self._clock()
        return value

    def current(self) -> bytes:
        """The secret, from the cache while it is younger than the TTL."""
        if self._value is None or self._clock() - self._read_at >= self._ttl_ms:
            return self._load()
        return self._value

    def recheck(self) -> bytes | None:
        """After a mismatch: the secret when a fresh read (at most one per ``recheck_ms``) changed it."""
        if self._value is not None and self._clock() - self._read_at < self._recheck_ms:
            return None
        before = self._value
        value = self._load()
        return value if value != before else None


@dataclass(frozen=True)
class Intent:
    """What one delivery asks: the kind, and the pull request it is about."""

    kind: IntentKind
    why: str = ""  # for ``ignored``: what the delivery was
    repository: str = ""  # owner/name
    number: int = 0
    pr_url: str = ""  # the PR's html_url: the key selfheal stored as the group's pr_url
    pr_body: str = ""  # where selfheal's PR names its group
    branch: str = ""  # the PR's head ref (pull_request events only)
    merged_at: int = 0  # epoch ms
    actor: str = ""  # who closed the PR or wrote the comment
    comment: str = ""  # the comment's text (issue_comment)
    head_sha: str = ""  # the commit whose checks a check_suite / check_run / status delivery reports

    @property
    def fingerprint(self) -> str:
        """The group the PR body names ('' when the body does not name one)."""
        return group_in_body(self.pr_body)


def group_in_body(body: str) -> str:
    """The fingerprint selfheal wrote into its PR body, or ''."""
    found = _GROUP_IN_BODY.search(body or "")
    return found.group(1) if found else ""


def pr_number(pr_url: str) -> int:
    """The number of a pull request from its html_url (``…/pull/42``), 0 when there is none."""
    found = _PR_NUMBER.search(pr_url or "")
    return int(found.group(1)) if found else 0


def epoch_ms(iso: object) -> int:
    """GitHub's ISO 8601 time (``2019-05-15T15:21:18Z``) as epoch ms; 0 when absent or malformed."""
    if not isinstance(iso, str) or not iso:
        return 0
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


def command(text: object) -> str:
    """``retry`` or ``stop`` when the comment's first line is exactly a selfheal command, else ''."""
    if not isinstance(text, str):
        return ""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return COMMANDS.get(first, "")


def _get(data: object, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(data: object, *path: str) -> str:
    value = _get(data, *path)
    return value if isinstance(value, str) else ""


def _number(data: object, *path: str) -> int:
    value = _get(data, *path)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def intent(event: str, payload: Mapping[str, Any]) -> Intent:
    """What a delivery of ``event`` with ``payload`` asks selfheal to do (see the module's table)."""
    if event == "ping":
        return Intent("ping")
    data = dict(payload)
    action = _text(data, "action")
    repository = _text(data, "repository", "full_name")
    if event == "pull_request":
        if action != "closed":
            return Intent("ignored", why=f"pull_request {action or '?'}")
        pr = data.get("pull_request")
        if not isinstance(pr, dict) or not _text(pr, "html_url"):
            return Intent("ignored", why="pull_request without a pull request")
        merged = _get(pr, "merged") is True
        return Intent(
            "merged" if merged else "rejected",
            repository=repository,
            number=_number(pr, "number"),
            pr_url=_text(pr, "html_url"),
            pr_body=_text(pr, "body"),
            branch=_text(pr, "head", "ref"),
            merged_at=epoch_ms(_get(pr, "merged_at")) if merged else 0,
            actor=_text(data, "sender", "login"),
        )
    if event == "issue_comment":
        if action != "created":
            return Intent("ignored", why=f"issue_comment {action or '?'}")
        issue = data.get("issue")
        if not isinstance(issue, dict) or not isinstance(issue.get("pull_request"), dict):
            return Intent("ignored", why="a comment on an issue, not a pull request")
        kind = command(_get(data, "comment", "body"))
        if not kind:
            return Intent("ignored", why="a comment that is not a selfheal command")
        pr_url = _text(issue, "pull_request", "html_url") or _text(issue, "html_url")
        return Intent(
            "retry" if kind == "retry" else "stop",
            repository=repository,
            number=_number(issue, "number"),
            pr_url=pr_url,
            pr_body=_text(issue, "body"),
            actor=_text(data, "comment", "user", "login"),
            comment=_text(data, "comment", "body"),
        )
    if event in ("check_suite", "check_run", "status"):
        return check_intent(event, data)
    return Intent("ignored", why=f"event {event or '(none)'}")


def check_intent(event: str, data: Mapping[str, Any]) -> Intent:
    """A ``check_suite`` / ``check_run`` (completed) or ``status`` delivery on a selfheal branch →
    ``checks``, with the head commit, the branch and the PR (its html_url built from the repository's
    and the PR's number, as the payload gives only the API URL); anything else → ignored.
    https://docs.github.com/en/webhooks/webhook-events-and-payloads#check_suite"""
    repository = _text(data, "repository", "full_name")
    if event == "status":
        if _text(data, "state") in ("", "pending"):
            return Intent("ignored", why=f"status {_text(data, 'state') or '?'}")
        names = [b.get("name") for b in data.get("branches") or [] if isinstance(b, dict)]
        branch = next((n for n in names if isinstance(n, str) and n.startswith(BRANCH_PREFIX)), "")
        if not branch:
            return Intent("ignored", why="status of a commit on no selfheal branch")
        return Intent("checks", repository=repository, branch=branch, head_sha=_text(data, "sha"))
    action = _text(data, "action")
    if action != "completed":
        return Intent("ignored", why=f"{event} {action or '?'}")
    suite = data.get("check_suite") if event == "check_suite" else _get(data, "check_run", "check_suite")
    run = data.get("check_run") if event == "check_run" else None
    branch = _text(suite, "head_branch")
    head = _text(run, "head_sha") or _text(suite, "head_sha")
    pulls = (run or suite or {}).get("pull_requests") if isinstance(run or suite, dict) else None
    pull = next((p for p in pulls or [] if isinstance(p, dict)), {})
    branch = branch or _text(pull, "head", "ref")
    if not branch.startswith(BRANCH_PREFIX):
        return Intent("ignored", why=f"{event} of a branch that is not selfheal's")
    number = _number(pull, "number")
    base = _text(data, "repository", "html_url")
    return Intent(
        "checks",
        repository=repository,
        number=number,
        pr_url=f"{base}/pull/{number}" if base and number else "",
        branch=branch,
        head_sha=head,
    )
