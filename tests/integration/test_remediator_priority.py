"""Priority and healing through the real remediator handlers (chalice.test.Client) on a moto estate.

The crypto-miner sequence: CPU alarms pause an instance's repairs, the C&C finding on it is still
decided and its isolation approved; a tag the workload set does not pre-empt isolation; another
alarm going OK heals nothing. moto gaps as in test_remediator_handlers.py (the handlers are invoked
with real-shaped events; mutating calls counted at the clients).
"""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client
from local_infra import alarm, finding

from chalicelib import runtime
from tests.integration.test_remediator_handlers import estate, invoke, published  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def test_cpu_alarms_that_pause_an_instance_never_keep_its_isolation_from_happening(estate: Any) -> None:  # noqa: F811
    estate, clients, clock = estate
    import app

    miner = estate.instances[0]
    name = f"cpu-{miner}"
    with Client(app.app) as client:
        # GIVEN a miner drives CPU high three times: two reboots, then the budget pauses the instance
        decisions = []
        for _ in range(3):
            decisions += invoke(client, "alarm_remediator", alarm("alarm_ec2_cpu", name, clock(), InstanceId=miner))[
                "decisions"
            ]
            clock.advance(5)
            invoke(client, "alarm_remediator", alarm("alarm_ec2_cpu_ok", name, clock(), InstanceId=miner))
            clock.advance(31)
        assert [(d["decision"], d["rule"]) for d in decisions] == [
            ("act", "ok"),
            ("act", "ok"),
            ("escalate", "attempt-budget"),
        ]
        # WHEN GuardDuty reports C&C activity from it
        [pending] = invoke(client, "finding_remediator", finding(miner, clock()))["decisions"]
    # THEN isolation is asked for (not suppressed by the repairs' pause), and an approval runs it
    assert (pending["decision"], pending["rule"]) == ("awaiting_approval", "approval")
    assert runtime.approvals().approve(pending["action_id"])["decision"] == "approved"
    assert clients.calls["ModifyNetworkInterfaceAttribute"] >= 1
    assert any("awaits approval" in n["content"]["title"] for n in published(clients, estate))


def test_a_tag_the_workload_set_does_not_make_a_finding_selfheals_own(estate: Any) -> None:  # noqa: F811
    estate, _, clock = estate
    import app

    event = finding(estate.instances[1], clock())
    event["detail"]["resource"]["instanceDetails"]["tags"].append({"key": "selfheal:action", "value": "x"})
    with Client(app.app) as client:
        [decision] = invoke(client, "finding_remediator", event)["decisions"]
    assert (decision["decision"], decision["rule"]) == ("awaiting_approval", "approval")


def test_another_alarm_going_ok_on_the_instance_heals_nothing(estate: Any) -> None:  # noqa: F811
    estate, _, clock = estate
    import app

    instance = estate.instances[2]
    with Client(app.app) as client:
        [acted] = invoke(client, "alarm_remediator", alarm("alarm_ec2_cpu", f"cpu-{instance}", clock(),
                                                           InstanceId=instance))["decisions"]  # fmt: skip
        clock.advance(2)
        # WHEN another alarm on the same instance goes OK (metrics resume across the reboot)
        other = alarm("alarm_ec2_cpu_ok", f"other-{instance}", clock(), InstanceId=instance)
        [ok] = invoke(client, "alarm_remediator", other)["decisions"]
        # THEN the reboot stays in flight; only its own alarm's OK heals it
        assert (ok["decision"], ok["rule"]) == ("ignore", "resolved")
        assert runtime.governor().get(acted["action_id"]).open
        mine = alarm("alarm_ec2_cpu_ok", f"cpu-{instance}", clock(), InstanceId=instance)
        assert invoke(client, "alarm_remediator", mine)["decisions"][0]["decision"] == "healed"
