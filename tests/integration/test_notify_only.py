"""A notify-only runbook's verdict through the remediate service and the real governor store (dynalite):
what the person is told, what the audit records, what the day counters count.

The planner, executor and notifier are the small fakes of test_remediate_tell.py: what is tested is
what the service and the store make of a plan that tells (the runbooks' own reads are tested on moto
in test_app_network_runbooks.py and test_elb_unhealthy_target.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.governor_store import GovernorStore
from chalicelib.core.heal_stats import aggregate, day_of
from chalicelib.core.runbooks.plan import Incident, Limits, Plan, Target
from tests.integration.test_remediate_tell import NOW, service

pytestmark = pytest.mark.integration

FACTS = "Route 53 health check hc-1 on HTTPS api.example.com:443/health is unhealthy; 2 of 3 checkers fail"
TOLD = Plan("route53-health", Target("route53-health-check", "hc-1"), tell=FACTS)
COMPOSITE = Plan("route53-health", None, problem="a composite alarm names no metric")
LIMITS = Limits(dry_run=False, cooldown_s=1800, max_attempts=1)


def health(at: int, runbook: str = "told") -> Incident:
    arn = "arn:aws:cloudwatch:us-east-1:1:alarm:hc-1"
    return Incident(
        "alarm", f"{arn}#{at}", "open", "AWS/Route53/HealthCheckStatus", ("hc-1",), facts={"runbook": runbook}
    )


@pytest.fixture
def store(dynalite_table: Any) -> GovernorStore:
    client, name = dynalite_table
    return GovernorStore(client, name)


def test_a_runbook_that_tells_pages_with_its_facts_every_transition_and_counts_as_escalated(
    store: GovernorStore,
) -> None:
    # GIVEN route53-health, notify-only, and a composite alarm it cannot name a target of
    remediate, kept, clock = service(store, {"told": (TOLD, LIMITS), "composite": (COMPOSITE, LIMITS)})
    # WHEN the health check's alarm goes to ALARM twice (two transitions), is redelivered once,
    # and a composite alarm arrives
    first = remediate.handle(health(1))["decisions"]
    clock.now += 60_000
    second = remediate.handle(health(2))["decisions"]
    again = remediate.handle(health(2))["decisions"]
    ambiguous = remediate.handle(health(3, "composite"))["decisions"]
    # THEN each transition is told with the runbook's facts (no limit holds a notice back), the
    # redelivery is a duplicate, and only the composite alarm is ambiguous
    decided = [(d["decision"], d["rule"]) for d in first + second + again + ambiguous]
    assert decided == [
        ("escalate", "notify-only"),
        ("escalate", "notify-only"),
        ("suppressed", "duplicate"),
        ("escalate", "ambiguous-target"),
    ]
    assert first[0]["reason"] == FACTS
    told = [n for n in kept.notices if n.context.get("rule") == "notify-only"]
    assert len(told) == 2 and all(FACTS in n.description and "no single target" not in n.description for n in told)
    assert told[0].title == "👀 hc-1 needs a look: route53-health tells, changes nothing"
    # the audit names the rule, keeps no call, pauses nothing
    audit = [r for r in store.actions() if r.rule == "notify-only"]
    assert len(audit) == 2 and all(r.calls == () and not r.pause for r in audit)
    assert store.paused("hc-1") == ""
    # the day counters: `runbooks stats` shows two escalations (plus the composite), nothing acted
    stats = aggregate(store.day_counts([day_of(NOW)]), lambda _: "network").as_json()
    [row] = stats["runbooks"]
    assert (row["runbook"], row["escalated"], row["acted"], row["duplicates"]) == ("route53-health", 3, 0, 1)
