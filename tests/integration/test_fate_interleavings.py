"""Hypothesis over interleavings of occurrences and pull-request events, against the real store on
the moto server: the group is never lost, never stuck, and every status change it goes through is
one of the conditional writes of adapters/store.py's table (read back from the table's stream).

Each example is one bug (a fresh fingerprint) in a shared table. Its world: a clock, GitHub's pull
requests (an in-memory GitHub that answers the Protocol the services read through), the webhook
(``Resolve.webhook`` with signed GitHub-shaped deliveries, replays included), the lazy read and the
regression check on each occurrence (``Fate``), the stream → queue → fixer writes, and the heal
checker.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from local_stack import EventSources, create_stack

from chalicelib.adapters.clients import Clients
from chalicelib.adapters.github_api import PullState
from chalicelib.adapters.settings import Settings
from chalicelib.adapters.store import ErrorGroupStore
from chalicelib.core.models import Status
from chalicelib.events.streams import GroupStreamRecord
from chalicelib.usecases.fate import Fate
from chalicelib.usecases.heal import HealChecker
from chalicelib.usecases.resolve import Resolve
from tests.fate_fixtures import HOUR, MINUTE, T0, observation
from tests.github_hooks import SECRET, delivery, sample

if TYPE_CHECKING:
    from collections.abc import Iterator

GRACE, QUIET, CHECK = 30 * MINUTE, 72 * HOUR, 60 * MINUTE
ALL = {
    Status.NEW, Status.QUEUED, Status.FIXING, Status.PR_OPENED, Status.FAILED, Status.SKIPPED,
    Status.MERGED, Status.REJECTED, Status.REGRESSED, Status.HEALED,
}  # fmt: skip
# Every (old, new) status change the store's table allows (adapters/store.py's docstring).
ALLOWED = {
    (Status.NEW, Status.QUEUED), (Status.REGRESSED, Status.QUEUED), (Status.QUEUED, Status.FIXING),
    (Status.FAILED, Status.FIXING), (Status.FIXING, Status.PR_OPENED), (Status.FIXING, Status.FAILED),
    (Status.FIXING, Status.SKIPPED), (Status.QUEUED, Status.SKIPPED),
    (Status.PR_OPENED, Status.MERGED), (Status.REJECTED, Status.MERGED), (Status.PR_OPENED, Status.REJECTED),
    (Status.PR_OPENED, Status.NEW), (Status.REJECTED, Status.NEW), (Status.MERGED, Status.REGRESSED),
    (Status.HEALED, Status.REGRESSED), (Status.MERGED, Status.HEALED),
    *((old, Status.NEW) for old in Status.REOPENED_FROM),
}  # fmt: skip


class Counter:
    def count(self, name: str, value: int = 1) -> None:
        return None

    def flush(self) -> None:
        return None


class InMemoryGitHub:
    """GitHub as the fate services read it: pull requests by number, and who may command."""

    def __init__(self) -> None:
        self.pulls: dict[int, PullState] = {}
        self.writers = {"maintainer"}

    def pull(self, number: int) -> PullState:
        return self.pulls[number]

    def reviewer_words(self, number: int, limit: int = 5) -> str:
        return f"@maintainer (review CHANGES_REQUESTED): not like this (#{number})"

    def may_command(self, login: str) -> bool:
        return login in self.writers


class Shared:
    """The table, its stream, and the store, for every example of one test run."""

    def __init__(self, endpoint: str) -> None:
        prefix = f"p{uuid.uuid4().hex[:10]}"
        clients = Clients(Settings(endpoint_url=endpoint))
        self.stack = create_stack(clients, prefix=prefix)
        self.store = ErrorGroupStore(clients.dynamodb, self.stack.table_name)
        self.sources = EventSources(clients, self.stack)
        self.records: dict[str, list[dict[str, Any]]] = {}

    def drain_stream(self) -> None:
        for record in self.sources.stream_records(limit=1000):
            key = GroupStreamRecord(record).fingerprint
            self.records.setdefault(key, []).append(record)


@pytest.fixture
def shared(moto_endpoint: str) -> Iterator[Shared]:
    yield Shared(moto_endpoint)


class FateMachine(RuleBasedStateMachine):
    shared: Shared

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.github = InMemoryGitHub()
        self.variant = f"_{uuid.uuid4().hex[:8]}"
        self.seen = observation(self.now, variant=self.variant)
        self.fp = self.seen.fingerprint
        self.store = self.shared.store
        self.fate = Fate(self.store, lambda service: self.github, Counter(), None, GRACE, CHECK, clock=self.clock)
        self.resolve = Resolve(SECRET.encode, lambda: self.store, lambda service: self.github, Counter(), self.clock)
        self.heal_checker = HealChecker(
            self.store, Counter(), QUIET, lookback_days=60, clock=self.clock, fate=self.fate
        )
        self.last_delivery: tuple[dict[str, str], bytes] | None = None
        self.handled: set[str] = set()  # stream records the "stream processor" took
        self.opened = ""  # the URL of the PR the fixer opened last
        self.store.record(self.seen, self.now)

    def clock(self) -> int:
        return self.now

    # --- the world --------------------------------------------------------------------------------

    def pr_url(self) -> str:
        """The group's PR, as the fixer last recorded it (kept here: one read less per rule)."""
        return self.opened

    def number(self) -> int:
        return int(self.opened.rsplit("/", 1)[1]) if self.opened else 0

    def pipeline(self) -> None:
        """What the stream processor and the fixer do: jobs for NEW / re-opened / REGRESSED groups,
        queued, claimed and ended in a new PR."""
        self.shared.drain_stream()
        for record in self.shared.records.get(self.fp, []):
            job = GroupStreamRecord(record).job()
            if job is None or job.token in self.handled:
                continue
            self.handled.add(job.token)
            self.store.mark_queued(self.fp, job.token, self.now)
        claim = self.store.claim(self.fp, "machine", self.now, 60, 3)
        if claim.claimed:
            number = len(self.github.pulls) + 1
            self.github.pulls[number] = PullState("open", False)
            url = self.opened = f"https://github.com/acme/shop/pull/{number}"
            self.store.finish(
                self.fp, "machine", Status.PR_OPENED, self.now, pr_url=url, branch=f"selfheal/{self.fp[:12]}",
                extra={"pr_diff": f"diff of attempt {number}"},
            )  # fmt: skip

    def deliver(self, event: str, name: str, **changes: Any) -> None:
        payload = sample(name, pr_url=self.pr_url(), number=self.number(), body=f"error group: `{self.fp}`", **changes)
        self.last_delivery = delivery(event, payload)
        status, _ = self.resolve.webhook(*self.last_delivery)
        assert status == 200

    # --- rules ------------------------------------------------------------------------------------

    @rule(minutes=st.sampled_from([1, 20, 45, 120, 2_000, 5_000]))
    def occur(self, minutes: int) -> None:
        self.now += minutes * MINUTE
        seen = observation(self.now, variant=self.variant)
        recorded = self.store.record(seen, self.now)
        if recorded.previous is not None:
            self.fate.after_record(recorded.previous, self.now)

    @rule()
    def stream_and_fixer(self) -> None:
        self.pipeline()

    @rule(deliver=st.booleans())
    def merge(self, deliver: bool) -> None:
        number = self.number()
        if number and self.github.pulls[number].state == "open":
            self.github.pulls[number] = PullState("closed", True, self.now)
            if deliver:
                self.deliver("pull_request", "pull_request_closed_merged", merged_at=_iso(self.now))

    @rule(deliver=st.booleans())
    def close(self, deliver: bool) -> None:
        number = self.number()
        if number and self.github.pulls[number].state == "open":
            self.github.pulls[number] = PullState("closed", False)
            if deliver:
                self.deliver("pull_request", "pull_request_closed_unmerged")

    @rule(
        kind=st.sampled_from(["issue_comment_retry", "issue_comment_stop"]), login=st.sampled_from(["maintainer", "x"])
    )
    def comment(self, kind: str, login: str) -> None:
        if self.number():
            self.deliver("issue_comment", kind, login=login)

    @rule()
    def redeliver(self) -> None:
        if self.last_delivery is not None:
            before = self.store.get(self.fp)
            assert self.resolve.webhook(*self.last_delivery) == (200, "duplicate")
            assert self.store.get(self.fp) == before

    @rule(hours=st.sampled_from([1, 24, 73]))
    def heal(self, hours: int) -> None:
        self.now += hours * HOUR
        self.heal_checker.run()

    # --- what must always hold --------------------------------------------------------------------

    @invariant()
    def never_lost_and_consistent(self) -> None:
        group = self.store.get(self.fp)
        assert group is not None and group.status in ALL
        if group.status in (Status.MERGED, Status.HEALED):
            assert group.merged_at > 0 and self.github.pulls[self.number()].merged
        if group.status == Status.HEALED:
            assert group.healed_at - QUIET >= max(group.last_seen, group.merged_at)
        if group.status == Status.REGRESSED:
            assert group.regressed_at > group.merged_at + GRACE and group.attempts == 0

    def teardown(self) -> None:
        # Never stuck: the pipeline, a merge and a quiet period later, every group rests.
        for _ in range(3):
            self.pipeline()
            number = self.number()
            if number and self.github.pulls[number].state == "open":
                self.merge(deliver=True)
        self.now += QUIET + HOUR
        self.heal_checker.run()
        group = self.store.get(self.fp)
        assert group is not None
        assert group.status in (Status.HEALED, Status.REJECTED, Status.FAILED), group
        # Every status change went through one of the store's conditional writes.
        self.shared.drain_stream()
        for record in self.shared.records.get(self.fp, []):
            view = GroupStreamRecord(record)
            old, new = view.old_image.get("status"), view.new_image.get("status")
            if view.event_name == "MODIFY" and old != new:
                assert (old, new) in ALLOWED, (old, new)


def _iso(epoch_ms: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms // 1000))


def test_no_interleaving_loses_or_sticks_a_group(shared: Shared) -> None:
    FateMachine.shared = shared
    run_state_machine_as_test(FateMachine, settings=settings(max_examples=8, stateful_step_count=8, deadline=None))
