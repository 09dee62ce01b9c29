"""`selfheal local --infra`: one scripted incident through the real remediator handlers, on one machine.

An embedded moto server (or ``--endpoint-url``) holds a small estate — an Auto Scaling group of EC2
instances with quarantine security groups, an ECS service, a Lambda function with versions and an
alias, the governor table, the notification topic with a queue subscribed to it — and the catalog
with every runbook enabled; for the layer steps (8-12) a second small group, a host with a data
volume, an RDS instance, a flag parameter, a Route 53 health check and a target group (``Layers``).
The incident's EventBridge events are sent to app.py's handlers (moto cannot deliver EventBridge
events to a Lambda), with a clock the script moves forward so that cooldowns, attempt windows and
verification deadlines pass in seconds:

 1. a CPU alarm on one instance: the instance is rebooted; the same event again is a duplicate
 2. it flaps: OK (healed), ALARM again inside the cooldown (suppressed)
 3. it needs the same repair twice more: the second acts, the third escalates and pauses it
 4. an alarm storm over the whole group: the blast radius lets 10 % of it be repaired at once; the
    rest is held back, told in one digest, and the verifier repairs the next wave once the first healed
 5. a memory alarm on an ECS service that is still rolling out: the runbook stands down
 6. a GuardDuty finding on an instance: isolation waits for approval, then an operator approves it
 7. a Lambda error-rate alarm on an alias: the alias goes back to the previous version
 8. infrastructure: an EC2 instance check fails on a member of a second group: it is marked Unhealthy
    (the group replaces it; selfheal never terminates), OK heals it; an EBS volume's stalled-I/O
    alarm: a snapshot first (a redelivery is a duplicate); AWS Health then reports the volume lost:
    escalated naming that snapshot; the second group reads below its minimum: escalated with its sizes
 9. platform: the application's DB connection-failure alarm: the RDS reboot awaits approval; RDS
    events: a completed Multi-AZ failover is audited only (stand-down), low storage escalates with
    the instance's storage figures
10. application: CloudWatch agent memory on a host: the service the catalog names is restarted with
    SSM Run Command, OK heals it; a circuit-breaker alarm sets the tagged flag parameter to "off",
    OK heals it
11. data: a failed AWS Backup job: planned without AWS (moto has no Backup jobs): one new job, shown
    as a dry run; RDS asks for a point-in-time restore: restoring beside the original awaits
    approval, then an operator approves it
12. network: a Route 53 health-check alarm and a load balancer's unhealthy-host alarm: both notify-only
    runbooks read the state first (moto's checkers and targets always report healthy: they stand down)
13. the verifier runs after the deadlines: the restored database reads available (healed); actions
    that never healed escalate

The document ends with the incident's healing statistics (``stats``: `runbooks stats --json` over
the run's days, as ``runbooks stats --local --until <its last day>`` prints them afterwards).

The events are the real-shaped samples of ``tests/events`` with this estate's ids put in.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_stack import local_aws
from stats_cli import healing_stats

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.governor_store import TTL_ATTRIBUTE, table_definition
from chalicelib.adapters.runbook_config import CATALOG, KILL_SWITCH
from chalicelib.adapters.settings import Settings
from chalicelib.core.governor import State, decide, in_flight_limit
from chalicelib.core.runbooks import plan_for
from chalicelib.core.runbooks.catalog import DEFAULT_DOCUMENT, load_catalog
from chalicelib.core.runbooks.ec2_isolate import QUARANTINE_TAG
from chalicelib.events.parse import parse_event

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.core.heal_stats import HealStats

EVENTS = Path(__file__).resolve().parent.parent / "tests" / "events"
AMI = "ami-760aaa0f"  # moto's bundled Amazon Linux image
FLEET_SIZE = 10
START_MS = 1_795_000_000_000  # a fixed start: the run is the same every time
MINUTE_MS = 60_000
# The decisions that open an action (in flight until healed, failed or escalated).
OPENS = ("act", "approved")
STATS_WINDOW_S = 7 * 86_400  # the stats the run ends with: its days (it lasts about 25 h)


class Clock:
    """The remediators' clock: epoch milliseconds the script moves forward."""

    def __init__(self, now_ms: int = START_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, minutes: float) -> None:
        self.now_ms += int(minutes * MINUTE_MS)


