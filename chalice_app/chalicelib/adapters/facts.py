"""The reads a runbook's plan needs: run its non-mutating Calls, answers keyed by operation name;
and ``RunbookPlanner``, which puts catalog, reads and runbook together for the remediate service.

A read whose resource does not exist is a fact (``{"error": "NotFound: ..."}``), so the runbook can
escalate with the reason; throttling, access and other errors raise (translated), so the event is
retried or fails loudly. Paginated reads are read to the end.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.core import runbooks
from chalicelib.core.runbooks.plan import Limits
from chalicelib.errors import NotFound, PayloadError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from chalicelib.core.runbooks import Planned
    from chalicelib.core.runbooks.catalog import Catalog
    from chalicelib.core.runbooks.plan import Call, Incident, Plan

log = logging.getLogger(__name__)


class Facts:
    """Runs read-only Calls with clients from ``client`` (a boto3 client factory: service → client)."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = client
        self._clients: dict[str, Any] = {}

    def _for(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._client(service)
        return self._clients[service]

    def read(self, calls: Iterable[Call]) -> dict[str, Any]:
        """{operation: answer (without ResponseMetadata) or {"error": ...} when the resource is gone}.

        Raises PayloadError for a mutating call (a read never changes anything), and the translated
        error of any failure other than a missing resource.
        """
        facts: dict[str, Any] = {}
        for call in calls:
            if call.mutating:
                raise PayloadError(f"{call.service}.{call.operation} is not a read")
            client = self._for(call.service)
            what = f"{call.service}.{call.operation}"
            try:
                # Read to the end: a function's versions or a command's invocations span pages.
                if client.can_paginate(call.operation):
                    answer = client.get_paginator(call.operation).paginate(**call.params).build_full_result()
                else:
                    answer = getattr(client, call.operation)(**call.params)
            except ClientError as exc:
                error = translate(exc, what)
                if not isinstance(error, NotFound):
                    raise error from exc
                log.info("read found nothing", extra={"call": what, "error": str(error)})
                facts[call.operation] = {"error": str(error)}
            else:
                answer.pop("ResponseMetadata", None)
                facts[call.operation] = answer
        return facts


class RunbookPlanner:
    """What would be done about an incident, with the reads made: catalog match → reads → plan → fleet size.

    ``catalog`` returns the catalog in force (re-read by the caller's cache policy); ``client`` is a
    boto3 client factory. ``planned`` tells everything; ``plan`` is the remediate service's Planner.
    """

    def __init__(self, catalog: Callable[[], Catalog], client: Callable[[str], Any]) -> None:
        self._catalog = catalog
        self._facts = Facts(client)

    def planned(self, incident: Incident) -> tuple[Planned, int | None]:
        """(the catalog's and runbook's answer after the reads, fleet size or None when unknown)."""
        catalog = self._catalog()
        first = runbooks.plan_for(catalog, incident)
        # No reads for an event no runbook handles (nor an ambiguous alarm), nor for a resolved one:
        # the governor only closes the open action on it.
        if first.entry is None or incident.state == "resolved":
            return first, None
        facts = self._facts.read(runbooks.reads_for(first.entry, incident))
        planned = runbooks.plan_for(catalog, incident, facts)
        reads = runbooks.fleet_reads_for(planned.plan)
        return planned, runbooks.fleet_size(self._facts.read(reads)) if reads else None

    def plan(self, incident: Incident) -> tuple[Plan | None, Limits | None, int | None]:
        """(plan, limits, fleet size) for services/remediate.py; (None, None, None) when nothing is to be done.

        A target the facts show selfheal already holds (its mark) and a runbook standing down (a
        deployment in progress) come back as None too — never acted on, no slot taken; ``planned``
        says which. An open alarm that names no single resource gets a plan with a problem and the
        default limits, so the governor escalates it.
        """
        planned, size = self.planned(incident)
        plan = planned.plan
        if plan is None or planned.incident.caused_by_selfheal or plan.stand_down:
            if plan is not None:
                log.info(
                    "no action on %s: %s", incident.identity, planned.incident.caused_by_selfheal or plan.stand_down
                )
            return None, None, None
        limits = planned.entry.limits if planned.entry is not None else Limits()
        return plan, limits, size
