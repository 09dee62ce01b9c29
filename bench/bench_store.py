"""DynamoDB writes and AWS calls of log_processor, against a local moto server.

Replays a scaled-down version of the original AWS guidance's sizing workload: N error events
from B distinct bugs (Zipf-distributed, as real error traffic is), delivered in subscription
batches, through the real handler and real boto3 clients. Counts every AWS API call by type
(botocore event hooks) and prints calls per 1,000 error events beside the original design's
one write per event, and a monthly cost estimate for 1M errors / 1,000 unique bugs.

    python bench/bench_store.py [--events 100000] [--bugs 100] [--batch 2000]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import logging
import math
import os
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "chalice_app"), str(ROOT / "scripts")]

import app as handlers  # noqa: E402
from app import app  # noqa: E402
from chalice.local import LambdaContext  # noqa: E402
from chalice.test import Client  # noqa: E402
from local_stack import create_stack  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from chalicelib import runtime  # noqa: E402
from chalicelib.adapters.clients import Clients  # noqa: E402
from chalicelib.adapters.settings import Settings  # noqa: E402

# Public on-demand prices, us-east-1 (per million requests / units), checked 2026-11.
PRICE_WRU = 0.625  # DynamoDB on-demand write request unit
PRICE_SQS = 0.40  # SQS standard requests
PRICE_LAMBDA_REQ = 0.20  # Lambda requests (duration not included)


def bug_message(n: int) -> str:
    """A whole traceback (Lambda's text form) for bug ``n``: its own raise site."""
    nb = "\u00a0"
    return (
        f"[ERROR] KeyError: 'field_{n}'\rTraceback (most recent call last):\r"
        f'{nb * 2}File "/var/task/app/handler.py", line 12, in lambda_handler\r{nb * 4}return route(event)\r'
        f'{nb * 2}File "/var/task/app/routes_{n % 7}.py", line {40 + n}, in handle_{n}\r'
        f'{nb * 4}value = payload["field_{n}"]\r'
    )


def zipf_weights(bugs: int, s: float) -> list[float]:
    return [1 / (k + 1) ** s for k in range(bugs)]


def batches(events: int, bugs: int, batch: int, s: float, seed: int = 3) -> list[list[int]]:
    rng = random.Random(seed)
    weights = zipf_weights(bugs, s)
    picks = rng.choices(range(bugs), weights=weights, k=events)
    return [picks[k : k + batch] for k in range(0, events, batch)]


def encode(ids: list[int], start: int) -> dict:
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/lambda/app",
        "logStream": f"2026/11/22/[$LATEST]{uuid.uuid4().hex}",
        "subscriptionFilters": ["selfheal"],
        "logEvents": [
            {"id": f"{start + k:056d}", "timestamp": 1795000000000 + start + k, "message": bug_message(b)}
            for k, b in enumerate(ids)
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()}}


def simulated_writes(events: int, bugs: int, batch: int, s: float) -> int:
    """UpdateItems for a workload: one per distinct bug per batch (what log_processor does)."""
    return sum(len(set(b)) for b in batches(events, bugs, batch, s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--bugs", type=int, default=100)
    parser.add_argument("--batch", type=int, default=2_000, help="events per subscription delivery")
    parser.add_argument("--zipf", type=float, default=1.1)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    # No EMF metric lines between the results.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    stack = create_stack(Clients(Settings(endpoint_url=endpoint)), prefix="bench")
    settings = Settings(endpoint_url=endpoint, table_name=stack.table_name, queue_url=stack.queue_url)
    clients = Clients(settings)
    calls: Counter[str] = Counter()
    clients.dynamodb.meta.events.register("before-call.*.*", lambda event_name, **_: calls.update([event_name]))
    clients.logs.meta.events.register("before-call.*.*", lambda event_name, **_: calls.update([event_name]))
    runtime.override(settings=settings, clients=clients)

    plan = batches(args.events, args.bugs, args.batch, args.zipf)
    t0 = time.perf_counter()
    with Client(app):
        sent = 0
        for ids in plan:
            # The deployed 60 s timeout: chalice.test's 3 s context would trip ingest's time budget.
            handlers.log_processor(encode(ids, sent), LambdaContext("log_processor", 512, max_runtime_ms=60_000))
            sent += len(ids)
    elapsed = time.perf_counter() - t0
    items = [i for i in clients.dynamodb.scan(TableName=stack.table_name)["Items"] if "status" in i]
    total = sum(int(i["occurrences"]["N"]) for i in items)
    item_kb = max(len(json.dumps(i)) for i in items) / 1024
    server.stop()

    writes = calls["before-call.dynamodb.UpdateItem"]
    per_k = 1000 / args.events
    print(
        f"workload: {args.events:,} error events, {args.bugs} bugs (Zipf s={args.zipf}), "
        f"{len(plan)} batches of {args.batch:,}; {elapsed:.1f} s through log_processor + moto"
    )
    print(f"groups: {len(items)}, occurrences counted: {total:,} (lost: {args.events - total})")
    print("AWS calls by type:")
    for name, n in sorted(calls.items()):
        print(f"  {name.removeprefix('before-call.'):<32} {n:>8,}  ({n * per_k:.2f} per 1,000 error events)")
    print(
        f"DynamoDB writes per 1,000 error events: selfheal {writes * per_k:.1f}, original design 1,000.0 "
        f"-> {args.events / writes:.1f}x fewer (goal >= 20x)"
    )

    # Monthly estimate for 1M error events / 1,000 unique bugs, same batch size and skew.
    month_events, month_bugs = 1_000_000, 1_000
    ours = simulated_writes(month_events, month_bugs, args.batch, args.zipf)
    wru = math.ceil(item_kb)  # an update costs 1 WRU per started KB of the item
    cost_ours = ours * wru * PRICE_WRU / 1e6
    cost_orig = month_events * wru * PRICE_WRU / 1e6
    lambda_calls = math.ceil(month_events / args.batch)
    print(
        f"monthly estimate, {month_events:,} errors / {month_bugs:,} unique, batches of {args.batch:,}, "
        f"items ~{item_kb:.1f} KB ({wru} WRU per write):"
    )
    print(
        f"  DynamoDB UpdateItem: selfheal {ours:,} (${cost_ours:.2f})  vs one per event "
        f"{month_events:,} (${cost_orig:.2f})  -> {month_events / ours:.1f}x fewer"
    )
    print(
        f"  log_processor invocations: {lambda_calls:,} (${lambda_calls * PRICE_LAMBDA_REQ / 1e6:.4f}); "
        f"fix jobs <= {month_bugs:,} SQS sends (${month_bugs * 3 * PRICE_SQS / 1e6:.4f} incl. receive+delete)"
    )
    print(f"  prices: ${PRICE_WRU}/M WRU, ${PRICE_SQS}/M SQS requests, ${PRICE_LAMBDA_REQ}/M Lambda requests")


if __name__ == "__main__":
    main()