@dataclass
class Estate:
    """What the incident happens to, by id."""

    group: str
    instances: list[str]
    cluster: str
    service: str
    function: str
    topic_arn: str
    inbox_url: str
    governor_table: str
    prefix: str


@dataclass
class Incident:
    """What the run saw: every decision, the notifications, the in-flight peaks per fleet."""

    decisions: list[dict[str, Any]] = field(default_factory=list)
    notifications: int = 0
    peaks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    limits: dict[str, int] = field(default_factory=dict)
    healing: HealStats | None = None  # `runbooks stats` over the run's days
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (step, decision), in order

    def summary(self) -> dict[str, Any]:
        """The `local --infra --json` document (contract)."""
        keys = ("runbook", "target", "decision", "reason")
        return {
            "decisions": [{k: d.get(k) for k in keys} for d in self.decisions],
            "notifications": self.notifications,
            "escalations": sum(d["decision"] == "escalate" for d in self.decisions),
            "in_flight": {
                fleet: {"peak": peak, "limit": self.limits.get(fleet, 1)} for fleet, peak in self.peaks.items()
            },
            "stats": self.healing.as_json() if self.healing is not None else {},
        }


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def enabled_catalog() -> dict[str, Any]:
    """The default catalog with every runbook enabled (isolation still awaits approval)."""
    return {"runbooks": [{**entry, "dry_run": False} for entry in DEFAULT_DOCUMENT["runbooks"]]}


def build_estate(clients: Clients, size: int = FLEET_SIZE) -> Estate:
    """Create the estate and selfheal's own resources on the endpoint ``clients`` points at."""
    client = clients.client
    ec2, autoscaling = client("ec2"), client("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    template = _unique("web")
    ec2.create_launch_template(
        LaunchTemplateName=template, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"}
    )
    group = _unique("web-asg")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group,
        LaunchTemplate={"LaunchTemplateName": template},
        MinSize=size,
        MaxSize=size + 2,
        DesiredCapacity=size,
        VPCZoneIdentifier=subnet["SubnetId"],
    )
    members = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
    instances = sorted(i["InstanceId"] for i in members["Instances"])
    # Opted in, as terraform's runbook_target_tag requires (IAM, and the approval's own check).
    ec2.create_tags(Resources=instances, Tags=[{"Key": "selfheal", "Value": "enabled"}])
    quarantine_groups(ec2, vpc)
    cluster, service = ecs_service(client("ecs"))
    function = lambda_function(client("iam"), client("lambda"))
    topic_arn, inbox_url = topic_with_inbox(client("sns"), clients.sqs)
    governor_table = _unique("selfheal-governor")
    clients.dynamodb.create_table(**table_definition(governor_table))
    clients.dynamodb.update_time_to_live(
        TableName=governor_table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    prefix = f"/{_unique('selfheal-local')}/"
    clients.ssm.put_parameter(Name=prefix + CATALOG, Value=json.dumps(enabled_catalog()), Type="String")
    # As Terraform creates it: off. An absent switch reads as on (fail safe).
    clients.ssm.put_parameter(Name=prefix + KILL_SWITCH, Value="off", Type="String")
    return Estate(group, instances, cluster, service, function, topic_arn, inbox_url, governor_table, prefix)


def quarantine_groups(ec2: Any, vpc: str) -> tuple[str, str]:
    """ec2-isolate's two groups in ``vpc``: allow-all (flows become untracked), then empty."""
    ids = []
    for role in ("untrack", "isolate"):
        group = ec2.create_security_group(GroupName=_unique(f"quarantine-{role}"), Description=role, VpcId=vpc)
        ec2.create_tags(Resources=[group["GroupId"]], Tags=[{"Key": QUARANTINE_TAG, "Value": role}])
        ids.append(group["GroupId"])
    untrack, isolate = ids
    everything = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=untrack, IpPermissions=everything)
    ec2.revoke_security_group_egress(GroupId=isolate, IpPermissions=everything)
    return untrack, isolate


def ecs_service(ecs: Any, desired: int = 2) -> tuple[str, str]:
    """A cluster and a service (moto never starts tasks: with desired tasks it stays IN_PROGRESS)."""
    cluster, service = _unique("prod"), _unique("orders")
    ecs.create_cluster(clusterName=cluster)
    family = ecs.register_task_definition(
        family=service, containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=family, desiredCount=desired)
    return cluster, service


