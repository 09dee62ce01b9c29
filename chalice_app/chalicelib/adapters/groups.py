"""The groups of the error-group table: one item per fingerprint, every status change conditional.

Item (partition key ``fingerprint``): status, exception_type, the message's first TITLE_BYTES,
occurrences, first_seen / last_seen (epoch ms), log_groups (string set, at most MAX_LOG_GROUPS),
attempts, pr_url, branch, reason, updated_at, expires_at (TTL, epoch s), lease_owner, lease_until,
job_token, seen (the last BATCH_MEMORY delivery tokens counted, packed); edge_h / edge_r (the last
delivery's tokens of records at its edge whose other record of the same failure may come in the next
delivery: core/fingerprint.py failure_tokens; overwritten, never grown, so an occurrence stays one
small write); for the pull request's fate: merged_at, pr_checked_at, regressed_at, healed_at (epoch
ms), regressions, previous_attempt, checks, ready, repairs.
Its detail item (``~detail~<fingerprint>``, written once and by fixes and reviews, never by an
occurrence) holds the large and the rarely written fields: the whole message, frames, sample,
raw_fingerprint, grouping_version (the fingerprint recipe), review_reason, pr_diff, the attempt's
report (REPORT_DETAIL: the CI judge's head commit, the PR's changed ranges…) and the tokens spent.
What a new group holds, and the bound of each field, is decided in ``core/group_fields.py``.

Writes, each one UpdateItem whose condition is built from the named sub-conditions below (the
words in the right column are the code's):

    record   SET <new group fields> = if_not_exists(..), last_seen, updated_at, expires_at
             ADD occurrences :n, log_groups :g, seen :packed_token,
             SET edge_h, edge_r :edge_tokens (only when some)          if batch_not_counted
    count once  ADD occurrences -k, DELETE edge_h / edge_r :paired  (only when a failure's two records
             came in two deliveries and both counted it: core/fingerprint.py split_failures)
    enqueue  NEW | REGRESSED → QUEUED              if is_new OR is_regressed OR queued_by_this_record
    sweep    NEW | REGRESSED: swept_at = now       if awaits_stream AND not_swept  (the stream sees a
             fresh record and decides the job again; usecases/requeue.py SweepNew)
    give up  NEW | REGRESSED → FAILED              if awaits_stream AND swept_then  (swept, still not QUEUED)
    skip     QUEUED → SKIPPED ("budget")           if queued_by_this_record (the hour's jobs are spent)
    claim    → FIXING, attempts += 1               if (is_queued OR retryable_failure OR lease_expired)
                                                      AND attempts_left
    finish   FIXING → PR_OPENED | SKIPPED | FAILED if held_by_owner
    reopen   → NEW                                 if reopenable OR lease_expired
                                                   (``retry``; ingest, for a budget skip that recurs)

The pull request's fate and whether the fix held (issue 12, docs/fate.md; ``usecases/resolve.py``
for the webhook, ``usecases/fate.py`` for the lazy read and regressions, ``usecases/heal.py``):

    merged   PR_OPENED | REJECTED → MERGED         if (is_pr_opened OR is_rejected) AND for_this_pr
             (+ merged_at; the fingerprint ADDed to the merge day's ``~merged~<day>`` set, as ``finish``
             to PR_OPENED ADDs it to the ``~opened~<day>`` set: the heal checker's index, no scan,
             adapters/day_sets.py; and ``finish`` links ``~pr~<url>`` to the group: adapters/pr_index.py)
    reject   PR_OPENED → REJECTED                  if is_pr_opened AND for_this_pr  (closed, /selfheal stop)
    review   PR_OPENED | REJECTED → NEW            if (is_pr_opened OR is_rejected) AND for_this_pr
             (``/selfheal retry``: attempts 0, the reviewer's words kept for the next prompt)
    regress  MERGED | HEALED → REGRESSED           if (is_merged OR is_healed) AND merged_before_grace
             (attempts 0: the stream turns it into a job)
    heal     MERGED → HEALED                       if is_merged AND same_merge AND quiet_since
    check    PR_OPENED: pr_checked_at = now        if is_pr_opened AND check_due  (one lazy read a period)

Why counts are applied once per delivery: a CloudWatch Logs delivery that fails is retried
whole by Lambda (twice, asynchronously). Its token (``core.group_fields.batch_token``: the hash
of its event ids, prefixed by its newest event's time), packed in 8 bytes (``packed_token``: its
second and 4 bytes of its md5), is ADDed to the group's ``seen`` binary set in the same write as the
counts, on condition that it is not there yet, so a retry's write of a group already counted fails
its condition and counts nothing. The set keeps the newest BATCH_MEMORY tokens (a second write trims
it to the newest half when it grows past that): a retry older than the newest BATCH_MEMORY // 2
deliveries of the same bug could count again (docs/pipeline.md, accepted). Groups stored before
tokens were packed keep their text tokens (``batches``), asked too, until ``seen`` holds the newest
BATCH_MEMORY // 2 (the write after which removes them).

A log group that belongs to no service (usecases/ingest.py) is recorded in one item per log group
(key ``~unrouted~<md5 of the name>``, status SKIPPED with the reason, ``service`` empty): its
tracebacks and deliveries are counted there, so ``status`` shows them; being SKIPPED from its
first write, the stream turns it into no job.

The table's other items (budget counters, the PR index, webhook delivery markers, day sets) have
their own classes over the same table (adapters/table.py lists them); none has a status, so ``scan``
skips them and the stream turns them into no job.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.adapters.day_sets import MERGED_PREFIX, NEW_PREFIX, OPENED_PREFIX, QUEUED_PREFIX, DaySets
from chalicelib.adapters.pr_index import PullRequestIndex
from chalicelib.adapters.table import BATCH_GET, BATCH_TRIES, DAY, Table, Update, all_of, any_of
from chalicelib.adapters.table import av as _av
from chalicelib.adapters.table import plain as _plain
from chalicelib.core.fingerprint import split_failures
from chalicelib.core.group_fields import (
    NewGroupFields,
    bounded_reason,
    clip,
    new_group_fields,
    packed_token,
    token_time,
)
from chalicelib.core.models import ErrorGroup, Frame, Observation, Status
from chalicelib.core.redact import redact
from chalicelib.core.spend import EXPLICIT_REOPENERS, WAIT_BUDGET, WAIT_OCCURRENCES
from chalicelib.errors import ConfigError, Conflict, InvalidTransition, NotFound, SelfHealError, TransientError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from chalicelib.core.fixability import Fixability
    from chalicelib.core.spend import SpendVerdict

__all__ = ["Claim", "GroupStore", "InvalidTransition", "QueuedJob", "Recorded", "to_group"]

log = logging.getLogger(__name__)

BATCH_MEMORY = 32  # delivery tokens remembered per group (17 bytes each)
DETAIL_LIFETIME_FACTOR = 4  # a detail item lives 4 stale periods; a group that outlives it rewrites it
MAX_LOG_GROUPS = 20  # log group names kept per group (each up to 512 bytes)
EDGES = ("edge_h", "edge_r")  # a delivery's edge tokens by kind (core/fingerprint.py failure_tokens)
UNROUTED_PREFIX = "~unrouted~"
MAX_REVIEW_CHARS = 2_000  # the reviewer's words kept on a group
# A group's large fields, written once (and by a fix or a review), live in a detail item of their own
# (key ~detail~<fingerprint>): an occurrence then rewrites only the small group item (≤ 1 KB, one write
# unit), not the trace (DynamoDB bills an update by the size of the whole item).
DETAIL_PREFIX = "~detail~"
DETAIL_FIELDS = ("message", "frames", "sample", "pr_diff", "review_reason", "raw_fingerprint")
# What of an attempt's report (``finish``'s extra) no occurrence's write and no condition reads: kept
# in the detail, so that a group's occurrence stays one write unit in every status. Who reads these
# fields reads the group with its detail (``get``, ``claim``, ``scan``, ``open_prs``; the lazy CI judge
# re-reads it when a PR's checks are due). What stays on the group item is what the hot path and the
# conditions read: status, counts, tokens, the PR's URL and branch, its checks' state, the waits.
REPORT_DETAIL = frozenset(
    {
        "pr_diff", "context_shown", "apply_result", "reviewers", "reviewers_source", "reviewers_notes",
        "confidence", "lines_changed", "rounds", "context_tokens", "risk_flags", "tokens_in", "tokens_out",
        "model", "prompt_version", "repository",
        # written once a push, read by the CI judge with the detail: ~160 B a fixed group
        "head_sha", "checks_since", "pr_ranges", "reviewers_pending", "risks", "duplicate_pr", "check_output", "draft",
    }
)  # fmt: skip
# Counters ADDed to the detail (``finish``): a group stored before they moved keeps its older part on
# the group item, and a reader gets the sum (``_merged``).
DETAIL_COUNTERS = ("spent_tokens_in", "spent_tokens_out")
TITLE_BYTES = 120  # the group item's copy of the message (status views); the whole one is in the detail

# --- named sub-conditions ---------------------------------------------------------------------
# Attribute names are written #name and values :name; status values (:NEW, :FIXING…) bind
# themselves. The module docstring's table uses the same words.
IS_NEW = "#status = :NEW"
IS_QUEUED = "#status = :QUEUED"
QUEUED_BY_THIS_RECORD = "(#status = :QUEUED AND #job_token = :token)"
RETRYABLE_FAILURE = "(#status = :FAILED AND #retryable = :true)"
LEASE_EXPIRED = "(#status = :FIXING AND #lease_until < :now)"
ATTEMPTS_LEFT = "#attempts < :max_attempts"
HELD_BY_OWNER = "(#status = :FIXING AND #lease_owner = :owner)"
REOPENABLE = "#status IN (" + ", ".join(f":{s}" for s in sorted(Status.REOPENABLE)) + ")"  # Status.REOPENABLE
# A group keeps its deliveries' tokens packed (core/group_fields.py packed_token) in the binary set
# ``seen``; ``batches``, the string set of whole tokens groups kept before, is still asked (a retry of a
# delivery counted before the upgrade) until ``seen`` holds the BATCH_MEMORY // 2 newest.
BATCH_NOT_COUNTED = "(NOT contains(#seen, :seen) AND NOT contains(#batches, :batch))"
UNROUTED_NOT_COUNTED = "NOT contains(#batches, :batch)"  # the item of a log group of no service
# Spend (core/governor.py): the day's counter item holds the day's jobs, each hour's jobs (h00..h23)
# and the day's tokens; a group waiting for budget carries the sparse index's key.
IS_SKIPPED = "#status = :SKIPPED"
WAITING = "(attribute_exists(#budget_wait) OR attribute_exists(#reopen_at))"
BELOW_OCCURRENCES = "#occurrences < :below"
NOT_SENT_BY_THIS_RECORD = "(attribute_not_exists(#sent_token) OR #sent_token <> :token)"
NOT_REQUEUED = "attribute_not_exists(#requeued_at)"
# The sweep of groups the stream never queued (usecases/requeue.py SweepNew).
AWAITS_STREAM = "#status IN (:NEW, :REGRESSED)"
NOT_SWEPT = "attribute_not_exists(#swept_at)"
SWEPT_THEN = "#swept_at = :swept"
SPEND_INDEX = "budget_wait"  # sparse GSI: partition budget_wait (always "budget"), sort budget_since
WAIT_ATTRIBUTES = ("budget_wait", "wait_until", "reopen_at")
# The pull request's fate (issue 12).
IS_REGRESSED = "#status = :REGRESSED"
IS_PR_OPENED = "#status = :PR_OPENED"
IS_REJECTED = "#status = :REJECTED"
IS_MERGED = "#status = :MERGED"
IS_HEALED = "#status = :HEALED"
FOR_THIS_PR = "#pr_url = :pr_url"
MERGED_BEFORE_GRACE = "#merged_at < :regress_before"  # the occurrence came after merge + deploy grace
SAME_MERGE = "#merged_at = :merged_at"
QUIET_SINCE = "(#last_seen <= :quiet_cutoff AND #merged_at <= :quiet_cutoff)"
CHECK_DUE = "(attribute_not_exists(#pr_checked_at) OR #pr_checked_at < :check_before)"


@dataclass(frozen=True)
class Claim:
    """The result of trying to claim a group for fixing."""

    claimed: bool
    group: ErrorGroup | None
    why: str = ""  # when not claimed: "busy", "done", "exhausted", "missing"


@dataclass(frozen=True)
class Recorded:
    """What recording one batch's observation of a bug did."""

    new: bool  # the group was created by this write
    duplicate: bool = False  # this delivery was already counted (a retry): nothing changed
    degraded: bool = False  # the full fields were refused; the group holds a minimal record
    previous: ErrorGroup | None = None  # the group before this write (None when new or duplicate)


