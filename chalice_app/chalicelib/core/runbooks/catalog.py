"""The runbook catalog as data: which events trigger which runbook, with which parameters and limits.

A catalog is a JSON document (``load_catalog``), validated with errors that name the offending
path, so operators change runbooks without changing code::

    {"runbooks": [
      {"name": "ec2-reboot",                 # unique entry name (audit, cooldown keys, IAM)
       "action": "ec2-reboot",               # runbook module (default: the name)
       "description": "...",
       "triggers": [{"source": "alarm", "namespace": "AWS/EC2", "metric": "CPUUtilization"}],
       "target": {"dimension": "Host"},      # optional, alarms: the dimension naming the resource
       "params": {},                         # checked against the runbook's PARAMS
       "limits": {"cooldown_s": 900, "max_in_flight_pct": 10},    # core.runbooks.plan.Limits fields
       "approval": false,                    # critical: a human approves the exact plan
       "dry_run": true}                      # audit and notify, change nothing (safe default)
    ]}

Triggers: ``alarm`` (``namespace`` + ``metric``, optional ``dimensions`` the metric must carry,
optional ``alarm_names`` globs, ``direction`` "above"/"below" (the side the alarm breached),
``min_threshold``/``max_threshold`` (bounds on the alarm's threshold, or its band's edge for an
anomaly alarm), ``dimension_values`` ({"path": ["/"]}: each named dimension has one of the
values, ``*`` globs)), ``guardduty`` (``types``: finding types, ``*`` globs; ``min_severity``),
``health`` (``types``: event type codes), and any event source a runbook declares
(``Runbook.events``: ``backup``, ``rds``, ...; ``types``: globs of its subject). Every condition a
trigger states must hold: naming alarms narrows a metric trigger, it never widens it; a trigger with
``alarm_names`` alone matches by name.
Then the runbook's own ``MATCHES`` (core/runbooks/conditions.py) must hold too: a catalog can
narrow what a runbook repairs, never widen it (ec2-reboot never reboots on an idle alarm). The
first entry whose trigger and runbook match wins. How the target is found: by default from the
alarm's dimensions (an instance from
``InstanceId``, an ECS service from ``ClusterName``+``ServiceName``, a Lambda alias from ``Resource``;
the runbook's ``TARGET`` names the kind it needs), from the finding's instance, from the Health
entity; an entry's ``target.dimension`` names another dimension that holds the resource id (a
custom metric with ``Host`` = instance id). Every metric input must carry it with one value.

An entry and its triggers are data types of core/runbooks/entry.py; this module reads, checks and
matches them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks.conditions import DIRECTIONS
from chalicelib.core.runbooks.entry import RunbookEntry, Trigger
from chalicelib.core.runbooks.plan import Incident, Limits
from chalicelib.core.runbooks.registry import event_sources, runbooks
from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

SOURCES = ("alarm", "guardduty", "health")  # and the event sources the runbooks declare (``sources``)
LIMIT_FIELDS = {f.name: f for f in dataclasses.fields(Limits)}
ENTRY_KEYS = {"name", "action", "description", "triggers", "target", "params", "limits", "approval", "dry_run"}
TRIGGER_KEYS = {
    "alarm": {
        "source",
        "namespace",
        "metric",
        "dimensions",
        "alarm_names",
        "direction",
        "min_threshold",
        "max_threshold",
        "dimension_values",
    },
    "guardduty": {"source", "types", "min_severity"},
    "health": {"source", "types"},
}
DECLARED_TRIGGER_KEYS = {"source", "types"}


def sources() -> tuple[str, ...]:
    """Every trigger source: the built-in ones, then the event sources the runbooks declare."""
    return (*SOURCES, *event_sources())


Catalog = tuple[RunbookEntry, ...]


def _fail(where: str, problem: str) -> ConfigError:
    return ConfigError(f"runbook catalog {where}: {problem}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, "must be a list of non-empty strings")
    return tuple(value)


def _finite(value: Any, where: str, what: str = "a number") -> float:
    """A finite JSON number (Python's json reads NaN, Infinity and 1e400 as floats: refused here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"must be {what}, not {value!r}")
    if not math.isfinite(value):
        raise _fail(where, f"must be a finite number, not {value!r}")
    return float(value)


def _alarm_fields(raw: Mapping[str, Any], where: str, kwargs: dict[str, Any]) -> None:
    """The alarm trigger's meaning fields: direction, threshold bounds, dimension values."""
    if "direction" in raw:
        if raw["direction"] not in DIRECTIONS:
            raise _fail(f"{where}.direction", f"must be one of {list(DIRECTIONS)}, not {raw['direction']!r}")
        kwargs["direction"] = raw["direction"]
    for key in ("min_threshold", "max_threshold"):
        if key in raw:
            kwargs[key] = _finite(raw[key], f"{where}.{key}")
    low, high = kwargs.get("min_threshold"), kwargs.get("max_threshold")
    if low is not None and high is not None and low > high:
        raise _fail(f"{where}.max_threshold", f"is below min_threshold ({high:g} < {low:g})")
    if "dimension_values" in raw:
        values = raw["dimension_values"]
        if not isinstance(values, dict) or not values or not all(values.values()):
            raise _fail(f"{where}.dimension_values", 'must be an object of non-empty lists like {"path": ["/"]}')
        kwargs["dimension_values"] = tuple(
            (str(k), _strings(v, f"{where}.dimension_values.{k}")) for k, v in sorted(values.items())
        )


def _trigger(raw: Any, where: str) -> Trigger:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    source = raw.get("source")
    if source not in sources():
        raise _fail(f"{where}.source", f"must be one of {list(sources())}, not {source!r}")
    unknown = set(raw) - TRIGGER_KEYS.get(source, DECLARED_TRIGGER_KEYS)
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(unknown)} for a {source} trigger")
    kwargs: dict[str, Any] = {"source": source}
    for key in ("namespace", "metric"):
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key]:
                raise _fail(f"{where}.{key}", "must be a non-empty string")
            kwargs[key] = raw[key]
    for key in ("dimensions", "alarm_names", "types"):
        if key in raw:
            kwargs[key] = _strings(raw[key], f"{where}.{key}")
    if "min_severity" in raw:
        kwargs["min_severity"] = _finite(raw["min_severity"], f"{where}.min_severity")
    if source == "alarm":
        _alarm_fields(raw, where, kwargs)
    if source == "alarm" and not kwargs.get("alarm_names") and not (kwargs.get("namespace") and kwargs.get("metric")):
        raise _fail(where, "an alarm trigger needs namespace and metric (or alarm_names)")
    if bool(kwargs.get("namespace")) != bool(kwargs.get("metric")):
        raise _fail(where, "namespace and metric go together")
    if source != "alarm" and not kwargs.get("types"):
        raise _fail(where, f"a {source} trigger needs types")
    return Trigger(**kwargs)