def lambda_function(iam: Any, lam: Any) -> str:
    """A function with versions 1-3 and an alias ``live`` on version 3."""
    role = iam.create_role(RoleName=_unique("fn-role"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = _unique("orders")

    def code(body: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", body)
        return buffer.getvalue()

    lam.create_function(
        FunctionName=function,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code("def handler(e, c): return 1\n")},
        Publish=True,
    )
    for n in (2, 3):
        lam.update_function_code(FunctionName=function, ZipFile=code(f"def handler(e, c): return {n}\n"))
        lam.publish_version(FunctionName=function)
    lam.create_alias(FunctionName=function, Name="live", FunctionVersion="3")
    return function


def topic_with_inbox(sns: Any, sqs: Any) -> tuple[str, str]:
    """The notification topic and a queue subscribed to it, to read what was published."""
    name = _unique("selfheal-notifications")
    topic = sns.create_topic(Name=name)["TopicArn"]
    inbox = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, inbox


@dataclass(frozen=True)
class Layers:
    """What the layer steps (8-12) happen to, by id: a second small Auto Scaling group, a host with a
    data volume, an RDS instance, a flag parameter, a Route 53 health check and a target group."""

    group: str
    members: list[str]
    host: str
    volume: str
    database: str
    flag: str
    health_check: str
    target_group: str  # its ARN


# The catalog's names for the application runbooks (a catalog names them; the defaults name none).
SERVICE = "orders-api.service"
FLAG_VALUE = "off"
OPT_IN = [{"Key": "selfheal", "Value": "enabled"}]


def build_layers(clients: Clients, estate: Estate) -> Layers:
    """Create the layer steps' resources beside ``estate`` and name the flag and the service in its catalog."""
    client = clients.client
    ec2, autoscaling = client("ec2"), client("autoscaling")
    main = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[estate.group])["AutoScalingGroups"][0]
    subnet = main["VPCZoneIdentifier"].split(",")[0]
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    group = _unique("batch-asg")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group, LaunchTemplate={"LaunchTemplateName": main["LaunchTemplate"]["LaunchTemplateName"]},
        MinSize=2, MaxSize=3, DesiredCapacity=2,
        VPCZoneIdentifier=subnet,
    )  # fmt: skip
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
    members = sorted(i["InstanceId"] for i in found["Instances"])
    host = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a", VolumeType="gp3")["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=host, Device="/dev/sdf")
    ec2.create_tags(Resources=[*members, host, volume], Tags=OPT_IN)
    database = _unique("orders-db")
    client("rds").create_db_instance(
        DBInstanceIdentifier=database, Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20,
        MasterUsername="orders", MasterUserPassword=uuid.uuid4().hex, BackupRetentionPeriod=7, Tags=OPT_IN,
    )  # fmt: skip
    flag = f"/{_unique('orders')}/flags/recommendations"
    clients.ssm.put_parameter(Name=flag, Value="on", Type="String", Tags=OPT_IN)
    config = {"Type": "HTTPS", "FullyQualifiedDomainName": "api.example.com", "Port": 443, "ResourcePath": "/health"}
    route53 = client("route53")
    check = route53.create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig=config)["HealthCheck"]["Id"]
    elbv2 = client("elbv2")
    target_group = elbv2.create_target_group(Name=_unique("web"), Protocol="HTTP", Port=80, VpcId=vpc)
    arn = target_group["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": i, "Port": 80} for i in members])
    clients.ssm.put_parameter(
        Name=estate.prefix + CATALOG, Value=json.dumps(layers_catalog(flag)), Type="String", Overwrite=True
    )
    return Layers(group, members, host, volume, database, flag, check, arn)


def layers_catalog(flag: str) -> dict[str, Any]:
    """``enabled_catalog`` with the service memory-restart restarts and the flag flag-switch sets."""
    doc = enabled_catalog()
    named = {"memory-restart": {"service": SERVICE}, "flag-switch": {"parameter": flag, "value": FLAG_VALUE}}
    for entry in doc["runbooks"]:
        entry["params"] = {**entry.get("params", {}), **named.get(entry["name"], {})}
    return doc


