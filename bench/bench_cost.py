"""What selfheal costs a month, measured through the real handlers, beside the original guidance's table.

The original guidance's sizing: 1,000,000 error events a month from 1,000 distinct bugs (Zipf over
the bugs), delivered in CloudWatch Logs subscription batches as they would arrive at that rate
(~0.39 errors a second: a few events per delivery). Each event is a real Python traceback, raised
by running the bug's code (bench/cost_corpus.py). The deployed handlers of ``app.py`` run against a
moto server (ThreadedMotoServer on 127.0.0.1) with real boto3 clients; the fixer reads its
configuration from SSM, fixes in a local git repository of the quick start's sample app (plus the
bugs' modules) and asks the ``replay:`` model, whose answers carry token counts measured on the
prompts the fixer really builds.

Two slices, extrapolated separately (``--quick`` shrinks both):
  events  a slice of the month's events (1/100; --quick 1/1,000) through log_processor, with every
          bug already known: its cost is linear in events;
  fixes   the first occurrence of N bugs through stream_processor, the queue and the fixer (one
          cold start each, as at ~1.4 new bugs an hour): its cost is linear in distinct bugs
          (1,000 a month), not in events.
Fixed monthly costs (the KMS key, alarms, the SQS long polling of the fixer's event source mapping,
custom metrics) are added once. Then one fix is timed end to end in GitHub API mode on a
10,000-file repository served by tests/github_server.py.

    python bench/bench_cost.py [--quick] [--fix-bugs N] [--slice 0.01] [--github-files 10000]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import logging
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "chalice_app"), str(ROOT / "scripts"), str(ROOT), str(Path(__file__).resolve().parent)]

OUT = sys.stdout  # the report; handlers' stdout (their log lines) is counted, not shown

# --- prices: public on-demand list prices, us-east-1, as data ------------------------------------------
PRICES_SOURCE = (
    "AWS public pricing pages, us-east-1, on-demand list prices as of 2025-11 (DynamoDB after its 2024-11 "
    "on-demand cut; not re-checked since: this machine has no network); free tiers not applied"
)
PRICES = {
    "dynamodb_wru": 0.625 / 1e6,  # per write request unit (1 KB of item per write)
    "dynamodb_rru": 0.125 / 1e6,  # per read request unit (4 KB strongly consistent, 8 KB eventually)
    "dynamodb_storage_gb": 0.25,  # per GB-month
    "dynamodb_pitr_gb": 0.20,  # continuous backups, per GB-month
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk of a request
    "lambda_gb_s": 0.0000166667,  # x86
    "lambda_request": 0.20 / 1e6,
    "logs_ingest_gb": 0.50,  # CloudWatch Logs standard class
    "logs_storage_gb": 0.03,  # per GB-month, compressed
    "custom_metric": 0.30,  # per metric-month (first 10,000)
    "alarm": 0.10,  # standard resolution, per alarm-month
    "dashboard": 3.00,  # per dashboard-month beyond the first 3 of an account
    "xray_trace": 5.00 / 1e6,  # traces recorded
    "kms_key": 1.00,  # customer-managed key, per month
    "kms_request": 0.03 / 10_000,
    "ssm_standard": 0.0,  # standard parameters and standard throughput: no charge
    "sns_publish": 0.50 / 1e6,
    "bedrock_in": 3.00 / 1e6,  # Claude 3.5 Sonnet / Sonnet 4 class, on-demand, per input token
    "bedrock_out": 15.00 / 1e6,  # per output token
}
GUIDANCE = {"DynamoDB": 17.08, "CloudWatch": 8.77, "Lambda": 2.43, "SQS": 0.01, "Bedrock": 32.00}
GUIDANCE_TOTAL = 60.29

# --- workload and assumptions -------------------------------------------------------------------------
MONTH_S = 30 * 86_400
MONTH_EVENTS = 1_000_000
MONTH_BUGS = 1_000
ZIPF_S = 1.1
STREAMS = 4  # log streams the app writes errors to at once (execution environments / tasks)
WINDOW_S = 2.0  # a subscription delivery carries what one stream wrote within this window
BURST_MEAN = 2.0  # tracebacks per failing request: the client's retry fails the same way (geometric)
TOOL_PROMPT_TOKENS = 313  # Anthropic's tool-use system prompt, Claude 3.5 Sonnet, forced tool choice
# Characters a token, counted on 60 of this bench's prompts and answers with Anthropic's published
# tokenizer (npm @anthropic-ai/tokenizer 0.0.4: 3.70 in, 3.60 out); it is the pre-Claude-3 vocabulary,
# so today's models may count somewhat differently.
CHARS_PER_TOKEN_IN = 3.7
CHARS_PER_TOKEN_OUT = 3.6
MODEL_TTFT_S = 1.5  # time to the first token at ~4k input tokens
MODEL_TOKENS_PER_S = 50.0  # output speed, Sonnet class on Bedrock
SQS_POLLERS = 5  # the SQS event source mapping long-polls with 5 pollers when the queue is idle
SQS_WAIT_S = 20
# terraform/variables.tf kms_key: the default first; the bench prices both
KMS_MODES = ("customer-managed", "aws-managed")
KMS_DEFAULT = KMS_MODES[0]
SECURE_PARAMETERS = 3  # the SecureString parameters the fixer reads (one KMS Decrypt each per cold start)
# terraform/alarms.tf with the default variables (tests/terraform/test_stack.py counts what apply creates)
ALARMS = {"dead-letter queues not empty": 2, "webhook errors": 1}
# The scheduled functions (chalicelib/sources.py) and how often each runs a month.
SCHEDULES = {"remediation_verifier": 30 * 24 * 12, "budget_sweeper": 30 * 24, "heal_checker": 30 * 24}
# Idle runs of each scheduled function; its time is their median. One run alone priced a handler's
# first use (its clients, its lazy imports) and the machine's load of that moment × 8,640 runs a month.
IDLE_RUNS = 5
LOG_RETENTION_MONTHS = 12  # terraform/variables.tf log_retention_days = 365
# terraform/variables.tf lambda_system_log_level: WARN drops Lambda's START/END/REPORT lines below
SYSTEM_LOG_LEVEL = "WARN"
LAMBDA_PLATFORM_LINES = (
    "START RequestId: {rid} Version: $LATEST\n",
    "END RequestId: {rid}\n",
    "REPORT RequestId: {rid}\tDuration: {ms:.2f} ms\tBilled Duration: {billed} ms\tMemory Size: {mem} MB\t"
    "Max Memory Used: 112 MB\t\nXRAY TraceId: 1-6740a1b2-{trace}\tSegmentId: {seg}\tSampled: true\t\n",
)


def say(text: str = "") -> None:
    print(text, file=OUT, flush=True)


def tokens(text: str, per_token: float = CHARS_PER_TOKEN_IN) -> int:
    return math.ceil(len(text) / per_token)


def function_config() -> dict[str, dict[str, int]]:
    config = json.loads((ROOT / "chalice_app" / ".chalice" / "config.json").read_text())
    return config["stages"]["dev"]["lambda_functions"]


# --- arrivals -------------------------------------------------------------------------------------------


def zipf_weights(n: int, s: float = ZIPF_S) -> list[float]:
    return [1 / (k + 1) ** s for k in range(n)]


def deliveries(events: int, ranked_bugs: list[int], seed: int) -> list[tuple[int, float, list[int]]]:
    """Subscription deliveries for ``events`` error events at the month's rate: failing requests
    arrive as a Poisson process, each logs a burst of tracebacks of one bug (Zipf) on one of STREAMS
    streams; a delivery is what one stream wrote within a WINDOW_S window. Returns (stream, time, bugs)."""
    rng = random.Random(seed)
    rate = MONTH_EVENTS / MONTH_S  # events a second
    weights = zipf_weights(len(ranked_bugs))
    t = 0.0
    emitted: list[tuple[int, float, int]] = []
    while len(emitted) < events:
        t += rng.expovariate(rate / BURST_MEAN)
        bug = rng.choices(ranked_bugs, weights=weights)[0]
        stream = rng.randrange(STREAMS)
        size = 1
        while rng.random() > 1 / BURST_MEAN:
            size += 1
        for k in range(size):
            emitted.append((stream, t + 0.3 * k, bug))
    emitted = emitted[:events]
    windows: dict[tuple[int, int], list[int]] = defaultdict(list)
    for stream, when, bug in emitted:
        windows[(stream, int(when // WINDOW_S))].append(bug)
    return [(s, w * WINDOW_S, bugs) for (s, w), bugs in sorted(windows.items(), key=lambda kv: kv[0][1])]


def payload(log_group: str, stream: int, start_ms: int, messages: list[str]) -> dict[str, Any]:
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": f"2026/11/23/[$LATEST]{stream:04d}{'0' * 28}",
        "subscriptionFilters": ["selfheal"],
        "logEvents": [
            {"id": f"{uuid.uuid4().int % 10**56:056d}", "timestamp": start_ms + k, "message": m}
            for k, m in enumerate(messages)
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()}}


# --- the repository -------------------------------------------------------------------------------------


def make_repo(tmp: Path, bugs: int) -> tuple[Path, Path, list[Any]]:
    """The sample app plus the bugs' modules, committed; returns the work tree, a bare remote, the bugs."""
    import cost_corpus
    import git

    work = tmp / "shop-work"
    shutil.copytree(
        ROOT / "scripts" / "sample_app",
        work,
        ignore=shutil.ignore_patterns("logs", "__pycache__", "*.json", "make_logs.py"),
    )
    cost_corpus.write_features(work, bugs)
    found = cost_corpus.build_bugs(work, bugs)
    for cache in work.rglob("__pycache__"):
        shutil.rmtree(cache)
    repo = git.Repo.init(work, initial_branch="main")
    repo.index.add([str(p.relative_to(work)) for p in sorted(work.rglob("*.py"))])
    author = git.Actor("selfheal bench", "bench@selfheal.invalid")
    repo.index.commit("The shop service", author=author, committer=author)
    bare = tmp / "shop.git"
    git.Repo.clone_from(str(work), str(bare), bare=True)
    return work, bare, found


