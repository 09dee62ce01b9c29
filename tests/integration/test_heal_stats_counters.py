"""The healing statistics' day counters in the governor table, on dynalite.

Gap covered: the counters are ``ADD``s made by concurrent remediators; moto's DynamoDB server does
not isolate concurrent writes, dynalite locks each item (as DynamoDB does), so the concurrent test
below checks that no count is lost or doubled. The counts are compared with the audit trail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.adapters.governor_store import GovernorStore
from chalicelib.core.heal_stats import aggregate, day_of, window_days
from chalicelib.core.runbooks import layer_of
from tests.integration.test_governor_store import LIVE, MIN, NOW, alarm, concurrently, reboot

pytestmark = pytest.mark.integration

DAY = 86_400_000


@pytest.fixture
def store(dynalite_table) -> GovernorStore:
    client, name = dynalite_table
    return GovernorStore(client, name)


def calls_made(store: GovernorStore) -> list[str]:
    """The DynamoDB operations the store's client makes from now on (botocore's event hooks)."""
    made: list[str] = []
    store._db.meta.events.register("before-call.dynamodb", lambda model, **_: made.append(model.name))
    return made


def figures(store: GovernorStore, now: int, days: int = 7) -> dict:
    window = window_days(now, days * 86_400)
    return {r["runbook"]: r for r in aggregate(store.day_counts(window), layer_of, days=window).as_json()["runbooks"]}


def test_each_decision_counts_once_in_its_day_and_the_figures_match_the_audit(store: GovernorStore) -> None:
    # GIVEN on day 1: an act that heals after 5 minutes, a redelivery, a repeat inside the cooldown,
    # an act that fails, and one whose deadline passes (escalated by the verifier)
    first = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW + 1)  # duplicate
    store.admit(alarm("i-1", 1), reboot("i-1"), LIVE, NOW + 2 * MIN)  # cooldown
    store.admit(alarm("i-1", "ok", "resolved"), reboot("i-1"), LIVE, NOW + 5 * MIN)
    failed = store.admit(alarm("i-2"), reboot("i-2", "asg:db"), LIVE, NOW + 6 * MIN)
    store.complete(failed.action_id, "failed", NOW + 7 * MIN, reason="InvalidInstanceID")
    store.admit(alarm("i-3"), reboot("i-3", "asg:other"), LIVE, NOW + 8 * MIN)
    store.overdue(NOW + 60 * MIN)
    # and on day 2: a dry run
    store.admit(alarm("i-4"), reboot("i-4", "asg:x"), replace(LIVE, dry_run=True), NOW + DAY)
    # WHEN the window is read
    made = calls_made(store)
    doc = figures(store, NOW + DAY)
    reads = list(made)
    # THEN every decision is counted once, the heal with its time, and reading made only Queries
    reboot_figures = doc["ec2-reboot"]
    counts = {k: reboot_figures[k] for k in ("acted", "healed", "failed", "escalated", "suppressed", "duplicates")}
    assert counts == {"acted": 3, "healed": 1, "failed": 1, "escalated": 1, "suppressed": 1, "duplicates": 1}
    assert reboot_figures["dry_run"] == 1 and reboot_figures["layer"] == "infrastructure"
    assert reboot_figures["median_time_to_heal_s"] == reboot_figures["p90_time_to_heal_s"] == 300.0
    assert reboot_figures["success_rate"] == round(1 / 3, 4)
    audit = Counter(r.decision for r in store.actions(limit=100))
    assert audit["act"] == counts["acted"] and audit["dry_run"] == 1
    assert Counter(r.outcome for r in store.actions(decision="act")) == {"healed": 1, "failed": 1, "escalated": 1}
    assert first.action_id in {r.action_id for r in store.actions(decision="act")}
    assert reads == ["Query"] * len(window_days(NOW + DAY, 7 * 86_400))  # one a day, no Scan
    # and a window of day 2 alone has only its dry run
    only_day_2 = aggregate(store.day_counts([day_of(NOW + DAY)]), layer_of).as_json()["runbooks"][0]
    assert (only_day_2["acted"], only_day_2["dry_run"]) == (0, 1)


def test_an_escalation_of_the_attempt_budget_and_an_approval_count(store: GovernorStore) -> None:
    one = replace(LIVE, max_attempts=1)
    store.admit(alarm("i-1"), reboot("i-1"), one, NOW)
    budget = store.admit(alarm("i-1", 1), reboot("i-1"), one, NOW + 20 * MIN)
    assert (budget.decision, budget.rule) == ("escalate", "attempt-budget")
    assert figures(store, NOW)["ec2-reboot"]["escalated"] == 1
    waiting = store.admit(alarm("i-9"), reboot("i-9", "asg:y"), replace(LIVE, approval=True), NOW)
    store.approve(waiting.action_id, waiting.digest, NOW + MIN)
    assert figures(store, NOW)["ec2-reboot"]["acted"] == 2  # the first act and the approved plan


def test_concurrent_deliveries_lose_and_double_no_count(store: GovernorStore) -> None:
    # WHEN 30 deliveries of one alarm and 10 alarms on other instances arrive at once
    def deliver(i: int):
        if i < 30:
            return store.admit(alarm("i-1"), reboot("i-1", "asg:big"), replace(LIVE, max_in_flight=50), NOW + i)
        return store.admit(alarm(f"i-{i}"), reboot(f"i-{i}", "asg:big"), replace(LIVE, max_in_flight=50), NOW + i)

    records = concurrently(40, deliver)
    # THEN the counters say what the audit says: 11 acts, 29 duplicates
    audit = Counter("duplicates" if r.rule == "duplicate" else r.decision for r in records)
    assert audit == {"act": 11, "duplicates": 29}
    doc = figures(store, NOW)["ec2-reboot"]
    assert (doc["acted"], doc["duplicates"], doc["suppressed"]) == (11, 29, 0)


def test_what_the_counters_cost_per_decision(store: GovernorStore) -> None:
    # WHEN an act, its redelivery and its heal are decided
    made = calls_made(store)
    acted = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    act = Counter(made)
    made.clear()
    store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW + 1)
    duplicate = Counter(made)
    made.clear()
    store.admit(alarm("i-1", "ok", "resolved"), reboot("i-1"), LIVE, NOW + MIN)
    heal = Counter(made)
    # THEN the statistics cost one UpdateItem per counted decision, a heal one more (its time)
    assert acted.decision == "act"
    assert act == {"BatchGetItem": 1, "Query": 2, "PutItem": 4, "UpdateItem": 1}
    assert duplicate == {"BatchGetItem": 1, "PutItem": 1, "UpdateItem": 1}
    assert heal["UpdateItem"] == 1 + 2  # the close, then the counter and the time to heal


@pytest.mark.parametrize("failure", ["throttled", "unreachable"])
def test_a_count_that_cannot_be_written_leaves_the_decision_standing(store: GovernorStore, failure: str) -> None:
    # GIVEN DynamoDB refuses every write to the day counters (botocore's event hook, before the request)
    def refuse(params, **_):
        body = params.get("body") or b""
        if "stats#" in (body.decode() if isinstance(body, bytes) else str(body)):
            if failure == "throttled":
                raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    store._db.meta.events.register_first("before-call.dynamodb.UpdateItem", refuse)
    # WHEN an alarm acts and its OK heals it
    acted = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    healed = store.admit(alarm("i-1", "ok", "resolved"), reboot("i-1"), LIVE, NOW + MIN)
    # THEN both decisions are recorded, the claims kept: only the statistics miss them
    assert (acted.decision, healed.decision) == ("act", "healed")
    assert store.get(acted.action_id).outcome == "healed"
    assert store.admit(alarm("i-1", 2), reboot("i-1"), LIVE, NOW + 2 * MIN).rule == "cooldown"
    assert store.day_counts([day_of(NOW)]) == []