# --- the events --------------------------------------------------------------------------------


def _sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms / 1000)) + f".{epoch_ms % 1000:03d}+0000"


def alarm(sample: str, name: str, now_ms: int, **dimensions: str) -> dict[str, Any]:
    """A sample alarm event for alarm ``name`` on ``dimensions``, changing state at ``now_ms``."""
    raw = _sample(sample)
    arn = f"arn:aws:cloudwatch:{raw['region']}:{raw['account']}:alarm:{name}"
    raw["id"] = str(uuid.uuid4())
    raw["resources"] = [arn]
    raw["detail"]["alarmName"] = name
    raw["detail"]["state"]["timestamp"] = _iso(now_ms)
    raw["time"] = _iso(now_ms)[:19] + "Z"
    for metric in raw["detail"]["configuration"]["metrics"]:
        if "metricStat" in metric:
            metric["metricStat"]["metric"]["dimensions"] = dict(dimensions)
    return raw


def finding(instance: str, now_ms: int) -> dict[str, Any]:
    """A GuardDuty command-and-control finding about ``instance``."""
    raw = _sample("guardduty_cc_activity_b")
    raw["id"] = str(uuid.uuid4())
    raw["detail"]["id"] = uuid.uuid4().hex
    raw["detail"]["resource"]["instanceDetails"]["instanceId"] = instance
    raw["detail"]["resource"]["instanceDetails"]["tags"] = [{"key": "selfheal", "value": "enabled"}]
    raw["time"] = _iso(now_ms)[:19] + "Z"
    return raw


def back_to_ok(raw: dict[str, Any]) -> dict[str, Any]:
    """The same alarm returning to OK (an alarm event sampled in ALARM)."""
    raw["detail"]["state"]["value"], raw["detail"]["previousState"]["value"] = "OK", "ALARM"
    return raw


def rds_event(sample: str, database: str, now_ms: int) -> dict[str, Any]:
    """A sample RDS DB instance event about ``database`` at ``now_ms``."""
    raw = _sample(sample)
    arn = f"arn:aws:rds:{raw['region']}:{raw['account']}:db:{database}"
    raw["id"], raw["resources"], raw["time"] = str(uuid.uuid4()), [arn], _iso(now_ms)[:19] + "Z"
    raw["detail"].update(SourceIdentifier=database, SourceArn=arn, Date=_iso(now_ms)[:23] + "Z")
    return raw


def health_event(sample: str, volume: str, now_ms: int) -> dict[str, Any]:
    """A sample AWS Health event about one EBS ``volume``."""
    raw = _sample(sample)
    raw["id"], raw["resources"], raw["time"] = str(uuid.uuid4()), [volume], _iso(now_ms)[:19] + "Z"
    raw["detail"]["affectedEntities"][0]["entityValue"] = volume
    return raw


def backup_event(volume: str, now_ms: int) -> dict[str, Any]:
    """A sample failed AWS Backup job of ``volume``."""
    raw = _sample("backup_retry/failed")
    raw["id"], raw["time"] = str(uuid.uuid4()), _iso(now_ms)[:19] + "Z"
    raw["detail"]["resourceArn"] = f"arn:aws:ec2:{raw['region']}:{raw['account']}:volume/{volume}"
    raw["detail"]["backupJobId"] = str(uuid.uuid4())
    return raw


# --- the run -----------------------------------------------------------------------------------


