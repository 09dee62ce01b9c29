"""The selfheal stack through boto3, and the event-source loop Lambda would run, for one machine.

Used by local mode (against an embedded moto server or any endpoint) and by the integration
tests. In AWS, Terraform creates these resources and Lambda's event source mappings drive the
handlers; here ``EventSources`` polls the same stream and queue and builds the same events.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path


# The fix queue's visibility timeout here, and the lease local mode gives a fix: shorter by a
# margin, as in AWS (adapters/settings.py), so a job whose fixer died is reclaimed when SQS hands
# it out again. Local mode runs one job at a time, so a short lease never meets a live fix.
LOCAL_VISIBILITY_SECONDS = 5
LOCAL_LEASE_SECONDS = 3


@dataclass(frozen=True)
class Stack:
    """Names and addresses of the resources the handlers use."""

    table_name: str
    stream_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    log_group: str


def create_stack(
    clients: Any, prefix: str = "selfheal", log_group: str = "/aws/lambda/shop", max_receives: int = 3
) -> Stack:
    """Create (or find) the table with its stream and TTL, the fix queue with its DLQ, and the
    application log group."""
    ddb, sqs, logs = clients.dynamodb, clients.sqs, clients.logs
    table = f"{prefix}-error-groups"
    try:
        ddb.create_table(
            TableName=table,
            AttributeDefinitions=[
                {"AttributeName": "fingerprint", "AttributeType": "S"},
                {"AttributeName": "budget_wait", "AttributeType": "S"},
                {"AttributeName": "budget_since", "AttributeType": "N"},
            ],
            KeySchema=[{"AttributeName": "fingerprint", "KeyType": "HASH"}],
            # Groups waiting for fix budget, oldest first (sparse: only they carry budget_wait).
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "budget_wait",
                    "KeySchema": [
                        {"AttributeName": "budget_wait", "KeyType": "HASH"},
                        {"AttributeName": "budget_since", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        ddb.get_waiter("table_exists").wait(TableName=table)
        ddb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
    except ddb.exceptions.ResourceInUseException:
        pass
    stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-fix-jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-fix-jobs",
        Attributes={
            "VisibilityTimeout": str(LOCAL_VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    try:
        logs.create_log_group(logGroupName=log_group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    return Stack(table, stream_arn, queue_url, queue_arn, dlq_url, log_group)


def clear_stack(clients: Any, prefix: str) -> None:
    """Remove the table and queues ``create_stack(prefix=…)`` makes, where they exist.

    An embedded moto server starts empty in a process of its own (the command line); in a process
    that ran one before (the tests) it shares moto's in-memory backends with every other server
    of that process, so a run that means to start from nothing removes what an earlier one left.
    """
    ddb, sqs = clients.dynamodb, clients.sqs
    try:
        ddb.delete_table(TableName=f"{prefix}-error-groups")
    except ddb.exceptions.ResourceNotFoundException:
        pass
    for name in (f"{prefix}-fix-jobs", f"{prefix}-fix-jobs-dlq"):
        try:
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except sqs.exceptions.QueueDoesNotExist:
            pass


class EventSources:
    """Polls the table's stream and the fix queue, yielding Lambda-shaped events."""

    def __init__(self, clients: Any, stack: Stack) -> None:
        self._streams = clients.client("dynamodbstreams")
        self._sqs = clients.sqs
        self._stack = stack
        self._iterators: dict[str, str] = {}

    def _shard_iterators(self) -> Iterator[tuple[str, str]]:
        description = self._streams.describe_stream(StreamArn=self._stack.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self._stack.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            yield shard_id, self._iterators[shard_id]

    def stream_records(self, limit: int = 100) -> list[dict[str, Any]]:
        """New stream records since the last call, as Lambda delivers them."""
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._shard_iterators()):
            answer = self._streams.get_records(ShardIterator=iterator, Limit=limit)
            self._iterators[shard_id] = answer.get("NextShardIterator") or iterator
            for record in answer.get("Records", []):
                record = dict(record)
                record["eventSourceARN"] = self._stack.stream_arn
                change = dict(record.get("dynamodb", {}))
                created = change.get("ApproximateCreationDateTime")
                if hasattr(created, "timestamp"):  # boto3 parsed it; Lambda sends epoch seconds
                    change["ApproximateCreationDateTime"] = created.timestamp()
                record["dynamodb"] = change
                records.append(record)
        return records

    def stream_event(self, limit: int = 100) -> dict[str, Any] | None:
        """The next DynamoDB stream event, or None when no record is waiting."""
        records = self.stream_records(limit)
        return {"Records": records} if records else None

    def queue_event(self, max_messages: int = 1, wait_seconds: int = 0) -> dict[str, Any] | None:
        """The next SQS event (messages stay in flight until ``delete`` is called), or None."""
        answer = self._sqs.receive_message(
            QueueUrl=self._stack.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return None
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self._stack.queue_arn,
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }

    def settle(self, event: dict[str, Any], response: dict[str, Any] | None) -> None:
        """Do what Lambda does after a batch: delete the messages that did not fail."""
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self._stack.queue_url, ReceiptHandle=record["receiptHandle"])


