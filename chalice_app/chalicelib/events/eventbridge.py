"""Typed, read-only views of the EventBridge events the runbooks handle, each turned into an Incident.

- ``AlarmStateChange``: "CloudWatch Alarm State Change" (source ``aws.cloudwatch``)
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
- ``GuardDutyFinding``: "GuardDuty Finding" (source ``aws.guardduty``)
  https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings_eventbridge.html
- ``HealthEvent``: "AWS Health Event" (source ``aws.health``)
  https://docs.aws.amazon.com/health/latest/ug/aws-health-events-eventbridge-schema.html

The shapes that matter: alarm dimensions are a map; ``reasonData`` is a JSON *string*; a metric-math
alarm lists several ``metricStat`` inputs beside an ``expression``; a composite alarm has an
``alarmRule`` and no metrics; GuardDuty re-publishes an open finding (same ``id``) with a higher
``service.count``, and marks generated samples in ``service.additionalInfo`` (two forms); a Health event
lists ``affectedEntities``. Fields are read leniently (a missing field is empty), so that a malformed
event reaches the governor as an empty or ambiguous target, which escalates; only an envelope that is
not an EventBridge event of these sources raises PayloadError. The event sources runbooks declare
beside these three are read by events/declared.py.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks.loop import DEFAULT_PRINCIPAL, is_own_principal, marked_by_selfheal, tag_map
from chalicelib.core.runbooks.plan import Incident

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ALARM = ("aws.cloudwatch", "CloudWatch Alarm State Change")
FINDING = ("aws.guardduty", "GuardDuty Finding")
HEALTH = ("aws.health", "AWS Health Event")

# Alarm dimensions that name the resource a metric is about, most specific first: (dimension names,
# how the resource id is written). ECS service metrics name "cluster/service"; a Lambda alias
# metric's ``Resource`` dimension is "function:alias" (FunctionName alone means no alias).
RESOURCE_DIMENSIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("InstanceId",), "{InstanceId}"),
    (("ClusterName", "ServiceName"), "{ClusterName}/{ServiceName}"),
    (("Resource",), "{Resource}"),
    (("FunctionName",), "{FunctionName}"),
    (("AutoScalingGroupName",), "asg:{AutoScalingGroupName}"),
    (("ClusterName",), "{ClusterName}"),
    (("VolumeId",), "{VolumeId}"),
)
# What kind of resource a metric's dimensions are about (a runbook declares the kinds it repairs): an
# ECS metric with ClusterName alone is about the cluster, not a service; a Lambda metric's Resource
# is "function:alias" for an alias, "function:3" for a version, the bare name for the function.
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")

# The alarm's comparison operator → the side of the threshold (or band) that is breaching.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
# An expression that keeps the side of its metrics: ids added up, or AVG/MIN/MAX/SUM over ids or METRICS().
_KEEPS_SIDE = re.compile(
    r"^(?:[a-z][A-Za-z0-9_]*(?:\+[a-z][A-Za-z0-9_]*)*"
    r"|(?:AVG|MIN|MAX|SUM)\((?:METRICS\([^()]*\)|\[[A-Za-z0-9_,]*\]|[a-z][A-Za-z0-9_]*)\))$"
)
# A ratio of two metrics, times a positive constant or not (an error rate: 100*(m1/m2), m1/m2*100): it
# rises and falls with its numerator, so the alarm's side is the numerator's and the alarm is about it.
_RATIO = re.compile(
    r"(?:[0-9.]+\*)?(?P<open>\(?)(?P<num>[a-z][A-Za-z0-9_]*)(?:\*[0-9.]+)?/(?P<den>[a-z][A-Za-z0-9_]*)"
    r"(?P<close>\)?)(?:\*[0-9.]+)?"
)
OPERATORS: dict[str, tuple[str, bool]] = {
    "GreaterThanOrEqualToThreshold": ("above", False),
    "GreaterThanThreshold": ("above", False),
    "LessThanThreshold": ("below", False),
    "LessThanOrEqualToThreshold": ("below", False),
    "GreaterThanUpperThreshold": ("above", True),
    "LessThanLowerThreshold": ("below", True),
    "LessThanLowerOrGreaterThanUpperThreshold": ("outside band", True),
}
# CloudWatch's reason sentence names the operator when the configuration in the event does not, in
# the forms "was greater than or equal to the threshold (80.0)", "was not less than the threshold
# (2.0)" and "was less than the lower thresholds [0.02] or greater than the upper thresholds [0.30]".
_STATIC_SENTENCE = re.compile(
    r"(?:was|were) (?:not )?(greater than or equal to|greater than|less than or equal to|less than) the threshold"
    r"(?: \(([-+0-9.eE]+)\))?"
)
_STATIC_WORDS = {
    "greater than or equal to": "GreaterThanOrEqualToThreshold",
    "greater than": "GreaterThanThreshold",
    "less than": "LessThanThreshold",
    "less than or equal to": "LessThanOrEqualToThreshold",
}
_BOTH_BANDS = re.compile(
    r"(?:was|were) (?:not )?less than the lower thresholds.*(?:not )?greater than the upper thresholds"
)
_UPPER_BAND = re.compile(r"(?:was|were) (?:not )?greater than the upper thresholds")
_LOWER_BAND = re.compile(r"(?:was|were) (?:not )?less than the lower thresholds")
_OUT_OF = re.compile(r"(\d+) out of the last (\d+) datapoints?")
_PLAIN_COUNT = re.compile(r"Crossed: (\d+) datapoints? \[")
_MINIMUM = re.compile(r"minimum (\d+) datapoints? for")
_MISSING = re.compile(
    r"no datapoints were received for (\d+) periods? and (\d+) missing datapoints? (?:was|were) treated as \[(\w+)\]"
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _truthy(value: Any) -> bool:
    """JSON true, or the text "true" in any case (GuardDuty writes both)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def resource_of(dimensions: Mapping[str, str]) -> str:
    """The resource id a metric's dimensions name, or '' when they name none selfheal knows."""
    for names, template in RESOURCE_DIMENSIONS:
        if all(dimensions.get(n) for n in names):
            return template.format(**{n: dimensions[n] for n in names})
    return ""


