"""The event remediator's rule pattern, built from the runbooks' declared event sources, on the moto
server's EventBridge: a rule with the pattern routes to a queue (moto gap: it cannot deliver to a
Lambda, and has no TestEventPattern; SQS targets work), and the real-shaped fixtures are put on the
bus: each declared source's events reach it, narrowed by its filter; other events do not."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.adapters.clients import Clients
from chalicelib.adapters.settings import Settings
from chalicelib.core.runbooks.registry import event_pattern
from tests.conftest import EVENTS, load_event

pytestmark = pytest.mark.integration

REACH = ["backup_retry/failed", "backup_retry/aborted", "backup_retry/expired", "rds_event/failover_completed",
         "rds_event/low_storage", "rds_event/invalid_parameters", "rds_restore_beside/storage_failure"]  # fmt: skip


class Rule:
    """An EventBridge rule with the event remediator's pattern, its target a queue."""

    def __init__(self, clients: Clients) -> None:
        self.events, self.sqs = clients.client("events"), clients.sqs
        name = f"event-remediator-{uuid.uuid4().hex[:8]}"
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=name, EventPattern=json.dumps(event_pattern()))
        self.events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])

    def routes(self, raw: dict[str, Any]) -> bool:
        """Whether ``raw`` put on the bus reaches the rule's queue."""
        entry = {"Source": raw["source"], "DetailType": raw["detail-type"], "Detail": json.dumps(raw["detail"])}
        self.events.put_events(Entries=[{**entry, "Resources": raw.get("resources", [])}])
        got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in got:
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return bool(got)


def test_declared_sources_events_reach_the_event_remediator_and_nothing_else(moto_endpoint: str) -> None:
    rule = Rule(Clients(Settings(endpoint_url=moto_endpoint)))
    for name in REACH:
        assert rule.routes(load_event(name)), name
    completed = load_event("backup_retry/failed")
    completed["detail"]["state"] = "COMPLETED"  # the filter: only failed, aborted, expired jobs
    cluster = load_event("rds_event/low_storage")
    cluster["detail"]["SourceType"] = "CLUSTER"
    backup_category = load_event("rds_event/low_storage")
    backup_category["detail"]["EventCategories"] = ["backup"]
    for raw in (completed, cluster, backup_category, *(load_event(p.name) for p in sorted(EVENTS.glob("*.json")))):
        assert not rule.routes(raw), (raw["detail-type"], raw["detail"].get("state"))
