"""A small estate for the runbooks of declared event sources, on the moto server: the governor's table,
the notification topic (with a queue to read what was published), the catalog and the kill switch in
SSM; the event remediator invoked through chalice.test.Client, as EventBridge would.

``StubbedClients`` hands out a botocore-Stubber client for a service moto lacks (AWS Backup jobs: moto
5.2.5 has no start_backup_job / describe_backup_job / list_backup_jobs), every other client on moto;
every call is counted by operation name.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.stub import Stubber
from chalice.test import Client
from local_infra import Clock, topic_with_inbox

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.governor_store import TTL_ATTRIBUTE, table_definition
from chalicelib.adapters.runbook_config import CATALOG, KILL_SWITCH
from chalicelib.adapters.settings import Settings
from chalicelib.core.runbooks.catalog import default_document

if TYPE_CHECKING:
    from collections.abc import Iterable


class StubbedClients(Clients):
    """moto clients, but one Stubber-backed client per stubbed service (the same one on every call)."""

    def __init__(self, settings: Settings, stubbed: Iterable[str] = ()) -> None:
        super().__init__(settings)
        self.calls: Counter[str] = Counter()
        self.stubs: dict[str, Stubber] = {}
        self._stubbed: dict[str, Any] = {}
        for service in stubbed:
            client = super().client(service)
            client.meta.events.register("before-call.*.*", self._count)
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()
            self._stubbed[service] = client

    def client(self, service: str) -> Any:
        if service in self._stubbed:
            return self._stubbed[service]
        made = super().client(service)
        made.meta.events.register("before-call.*.*", self._count)
        return made

    def _count(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.split(".", 2)[2]] += 1


@dataclass
class EventEstate:
    """selfheal's own parts on the moto server, and the remediator's view of AWS."""

    clients: StubbedClients
    inbox_url: str
    clock: Clock

    def send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Deliver ``event`` to the event remediator; its decisions."""
        import app

        with Client(app.app) as client:
            return client.lambda_.invoke("event_remediator", event).payload["decisions"]

    def published(self) -> list[dict[str, Any]]:
        """The notices published since the last read."""
        sqs = self.clients.sqs
        answer = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10)
        messages = answer.get("Messages", [])
        for m in messages:
            sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


def event_estate(endpoint: str, *, enabled: Iterable[str] = (), stubbed: Iterable[str] = ()) -> EventEstate:
    """The estate with the default catalog, the runbooks named in ``enabled`` out of dry-run."""
    base = Clients(Settings(endpoint_url=endpoint))
    unique = uuid.uuid4().hex[:8]
    table, prefix = f"selfheal-governor-{unique}", f"/selfheal-events-{unique}/"
    base.dynamodb.create_table(**table_definition(table))
    base.dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    topic_arn, inbox_url = topic_with_inbox(base.client("sns"), base.sqs)
    doc = default_document()
    for entry in doc["runbooks"]:
        if entry["name"] in set(enabled):
            entry["dry_run"] = False
    base.ssm.put_parameter(Name=prefix + CATALOG, Value=json.dumps(doc), Type="String")
    base.ssm.put_parameter(Name=prefix + KILL_SWITCH, Value="off", Type="String")
    settings = Settings(endpoint_url=endpoint, governor_table_name=table, topic_arn=topic_arn, parameter_prefix=prefix)
    clients, clock = StubbedClients(settings, stubbed), Clock()
    runtime.override(settings=settings, clients=clients, clock=clock)
    return EventEstate(clients, inbox_url, clock)