def resource_kind(dimensions: Mapping[str, str]) -> str:
    """What the dimensions are about: ec2-instance, ecs-service, ecs-cluster, lambda-alias,
    lambda-version, lambda-function, asg, ebs-volume; '' for none selfheal knows."""
    if dimensions.get("InstanceId"):
        return "ec2-instance"
    if dimensions.get("ClusterName"):
        return "ecs-service" if dimensions.get("ServiceName") else "ecs-cluster"
    qualifier = dimensions.get("Resource", "")
    if qualifier:
        _, colon, alias = qualifier.partition(":")
        if not colon:
            return "lambda-function"
        return "lambda-version" if alias.isdigit() or alias == "$LATEST" else "lambda-alias"
    if dimensions.get("FunctionName"):
        return "lambda-function"
    if dimensions.get("AutoScalingGroupName"):
        return "asg"
    return "ebs-volume" if dimensions.get("VolumeId") else ""


def _whole(value: Any) -> int | None:
    """A positive whole number (a period, a count), None for anything else."""
    number = _number(value)
    return int(number) if number is not None and number > 0 and number == int(number) else None


def _number(value: Any) -> float | None:
    """A finite number from JSON or the reason sentence (None for anything else)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _numbers(value: Any) -> tuple[float, ...]:
    return tuple(n for n in (_number(v) for v in _list(value)) if n is not None)


@dataclass(frozen=True)
class AlarmMeaning:
    """What an alarm says is wrong, read from the event: the side of its threshold that breached, and how.

    ``comparison`` is the alarm's operator when the event tells it (its configuration, or CloudWatch's
    reason sentence), '' otherwise. ``direction`` is the operator's side: ``above``, ``below``,
    ``outside band`` (anomaly alarm breaching on either side) or ``unknown``. ``breached`` is the
    side that did breach: the direction, or for an outside-band anomaly alarm the side the
    datapoints in ``reasonData`` fall on against the band (``unknown`` without them). ``level`` is
    the value called too high or too low: the threshold, or the band's edge on the breached side.
    """

    comparison: str = ""
    direction: str = "unknown"
    breached: str = "unknown"
    anomaly: bool = False
    threshold: float | None = None
    level: float | None = None
    statistic: str = ""
    period: int | None = None
    datapoints: tuple[float, ...] = ()
    lower_band: tuple[float, ...] = ()
    upper_band: tuple[float, ...] = ()
    breaching_datapoints: int | None = None  # how many datapoints breached ("2 out of the last 3")
    evaluated_datapoints: int | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = ""  # breaching / notBreaching / ignore / missing, when the event tells
    missing_data_breached: bool = False  # the alarm fired on missing datapoints treated as breaching

    @property
    def breach_seconds(self) -> int | None:
        """How long the metric breached: breaching datapoints × period (None when either is unknown)."""
        if self.breaching_datapoints is None or self.period is None:
            return None
        return self.breaching_datapoints * self.period

    def as_facts(self) -> dict[str, Any]:
        """The meaning as incident facts (plain JSON values)."""
        return {
            "comparison": self.comparison,
            "direction": self.direction,
            "breached": self.breached,
            "anomaly": self.anomaly,
            "threshold": self.threshold,
            "level": self.level,
            "statistic": self.statistic,
            "period": self.period,
            "datapoints": list(self.datapoints),
            "band": {"lower": list(self.lower_band), "upper": list(self.upper_band)} if self.anomaly else {},
            "breaching_datapoints": self.breaching_datapoints,
            "evaluated_datapoints": self.evaluated_datapoints,
            "datapoints_to_alarm": self.datapoints_to_alarm,
            "breach_seconds": self.breach_seconds,
            "treat_missing_data": self.treat_missing_data,
            "missing_data_breached": self.missing_data_breached,
        }


def _operator_in(reason: str) -> tuple[str, float | None]:
    """(operator, threshold) CloudWatch's reason sentence names; ('', None) when it names none."""
    if _BOTH_BANDS.search(reason):
        return "LessThanLowerOrGreaterThanUpperThreshold", None
    if _UPPER_BAND.search(reason):
        return "GreaterThanUpperThreshold", None
    if _LOWER_BAND.search(reason):
        return "LessThanLowerThreshold", None
    found = _STATIC_SENTENCE.search(reason)
    if found:
        return _STATIC_WORDS[found.group(1)], _number(found.group(2))
    return "", None


