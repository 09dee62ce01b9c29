"""What the cost benchmark counts: AWS requests (botocore hooks), handler time, log bytes, EMF metrics.

Everything is attributed to an *actor*: a Lambda function of selfheal (its requests and log lines
are billed), ``esm`` (the requests Lambda's event source mappings make for us: SQS receives and
deletes are billed, DynamoDB stream reads by a Lambda trigger are free) or ``setup`` (the bench's
own work, never billed).
"""

from __future__ import annotations

import io
import json
import math
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

KB = 1024


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one DynamoDB attribute value, by AWS's item-size rules (numbers approximated)."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = len(raw.lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "BS":
        return sum(len(getattr(b, "value", b)) for b in raw)
    if kind == "NS":
        return sum(attribute_size({"N": n}) for n in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + attribute_size(v) for k, v in raw.items())
    return len(json.dumps(raw))


def item_size(item: dict[str, Any]) -> int:
    """Bytes of a DynamoDB item: attribute names plus values."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


@dataclass
class Call:
    actor: str
    service: str
    operation: str
    key: str = ""  # DynamoDB: the partition key value written or read
    keys: tuple[str, ...] = ()  # BatchGetItem
    consistent: bool = False
    payload_bytes: int = 0  # SQS: message bodies
    start: float = 0.0
    end: float = 0.0


class CountingStream(io.TextIOBase):
    """Stands in for stdout: what a handler prints (Powertools JSON logs, EMF lines) is counted
    per actor and kept, never shown."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._meter.logged(text)
        return len(text)

    def flush(self) -> None:
        return None


@dataclass
class Meter:
    """Requests, invocations, wall time, log bytes and EMF metric lines, by actor."""

    actor: str = "setup"
    calls: list[Call] = field(default_factory=list)
    invocations: Counter = field(default_factory=Counter)
    seconds: defaultdict = field(default_factory=lambda: defaultdict(list))
    log_text: defaultdict = field(default_factory=lambda: defaultdict(list))
    emf: list[dict[str, Any]] = field(default_factory=list)
    waits: defaultdict = field(default_factory=lambda: defaultdict(list))
    cpu: defaultdict = field(default_factory=lambda: defaultdict(list))
    requests_per_invocation: defaultdict = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self._open = threading.local()

    def hook(self, session: Any) -> None:
        """Count every request made by clients of ``session`` (botocore ``before-call`` / ``after-call``)."""
        session.events.register("before-parameter-build", self._before_parameters)
        session.events.register("before-call", self._before_call)
        session.events.register("after-call", self._after_call)

    def _before_parameters(self, params: dict[str, Any] | None = None, **_: Any) -> None:
        self._open.params = params or {}  # the API parameters (before-call sees the serialized request)

    def _after_call(self, **_: Any) -> None:
        call = getattr(self._open, "call", None)
        if call is not None:
            call.end = time.perf_counter()
            self._open.call = None

    def _before_call(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        call = Call(self.actor, service, operation, start=time.perf_counter())
        self._open.call = call
        params = getattr(self._open, "params", None) or {}
        self._open.params = None
        if service == "dynamodb":
            key = params.get("Key") or params.get("Item") or {}
            if key:
                call.key = next(iter(key.values())).get("S", "")
            call.consistent = bool(params.get("ConsistentRead"))
            for request in (params.get("RequestItems") or {}).values():
                call.keys = tuple(next(iter(k.values())).get("S", "") for k in request.get("Keys", []))
                call.consistent = bool(request.get("ConsistentRead"))
        elif service == "sqs":
            bodies = [params.get("MessageBody", "")] + [e.get("MessageBody", "") for e in params.get("Entries", [])]
            call.payload_bytes = sum(len(b.encode()) for b in bodies)
        self.calls.append(call)

    def logged(self, text: str) -> None:
        if self.actor == "setup":
            return
        self.log_text[self.actor].append(text)
        stripped = text.strip()
        if stripped.startswith('{"_aws"') or '"CloudWatchMetrics"' in stripped[:200]:
            try:
                self.emf.append(json.loads(stripped))
            except ValueError:
                pass

    def invoke(self, actor: str, handler: Any, event: Any, context: Any, extra_s: float = 0.0) -> tuple[Any, float]:
        """Run one handler invocation as ``actor``; returns its result and wall seconds."""
        previous, self.actor = self.actor, actor
        first = len(self.calls)
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            result = handler(event, context)
        except Exception as exc:  # Lambda records the failure; the bench keeps going
            result = exc
        finally:
            elapsed = time.perf_counter() - start
            self.cpu[actor].append(time.thread_time() - cpu)
            self.actor = previous
        mine = [c for c in self.calls[first:] if c.actor == actor and c.end]
        self.requests_per_invocation[actor].append(mine)
        self.invocations[actor] += 1
        self.seconds[actor].append(elapsed + extra_s)
        self.waits[actor].append(self._waited(start, start + elapsed))
        return result, elapsed

    def _waited(self, start: float, end: float) -> float:
        """Seconds of [start, end] spent waiting for AWS answers (the union of the calls' intervals)."""
        spans = sorted((c.start, c.end) for c in self.calls[-500:] if c.end and c.start >= start)
        total, reach = 0.0, start
        for a, b in spans:
            b = min(b, end)
            if b > reach:
                total += b - max(a, reach)
                reach = b
        return total

    def as_actor(self, actor: str) -> _As:
        return _As(self, actor)

    def count(self, actors: set[str] | None = None) -> Counter:
        """Requests by (service, operation) for ``actors`` (all billed actors when None)."""
        return Counter(
            (c.service, c.operation) for c in self.calls if (c.actor in actors if actors else c.actor != "setup")
        )

    def log_bytes(self, actor: str) -> int:
        return sum(len(t.encode()) for t in self.log_text[actor])

    def metric_keys(self) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
        """Distinct (namespace, metric, dimensions) in the EMF lines: each is one billed custom metric."""
        keys = set()
        for doc in self.emf:
            for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
                for dims in directive.get("Dimensions", [[]]):
                    values = tuple((d, str(doc.get(d, ""))) for d in dims)
                    for metric in directive.get("Metrics", []):
                        keys.add((directive.get("Namespace", ""), metric["Name"], values))
        return keys


class _As:
    def __init__(self, meter: Meter, actor: str) -> None:
        self._meter = meter
        self._actor = actor
        self._previous = ""

    def __enter__(self) -> None:
        self._previous, self._meter.actor = self._meter.actor, self._actor

    def __exit__(self, *exc: object) -> None:
        self._meter.actor = self._previous