def _limits(raw: Any, entry: Mapping[str, Any], where: str) -> Limits:
    if not isinstance(raw, dict):
        raise _fail(f"{where}.limits", "must be an object")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        spec = LIMIT_FIELDS.get(key)
        if spec is None or key in ("approval", "dry_run"):
            raise _fail(
                f"{where}.limits.{key}", f"unknown limit (known: {sorted(set(LIMIT_FIELDS) - {'approval', 'dry_run'})})"
            )
        kind = float if isinstance(spec.default, float) else int
        number = _finite(value, f"{where}.limits.{key}", "a non-negative number")
        if number < 0:
            raise _fail(f"{where}.limits.{key}", f"must be a non-negative number, not {value!r}")
        values[key] = kind(number)
    if values.get("max_in_flight_pct", 0.0) > 100:  # noqa: PLR2004 - a percentage
        raise _fail(f"{where}.limits.max_in_flight_pct", "is a percentage of the fleet, between 0 and 100")
    for flag in ("approval", "dry_run"):
        if flag in entry:
            if not isinstance(entry[flag], bool):
                raise _fail(f"{where}.{flag}", "must be true or false")
            values[flag] = entry[flag]
    return Limits(**values)


def _entry(raw: Any, where: str) -> RunbookEntry:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(unknown)} (known: {sorted(ENTRY_KEYS)})")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(f"{where}.name", "must be a non-empty string")
    where = f"{where} ({name})"
    action = raw.get("action", name)
    runbook = runbooks().get(action)
    if runbook is None:
        raise _fail(f"{where}.action", f"unknown runbook {action!r} (known: {sorted(runbooks())})")
    triggers = raw.get("triggers")
    if not isinstance(triggers, list) or not triggers:
        raise _fail(f"{where}.triggers", "must be a non-empty list")
    parsed = tuple(_trigger(t, f"{where}.triggers[{i}]") for i, t in enumerate(triggers))
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise _fail(f"{where}.params", "must be an object")
    problem = runbook.check_params(params)
    if problem:
        raise _fail(f"{where}.params", problem)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _fail(f"{where}.description", "must be a string")
    target = raw.get("target", {})
    if not isinstance(target, dict) or set(target) - {"dimension"} or not isinstance(target.get("dimension", ""), str):
        raise _fail(f"{where}.target", 'must be {"dimension": "<alarm dimension name>"}')
    if target and any(t.source != "alarm" for t in parsed):
        raise _fail(f"{where}.target", "a target dimension needs alarm triggers only")
    return RunbookEntry(
        name=name,
        action=action,
        triggers=parsed,
        params={**runbook.params, **params},
        limits=_limits(raw.get("limits", {}), raw, where),
        description=description or runbook.summary,
        target_dimension=target.get("dimension", ""),
    )


