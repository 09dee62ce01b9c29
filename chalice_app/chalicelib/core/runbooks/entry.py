"""A runbook catalog's entry and its triggers: the data one entry of the catalog holds.

An entry (``RunbookEntry``) names the runbook it starts (``action``), the triggers that start it,
its parameters and limits; a runbook's functions (``plan``, ``reads``, ...) receive it. The catalog
document, its parsing and matching are core/runbooks/catalog.py; a runbook's declaration is
core/runbooks/declare.py. This module imports neither, nor the registry: a declaration names the
entry type here without closing a circle.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks.conditions import dimension_mismatch, direction_mismatch, level_mismatch
from chalicelib.core.runbooks.plan import Limits

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.conditions import Condition
    from chalicelib.core.runbooks.plan import Incident


@dataclass(frozen=True)
class Trigger:
    """Which incidents start a runbook."""

    source: str
    namespace: str = ""
    metric: str = ""
    dimensions: tuple[str, ...] = ()
    alarm_names: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    min_severity: float = 0.0
    direction: str = ""
    min_threshold: float | None = None
    max_threshold: float | None = None
    # dimension name → accepted values (globs), as (name, values) pairs so the trigger stays hashable
    dimension_values: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def describe(self) -> str:
        """The trigger in a few words, e.g. ``alarm AWS/EC2 CPUUtilization [InstanceId]``."""
        if self.source == "alarm":
            words = [f"{self.namespace} {self.metric}" if self.metric else ""]
            words += [f"[{', '.join(self.dimensions)}]" if self.dimensions else ""]
            words += [f"named {' or '.join(self.alarm_names)}" if self.alarm_names else ""]
            words += [self.direction]
            words += [f">= {self.min_threshold:g}" if self.min_threshold is not None else ""]
            words += [f"<= {self.max_threshold:g}" if self.max_threshold is not None else ""]
            words += [f"{k}={'|'.join(v)}" for k, v in self.dimension_values]
        else:
            words = [" or ".join(self.types), f"severity >= {self.min_severity:g}" if self.min_severity else ""]
        return " ".join(w for w in (self.source, *words) if w)

    def as_dict(self) -> dict[str, Any]:
        """The trigger in the catalog's JSON shape (unset fields left out)."""
        out: dict[str, Any] = {"source": self.source}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "source" or value in (None, "", ()) or (f.name == "min_severity" and not value):
                continue
            if f.name == "dimension_values":
                value = {k: list(v) for k, v in value}
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def mismatch(self, incident: Incident) -> str:
        """Why ``incident`` does not match this trigger ('' when it does)."""
        if incident.source != self.source:
            return f"source {incident.source} is not {self.source}"
        facts = incident.facts
        if self.source == "alarm":
            return self._alarm_mismatch(incident)
        if self.types and not any(fnmatchcase(incident.subject, t) for t in self.types):
            return f"type {incident.subject!r} is not one of {list(self.types)}"
        severity = float(facts.get("severity", 0) or 0)
        if self.source == "guardduty" and severity < self.min_severity:
            return f"severity {severity:g} is below {self.min_severity:g}"
        return ""

    def _alarm_mismatch(self, incident: Incident) -> str:
        # Every condition the trigger states must hold (names narrow a metric trigger, never widen it).
        facts = incident.facts
        name = str(facts.get("alarm_name", ""))
        if self.alarm_names and not any(fnmatchcase(name, g) for g in self.alarm_names):
            return f"alarm {name[:200]!r} is not named {' or '.join(self.alarm_names)}"
        if self.metric:
            metric = (facts.get("namespace"), facts.get("metric"))
            if not metric[1]:
                return "the alarm has no metric"
            if metric != (self.namespace, self.metric):
                return f"metric {metric[0]}/{metric[1]} is not {self.namespace}/{self.metric}"
        dims = facts.get("dimension_names") or list(facts.get("dimensions") or {})
        missing = [d for d in self.dimensions if d not in dims]
        if missing:
            return f"the metric lacks dimension(s) {missing}"
        values = (dict(self.dimension_values),) if self.dimension_values else ()
        return (
            dimension_mismatch(values, facts)
            or direction_mismatch(incident, self.direction)
            or ("" if incident.state == "resolved" else level_mismatch(facts, self.min_threshold, self.max_threshold))
        )


@dataclass(frozen=True)
class RunbookEntry:
    """One catalog entry: trigger, runbook (``action``), its parameters and its safety limits."""

    name: str
    action: str
    triggers: tuple[Trigger, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    description: str = ""
    # The alarm dimension that holds the target's id, when not one selfheal knows ('' = the default).
    target_dimension: str = ""

    def target_of(self, incident: Incident) -> Incident:
        """``incident`` with its resources read from ``target_dimension`` (unchanged without one)."""
        per_metric = incident.facts.get("metric_dimensions") or []
        if not self.target_dimension or incident.source != "alarm" or not per_metric:
            return incident
        values = [d.get(self.target_dimension, "") for d in per_metric]
        named = tuple(dict.fromkeys(v for v in values if v))
        ambiguity = ""
        if "" in values:
            ambiguity = f"a metric of the alarm lacks dimension {self.target_dimension}"
        elif len(named) > 1:
            ambiguity = (
                f"the alarm's metrics name {len(named)} resources by {self.target_dimension}: {', '.join(named)}"
            )
        return dataclasses.replace(incident, resources=named, ambiguity=ambiguity)

    def meaning_mismatch(self, incident: Incident, trigger: Trigger, matches: Condition) -> str:
        """Why ``incident`` is not the business of the entry's runbook ('' when it is): ``matches``
        (the runbook's ``MATCHES``), with the trigger's threshold bounds. An entry naming its own
        target dimension says what the metric is about, so the resource kind and metric are not
        checked."""
        condition = matches
        custom = bool(self.target_dimension)
        if custom:
            condition = dataclasses.replace(condition, kinds=(), metrics=())
        return condition.mismatch(
            self.target_of(incident), min_level=trigger.min_threshold, max_level=trigger.max_threshold, kind=not custom
        )

    def describe_trigger(self) -> str:
        """Every trigger of the entry in a few words, ``|`` between them."""
        return " | ".join(t.describe() for t in self.triggers)

    def as_dict(self) -> dict[str, Any]:
        """The entry in the catalog's JSON shape (``load_catalog`` reads it back)."""
        limits = dataclasses.asdict(self.limits)
        return {
            "name": self.name,
            "action": self.action,
            "description": self.description,
            "triggers": [t.as_dict() for t in self.triggers],
            **({"target": {"dimension": self.target_dimension}} if self.target_dimension else {}),
            "params": dict(self.params),
            "limits": {k: v for k, v in limits.items() if k not in ("approval", "dry_run")},
            "approval": self.limits.approval,
            "dry_run": self.limits.dry_run,
        }
