"""Runs exactly a Plan's calls, in order, through boto3; dry-run makes no call and returns the same list.

One generic executor for every runbook: a Call is ``getattr(client(service), operation)(**params)``.
It refuses a plan with a parameter only a read could fill (None) before making any call, stops at
the first failed call (later calls assume the earlier ones happened: a quarantine group before the
tag, a stop before the start) and raises that call's error, translated in one place
(``aws_errors.translate``: TransientError → retry, others → the action failed), with the per-call
results so far on the error's ``results`` attribute (the audit keeps what was done).
A call with ``wait_for`` is followed by that boto3 waiter, given the call's matching parameters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, WaiterError

from chalicelib.adapters.aws_errors import translate
from chalicelib.core.runbooks.plan import Plan
from chalicelib.errors import PayloadError, SelfHealError, TransientError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from chalicelib.core.runbooks.plan import Call

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallResult:
    """One call's outcome: AWS's answer (without ResponseMetadata), or the translated error."""

    call: Call
    response: Mapping[str, Any] = field(default_factory=dict)
    error: SelfHealError | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """The call succeeded (or was not made, in a dry run)."""
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        """The audit shape: the call, whether it ran, and its error."""
        return {**self.call.as_dict(), "dry_run": self.dry_run, "error": str(self.error) if self.error else ""}


def unresolved(params: Any, path: str = "") -> list[str]:
    """The paths of None values in ``params`` (what only a read could have told)."""
    if params is None:
        return [path or "<params>"]
    if isinstance(params, dict):
        return [p for k, v in params.items() for p in unresolved(v, f"{path}.{k}" if path else str(k))]
    if isinstance(params, list | tuple):
        return [p for i, v in enumerate(params) for p in unresolved(v, f"{path}[{i}]")]
    return []


class Executor:
    """Runs calls with clients from ``client`` (a boto3 client factory: service → client)."""

    def __init__(self, client: Callable[[str], Any], *, waiter_delay_s: int = 5, waiter_attempts: int = 60) -> None:
        self._client = client
        self._clients: dict[str, Any] = {}
        self._waiter = {"Delay": waiter_delay_s, "MaxAttempts": waiter_attempts}

    def _for(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._client(service)
        return self._clients[service]

    def run(self, plan: Plan | Iterable[Call], *, dry_run: bool = False, raise_error: bool = True) -> list[CallResult]:
        """One result per call, in order. ``plan``: a Plan (its calls) or the calls themselves.

        Dry run: no call at all, one result per call. Raises PayloadError, before any call, when a
        parameter is None. A failed call stops the run: its translated error is raised (with
        ``.results``, the failing call last), or, with ``raise_error=False``, returned as the last result.
        """
        calls = plan.calls if isinstance(plan, Plan) else tuple(plan)
        # All or nothing on parameters: a plan made without reads must never half-run.
        for call in calls:
            missing = unresolved(dict(call.params))
            if missing:
                raise PayloadError(f"{call.service}.{call.operation} has unresolved parameters {missing}")
        if dry_run:
            return [CallResult(call, dry_run=True) for call in calls]
        results = []
        for call in calls:
            result = self._run_one(call)
            results.append(result)
            if result.error is not None:
                log.warning("plan stopped at %s.%s: %s", call.service, call.operation, result.error)
                if raise_error:
                    result.error.results = results  # type: ignore[attr-defined]
                    raise result.error
                break
        return results

    def _run_one(self, call: Call) -> CallResult:
        client = self._for(call.service)
        what = f"{call.service}.{call.operation}"
        try:
            answer = getattr(client, call.operation)(**call.params)
            if call.wait_for:
                self._wait(client, call)
        except ClientError as exc:
            return CallResult(call, error=translate(exc, what))
        except WaiterError as exc:
            return CallResult(call, error=TransientError(f"{what}: waiting for {call.wait_for}: {exc}"))
        answer.pop("ResponseMetadata", None)
        log.info("call made: %s", what)
        return CallResult(call, answer)

    def _wait(self, client: Any, call: Call) -> None:
        """Run the call's waiter with the call's parameters its operation accepts (InstanceIds, ...)."""
        # A waiter polls another operation (stop_instances → DescribeInstances): pass only the
        # parameters that operation accepts.
        waiter = client.get_waiter(call.wait_for)
        members = client.meta.service_model.operation_model(waiter.config.operation).input_shape.members
        waiter.wait(**{k: v for k, v in call.params.items() if k in members}, WaiterConfig=self._waiter)
