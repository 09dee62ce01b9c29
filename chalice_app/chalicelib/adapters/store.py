"""The error-group table as one object: ``ErrorGroupStore`` composes the table's per-kind stores.

Each kind of item has its own class and module over the shared layer of ``adapters/table.py``
(the ``Update`` builder, ``_update``), and each is behind the protocol of the services that use it
(``usecases/ports.py``):

    GroupStore        adapters/groups.py          groups, their detail items, unrouted log groups:
                                                  record, claim, finish, re-open, the PR's fate,
                                                  the spend waits, the ``~queued~`` / ``~new~`` sweeps' reads
    SpendCounters     adapters/spend_counters.py  ``~budget~`` counter items (jobs, tokens, windows)
    PullRequestIndex  adapters/pr_index.py        ``~pr~`` / ``~branch~`` pointers, ``~openprs~`` sets
    DeliveryMarkers   adapters/deliveries.py      ``~delivery~`` markers of webhook deliveries
    DaySets           adapters/day_sets.py        ``~merged~`` / ``~opened~`` / ``~queued~`` / ``~new~`` day sets

The composite serves the callers that take the whole table (the composition root, the command
line, the tests): it is each of the kinds at once, over one client and one table, and adds no
method of its own. The names callers import from here are re-exported.
"""

from __future__ import annotations

from chalicelib.adapters.day_sets import MERGED_PREFIX, NEW_PREFIX, OPENED_PREFIX, QUEUED_PREFIX, DaySets
from chalicelib.adapters.deliveries import DELIVERY_PREFIX, DeliveryMarkers
from chalicelib.adapters.groups import (
    BATCH_MEMORY,
    DETAIL_PREFIX,
    MAX_LOG_GROUPS,
    REPORT_DETAIL,
    UNROUTED_PREFIX,
    Claim,
    GroupStore,
    QueuedJob,
    Recorded,
    to_group,
    unrouted_key,
    unrouted_reason,
)
from chalicelib.adapters.pr_index import BRANCH_PREFIX, OPEN_PRS_PREFIX, PR_PREFIX, PullRequestIndex
from chalicelib.adapters.spend_counters import BUDGET_PREFIX, SpendCounters
from chalicelib.adapters.table import Update
from chalicelib.errors import InvalidTransition

__all__ = [
    "BATCH_MEMORY",
    "BRANCH_PREFIX",
    "BUDGET_PREFIX",
    "DELIVERY_PREFIX",
    "DETAIL_PREFIX",
    "MAX_LOG_GROUPS",
    "MERGED_PREFIX",
    "NEW_PREFIX",
    "OPENED_PREFIX",
    "OPEN_PRS_PREFIX",
    "PR_PREFIX",
    "QUEUED_PREFIX",
    "REPORT_DETAIL",
    "UNROUTED_PREFIX",
    "Claim",
    "DaySets",
    "DeliveryMarkers",
    "ErrorGroupStore",
    "GroupStore",
    "InvalidTransition",
    "PullRequestIndex",
    "QueuedJob",
    "Recorded",
    "SpendCounters",
    "Update",
    "to_group",
    "unrouted_key",
    "unrouted_reason",
]


class ErrorGroupStore(GroupStore, SpendCounters, PullRequestIndex, DeliveryMarkers, DaySets):
    """The whole error-group table: every kind's methods over one client and one table
    (``ErrorGroupStore(client, table_name, stale_after_days, resolved_ttl_days)``, as ``GroupStore``)."""