def _side_of_band(points: Sequence[float], lower: Sequence[float], upper: Sequence[float]) -> str:
    """The side of the band the datapoints left it on: above, below, or unknown (none or both)."""
    sides = set()
    for value, low, high in zip(points, lower, upper, strict=False):
        if value > high:
            sides.add("above")
        elif value < low:
            sides.add("below")
    return sides.pop() if len(sides) == 1 else "unknown"


def _counts(reason: str) -> tuple[int | None, int | None, int | None]:
    """(breaching, evaluated, datapoints to alarm) as the reason sentence states them."""
    out_of, plain, minimum = _OUT_OF.search(reason), _PLAIN_COUNT.search(reason), _MINIMUM.search(reason)
    breaching = evaluated = None
    if out_of:
        breaching, evaluated = int(out_of.group(1)), int(out_of.group(2))
    elif plain:
        breaching = evaluated = int(plain.group(1))
    return breaching, evaluated, int(minimum.group(1)) if minimum else None


@dataclass(frozen=True)
class MetricInput:
    """One entry of an alarm's ``configuration.metrics``: a metric (``metricStat``) or an ``expression``."""

    id: str
    namespace: str = ""
    metric_name: str = ""
    dimensions: Mapping[str, str] = field(default_factory=dict)
    expression: str = ""
    return_data: bool = True
    stat: str = ""
    period: int | None = None

    @property
    def resource(self) -> str:
        """The resource this metric is about ('' for an expression or unknown dimensions)."""
        return resource_of(self.dimensions)


