"""`selfheal local`: the whole pipeline on one machine.

An embedded moto server (or ``--endpoint-url``) stands in for AWS; the stack is created through
boto3 (scripts/local_stack.py); log lines go into a CloudWatch log group; a small event-source
loop then does what Lambda's event source mappings do: events matching the subscription filter
pattern → log_processor, stream records → stream_processor, queue messages → fixer, until the
queue drains. The handlers are the deployed ones, called in-process.

Jobs are fixed oldest bug first (by first_seen), so a replay file's answers meet their groups
in a known order.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_stack import (
    LOCAL_LEASE_SECONDS,
    LOCAL_VISIBILITY_SECONDS,
    EventSources,
    Stack,
    clear_stack,
    create_stack,
    create_stack_with_terraform,
    event_times,
    local_aws,
    put_log_lines,
)

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.parameters import FixConfig
from chalicelib.adapters.settings import Settings
from chalicelib.core.filter_pattern import parse_filter_pattern
from chalicelib.core.log_files import read_log_events
from chalicelib.core.models import Status
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from chalicelib.core.models import ErrorGroup

LOG_GROUP = "/selfheal/local/app"
DEFAULT_PATTERN = '?"Traceback (most recent call last)" ?"[ERROR]" ?errorType ?"\\"exception\\""'
BATCH_EVENTS = 1_000
SUMMARY_KEYS = ("fingerprint", "status", "occurrences", "exception_type", "branch", "pr_url", "reason")


@dataclass
class LocalRun:
    """Options of one local run."""

    logs: Sequence[Path]
    repo: str
    model: str
    path_prefixes: Sequence[str] = ()
    filter_pattern: str = DEFAULT_PATTERN
    endpoint_url: str = ""
    github_url: str = ""
    github_token: str = ""
    min_occurrences: int = 1
    stack: str = "boto3"  # or "terraform": the deployment itself, applied to the local endpoint
    region: str = ""  # of the real Bedrock a model id is called in (default: the AWS configuration's)
    state_dir: str = ""  # where the stack is kept for later commands (scripts/local_state.py); '' keeps none
    # CI locally (scripts/local_checks.py): a test command run in a worktree of each fix branch.
    test_command: str = ""
    repair_rounds: int = 1


class LocalClients(Clients):
    """The clients of a local run: every service at the local endpoint, except Bedrock.

    A model id (``--model-id``) is answered by the real Amazon Bedrock, with the user's own
    credentials and region, while the table, queue and logs stay on the local server: a local
    server has no models, and its answer to Converse is an HTML error page.
    """

    def __init__(self, settings: Settings, bedrock_region: str = "", session: Any = None) -> None:
        import boto3

        self._real = session or boto3.session.Session()
        super().__init__(settings, self._real)
        self._bedrock_region = bedrock_region or self._real.region_name or settings.region

    def client(self, service: str) -> Any:
        """The local endpoint's client, or the real one for ``bedrock-runtime``."""
        if service != "bedrock-runtime":
            return super().client(service)
        from chalicelib.adapters.clients import BEDROCK

        return self._real.client(service, region_name=self._bedrock_region, config=BEDROCK)


def _log_lines(path: Path) -> list[str]:
    """What a log file would have been as CloudWatch events, in every form ``inspect`` reads
    (core/log_files.py ``read_log_events``); says on stderr which form it read. A file in no
    known form ends the run with one line and exit status 1."""
    try:
        found = read_log_events(path.read_bytes())
    except (OSError, PayloadError) as exc:
        raise SystemExit(f"selfheal local: {path}: {exc}") from exc
    stderr(found.describe(path.name))
    # One stream per file: each original stream's events kept together, in time order.
    events = sorted(found.events, key=lambda e: (e.log_stream, e.timestamp, e.index))
    # Lines end at \n only in text files: the Lambda runtime joins one event's lines with \r, kept within the event.
    return [e.message for e in events]


