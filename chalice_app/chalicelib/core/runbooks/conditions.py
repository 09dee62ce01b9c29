"""What a runbook repairs, declared once on its module as ``MATCHES``: the meaning of a signal, not its name.

A catalog trigger says which events reach a runbook; the runbook's ``Condition`` says which of
them it can repair, and no catalog can widen it. For an alarm that is the side of the threshold
that breached (a reboot repairs CPU that is too *high*, never an idle instance), how high the
alarm's level is, how long it breached, and the dimensions that say what is sick (the root
filesystem, not a database volume; an ECS service, not its cluster; a Lambda alias, not a
version). The direction of an alarm the event does not describe is ``unknown``, and a runbook with
a direction never acts on it: nobody can tell from the event whether the repair helps or harms.

Pure: reads only the incident's facts (events/eventbridge.py writes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.plan import Incident

DIRECTIONS = ("above", "below")


def dimension_mismatch(alternatives: tuple[Mapping[str, tuple[str, ...]], ...], facts: Mapping[str, Any]) -> str:
    """Why the alarm's metrics fit none of ``alternatives`` ('' when every metric fits one).

    An alternative maps dimension names to accepted values (``*`` globs; "" = the dimension is absent).
    """
    if not alternatives:
        return ""
    per_metric = facts.get("metric_dimensions") or [facts.get("dimensions") or {}]
    for dims in per_metric:
        if not any(_fits(dims, alt) for alt in alternatives):
            wanted = " or ".join(
                ", ".join(f"{k}={'|'.join(v) if any(v) else '(absent)'}" for k, v in alt.items())
                for alt in alternatives
            )
            shown = ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) or "none"
            return f"the metric's dimensions ({shown}) are not {wanted}"
    return ""


def _fits(dims: Mapping[str, str], alternative: Mapping[str, tuple[str, ...]]) -> bool:
    return all(any(fnmatchcase(str(dims.get(k, "")), v) for v in values) for k, values in alternative.items())


def level_mismatch(facts: Mapping[str, Any], low: float | None, high: float | None) -> str:
    """Why the alarm's level (threshold, or the band's edge on the breached side) is outside [low, high]."""
    if low is None and high is None:
        return ""
    level = facts.get("level")
    if not isinstance(level, int | float):
        return "the alarm's threshold is not in the event"
    if low is not None and level < low:
        return f"the alarm's threshold {level:g} is below {low:g}"
    if high is not None and level > high:
        return f"the alarm's threshold {level:g} is above {high:g}"
    return ""


def direction_mismatch(incident: Incident, direction: str) -> str:
    """Why the side the alarm breached is not ``direction`` ('' when it is, or when none is asked).

    An open alarm must have breached on that side; a resolved one (back to OK) is checked only when
    its operator states a side, so the OK of the alarm a runbook acted on still reaches it.
    """
    if not direction:
        return ""
    facts = incident.facts
    if incident.state == "resolved":
        side = facts.get("direction", "unknown")
        return "" if side not in DIRECTIONS or side == direction else f"the alarm watches for values {side}"
    breached = facts.get("breached", "unknown")
    if breached == direction:
        return ""
    if breached == "unknown":
        return f"the event does not say which side of its threshold the alarm breached (needs {direction})"
    band = " its band" if facts.get("anomaly") else " its threshold"
    return f"the alarm breached{band} {breached}, this runbook repairs values {direction} it"


@dataclass(frozen=True)
class Condition:
    """The signals a runbook repairs; ``mismatch`` says why an incident is not one of them."""

    source: str  # alarm, guardduty, health or a declared event source (declare.EventSource.name)
    kinds: tuple[str, ...] = ()  # resource kinds it acts on (eventbridge.resource_kind)
    metrics: tuple[str, ...] = ()  # alarms: "<namespace>/<metric>" globs it repairs
    direction: str = ""  # alarms: the breached side it repairs ("above" / "below"; "" any)
    min_level: float | None = None  # alarms: lowest threshold it treats as its condition (a trigger may set its own)
    min_breach_s: int = 0  # alarms: breaching datapoints × period at least this long
    needs_datapoints: bool = False  # alarms: missing data treated as breaching is not evidence
    dimension_values: tuple[Mapping[str, tuple[str, ...]], ...] = field(default_factory=tuple)
    types: tuple[str, ...] = ()  # guardduty / health / declared: finding types, event type codes, subjects (globs)

    def describe(self) -> str:
        """The condition in a few words, e.g. ``alarm AWS/EC2/CPUUtilization above >= 80 for 300 s``."""
        words = [self.source, " or ".join(self.metrics or self.types)]
        if self.direction:
            words.append(self.direction)
        if self.min_level is not None:
            words.append(f">= {self.min_level:g}")
        if self.min_breach_s:
            words.append(f"for {self.min_breach_s} s")
        if self.kinds:
            words.append(f"on {' or '.join(self.kinds)}")
        return " ".join(w for w in words if w)

    def mismatch(
        self, incident: Incident, *, min_level: float | None = None, max_level: float | None = None, kind: bool = True
    ) -> str:
        """Why ``incident`` is not this runbook's business ('' when it is).

        ``min_level``/``max_level`` are a catalog trigger's bounds on the alarm's level (the trigger's
        minimum replaces the runbook's default); ``kind`` False skips the resource-kind check (an entry
        naming its own target dimension says the kind itself).
        """
        facts = incident.facts
        if incident.source != self.source:
            return f"{incident.source} events are not {self.source} events"
        # An event that names no single resource still reaches its runbook, whose plan escalates it.
        if kind and self.kinds and not incident.ambiguity and facts.get("resource_kind") not in self.kinds:
            found = facts.get("resource_kind") or "no resource selfheal knows"
            return f"it is about {found}, not {' or '.join(self.kinds)}"
        if self.types and not any(fnmatchcase(incident.subject, t) for t in self.types):
            return f"{incident.subject!r} is not one of {list(self.types)}"
        if self.source != "alarm":
            return ""
        return self._alarm_mismatch(incident, self.min_level if min_level is None else min_level, max_level)

    def _alarm_mismatch(self, incident: Incident, low: float | None, high: float | None) -> str:
        facts = incident.facts
        if self.metrics and not any(fnmatchcase(incident.subject, m) for m in self.metrics):
            return f"metric {incident.subject or '(none)'} is not {' or '.join(self.metrics)}"
        why = dimension_mismatch(self.dimension_values, facts) or direction_mismatch(incident, self.direction)
        if why or incident.state == "resolved":
            return why
        why = level_mismatch(facts, low, high)
        if why:
            return why
        if self.needs_datapoints and facts.get("missing_data_breached"):
            return "the alarm fired on missing data treated as breaching, not on a measured value"
        seconds = facts.get("breach_seconds")
        if self.min_breach_s and (not isinstance(seconds, int) or seconds < self.min_breach_s):
            how_long = "for an unknown time" if seconds is None else f"for {seconds} s"
            return f"the alarm breached {how_long}, this runbook repairs a breach of {self.min_breach_s} s or more"
        return ""