class EventBridgeEvent:
    """The EventBridge envelope every view shares; ``raw`` is kept but never printed."""

    source_name = ""

    def __init__(
        self, raw: Mapping[str, Any], *, principal: str = DEFAULT_PRINCIPAL, home: tuple[str, str] | None = None
    ) -> None:
        self.raw = raw
        # Prefix of selfheal's own IAM principals (loop protection).
        self.principal = principal
        # (account, region) of the deployment; an event about another one is never acted on.
        self.home = home

    def foreign(self) -> str:
        """Why the event is about another account or region than the deployment's ('' when it is ours,
        or when the deployment's are not known: the offline planner)."""
        if self.home is None:
            return ""
        account, region = self.home
        if account and self.account != account:
            return f"the event is about account {self.account or '(none)'}, this deployment runs in {account}"
        if region and self.region != region:
            return f"the event comes from region {self.region or '(none)'}, this deployment runs in {region}"
        return ""

    @property
    def event_id(self) -> str:
        """EventBridge's id of this delivery (a redelivery may reuse it; identity is per source)."""
        return _str(self.raw.get("id"))

    @property
    def source(self) -> str:
        """The emitting service, e.g. ``aws.cloudwatch``."""
        return _str(self.raw.get("source"))

    @property
    def detail_type(self) -> str:
        """EventBridge's ``detail-type``, e.g. ``CloudWatch Alarm State Change``."""
        return _str(self.raw.get("detail-type"))

    @property
    def account(self) -> str:
        """The AWS account the event is about."""
        return _str(self.raw.get("account"))

    @property
    def region(self) -> str:
        """The region the event comes from."""
        return _str(self.raw.get("region"))

    @property
    def time(self) -> str:
        """When EventBridge received the event (ISO 8601, UTC)."""
        return _str(self.raw.get("time"))

    @property
    def resources(self) -> tuple[str, ...]:
        """The envelope's ``resources`` (ARNs or ids, by source)."""
        return tuple(str(r) for r in _list(self.raw.get("resources")))

    @property
    def detail(self) -> dict[str, Any]:
        """The source-specific ``detail`` object."""
        return _dict(self.raw.get("detail"))

    def incidents(self) -> tuple[Incident, ...]:
        """Every incident this event reports (one, except a Health event naming several entities)."""
        return (self.incident(),)

    def incident(self) -> Incident:
        """What the event reports, independent of its wire shape."""
        raise NotImplementedError

    def _envelope(self) -> dict[str, str]:
        return {"region": self.region, "account": self.account, "time": self.time}

    def __str__(self) -> str:
        return f"{type(self).__name__}({self.event_id} {self.detail_type!r})"

    __repr__ = __str__


