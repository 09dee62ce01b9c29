"""The reads a runbook's plan needs: run its non-mutating Calls, answers keyed by operation name.

A read whose resource does not exist is a fact (``{"error": "NotFound: ..."}``), so the runbook can
escalate with the reason; throttling, access and other errors raise (translated), so the event is
retried or fails loudly. Paginated reads are read to the end.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.errors import NotFound, PayloadError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from chalicelib.core.runbooks.plan import Call

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