# CloudWatch (and moto) refuse events older than 14 days or more than 2 hours ahead.
OLDEST_ACCEPTED_MS = 14 * 86_400_000 - 3_600_000  # with an hour's margin for a long run


def event_times(count: int, times: Sequence[int | None], now_ms: int) -> tuple[list[int], int]:
    """Timestamps for ``count`` events, strictly increasing (1 ms at least, so the lines after an
    event are found by time): the log's own ``times`` where given (a line without one follows
    the one before; lines before the first time precede it), else 1 ms apart ending at
    ``now_ms``. Times CloudWatch would refuse are moved later, all by the same amount, so the
    last is ``now_ms``; returns the times and that amount in milliseconds (0 when none)."""
    first = next((t for t in times if t is not None), None)
    if first is None or len(times) != count:
        return [now_ms - count + k for k in range(count)], 0
    lead = next(k for k, t in enumerate(times) if t is not None)
    result = [first - lead + k for k in range(lead)]
    for given in times[lead:]:
        base = given if given is not None else result[-1]
        result.append(max(base, result[-1] + 1) if result else base)
    shift = 0
    if result and (result[0] < now_ms - OLDEST_ACCEPTED_MS or result[-1] > now_ms):
        shift = now_ms - result[-1]
    return [t + shift for t in result], shift


def put_log_lines(
    clients: Any, log_group: str, lines: list[str], stream: str | None = None, stamps: Sequence[int] = ()
) -> str:
    """Write lines to a stream of ``log_group`` (created unless it exists), one event each, at
    ``stamps`` (event_times) or 1 ms apart ending now; returns the stream."""
    stream = stream or f"local/{uuid.uuid4().hex[:12]}"
    try:
        clients.logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    except clients.logs.exceptions.ResourceAlreadyExistsException:
        pass
    if len(stamps) != len(lines):
        stamps, _ = event_times(len(lines), (), int(time.time() * 1000))
    for begin in range(0, len(lines), 1000):
        chunk = lines[begin : begin + 1000]
        clients.logs.put_log_events(
            logGroupName=log_group,
            logStreamName=stream,
            logEvents=[{"timestamp": stamps[begin + k], "message": m or " "} for k, m in enumerate(chunk)],
        )
    return stream


def create_stack_with_terraform(clients: Any, endpoint_url: str, log_group: str, workdir: Path) -> Stack:
    """The real deployment: package + terraform init + apply of terraform/ against ``endpoint_url``
    (a moto server), then the stack read from the Terraform outputs."""
    import shutil

    import package

    mirror = package.find_provider_mirror()
    env = {"TF_IN_AUTOMATION": "1"}
    if mirror is not None:
        env["TF_CLI_CONFIG_FILE"] = str(package.cli_config(workdir / "cli.tfrc", mirror))
    for tf_file in package.TERRAFORM.glob("*.tf"):
        shutil.copy(tf_file, workdir)
    try:
        clients.logs.create_log_group(logGroupName=log_group)
    except clients.logs.exceptions.ResourceAlreadyExistsException:
        pass
    package.package("dev", workdir)
    quiet = ["-no-color", "-input=false"]
    package.terraform("init", *quiet, cwd=workdir, env=env, quiet=True)
    # moto hands stream records to event source mappings itself and, without Docker, cannot run the
    # Lambda: the records would be lost. The local loop plays the mappings' part instead.
    variables = [
        f"-var=endpoint_url={endpoint_url}",
        f"-var=log_group_names=[{json.dumps(log_group)}]",
        "-var=event_source_mappings=false",
    ]
    package.terraform("apply", "-auto-approve", *quiet, *variables, cwd=workdir, env=env, quiet=True)
    outputs = package.terraform_outputs(workdir, env)
    queue_url = outputs["fix_queue_url"]
    attributes = clients.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    table = outputs["error_groups_table_name"]
    # The live stream, not the one in state: moto starts a new stream when the table is updated.
    stream_arn = clients.dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    return Stack(
        table,
        stream_arn,
        queue_url,
        attributes["QueueArn"],
        outputs["fix_dlq_url"],
        log_group,
    )


@contextmanager
def local_aws(endpoint_url: str, say: Callable[[str], None]) -> Iterator[str]:
    """The AWS endpoint of a local run: ``endpoint_url``, or an embedded moto server while it lasts.

    Progress is the caller's to print: handler logs at WARNING, no access log, no EMF metric lines
    while it lasts; the environment and the log levels are put back afterwards (a run inside a
    longer process — the tests — must not silence the metrics of what comes after it).
    """
    quiet = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    saved_env = {name: os.environ.get(name) for name in quiet}
    loggers = [logging.getLogger(name) for name in ("werkzeug", "chalicelib")]
    saved_levels = [logger.level for logger in loggers]
    for name, value in quiet.items():
        os.environ.setdefault(name, value)
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        if endpoint_url:
            yield endpoint_url
            return
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        say(f"local AWS: embedded moto server at http://{host}:{port}")
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for logger, level in zip(loggers, saved_levels, strict=True):
            logger.setLevel(level)