class Incidents:
    """Sends events to app.py's handlers and keeps what happened."""

    def __init__(self, clients: Clients, estate: Estate, clock: Clock, say: Callable[[str], None]) -> None:
        import app  # the deployed handlers, in-process

        self._app = app
        self._clients = clients
        self._estate = estate
        self._clock = clock
        self._say = say
        self.seen = Incident()
        limits = {e.name: e.limits for e in load_catalog(enabled_catalog())}
        self._fleet_limits = {f"asg:{estate.group}": in_flight_limit(limits["ec2-reboot"], len(estate.instances))}

    def send(self, handler: str, event: dict[str, Any], what: str) -> list[dict[str, Any]]:
        """Deliver ``event`` to the named remediator handler, as EventBridge would."""
        answer = getattr(self._app, handler)(event, None)
        return self._keep(answer["decisions"], what)

    def verify(self, what: str) -> list[dict[str, Any]]:
        """Run the verifier as its schedule would (an EventBridge Scheduled Event)."""
        tick = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": _iso(self._clock())[:19] + "Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/selfheal-local-remediation_verifier"],
            "detail": {},
        }
        return self._keep(self._app.remediation_verifier(tick, None)["decisions"], what)

    def alarm_state(self, name: str, instance: str, state: str) -> None:
        """Put the alarm in CloudWatch (the verifier reads its state before deciding held work again)."""
        cloudwatch = self._clients.client("cloudwatch")
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="AWS/EC2", MetricName="CPUUtilization", Statistic="Average", Period=60,
            EvaluationPeriods=3, Threshold=90.0, ComparisonOperator="GreaterThanThreshold",
            Dimensions=[{"Name": "InstanceId", "Value": instance}],
        )  # fmt: skip
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="local --infra")

    def approve(self, action_id: str, what: str) -> list[dict[str, Any]]:
        return self._keep([runtime.approvals().approve(action_id)], what)

    def plan_offline(self, event: dict[str, Any], what: str) -> list[dict[str, Any]]:
        """Decide ``event`` as `runbooks plan` does — parse, match, plan without reads, the governor's
        rules on an empty state — with the runbook in dry-run: for a service the endpoint lacks
        (moto has no AWS Backup jobs), what the event remediator would do, nothing run or recorded."""
        catalog = load_catalog(json.loads(self._clients.ssm.get_parameter(Name=self._estate.prefix + CATALOG)
                                          ["Parameter"]["Value"]))  # fmt: skip
        decisions = []
        for incident in parse_event(event).incidents():
            planned = plan_for(catalog, incident)
            limits = replace(planned.entry.limits, dry_run=True) if planned.entry else None
            verdict = decide(planned.incident, planned.plan, limits, State(), self._clock())
            plan = planned.plan
            calls = "; ".join(f"{c.service}.{c.operation}({_params(c.params)})" for c in plan.calls) if plan else ""
            decisions.append({
                "runbook": planned.entry.name if planned.entry else None,
                "target": plan.target.id if plan is not None and plan.target is not None else None,
                "decision": str(verdict.decision),
                "rule": "offline",
                "reason": f"planned without AWS (the endpoint has no {incident.source} jobs): {verdict.reason}"
                + (f"; would call {calls}" if calls else ""),
            })  # fmt: skip
        return self._keep(decisions, what)

    def _keep(self, decisions: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
        for d in decisions:
            self._say(f"{what}: {d['decision']} ({d['rule']}) {d['runbook'] or '-'} {d['target'] or '-'}")
        self.seen.decisions.extend(decisions)
        self.seen.steps.extend((what, d) for d in decisions)
        if any(d["decision"] in OPENS for d in decisions):
            self._measure()
        return decisions

    def _measure(self) -> None:
        """The actions in flight now, per fleet (open acted or approved actions), and their peak: read
        after the decisions that open one (``OPENS``), the only ones after which the count can grow."""
        now: Counter[str] = Counter(r.fleet for r in runtime.governor().actions(limit=1000) if r.open and r.fleet)
        for fleet, count in now.items():
            self.seen.peaks[fleet] = max(self.seen.peaks[fleet], count)
            self.seen.limits.setdefault(fleet, self._fleet_limits.get(fleet, 1))

    def notifications(self) -> int:
        """How many messages reached the queue subscribed to the topic."""
        count, sqs = 0, self._clients.sqs
        while True:
            answer = sqs.receive_message(QueueUrl=self._estate.inbox_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return count
            count += len(messages)
            for m in messages:
                sqs.delete_message(QueueUrl=self._estate.inbox_url, ReceiptHandle=m["ReceiptHandle"])


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def script(run: Incidents, estate: Estate, clock: Clock, layers: Layers | None = None) -> None:
    """The incident, step by step (module docstring)."""
    first, *others = estate.instances
    cpu = f"web-cpu-high-{first}"

    def cpu_alarm(name: str, instance: str, state: str = "ALARM") -> dict[str, Any]:
        sample = "alarm_ec2_cpu" if state == "ALARM" else "alarm_ec2_cpu_ok"
        return alarm(sample, name, clock(), InstanceId=instance)

    event = cpu_alarm(cpu, first)
    run.send("alarm_remediator", event, "1 CPU alarm")
    run.send("alarm_remediator", event, "1 the same event, delivered again")
    clock.advance(5)
    run.send("alarm_remediator", cpu_alarm(cpu, first, "OK"), "2 back to OK")
    clock.advance(1)
    run.send("alarm_remediator", cpu_alarm(cpu, first), "2 flaps back to ALARM")
    clock.advance(31)
    run.send("alarm_remediator", cpu_alarm(cpu, first), "3 ALARM after the cooldown")
    clock.advance(5)
    run.send("alarm_remediator", cpu_alarm(cpu, first, "OK"), "3 back to OK")
    clock.advance(31)
    run.send("alarm_remediator", cpu_alarm(cpu, first), "3 ALARM a third time")
    clock.advance(1)
    for i in others:
        run.alarm_state(f"web-cpu-high-{i}", i, "ALARM")
    storm = [cpu_alarm(f"web-cpu-high-{i}", i) for i in others]
    acted = [d for e in storm for d in run.send("alarm_remediator", e, "4 storm") if d["decision"] == "act"]
    for wave in ("4 storm heals", "4 the next wave heals"):
        clock.advance(5)
        for d in acted:
            run.alarm_state(f"web-cpu-high-{d['target']}", d["target"], "OK")
            run.send("alarm_remediator", cpu_alarm(f"web-cpu-high-{d['target']}", d["target"], "OK"), wave)
        if wave == "4 storm heals":
            acted = [d for d in run.verify("4 the verifier decides held work again") if d["decision"] == "act"]
    memory = alarm("alarm_ecs_memory", "orders-memory-high", clock(), ClusterName=estate.cluster,
                   ServiceName=estate.service)  # fmt: skip
    run.send("alarm_remediator", memory, "5 ECS memory alarm")
    suspect = others[-1]
    [pending] = run.send("finding_remediator", finding(suspect, clock()), "6 GuardDuty finding")
    clock.advance(10)
    if pending["decision"] == "awaiting_approval":
        run.approve(pending["action_id"], "6 an operator approves")
    errors = alarm(
        "alarm_lambda_errors_alias",
        f"{estate.function}-errors",
        clock(),
        FunctionName=estate.function,
        Resource=f"{estate.function}:live",
    )
    run.send("alarm_remediator", errors, "7 Lambda error rate on the alias")
    if layers is not None:
        layer_steps(run, layers, clock)
    clock.advance(24 * 60)
    run.verify("13 the verifier, after the deadlines")


def layer_steps(run: Incidents, layers: Layers, clock: Clock) -> None:
    """Steps 8-12: one step per healing layer, each a real-shaped event through the handler that
    receives it in AWS (module docstring)."""
    member, host, db = layers.members[0], layers.host, layers.database
    # 8 infrastructure
    check = f"{member}-instance-check-failed"
    run.send("alarm_remediator", alarm("ec2_status_check/instance", check, clock(), InstanceId=member),
             "8 EC2 instance check failed on a group member")  # fmt: skip
    clock.advance(5)
    run.send("alarm_remediator", back_to_ok(alarm("ec2_status_check/instance", check, clock(), InstanceId=member)),
             "8 the replaced member's check is OK")  # fmt: skip
    stalled = alarm("ebs_volume/stalled_io", f"{layers.volume}-stalled-io", clock(), VolumeId=layers.volume)
    run.send("alarm_remediator", stalled, "8 EBS volume stalled I/O")
    run.send("alarm_remediator", stalled, "8 the same event, delivered again")
    clock.advance(2)
    run.send("health_remediator", health_event("ebs_volume/lost", layers.volume, clock()), "8 AWS Health: volume lost")
    # moto keeps every desired instance in service: one member goes to Standby with the desired
    # capacity lowered below the minimum, so the group reads below its minimum (AWS would refuse that call).
    client = runtime.clients().client("autoscaling")
    client.enter_standby(AutoScalingGroupName=layers.group, InstanceIds=[layers.members[-1]],
                         ShouldDecrementDesiredCapacity=True)  # fmt: skip
    capacity = alarm("asg_capacity/below_minimum", f"{layers.group}-in-service-low", clock(),
                     AutoScalingGroupName=layers.group)  # fmt: skip
    run.send("alarm_remediator", capacity, "8 Auto Scaling group below its minimum")
    clock.advance(2)
    # 9 platform
    failures = alarm("rds_reboot/connection_failures", "orders-db-connection-failures", clock(),
                     DBInstanceIdentifier=db)  # fmt: skip
    run.send("alarm_remediator", failures, "9 DB connection failures")
    run.send("event_remediator", rds_event("rds_event/failover_completed", db, clock()), "9 RDS failover completed")
    clock.advance(1)
    run.send("event_remediator", rds_event("rds_event/low_storage", db, clock()), "9 RDS low storage")
    clock.advance(2)
    # 10 application
    memory = f"{host}-memory-leak"
    run.send("alarm_remediator", alarm("memory_restart/mem_used_percent", memory, clock(), InstanceId=host),
             "10 CloudWatch agent memory high")  # fmt: skip
    breaker = "checkout-payments-circuit-breaker"
    run.send("alarm_remediator", alarm("flag_switch/circuit_breaker", breaker, clock(), Provider="acme-pay"),
             "10 circuit breaker alarm")  # fmt: skip
    clock.advance(5)
    ok = back_to_ok(alarm("memory_restart/mem_used_percent", memory, clock(), InstanceId=host))
    run.send("alarm_remediator", ok, "10 memory back to OK")
    ok = back_to_ok(alarm("flag_switch/circuit_breaker", breaker, clock(), Provider="acme-pay"))
    run.send("alarm_remediator", ok, "10 circuit breaker back to OK")
    # 11 data
    run.plan_offline(backup_event(layers.volume, clock()), "11 AWS Backup job failed")
    [pending] = run.send("event_remediator", rds_event("rds_restore_beside/storage_failure", db, clock()),
                         "11 RDS asks for a point-in-time restore")  # fmt: skip
    clock.advance(10)
    if pending["decision"] == "awaiting_approval":
        run.approve(pending["action_id"], "11 an operator approves the restore beside")
    # 12 network
    health = alarm("route53_health/health_check_status", "api-example-com-health", clock(),
                   HealthCheckId=layers.health_check)  # fmt: skip
    run.send("alarm_remediator", health, "12 Route 53 health check unhealthy")
    suffix = layers.target_group.split(":", 5)[-1]  # targetgroup/<name>/<id>, the metric's dimension
    targets = alarm("elb_unhealthy_target/unhealthy_hosts", "web-alb-unhealthy-hosts", clock(), TargetGroup=suffix,
                    LoadBalancer="app/web/fedcba9876543210")  # fmt: skip
    run.send("alarm_remediator", targets, "12 load balancer unhealthy hosts")


def run_infra(endpoint_url: str, say: Callable[[str], None]) -> tuple[Incident, list[Any]]:
    """Build the estate on ``endpoint_url`` (an embedded moto server when empty), play the incident;
    returns what happened and the audit trail, newest first."""
    with local_aws(endpoint_url, say) as endpoint:
        return _run(endpoint, say)


def _run(endpoint_url: str, say: Callable[[str], None]) -> tuple[Incident, list[Any]]:
    base = Settings(endpoint_url=endpoint_url)
    clients = Clients(base)
    estate = build_estate(clients)
    layers = build_layers(clients, estate)
    say(f"estate: {len(estate.instances)} instances in {estate.group}, {estate.service}, {estate.function}; "
        f"{layers.group}, {layers.host} with {layers.volume}, {layers.database}, {layers.flag}")  # fmt: skip
    settings = replace(
        base,
        governor_table_name=estate.governor_table,
        topic_arn=estate.topic_arn,
        parameter_prefix=estate.prefix,
    )
    clock = Clock()
    runtime.override(settings=settings, clients=Clients(settings), clock=clock)
    try:
        run = Incidents(clients, estate, clock, say)
        script(run, estate, clock, layers)
        run.seen.notifications = run.notifications()
        run.seen.healing = healing_stats(runtime.governor(), clock(), STATS_WINDOW_S)
        return run.seen, runtime.governor().actions(limit=1000)
    finally:
        runtime.clear()