class MemoryRepo:
    """The repository in memory, for measuring prompts without publishing anything."""

    default_branch = "main"

    def __init__(self, files: dict[str, str]) -> None:
        self._files = files

    def paths(self) -> list[str]:
        return sorted(self._files)

    def read(self, path: str) -> str | None:
        return self._files.get(path)

    def publish(self, branch: str, files: Any, message: str) -> str:
        return "0" * 40

    def __enter__(self) -> MemoryRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _NoPulls:
    def open_or_update(self, *args: Any) -> str:
        return "memory://pr"


class _NoLease:
    def set_branch(self, branch: str) -> None:
        return None


def _blocks(messages: Any) -> list[dict[str, Any]]:
    return [block for message in messages for block in message["content"]]


def _block_text(block: dict[str, Any]) -> str:
    """What a content block puts before the model: text, a tool call's input, a tool result's text."""
    if "text" in block:
        return block["text"]
    if "toolUse" in block:
        return json.dumps(block["toolUse"]["input"], ensure_ascii=False)
    if "toolResult" in block:
        return "\n".join(c.get("text", "") for c in block["toolResult"]["content"])
    return json.dumps(block, ensure_ascii=False)


class MeasuringModel:
    """Answers from the bug's recorded fix and measures each request the fixer builds, in tokens."""

    model_id = "measuring"

    def __init__(self, bug: Any) -> None:
        self.bug = bug
        self.rounds: list[tuple[int, int, int]] = []  # (input tokens, output tokens, latency ms)
        self.texts: list[str] = []

    def converse(self, system: str, messages: Any, group: Any = None) -> dict[str, Any]:
        import cost_corpus

        from chalicelib.core.prompt import tool_config

        text = "\n".join([system, json.dumps(tool_config(forced=True)), *map(_block_text, _blocks(messages))])
        self.texts.append(text)
        round_ = len(self.rounds) + 1
        answer = cost_corpus.tool_input(self.bug, good=round_ == 2 or not self.bug.retried)
        tokens_out = (
            tokens(json.dumps(answer, ensure_ascii=False), CHARS_PER_TOKEN_OUT) + 12
        )  # the toolUse block around it
        tokens_in = tokens(text) + TOOL_PROMPT_TOKENS
        latency = int(1000 * (MODEL_TTFT_S + tokens_out / MODEL_TOKENS_PER_S))
        self.rounds.append((tokens_in, tokens_out, latency))
        return cost_corpus.converse_answer(self.bug, round_, tokens_in, tokens_out, latency)


def measure_answers(groups: list[Any], bugs_by_fp: dict[str, Any], files: dict[str, str], settings: Any) -> dict:
    """Run the fixer's own prompt building for every group (in memory, nothing published) and
    return the replay file: per fingerprint, the answers of each round with measured token counts."""
    from chalicelib.usecases.fix_generation import ModelFixer

    replay: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        model = MeasuringModel(bugs_by_fp[group.fingerprint])
        ModelFixer(lambda: MemoryRepo(files), _NoPulls(), model, settings).fix(group, _NoLease())  # type: ignore[arg-type]
        import cost_corpus

        replay[group.fingerprint] = [
            cost_corpus.converse_answer(model.bug, n + 1, *usage) for n, usage in enumerate(model.rounds)
        ]
    return replay


# --- the run --------------------------------------------------------------------------------------------