class AlarmStateChange(EventBridgeEvent):
    """A CloudWatch alarm changed state (ALARM, OK or INSUFFICIENT_DATA)."""

    source_name = "alarm"

    @property
    def alarm_name(self) -> str:
        """The alarm's name."""
        return _str(self.detail.get("alarmName"))

    @property
    def alarm_arn(self) -> str:
        """The alarm's ARN (the envelope's only resource)."""
        return self.resources[0] if self.resources else ""

    @property
    def state_value(self) -> str:
        """The new state: ALARM, OK or INSUFFICIENT_DATA."""
        return _str(_dict(self.detail.get("state")).get("value"))

    @property
    def previous_state_value(self) -> str:
        """The state before this change."""
        return _str(_dict(self.detail.get("previousState")).get("value"))

    @property
    def state_timestamp(self) -> str:
        """When the alarm entered the new state: with the ARN, the identity of this transition."""
        return _str(_dict(self.detail.get("state")).get("timestamp"))

    @property
    def reason(self) -> str:
        """CloudWatch's sentence for the change (or the SetAlarmState caller's)."""
        return _str(_dict(self.detail.get("state")).get("reason"))

    @cached_property
    def reason_data(self) -> dict[str, Any]:
        """``state.reasonData``, which AWS sends as a JSON string: datapoints, threshold ({} when absent)."""
        text = _dict(self.detail.get("state")).get("reasonData")
        if not isinstance(text, str) or not text:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def configuration(self) -> dict[str, Any]:
        """The alarm's configuration as the event carries it."""
        return _dict(self.detail.get("configuration"))

    @property
    def alarm_rule(self) -> str:
        """A composite alarm's rule over other alarms ('' for a metric alarm)."""
        return _str(self.configuration.get("alarmRule"))

    @property
    def is_composite(self) -> bool:
        """A composite alarm: it names other alarms, no metric and so no resource."""
        return bool(self.alarm_rule)

    @cached_property
    def metrics(self) -> tuple[MetricInput, ...]:
        """The alarm's metric inputs: one for a single-metric alarm; several (and expressions) for metric math."""
        out = []
        for entry in _list(self.configuration.get("metrics")):
            entry = _dict(entry)
            metric = _dict(_dict(entry.get("metricStat")).get("metric"))
            dims = {str(k): str(v) for k, v in _dict(metric.get("dimensions")).items()}
            out.append(
                MetricInput(
                    id=_str(entry.get("id")),
                    namespace=_str(metric.get("namespace")),
                    metric_name=_str(metric.get("name")),
                    dimensions=dims,
                    expression=_str(entry.get("expression")),
                    return_data=bool(entry.get("returnData", True)),
                    stat=_str(_dict(entry.get("metricStat")).get("stat")),
                    period=_whole(_dict(entry.get("metricStat")).get("period")),
                )
            )
        return tuple(out)

    @property
    def stats(self) -> tuple[MetricInput, ...]:
        """The inputs that are metrics (not expressions)."""
        return tuple(m for m in self.metrics if m.namespace and m.metric_name)

    @cached_property
    def ratio_numerator(self) -> MetricInput | None:
        """The numerator when the series the alarm compares is a ratio of two of its metrics (an error
        rate ``100*(m1/m2)`` of Errors over Invocations), else None: the alarm is about the numerator."""
        compared = [m for m in self.metrics if m.return_data] or list(self.metrics)
        found = _RATIO.fullmatch(compared[0].expression.replace(" ", "")) if len(compared) == 1 else None
        if not found or len(found["open"]) != len(found["close"]) or found["num"] == found["den"]:
            return None
        by_id = {m.id: m for m in self.stats}
        return by_id[found["num"]] if found["num"] in by_id and found["den"] in by_id else None

    def _compares_a_transform(self) -> bool:
        """Whether the series the alarm compares is an expression that may turn its metrics around
        (arithmetic, or a function other than AVG/MIN/MAX/SUM over the metrics): then the operator's
        side says nothing about the metric's. A ratio keeps its numerator's side."""
        if self.ratio_numerator is not None:
            return False
        compared = [m for m in self.metrics if m.return_data] or list(self.metrics)
        return any(m.expression and not _KEEPS_SIDE.match(m.expression.replace(" ", "")) for m in compared)

    @cached_property
    def meaning(self) -> AlarmMeaning:
        """What the alarm says is wrong: its operator, side, threshold or band, and the datapoints."""
        config, data, reason = self.configuration, self.reason_data, self.reason
        operator = _str(config.get("comparisonOperator"))
        said, said_threshold = _operator_in(reason)
        operator = operator if operator in OPERATORS else said
        direction, band = OPERATORS.get(operator, ("unknown", False))
        lower, upper = _numbers(data.get("recentLowerThresholds")), _numbers(data.get("recentUpperThresholds"))
        anomaly = (
            band
            or bool(lower or upper)
            or any(m.expression.replace(" ", "").upper().startswith("ANOMALY_DETECTION_BAND(") for m in self.metrics)
        )
        points = _numbers(data.get("recentDatapoints"))
        if not anomaly and self._compares_a_transform():
            # `100 - m1 >= 98` is CPU at 2 % or less: the operator's side is not the metric's side.
            direction = "unknown"
        breached = direction
        if anomaly and direction in ("outside band", "unknown"):
            breached = _side_of_band(points, lower, upper)
        threshold = None
        if not anomaly:
            threshold = _number(config.get("threshold"))
            threshold = _number(data.get("threshold")) if threshold is None else threshold
            threshold = said_threshold if threshold is None else threshold
        level = threshold
        if anomaly and breached == "above" and upper:
            level = max(upper)
        elif anomaly and breached == "below" and lower:
            level = min(lower)
        single = self.stats[0] if len(self.stats) == 1 else None
        breaching, evaluated, minimum = _counts(reason)
        missing = _MISSING.search(reason)
        treat = _str(config.get("treatMissingData"))
        if missing and not treat:
            word = missing.group(3)
            treat = word[:1].lower() + word[1:]
        return AlarmMeaning(
            comparison=operator,
            direction=direction,
            breached=breached,
            anomaly=anomaly,
            threshold=threshold,
            level=level,
            statistic=_str(data.get("statistic")) or (single.stat if single else ""),
            period=_whole(data.get("period")) or (single.period if single else None),
            datapoints=points,
            lower_band=lower,
            upper_band=upper,
            breaching_datapoints=0 if missing and breaching is None else breaching,
            evaluated_datapoints=_whole(config.get("evaluationPeriods")) or evaluated,
            datapoints_to_alarm=_whole(config.get("datapointsToAlarm")) or minimum,
            treat_missing_data=treat,
            missing_data_breached=bool(missing) and treat == "breaching",
        )

    def _subject(self) -> tuple[str, str]:
        numerator = self.ratio_numerator
        if numerator is not None:
            return numerator.namespace, numerator.metric_name
        pairs = list(dict.fromkeys((m.namespace, m.metric_name) for m in self.stats))
        return pairs[0] if pairs else ("", "")

    def _target(self) -> tuple[tuple[str, ...], str]:
        """(resources named, ambiguity): one resource, or why the alarm names none or several."""
        if self.is_composite:
            return (), f"composite alarm {self.alarm_name!r} ({self.alarm_rule}) names alarms, no resource"
        stats = self.stats
        if not stats:
            return (), f"alarm {self.alarm_name!r} has no metric input (a query or expression only)"
        named = tuple(dict.fromkeys(m.resource for m in stats))
        if "" in named:
            missing = next(m for m in stats if not m.resource)
            return tuple(r for r in named if r), (
                f"metric {missing.namespace}/{missing.metric_name} of alarm {self.alarm_name!r} has dimensions "
                f"{sorted(missing.dimensions)} that name no resource"
            )
        if len(named) > 1:
            return named, f"metric-math alarm {self.alarm_name!r} names {len(named)} resources: {', '.join(named)}"
        return named, ""

    def _kind(self, resources: tuple[str, ...]) -> str:
        """The kind of resource the alarm's metrics are about ('' when none, or several kinds)."""
        kinds = {resource_kind(m.dimensions) for m in self.stats}
        return kinds.pop() if resources and len(kinds) == 1 else ""

    def incident(self) -> Incident:
        """Identity = alarm ARN + state timestamp; ALARM/INSUFFICIENT_DATA open, OK resolved."""
        # A redelivered event repeats the state timestamp; a new transition (flapping) has a new one.
        namespace, metric = self._subject()
        resources, ambiguity = self._target()
        single = self.stats[0] if len(self.stats) == 1 else None
        return Incident(
            source="alarm",
            identity=f"{self.alarm_arn or self.alarm_name}#{self.state_timestamp}",
            state="resolved" if self.state_value == "OK" else "open",
            subject=f"{namespace}/{metric}" if metric else "",
            resources=resources,
            ambiguity=ambiguity,
            never_act=self.foreign(),
            facts={
                "alarm_name": self.alarm_name,
                "alarm_arn": self.alarm_arn,
                "state_value": self.state_value,
                "previous_state_value": self.previous_state_value,
                "namespace": namespace,
                "metric": metric,
                "dimensions": dict(single.dimensions) if single else {},
                "dimension_names": sorted({d for m in self.stats for d in m.dimensions}),
                "metric_dimensions": [dict(m.dimensions) for m in self.stats],
                "reason": self.reason,
                "reason_data": self.reason_data,
                "resource_kind": self._kind(resources),
                **self.meaning.as_facts(),
            },
            **self._envelope(),
        )


