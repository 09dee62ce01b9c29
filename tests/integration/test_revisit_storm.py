"""Held back is not dropped: an alarm storm repaired in waves by the verifier's revisit, told in one digest.

The governor table is on dynalite (atomic conditional writes); the estate — an Auto Scaling group of
40 instances, their CPU alarms in CloudWatch, the notification topic — is on moto. moto gaps covered
here: ``set_alarm_state`` emits no EventBridge event, so the test delivers the alarm's events itself
(real-shaped, tests/events) after setting the state DescribeAlarms will read; notices are recorded by
a Notifier that keeps them (SNS delivery is covered by test_remediator_handlers.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from local_infra import AMI, Clock, alarm, enabled_catalog

from chalicelib.adapters.clients import Clients
from chalicelib.adapters.executor import Executor
from chalicelib.adapters.facts import RunbookPlanner
from chalicelib.adapters.governor_store import GovernorStore
from chalicelib.adapters.settings import Settings
from chalicelib.adapters.signals import SignalReader
from chalicelib.core.runbooks.catalog import load_catalog
from chalicelib.events.parse import parse_event
from chalicelib.usecases.remediate import REVISIT_EVERY_MS, Remediate
from tests.dynalite import dynalite_endpoint, dynalite_table  # noqa: F401 - fixtures

if TYPE_CHECKING:
    from chalicelib.core.notices import Notice

pytestmark = pytest.mark.integration
SIZE = 40


@dataclass
class Kept:
    """A Notifier that keeps what it was asked to publish."""

    notices: list[Notice] = field(default_factory=list)

    def publish(self, notice: Notice) -> str:
        self.notices.append(notice)
        return str(len(self.notices))


class NoMetrics:
    def count(self, name: str, value: int = 1) -> None: ...

    def seconds(self, name: str, value: float) -> None: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class Group:
    """The storm's estate: an Auto Scaling group and its instances (nothing else is needed here)."""

    name: str
    instances: list[str]


@pytest.fixture(scope="module")
def estate(moto_endpoint: str) -> Group:
    client = Clients(Settings(endpoint_url=moto_endpoint)).client
    ec2, autoscaling = client("ec2"), client("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    name = f"storm-{uuid.uuid4().hex[:8]}"
    ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": name}, MinSize=SIZE, MaxSize=SIZE,
        DesiredCapacity=SIZE, VPCZoneIdentifier=subnet["SubnetId"],
    )  # fmt: skip
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return Group(name, sorted(i["InstanceId"] for i in group["Instances"]))


def remediator(
    moto_endpoint: str, store: GovernorStore, clock: Clock, kept: Kept, catalog: dict[str, Any]
) -> Remediate:
    clients = Clients(Settings(endpoint_url=moto_endpoint))
    parsed = load_catalog(catalog)
    return Remediate(
        parse_event=parse_event,
        planner=RunbookPlanner(lambda: parsed, clients.client),
        governor=store,
        executor=Executor(clients.client),
        notifier=kept,
        kill_switch=lambda: False,
        metrics=NoMetrics(),
        clock=clock,
        signals=SignalReader(clients.client("cloudwatch")),
    )


def storm_catalog() -> dict[str, Any]:
    document = enabled_catalog()
    for entry in document["runbooks"]:
        if entry["name"] == "ec2-reboot":
            entry["limits"] = {**entry["limits"], "max_in_flight": 10, "max_in_flight_pct": 10.0, "hourly_rate": 100}
    return document


def test_a_storm_over_40_instances_is_repaired_in_waves_of_at_most_4_and_told_once(
    moto_endpoint: str,
    dynalite_table: Any,  # noqa: F811 - the fixture imported above
    estate: Any,
) -> None:
    client, table = dynalite_table
    store, clock, kept = GovernorStore(client, table), Clock(), Kept()
    remediate = remediator(moto_endpoint, store, clock, kept, storm_catalog())
    cloudwatch = Clients(Settings(endpoint_url=moto_endpoint)).client("cloudwatch")
    names = {i: f"storm-cpu-{i}" for i in estate.instances}
    for instance, name in names.items():
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="AWS/EC2", MetricName="CPUUtilization", Statistic="Average",
            Dimensions=[{"Name": "InstanceId", "Value": instance}], Period=60, EvaluationPeriods=3,
            Threshold=90.0, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="storm")
    # GIVEN an alarm storm: every instance of the 40-instance group alarms at once (10 % limit: 4)
    first = [
        remediate.handle(alarm("alarm_ec2_cpu", n, clock(), InstanceId=i))["decisions"][0] for i, n in names.items()
    ]
    assert sorted({d["decision"] for d in first}) == ["act", "suppressed"]
    assert sum(d["decision"] == "act" for d in first) == 4
    repaired: set[str] = {d["target"] for d in first if d["decision"] == "act"}
    peak, waves = 4, 1
    # WHEN each wave heals (its alarms go OK) and the verifier runs on its schedule
    while len(repaired) < SIZE and waves < 20:
        clock.advance(3)
        for instance in [r.resource for r in store.open_actions()]:
            cloudwatch.set_alarm_state(AlarmName=names[instance], StateValue="OK", StateReason="healed")
            remediate.handle(alarm("alarm_ec2_cpu_ok", names[instance], clock(), InstanceId=instance))
        clock.advance(REVISIT_EVERY_MS / 60_000 - 3)
        acted = [d for d in remediate.verify()["decisions"] if d["decision"] == "act"]
        repaired |= {d["target"] for d in acted}
        peak = max(peak, len(store.open_actions()))
        waves += 1
    # THEN all 40 are repaired, in waves, never more than 4 in flight; nothing is left held
    assert repaired == set(estate.instances)
    assert peak == 4 and waves == 10
    assert store.held() == []
    # and people got one digest for the 36 held back, not 36 messages
    digests = [n for n in kept.notices if n.kind == "selfheal.digest"]
    assert len(digests) == 1
    assert "36 ec2-reboot held back by the in-flight limit" in digests[0].description
    assert "next wave" in digests[0].description
    assert sum(n.kind == "selfheal.act" for n in kept.notices) == 40
