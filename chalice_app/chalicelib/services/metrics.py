"""Counting what happens, as CloudWatch EMF metrics through Powertools."""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit


class Counter(Protocol):
    """The port services count through."""

    def count(self, name: str, value: int = 1) -> None: ...

    def seconds(self, name: str, value: float) -> None: ...

    def flush(self) -> None: ...


class EmfCounter:
    """Counts as Powertools EMF metrics (one JSON line on stdout per flush)."""

    def __init__(self, namespace: str, service: str = "selfheal") -> None:
        self._metrics = Metrics(namespace=namespace, service=service)
        self.totals: dict[str, int] = {}
        self._pending = False

    def count(self, name: str, value: int = 1) -> None:
        self.totals[name] = self.totals.get(name, 0) + value
        if value:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            self._pending = True

    def seconds(self, name: str, value: float) -> None:
        """A duration, in the Seconds unit (CloudWatch keeps one unit per metric name)."""
        self._metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)
        self._pending = True

    def flush(self) -> None:
        if self._pending:
            self._metrics.flush_metrics()
            self._pending = False