def _frames_value(frames: Sequence[Frame]) -> list[dict[str, object]]:
    return [{"file": f.file, "line": f.line or 0, "function": f.function or "", "source": f.source} for f in frames]


def to_group(item: Mapping[str, Any]) -> ErrorGroup:
    """An ErrorGroup from a DynamoDB item (typed ``{"S": ...}`` JSON or already plain)."""
    plain = _plain(item)
    frames = tuple(
        Frame(
            str(f.get("file", "")),
            int(f.get("line", 0)) or None,
            str(f.get("function", "")),
            str(f.get("source", "")),
        )
        for f in plain.get("frames") or ()
    )
    return ErrorGroup(
        fingerprint=str(plain["fingerprint"]),
        status=str(plain.get("status", Status.NEW)),
        exception_type=str(plain.get("exception_type", "")),
        message=str(plain.get("message", "")),
        frames=frames,
        sample=str(plain.get("sample", "")),
        occurrences=int(plain.get("occurrences", 0)),
        first_seen=int(plain.get("first_seen", 0)),
        last_seen=int(plain.get("last_seen", 0)),
        log_groups=frozenset(plain.get("log_groups") or ()),
        attempts=int(plain.get("attempts", 0)),
        pr_url=str(plain.get("pr_url", "")),
        branch=str(plain.get("branch", "")),
        reason=str(plain.get("reason", "")),
        updated_at=int(plain.get("updated_at", 0)),
        expires_at=int(plain.get("expires_at", 0)),
        raw_fingerprint=str(plain.get("raw_fingerprint", "")),
        lease_owner=str(plain.get("lease_owner", "")),
        lease_until=int(plain.get("lease_until", 0)),
        service=str(plain.get("service") if "service" in plain else "default"),
        wait=WAIT_BUDGET if plain.get("budget_wait") else (WAIT_OCCURRENCES if plain.get("reopen_at") else ""),
        wait_until=int(plain.get("wait_until", 0)),
        budget_since=int(plain.get("budget_since", 0)),
        reopen_at=int(plain.get("reopen_at", 0)),
        reopened_by=str(plain.get("reopened_by", "")),
        resumed_by=str(plain.get("resumed_by", "")),
        auto_jobs=int(plain.get("auto_jobs", 0)),
        spent_tokens_in=int(plain.get("spent_tokens_in", 0)),
        spent_tokens_out=int(plain.get("spent_tokens_out", 0)),
        merged_at=int(plain.get("merged_at", 0)),
        pr_checked_at=int(plain.get("pr_checked_at", 0)),
        regressed_at=int(plain.get("regressed_at", 0)),
        healed_at=int(plain.get("healed_at", 0)),
        regressions=int(plain.get("regressions", 0)),
        review_reason=str(plain.get("review_reason", "")),
        pr_diff=str(plain.get("pr_diff", "")),
        previous_attempt=str(plain.get("previous_attempt", "")),
        **_fixgate_fields(plain),
    )


def _edges(tokens: Iterable[str]) -> dict[str, set[str]]:
    """Edge tokens by the attribute that keeps their kind (``h.…`` → edge_h, ``r.…`` → edge_r)."""
    out: dict[str, set[str]] = {}
    for token in tokens:
        out.setdefault(f"edge_{token.partition('.')[0]}", set()).add(token)
    return {k: v for k, v in out.items() if k in EDGES}