class GuardDutyFinding(EventBridgeEvent):
    """A GuardDuty finding was created or updated (re-published with a higher ``service.count``)."""

    source_name = "guardduty"

    @property
    def finding_id(self) -> str:
        """The finding's id: stable across re-publications of the same finding."""
        return _str(self.detail.get("id"))

    @property
    def finding_arn(self) -> str:
        """The finding's ARN."""
        return _str(self.detail.get("arn"))

    @property
    def finding_type(self) -> str:
        """The finding type, e.g. ``Backdoor:EC2/C&CActivity.B!DNS``."""
        return _str(self.detail.get("type"))

    @property
    def severity(self) -> float:
        """Severity, 1.0-8.9 (low < 4, medium < 7, high)."""
        value = self.detail.get("severity")
        return float(value) if isinstance(value, int | float) else 0.0

    @property
    def service(self) -> dict[str, Any]:
        """The ``service`` block: action, count, archived, additional info."""
        return _dict(self.detail.get("service"))

    @property
    def count(self) -> int:
        """How many times GuardDuty saw the activity (grows on re-publication)."""
        value = self.service.get("count")
        return int(value) if isinstance(value, int | float) else 0

    @property
    def is_sample(self) -> bool:
        """A sample finding GuardDuty generated on request: never act, never page.

        Documented in two forms: ``service.additionalInfo.sample`` (true, or the text "true" in any
        case), and ``additionalInfo = {"value": "<JSON text>", "type": "default"}`` whose JSON text
        holds ``"sample": true``.
        """
        info = _dict(self.service.get("additionalInfo"))
        if _truthy(info.get("sample")):
            return True
        value = info.get("value")
        if isinstance(value, str) and value:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return False
        return isinstance(value, dict) and _truthy(value.get("sample"))

    @property
    def is_archived(self) -> bool:
        """The finding was archived (by a person or a suppression rule): never act."""
        return self.service.get("archived") is True

    @property
    def action_type(self) -> str:
        """What the actor did: NETWORK_CONNECTION, DNS_REQUEST, AWS_API_CALL, PORT_PROBE, ..."""
        return _str(_dict(self.service.get("action")).get("actionType"))

    @property
    def resource(self) -> dict[str, Any]:
        """The ``resource`` block: what the finding is about."""
        return _dict(self.detail.get("resource"))

    @property
    def resource_type(self) -> str:
        """``Instance``, ``AccessKey``, ``S3Bucket``, ..."""
        return _str(self.resource.get("resourceType"))

    @property
    def instance(self) -> dict[str, Any]:
        """``resource.instanceDetails`` ({} for findings not about an instance)."""
        return _dict(self.resource.get("instanceDetails"))

    @property
    def instance_id(self) -> str:
        """The instance the finding is about ('' when none)."""
        return _str(self.instance.get("instanceId"))

    @property
    def instance_tags(self) -> dict[str, str]:
        """The instance's tags when GuardDuty saw it."""
        return tag_map(_list(self.instance.get("tags")))

    @property
    def network_interfaces(self) -> tuple[dict[str, Any], ...]:
        """The instance's network interfaces as the finding lists them: id, VPC, groups."""
        out = []
        for eni in _list(self.instance.get("networkInterfaces")):
            eni = _dict(eni)
            groups = [_str(_dict(g).get("groupId")) for g in _list(eni.get("securityGroups"))]
            out.append({"id": _str(eni.get("networkInterfaceId")), "vpc_id": _str(eni.get("vpcId")), "groups": groups})
        return tuple(out)

    @property
    def api_caller(self) -> str:
        """The IAM user or role session that made the API calls an API finding is about ('' otherwise)."""
        details = _dict(self.resource.get("accessKeyDetails"))
        return _str(details.get("userName")) or _str(details.get("principalId"))

    def incident(self) -> Incident:
        """Identity = finding id + action type, so a re-published finding is the same incident."""
        own = ""
        if is_own_principal(self.api_caller, self.principal):
            own = f"the finding is about API calls of selfheal's own principal {self.api_caller}"
        own = own or marked_by_selfheal(self.instance_tags)
        never = self.foreign()
        if self.is_sample:
            never = "GuardDuty sample finding (service.additionalInfo says sample: true)"
        elif self.is_archived:
            never = never or "the finding is archived"
        ambiguity = ""
        if self.resource_type == "Instance" and not self.instance_id:
            ambiguity = "the finding names no instance id"
        # A re-published finding keeps its id and grows service.count: the same identity acts once.
        return Incident(
            source="guardduty",
            identity=f"guardduty:{self.finding_id}#{self.action_type}",
            state="open",
            subject=self.finding_type,
            resources=(self.instance_id,) if self.instance_id else (),
            ambiguity=ambiguity,
            caused_by_selfheal=own,
            never_act=never,
            facts={
                "resource_kind": "ec2-instance" if INSTANCE_ID.match(self.instance_id) else "",
                "sample": self.is_sample,
                "finding_id": self.finding_id,
                "finding_arn": self.finding_arn,
                "severity": self.severity,
                "count": self.count,
                "resource_type": self.resource_type,
                "action_type": self.action_type,
                "tags": self.instance_tags,
                "network_interfaces": [dict(e) for e in self.network_interfaces],
            },
            **self._envelope(),
        )