class Bench:
    """One moto server, the stack, the handlers and the meter."""

    def __init__(self, tmp: Path, meter: Any) -> None:
        import boto3
        from chalice.local import LambdaContext
        from local_stack import EventSources, create_stack
        from moto.server import ThreadedMotoServer

        from chalicelib import runtime
        from chalicelib.adapters.clients import Clients
        from chalicelib.adapters.settings import Settings

        self.tmp = tmp
        self.meter = meter
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        session = boto3.session.Session()
        meter.hook(session)
        base = Settings(endpoint_url=self.endpoint)
        self.stack = create_stack(Clients(base, session), prefix="cost", log_group="/aws/lambda/shop")
        clients = Clients(base, session)
        topic = clients.client("sns").create_topic(Name="cost-notifications")["TopicArn"]
        from chalicelib.adapters.governor_store import table_definition

        governor = "cost-governor"
        clients.dynamodb.create_table(**table_definition(governor))
        self.settings = replace(
            base,
            table_name=self.stack.table_name,
            queue_url=self.stack.queue_url,
            parameter_prefix="/selfheal-cost/",
            topic_arn=topic,
            governor_table_name=governor,
        )
        self.clients = Clients(self.settings, session)
        self.sources = EventSources(self.clients, self.stack)
        self._iterators: dict[str, str] = {}
        self.stream_records_seen = 0
        self.item_sizes: dict[str, int] = {}  # the latest image of each item seen on the stream
        self.first_sizes: dict[str, int] = {}  # its largest image before a fix began
        self.tokens_seen: set[bytes] = set()  # delivery tokens of the items' ``seen`` sets (packed)
        self.config = function_config()
        self.runtime = runtime
        self._context = LambdaContext

    def context(self, name: str) -> Any:
        conf = self.config[name]
        return self._context(name, conf["lambda_memory_size"], max_runtime_ms=conf["lambda_timeout"] * 1000)

    def put_parameters(self, prefix: str, values: dict[str, str], secure: tuple[str, ...] = ()) -> None:
        ssm = self.clients.ssm
        for name, value in values.items():
            kind = "SecureString" if name in secure else "String"
            ssm.put_parameter(Name=f"{prefix}{name}", Value=value, Type=kind, Overwrite=True)

    def _stream_reads(self, skip: bool = False) -> list[dict[str, Any]]:
        """Every record written to the table's stream since the last read (``skip``: drop them)."""
        streams = self.clients.client("dynamodbstreams")
        arn = self.stack.stream_arn
        records: list[dict[str, Any]] = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            sid = shard["ShardId"]
            if skip or sid not in self._iterators:
                kind = "LATEST" if skip else "TRIM_HORIZON"
                self._iterators[sid] = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType=kind)[
                    "ShardIterator"
                ]
            while not skip:
                answer = streams.get_records(ShardIterator=self._iterators[sid], Limit=1000)
                self._iterators[sid] = answer.get("NextShardIterator") or self._iterators[sid]
                if not answer.get("Records"):
                    break
                records += answer["Records"]
        return records

    def skip_stream(self) -> None:
        """Forget the records written so far (the bench's own seeding)."""
        with self.meter.as_actor("setup"):
            self._stream_reads(skip=True)

    def stream_jobs(self) -> list[dict[str, Any]]:
        """The stream records Lambda's filter criteria let through to stream_processor (package.py):
        INSERT of a NEW group, or MODIFY to NEW from a re-openable status. moto writes two INSERT
        records for a new item where DynamoDB writes one: the second is dropped."""
        from cost_meter import item_size

        from chalicelib.core.models import Status

        passed, seen = [], set()
        with self.meter.as_actor("setup"):  # Lambda's reads of a DynamoDB stream are not billed
            records = self._stream_reads()
        for raw in records:
            record = dict(raw, eventSourceARN=self.stack.stream_arn)
            change = dict(record.get("dynamodb", {}))
            created = change.get("ApproximateCreationDateTime")
            if hasattr(created, "timestamp"):  # boto3 parsed it; Lambda sends epoch seconds
                change["ApproximateCreationDateTime"] = created.timestamp()
            record["dynamodb"] = change
            new = change.get("NewImage", {}).get("status", {}).get("S")
            old = change.get("OldImage", {}).get("status", {}).get("S")
            fp = change.get("Keys", {}).get("fingerprint", {}).get("S", "")
            if record["eventName"] == "INSERT" and new == "NEW":
                if fp in seen:
                    continue
                seen.add(fp)
                passed.append(record)
            elif record["eventName"] == "MODIFY" and new == "NEW" and old in Status.REOPENED_FROM:
                passed.append(record)
            for image in ("NewImage", "OldImage"):
                if fp and image in change:
                    size = item_size({k: v for k, v in change[image].items() if k != "seen"})
                    if image == "NewImage":  # the item as it stands now (a claim's lease is gone once fixed)
                        self.item_sizes[fp] = size
                    if change[image].get("status", {}).get("S") in ("NEW", "QUEUED"):
                        self.first_sizes[fp] = max(self.first_sizes.get(fp, 0), size)
                    self.tokens_seen.update(bytes(b) for b in change[image].get("seen", {}).get("BS", []))
        self.stream_records_seen += len(records)
        return passed

    def item(self, fingerprint: str) -> dict[str, Any]:
        """An error group's stored attributes as plain values (the fixer's tokens, rounds, …)."""
        with self.meter.as_actor("setup"):
            return self.runtime.store().raw(fingerprint)

    def stop(self) -> None:
        self.runtime.clear()
        self.server.stop()


def first_message_fingerprint(bug: Any) -> str:
    """The fingerprint log_processor gives the bug's first log event."""
    from chalicelib.core.fingerprint import fingerprint
    from chalicelib.core.logs_payload import find_in_batch, parse_batch

    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "1",
        "logGroup": "/aws/lambda/shop",
        "logStream": "s",
        "subscriptionFilters": ["selfheal"],
        "logEvents": [{"id": "1", "timestamp": 1, "message": bug.messages[0]}],
    }
    [tb] = find_in_batch(parse_batch(doc))
    return fingerprint(tb)


