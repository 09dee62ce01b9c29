"""The reads a runbook's plan needs: run its non-mutating Calls, answers keyed by operation name;
and ``RunbookPlanner``, which puts catalog, reads and runbook together for the remediate service.

A read whose resource does not exist is a fact (``{"error": "NotFound: ..."}``), so the runbook can
escalate with the reason; throttling, access and other errors raise (translated), so the event is
retried or fails loudly. Paginated reads are read to the end.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.core import runbooks
from chalicelib.core.runbooks.plan import Limits, Proposal
from chalicelib.errors import NotFound, PayloadError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

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

    def planned(self, incident: Incident) -> tuple[Planned, Mapping[str, Any], int | None]:
        """(the catalog's and runbook's answer after the reads, the facts read, fleet size or None)."""
        catalog = self._catalog()
        first = runbooks.plan_for(catalog, incident)
        # No reads for an event no runbook handles (nor an ambiguous alarm), nor for a resolved one:
        # the governor only closes the open action on it.
        if first.entry is None or incident.state == "resolved":
            return first, {}, None
        facts = runbooks.read_facts(self._facts.read, first.entry, incident)
        planned = runbooks.plan_for(catalog, incident, facts)
        reads = runbooks.fleet_reads_for(planned.plan)
        return planned, facts, runbooks.fleet_size(self._facts.read(reads)) if reads else None

    def verified(self, plan: Plan) -> bool | None:
        """Whether an executed plan's target reads as repaired; None when its runbook verifies only
        by an event (an alarm back to OK)."""
        reads = runbooks.verify_reads_for(plan)
        return runbooks.verified_for(plan, self._facts.read(reads)) if reads else None

    def propose(self, incident: Incident) -> Proposal:
        """The remediate service's Planner: what to decide about ``incident``, with its reads made.

        The incident comes back marked ``caused_by_selfheal`` when the facts show selfheal's mark on
        the target, and a plan may carry ``stand_down`` (a deployment in progress): the governor
        audits both without acting. An open alarm that names no single resource gets a plan with a
        problem and the default limits, so the governor escalates it.
        """
        planned, facts, size = self.planned(incident)
        if planned.plan is None:
            # The sentence a person reads rides on the incident: the governor decides "notify" (once per event).
            return Proposal(dataclasses.replace(planned.incident, notify=planned.notify), notify=planned.notify)
        entry = planned.entry
        limits = entry.limits if entry is not None else Limits()
        before = runbooks.before_for(entry, facts) if entry is not None and facts else {}
        return Proposal(planned.incident, planned.plan, limits, size, before)