_GROUP_FIELDS = frozenset(f.name for f in dataclasses.fields(ErrorGroup)) - {"fingerprint", "status", "expires_at"}


def _merged(group: ErrorGroup, detail: Mapping[str, Any] | None) -> ErrorGroup:
    """``group`` with the fields its detail item holds (unchanged without one)."""
    if not detail:
        return group
    full = to_group({**detail, "fingerprint": {"S": group.fingerprint}})
    fields = {k: getattr(full, k) for k in detail if k in _GROUP_FIELDS}
    for counter in DETAIL_COUNTERS:
        if counter in fields:
            fields[counter] += getattr(group, counter)
    return dataclasses.replace(group, **fields)


def _fixgate_fields(plain: Mapping[str, Any]) -> dict[str, Any]:
    """The group's fields of the fix gates (core/fixability.py, core/risks.py), read back."""
    return {
        "fixability": str(plain.get("fixability", "")),
        "fixability_reason": str(plain.get("fixability_reason", "")),
        "risks": tuple(str(r) for r in plain.get("risks") or ()),
        "weakened_checks": int(plain.get("weakened_checks", 0)),
        "repository": str(plain.get("repository", "")),
        "pr_ranges": str(plain.get("pr_ranges", "")),
        "duplicate_of": str(plain.get("duplicate_of", "")),
        "duplicate_pr": str(plain.get("duplicate_pr", "")),
        "checks": str(plain.get("checks", "")),
        "repairs": int(plain.get("repairs", 0)),
        "ready": bool(plain.get("ready", False)),
        "check_output": str(plain.get("check_output", "")),
        "reviewers_pending": str(plain.get("reviewers_pending", "")),
        "head_sha": str(plain.get("head_sha", "")),
        "checks_since": int(plain.get("checks_since", 0)),
        "model": str(plain.get("model", "")),
        "prompt_version": str(plain.get("prompt_version", "")),
    }


def unrouted_key(log_group: str) -> str:
    """The key of the item counting a log group that belongs to no service."""
    return UNROUTED_PREFIX + hashlib.md5(log_group.encode("utf-8", "replace"), usedforsecurity=False).hexdigest()


def unrouted_reason(log_group: str) -> str:
    """Why a log group's tracebacks are not grouped."""
    return f"log group {log_group} belongs to no service: add it to a service of the catalog"


