"""The pull-request index of the error-group table: pointers from a pull request or a fix branch to
its group, and per repository the groups whose PR is open.

    ~pr~<url>             target = fingerprint   (``finish`` to PR_OPENED; a webhook delivery finds its group)
    ~branch~<branch>      target = fingerprint   (a ``status`` delivery names only the branch)
    ~openprs~<repository> members = fingerprints (duplicate PRs, core/overlap.py)

    link pr / branch  SET target, expires_at (a year)                     (best effort: the PR body names the group too)
    open pr           ~openprs~<repository>: ADD members fingerprint   (after PR_OPENED; the group holds
                                                                        its changed lines, pr_ranges)
    stale             ~openprs~<repository>: DELETE members             (read back no longer PR_OPENED:
                                                                        adapters/groups.py open_prs)

An index item has no status: ``scan`` skips it and the stream turns it into no job.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.adapters.table import DAY, Table, Update
from chalicelib.adapters.table import av as _av
from chalicelib.adapters.table import plain as _plain
from chalicelib.errors import SelfHealError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["BRANCH_PREFIX", "OPEN_PRS_PREFIX", "PR_PREFIX", "PullRequestIndex"]

log = logging.getLogger(__name__)

PR_PREFIX = "~pr~"
BRANCH_PREFIX = "~branch~"  # a fix branch → its group (a status delivery names only the branch)
OPEN_PRS_PREFIX = "~openprs~"  # per repository: the groups with an open PR (duplicates, usecases/fix.py)


class PullRequestIndex(Table):
    """The table's pull-request pointers and open-PR sets (``~pr~``, ``~branch~``, ``~openprs~``)."""

    def link_pr(self, pr_url: str, fingerprint: str, now: int) -> None:
        """Remember which group a pull request belongs to (``~pr~<url>``, kept a year), so a webhook
        delivery finds the group without a scan. Best effort: the PR body names the group too."""
        update = Update().set("target", fingerprint).set("expires_at", now // 1000 + 365 * DAY)
        try:
            self._update(f"{PR_PREFIX}{pr_url}", update.request(), "NONE", "PR pointer")
        except SelfHealError:
            log.warning("PR pointer not written", exc_info=True, extra={"fingerprint": fingerprint})

    def find_pr(self, pr_url: str) -> str:
        """The fingerprint ``link_pr`` stored for ``pr_url`` ('' when none)."""
        try:
            item = self._db.get_item(
                TableName=self._table, Key={"fingerprint": _av(f"{PR_PREFIX}{pr_url}")}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise translate(exc, "DynamoDB read PR pointer") from exc
        return str(_plain(item).get("target", "")) if item else ""

    def add_open_pr(self, repository: str, fingerprint: str, now: int) -> None:
        """Index a group whose PR is open under its repository (best effort: an unindexed PR is
        only not found as the first of a duplicate)."""
        update = Update().add("members", {"SS": [fingerprint]}).set("expires_at", now // 1000 + 365 * DAY)
        try:
            self._update(f"{OPEN_PRS_PREFIX}{repository}", update.request(), "NONE", "open PR index")
        except SelfHealError:
            log.warning("open PR not indexed", exc_info=True, extra={"fingerprint": fingerprint})

    def open_pr_members(self, repository: str) -> list[str]:
        """The fingerprints indexed under ``repository`` (read consistently), sorted; some may have
        moved on (``drop_open_prs``)."""
        key = f"{OPEN_PRS_PREFIX}{repository}"
        try:
            item = self._db.get_item(TableName=self._table, Key={"fingerprint": _av(key)}, ConsistentRead=True)
        except ClientError as exc:
            raise translate(exc, "DynamoDB read open PR index") from exc
        return sorted(_plain(item.get("Item") or {}).get("members") or ())

    def drop_open_prs(self, repository: str, stale: Sequence[str]) -> None:
        """Drop members whose PR is no longer open from ``repository``'s index (best effort)."""
        key = f"{OPEN_PRS_PREFIX}{repository}"
        try:
            self._update(key, Update().delete("members", stale).request(), "NONE", "open PR index")
        except SelfHealError:
            log.warning("stale open PRs not dropped from %s", key, exc_info=True)

    def link_branch(self, branch: str, fingerprint: str, now: int) -> None:
        """Remember which group a fix branch belongs to (``~branch~<branch>``, kept a year): a
        ``status`` delivery names only the branch. Best effort."""
        update = Update().set("target", fingerprint).set("expires_at", now // 1000 + 365 * DAY)
        try:
            self._update(f"{BRANCH_PREFIX}{branch}", update.request(), "NONE", "branch pointer")
        except SelfHealError:
            log.warning("branch pointer not written", exc_info=True, extra={"fingerprint": fingerprint})

    def find_branch(self, branch: str) -> str:
        """The fingerprint ``link_branch`` stored for ``branch`` ('' when none)."""
        try:
            item = self._db.get_item(
                TableName=self._table, Key={"fingerprint": _av(f"{BRANCH_PREFIX}{branch}")}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise translate(exc, "DynamoDB read branch pointer") from exc
        return str(_plain(item).get("target", "")) if item else ""