# A date and time near the start of a line (ISO 8601, Python logging's, the Lambda runtime's).
_LOG_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?")
LOG_TIME_WITHIN = 80  # characters from a line's start a timestamp is looked for in


def log_times(lines: Sequence[str]) -> list[int | None]:
    """Each line's time by the log itself (epoch ms): the timestamp near its start, else the
    previous line's (a traceback's frames carry none); None before the first. The events of a
    local run are written at these times (local_stack.event_times), so a group's first and
    last seen are the log's, as in AWS."""
    times: list[int | None] = []
    last: int | None = None
    for line in lines:
        if match := _LOG_TIME.search(line[:LOG_TIME_WITHIN]):
            last = _epoch_ms(match) or last
        times.append(last)
    return times


def _epoch_ms(match: re.Match[str]) -> int | None:
    from datetime import UTC, datetime, timedelta

    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        when -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return int(when.timestamp() * 1000) + int((fraction or "0")[:3].ljust(3, "0"))


def _payload(stack: Stack, stream: str, events: list[dict[str, Any]], log_group: str = "") -> dict[str, Any]:
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "000000000000",
        "logGroup": log_group or stack.log_group,
        "logStream": stream,
        "subscriptionFilters": ["selfheal-local"],
        "logEvents": [{"id": e["eventId"], "timestamp": e["timestamp"], "message": e["message"]} for e in events],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()}}


