"""The alarm remediator on a moto estate: a signal no runbook repairs is told to a person, never acted on;
an event of another account is neither.

moto gap covered here as in test_remediator_handlers.py: EventBridge cannot invoke a Lambda in moto,
so the handler is called with real-shaped events, and mutating calls are counted at the clients.
"""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client
from local_infra import alarm

from tests.conftest import load_event
from tests.integration.test_remediator_handlers import estate, invoke, published  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def test_an_idle_alarm_on_a_known_instance_is_told_and_never_reboots(estate: Any) -> None:  # noqa: F811
    # GIVEN every runbook enabled, and an idle-CPU (cost) alarm on an instance of the estate
    estate, clients, clock = estate
    import app

    idle = alarm("alarm_ec2_cpu_low_idle", "web-idle", clock(), InstanceId=estate.instances[0])
    with Client(app.app) as client:
        # WHEN it arrives (twice: EventBridge delivers at least once), then the verifier's run
        answer = invoke(client, "alarm_remediator", idle)
        again = invoke(client, "alarm_remediator", idle)
        assert published(clients, estate) == []  # not a page per event: the digest tells it
        tick = load_event("alarm_ec2_cpu") | {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        invoke(client, "remediation_verifier", tick)
    # THEN nothing is done, and one digest line tells a person why
    assert [(d["decision"], d["rule"]) for d in answer["decisions"]] == [("notify", "notify")]
    assert [(d["decision"], d["rule"]) for d in again["decisions"]] == [("suppressed", "duplicate")]
    assert clients.calls["RebootInstances"] == 0
    [notice] = published(clients, estate)
    assert "1 notify-only" in notice["content"]["title"]
    assert estate.instances[0] in notice["content"]["description"]
    assert "breached its threshold below" in notice["content"]["description"]


def test_an_alarm_of_another_account_is_neither_acted_on_nor_told(estate: Any) -> None:  # noqa: F811
    estate, clients, clock = estate
    import app

    event = alarm("alarm_ec2_cpu", "web-cpu", clock(), InstanceId=estate.instances[1])
    event["account"] = "999999999999"
    with Client(app.app) as client:
        answer = invoke(client, "alarm_remediator", event)
    [decision] = answer["decisions"]
    assert (decision["decision"], decision["rule"]) == ("ignore", "no-runbook")
    assert "account 999999999999" in decision["reason"]
    assert clients.calls["RebootInstances"] == 0 and published(clients, estate) == []
