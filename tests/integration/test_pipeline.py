"""The pipeline against a real local AWS (moto server): handlers invoked through chalice.test."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import app as handlers
import pytest
from app import app
from chalice.local import LambdaContext
from chalice.test import Client
from local_stack import put_log_lines

from chalicelib import runtime
from chalicelib.core.models import FixOutcome, Status
from chalicelib.errors import FixRejected, PayloadError, TransientError
from tests.factories import logs_event, payload

pytestmark = pytest.mark.integration


def tb_lines(func: str = "total", site: str = "return price / count", exc: str = "ZeroDivisionError: division by zero"):
    return [
        "Traceback (most recent call last):",
        '  File "/var/task/app/handler.py", line 10, in handle',
        "    return orders.total(event)",
        f'  File "/var/task/app/orders.py", line 20, in {func}',
        f"    {site}",
        exc,
    ]


def deliver(event: dict) -> dict:
    """Invoke log_processor as Lambda does, with the deployed 60 s timeout (chalice.test's context
    gives 3 s, which ingest's time budget would honour on a busy test machine)."""
    return handlers.log_processor(event, LambdaContext("log_processor", 512, max_runtime_ms=60_000))


def whole(lines: list[str]) -> str:
    return "\n".join(lines)


def drain_stream(client: Client, aws) -> list[dict]:
    """Feed every waiting stream record to stream_processor, as Lambda would."""
    responses = []
    while (event := aws.sources.stream_event()) is not None:
        responses.append(client.lambda_.invoke("stream_processor", event).payload)
    return responses


def items(aws) -> list[dict]:
    """The error-group items (not the budget counters the table also holds)."""
    return [i for i in aws.items() if "status" in i]


def group(aws, fingerprint: str) -> dict:
    return runtime.store().get(fingerprint).__dict__


def detail(aws, item: dict) -> dict:
    """The detail item (trace, frames, whole message) of a group item."""
    key = {"fingerprint": {"S": "~detail~" + item["fingerprint"]["S"]}}
    return aws.clients.dynamodb.get_item(TableName=aws.stack.table_name, Key=key)["Item"]


def test_payload_in_groups_out_with_one_write_per_bug(aws) -> None:
    # GIVEN a batch with 3 occurrences of one bug, 1 of another, and noise
    messages = ["START RequestId: 1"] + [whole(tb_lines())] * 3 + [whole(tb_lines(exc="KeyError: 'x'")), "END"]
    # WHEN
    result = deliver(logs_event(payload(messages)))
    # THEN: a new bug is four writes (its small group item, its detail once, the group's note of it,
    # its note in the day's ~new~ set, where the sweep finds it if the stream never queues it), a
    # known bug's delivery one
    assert result == {"tracebacks": 4, "groups": 2, "new_groups": 2, "duplicates": 0, "rejected": 0}
    assert aws.calls["dynamodb.UpdateItem"] == 2 * 4
    counts = sorted(int(item["occurrences"]["N"]) for item in items(aws))
    assert counts == [1, 3]
    item = next(i for i in items(aws) if i["occurrences"]["N"] == "3")
    assert item["status"]["S"] == Status.NEW
    assert item["log_groups"]["SS"] == ["/aws/lambda/shop"]
    assert item["exception_type"]["S"] == "ZeroDivisionError"
    assert "return price / count" in detail(aws, item)["sample"]["S"]
    deliver(logs_event(payload([whole(tb_lines())] * 2)))
    assert aws.calls["dynamodb.UpdateItem"] == 2 * 4 + 1


def test_a_retried_delivery_counts_once_and_queues_one_job(aws) -> None:
    event = logs_event(payload([whole(tb_lines())] * 2))
    with Client(app) as client:
        first = deliver(event)
        again = deliver(event)  # Lambda's retry of the same delivery
        deliver(logs_event(payload([whole(tb_lines())])))  # a new delivery
        drain_stream(client, aws)
    assert (first["duplicates"], again["duplicates"]) == (0, 1)
    [item] = items(aws)
    assert item["occurrences"]["N"] == "3"
    assert item["status"]["S"] == Status.QUEUED
    assert len(aws.queued()) == 1


def test_twenty_concurrent_deliveries_of_a_new_bug_queue_exactly_one_job(aws) -> None:
    events = [logs_event(payload([whole(tb_lines(func="burst"))])) for _ in range(20)]
    with Client(app) as client:
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(deliver, events))
        drain_stream(client, aws)
    [item] = items(aws)
    # moto's server applies concurrent UpdateItems without isolation (a count may be lost, seen
    # 19 of 20); real DynamoDB's ADD is atomic. Exact counts are checked by the serial tests.
    assert 1 <= int(item["occurrences"]["N"]) <= 20
    jobs = aws.queued()
    assert len(jobs) == 1
    assert json.loads(jobs[0]["Body"])["fingerprint"] == item["fingerprint"]["S"]


