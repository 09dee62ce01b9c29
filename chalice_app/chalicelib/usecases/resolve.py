"""The GitHub webhook's use case: a delivery about a selfheal pull request → the group's fate.

    delivery ─signature─▶ 401 when missing or wrong (nothing read, nothing written)
      ─ping─▶ 200 (no AWS call)
      ─not a merge, close or command─▶ 200 ignored (no AWS call)
      ─``~delivery~<id>`` marker (conditional)─▶ 200 duplicate when already applied
      ─PR → group (the fingerprint in selfheal's PR body, else the ``~pr~<url>`` pointer; the group's
       pr_url must be the delivery's PR)─▶ 200 ignored when the PR is not selfheal's
      ─merged / closed / ``/selfheal retry`` / ``/selfheal stop``─▶ conditional write ─▶ 200
      ─check_suite / check_run / status of a selfheal branch─▶ the head's checks read and judged
       (usecases/fate.py apply_check_delivery, usecases/checks.py) ─▶ 200

A command is obeyed only from a user with write access (admin, maintain or write); anyone else's
is logged and ignored. When applying fails (DynamoDB throttled, GitHub down), the delivery marker
is released and the answer is 5xx, so a redelivery from GitHub's "Recent Deliveries" applies it.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from chalicelib.core.checks import DEFAULT_REPAIR_ROUNDS, REPAIR_ROUNDS_ENV, repair_rounds
from chalicelib.core.clock import now_ms
from chalicelib.core.models import Status
from chalicelib.core.redact import redact
from chalicelib.core.webhooks import Intent, intent, signature_valid
from chalicelib.errors import InvalidTransition, PayloadError, SelfHealError, TransientError
from chalicelib.events.github import WebhookDelivery
from chalicelib.usecases.fate import apply_check_delivery

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chalicelib.adapters.github_api import PullState
    from chalicelib.core.models import ErrorGroup
    from chalicelib.usecases.fate import PullRequestReads
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.ports import ResolveStore

log = logging.getLogger(__name__)

WEBHOOK_SECRET_ENV = "SELFHEAL_WEBHOOK_SECRET"  # local use; deployed, the SSM SecureString <prefix>webhook_secret
WEBHOOK_SECRET_PARAMETER = "webhook_secret"


class Resolve:
    """Applies GitHub deliveries to error groups. ``secret`` and ``github`` are read on first need:
    a ping, an unsigned delivery or an ignored event touches no AWS service."""

    def __init__(
        self,
        secret: Callable[[], bytes],
        store: Callable[[], ResolveStore],
        github: Callable[[str], PullRequestReads | None],  # the reads of a service's repository
        metrics: Counter,
        clock: Callable[[], int] = now_ms,
        recheck_secret: Callable[[], bytes | None] | None = None,
    ) -> None:
        self._secret = secret
        # After a mismatch: the secret read again if it changed (rotation), else None (rate-limited).
        self._recheck_secret = recheck_secret or (lambda: None)
        self._store = store
        self._github = github
        self._metrics = metrics
        self._clock = clock

    def webhook(self, headers: Mapping[str, str], body: bytes | str | None) -> tuple[int, str]:
        """(HTTP status, body text) for one delivery; never raises."""
        delivery = WebhookDelivery(headers, body)
        if not delivery.signature:
            log.warning("webhook delivery without a signature refused", extra={"delivery": delivery.delivery_id})
            return 401, "missing X-Hub-Signature-256"
        try:
            secret = self._secret()
        except SelfHealError:
            log.exception("webhook secret unavailable")
            return 500, "webhook secret not configured"
        if not signature_valid(secret, delivery.body, delivery.signature) and not self._rotated(delivery):
            log.warning("webhook delivery with a wrong signature refused", extra={"delivery": delivery.delivery_id})
            return 401, "signature does not match"
        try:
            wanted = intent(delivery.event, delivery.payload)
        except PayloadError as exc:
            return 400, str(exc)
        if wanted.kind == "ping":
            return 200, "pong"
        if wanted.kind == "ignored":
            log.info("webhook delivery ignored: %s", wanted.why, extra={"delivery": delivery.delivery_id})
            return 200, f"ignored: {wanted.why}"
        if not delivery.delivery_id:
            return 400, "missing X-GitHub-Delivery"
        return self._once(delivery.delivery_id, wanted)

    def _rotated(self, delivery: WebhookDelivery) -> bool:
        """Whether the delivery is signed with a secret rotated since the cached one was read."""
        try:
            fresh = self._recheck_secret()
        except SelfHealError:
            log.warning("webhook secret not read again", exc_info=True)
            return False
        return fresh is not None and signature_valid(fresh, delivery.body, delivery.signature)

    def _once(self, delivery_id: str, wanted: Intent) -> tuple[int, str]:
        store = self._store()
        try:
            if not store.see_delivery(delivery_id, self._clock()):
                return 200, "duplicate"
        except SelfHealError:
            log.exception("delivery marker not written", extra={"delivery": delivery_id})
            return 503, "try again"
        try:
            return 200, self._apply(wanted)
        except SelfHealError as exc:
            log.exception("webhook delivery not applied", extra={"delivery": delivery_id})
            store.forget_delivery(delivery_id)
            return (503 if isinstance(exc, TransientError) else 500), "not applied; redeliver it"

    def _group(self, wanted: Intent) -> ErrorGroup | None:
        """The group whose PR this is, or None: never a scan, and never a group whose pr_url differs
        (a PR body naming someone else's group changes nothing)."""
        store = self._store()
        fingerprint = wanted.fingerprint or store.find_pr(wanted.pr_url)
        group = store.get(fingerprint, detail=False) if fingerprint else None  # its status and PR are enough
        if group is None or not group.pr_url or group.pr_url != wanted.pr_url:
            return None
        return group

    def _apply(self, wanted: Intent) -> str:
        if wanted.kind == "checks":  # CI is the judge: usecases/fate.py, usecases/checks.py
            rounds = repair_rounds(int(os.environ.get(REPAIR_ROUNDS_ENV, "") or DEFAULT_REPAIR_ROUNDS))
            return apply_check_delivery(self._store(), self._github, wanted, self._metrics, rounds, self._clock)
        group = self._group(wanted)
        if group is None:
            log.info("not a selfheal pull request: %s", wanted.pr_url)
            return "ignored: not a selfheal pull request"
        store, now = self._store(), self._clock()
        fingerprint = group.fingerprint
        try:
            if wanted.kind == "merged":
                store.mark_merged(fingerprint, wanted.pr_url, wanted.merged_at or now, now)
                self._metrics.count("FixesMerged")
            elif wanted.kind == "rejected":
                review = self._words(wanted, group) or f"closed without merging by @{wanted.actor or '?'}"
                store.mark_rejected(fingerprint, wanted.pr_url, "rejected: the pull request was closed", review, now)
                self._metrics.count("FixesRejected")
            else:
                refusal = self._refuse_command(wanted, group)
                if refusal:
                    return refusal
                if wanted.kind == "stop":
                    reason = f"stopped by @{wanted.actor} with /selfheal stop"
                    store.mark_rejected(fingerprint, wanted.pr_url, reason, self._words(wanted, group) or reason, now)
                    self._metrics.count("FixesRejected")
                else:
                    store.retry_from_review(fingerprint, wanted.pr_url, self._words(wanted, group), now)
                    self._metrics.count("FixesRetried")
        except InvalidTransition as refused:
            log.info("webhook changes nothing: %s", refused, extra={"fingerprint": fingerprint})
            return f"no change: the group is {refused.current}"
        finally:
            self._metrics.flush()
        log.info("webhook applied: %s", wanted.kind, extra={"fingerprint": fingerprint, "pr_url": wanted.pr_url})
        return f"{wanted.kind}: {fingerprint}"

    def _refuse_command(self, wanted: Intent, group: ErrorGroup) -> str:
        """Why a ``/selfheal`` command is not obeyed ('' when it is): its author needs write access
        to the group's service's repository."""
        github = self._github(group.service)
        if github is None:
            log.warning("cannot check who may command selfheal: no GitHub API configured")
            return "ignored: write access cannot be checked (no GitHub API configured)"
        if not github.may_command(wanted.actor):
            log.warning(
                "selfheal command from a user without write access ignored: @%s", redact(wanted.actor)[:40],
                extra={"pr_url": wanted.pr_url},
            )  # fmt: skip
            return f"ignored: @{wanted.actor} has no write access"
        return ""

    def _words(self, wanted: Intent, group: ErrorGroup) -> str:
        """The reviewers' last words on the PR (best effort: '' when GitHub cannot be read)."""
        github = self._github(group.service)
        if github is None or not wanted.number:
            return ""
        try:
            return github.reviewer_words(wanted.number)
        except SelfHealError:
            log.warning("reviews of %s not read", wanted.pr_url, exc_info=True)
            return ""


def resolved_status(state: PullState) -> str:
    """The group status a PR's state means: MERGED, REJECTED (closed unmerged), or '' (still open)."""
    if state.merged:
        return Status.MERGED
    return Status.REJECTED if state.state == "closed" else ""