def run(args: argparse.Namespace) -> dict[str, Any]:  # noqa: PLR0915 - one measured story, in order
    """Build the repository and the stack, then run the fixes slice and the events slice."""
    from cost_meter import CountingStream, Meter

    meter = Meter()
    # Handlers print their logs and EMF lines to stdout: counted per function, never shown. Swapped
    # before app.py is imported, so the handler the Chalice app attaches writes here too.
    sys.stdout = CountingStream(meter)  # type: ignore[assignment]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    import app as handlers
    from chalice.test import Client

    from chalicelib.core.localize import DEFAULT_PREFIXES
    from chalicelib.usecases.fix_generation import FixSettings

    tmp = Path(tempfile.mkdtemp(prefix="selfheal-cost-"))
    t0 = time.perf_counter()
    work, bare, bugs = make_repo(tmp, MONTH_BUGS)
    files = {str(p.relative_to(work)): p.read_text() for p in work.rglob("*.py") if ".git" not in p.parts}
    say(
        f"repository: the sample app + {len(bugs):,} bug sites in {len(files)} files ({time.perf_counter() - t0:.1f} s)"
    )
    bench = Bench(tmp, meter)
    rt = bench.runtime
    replay_path = tmp / "answers.json"
    bench.put_parameters(
        bench.settings.parameter_prefix,
        {"repo_url": str(bare), "model_id": f"replay:{replay_path}", "github_token": "ghp_" + "x" * 36},
        secure=("repo_url", "model_id", "github_token"),
    )
    rng = random.Random(args.seed)
    order = list(range(len(bugs)))
    rng.shuffle(order)  # the Zipf rank of each bug: families and log forms mixed over the ranks
    fix_set = sorted(rng.sample(range(len(bugs)), args.fix_bugs))
    slice_events = int(MONTH_EVENTS * args.slice)
    plan = deliveries(slice_events, order, args.seed)
    # The compressed clock puts every new bug in one clock hour and day: the hour's and the day's job
    # budgets are set to the number of fixes (+ the two GitHub-mode runs) so none is skipped, and one
    # occurrence is enough (each fixed bug occurs once in the fix slice); at ~1.4 new bugs an hour
    # the deployed 10 an hour / 50 a day never bind.
    jobs = args.fix_bugs + 2
    budgets = {"max_jobs_per_hour": jobs, "max_jobs_per_day": jobs, "min_occurrences": 1, "max_tokens_per_day": 0}
    rt.override(settings=replace(bench.settings, **budgets), clients=bench.clients)
    log_group = bench.stack.log_group
    now_ms = int(time.time() * 1000)
    client = Client(handlers.app, project_dir=str(ROOT / "chalice_app"))
    client.__enter__()

    # --- idle: each scheduled function once on the empty deployment (what runs with no error at all) --
    emf_before = len(meter.emf)
    for name in SCHEDULES:
        for _ in range(IDLE_RUNS):
            done, _ = meter.invoke(f"idle:{name}", getattr(handlers, name), scheduled_event(), bench.context(name))
            if isinstance(done, Exception):
                raise RuntimeError(f"the idle run of {name} failed: {done!r}") from done
    idle_metrics = {m["Name"] for d in meter.emf[emf_before:] for x in d.get("_aws", {}).get("CloudWatchMetrics", [])
                    for m in x.get("Metrics", [])}  # fmt: skip

    # --- fixes: first occurrences → stream_processor → queue → fixer -----------------------------------
    t_fix = time.perf_counter()
    in_slice = sorted({b for _, _, batch in plan for b in batch} - set(fix_set))
    with meter.as_actor("setup"):
        for begin in range(0, len(in_slice), 100):  # the slice's bugs are known already (steady state)
            chunk = [bugs[b].messages[0] for b in in_slice[begin : begin + 100]]
            handlers.log_processor(payload(log_group, 99, now_ms, chunk), bench.context("log_processor"))
        bench.skip_stream()  # their INSERTs: not part of what is measured
    for b in fix_set:  # first occurrences: their cost is in the events slice; their EMF metrics are kept
        event = payload(log_group, 98, now_ms, [bugs[b].messages[0]])
        meter.invoke("log_processor_first", handlers.log_processor, event, bench.context("log_processor"))
    for record in bench.stream_jobs():  # one new group per stream batch, as at ~1.4 new bugs an hour
        meter.invoke(
            "stream_processor", handlers.stream_processor, {"Records": [record]}, bench.context("stream_processor")
        )
    store = rt.store()
    bugs_by_fp = {first_message_fingerprint(bugs[b]): bugs[b] for b in fix_set}
    with meter.as_actor("setup"):
        groups = [g for fp in sorted(bugs_by_fp) if (g := store.get(fp)) is not None]
    replay = measure_answers(groups, bugs_by_fp, files, FixSettings(path_prefixes=DEFAULT_PREFIXES))
    replay_path.write_text(json.dumps(replay))
    while True:
        with meter.as_actor("esm"):
            event = bench.sources.queue_event(max_messages=1)
        if event is None:
            break
        fp = json.loads(event["Records"][0]["body"])["fingerprint"]
        model_s = sum(a["metrics"]["latencyMs"] for a in replay.get(fp, [])) / 1000
        rt.reset()  # a cold start: at ~1.4 jobs an hour no fixer stays warm
        result, _ = meter.invoke("fixer", handlers.fixer, event, bench.context("fixer"), extra_s=model_s)
        with meter.as_actor("esm"):
            bench.sources.settle(event, result if isinstance(result, dict) else None)
    for record in bench.stream_jobs():  # re-opens (none expected) would wake stream_processor
        meter.invoke(
            "stream_processor", handlers.stream_processor, {"Records": [record]}, bench.context("stream_processor")
        )
    fixed = [bench.item(fp) for fp in sorted(bugs_by_fp)]
    n_fix_calls = len(meter.calls)
    say(
        f"fixes: {len(fixed)} new bugs through stream_processor → queue → fixer "
        f"in {time.perf_counter() - t_fix:.1f} s; "
        f"statuses {dict(Counter(g.get('status') for g in fixed))}"
    )

    # --- events: a slice of the month through log_processor ----------------------------------------------
    t_ev = time.perf_counter()
    for stream, when, batch in plan:
        messages = [bugs[b].messages[k % len(bugs[b].messages)] for k, b in enumerate(batch)]
        event = payload(log_group, stream, now_ms + int(when * 1000), messages)
        meter.invoke("log_processor", handlers.log_processor, event, bench.context("log_processor"))
    reopened = bench.stream_jobs()
    for record in reopened:
        meter.invoke(
            "stream_processor", handlers.stream_processor, {"Records": [record]}, bench.context("stream_processor")
        )
    say(
        f"events: {slice_events:,} error events ({args.slice:g} of the month) in {len(plan):,} deliveries through "
        f"log_processor in {time.perf_counter() - t_ev:.1f} s; {bench.stream_records_seen:,} stream records read, "
        f"{len(reopened)} passed the filter criteria"
    )
    client.__exit__(None, None, None)
    sys.stdout = OUT
    return {
        "meter": meter,
        "bench": bench,
        "plan": plan,
        "slice_events": slice_events,
        "fixed": fixed,
        "n_fix_calls": n_fix_calls,
        "idle_metrics": idle_metrics,
        "replay": replay,
        "bugs": bugs,
        "files": files,
        "tmp": tmp,
        "work": work,
    }


# --- one fix in GitHub API mode on a 10,000-file repository ------------------------------------------


class TimedModel:
    """The replay model, timed: the fix's wall time is measured without the model's."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.model_id = inner.model_id
        self.seconds = 0.0

    def converse(self, system: str, messages: Any, group: Any = None) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            return self._inner.converse(system, messages, group=group)
        finally:
            self.seconds += time.perf_counter() - start


def github_files(files: dict[str, str], total: int) -> dict[str, str]:
    """The service's files plus generated library modules, ``total`` files in all (deterministic)."""
    out = dict(files)
    k = 0
    while len(out) < total:
        body = "\n".join(
            f"def helper_{k}_{n}(value):\n    '''Helper {n} of module {k}.'''\n    return value * {n + 1}\n"
            for n in range(8)
        )
        out[f"lib/pkg_{k // 100:03d}/mod_{k:05d}.py"] = f'"""Library module {k}."""\n\n{body}'
        k += 1
    return out


def github_fix(result: dict[str, Any], total_files: int, paced: bool) -> dict[str, Any]:
    """Re-open one fixed group and fix it again through the handlers, the repository now read
    through the GitHub API from tests/github_server.py; returns the timing and the requests made."""
    import app as handlers
    from cost_meter import CountingStream

    from chalicelib.adapters.bedrock import ReplayModel
    from chalicelib.adapters.github_api import GitHubPullRequests, GitHubRepository
    from chalicelib.core.localize import DEFAULT_PREFIXES
    from chalicelib.usecases.fix_generation import FixSettings, ModelFixer
    from tests.github_server import FakeGitHub

    bench, meter = result["bench"], result["meter"]
    files = github_files(result["files"], total_files)
    gh = FakeGitHub("acme", "shop", files).start()
    rt = bench.runtime
    try:
        model = TimedModel(ReplayModel(result["tmp"] / "answers.json", announce=lambda _m: None))
        fixer = ModelFixer(
            lambda: GitHubRepository("acme/shop", gh.token, gh.base_url, paced=paced),
            GitHubPullRequests("acme/shop", gh.token, gh.base_url, paced=paced),
            model,
            FixSettings(path_prefixes=DEFAULT_PREFIXES),
        )
        store = rt.store()
        target = next(g for g in result["fixed"] if g.get("status") == "PR_OPENED" and g.get("rounds") == 1)
        rt.override(fixer=fixer)
        sys.stdout = CountingStream(meter)  # type: ignore[assignment]
        with meter.as_actor("setup"):
            store.reopen(target["fingerprint"], int(time.time() * 1000), reason="re-opened: GitHub mode timing")
            for record in bench.stream_jobs():
                handlers.stream_processor({"Records": [record]}, bench.context("stream_processor"))
            event = bench.sources.queue_event(max_messages=1)
        gh.requests.clear()
        start = time.perf_counter()
        with meter.as_actor("github_fixer"):
            answer = handlers.fixer(event, bench.context("fixer"))
        wall = time.perf_counter() - start
        with meter.as_actor("setup"):
            bench.sources.settle(event, answer)
            after = store.get(target["fingerprint"])
    finally:
        sys.stdout = OUT
        gh.stop()
        rt.override(fixer=None)
    kinds = Counter(_request_kind(method, path) for method, path in gh.requests)
    return {
        "files": len(files),
        "wall": wall,
        "model": model.seconds,
        "requests": len(gh.requests),
        "kinds": kinds,
        "status": after.status if after else "?",
        "paced": paced,
    }


