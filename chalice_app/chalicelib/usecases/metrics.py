"""Counting what happens, as CloudWatch EMF metrics through Powertools.

CloudWatch bills each metric name it receives in an hour (about $0.30 a month for one present every
hour). Counts fed by routine traffic — every log delivery, every new bug — would be billed all month,
and no alarm reads them: by default they are written to the log, in the same JSON line as the metrics
of that flush (as EMF metadata, which CloudWatch does not turn into metrics) or in a line of their
own, and the dashboard sums them with Logs Insights. SELFHEAL_ROUTINE_METRICS=1 makes them metrics too.
Counts of what is rare — failures, runbook decisions, regressions — stay metrics: they are billed only
in the hours they happen.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from collections.abc import Iterable

# Counts of routine traffic: logged by default, metrics when asked for (SELFHEAL_ROUTINE_METRICS).
ROUTINE_COUNTS = frozenset({"ErrorsSeen", "NewGroups", "JobsQueued", "PullRequests"})


class Counter(Protocol):
    """The port services count through."""

    def count(self, name: str, value: int = 1) -> None: ...

    def seconds(self, name: str, value: float) -> None: ...

    def flush(self) -> None: ...


class EmfCounter:
    """Counts as Powertools EMF metrics (one JSON line on stdout per flush); names in ``logged_only``
    are written in that line as values, not metrics (see the module's docstring)."""

    def __init__(self, namespace: str, service: str = "selfheal", logged_only: Iterable[str] = ()) -> None:
        self._metrics = Metrics(namespace=namespace, service=service)
        self._service = service
        self._logged_only = frozenset(logged_only)
        self._logged: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self._pending = False

    def count(self, name: str, value: int = 1) -> None:
        self.totals[name] = self.totals.get(name, 0) + value
        if value and name in self._logged_only:
            self._logged[name] = self._logged.get(name, 0) + value
        elif value:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            self._pending = True

    def seconds(self, name: str, value: float) -> None:
        """A duration, in the Seconds unit (CloudWatch keeps one unit per metric name)."""
        self._metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)
        self._pending = True

    def flush(self) -> None:
        logged, self._logged = self._logged, {}
        if self._pending:
            for name, value in logged.items():
                self._metrics.add_metadata(key=name, value=value)
            self._metrics.flush_metrics()
            self._pending = False
        elif logged and not _disabled():  # no metric to carry them: a line of their own
            print(json.dumps({"service": self._service, "counts": True, **logged}, separators=(",", ":")))


def _disabled() -> bool:
    """Powertools' switch for metrics output (local runs set it), honoured by the logged counts too."""
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() in ("1", "true", "yes", "on")
