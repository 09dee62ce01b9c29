"""The remediator's configuration (catalog, kill switch) from SSM and its notifications through SNS, on moto."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.adapters.clients import Clients
from chalicelib.adapters.notify import SnsNotifier
from chalicelib.adapters.runbook_config import CATALOG, RunbookConfig
from chalicelib.adapters.settings import Settings
from chalicelib.core.notices import decision_notice
from chalicelib.core.runbooks.catalog import default_catalog, stored_catalog
from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


@pytest.fixture
def clients(moto_endpoint: str) -> Clients:
    return Clients(Settings(endpoint_url=moto_endpoint))


@pytest.fixture
def prefix() -> str:
    return f"/t{uuid.uuid4().hex[:10]}/"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_no_stored_catalog_means_the_default_catalog(clients: Clients, prefix: str) -> None:
    config = RunbookConfig(clients.ssm, prefix, stored_catalog)
    assert config.catalog() == default_catalog()


def test_a_stored_catalog_is_read_and_cached_for_a_minute(clients: Clients, prefix: str) -> None:
    # GIVEN a catalog with one enabled runbook stored under the prefix
    doc = {
        "runbooks": [
            {
                "name": "ec2-reboot",
                "triggers": [{"source": "alarm", "namespace": "AWS/EC2", "metric": "CPUUtilization"}],
                "dry_run": False,
            }
        ]
    }
    clients.ssm.put_parameter(Name=prefix + CATALOG, Value=json.dumps(doc), Type="String")
    clock = Clock()
    config = RunbookConfig(clients.ssm, prefix, stored_catalog, clock=clock)
    assert [(e.name, e.limits.dry_run) for e in config.catalog()] == [("ec2-reboot", False)]
    # WHEN it changes, THEN the cached one is used until the cache ages out
    clients.ssm.put_parameter(Name=prefix + CATALOG, Value=json.dumps({"runbooks": []}), Type="String", Overwrite=True)
    clock.now = 30
    assert len(config.catalog()) == 1
    clock.now = 61
    assert config.catalog() == ()


def test_an_invalid_stored_catalog_fails_loudly(clients: Clients, prefix: str) -> None:
    clients.ssm.put_parameter(Name=prefix + CATALOG, Value="{not json", Type="String")
    with pytest.raises(ConfigError):
        RunbookConfig(clients.ssm, prefix, stored_catalog).catalog()


def test_kill_switch_is_read_on_every_call(clients: Clients, prefix: str) -> None:
    config = RunbookConfig(clients.ssm, prefix, stored_catalog)
    # An absent (deleted) switch reads as on, and says why (the verifier tells a person)
    assert config.kill_switch() is True
    assert "does not exist" in config.kill_switch_problem()
    config.set_kill_switch(True)
    assert config.kill_switch() is True  # the very next read sees it: within one invocation
    assert config.kill_switch_problem() == ""  # on because it says on
    config.set_kill_switch(False)
    assert config.kill_switch() is False


def test_an_unreadable_kill_switch_counts_as_on(moto_endpoint: str, prefix: str) -> None:
    # GIVEN an SSM endpoint that cannot be reached (nothing listens on the port)
    broken = Clients(Settings(endpoint_url="http://127.0.0.1:9"))
    # THEN automation fails safe: dry-run only
    assert RunbookConfig(broken.ssm, prefix, stored_catalog).kill_switch() is True


@pytest.fixture
def topic_and_queue(clients: Clients) -> Iterator[tuple[str, str]]:
    sns, sqs = clients.client("sns"), clients.sqs
    name = f"t{uuid.uuid4().hex[:10]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    yield topic, queue


def _received(clients: Clients, queue: str) -> list[dict[str, Any]]:
    answer = clients.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def test_a_decision_notice_reaches_a_subscribed_queue_as_a_chatbot_document(
    clients: Clients, topic_and_queue: tuple[str, str]
) -> None:
    topic, queue = topic_and_queue
    notice = decision_notice("escalate", runbook="ec2-reboot", resource="i-0abc", reason="rebooted twice in 6 h")
    assert notice is not None
    SnsNotifier(clients.client("sns"), topic).publish(notice)
    [envelope] = _received(clients, queue)
    document = json.loads(envelope["Message"])  # an SQS subscriber gets the default message
    assert document["version"] == "1.0"
    assert document["source"] == "custom"
    assert "i-0abc" in document["content"]["title"]
    assert any("resume i-0abc" in step for step in document["content"]["nextSteps"])


def test_no_topic_configured_publishes_nothing(clients: Clients) -> None:
    notice = decision_notice("act", runbook="ec2-reboot", resource="i-0abc", reason="ok")
    assert notice is not None
    notifier = SnsNotifier(clients.client("sns"), "")
    assert notifier.publish(notice) == ""
    assert notifier.published == 0
