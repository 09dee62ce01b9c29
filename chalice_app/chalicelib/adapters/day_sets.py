"""Day sets of the error-group table: one string set of fingerprints per day and purpose, read by
a checker instead of a scan.

    ~merged~<yyyy-mm-dd>   groups merged that day         (``mark_merged``; the heal checker, usecases/heal.py)
    ~opened~<yyyy-mm-dd>   groups whose PR opened that day (``finish`` to PR_OPENED; the heal checker)
    ~queued~<yyyy-mm-dd>   groups queued that day          (``mark_queued``; the stuck-job sweep, usecases/requeue.py)
    ~new~<yyyy-mm-dd>      groups that became NEW or REGRESSED that day (``record`` of a new group, every
                           transition to them; the sweep of groups left NEW, usecases/requeue.py)

    note     ADD members :fingerprint, SET expires_at (60 days)   (after the transition; best effort)
    forget   DELETE members :fingerprints                         (the checker is done with them)

A day set has no status: ``scan`` skips it and the stream turns it into no job.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.adapters.table import BATCH_GET, DAY, Table, Update
from chalicelib.adapters.table import av as _av
from chalicelib.adapters.table import plain as _plain
from chalicelib.errors import SelfHealError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["MERGED_PREFIX", "NEW_PREFIX", "OPENED_PREFIX", "QUEUED_PREFIX", "DaySets"]

log = logging.getLogger(__name__)

MERGED_PREFIX = "~merged~"
OPENED_PREFIX = "~opened~"
QUEUED_PREFIX = "~queued~"  # + day: groups queued that day, until the stuck-job sweep is done with them
NEW_PREFIX = "~new~"  # + day: groups that became NEW / REGRESSED that day, until the stream or the sweep moved them on


class DaySets(Table):
    """The table's day sets (``~merged~``, ``~opened~``, ``~queued~`` items)."""

    def note_day(self, prefix: str, fingerprint: str, at: int) -> None:
        """ADD the fingerprint to the day's set ``<prefix><YYYY-MM-DD>`` (``~merged~``: merged that
        day; ``~opened~``: its PR opened that day), where the heal checker finds it without a scan."""
        update = Update().add("members", {"SS": [fingerprint]}).set("expires_at", at // 1000 + 60 * DAY)
        try:
            self._update(f"{prefix}{_day(at)}", update.request(), "NONE", "day set")
        except SelfHealError:
            # Not found by the heal checker: the group waits for a recurrence (REGRESSED, or the
            # lazy PR read) or the webhook; not in ``~queued~``: a job that never reaches the fixer
            # goes unnoticed by the sweep; not in ``~new~``: a group the stream never queued is not
            # swept. Logged, and the transition itself stands.
            log.error("group not indexed in a day set", exc_info=True,
                      extra={"fingerprint": fingerprint, "set": prefix})  # fmt: skip

    def day_sets(self, prefix: str, days: Sequence[str]) -> dict[str, set[str]]:
        """The fingerprints in each day's set (``YYYY-MM-DD`` in ``days``): BatchGetItem, 100 a call."""
        found: dict[str, set[str]] = {}
        for start in range(0, len(days), BATCH_GET):
            keys = [{"fingerprint": _av(f"{prefix}{d}")} for d in days[start : start + BATCH_GET]]
            request = {self._table: {"Keys": keys, "ConsistentRead": True}}
            try:
                answer = self._db.batch_get_item(RequestItems=request)
            except ClientError as exc:
                raise translate(exc, "DynamoDB BatchGetItem day sets") from exc
            for item in answer.get("Responses", {}).get(self._table, []):
                plain = _plain(item)
                found[str(plain["fingerprint"]).removeprefix(prefix)] = set(plain.get("members") or ())
        return found

    def forget_in_day(self, prefix: str, day: str, fingerprints: Sequence[str]) -> None:
        """Drop fingerprints the heal checker is done with from a day's set."""
        if fingerprints:
            self._update(f"{prefix}{day}", Update().delete("members", fingerprints).request(), "NONE", "day set")

    def merged_sets(self, days: Sequence[str]) -> dict[str, set[str]]:
        """The groups merged on each of ``days`` and not forgotten yet (``~merged~<day>`` sets)."""
        return self.day_sets(MERGED_PREFIX, days)

    def opened_sets(self, days: Sequence[str]) -> dict[str, set[str]]:
        """The groups whose PR opened on each of ``days`` and not forgotten yet (``~opened~<day>``)."""
        return self.day_sets(OPENED_PREFIX, days)

    def forget_merged(self, day: str, fingerprints: Sequence[str]) -> None:
        """Drop groups the heal checker is done with from a day's ``~merged~`` set."""
        self.forget_in_day(MERGED_PREFIX, day, fingerprints)

    def forget_opened(self, day: str, fingerprints: Sequence[str]) -> None:
        """Drop groups the heal checker is done with from a day's ``~opened~`` set."""
        self.forget_in_day(OPENED_PREFIX, day, fingerprints)


def _day(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch_ms // 1000))
