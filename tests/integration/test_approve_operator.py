"""The operator's approve / deny as the README shows them (no --json), on a moto estate, in-process;
and what an approved plan does when its target changed: re-read, re-planned, run by the remediator.

Gaps a non-moto part covers: moto runs no Lambda (no Docker), so the deployed path (the CLI invokes
the remediator function) is checked with a botocore Stubber on the Lambda client, and the event it
sends is then delivered to the real handler through chalice.test.Client, as Lambda would.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
import selfheal
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from chalice.test import Client
from local_infra import Clock, Estate, alarm, build_estate, finding

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.invoke import LambdaInvoker
from chalicelib.adapters.settings import Settings
from chalicelib.core.runbooks.ec2_isolate import QUARANTINE_TAG
from chalicelib.usecases.approve import APPROVAL_SOURCE

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

TOKEN = "ghp_" + "S" * 36


class CountingClients(Clients):
    """Clients whose every call is counted by ``service.Operation`` (what this process called)."""

    calls: Counter[str]

    def client(self, service: str) -> Any:
        made = super().client(service)
        made.meta.events.register("before-call.*.*", self._count)
        return made

    def _count(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.split(".", 1)[1]] += 1


@pytest.fixture
def estate(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Estate, list[str], Clock, CountingClients]]:
    estate = build_estate(Clients(Settings(endpoint_url=moto_endpoint)), size=2)
    settings = Settings(
        endpoint_url=moto_endpoint,
        governor_table_name=estate.governor_table,
        topic_arn=estate.topic_arn,
        parameter_prefix=estate.prefix,
    )
    clients = CountingClients(settings)
    clients.calls = Counter()
    clock = Clock(int(time.time() * 1000))  # approvals expire against the operator's real clock
    runtime.use(runtime.Container(settings=settings, clients=clients, clock=clock))
    monkeypatch.setenv("SELFHEAL_TOPIC_ARN", estate.topic_arn)  # the operator's environment names the topic
    options = ["--endpoint-url", moto_endpoint, "--governor-table", estate.governor_table, "--prefix", estate.prefix]
    yield estate, options, clock, clients
    runtime.clear()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = selfheal.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def pending(estate: Estate, clock: Clock, instance: str) -> str:
    import app

    [decision] = app.finding_remediator(finding(instance, clock()), None)["decisions"]
    assert decision["decision"] == "awaiting_approval"
    return str(decision["action_id"])


def groups_of(clients: Clients, instance: str) -> dict[str, list[str]]:
    """Each network interface of the instance → its security groups (moto: the interfaces are the truth)."""
    found = clients.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance]}]
    )["NetworkInterfaces"]
    return {e["NetworkInterfaceId"]: [g["GroupId"] for g in e["Groups"]] for e in found}


def isolate_group(clients: Clients, vpc_of: str) -> str:
    ec2 = clients.client("ec2")
    vpc = ec2.describe_instances(InstanceIds=[vpc_of])["Reservations"][0]["Instances"][0]["VpcId"]
    tagged = ec2.describe_security_groups(
        Filters=[{"Name": f"tag:{QUARANTINE_TAG}", "Values": ["isolate"]}, {"Name": "vpc-id", "Values": [vpc]}]
    )["SecurityGroups"]
    return str(tagged[0]["GroupId"])


def notices(clients: Clients, estate: Estate) -> list[str]:
    answer = clients.sqs.receive_message(QueueUrl=estate.inbox_url, MaxNumberOfMessages=10)
    return [json.loads(json.loads(m["Body"])["Message"])["content"]["title"] for m in answer.get("Messages", [])]


# --- the README's commands, without --json ---------------------------------------------------------


def test_approve_without_json_runs_the_plan_prints_one_line_and_exits_0(estate: Any, capsys: Any) -> None:
    # GIVEN a pending isolation
    estate, options, clock, clients = estate
    suspect = estate.instances[0]
    action_id = pending(estate, clock, suspect)
    # WHEN an operator approves it as the README shows (no --json)
    code, out, err = cli(capsys, "approve", action_id, *options)
    # THEN one line says it was approved (with the plan's digest) and run, exit 0
    assert code == 0 and "selfheal approve" not in err
    assert out.count("\n") == 1 and out.startswith(f"{action_id}: approved plan ") and "and run" in out
    # AND every interface of the suspect is in the isolate group
    isolate = isolate_group(clients, suspect)
    assert set(map(tuple, groups_of(clients, suspect).values())) == {(isolate,)}


def test_deny_without_json_prints_one_line_and_runs_nothing(estate: Any, capsys: Any) -> None:
    estate, options, clock, clients = estate
    action_id = pending(estate, clock, estate.instances[1])
    before = groups_of(clients, estate.instances[1])
    code, out, err = cli(capsys, "deny", action_id, *options)
    assert (code, out) == (0, f"{action_id}: denied\n") and "selfheal deny" not in err
    assert groups_of(clients, estate.instances[1]) == before


def test_approve_with_another_digest_is_refused_and_runs_nothing(estate: Any, capsys: Any) -> None:
    estate, options, clock, clients = estate
    action_id = pending(estate, clock, estate.instances[0])
    before = groups_of(clients, estate.instances[0])
    digest = runtime.governor().get(action_id).digest
    code, _, err = cli(capsys, "approve", action_id, "--digest", "0" * 12, *options)
    assert code == 2 and f"its plan is {digest[:12]}" in err and groups_of(clients, estate.instances[0]) == before
    assert runtime.governor().get(action_id).outcome == ""  # still pending
    # AND with the digest the notice showed it runs; --json shows the digest approved
    code, out, _ = cli(capsys, "approve", action_id, "--digest", digest[:12], "--json", *options)
    doc = json.loads(out)
    assert code == 0 and doc["decision"] == "approved" and doc["digest"] == digest


def test_a_stored_plan_rewritten_with_its_digest_is_refused_by_the_fresh_plan(estate: Any, capsys: Any) -> None:
    # GIVEN a pending isolation whose stored calls AND digest someone with table access rewrote
    estate, options, clock, clients = estate
    suspect = estate.instances[0]
    action_id = pending(estate, clock, suspect)
    record = runtime.governor().get(action_id)
    calls = [dict(c) for c in record.calls]
    calls[-1] = {**calls[-1], "params": {**calls[-1]["params"], "Groups": ["sg-attacker"]}}
    forged = dataclasses.replace(record, calls=tuple(calls)).plan().digest()
    clients.dynamodb.update_item(
        TableName=estate.governor_table,
        Key={"pk": {"S": f"action#{action_id}"}, "sk": {"S": "action"}},
        UpdateExpression="SET calls_json = :c, digest = :d",
        ExpressionAttributeValues={":c": {"S": json.dumps(calls)}, ":d": {"S": forged}},
    )
    before = groups_of(clients, suspect)
    # WHEN approved, THEN the plan made from fresh reads is not the forged one: nothing runs
    code, out, _ = cli(capsys, "approve", action_id, *options)
    assert code == 2 and "not run: the target changed" in out
    assert groups_of(clients, suspect) == before


# --- short ids ----------------------------------------------------------------------------------


def test_a_unique_prefix_of_an_action_id_approves_and_shows_it(estate: Any, capsys: Any) -> None:
    estate, options, clock, _ = estate
    action_id = pending(estate, clock, estate.instances[0])
    # WHEN approved by the 12 characters the `actions` table shows
    code, out, _ = cli(capsys, "approve", action_id[:12], *options)
    assert code == 0 and out.startswith(f"{action_id}: approved")
    # THEN `actions show` takes the exact id, and a prefix that now names two records is refused
    code, out, _ = cli(capsys, "actions", "show", action_id, "--json", *options)
    assert code == 0 and json.loads(out)["action_id"] == action_id
    code, out, err = cli(capsys, "actions", "show", action_id[:12], *options)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "ambiguous" in err and action_id in err and f"{action_id}.approved" in err
    code, out, _ = cli(capsys, "actions", "show", f"{action_id}.appr", "--json", *options)
    assert code == 0 and json.loads(out)["approval_of"] == action_id


def test_an_unknown_prefix_is_refused_in_one_line(estate: Any, capsys: Any) -> None:
    _, options, _, _ = estate
    for command in (("approve", "zz"), ("deny", "zz"), ("actions", "show", "zz")):
        code, _, err = cli(capsys, *command, *options)
        assert code == 2 and err.count("\n") == 1 and "no action zz" in err


# --- the approved plan re-reads its target -----------------------------------------------------------


def test_an_interface_attached_after_the_finding_is_isolated_too(estate: Any, capsys: Any) -> None:
    # GIVEN a pending isolation, then a second interface attached to the suspect
    estate, options, clock, clients = estate
    suspect = estate.instances[0]
    action_id = pending(estate, clock, suspect)
    ec2 = clients.client("ec2")
    subnet = ec2.describe_instances(InstanceIds=[suspect])["Reservations"][0]["Instances"][0]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=suspect, DeviceIndex=1)
    # WHEN approved
    code, out, _ = cli(capsys, "approve", action_id, "--json", *options)
    # THEN the new interface is in the isolate group too, and the decision says what the re-read added
    doc = json.loads(out)
    assert code == 0 and doc["decision"] == "approved" and eni in doc["reason"]
    isolate = isolate_group(clients, suspect)
    assert groups_of(clients, suspect)[eni] == [isolate]
    assert set(map(tuple, groups_of(clients, suspect).values())) == {(isolate,)}
    [approved] = [r for r in runtime.governor().actions(resource=suspect) if r.decision == "approved"]
    assert approved.after["ran_digest"] != approved.digest and "attached since" in approved.after["change"]


def test_a_target_whose_quarantine_changed_is_refused_with_why_and_a_notice(estate: Any, capsys: Any) -> None:
    # GIVEN a pending isolation, then the VPC's quarantine groups replaced by others
    estate, options, clock, clients = estate
    suspect = estate.instances[0]
    action_id = pending(estate, clock, suspect)
    ec2 = clients.client("ec2")
    old = isolate_group(clients, suspect)
    vpc = ec2.describe_security_groups(GroupIds=[old])["SecurityGroups"][0]["VpcId"]
    for group in ec2.describe_security_groups(Filters=[{"Name": "tag-key", "Values": [QUARANTINE_TAG]}])[
        "SecurityGroups"
    ]:
        ec2.delete_tags(Resources=[group["GroupId"]], Tags=[{"Key": QUARANTINE_TAG}])
    from local_infra import quarantine_groups

    quarantine_groups(ec2, vpc)
    before = groups_of(clients, suspect)
    clients.calls.clear()
    # WHEN approved
    code, out, err = cli(capsys, "approve", action_id, *options)
    # THEN nothing changed, the CLI says why (exit 2), the action is failed, and people are told
    assert code == 2 and "not run: the target changed since the plan was approved" in out
    assert not any(op.endswith("ModifyNetworkInterfaceAttribute") for op in clients.calls)
    assert groups_of(clients, suspect) == before
    [approved] = [r for r in runtime.governor().actions(resource=suspect) if r.decision == "approved"]
    assert approved.outcome == "failed" and not approved.open
    assert any("failed" in t for t in notices(clients, estate))


def test_an_instance_without_the_opt_in_tag_is_not_isolated_even_when_approved(estate: Any, capsys: Any) -> None:
    # GIVEN a finding about an instance that does not carry selfheal=enabled
    estate, options, clock, clients = estate
    suspect = estate.instances[1]
    clients.client("ec2").delete_tags(Resources=[suspect], Tags=[{"Key": "selfheal"}])
    action_id = pending(estate, clock, suspect)
    before = groups_of(clients, suspect)
    clients.calls.clear()
    # WHEN approved
    code, out, _ = cli(capsys, "approve", action_id, *options)
    # THEN refused before any mutating call, with why
    assert code == 2 and "does not carry the tag selfheal=enabled" in out
    made = {op for op in clients.calls if op.split(".")[0] in ("ec2", "autoscaling")}
    assert made <= {"ec2.DescribeInstances", "ec2.DescribeInstanceAttribute", "ec2.DescribeSecurityGroups",
                    "autoscaling.DescribeAutoScalingInstances"}  # fmt: skip
    assert groups_of(clients, suspect) == before


def test_the_kill_switch_turned_on_before_the_remediator_runs_stops_the_plan(estate: Any) -> None:
    # GIVEN an approval recorded while the switch was off, and the switch turned on before the run
    estate, _, clock, clients = estate
    suspect = estate.instances[1]
    action_id = pending(estate, clock, suspect)
    before = groups_of(clients, suspect)

    def late_switch(event: dict[str, Any]) -> dict[str, Any]:
        runtime.runbook_config().set_kill_switch(True)
        return runtime.approvals().carry_out(event)

    runtime.override(approval_runner=late_switch)
    # WHEN the remediator carries it out, THEN nothing runs and the action fails with why
    result = runtime.approvals().approve(action_id)
    assert (result["decision"], result["reason"]) == ("failed", "not run: the kill switch is on")
    assert groups_of(clients, suspect) == before


# --- deployed: the remediator function runs the plan, not the operator ----------------------------


def test_deployed_approve_invokes_the_remediator_and_makes_no_ec2_call_itself(estate: Any) -> None:
    # GIVEN a pending isolation and the operator's approve wired to Lambda (Stubber: moto runs no Lambda)
    estate, _, clock, clients = estate
    import app

    suspect = estate.instances[0]
    action_id = pending(estate, clock, suspect)
    lam = clients.client("lambda")
    stubber = Stubber(lam)
    sent: list[dict[str, Any]] = []
    with Client(app.app) as chalice:

        def deliver(event: dict[str, Any]) -> dict[str, Any]:
            # what the deployed function does with the payload the stub received
            answer = chalice.lambda_.invoke("finding_remediator", event).payload
            body = json.dumps(answer).encode()
            stubber.add_response(
                "invoke",
                {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))},
                {"FunctionName": "selfheal-prod-finding_remediator", "InvocationType": "RequestResponse",
                 "Payload": ANY},
            )  # fmt: skip
            sent.append(event)
            return LambdaInvoker(lam).invoke("selfheal-prod-finding_remediator", event)

        runtime.override(approval_runner=deliver)
        operator_calls_before = Counter(clients.calls)
        with stubber:
            result = runtime.approvals().approve(action_id)
    # THEN one approval event went to the finding remediator, and the plan ran there
    assert [e["source"] for e in sent] == [APPROVAL_SOURCE]
    assert sent[0]["detail"]["action_id"] == f"{action_id}.approved"
    assert result["decision"] == "approved"
    isolate = isolate_group(clients, suspect)
    assert set(map(tuple, groups_of(clients, suspect).values())) == {(isolate,)}
    assert operator_calls_before  # the counter saw the set-up


def test_lambda_invoker_reports_the_functions_error(estate: Any) -> None:
    _, _, _, clients = estate
    lam = clients.client("lambda")
    body = json.dumps({"errorMessage": "Refused: approved action x already ran", "errorType": "Refused"}).encode()
    with Stubber(lam) as stubber:
        stubber.add_response(
            "invoke", {"StatusCode": 200, "FunctionError": "Unhandled",
                       "Payload": StreamingBody(io.BytesIO(body), len(body))},
        )  # fmt: skip
        with pytest.raises(Exception, match="already ran"):
            LambdaInvoker(lam).invoke("selfheal-dev-finding_remediator", {"source": APPROVAL_SOURCE})


# --- redaction of what the operator reads --------------------------------------------------------


def test_actions_json_and_show_redact_a_token_in_an_alarm_name(estate: Any, capsys: Any) -> None:
    estate, options, clock, _ = estate
    import app

    app.alarm_remediator(alarm("alarm_ec2_cpu", f"cpu {TOKEN}", clock()), None)  # no dimensions: escalates
    code, out, _ = cli(capsys, "actions", "--json", *options)
    assert code == 0 and json.loads(out)["actions"] and TOKEN not in out
    [record] = json.loads(out)["actions"]
    code, shown, _ = cli(capsys, "actions", "show", record["action_id"], *options)
    assert code == 0 and TOKEN not in shown
    code, table, _ = cli(capsys, "actions", *options)
    assert TOKEN[:20] not in table


def test_audit_records_at_rest_hold_no_token_from_an_alarm_name(estate: Any) -> None:
    estate, _, clock, clients = estate
    import app

    app.alarm_remediator(alarm("alarm_ec2_cpu", f"cpu {TOKEN}", clock()), None)
    app.alarm_remediator(alarm("alarm_ec2_cpu", f"cpu {TOKEN}", clock() + 1, InstanceId=estate.instances[0]), None)
    items = clients.dynamodb.scan(TableName=estate.governor_table)["Items"]
    assert [i for i in items if i["sk"]["S"] == "action"]  # the decisions are audited
    assert TOKEN not in json.dumps(items)