class HealthEvent(EventBridgeEvent):
    """An AWS Health event about this account's resources (e.g. a scheduled instance retirement)."""

    source_name = "health"

    @property
    def event_arn(self) -> str:
        """The Health event's ARN: with an entity, the identity of an incident."""
        return _str(self.detail.get("eventArn"))

    @property
    def service(self) -> str:
        """The affected AWS service, e.g. ``EC2``."""
        return _str(self.detail.get("service"))

    @property
    def event_type_code(self) -> str:
        """e.g. ``AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED``."""
        return _str(self.detail.get("eventTypeCode"))

    @property
    def category(self) -> str:
        """``issue``, ``scheduledChange``, ``accountNotification`` or ``investigation``."""
        return _str(self.detail.get("eventTypeCategory"))

    @property
    def status_code(self) -> str:
        """``open``, ``upcoming`` or ``closed`` (closed resolves)."""
        return _str(self.detail.get("statusCode"))

    @property
    def start_time(self) -> str:
        """When the event starts; for a scheduled retirement, the retirement date (RFC 1123 text)."""
        return _str(self.detail.get("startTime"))

    @property
    def end_time(self) -> str:
        """When the event ended ('' while open)."""
        return _str(self.detail.get("endTime"))

    @property
    def affected_entities(self) -> tuple[tuple[str, dict[str, str]], ...]:
        """(entity value, tags) of every affected entity (instance ids for EC2 events)."""
        out = []
        for entity in _list(self.detail.get("affectedEntities")):
            entity = _dict(entity)
            value = _str(entity.get("entityValue"))
            if value:
                out.append((value, tag_map(entity.get("tags"))))
        if not out:  # older events list the entities only in the envelope
            out = [(r, {}) for r in self.resources if not r.startswith("arn:")]
        return tuple(out)

    def _incident(self, entity: str, tags: Mapping[str, str], ambiguity: str = "") -> Incident:
        return Incident(
            source="health",
            identity=f"{self.event_arn}#{entity}",
            state="resolved" if self.status_code == "closed" else "open",
            subject=self.event_type_code,
            resources=(entity,) if entity else (),
            ambiguity=ambiguity,
            caused_by_selfheal=marked_by_selfheal(tags),
            never_act=self.foreign(),
            facts={
                "resource_kind": "ec2-instance" if INSTANCE_ID.match(entity) else _volume_kind(entity),
                "event_arn": self.event_arn,
                "service": self.service,
                "category": self.category,
                "status_code": self.status_code,
                "start_time": self.start_time,
                "end_time": self.end_time,
                "tags": dict(tags),
            },
            **self._envelope(),
        )

    def incidents(self) -> tuple[Incident, ...]:
        """One incident per affected entity (identity = event ARN + entity)."""
        entities = self.affected_entities
        if not entities:
            return (self._incident("", {}, "the Health event names no affected entity"),)
        return tuple(self._incident(value, tags) for value, tags in entities)

    def incident(self) -> Incident:
        """The incident of a single-entity event; several entities make it ambiguous (use ``incidents``)."""
        found = self.incidents()
        if len(found) == 1:
            return found[0]
        names = ", ".join(i.resources[0] for i in found)
        return self._incident("", {}, f"the Health event names {len(found)} entities: {names}")


def _volume_kind(entity: str) -> str:
    """``ebs-volume`` for an EBS volume id (the entity of AWS Health's EBS events), else ''."""
    return "ebs-volume" if re.match(r"^vol-[0-9a-f]{8,17}$", entity) else ""


VIEWS: dict[tuple[str, str], type[EventBridgeEvent]] = {
    ALARM: AlarmStateChange,
    FINDING: GuardDutyFinding,
    HEALTH: HealthEvent,
}