def _request_kind(method: str, path: str) -> str:
    path = path.split("?", 1)[0]
    for marker in ("git/blobs", "git/trees", "git/commits", "git/refs", "pulls", "labels", "issues", "branches"):
        if marker in path:
            return f"{method} {marker}"
    return f"{method} {path.rsplit('/', 1)[-1] or path}"


# --- from measurements to a month ---------------------------------------------------------------------

AWS_LATENCY_S = {"dynamodb": 0.006, "sqs": 0.010, "ssm": 0.015, "sns": 0.012, "logs": 0.012}


def durations(meter: Any, actor: str, first: int = 0) -> list[float]:
    """Billed seconds per invocation: the handler's own time (wall minus waiting for moto) plus its
    AWS waits scaled from moto's latency to in-region latency (AWS_LATENCY_S), plus the model's time
    for the fixer; each rounded up to the millisecond as Lambda bills."""
    out = []
    for n in range(first, len(meter.seconds[actor])):
        calls = meter.requests_per_invocation[actor][n]
        wait = meter.waits[actor][n]
        moto = sum(c.end - c.start for c in calls) or 1e-9
        real = sum(AWS_LATENCY_S.get(c.service, 0.010) for c in calls)
        scaled = wait * min(1.0, real / moto)
        own = meter.seconds[actor][n] - wait
        out.append(math.ceil((own + scaled) * 1000) / 1000)
    return out


def init_seconds() -> dict[str, float]:
    """A cold start's INIT (billed since 2025-08): importing app.py and what each handler imports on
    first use, in a fresh interpreter (the better of two runs)."""
    code = (
        "import sys,time;sys.path[:0]=[{app!r}];t=time.perf_counter();import app;"
        "from chalicelib.usecases import ingest, enqueue, fix, fix_generation, metrics;"
        "from chalicelib.adapters import clients, store, queue, logs, parameters, bedrock;"
        "from chalicelib.adapters import git_repo, github_api, notify;"
        "import boto3;boto3.session.Session().client('dynamodb',region_name='us-east-1');"
        "print(time.perf_counter()-t)"
    ).format(app=str(ROOT / "chalice_app"))
    best = min(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(2)
    )
    return {"log_processor": best, "stream_processor": best, "fixer": best}


def scheduled_event() -> dict[str, Any]:
    """What EventBridge sends a scheduled function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-05T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/selfheal-dev-schedule"],
        "detail": {},
    }


def schedule_lines(meter: Any, conf: dict[str, Any], init: dict[str, float]) -> list[tuple[str, float, str]]:
    """Each scheduled function, run once on the empty deployment and scaled to its schedule: Lambda
    time (a run every 5 minutes stays warm, an hourly one starts cold), requests and X-Ray traces."""
    out = []
    for name, per_month in SCHEDULES.items():
        actor = f"idle:{name}"
        if not meter.seconds[actor]:
            continue
        secs = durations(meter, actor)
        mean = statistics.median(secs)
        cold = 24 * 30 if per_month > 24 * 30 else per_month  # a 5-minute schedule: ~one cold start an hour
        gb = conf[name]["lambda_memory_size"] / 1024
        gbs = (mean * per_month + cold * init["stream_processor"]) * gb
        calls = Counter(f"{c.service}.{c.operation}" for run in meter.requests_per_invocation[actor] for c in run)
        made = ", ".join(f"{op} {n / len(secs):g}" for op, n in sorted(calls.items())) or "no AWS request"
        reads = sum(n for op, n in calls.items() if op.startswith("dynamodb.")) / len(secs)  # ~1 RRU each
        cost = gbs * PRICES["lambda_gb_s"] + per_month * (
            PRICES["lambda_request"] + PRICES["xray_trace"] + reads * PRICES["dynamodb_rru"]
        )
        out.append(
            (
                f"{name} (schedule, {per_month:,} runs a month): {mean * 1000:.0f} ms at {gb:g} GB idle "
                f"(median of {len(secs)} runs), {made} "
                "per run, traced",
                cost,
                f"{gbs:,.0f} GB-s, {per_month:,} traces",
            )
        )
    return out


def idle_floor(priced: dict[str, Any], idle_metrics: set[str]) -> list[tuple[str, float]]:
    """What a deployment costs a month with no error at all: the fixed lines and the schedules."""
    polls = SQS_POLLERS * MONTH_S / SQS_WAIT_S
    fixed = [
        ("the customer-managed KMS key", PRICES["kms_key"]),
        (f"alarms ({sum(ALARMS.values())})", sum(ALARMS.values()) * PRICES["alarm"]),
        ("the fixer's event source mapping polling an idle queue", polls * PRICES["sqs_request"]),
        (f"custom metrics emitted when idle ({len(idle_metrics)})", len(idle_metrics) * PRICES["custom_metric"]),
        ("dashboard (free within an account's first 3)", 0.0),
    ]
    schedules = [(item.split(" (schedule")[0] + " schedule", cost) for item, cost, _ in priced["schedules"]]
    return fixed + schedules


def kms_lines(month: dict[str, dict[str, float]], publishes: float) -> dict[str, list[tuple[str, float, str]]]:
    """The key and its requests a month for each value of var.kms_key (terraform/kms.tf). Requests are
    estimated from the services' documented key caching, not measured (moto does not call KMS):
    DynamoDB asks for a table key at most once per 5 minutes per table in use, SQS reuses a data key
    for up to 5 minutes (jobs arrive further apart), SNS likewise per publish, Lambda decrypts the
    environment once per cold start, SSM once per SecureString read, CloudWatch Logs once per new log
    stream (about a cold start). With "aws-managed" the queues (SSE-SQS) and the logs use AWS owned
    keys (no charge); the tables (aws/dynamodb), SSM (aws/ssm), SNS (aws/sns) and Lambda's environment
    (aws/lambda) use AWS managed keys: no monthly fee, their requests billed like any key's."""
    sched_cold = sum(min(runs, 24 * 30) for runs in SCHEDULES.values())
    cold = sum(m["cold"] for m in month.values()) + sched_cold
    fixer_cold = month["fixer"]["cold"]
    counts = {
        "DynamoDB table keys (error groups, and the governor table the verifier reads every 5 min)": (
            2 * 30 * 24 * 12,
            2 * 30 * 24 * 12,  # aws/dynamodb: the tables keep server-side encryption with a KMS key
        ),
        "SQS data keys (a send and a receive per fix job)": (MONTH_BUGS * 2, 0),
        "SNS data keys (a publish per fix)": (publishes, publishes),
        "Lambda environment (a decrypt per cold start)": (cold, cold),
        f"SSM SecureString reads ({SECURE_PARAMETERS} per fixer cold start)": (
            fixer_cold * SECURE_PARAMETERS,
            fixer_cold * SECURE_PARAMETERS,
        ),
        "CloudWatch Logs data keys (about one per new log stream)": (cold, 0),
    }
    out: dict[str, list[tuple[str, float, str]]] = {}
    for index, mode in enumerate(KMS_MODES):
        n = sum(pair[index] for pair in counts.values())
        shown = ", ".join(f"{what.split(' (')[0]} {pair[index]:,.0f}" for what, pair in counts.items() if pair[index])
        key = PRICES["kms_key"] if mode == "customer-managed" else 0.0
        out[mode] = [
            (
                f'KMS (kms_key = "{mode}"): '
                + ("the customer-managed key" if key else "no customer-managed key: AWS owned and AWS managed keys"),
                key,
                "",
            ),
            (f"KMS requests, estimated ({shown})", n * PRICES["kms_request"], f"{n:,.0f} requests"),
        ]
    return out


