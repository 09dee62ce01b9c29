"""Healing statistics: what the runbooks did over a window, per runbook and per layer. Pure.

The governor table keeps one counter item per (UTC day, runbook) (adapters/governor_store.py,
``stats#<day>``); ``aggregate`` sums the days of a window into the figures `selfheal.py runbooks
stats` prints (**contract**)::

    {"runbooks": [{"runbook", "layer", "acted", "healed", "escalated", "failed", "suppressed",
                   "success_rate", "median_time_to_heal_s", ...}],
     "layers": {"<layer>": {...the same fields...}}}

``success_rate`` is healed / acted, capped at 1 (an action acted before the window may heal inside
it) and null when nothing acted; the times to heal are null when nothing healed. Extra fields:
``p90_time_to_heal_s``, ``duplicates`` (redeliveries, not counted as suppressed), ``dry_run``
(what a runbook in dry-run would have done), and at the top
``since_s`` and ``days``.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# The counters of a day item, in the contract's order.
COUNTS = ("acted", "healed", "escalated", "failed", "suppressed", "duplicates", "dry_run")
_DAY_MS = 86_400_000
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


@dataclass(frozen=True)
class DayCounts:
    """One runbook's counters of one UTC day, as the governor table keeps them."""

    day: str  # YYYY-MM-DD (UTC)
    runbook: str
    acted: int = 0
    healed: int = 0
    escalated: int = 0
    failed: int = 0
    suppressed: int = 0
    duplicates: int = 0
    dry_run: int = 0
    heal_seconds: tuple[float, ...] = ()  # one per healed action that knows its time to heal


@dataclass(frozen=True)
class Figures:
    """The sums of some day counters and the figures made from them."""

    acted: int = 0
    healed: int = 0
    escalated: int = 0
    failed: int = 0
    suppressed: int = 0
    duplicates: int = 0
    dry_run: int = 0
    heal_seconds: tuple[float, ...] = ()  # sorted

    @property
    def success_rate(self) -> float | None:
        """healed / acted in [0, 1]; None when nothing acted."""
        return min(self.healed, self.acted) / self.acted if self.acted else None

    @property
    def median_s(self) -> float | None:
        return float(statistics.median(self.heal_seconds)) if self.heal_seconds else None

    @property
    def p90_s(self) -> float | None:
        return percentile(self.heal_seconds, 90)

    def as_json(self) -> dict[str, Any]:
        """The figure fields of the contract (and the extras), for one runbook or one layer."""
        rate = self.success_rate
        return {
            **{name: getattr(self, name) for name in COUNTS},
            "success_rate": round(rate, 4) if rate is not None else None,
            "median_time_to_heal_s": _seconds(self.median_s),
            "p90_time_to_heal_s": _seconds(self.p90_s),
        }


def _seconds(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def percentile(ordered: tuple[float, ...], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile of sorted values (a value that occurred); None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def total(rows: Iterable[DayCounts | Figures]) -> Figures:
    """The sum of day counters (or of figures): counts added, times to heal merged and sorted."""
    rows = list(rows)
    sums = {name: sum(getattr(r, name) for r in rows) for name in COUNTS}
    return Figures(**sums, heal_seconds=tuple(sorted(s for r in rows for s in r.heal_seconds)))


@dataclass(frozen=True)
class HealStats:
    """The window's figures per runbook (with its layer) and per layer."""

    runbooks: tuple[tuple[str, str, Figures], ...]  # (runbook, layer, figures), by name
    layers: tuple[tuple[str, Figures], ...]  # (layer, figures), by name
    days: tuple[str, ...] = ()
    since_s: int = 0

    def as_json(self) -> dict[str, Any]:
        """The `runbooks stats --json` document (contract)."""
        return {
            "runbooks": [{"runbook": name, "layer": layer, **f.as_json()} for name, layer, f in self.runbooks],
            "layers": {layer: {"layer": layer, **f.as_json()} for layer, f in self.layers},
            "since_s": self.since_s,
            "days": list(self.days),
        }


def aggregate(
    rows: Iterable[DayCounts], layer_of: Callable[[str], str], *, days: Iterable[str] = (), since_s: int = 0
) -> HealStats:
    """Sum day counters per runbook and per layer (rows of days outside ``days``, when given, are left out)."""
    wanted = frozenset(days)
    by_runbook: dict[str, list[DayCounts]] = {}
    for row in rows:
        if not wanted or row.day in wanted:
            by_runbook.setdefault(row.runbook, []).append(row)
    runbooks = tuple((name, layer_of(name), total(by_runbook[name])) for name in sorted(by_runbook))
    by_layer: dict[str, list[Figures]] = {}
    for _, layer, figures in runbooks:
        by_layer.setdefault(layer, []).append(figures)
    layers = tuple((layer, total(by_layer[layer])) for layer in sorted(by_layer))
    return HealStats(runbooks, layers, tuple(sorted(wanted)), since_s)


def parse_since(text: str) -> int:
    """Seconds of a window written ``7d``, ``12h``, ``30m``, ``90s`` (a bare number is days); ValueError else."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhms]?)\s*", text or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a window: {text!r} (examples: 7d, 12h, 30m)")
    return int(match.group(1)) * _UNITS[match.group(2) or "d"]


def day_of(epoch_ms: int) -> str:
    """The UTC day of an instant, ``YYYY-MM-DD`` (the counters' key)."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch_ms // 1000))


def window_days(now_ms: int, since_s: int) -> tuple[str, ...]:
    """The UTC days a window ending now touches, oldest first: counters are kept per whole day, so
    the window is widened to the start of its first day."""
    first = (now_ms - since_s * 1000) // _DAY_MS
    return tuple(day_of(d * _DAY_MS) for d in range(first, now_ms // _DAY_MS + 1))


def render(stats: HealStats) -> str:
    """The figures as a table for people: one line per runbook, then one per layer."""
    header = ("RUNBOOK", "LAYER", "ACTED", "HEALED", "ESCALATED", "FAILED", "SUPPRESSED", "SUCCESS", "MEDIAN", "P90")

    def row(name: str, layer: str, f: Figures) -> tuple[str, ...]:
        rate = f.success_rate
        return (
            name, layer, str(f.acted), str(f.healed), str(f.escalated), str(f.failed), str(f.suppressed),
            f"{rate:.0%}" if rate is not None else "-", _duration(f.median_s), _duration(f.p90_s),
        )  # fmt: skip

    rows = [row(n, layer, f) for n, layer, f in stats.runbooks]
    rows += [row(f"(all {layer})", layer, f) for layer, f in stats.layers]
    if not rows:
        return f"no runbook decisions recorded in {', '.join(stats.days[:1] + stats.days[-1:]) or 'the window'}"
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in (header, *rows))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.1f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"