class GroupStore(Table):
    """The error groups of the table (group, detail and unrouted items). ``now`` arguments are epoch
    milliseconds. A transition that indexes its group (the PR's pointer, a day set) writes the index
    through ``PullRequestIndex`` and ``DaySets`` over the same table."""

    def __init__(self, client: Any, table_name: str, stale_after_days: int = 30, resolved_ttl_days: int = 14) -> None:
        super().__init__(client, table_name)
        self._stale_s = stale_after_days * DAY
        self._resolved_s = resolved_ttl_days * DAY
        self._prs = PullRequestIndex(client, table_name)
        self._days = DaySets(client, table_name)

    # --- ingest -------------------------------------------------------------------------------

    def record(self, observation: Observation, now: int, batch: str = "") -> Recorded:
        """Add one delivery's occurrences of a bug; create the group on first sight.

        One UpdateItem of the small group item: creation and counting are a single atomic write, so
        concurrent batches of the same new bug create it once and lose no count. With a ``batch``
        token, a second write of the same delivery (a retry) counts nothing (``duplicate``). A new
        group's large fields then go to its detail item, once (``_write_detail``: the detail, then the
        group's note of it); when a crash came between, the retry of the delivery finds no detail, or
        the next occurrence no note, and writes it. When DynamoDB
        refuses those fields (an item it finds too large), the detail holds a minimal record
        (``degraded``).
        """
        fields = new_group_fields(observation)
        update = Update().set_if_absent("status", Status.NEW)
        update.set_if_absent("exception_type", fields.exception_type)
        update.set_if_absent("message", clip(fields.message, TITLE_BYTES))
        update.set_if_absent("service", observation.service)
        update.set_if_absent("first_seen", observation.first_seen)
        update.set_if_absent("attempts", 0)
        update.set_if_absent("new_at", now)  # since when it waits for the stream (the sweep of groups left NEW)
        update.set("last_seen", observation.last_seen)
        update.set("updated_at", now)
        update.set("expires_at", observation.last_seen // 1000 + self._stale_s)
        update.add("occurrences", observation.count)
        update.add("log_groups", {"SS": [observation.log_group or "-"]})
        for edge, tokens in _edges(observation.failure_tokens).items():
            update.set(edge, tokens)  # this delivery's edge replaces the last one's: the pairs are ms apart
        condition, seen = "", packed_token(batch) if batch else b""
        if batch:
            update.add("seen", {"BS": [seen]})
            condition = BATCH_NOT_COUNTED
        try:
            old = self._update(
                observation.fingerprint,
                update.request(condition, batch=batch, seen=seen) if batch else update.request(),
                "ALL_OLD", "record",
            )  # fmt: skip
        except Conflict:
            log.info("delivery already counted", extra={"fingerprint": observation.fingerprint, "batch": batch})
            degraded = not self._has_detail(observation.fingerprint) and self._write_detail(observation, fields, now)
            return Recorded(new=False, duplicate=True, degraded=degraded)
        plain = _plain(old) if old else {}
        if "occurrences" not in plain:
            # Created NEW: noted where the sweep finds it should its stream record fail for good;
            # first, as a retry of this delivery counts nothing and so would not note it.
            self._days.note_day(NEW_PREFIX, observation.fingerprint, now)
        degraded = False
        if "occurrences" not in plain or self._detail_expiring(plain, now):
            degraded = self._write_detail(observation, fields, now, legacy=plain)
        if "occurrences" not in plain:
            return Recorded(new=True, degraded=degraded)
        self._count_split_once(observation, {t for e in EDGES for t in plain.get(e) or ()})
        self._trim(observation, seen, plain, set(plain.get("log_groups") or ()))
        return Recorded(new=False, degraded=degraded, previous=to_group(old))

    def _detail_expiring(self, group: Mapping[str, Any], now: int) -> bool:
        """Whether the group would outlive its detail item (whose TTL no occurrence refreshes)."""
        return int(group.get("detail_until", 0) or 0) < now // 1000 + self._stale_s

    def _has_detail(self, fingerprint: str) -> bool:
        """Whether the group's detail item exists (read on a retried delivery only)."""
        try:
            item = self._db.get_item(
                TableName=self._table, Key={"fingerprint": _av(DETAIL_PREFIX + fingerprint)}, ConsistentRead=True,
                ProjectionExpression="#k", ExpressionAttributeNames={"#k": "fingerprint"},
            ).get("Item")  # fmt: skip
        except ClientError as exc:
            raise translate(exc, f"DynamoDB read the detail of {fingerprint}") from exc
        return bool(item)

    def _write_detail(
        self, observation: Observation, fields: NewGroupFields, now: int, legacy: Mapping[str, Any] | None = None
    ) -> bool:
        """Write the group's large fields (the first writer's stay) with their expiry. A group whose
        detail would expire before it (``_detail_expiring``) notes the new expiry; one stored before
        details existed (``legacy``: its item still holds them) has its fields moved. Returns whether
        only a minimal record fitted."""
        fp = observation.fingerprint
        until = now // 1000 + DETAIL_LIFETIME_FACTOR * self._stale_s
        full: dict[str, object] = {
            "message": fields.message, "frames": _frames_value(fields.frames), "sample": fields.sample,
            "raw_fingerprint": fields.raw_fingerprint, "grouping_version": fields.grouping_version,
        }  # fmt: skip
        moved = [k for k in DETAIL_FIELDS if k != "message" and k in (legacy or {})]
        if moved:
            full |= {k: legacy[k] for k in (*moved, "message") if k in legacy}
        degraded = False
        try:
            self._put_detail(fp, full, until)
        except (TransientError, Conflict, ConfigError, NotFound):
            raise  # retry, or the deployment is wrong: no smaller item would help
        except SelfHealError as refused:
            log.error("group fields refused, recording a minimal detail: %s", refused, extra={"fingerprint": fp})
            minimal = {
                "message": clip(fields.message, 256), "sample": clip(f"(trace not stored: {refused})", 512),
                "grouping_version": fields.grouping_version,
            }  # fmt: skip
            self._put_detail(fp, minimal, until)
            degraded = True
        # Only now, the detail written, does the group say until when it lives: a crash before this
        # leaves the group without ``detail_until``, and its next occurrence (or the retry) writes it.
        update = Update().set("detail_until", until)
        if moved:
            update.remove(*moved)
            update.set("message", clip(str((legacy or {}).get("message", "")), TITLE_BYTES))
        try:
            self._update(fp, update.request("attribute_exists(fingerprint)"), "NONE", "detail noted")
        except Conflict:
            log.info("group gone before its detail was noted", extra={"fingerprint": fp})
        return degraded

    def _put_detail(self, fingerprint: str, fields: Mapping[str, object], until: int) -> None:
        """SET the detail item's trace fields if absent (the first observation's trace is the group's)
        and its expiry."""
        update = Update().set("expires_at", until)
        for attr, value in fields.items():
            update.set_if_absent(attr, value)
        self._update(DETAIL_PREFIX + fingerprint, update.request(), "NONE", "detail of")

    def _set_detail(
        self, fingerprint: str, fields: Mapping[str, object], counts: Mapping[str, int] | None = None
    ) -> None:
        """Overwrite detail fields written after creation (a fix's diff, the reviewer's words) and
        ADD ``counts`` (the tokens an attempt spent)."""
        counts = {k: v for k, v in (counts or {}).items() if v}
        if not fields and not counts:
            return
        update = Update()
        for attr, value in fields.items():
            update.set(attr, value)
        for attr, n in counts.items():
            update.add(attr, n)
        self._update(DETAIL_PREFIX + fingerprint, update.request(), "NONE", "detail of")

    def _with_detail(self, group: ErrorGroup) -> ErrorGroup:
        """``group`` with its detail item's fields (one consistent GetItem)."""
        try:
            item = self._db.get_item(
                TableName=self._table, Key={"fingerprint": _av(DETAIL_PREFIX + group.fingerprint)}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise translate(exc, f"DynamoDB read the detail of {group.fingerprint}") from exc
        return _merged(group, item)

    def _count_split_once(self, observation: Observation, kept: set[str]) -> None:
        """A failure whose two records (the handler's, the runtime's) came in two deliveries was
        counted by both: take one back (a second write, only then)."""
        if not observation.failure_tokens:
            return
        count, forget = split_failures(observation.failure_tokens, kept)
        if not count:
            return
        update = Update().add("occurrences", -count)
        for edge, tokens in _edges(forget).items():
            update.delete(edge, sorted(tokens))  # neither record pairs again
        log.info("a failure split over two deliveries counted once", extra={"fingerprint": observation.fingerprint})
        self._update(observation.fingerprint, update.request(), "NONE", "count once")

    def _trim(self, observation: Observation, seen: bytes, old: Mapping[str, Any], log_groups: set[str]) -> None:
        """Keep the remembered tokens and log group names bounded (a second write, rarely)."""
        update = Update()
        kept = {bytes(getattr(b, "value", b)) for b in old.get("seen") or ()}
        if seen and len(kept) + 1 > BATCH_MEMORY:
            # The oldest by their deliveries' time (the packed bytes sort by it); never the one this
            # write added.
            older = sorted(kept - {seen})
            update.delete("seen", older[: len(older) + 1 - BATCH_MEMORY // 2])
        if seen and "batches" in old and len(kept | {seen}) >= BATCH_MEMORY // 2:
            # The tokens kept as text before tokens were packed: older than the BATCH_MEMORY // 2
            # newest deliveries, which ``seen`` now holds, so past what a trim keeps anyway. Once.
            update.remove("batches")
        group_name = observation.log_group or "-"
        if group_name not in log_groups and len(log_groups) >= MAX_LOG_GROUPS:
            update.delete("log_groups", [group_name])
        request = update.request()
        if request["UpdateExpression"]:
            self._update(observation.fingerprint, request, "NONE", "trim")

    # --- reads ----------------------------------------------------------------------------------

    def counted(self, fingerprints: Sequence[str], batch: str) -> set[str]:
        """The groups among ``fingerprints`` that already counted delivery ``batch`` (a retry's
        groups written by an earlier attempt): BatchGetItem, 100 keys a call, consistent reads.
        Keys DynamoDB leaves unprocessed count as not counted (their write's condition still holds)."""
        found: set[str] = set()
        for start in range(0, len(fingerprints), BATCH_GET):
            keys = [{"fingerprint": _av(fp)} for fp in fingerprints[start : start + BATCH_GET]]
            request = {
                self._table: {
                    "Keys": keys,
                    "ProjectionExpression": "#f, #s, #b",
                    "ExpressionAttributeNames": {"#f": "fingerprint", "#s": "seen", "#b": "batches"},
                    "ConsistentRead": True,
                }
            }
            try:
                answer = self._db.batch_get_item(RequestItems=request)
            except ClientError as exc:
                raise translate(exc, "DynamoDB BatchGetItem") from exc
            for item in answer.get("Responses", {}).get(self._table, []):
                plain = _plain(item)
                seen = {bytes(getattr(b, "value", b)) for b in plain.get("seen") or ()}
                if packed_token(batch) in seen or batch in (plain.get("batches") or ()):
                    found.add(str(plain["fingerprint"]))
        return found

    def get(self, fingerprint: str, detail: bool = True) -> ErrorGroup | None:
        """The group with its detail (trace, diff, reviewer's words; ``detail=False``: the group item
        alone, one GetItem), read consistently, or None."""
        if not detail:
            try:
                item = self._db.get_item(
                    TableName=self._table, Key={"fingerprint": _av(fingerprint)}, ConsistentRead=True
                ).get("Item")
            except ClientError as exc:
                raise translate(exc, f"DynamoDB read {fingerprint}") from exc
            return to_group(item) if item and "status" in item else None
        keys = [{"fingerprint": _av(fingerprint)}, {"fingerprint": _av(DETAIL_PREFIX + fingerprint)}]
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        items: dict[str, Mapping[str, Any]] = {}
        for _ in range(BATCH_TRIES):
            try:
                answer = self._db.batch_get_item(RequestItems=request)
            except ClientError as exc:
                raise translate(exc, f"DynamoDB read {fingerprint}") from exc
            items |= {i["fingerprint"]["S"]: i for i in answer.get("Responses", {}).get(self._table, [])}
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise TransientError(f"DynamoDB read {fingerprint}: keys left unprocessed (throttled)")
        item = items.get(fingerprint)
        if not item or "status" not in item:
            return None
        return _merged(to_group(item), items.get(DETAIL_PREFIX + fingerprint))

    def raw(self, fingerprint: str) -> dict[str, Any]:
        """The group's stored attributes as plain values with its detail's (the attempt's report:
        model, tokens, context shown…; the whole message); {} when there is no such group."""
        group, detail = ({}, {})
        for key, into in ((fingerprint, group), (DETAIL_PREFIX + fingerprint, detail)):
            try:
                item = self._db.get_item(TableName=self._table, Key={"fingerprint": _av(key)}, ConsistentRead=True)
            except ClientError as exc:
                raise translate(exc, f"DynamoDB read {key}") from exc
            into.update(_plain(item.get("Item") or {}))
        if not group:
            return {}
        return group | {k: v for k, v in detail.items() if k not in ("fingerprint", "expires_at")}

    def scan(self, status: str | None = None, service: str | None = None) -> list[ErrorGroup]:
        """Every group (optionally of one status, of one service), newest last_seen first. Budget
        counters, which have no status, are not groups; groups stored without a service are the
        default service's."""
        # Details ride along (a scan reads the whole table whatever it returns) and are joined.
        wanted = "#s = :s" if status else "attribute_exists(#s)"
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": f"{wanted} OR begins_with(#k, :detail)",
            "ExpressionAttributeNames": {"#s": "status", "#k": "fingerprint"},
            "ExpressionAttributeValues": {":detail": _av(DETAIL_PREFIX)} | ({":s": _av(status)} if status else {}),
        }
        found: list[ErrorGroup] = []
        details: dict[str, Mapping[str, Any]] = {}
        paginator = self._db.get_paginator("scan")
        for page in paginator.paginate(**kwargs):
            for item in page.get("Items", []):
                key = item["fingerprint"]["S"]
                if key.startswith(DETAIL_PREFIX):
                    details[key.removeprefix(DETAIL_PREFIX)] = item
                else:
                    found.append(to_group(item))
        groups = [_merged(g, details.get(g.fingerprint)) for g in found]
        if service is not None:
            groups = [g for g in groups if g.service == service]
        return sorted(groups, key=lambda g: g.last_seen, reverse=True)

    # --- transitions ----------------------------------------------------------------------------

    def _transition(
        self, fingerprint: str, target: str, update: Update, condition: str, now: int, /, **values: object
    ) -> ErrorGroup:
        """Move the group to ``target`` if ``condition`` holds; InvalidTransition (carrying the group
        as read after the refusal) when it does not.

        A group moved to NEW or REGRESSED waits for the stream to make it a job: it starts a new wait
        (``new_at``, no ``swept_at``) and is noted in the day's ``~new~`` set, where the sweep of
        groups left NEW finds it should the stream's record fail for good."""
        update.set("status", target).set("updated_at", now)
        awaits_stream = target in (Status.NEW, Status.REGRESSED)
        if awaits_stream:
            update.set("new_at", now).remove("swept_at")
        try:
            answer = self._update(fingerprint, update.request(condition, **values), "ALL_NEW", f"{target} for")
        except Conflict as exc:
            current = self.get(fingerprint)
            raise InvalidTransition(fingerprint, target, current.status if current else None, current) from exc
        if awaits_stream:
            self._days.note_day(NEW_PREFIX, fingerprint, now)
        return to_group(answer)

    def mark_queued(self, fingerprint: str, token: str, now: int) -> bool:
        """NEW (or REGRESSED) → QUEUED, remembering the stream record that did it and when (a replay
        of the record restarts the clock). True when this call (or an earlier delivery of the same
        record) queued the group: the job may be sent. The group is noted in the day's
        ``~queued~`` set, where the sweep finds a group whose job never reached the fixer."""
        update = Update().set("job_token", token).put("reason", "").set("queued_at", now).remove("requeued_at")
        try:
            self._transition(
                fingerprint, Status.QUEUED, update, any_of(IS_NEW, IS_REGRESSED, QUEUED_BY_THIS_RECORD), now,
                token=token,
            )  # fmt: skip
        except InvalidTransition:
            return False
        self._days.note_day(QUEUED_PREFIX, fingerprint, now)
        return True

    def queued_jobs(self, fingerprints: Sequence[str]) -> list[QueuedJob]:
        """What the sweep needs of each group among ``fingerprints`` (read consistently, BatchGetItem)."""
        wanted = ("fingerprint", "status", "job_token", "sent_token", "queued_at", "requeued_at",
                  "exception_type", "occurrences", "service", "new_at", "first_seen", "swept_at")  # fmt: skip
        found: list[QueuedJob] = []
        for start in range(0, len(fingerprints), BATCH_GET):
            keys = [{"fingerprint": _av(fp)} for fp in fingerprints[start : start + BATCH_GET]]
            request: dict[str, Any] = {
                self._table: {
                    "Keys": keys,
                    "ConsistentRead": True,
                    "ProjectionExpression": ", ".join(f"#{n}" for n in wanted),
                    "ExpressionAttributeNames": {f"#{n}": n for n in wanted},
                }
            }
            for _ in range(BATCH_TRIES):
                try:
                    answer = self._db.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    raise translate(exc, "DynamoDB BatchGetItem queued groups") from exc
                found += [_queued_job(_plain(i)) for i in answer.get("Responses", {}).get(self._table, [])]
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise TransientError("DynamoDB BatchGetItem left queued groups unprocessed (throttled)")
        return found

    def queued_sets(self, days: Sequence[str]) -> dict[str, set[str]]:
        """The groups noted QUEUED on each of ``days`` and not forgotten yet (``~queued~<day>`` sets)."""
        return self._days.day_sets(QUEUED_PREFIX, days)

    def forget_queued(self, day: str, fingerprints: Sequence[str]) -> None:
        """Drop groups the sweep of stuck jobs is done with from a day's ``~queued~`` set."""
        self._days.forget_in_day(QUEUED_PREFIX, day, fingerprints)

    def new_sets(self, days: Sequence[str]) -> dict[str, set[str]]:
        """The groups that became NEW or REGRESSED on each of ``days`` and are not forgotten yet
        (``~new~<day>`` sets)."""
        return self._days.day_sets(NEW_PREFIX, days)

    def forget_new(self, day: str, fingerprints: Sequence[str]) -> None:
        """Drop groups the sweep of groups left NEW is done with from a day's ``~new~`` set."""
        self._days.forget_in_day(NEW_PREFIX, day, fingerprints)

    def sweep_new(self, fingerprint: str, now: int) -> bool:
        """Note that the sweep took a NEW or REGRESSED group up (``swept_at``), once per wait: the
        stream sees the change as a fresh record and decides the job again (events/streams.py).
        False when it was swept already, or moved on (QUEUED by a late retry of its record)."""
        update = Update().set("swept_at", now)
        try:
            self._update(fingerprint, update.request(all_of(AWAITS_STREAM, NOT_SWEPT)), "NONE", "sweep")
        except Conflict:
            return False
        return True

    def fail_new(self, fingerprint: str, swept_at: int, now: int, reason: str) -> bool:
        """NEW | REGRESSED, swept at ``swept_at`` and still not QUEUED → FAILED with ``reason``, not
        retryable (``selfheal retry`` re-opens it). False when the group moved on."""
        update = Update().set("reason", bounded_reason(reason)).set("retryable", False)
        try:
            self._transition(fingerprint, Status.FAILED, update, all_of(AWAITS_STREAM, SWEPT_THEN), now, swept=swept_at)
        except InvalidTransition:
            return False
        return True

    def requeue(self, fingerprint: str, token: str, now: int) -> bool:
        """Mark the job of stream record ``token`` as sent again (``requeued_at``), once per QUEUED
        write: False when it already was, or the group moved on (claimed, re-opened)."""
        update = Update().set("requeued_at", now)
        try:
            self._update(
                fingerprint, update.request(all_of(QUEUED_BY_THIS_RECORD, NOT_REQUEUED), token=token), "NONE", "requeue"
            )
        except Conflict:
            return False
        return True

    def fail_queued(self, fingerprint: str, token: str, now: int, reason: str) -> bool:
        """QUEUED (by stream record ``token``) → FAILED with ``reason``, not retryable (a late copy of
        its job claims nothing; ``selfheal retry`` re-opens it). False when the group moved on."""
        update = Update().set("reason", bounded_reason(reason)).set("retryable", False)
        try:
            self._transition(fingerprint, Status.FAILED, update, QUEUED_BY_THIS_RECORD, now, token=token)
        except InvalidTransition:
            return False
        return True

    def skip_queued(self, fingerprint: str, token: str, now: int, reason: str) -> bool:
        """QUEUED (by this stream record) → SKIPPED with ``reason``: the job is not sent. False when
        the group moved on meanwhile."""
        update = Update().set("reason", bounded_reason(reason)).set("retryable", False)
        try:
            self._transition(fingerprint, Status.SKIPPED, update, QUEUED_BY_THIS_RECORD, now, token=token)
        except InvalidTransition:
            return False
        return True

    def claim(self, fingerprint: str, owner: str, now: int, lease_seconds: int, max_attempts: int) -> Claim:
        """Take the group for one fix attempt: QUEUED or retryable FAILED, or FIXING whose lease
        expired (its fixer crashed). A second claim of the same job while the lease runs is refused."""
        update = Update().set("lease_owner", owner).set("lease_until", now + lease_seconds * 1000)
        update.set("retryable", False).add("attempts", 1)
        condition = all_of(any_of(IS_QUEUED, RETRYABLE_FAILURE, LEASE_EXPIRED), ATTEMPTS_LEFT)
        try:
            group = self._transition(
                fingerprint, Status.FIXING, update, condition, now, true=True, now=now, max_attempts=max_attempts
            )
        except InvalidTransition as refused:
            current = refused.group if isinstance(refused.group, ErrorGroup) else None
            if current is None:
                return Claim(False, None, "missing")
            if current.status == Status.FIXING and current.lease_until >= now:
                return Claim(False, current, "busy")
            if current.status in (Status.QUEUED, Status.FAILED, Status.FIXING) and current.attempts >= max_attempts:
                return Claim(False, current, "exhausted")
            log.info("claim refused", extra={"fingerprint": fingerprint, "status": refused.current})
            return Claim(False, current, "done")
        return Claim(True, self._with_detail(group))

    def finish(
        self,
        fingerprint: str,
        owner: str,
        target: str,
        now: int,
        reason: str = "",
        pr_url: str = "",
        branch: str = "",
        retryable: bool = False,
        extra: Mapping[str, object] | None = None,
        spent: tuple[int, int] = (0, 0),
    ) -> ErrorGroup:
        """FIXING → PR_OPENED / SKIPPED / FAILED, only by the claim's owner. The reason is stored
        redacted and bounded; ``spent`` (model tokens in, out of this attempt) is ADDed to the
        group's ``spent_tokens_in`` / ``spent_tokens_out`` (in its detail item); ``extra`` (the attempt's
        report) is written to the detail item too (``raw``), but for what conditions and the hot path
        read (REPORT_DETAIL says which)."""
        if target not in (Status.PR_OPENED, Status.SKIPPED, Status.FAILED):
            raise InvalidTransition(fingerprint, target, Status.FIXING)
        update = Update().put("reason", bounded_reason(reason)).put("retryable", retryable).remove("lease_until")
        # The claim's and the job's tokens mean nothing once the attempt is recorded (a re-open starts
        # afresh): gone, they no longer weigh on every later occurrence's write.
        update.remove("lease_owner", "job_token", "sent_token")
        if pr_url:
            update.set("pr_url", pr_url)
        if branch:
            update.set("branch", branch)
        if target == Status.PR_OPENED:
            update.set("expires_at", now // 1000 + self._resolved_s)
        report = {k: v for k, v in (extra or {}).items() if k in REPORT_DETAIL}
        for attr, value in (extra or {}).items():
            if attr not in report:
                update.put(attr, value)
        if report:  # a group stored before these fields moved: its copies on the group item go
            update.remove(*sorted(report))
        group = self._transition(fingerprint, target, update, HELD_BY_OWNER, now, owner=owner)
        if target == Status.PR_OPENED and pr_url:
            self._prs.link_pr(pr_url, fingerprint, now)
            self._days.note_day(OPENED_PREFIX, fingerprint, now)  # read by the heal checker (no webhook)
        # The report people and the next prompt read (the diff, the context shown, tokens, reviewers…)
        # goes to the detail item, so the group's occurrences stay small writes. Last, and never at the
        # cost of what the PR's fate needs (the pointers above, the caller's token count and index).
        self._keep_detail(fingerprint, report, dict(zip(DETAIL_COUNTERS, spent, strict=True)))
        return group

    def _keep_detail(
        self, fingerprint: str, fields: Mapping[str, object], counts: Mapping[str, int] | None = None
    ) -> None:
        """``_set_detail``, after the transition it describes: a failure is logged, not raised (the
        transition happened; the words and the diff are for people and the next prompt)."""
        try:
            self._set_detail(fingerprint, fields, counts)
        except SelfHealError:
            log.error("detail of %s not written: %s", fingerprint, sorted(fields), exc_info=True)

    def set_branch(self, fingerprint: str, owner: str, branch: str, now: int) -> None:
        """Store the branch name before the PR exists, so a retry reuses branch and PR."""
        self._transition(fingerprint, Status.FIXING, Update().set("branch", branch), HELD_BY_OWNER, now, owner=owner)

    def reopen(self, fingerprint: str, now: int, reason: str = "re-opened", by: str = "retry") -> ErrorGroup:
        """FAILED / SKIPPED / PR_OPENED → NEW with a fresh attempt budget, or a FIXING group whose
        lease expired (its fixer died before recording a result): the stream turns this MODIFY
        into a fix job. A FIXING group under a live lease is refused (InvalidTransition).

        ``by`` names who re-opened it (``reopened_by``): an explicit re-open (``retry``,
        ``regression``, ``webhook``: core.governor.EXPLICIT_REOPENERS) also resets the count of
        automatic fix jobs, so the group gets its one automatic attempt again; any wait ends."""
        update = Update().set("attempts", 0).set("reason", bounded_reason(reason)).set("retryable", False)
        update.remove("job_token", "lease_owner", "lease_until")
        update.set("reopened_by", by).remove("resumed_by", "budget_since", *WAIT_ATTRIBUTES)
        if by in EXPLICIT_REOPENERS:
            update.set("auto_jobs", 0)
        return self._transition(fingerprint, Status.NEW, update, any_of(REOPENABLE, LEASE_EXPIRED), now, now=now)

    def record_unrouted(self, log_group: str, tracebacks: int, now: int, batch: str = "") -> bool:
        """Count one delivery from a log group no service owns (and its tracebacks) in that log
        group's item, created SKIPPED with the reason. A retried delivery (same ``batch`` token)
        counts nothing. Returns whether the item is new."""
        key = unrouted_key(log_group)
        update = Update().set_if_absent("status", Status.SKIPPED)
        update.set_if_absent("exception_type", "(log group of no service)")
        update.set_if_absent("reason", bounded_reason(unrouted_reason(log_group)))
        update.set_if_absent("message", clip(log_group, 1024))
        update.set_if_absent("first_seen", now).set_if_absent("attempts", 0).set_if_absent("service", "")
        update.set("last_seen", now).set("updated_at", now).set("expires_at", now // 1000 + self._stale_s)
        update.add("occurrences", tracebacks).add("deliveries", 1).add("log_groups", {"SS": [clip(log_group, 512)]})
        condition = ""
        if batch:
            update.add("batches", {"SS": [batch]})
            condition = UNROUTED_NOT_COUNTED
        try:
            old = self._update(key, update.request(condition, batch=batch) if batch else update.request(),
                               "ALL_OLD", "unrouted")  # fmt: skip
        except Conflict:
            return False
        if old and batch and len(_plain(old).get("batches") or ()) + 1 > BATCH_MEMORY:
            older = sorted(set(_plain(old)["batches"]) - {batch}, key=token_time)
            self._update(key, Update().delete("batches", older[: len(older) + 1 - BATCH_MEMORY // 2]).request(),
                         "NONE", "trim")  # fmt: skip
        return not old

    def record_all(self, observations: Iterable[Observation], now: int, batch: str = "") -> int:
        """``record`` each observation one after the other; returns how many groups were new."""
        return sum(self.record(o, now, batch).new for o in observations)

    # --- spend waits (core/spend.py decide_spend; the counters: adapters/spend_counters.py) --------
    #
    #   skip         QUEUED → SKIPPED + wait                 if queued_by_this_record [AND below_occurrences]
    #   job sent     QUEUED: ADD auto_jobs 1, sent_token     if queued_by_this_record AND not_sent_by_this_record
    #   defer        FIXING → SKIPPED + wait, auto_jobs - 1  if held_by_owner (the claim-time token check)
    #   resume       SKIPPED → NEW, resumed_by               if is_skipped AND waiting

    def _wait(self, update: Update, verdict: SpendVerdict, now: int) -> Update:
        update.set("reason", bounded_reason(verdict.stored_reason())).set("retryable", False)
        if verdict.wait == WAIT_BUDGET:
            update.set("budget_wait", WAIT_BUDGET).set_if_absent("budget_since", now)
            update.set("wait_until", verdict.wait_until_ms)
        elif verdict.wait == WAIT_OCCURRENCES:
            update.set("reopen_at", verdict.reopen_at)
        return update

    def skip_for_spend(self, fingerprint: str, token: str, now: int, verdict: SpendVerdict) -> bool:
        """QUEUED (by this stream record) → SKIPPED with the verdict's reason and wait. An
        occurrences wait is written only while the stored count is below the minimum (a delivery
        may have counted more since the stream record was written). False when refused."""
        condition = QUEUED_BY_THIS_RECORD
        values: dict[str, object] = {"token": token}
        if verdict.wait == WAIT_OCCURRENCES:
            condition = all_of(QUEUED_BY_THIS_RECORD, BELOW_OCCURRENCES)
            values["below"] = verdict.reopen_at
        try:
            self._transition(fingerprint, Status.SKIPPED, self._wait(Update(), verdict, now), condition, now, **values)
        except InvalidTransition:
            return False
        return True

    def job_sent(self, fingerprint: str, token: str, now: int, fixability: Fixability | None = None) -> bool:
        """Count the job this stream record sends (``auto_jobs`` + 1) and end its waits; once per
        record (a replay counts nothing); the group's ``fixability`` is recorded in the same write.
        False when already counted or the group moved on."""
        update = Update().add("auto_jobs", 1).set("sent_token", token).set("updated_at", now)
        if fixability is not None:
            update.set("fixability", fixability.kind)
        update.remove("budget_since", "resumed_by", *WAIT_ATTRIBUTES)
        condition = all_of(QUEUED_BY_THIS_RECORD, NOT_SENT_BY_THIS_RECORD)
        try:
            self._update(fingerprint, update.request(condition, token=token), "NONE", "job sent for")
        except Conflict:
            return False
        if fixability is not None:  # words for people: the detail keeps them (occurrences stay small)
            self._keep_detail(fingerprint, {"fixability_reason": clip(fixability.reason, 500)})
        return True

    def defer_claimed(self, fingerprint: str, owner: str, now: int, verdict: SpendVerdict) -> ErrorGroup:
        """FIXING (held by ``owner``) → SKIPPED with a budget wait, before any model call: the job's
        count is given back (``auto_jobs`` - 1), its resume is the same attempt."""
        update = self._wait(Update(), verdict, now).set("lease_until", 0).add("auto_jobs", -1)
        return self._transition(fingerprint, Status.SKIPPED, update, HELD_BY_OWNER, now, owner=owner)

    def resume(self, fingerprint: str, now: int, by: str) -> ErrorGroup | None:
        """A waiting SKIPPED group → NEW (the stream makes it a job again), ``resumed_by`` = ``by``
        ("spend": budget returned; "occurrences": the minimum was reached). Keeps ``budget_since``
        (its place in the sweep's order if refused again) and ``reopened_by``. None when it no
        longer waits (resumed meanwhile, or re-opened by hand)."""
        update = Update().set("resumed_by", by).set("attempts", 0).set("retryable", False)
        update.set("reason", f"re-opened: {'budget returned' if by == 'spend' else 'occurrences reached'}")
        update.remove("job_token", "lease_owner", "lease_until", *WAIT_ATTRIBUTES)
        try:
            return self._transition(fingerprint, Status.NEW, update, all_of(IS_SKIPPED, WAITING), now)
        except InvalidTransition:
            return None

    def waiting(self, limit: int) -> list[str]:
        """Up to ``limit`` groups waiting for budget, the longest-waiting first (one Query of the
        sparse index; eventually consistent, so a group may already be resumed: ``resume`` says)."""
        if limit <= 0:
            return []
        try:
            answer = self._db.query(
                TableName=self._table,
                IndexName=SPEND_INDEX,
                KeyConditionExpression="#w = :w",
                ExpressionAttributeNames={"#w": "budget_wait"},
                ExpressionAttributeValues={":w": _av(WAIT_BUDGET)},
                ScanIndexForward=True,
                Limit=limit,
            )
        except ClientError as exc:
            raise translate(exc, f"DynamoDB query of {SPEND_INDEX}") from exc
        return [str(_plain(item)["fingerprint"]) for item in answer.get("Items", [])]

    # --- the pull request's fate (issue 12) -----------------------------------------------------

    def mark_merged(self, fingerprint: str, pr_url: str, merged_at: int, now: int) -> ErrorGroup:
        """PR_OPENED (or REJECTED: a closed PR reopened and merged) → MERGED, for the group's own PR;
        the fingerprint is ADDed to the merge day's set, where the heal checker finds it."""
        update = Update().set("merged_at", merged_at).put("reason", "").put("healed_at", 0)
        update.set("expires_at", now // 1000 + self._resolved_s)
        condition = all_of(any_of(IS_PR_OPENED, IS_REJECTED), FOR_THIS_PR)
        group = self._transition(fingerprint, Status.MERGED, update, condition, now, pr_url=pr_url)
        self._days.note_day(MERGED_PREFIX, fingerprint, merged_at)
        return group

    def mark_rejected(self, fingerprint: str, pr_url: str, reason: str, review: str, now: int) -> ErrorGroup:
        """PR_OPENED → REJECTED (closed unmerged, or ``/selfheal stop``), for the group's own PR, with
        the reviewer's words: never proposed again automatically."""
        update = Update().set("reason", bounded_reason(reason)).set("retryable", False)
        condition = all_of(IS_PR_OPENED, FOR_THIS_PR)
        group = self._transition(fingerprint, Status.REJECTED, update, condition, now, pr_url=pr_url)
        self._keep_detail(fingerprint, {"review_reason": _review(review)})
        return dataclasses.replace(group, review_reason=_review(review))

    def retry_from_review(self, fingerprint: str, pr_url: str, review: str, now: int) -> ErrorGroup:
        """PR_OPENED | REJECTED → NEW for ``/selfheal retry`` on the group's own PR: a fresh attempt
        budget, and the reviewer's words and the last diff kept for the next prompt."""
        update = Update().set("attempts", 0).set("retryable", False).set("previous_attempt", "retry")
        update.set("reason", bounded_reason("re-opened by /selfheal retry"))
        update.remove("job_token", "lease_owner", "lease_until")
        condition = all_of(any_of(IS_PR_OPENED, IS_REJECTED), FOR_THIS_PR)
        # The words first: the transition wakes the stream, and the job's prompt reads them.
        self._set_detail(fingerprint, {"review_reason": _review(review)})
        group = self._transition(fingerprint, Status.NEW, update, condition, now, pr_url=pr_url)
        return dataclasses.replace(group, review_reason=_review(review))

    def regress(self, fingerprint: str, occurred_at: int, grace_ms: int, now: int) -> ErrorGroup:
        """MERGED | HEALED → REGRESSED when an occurrence at ``occurred_at`` came later than the merge
        plus ``grace_ms``: attempts start again, and the stream turns the change into a fix job."""
        update = Update().set("attempts", 0).set("retryable", False).set("previous_attempt", "regressed")
        update.set("regressed_at", occurred_at).add("regressions", 1)
        update.set("reason", bounded_reason("regressed: the error occurred again after the fix was merged"))
        update.set("expires_at", occurred_at // 1000 + self._stale_s)
        update.remove("job_token", "lease_owner", "lease_until")
        condition = all_of(any_of(IS_MERGED, IS_HEALED), MERGED_BEFORE_GRACE)
        return self._transition(
            fingerprint, Status.REGRESSED, update, condition, now, regress_before=occurred_at - grace_ms
        )

    def mark_healed(self, fingerprint: str, merged_at: int, quiet_cutoff: int, now: int) -> ErrorGroup:
        """MERGED → HEALED when neither the merge nor any occurrence is later than ``quiet_cutoff``
        (now minus the quiet period) and the group was not merged again meanwhile."""
        update = Update().set("healed_at", now).put("reason", "")
        condition = all_of(IS_MERGED, SAME_MERGE, QUIET_SINCE)
        return self._transition(
            fingerprint, Status.HEALED, update, condition, now, merged_at=merged_at, quiet_cutoff=quiet_cutoff
        )

    def check_pr_due(self, fingerprint: str, now: int, period_ms: int) -> bool:
        """Take the right to read a PR_OPENED group's pull request once this period (the lazy path
        without a webhook): True for one caller a period, whatever the concurrency."""
        update = Update().set("pr_checked_at", now)
        try:
            self._update(
                fingerprint, update.request(all_of(IS_PR_OPENED, CHECK_DUE), check_before=now - period_ms),
                "NONE", "PR check",
            )  # fmt: skip
        except Conflict:
            return False
        return True

    def get_many(self, fingerprints: Sequence[str], detail: bool = False) -> list[ErrorGroup]:
        """The groups among ``fingerprints`` that exist, read consistently (BatchGetItem; ``detail``:
        each with its detail item). Keys DynamoDB leaves unprocessed are asked again; TransientError
        when some still are, so that a caller never takes an unread group for a missing one."""
        items: dict[str, Mapping[str, Any]] = {}
        step = BATCH_GET // 2 if detail else BATCH_GET
        for start in range(0, len(fingerprints), step):
            chunk = fingerprints[start : start + step]
            keys = [*chunk, *(DETAIL_PREFIX + fp for fp in chunk)] if detail else chunk
            request: dict[str, Any] = {
                self._table: {"Keys": [{"fingerprint": _av(k)} for k in keys], "ConsistentRead": True}
            }
            for _ in range(BATCH_TRIES):
                try:
                    answer = self._db.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    raise translate(exc, "DynamoDB BatchGetItem groups") from exc
                items |= {i["fingerprint"]["S"]: i for i in answer.get("Responses", {}).get(self._table, [])}
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise TransientError("DynamoDB BatchGetItem left groups unprocessed (throttled)")
        return [
            _merged(to_group(items[fp]), items.get(DETAIL_PREFIX + fp))
            for fp in fingerprints
            if fp in items and "status" in items[fp]
        ]

    # --- fixability (core/fixability.py) --------------------------------------------------------
    #
    #   unfixable   QUEUED → SKIPPED + fixability, its reason     if queued_by_this_record
    #   (a code group's class is written by ``job_sent``, in the write that counts its job)

    def skip_unfixable(self, fingerprint: str, token: str, now: int, fixability: Fixability) -> bool:
        """QUEUED (by this stream record) → SKIPPED: the group is not a code fault. Its class and
        reason are recorded; nothing waits (a person re-opens it, or the catalog's ``always_fix``).
        False when the group moved on."""
        update = Update().set("reason", bounded_reason(fixability.stored_reason())).set("retryable", False)
        update.set("fixability", fixability.kind)
        update.remove(*WAIT_ATTRIBUTES)
        try:
            self._transition(fingerprint, Status.SKIPPED, update, QUEUED_BY_THIS_RECORD, now, token=token)
        except InvalidTransition:
            return False
        self._keep_detail(fingerprint, {"fixability_reason": clip(fixability.reason, 500)})
        return True

    def open_prs(self, repository: str) -> list[ErrorGroup]:
        """The groups of ``repository`` whose pull request is open (PR_OPENED), read consistently;
        members that moved on (merged, rejected, re-opened) are dropped from the index."""
        members = self._prs.open_pr_members(repository)
        if not members:
            return []
        groups = self.get_many(members, detail=True)  # their changed lines (pr_ranges) are in the detail
        open_ = [g for g in groups if g.status == Status.PR_OPENED and g.pr_url]
        stale = sorted(set(members) - {g.fingerprint for g in open_})
        if stale:
            self._prs.drop_open_prs(repository, stale)
        return open_

    # --- CI is the judge (core/checks.py, usecases/checks.py) ---------------------------------------
    #
    #   checks      PR_OPENED: checks, ready                          if is_pr_opened AND for_this_pr
    #   repair      PR_OPENED → NEW, repairs + 1 (check_output:       if is_pr_opened AND for_this_pr
    #               first, in the detail),
    #               attempts 0, auto_jobs 0 (the stream's job)           AND repairs_left
    #   ci failed   PR_OPENED → CI_FAILED, reason (check_output:      if is_pr_opened AND for_this_pr
    #               then, in the detail)

    def record_checks(self, fingerprint: str, pr_url: str, state: str, now: int, ready: bool = False) -> ErrorGroup:
        """Record the PR's checks (and whether it is ready for review) on its PR_OPENED group;
        InvalidTransition when the group moved on or the PR is not its own."""
        update = Update().set("checks", state).set("ready", ready)
        condition = all_of(IS_PR_OPENED, FOR_THIS_PR)
        return self._transition(fingerprint, Status.PR_OPENED, update, condition, now, pr_url=pr_url)

    def reopen_for_repair(self, fingerprint: str, pr_url: str, output: str, rounds: int, now: int) -> ErrorGroup:
        """PR_OPENED → NEW for one repair of the group's own PR, while fewer than ``rounds`` were made:
        the stream turns it into a fix job (budget and tokens as any), whose prompt shows ``output``
        (the failing checks, redacted and bounded) and whose edits go on top of the branch."""
        update = Update().set("attempts", 0).set("retryable", False).set("previous_attempt", "repair")
        update.set("auto_jobs", 0).add("repairs", 1).set("checks", "failed").set("ready", False)
        update.set("reason", bounded_reason("repair: the pull request's checks failed"))
        update.remove("job_token", "lease_owner", "lease_until", "check_output")  # (stored there before details)
        repairs_left = "(attribute_not_exists(#repairs) OR #repairs < :rounds)"
        condition = all_of(IS_PR_OPENED, FOR_THIS_PR, repairs_left)
        # The output first, in the detail: the transition wakes the stream, and the job's prompt reads it.
        self._set_detail(fingerprint, {"check_output": clip(redact(output), 8_000)})
        group = self._transition(fingerprint, Status.NEW, update, condition, now, pr_url=pr_url, rounds=rounds)
        return dataclasses.replace(group, check_output=clip(redact(output), 8_000))

    def mark_ci_failed(self, fingerprint: str, pr_url: str, output: str, now: int) -> ErrorGroup:
        """PR_OPENED → CI_FAILED: the checks stayed red after the repairs (re-openable like FAILED)."""
        update = Update().set("checks", "failed").set("ready", False).set("retryable", False)
        update.set("reason", bounded_reason("CI failed: the pull request's checks stayed red after the repairs"))
        update.remove("check_output")  # (stored on the group item before details held it)
        condition = all_of(IS_PR_OPENED, FOR_THIS_PR)
        group = self._transition(fingerprint, Status.CI_FAILED, update, condition, now, pr_url=pr_url)
        self._keep_detail(fingerprint, {"check_output": clip(redact(output), 8_000)})
        return dataclasses.replace(group, check_output=clip(redact(output), 8_000))


def _review(text: str) -> str:
    return clip(redact(text), MAX_REVIEW_CHARS)


@dataclass(frozen=True)
class QueuedJob:
    """A group as the sweep of stuck jobs reads it: its status, the stream record that queued it
    (``token``), whether that record counted its job as sent, and when it was queued / sent again;
    and as the sweep of groups left NEW reads it: since when it waits for the stream (``new_at``:
    its creation or its last move to NEW / REGRESSED; ``first_seen`` for a group stored before
    ``new_at`` existed) and when the sweep took it up."""

    fingerprint: str
    status: str
    token: str = ""
    sent: bool = False
    queued_at: int = 0
    requeued_at: int = 0
    exception_type: str = ""
    occurrences: int = 0
    service: str = "default"
    new_at: int = 0
    swept_at: int = 0


def _queued_job(plain: Mapping[str, Any]) -> QueuedJob:
    token = str(plain.get("job_token", ""))
    return QueuedJob(
        fingerprint=str(plain["fingerprint"]),
        status=str(plain.get("status", "")),
        token=token,
        sent=bool(token) and str(plain.get("sent_token", "")) == token,
        queued_at=int(plain.get("queued_at", 0)),
        requeued_at=int(plain.get("requeued_at", 0)),
        exception_type=str(plain.get("exception_type", "")),
        occurrences=int(plain.get("occurrences", 0)),
        service=str(plain.get("service") or "default"),
        new_at=int(plain.get("new_at") or plain.get("first_seen") or 0),
        swept_at=int(plain.get("swept_at", 0)),
    )