def test_counter_bumps_make_no_jobs_but_a_reopen_does(aws) -> None:
    with Client(app) as client:
        deliver(logs_event(payload([whole(tb_lines())])))
        drain_stream(client, aws)
        fp = items(aws)[0]["fingerprint"]["S"]
        assert len(aws.queued()) == 1
        # WHEN the bug recurs (MODIFY, counters only) and then the job is fixed and re-opened
        deliver(logs_event(payload([whole(tb_lines())])))
        drain_stream(client, aws)
        assert aws.queued() == []
        job = aws.sources.queue_event()
        assert job is None  # the one job is in flight (received above)
        store = runtime.store()
        claim = store.claim(fp, "worker-1", 10**13, 60, 3)
        store.finish(fp, "worker-1", Status.SKIPPED, 10**13, reason="test")
        store.reopen(fp, 10**13)
        drain_stream(client, aws)
    bodies = [json.loads(m["Body"]) for m in aws.queued()]
    assert claim.claimed
    assert [b["trigger"] for b in bodies] == ["reopened"]


def test_malformed_payload_raises_a_clear_error_and_writes_nothing(aws) -> None:
    with pytest.raises(PayloadError, match="not base64"):
        deliver({"awslogs": {"data": "%%%"}})
    with pytest.raises(PayloadError, match="not a CloudWatch Logs subscription event"):
        deliver({"Records": []})
    assert items(aws) == []