def _stream_events(clients: Clients, log_group: str, stream: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"logGroupName": log_group, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = clients.logs.get_log_events(**kwargs)
        events.extend(page["events"])
        if not page["events"] or page.get("nextForwardToken") == token:
            return [
                {**e, "eventId": e.get("eventId") or f"{e['timestamp']:020d}{n:036d}"} for n, e in enumerate(events)
            ]
        token = page.get("nextForwardToken")


SAMPLE_APP = Path(__file__).resolve().parent / "sample_app"


def commit_sample_app(work: Path) -> Path:
    """A git work tree at ``work`` whose main branch holds the bundled sample app's code."""
    import shutil

    import git

    shutil.copytree(SAMPLE_APP, work, ignore=shutil.ignore_patterns("logs", "__pycache__", "*.json", "make_logs.py"))
    repo = git.Repo.init(work, initial_branch="main")
    repo.index.add([str(p.relative_to(work)) for p in sorted(work.rglob("*.py"))])
    author = git.Actor("selfheal sample", "sample@selfheal.invalid")
    repo.index.commit("The sample shop service", author=author, committer=author)
    return work


def summary(groups: Sequence[ErrorGroup], with_service: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The ``local --json`` / ``status --json`` document (contract); ``with_service`` adds each
    group's ``service`` (``local --services``, ``status``)."""
    from local_checks import fix_fields  # CI as the judge: fixability, checks, repairs, ready, risks

    keys = (*SUMMARY_KEYS, "service") if with_service else SUMMARY_KEYS
    return {"groups": [{**{k: getattr(g, k) for k in keys}, **fix_fields(g)} for g in groups]}


def table(groups: Sequence[ErrorGroup], with_service: bool = False) -> str:
    """The summary as a table for people (with a SERVICE column when ``with_service``)."""
    service = f"{'SERVICE':<16} " if with_service else ""
    rows = [f"{'GROUP':<12}  {service}{'STATUS':<10} {'COUNT':>5}  {'EXCEPTION':<28} BRANCH / PR / REASON"]
    for g in groups:
        where = g.pr_url or g.reason or "-"
        if g.branch:
            where = f"{g.branch}  {where}"
        service = f"{(g.service or '-')[:16]:<16} " if with_service else ""
        rows.append(
            f"{g.fingerprint[:12]:<12}  {service}{g.status:<10} {g.occurrences:>5}  {g.exception_type[:28]:<28} {where}"
        )
    return "\n".join(rows)


class LocalPipeline:
    """Drives the deployed handlers against a stack, as Lambda's event sources would."""

    def __init__(self, clients: Clients, stack: Stack, say: Callable[[str], None]) -> None:
        import app  # the handlers, as deployed (imported here: runtime must be configured first)

        self._app = app
        self._clients = clients
        self._stack = stack
        self._sources = EventSources(clients, stack)
        self._say = say

    def deliver(self, stream: str, pattern: str, log_group: str = "") -> int:
        """Send the stream's events that match the filter pattern to log_processor, in batches
        (the stream of ``log_group``, by default the stack's)."""
        matcher = parse_filter_pattern(pattern)
        log_group = log_group or self._stack.log_group
        events = [e for e in _stream_events(self._clients, log_group, stream) if matcher.matches(e["message"])]
        for begin in range(0, len(events), BATCH_EVENTS):
            batch = events[begin : begin + BATCH_EVENTS]
            result = self._app.log_processor(_payload(self._stack, stream, batch, log_group), None)
            self._say(f"log_processor: {result['tracebacks']} traceback(s), {result['new_groups']} new group(s)")
        return len(events)

    def drain(self, timeout_s: float = 300.0) -> None:
        """Run stream records and queue messages through their handlers until nothing is left."""
        sqs = self._clients.sqs
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            event = self._sources.stream_event()
            if event is not None:
                failures = self._app.stream_processor(event, None)["batchItemFailures"]
                self._say(f"stream_processor: {len(event['Records'])} record(s), {len(failures)} failed")
                continue
            queued = self._sources.queue_event(max_messages=10)
            if queued is not None:
                self._run_jobs(queued)
                continue
            # Done only when no message is in flight *nor* visible: one whose visibility timeout
            # ended between the receive above and this read is visible, not in flight, and waits.
            counts = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            attributes = sqs.get_queue_attributes(QueueUrl=self._stack.queue_url, AttributeNames=counts)["Attributes"]
            if all(int(attributes.get(name, "0")) == 0 for name in counts):
                return
            time.sleep(0.2)
        self._say("stopped waiting: the queue did not drain in time")

    def _run_jobs(self, queued: dict[str, Any]) -> None:
        store = runtime.store()

        def first_seen(record: dict[str, Any]) -> tuple[int, str]:
            fp = json.loads(record["body"]).get("fingerprint", "")
            group = store.get(fp)
            return (group.first_seen if group else 0, fp)

        for record in sorted(queued["Records"], key=first_seen):
            event = {"Records": [record]}
            fp = json.loads(record["body"]).get("fingerprint", "?")
            try:
                response = self._app.fixer(event, None)
            except Exception as exc:  # every record failed: Lambda would retry after the timeout
                response = {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
                # Powertools' error carries every record's traceback: its last line says what failed.
                lines = [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
                self._say(f"fixer: {fp[:12]} failed: {lines[-1].strip()}")
            self._sources.settle(event, response)
            group = store.get(fp)
            # A failed job is retried at once, except one refused because its group is FIXING under
            # a live lease: SQS hands it out again after its visibility timeout, as in AWS, and by
            # then the lease has expired.
            if response["batchItemFailures"] and not (group is not None and group.status == Status.FIXING):
                self._clients.sqs.change_message_visibility(
                    QueueUrl=self._stack.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            if group is not None:
                self._say(f"fixer: {fp[:12]} {group.exception_type} → {group.status} {group.pr_url or group.reason}")


def local_settings(base: Settings, stack: Stack) -> Settings:
    """Settings for the handlers against a local stack: its names, and a lease that ends before
    its queue's visibility timeout."""
    return replace(
        base,
        table_name=stack.table_name,
        queue_url=stack.queue_url,
        lease_seconds=LOCAL_LEASE_SECONDS,
        queue_visibility_seconds=LOCAL_VISIBILITY_SECONDS,
    )


def run(options: LocalRun, say: Callable[[str], None], notice: Callable[[str], None] | None = None) -> list[ErrorGroup]:
    """Create the stack, load the logs, run the pipeline; returns the groups, newest first.

    ``say`` takes the progress lines (each step as it happens: quiet under ``--json``), ``notice``
    (default: ``say``) the lines that say what the run read or did differently from what was asked
    (the model is a replay file, the log's times were moved, an earlier run's state was loaded):
    they change how the result reads, so ``--json`` keeps them on stderr."""
    with local_aws(options.endpoint_url, say) as endpoint:
        return _run(options, endpoint, say, notice or say)


def _run(
    options: LocalRun, endpoint: str, say: Callable[[str], None], notice: Callable[[str], None]
) -> list[ErrorGroup]:
    try:
        base = Settings(endpoint_url=endpoint)
        clients = Clients(base)
        if options.stack == "terraform":
            say("stack: package + terraform apply against the local endpoint (about two minutes)")
            workdir = Path(tempfile.mkdtemp(prefix="selfheal-tf-"))
            stack = create_stack_with_terraform(clients, endpoint, LOG_GROUP, workdir)
        else:
            if not options.endpoint_url:
                clear_stack(clients, prefix="selfheal-local")
            stack = create_stack(clients, prefix="selfheal-local", log_group=LOG_GROUP)
        # The stream gates on the same minimum the fixer is given (`--min-occurrences`, 1 by default).
        settings = replace(local_settings(base, stack), min_occurrences=options.min_occurrences)
        clients = LocalClients(settings, options.region)
        config = FixConfig(
            repo_url=options.repo,
            model_id=options.model,
            github_url=options.github_url,
            github_token=options.github_token,
            path_prefixes=tuple(options.path_prefixes),
            min_occurrences=options.min_occurrences,
        )
        runtime.override(
            settings=settings, clients=clients, fixer=runtime.build_fixer(config, clients, announce=notice)
        )
        _load_state(options, clients, notice)
        pipeline = LocalPipeline(clients, stack, say)
        run_id = uuid.uuid4().hex[:8]  # a second run against the same endpoint writes new streams
        for n, path in enumerate(options.logs):
            lines = _log_lines(path)
            stream = f"local/{run_id}/{n}-{path.name}"
            stamps, shifted = event_times(len(lines), log_times(lines), int(time.time() * 1000))
            if shifted:
                days = shifted / 86_400_000
                notice(f"{path}: its times are older than CloudWatch accepts (14 days): moved {days:.1f} days later")
            put_log_lines(clients, stack.log_group, lines, stream, stamps)
            delivered = pipeline.deliver(stream, options.filter_pattern)
            say(f"{path}: {len(lines)} line(s) into {stack.log_group}, {delivered} matched the filter pattern")
        say("pipeline: grouping, enqueueing and fixing (a fix takes a few seconds with a model)")
        pipeline.drain()
        if options.test_command:  # CI locally: scripts/local_checks.py
            from local_checks import judge_local_run

            judge_local_run(options.repo, options.test_command, options.repair_rounds, pipeline.drain, say)
        if options.state_dir:
            from local_state import LocalState, save

            state = LocalState(options.endpoint_url, stack.table_name, region=settings.region, repo=options.repo)
            save(Path(options.state_dir), state, clients)
        return runtime.store().scan()
    finally:
        runtime.clear()


def _load_state(options: LocalRun | Any, clients: Clients, say: Callable[[str], None]) -> None:
    """Load the state an earlier run for the same repository left on the embedded server: its
    groups are counted again, not fixed again, and a group re-opened since (``retry``) is fixed.
    ``options``: a LocalRun, or anything with its ``state_dir``, ``endpoint_url``, ``stack`` and
    ``repo`` (``local --services``: the services file stands for the repository)."""
    if not options.state_dir or options.endpoint_url or options.stack != "boto3":
        return
    from local_state import load, restore, saved_dump

    directory = Path(options.state_dir)
    previous = load(directory)
    if previous is None or previous.endpoint_url or previous.repo != options.repo:
        return
    items = restore(clients, saved_dump(directory) or {})
    say(f"local state: {items} item(s) of the earlier run on this repository, from {directory}")


def stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def quiet(_message: str) -> None:
    """The progress channel under ``--json``: stderr carries notices and errors only."""