def monthly(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:  # noqa: PLR0915
    """Scale the two slices to the month and price every line."""
    from package import HOT_PATH

    meter, bench = result["meter"], result["bench"]
    conf = function_config()
    scale_events = 1 / args.slice
    jobs = max(len(result["fixed"]), 1)
    scale_fix = MONTH_BUGS / jobs
    n_fix_calls = result["n_fix_calls"]
    lines: dict[str, list[tuple[str, float, str]]] = defaultdict(list)  # service → (item, $, detail)

    # Lambda: invocations, GB-s (cold starts: fixer and stream_processor every time, log_processor 24 a day)
    init = init_seconds()
    month = {}
    for name, scale in (("log_processor", scale_events), ("stream_processor", scale_fix), ("fixer", scale_fix)):
        secs = durations(meter, name)
        raw = sum(meter.seconds[name]) / max(len(meter.seconds[name]), 1)
        n = len(secs) * scale
        cold = 24 * 30 if name == "log_processor" else n
        gb = conf[name]["lambda_memory_size"] / 1024
        gbs = (sum(secs) * scale + cold * init[name]) * gb
        month[name] = {"invocations": n, "gb_s": gbs, "mean_ms": 1000 * sum(secs) / max(len(secs), 1), "cold": cold}
        lines["Lambda"].append(
            (
                f"{name}: {n:,.0f} invocations × {month[name]['mean_ms']:.0f} ms at {gb:g} GB "
                f"(+ {cold:,.0f} cold starts × {init[name] * 1000:.0f} ms INIT)",
                gbs * PRICES["lambda_gb_s"] + n * PRICES["lambda_request"],
                f"{gbs:,.0f} GB-s (wall time against moto: {1000 * raw:.0f} ms)",
            )
        )
    for item, cost, detail in schedule_lines(meter, conf, init):
        lines["Lambda"].append((item, cost, detail))

    # DynamoDB: write units by item size (an update costs ceil(max(before, after) / 1 KB)). A known
    # bug's item carries its fix's fields in steady state: the groups the events slice found unfixed
    # (seeded) are sized as they would be once fixed, by the growth measured on the fixed ones.
    fixed_fps = {g["fingerprint"] for g in result["fixed"]}
    growth = [bench.item_sizes[fp] - bench.first_sizes[fp] for fp in fixed_fps if fp in bench.first_sizes]
    fix_extra = sum(growth) / max(len(growth), 1)

    # Sizes above leave out the ``seen`` set of delivery tokens (8 bytes each, packed), which holds 16
    # to 32 tokens in a group seen every day (adapters/store.py BATCH_MEMORY): counted at 24.
    token = sum(map(len, bench.tokens_seen)) / max(len(bench.tokens_seen), 1)
    batches_bytes = len("seen") + 24 * token

    def steady(key: str) -> float:
        if key not in bench.item_sizes:
            return 200
        size = bench.item_sizes[key] + batches_bytes
        return size if key in fixed_fps else size + fix_extra

    def wru(calls: list[Any]) -> float:
        total = 0.0
        for c in calls:
            if c.service == "dynamodb" and c.operation in ("UpdateItem", "PutItem", "DeleteItem"):
                total += max(1, math.ceil(steady(c.key) / 1024))
        return total

    def rru(calls: list[Any]) -> float:
        total = 0.0
        for c in calls:
            if c.service == "dynamodb" and c.operation in ("GetItem", "BatchGetItem", "Query"):
                keys = c.keys or (c.key,)
                for k in keys:
                    units = max(1, math.ceil(steady(k) / 4096))
                    total += units if c.consistent else units / 2
        return total

    def unbilled(c: Any) -> bool:  # the bench's own work; the idle runs are priced on their own (idle_floor)
        return c.actor in ("setup", "github_fixer") or c.actor.startswith("idle:")

    billed = [c for c in meter.calls if not unbilled(c)]
    fix_calls = [c for c in meter.calls[:n_fix_calls] if not unbilled(c)]
    event_calls = [c for c in meter.calls[n_fix_calls:] if not unbilled(c)]
    w_ev, w_fix = wru(event_calls) * scale_events, wru(fix_calls) * scale_fix
    r_ev, r_fix = rru(event_calls) * scale_events, rru(fix_calls) * scale_fix
    sizes = [steady(k) for k in bench.item_sizes if len(k) == 32]
    mean_kb = sum(sizes) / max(len(sizes), 1) / 1024
    lines["DynamoDB"].append(
        (
            f"writes: {w_ev:,.0f} WRU from log_processor + {w_fix:,.0f} WRU from fix jobs "
            f"(error-group items ~{mean_kb:.1f} KB once fixed: +{fix_extra:,.0f} B of fix fields, "
            f"+{batches_bytes:,.0f} B of delivery tokens)",
            (w_ev + w_fix) * PRICES["dynamodb_wru"],
            f"{(w_ev + w_fix) / 1e6:.2f} M WRU",
        )
    )
    lines["DynamoDB"].append(("reads", (r_ev + r_fix) * PRICES["dynamodb_rru"], f"{r_ev + r_fix:,.0f} RRU"))
    stored_gb = MONTH_BUGS * mean_kb / 1024 / 1024
    lines["DynamoDB"].append(
        (
            f"storage + point-in-time recovery ({MONTH_BUGS:,} groups, {stored_gb * 1024:.1f} MB)",
            stored_gb * (PRICES["dynamodb_storage_gb"] + PRICES["dynamodb_pitr_gb"]),
            "",
        )
    )

    # SQS: the handlers' and the event source mapping's requests, and the mapping's idle long polling
    sqs_calls = Counter((c.operation) for c in billed if c.service == "sqs")
    per_job = {op: n / jobs for op, n in sqs_calls.items()}
    sqs_month = sum(per_job.values()) * MONTH_BUGS
    polls = SQS_POLLERS * MONTH_S / SQS_WAIT_S
    lines["SQS"].append(
        (
            "fix jobs: " + ", ".join(f"{op} {n:.1f}" for op, n in sorted(per_job.items())) + " per job",
            sqs_month * PRICES["sqs_request"],
            f"{sqs_month:,.0f} requests",
        )
    )
    lines["SQS"].append(
        (
            f"the fixer's event source mapping: {SQS_POLLERS} pollers long-polling {SQS_WAIT_S} s (idle queue)",
            polls * PRICES["sqs_request"],
            f"{polls:,.0f} ReceiveMessage",
        )
    )

    # CloudWatch: log bytes (handlers' output + Lambda's START/END/REPORT lines), metrics, alarms
    platform = (
        sum(
            len(t.format(rid="0" * 36, ms=12.34, billed=13, mem=512, trace="0" * 24, seg="0" * 16))
            for t in LAMBDA_PLATFORM_LINES
        )
        if SYSTEM_LOG_LEVEL != "WARN"
        else 0  # JSON log format at system level WARN: Lambda writes no START/END/REPORT lines
    )
    log_month = 0.0
    detail = []
    for name, scale in (("log_processor", scale_events), ("stream_processor", scale_fix), ("fixer", scale_fix)):
        own = meter.log_bytes(name)
        n = len(meter.seconds[name])
        per = (own / max(n, 1)) + platform
        log_month += per * n * scale
        detail.append(f"{name} {per:,.0f} B/inv.")
    text = "".join(t for actor in ("log_processor", "stream_processor", "fixer") for t in meter.log_text[actor])
    ratio = len(gzip.compress(text.encode())) / max(len(text.encode()), 1)
    gb = log_month / 1024**3
    lines["CloudWatch"].append(
        (f"logs ingested: {', '.join(detail)}", gb * PRICES["logs_ingest_gb"], f"{gb:.2f} GB/month")
    )
    stored = gb * ratio * LOG_RETENTION_MONTHS
    lines["CloudWatch"].append(
        (
            f"logs stored: {LOG_RETENTION_MONTHS} months' retention at gzip ratio {ratio:.2f} (after a year)",
            stored * PRICES["logs_storage_gb"],
            f"{stored:.2f} GB",
        )
    )
    metrics = meter.metric_keys()
    names = sorted({m[1] for m in metrics})
    lines["CloudWatch"].append(
        (
            f"custom metrics (EMF, dimension service): {len(metrics)} — {', '.join(names) or 'none'} "
            "(counts of routine traffic are logged: var.routine_metrics)",
            len(metrics) * PRICES["custom_metric"],
            "metric-months",
        )
    )
    alarms = sum(ALARMS.values())
    lines["CloudWatch"].append(
        (f"alarms: {alarms} ({', '.join(f'{k} {n}' for k, n in ALARMS.items())})", alarms * PRICES["alarm"], "")
    )
    lines["CloudWatch"].append(("dashboard: 1 (free within an account's first 3; else $3.00)", 0.0, ""))

    # Bedrock: tokens the fixer recorded per fix (all rounds)
    fixed = [g for g in result["fixed"] if g.get("rounds")]
    t_in = sum(int(g.get("tokens_in", 0)) for g in fixed)
    t_out = sum(int(g.get("tokens_out", 0)) for g in fixed)
    rounds = sum(int(g.get("rounds", 0)) for g in fixed)
    per_in, per_out = t_in / max(len(fixed), 1), t_out / max(len(fixed), 1)
    lines["Bedrock"].append(
        (
            f"{MONTH_BUGS:,} fixes × {per_in:,.0f} tokens in + {per_out:,.0f} out "
            f"({rounds / max(len(fixed), 1):.2f} rounds "
            "per fix)",
            MONTH_BUGS * (per_in * PRICES["bedrock_in"] + per_out * PRICES["bedrock_out"]),
            f"{MONTH_BUGS * per_in / 1e6:.2f} M in, {MONTH_BUGS * per_out / 1e6:.2f} M out",
        )
    )

    # Not in the guidance's table: KMS, X-Ray, SNS, SSM
    sns = sum(1 for c in billed if c.service == "sns") / jobs * MONTH_BUGS
    kms = kms_lines(month, sns)
    lines["Other"].extend(kms[KMS_DEFAULT])
    traces = sum(m["invocations"] for name, m in month.items() if name not in HOT_PATH)
    lines["Other"].append(
        (
            f"X-Ray: active tracing on every function but {', '.join(HOT_PATH)} (var.trace_hot_path)",
            traces * PRICES["xray_trace"],
            f"{traces:,.0f} traces",
        )
    )
    lines["Other"].append(("SNS: one notification per fix", sns * PRICES["sns_publish"], f"{sns:,.0f} publishes"))
    ssm = sum(1 for c in billed if c.service == "ssm") / jobs * MONTH_BUGS
    lines["Other"].append(("SSM Parameter Store: standard parameters, standard throughput", 0.0, f"{ssm:,.0f} calls"))
    lp_writes = sum(1 for c in event_calls if c.operation == "UpdateItem")
    duplicate = sum(
        len(t.encode())
        for actor in ("log_processor", "stream_processor", "fixer")
        for t in meter.log_text[actor]
        if t.startswith("chalicelib.")
    )
    facts = {
        "writes_per_event": lp_writes / max(result["slice_events"], 1),
        "wru_per_write": wru([c for c in event_calls if c.operation == "UpdateItem"]) / max(lp_writes, 1),
        "log_gb": gb,
        "duplicate_share": duplicate / max(len(text.encode()), 1),
        "gb_s": sum(m["gb_s"] for m in month.values()),
        "lp_ms": month["log_processor"]["mean_ms"],
        "model_s": sum(a["metrics"]["latencyMs"] for v in result["replay"].values() for a in v) / 1000 / jobs,
        "per_fix": per_in * PRICES["bedrock_in"] + per_out * PRICES["bedrock_out"],
        "tokens_in": per_in,
        "rounds": rounds / max(len(fixed), 1),
        # the selected code's share of the prompt (recorded in chars/4 estimates), to price a prompt that
        # fills the fixer's context budget (FixConfig.context_tokens, 6,000) instead
        "context_tokens": sum(int(g.get("context_tokens", 0)) for g in fixed)
        / max(len(fixed), 1)
        * 4
        / CHARS_PER_TOKEN_IN,
    }
    return {
        "lines": lines,
        "month": month,
        "ratio": ratio,
        "tokens": (per_in, per_out),
        "jobs": jobs,
        "facts": facts,
        "schedules": schedule_lines(meter, conf, init),
        "kms": kms,
    }


def explain(priced: dict[str, Any]) -> dict[str, str]:
    """Why each line differs from the guidance's, from the measured numbers."""
    f = priced["facts"]
    return {
        "DynamoDB": (
            f"one UpdateItem per bug per delivery ({f['writes_per_event']:.2f} per event), "
            f"{f['wru_per_write']:.1f} WRU each (the small group item; its trace is in a detail written once); "
            "the guidance's $17.08 is "
            f"{17.08 / PRICES['dynamodb_wru'] / 1e6:.0f} M "
            f"WRU at today's price, {17.08 / 1.25:.1f} M at the pre-2024-11 $1.25/M"
        ),
        "CloudWatch": (
            f"{f['log_gb']:.2f} GB of logs (the guidance's $8.77 buys "
            f"{8.77 / PRICES['logs_ingest_gb']:.1f} GB of ingestion); "
            f"{f['duplicate_share']:.0%} of the bytes are chalicelib records printed twice (see docs/cost.md); "
            "the fixed part is alarms and custom metrics"
        ),
        "Lambda": (
            f"{f['gb_s']:,.0f} GB-s (the guidance's $2.43 is {2.43 / PRICES['lambda_gb_s']:,.0f} GB-s): log_processor "
            f"does ~{f['lp_ms']:.0f} ms a delivery; the fixer's time is mostly the model's ({f['model_s']:.1f} s a fix)"
        ),
        "SQS": (
            "fix jobs are one per bug; the event source mapping's idle long polling is billed whether a job "
            "arrives or not, which a one-message-a-job estimate leaves out"
        ),
        "Bedrock": (
            f"${f['per_fix']:.4f} a fix against the guidance's ${32.0 / MONTH_BUGS:.3f}: the prompt is the selected "
            f"code ({f['tokens_in']:,.0f} tokens in, {f['rounds']:.2f} rounds), not whole files"
        ),
    }


def say_key_variants(aws: float, priced: dict[str, Any]) -> None:
    """The AWS total with each other value of var.kms_key (only the KMS lines differ)."""
    kms = {mode: sum(c for _, c, _ in items) for mode, items in priced["kms"].items()}
    for mode in KMS_MODES[1:]:
        other = aws - kms[KMS_DEFAULT] + kms[mode]
        key, requests = priced["kms"][mode]
        say(
            f'{"AWS":<11} {other:>10.2f} {"":>10}  (kms_key = "{mode}": key {key[1]:.2f}, '
            f"{requests[2]} {requests[1]:.2f}, instead of {kms[KMS_DEFAULT]:.2f})"
        )


def report(result: dict[str, Any], priced: dict[str, Any], gh: list[dict[str, Any]], args: argparse.Namespace) -> None:
    plan = result["plan"]
    sizes = Counter(len(b) for _, _, b in plan)
    mean = sum(len(b) for _, _, b in plan) / max(len(plan), 1)
    say()
    say(
        f"workload: {MONTH_EVENTS:,} error events a month from {MONTH_BUGS:,} bugs (Zipf s={ZIPF_S}); "
        f"{MONTH_EVENTS / MONTH_S:.2f} errors/s over {STREAMS} log streams, bursts of {BURST_MEAN:g} (geometric), "
        f"deliveries = one stream's events within {WINDOW_S:g} s"
    )
    hist = ", ".join(f"{k}: {v / len(plan):.0%}" for k, v in sorted(sizes.items())[:6])
    say(f"delivery sizes (events): mean {mean:.2f}; {hist} -> {MONTH_EVENTS / mean:,.0f} deliveries a month")
    say(
        f"scaled: events slice {args.slice:g} of the month (× {1 / args.slice:,.0f}, linear in events); "
        f"fixes {priced['jobs']} bugs (× {MONTH_BUGS / priced['jobs']:,.0f}, linear in distinct bugs, not in events)"
    )
    say(f"prices: {PRICES_SOURCE}")
    say()
    say("AWS requests measured (billed actors), by service and operation:")
    meter = result["meter"]
    for actor in ("log_processor", "stream_processor", "fixer", "esm"):
        counted = Counter((c.service, c.operation) for c in meter.calls if c.actor == actor)
        if counted:
            n = max(len(meter.seconds[actor]), 1) if actor != "esm" else priced["jobs"]
            per = ", ".join(f"{s}.{o} {k / n:.2f}" for (s, o), k in sorted(counted.items()))
            say(f"  {actor:<16} per {'job' if actor == 'esm' else 'invocation'}: {per}")
    say()
    say(f"{'line':<11} {'selfheal':>10} {'guidance':>10}  detail")
    total = 0.0
    why = explain(priced)
    for service in ("DynamoDB", "CloudWatch", "Lambda", "SQS", "Bedrock", "Other"):
        items = priced["lines"][service]
        cost = sum(c for _, c, _ in items)
        total += cost
        guide = GUIDANCE.get(service)
        shown = "-" if guide is None else f"{guide:.2f}"
        say(f"{service:<11} {cost:>10.2f} {shown:>10}")
        for item, c, detail in items:
            say(f"  {c:>17.4f}            {item}{'; ' + detail if detail else ''}")
        if service in why:
            say(f"  why: {why[service]}")
    say(f"{'TOTAL':<11} {total:>10.2f} {GUIDANCE_TOTAL:>10.2f}  (USD a month)")
    aws = total - sum(c for _, c, _ in priced["lines"]["Bedrock"])
    say(
        f"{'AWS':<11} {aws:>10.2f} {GUIDANCE_TOTAL - GUIDANCE['Bedrock']:>10.2f}  "
        f'(every line but Bedrock; kms_key = "{KMS_DEFAULT}", the default)'
    )
    say_key_variants(aws, priced)
    floor = idle_floor(priced, result["idle_metrics"])
    say(
        f"idle floor: {sum(c for _, c in floor):.2f} a month with no error at all — "
        + ", ".join(f"{item} {c:.2f}" for item, c in floor)
    )
    say(
        f'idle floor with kms_key = "{KMS_MODES[1]}": {sum(c for _, c in floor) - PRICES["kms_key"]:.2f} '
        "(no customer-managed key; the idle deployment's key requests are cents either way)"
    )
    from chalicelib.adapters.settings import Settings

    per_day = Settings().max_jobs_per_day
    ceiling = per_day * MONTH_S / 86_400 * priced["facts"]["per_fix"]
    facts = priced["facts"]
    full_in = facts["tokens_in"] - facts["context_tokens"] + 6_000 * 4 / CHARS_PER_TOKEN_IN
    full = MONTH_BUGS * (full_in * PRICES["bedrock_in"] + priced["tokens"][1] * PRICES["bedrock_out"])
    say(
        f"sensitivity: prompts that fill the 6,000-token context budget ({full_in:,.0f} tokens in, not "
        f"{facts['tokens_in']:,.0f}) would make Bedrock ${full:.2f} a month"
    )
    say(
        f"ceiling: the job budget ({per_day} new fix jobs a day, SELFHEAL_MAX_JOBS_PER_DAY) bounds Bedrock at "
        f"{per_day * MONTH_S / 86_400:,.0f} fixes, ${ceiling:,.0f} a month at these token counts, whatever the errors"
    )
    say()
    for g in gh:
        kinds = ", ".join(f"{k} {n}" for k, n in g["kinds"].most_common())
        say(
            f"GitHub API mode, {g['files']:,}-file repository ({'paced as deployed' if g['paced'] else 'unpaced'}): "
            f"one fix end to end {g['wall'] - g['model']:.2f} s without the model ({g['model'] * 1000:.0f} ms model), "
            f"{g['requests']} GitHub requests ({kinds}); group {g['status']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run in under a minute")
    parser.add_argument("--slice", type=float, default=None, help="share of the month's events run (default 0.005)")
    parser.add_argument("--fix-bugs", type=int, default=None, help="new bugs fixed (default 40)")
    parser.add_argument("--github-files", type=int, default=None, help="files of the GitHub-mode repository")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    quick = args.quick
    args.slice = args.slice or (0.0001 if quick else 0.005)
    args.fix_bugs = args.fix_bugs or (2 if quick else 40)
    args.github_files = args.github_files or (2_000 if quick else 10_000)
    started = time.perf_counter()
    result = run(args)
    try:
        gh = [github_fix(result, args.github_files, paced=False)]
        if not quick:
            gh.append(github_fix(result, args.github_files, paced=True))
        priced = monthly(result, args)
    finally:
        result["bench"].stop()
        shutil.rmtree(result["tmp"], ignore_errors=True)
    report(result, priced, gh, args)
    say(f"(bench ran {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