def load_catalog(source: str | Mapping[str, Any]) -> Catalog:
    """The catalog in ``source`` (JSON text or the parsed document); ConfigError naming what is wrong."""
    if isinstance(source, str):
        try:
            doc: Any = json.loads(source)
        except json.JSONDecodeError as exc:
            raise _fail("JSON", str(exc)) from exc
    else:
        doc = source
    if not isinstance(doc, dict) or set(doc) != {"runbooks"} or not isinstance(doc["runbooks"], list):
        raise _fail("document", 'must be {"runbooks": [entry, ...]}')
    entries = tuple(_entry(e, f"runbooks[{i}]") for i, e in enumerate(doc["runbooks"]))
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail("runbooks", f"duplicate name(s) {duplicates}")
    return entries


def match(catalog: Sequence[RunbookEntry], incident: Incident) -> RunbookEntry | None:
    """The first entry a trigger of which matches ``incident``; None for none.

    Never matches an incident that must never act (sample or archived finding), nor an open alarm
    that is not in ALARM (INSUFFICIENT_DATA). A resolved incident (alarm OK, Health closed) matches
    the entry that acted on it, so the governor can close the action as healed.
    """
    return explain(catalog, incident)[0]


def explain(catalog: Sequence[RunbookEntry], incident: Incident) -> tuple[RunbookEntry | None, str]:
    """(matching entry or None, why none matched — '' when one did)."""
    if incident.never_act:
        return None, incident.never_act
    state = incident.facts.get("state_value")
    if incident.source == "alarm" and incident.state == "open" and state != "ALARM":
        return None, f"alarm state {state or 'unknown'} is not ALARM"
    reasons, meanings = [], []
    # First match wins, in catalog order: put narrow entries (alarm names) before broad ones.
    for entry in catalog:
        for trigger in entry.triggers:
            why = trigger.mismatch(incident)
            if not why:
                why = entry.meaning_mismatch(incident, trigger, runbooks()[entry.action].matches)
                if not why:
                    return entry, ""
                meanings.append(f"{entry.name}: {why}")
            elif trigger.source == incident.source:
                reasons.append(f"{entry.name}: {why}")
    if meanings:  # the signal reached a runbook that does not repair what it means
        return None, f"not what the runbook repairs ({'; '.join(dict.fromkeys(meanings))})"
    return None, "no runbook matches" + (f" ({'; '.join(reasons)})" if reasons else f" {incident.source} events")


def default_document() -> dict[str, Any]:
    """The default catalog's document, generated from the runbooks' declarations (their ``default``).

    It matches alarms people already have, by namespace and metric. Every entry is dry-run unless its
    declaration says otherwise (the deployment's safe default).
    """
    return {
        "runbooks": [
            copy.deepcopy(r.catalog_entry()) for r in sorted(runbooks().values(), key=lambda r: (r.rank, r.name))
        ]
    }


def __getattr__(name: str) -> Any:
    """``DEFAULT_DOCUMENT``: the default catalog's document (generated at each read: callers may change it)."""
    if name == "DEFAULT_DOCUMENT":
        return default_document()
    raise AttributeError(name)


def default_catalog() -> Catalog:
    """The default catalog, validated like any other."""
    return load_catalog(default_document())


def stored_catalog(raw: str | None) -> Catalog:
    """The catalog a deployment stored (JSON text), or the default catalog when none is stored."""
    return default_catalog() if raw is None else load_catalog(raw)
