"""The remediator handlers through chalice.test.Client, on a moto estate: decisions, audit, notifications.

moto gaps covered here: EventBridge cannot deliver events to a Lambda in moto (no Docker), so the
tests invoke the handlers with real-shaped events; a reboot leaves no trace in moto's state, so
mutating calls are counted at the boto3 clients the handlers use.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client
from local_infra import Clock, Estate, alarm, build_estate, finding

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.settings import Settings
from chalicelib.errors import PayloadError, Refused
from tests.conftest import load_event

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


class CountingClients(Clients):
    """Clients whose every call is counted by operation name (what the handlers really called)."""

    calls: Counter[str]

    def client(self, service: str) -> Any:
        made = super().client(service)
        made.meta.events.register("before-call.*.*", self._count)
        return made

    def _count(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.split(".", 2)[2]] += 1


@pytest.fixture
def estate(moto_endpoint: str) -> Iterator[tuple[Estate, CountingClients, Clock]]:
    estate = build_estate(Clients(Settings(endpoint_url=moto_endpoint)), size=4)
    settings = Settings(
        endpoint_url=moto_endpoint,
        governor_table_name=estate.governor_table,
        topic_arn=estate.topic_arn,
        parameter_prefix=estate.prefix,
    )
    clients = CountingClients(settings)
    clients.calls = Counter()
    clock = Clock()
    runtime.use(runtime.Container(settings=settings, clients=clients, clock=clock))
    yield estate, clients, clock
    runtime.clear()


def invoke(client: Client, handler: str, event: dict[str, Any]) -> dict[str, Any]:
    answer = client.lambda_.invoke(handler, event)
    return answer.payload


def published(clients: Clients, estate: Estate) -> list[dict[str, Any]]:
    answer = clients.sqs.receive_message(QueueUrl=estate.inbox_url, MaxNumberOfMessages=10)
    return [json.loads(json.loads(m["Body"])["Message"]) for m in answer.get("Messages", [])]


def test_an_alarm_reboots_its_instance_once_and_tells_people(estate: Any) -> None:
    # GIVEN the estate with every runbook enabled
    estate, clients, clock = estate
    import app

    event = alarm("alarm_ec2_cpu", "web-cpu", clock(), InstanceId=estate.instances[0])
    with Client(app.app) as client:
        # WHEN the alarm event arrives twice (EventBridge delivers at least once)
        first = invoke(client, "alarm_remediator", event)
        again = invoke(client, "alarm_remediator", event)
    # THEN one reboot, one duplicate in the audit, one notification
    assert [d["decision"] for d in first["decisions"]] == ["act"]
    assert [(d["decision"], d["rule"]) for d in again["decisions"]] == [("suppressed", "duplicate")]
    assert clients.calls["RebootInstances"] == 1
    [notice] = published(clients, estate)
    assert notice["source"] == "custom" and estate.instances[0] in notice["content"]["title"]
    audit = runtime.governor().actions(resource=estate.instances[0])
    assert sorted(r.decision for r in audit) == ["act", "suppressed"]


def test_the_kill_switch_turns_the_next_event_into_a_dry_run(estate: Any) -> None:
    estate, clients, clock = estate
    import app

    runtime.runbook_config().set_kill_switch(True)
    event = alarm("alarm_ec2_cpu", "web-cpu", clock(), InstanceId=estate.instances[1])
    with Client(app.app) as client:
        answer = invoke(client, "alarm_remediator", event)
    assert [(d["decision"], d["rule"]) for d in answer["decisions"]] == [("dry_run", "kill-switch")]
    assert clients.calls["RebootInstances"] == 0
    [notice] = published(clients, estate)
    assert "dry run" in notice["content"]["title"]


def test_a_composite_alarm_makes_no_mutating_call_and_escalates(estate: Any) -> None:
    estate, clients, _ = estate
    import app

    with Client(app.app) as client:
        answer = invoke(client, "alarm_remediator", load_event("alarm_composite"))
    assert [(d["decision"], d["rule"]) for d in answer["decisions"]] == [("escalate", "ambiguous-target")]
    mutating = {"RebootInstances", "SendCommand", "UpdateService", "UpdateAlias", "ModifyNetworkInterfaceAttribute"}
    assert not mutating & set(clients.calls)


def test_an_event_selfheal_does_not_know_fails_loudly_for_the_dead_letter_queue(estate: Any) -> None:
    import app

    with Client(app.app) as client, pytest.raises(PayloadError):
        invoke(client, "alarm_remediator", {**load_event("alarm_ec2_cpu"), "source": "aws.s3"})


def test_isolation_waits_for_approval_and_runs_exactly_its_plan(estate: Any) -> None:
    # GIVEN a GuardDuty finding about an instance: isolation is critical
    estate, clients, clock = estate
    import app

    suspect = estate.instances[2]
    with Client(app.app) as client:
        [pending] = invoke(client, "finding_remediator", finding(suspect, clock()))["decisions"]
    assert pending["decision"] == "awaiting_approval"
    assert clients.calls["ModifyNetworkInterfaceAttribute"] == 0
    # WHEN an operator approves it
    clock.advance(5)
    result = runtime.approvals().approve(pending["action_id"])
    # THEN the stored plan ran: every interface of the instance is in the empty quarantine group
    assert result["decision"] == "approved"
    # (moto gap: the instance's own SecurityGroups list may keep the old group; the interfaces are the truth)
    ec2 = clients.client("ec2")
    interfaces = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [suspect]}])
    groups = {g["GroupId"] for eni in interfaces["NetworkInterfaces"] for g in eni["Groups"]}
    described = ec2.describe_security_groups(GroupIds=sorted(groups))["SecurityGroups"]
    assert interfaces["NetworkInterfaces"] and len(groups) == 1
    assert all(not g["IpPermissions"] and not g["IpPermissionsEgress"] for g in described)
    # AND approving again is refused with why
    with pytest.raises(Refused, match="already|not awaiting"):
        runtime.approvals().approve(pending["action_id"])


def test_an_expired_approval_is_refused(estate: Any) -> None:
    estate, _, clock = estate
    import app

    with Client(app.app) as client:
        [pending] = invoke(client, "finding_remediator", finding(estate.instances[3], clock()))["decisions"]
    clock.advance(61)  # the default catalog gives an hour
    with pytest.raises(Refused, match="expired"):
        runtime.approvals().approve(pending["action_id"])


def test_the_verifier_escalates_an_action_that_never_healed(estate: Any) -> None:
    estate, clients, clock = estate
    import app

    event = alarm("alarm_ec2_cpu", "web-cpu", clock(), InstanceId=estate.instances[0])
    with Client(app.app) as client:
        invoke(client, "alarm_remediator", event)
        clock.advance(16)  # past the default 15-minute verification deadline
        tick = load_event("alarm_ec2_cpu") | {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
        answer = invoke(client, "remediation_verifier", tick)
    assert [(d["decision"], d["target"]) for d in answer["decisions"]] == [("escalate", estate.instances[0])]
    titles = [n["content"]["title"] for n in published(clients, estate)]
    assert any("needs a human" in t for t in titles)


def test_the_verifier_reads_an_approved_isolation_healed_since_guardduty_sends_no_ok(estate: Any) -> None:
    # GIVEN an approved, executed isolation (GuardDuty never reports a finding "resolved")
    estate, clients, clock = estate
    import app

    suspect = estate.instances[2]
    tick = load_event("alarm_ec2_cpu") | {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    with Client(app.app) as client:
        [pending] = invoke(client, "finding_remediator", finding(suspect, clock()))["decisions"]
        runtime.approvals().approve(pending["action_id"])
        clock.advance(5)
        # WHEN the verifier runs, before the deadline
        answer = invoke(client, "remediation_verifier", tick)
        # THEN it read every interface in the isolate group: healed, its slot freed, nothing escalated
        assert [(d["decision"], d["target"]) for d in answer["decisions"]] == [("healed", suspect)]
        [record] = [r for r in runtime.governor().actions(resource=suspect) if r.decision == "approved"]
        assert record.outcome == "healed" and not record.open
        # AND past the deadline there is nothing left to escalate
        clock.advance(60 * 24)
        assert invoke(client, "remediation_verifier", tick)["decisions"] == []
    titles = [n["content"]["title"] for n in published(clients, estate)]
    assert not any("needs a human" in t for t in titles)


def test_the_verifier_leaves_an_isolation_undone_by_hand_to_its_deadline(estate: Any) -> None:
    # GIVEN an approved isolation that someone reverted (an interface back in its old group)
    estate, clients, clock = estate
    import app

    suspect = estate.instances[2]
    ec2 = clients.client("ec2")
    before = ec2.describe_instances(InstanceIds=[suspect])["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
    old = {e["NetworkInterfaceId"]: [g["GroupId"] for g in e["Groups"]] for e in before}
    tick = load_event("alarm_ec2_cpu") | {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    with Client(app.app) as client:
        [pending] = invoke(client, "finding_remediator", finding(suspect, clock()))["decisions"]
        runtime.approvals().approve(pending["action_id"])
        for eni, groups in old.items():
            ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=groups)
        # WHEN the verifier runs before and after the deadline
        assert invoke(client, "remediation_verifier", tick)["decisions"] == []
        clock.advance(60 * 24 + 1)
        answer = invoke(client, "remediation_verifier", tick)
    # THEN it is not read as healed: it escalates at its deadline
    assert [(d["decision"], d["target"]) for d in answer["decisions"]] == [("escalate", suspect)]


def test_a_remediation_settings_change_reaches_the_handlers(estate: Any) -> None:
    estate, _, _ = estate
    assert runtime.settings().governor_table_name == estate.governor_table
    assert replace(runtime.settings(), topic_arn="").topic_arn == ""