def test_control_message_is_ignored(aws) -> None:
    event = logs_event({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logEvents": []})
    assert deliver(event)["tracebacks"] == 0
    assert items(aws) == []


def test_cut_off_traceback_is_completed_from_the_stream(aws) -> None:
    # GIVEN a stream written one line per event, and a delivery of only its header line
    lines = tb_lines(func="split_bug")
    stream = put_log_lines(aws.clients, aws.stack.log_group, ["booting", *lines, "next request"])
    stored = aws.clients.logs.get_log_events(logGroupName=aws.stack.log_group, logStreamName=stream)["events"]
    header = next(e for e in stored if e["message"].startswith("Traceback"))
    doc = payload([header["message"]], log_group=aws.stack.log_group, log_stream=stream, start=header["timestamp"])
    # WHEN
    deliver(logs_event(doc))
    # THEN the group holds the whole traceback
    [item] = items(aws)
    assert item["exception_type"]["S"] == "ZeroDivisionError"
    assert aws.calls["cloudwatch-logs.GetLogEvents"] == 2  # one by the test, one by the handler


class FakeFixer:
    """A fixer for the tests: answers from a script."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls = 0

    def fix(self, group, lease):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        lease.set_branch(answer.branch)
        return answer


def queue_one_job(client: Client, aws, func: str = "fixme") -> str:
    deliver(logs_event(payload([whole(tb_lines(func=func))])))
    drain_stream(client, aws)
    return items(aws)[0]["fingerprint"]["S"]


def test_fixer_claims_opens_pr_and_a_redelivery_does_nothing(aws) -> None:
    fixer = FakeFixer(FixOutcome(Status.PR_OPENED, pr_url="https://gh/pr/1", branch="selfheal/abc"))
    runtime.override(fixer=fixer)
    with Client(app) as client:
        fp = queue_one_job(client, aws)
        event = aws.sources.queue_event()
        first = client.lambda_.invoke("fixer", event).payload
        second = client.lambda_.invoke("fixer", event).payload  # the same message, redelivered
    assert first == second == {"batchItemFailures": []}
    assert fixer.calls == 1
    g = group(aws, fp)
    assert (g["status"], g["pr_url"], g["branch"], g["attempts"]) == (
        Status.PR_OPENED,
        "https://gh/pr/1",
        "selfheal/abc",
        1,
    )


def test_claim_is_refused_while_leased_and_granted_after_expiry(aws) -> None:
    with Client(app) as client:
        fp = queue_one_job(client, aws)
    store = runtime.store()
    assert store.claim(fp, "a", 1_000_000, 60, 3).claimed
    refused = store.claim(fp, "b", 1_000_000 + 59_000, 60, 3)
    assert (refused.claimed, refused.why) == (False, "busy")
    assert store.claim(fp, "c", 1_000_000 + 61_000, 60, 3).claimed


def test_failures_are_recorded_retried_then_dead_lettered(aws) -> None:
    runtime.override(fixer=FakeFixer(TransientError("throttled"), RuntimeError("boom"), TransientError("again")))
    with Client(app) as client:
        fp = queue_one_job(client, aws)
        event = aws.sources.queue_event()
        outcomes = []
        for _ in range(4):
            try:
                outcomes.append(client.lambda_.invoke("fixer", event).payload)
            except Exception as exc:  # Powertools fails the whole batch when every record failed
                outcomes.append(type(exc).__name__)
    g = group(aws, fp)
    assert g["status"] == Status.FAILED
    assert g["attempts"] == 3
    assert "again" in g["reason"]
    assert outcomes == ["BatchProcessingError"] * 4


def test_rejected_fix_is_a_recorded_result_not_a_retry(aws) -> None:
    runtime.override(fixer=FakeFixer(FixRejected("edits did not apply")))
    with Client(app) as client:
        fp = queue_one_job(client, aws)
        response = client.lambda_.invoke("fixer", aws.sources.queue_event()).payload
    assert response == {"batchItemFailures": []}
    g = group(aws, fp)
    assert (g["status"], g["reason"]) == (Status.FAILED, "edits did not apply")


def test_default_fixer_skips_with_a_reason(aws) -> None:
    with Client(app) as client:
        fp = queue_one_job(client, aws)
        client.lambda_.invoke("fixer", aws.sources.queue_event())
    g = group(aws, fp)
    assert g["status"] == Status.SKIPPED
    assert "not configured" in g["reason"]


def test_partial_stream_failure_reports_only_the_bad_record(aws) -> None:
    with Client(app) as client:
        deliver(logs_event(payload([whole(tb_lines(func="p"))])))
        event = aws.sources.stream_event()
        bad_image = {"SequenceNumber": "999", "NewImage": {"status": {"XX": "not a DynamoDB type"}}}
        event["Records"].append({"eventID": "x", "eventName": "INSERT", "dynamodb": bad_image})
        response = client.lambda_.invoke("stream_processor", event).payload
    assert response == {"batchItemFailures": [{"itemIdentifier": "999"}]}
    assert len(aws.queued()) == 1


def test_invalid_transition_is_refused_with_a_clear_error(aws) -> None:
    from chalicelib.adapters.store import InvalidTransition

    deliver(logs_event(payload([whole(tb_lines(func="t"))])))
    fp = items(aws)[0]["fingerprint"]["S"]
    with pytest.raises(InvalidTransition, match=f"group {fp} cannot move to NEW from NEW"):
        runtime.store().reopen(fp, 1)


def test_message_of_a_group_out_of_attempts_ends_in_the_dead_letter_queue(aws) -> None:
    runtime.override(fixer=FakeFixer(*[TransientError(f"throttled {n}") for n in range(5)]))
    sqs = aws.clients.sqs
    with Client(app) as client:
        fp = queue_one_job(client, aws)
        for _ in range(5):  # Lambda's poller: receive, invoke, failed → visible again
            event = aws.sources.queue_event()
            if event is None:
                break
            with pytest.raises(Exception, match="All records failed"):
                client.lambda_.invoke("fixer", event)
            receipt = event["Records"][0]["receiptHandle"]
            sqs.change_message_visibility(QueueUrl=aws.stack.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    dead = sqs.receive_message(QueueUrl=aws.stack.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["fingerprint"] for m in dead] == [fp]
    g = group(aws, fp)
    assert (g["status"], g["attempts"]) == (Status.FAILED, 3)


def test_configured_pipeline_turns_a_log_line_into_a_fix_branch(aws, tmp_path) -> None:
    # GIVEN the repository and a recorded model answer configured in SSM under the prefix
    import git

    from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, bare_repo_of_sample_app, converse_answer

    bare = bare_repo_of_sample_app(tmp_path)
    replay = tmp_path / "answers.json"
    replay.write_text(json.dumps([converse_answer([GOOD_EDIT])]))
    ssm = aws.clients.ssm
    for name, value in {"repo_url": str(bare), "model_id": f"replay:{replay}"}.items():
        ssm.put_parameter(Name=f"/selfheal/{name}", Value=value, Type="SecureString")
    runtime.clear()
    runtime.override(settings=aws.settings, clients=aws.clients)  # the fixer from SSM, not an override
    # WHEN the trace arrives and the pipeline runs
    with Client(app) as client:
        deliver(logs_event(payload([NONE_DISCOUNT_TRACE])))
        drain_stream(client, aws)
        client.lambda_.invoke("fixer", aws.sources.queue_event())
    # THEN
    [item] = items(aws)
    g = group(aws, item["fingerprint"]["S"])
    assert g["status"] == Status.PR_OPENED, g["reason"]
    assert g["branch"] in [h.name for h in git.Repo(bare).heads]
    assert g["pr_url"].startswith("file://")
    report = runtime.store().raw(item["fingerprint"]["S"])  # the attempt's report lives in the group's detail
    assert report["tokens_in"] == 1200 and report["model"] == "replay:answers.json"


# --- hardening (audit 2026-11-23: A19, A20, D3, D5) ----------------------------------------------


def one_line_per_event(func: str, message: str, frames: int = 1) -> list[str]:
    """A traceback as a container's stdout delivers it: one log event per line."""
    out = ["Traceback (most recent call last):"]
    for i in range(frames):
        out += [f'  File "/var/task/shop/mod{i}.py", line {i + 1}, in {func}_{i}', f"    call_{i}(argument_{i})"]
    return [*out, f"ValueError: {message}"]


class _Refused:
    """What botocore's before-call hook returns to answer a call itself (as Stubber does)."""

    def __init__(self, code: str, status: int) -> None:
        self.status_code = status
        self.code = code


def refuse_update_items(aws, code: str, status: int, when) -> list[str]:
    """Make DynamoDB answer ``code`` to the UpdateItems ``when(params)`` selects; returns their keys."""
    refused: list[str] = []

    def hook(params, **_):
        request = json.loads(params["body"])  # the serialized UpdateItem request
        if when(request):
            refused.append(request["Key"]["fingerprint"]["S"])
            return _Refused(code, status), {"Error": {"Code": code, "Message": f"{code} (test)"}}
        return None

    aws.clients.dynamodb.meta.events.register_first("before-call.dynamodb.UpdateItem", hook)
    return refused


def test_an_oversized_traceback_is_stored_bounded_and_its_neighbours_are_counted_once(aws) -> None:
    # GIVEN the audit's A20 batch: a 250 KB message and 2,500 frames between two small bugs
    events = one_line_per_event("alpha", "first bug")
    events += one_line_per_event("delta", "rejected body: " + "A" * 250_000, frames=2_500)
    events += one_line_per_event("beta", "second bug")
    event = logs_event(payload(events))
    # WHEN Lambda delivers it, then (as if the first attempt had failed later) retries it twice
    results = [handlers.log_processor(event, None) for _ in range(3)]
    # THEN the three bugs are recorded once each, the big one bounded, and the retries count nothing
    assert [r["duplicates"] for r in results] == [0, 3, 3]
    found = items(aws)
    assert sorted(int(i["occurrences"]["N"]) for i in found) == [1, 1, 1]
    big = detail(aws, next(i for i in found if "rejected body" in i["message"]["S"]))
    assert len(json.dumps(big).encode()) < 150 * 1024
    assert len(big["frames"]["L"]) == 50


def test_a_group_dynamodb_refuses_fails_alone_and_keeps_a_minimal_record(aws) -> None:
    # GIVEN DynamoDB refuses every full write of one bug (as it does an item over 400 KB)
    refused = refuse_update_items(
        aws, "ValidationException", 400, lambda p: "frames" in p["UpdateExpression"] and "poison" in json.dumps(p)
    )
    messages = [whole(tb_lines(func="poison", exc="ValueError: poison")), whole(tb_lines(func="fine"))]
    # WHEN
    result = handlers.log_processor(logs_event(payload(messages)), None)
    # THEN the neighbour is recorded in full, the refused group minimally (count kept), none lost
    assert len(refused) == 1 and result["rejected"] == 0 and result["new_groups"] == 2
    poisoned = group(aws, refused[0].removeprefix("~detail~"))  # the trace lives in the group's detail item
    assert poisoned["occurrences"] == 1 and poisoned["frames"] == ()
    assert "trace not stored" in poisoned["sample"]


def test_a_group_refused_twice_is_reported_and_its_neighbours_still_written(aws) -> None:
    refuse_update_items(aws, "ValidationException", 400, lambda p: "poison" in json.dumps(p))
    messages = [whole(tb_lines(func="poison", exc="ValueError: poison")), whole(tb_lines(func="fine"))]
    result = handlers.log_processor(logs_event(payload(messages)), None)
    assert (result["rejected"], result["new_groups"]) == (1, 1)
    [item] = items(aws)
    assert item["occurrences"]["N"] == "1"


def test_a_delivery_retried_after_throttling_counts_every_group_exactly_once(aws) -> None:
    # GIVEN one group's first write is throttled (a write that counts; the frames are in the detail item)
    throttled: list[str] = []
    counting: list[str] = []

    def first_counting_write(request: dict) -> bool:
        if throttled or "occurrences" not in json.dumps(request):
            return False
        counting.append(request["Key"]["fingerprint"]["S"])
        return len(counting) == 1

    refused = refuse_update_items(aws, "ProvisionedThroughputExceededException", 400, first_counting_write)
    messages = [whole(tb_lines(func=f)) for f in ("alpha", "beta", "gamma") for _ in range(2)]
    event = logs_event(payload(messages))
    # WHEN the delivery fails (TransientError: Lambda retries it) and is retried
    with pytest.raises(TransientError, match="1 of 3 groups not written"):
        handlers.log_processor(event, None)
    throttled.append("done")
    retry = handlers.log_processor(event, None)
    # THEN every group holds its 2 occurrences: the retry counted only the one not written before
    assert len(refused) == 1 and retry["duplicates"] == 2
    assert sorted(int(i["occurrences"]["N"]) for i in items(aws)) == [2, 2, 2]


def test_out_of_time_writes_stop_and_the_retry_finishes_without_double_counting(aws) -> None:
    from chalicelib.core.logs_payload import decode_batch

    # GIVEN 60 new bugs and an invocation whose remaining time runs out after three rounds of writes
    messages = [whole(tb_lines(func=f"storm_{n}")) for n in range(60)]
    batch = decode_batch(logs_event(payload(messages))["awslogs"]["data"])
    ticks = iter([60_000, 59_000, 58_000, 57_000] + [1_000] * 100)  # ms left: once at the start, once a round
    # WHEN
    with pytest.raises(TransientError, match="36 of 60 groups not written"):
        runtime.ingest().handle(batch, lambda: next(ticks))
    written, writes = len(items(aws)), aws.calls["dynamodb.UpdateItem"]
    result = runtime.ingest().handle(batch, lambda: 60_000)  # Lambda's retry, with time to spare
    # THEN the retry read which groups were written (one BatchGetItem) and wrote only the others
    # (each new group: its item, its detail, the note of it and its note in the ~new~ day set)
    assert (written, writes) == (24, 24 * 4)
    assert (result["duplicates"], result["new_groups"]) == (24, 36)
    assert aws.calls["dynamodb.UpdateItem"] - writes == 36 * 4 and aws.calls["dynamodb.BatchGetItem"] == 2
    assert {i["occurrences"]["N"] for i in items(aws)} == {"1"}


def test_a_storm_of_new_groups_queues_bounded_work_and_the_rest_is_picked_up_when_it_recurs(aws) -> None:
    import time
    from dataclasses import replace

    from chalicelib.adapters.queue import FixQueue
    from chalicelib.core.spend import SpendLimits
    from chalicelib.usecases.enqueue import Enqueue
    from chalicelib.usecases.metrics import EmfCounter

    # GIVEN a budget of 5 new fix jobs an hour, and one batch with 30 new bugs
    runtime.override(settings=replace(aws.settings, max_jobs_per_hour=5))
    messages = [whole(tb_lines(func=f"storm_{n}")) for n in range(30)]
    started = time.monotonic()
    with Client(app) as client:
        assert deliver(logs_event(payload(messages)))["new_groups"] == 30
        drain_stream(client, aws)
    elapsed = time.monotonic() - started
    # THEN 5 jobs are queued and 25 groups SKIPPED for the budget, none lost, in bounded time
    statuses = [i["status"]["S"] for i in items(aws)]
    assert (statuses.count(Status.QUEUED), statuses.count(Status.SKIPPED)) == (5, 25)
    skipped = [i for i in items(aws) if i["status"]["S"] == Status.SKIPPED]
    assert all(i["reason"]["S"].startswith("hourly-budget") for i in skipped)
    assert len(aws.queued()) == 5
    assert elapsed < 30
    # WHEN a skipped bug occurs again, an hour later (its budget window has ended)
    from chalicelib.core.logs_payload import decode_batch
    from chalicelib.usecases.ingest import Ingest

    frames = detail(aws, skipped[0])["frames"]
    func = next(f"storm_{n}" for n in range(30) if f'"storm_{n}"' in json.dumps(frames))
    an_hour_later = Ingest(runtime.store(), EmfCounter("test"), clock=lambda: int(time.time() * 1000) + 3_600_000)
    an_hour_later.handle(decode_batch(logs_event(payload([whole(tb_lines(func=func))]))["awslogs"]["data"]))
    later = Enqueue(
        runtime.store(),
        FixQueue(aws.clients.sqs, aws.stack.queue_url),
        EmfCounter("test"),
        clock=lambda: int(time.time() * 1000) + 3_600_000,
        limits=SpendLimits(fixes_per_hour=5),
    )
    while (event := aws.sources.stream_event()) is not None:
        later.handle(event)
    # THEN it was re-opened and queued in the next hour's budget
    g = group(aws, skipped[0]["fingerprint"]["S"])
    assert (g["status"], g["occurrences"]) == (Status.QUEUED, 2)
    assert [json.loads(m["Body"])["trigger"] for m in aws.queued()] == ["reopened"]


def test_a_stream_record_without_a_sequence_number_is_dropped_and_never_fails_the_batch(aws) -> None:
    with Client(app) as client:
        deliver(logs_event(payload([whole(tb_lines(func="seq"))])))
        event = aws.sources.stream_event()
        event["Records"].insert(0, {"eventID": "y", "eventName": "INSERT", "dynamodb": {"NewImage": {}}})
        event["Records"].append({"eventID": "z", "eventName": "INSERT"})
        response = client.lambda_.invoke("stream_processor", event).payload
    # an empty itemIdentifier would make Lambda retry the whole batch, good records included, forever
    assert response == {"batchItemFailures": []}
    assert len(aws.queued()) == 1


def test_a_job_delivered_while_its_group_is_leased_is_retried_not_deleted(aws) -> None:
    with Client(app) as client:
        fp = queue_one_job(client, aws)
        assert runtime.store().claim(fp, "first-fixer", _now(), 60, 3).claimed
        with pytest.raises(Exception, match="All records failed"):
            client.lambda_.invoke("fixer", aws.sources.queue_event())  # reported failed: SQS keeps it


def _now() -> int:
    import time

    return int(time.time() * 1000)


def test_retry_reopens_a_fixing_group_whose_lease_expired_and_refuses_a_live_lease(aws) -> None:
    import subprocess
    import sys

    from chalicelib.errors import InvalidTransition
    from tests.conftest import ROOT

    with Client(app) as client:
        fp = queue_one_job(client, aws)
    store = runtime.store()
    assert store.claim(fp, "crashed-fixer", _now(), 60, 3).claimed
    command = [sys.executable, str(ROOT / "scripts" / "selfheal.py"), "retry", fp[:12], "--endpoint-url",
               aws.settings.endpoint_url, "--table", aws.stack.table_name, "--region", "us-east-1"]  # fmt: skip
    live = subprocess.run(command, capture_output=True, text=True, check=False)
    assert live.returncode == 2 and "is being fixed (lease held by crashed-fixer" in live.stderr
    with pytest.raises(InvalidTransition):
        store.reopen(fp, _now())
    reopened = store.reopen(fp, _now() + 61_000)  # after the lease expired
    assert (reopened.status, reopened.attempts, reopened.lease_owner) == (Status.NEW, 0, "")
    with Client(app) as client:
        drain_stream(client, aws)
    bodies = [json.loads(m["Body"]) for m in aws.queued()]
    assert [b["trigger"] for b in bodies] == ["new", "reopened"]


def test_remembered_deliveries_and_log_group_names_stay_bounded_on_a_hot_group(aws) -> None:
    from chalicelib.adapters.store import BATCH_MEMORY, MAX_LOG_GROUPS

    # GIVEN one bug delivered 34 times, each time from another log group
    for n in range(BATCH_MEMORY + 2):
        deliver(logs_event(payload([whole(tb_lines(func="hot"))], log_group=f"/aws/lambda/svc-{n}", start=10**12 + n)))
    # THEN every delivery counted, and the item's token set and log group names are bounded
    [item] = items(aws)
    assert item["occurrences"]["N"] == str(BATCH_MEMORY + 2)
    assert BATCH_MEMORY // 2 <= len(item["seen"]["BS"]) <= BATCH_MEMORY  # (packed tokens: a binary set)
    assert len(item["log_groups"]["SS"]) == MAX_LOG_GROUPS


def test_a_table_the_function_may_not_write_fails_the_delivery_loudly_not_group_by_group(aws) -> None:
    from chalicelib.errors import ConfigError

    refuse_update_items(aws, "AccessDeniedException", 400, lambda _: True)
    with pytest.raises(ConfigError, match="AccessDeniedException"):
        deliver(logs_event(payload([whole(tb_lines(func="a")), whole(tb_lines(func="b"))])))
