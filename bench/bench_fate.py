"""What following fixes to their fate costs: the heal checker's requests per run (no scan) and a
webhook delivery's requests and time, on an in-process moto server.

    python bench/bench_fate.py [--groups 200]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "chalice_app"), str(ROOT / "scripts")]

from local_stack import create_stack  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from chalicelib.adapters.clients import Clients  # noqa: E402
from chalicelib.adapters.settings import Settings  # noqa: E402
from chalicelib.adapters.store import ErrorGroupStore  # noqa: E402
from chalicelib.core.webhooks import sign  # noqa: E402
from chalicelib.usecases.heal import DAY_MS, HOUR_MS, HealChecker  # noqa: E402
from chalicelib.usecases.resolve import Resolve  # noqa: E402
from tests.fate_fixtures import T0, observation, open_pr  # noqa: E402
from tests.github_hooks import sample  # noqa: E402


class Null:
    def count(self, name: str, value: int = 1) -> None:
        return None

    def flush(self) -> None:
        return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=200, help="merged groups, spread over 10 merge days")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    clients = Clients(Settings(endpoint_url=f"http://{host}:{port}"))
    stack = create_stack(clients, prefix=f"bench{uuid.uuid4().hex[:6]}")
    calls: Counter = Counter()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", maxsplit=1)[-1]] += 1

    clients.dynamodb.meta.events.register("before-call.dynamodb.*", count)
    store = ErrorGroupStore(clients.dynamodb, stack.table_name)
    for n in range(args.groups):
        seen = observation(T0, variant=f"_{n}")
        url = f"https://github.com/acme/shop/pull/{n + 1}"
        open_pr(store, seen, url, T0)
        store.mark_merged(seen.fingerprint, url, T0 + (n % 10) * DAY_MS, T0 + (n % 10) * DAY_MS)
    # Heal: every group quiet for 72 h at the end of the tenth merge day.
    now = T0 + 10 * DAY_MS + 73 * HOUR_MS
    checker = HealChecker(store, Null(), clock=lambda: now)
    calls.clear()
    started = time.perf_counter()
    result = checker.run()
    took = time.perf_counter() - started
    print(f"heal run over {args.groups} merged groups (10 merge days): {dict(calls)} in {took:.2f} s -> {result}")
    calls.clear()
    started = time.perf_counter()
    again = checker.run()
    print(f"next run (nothing left): {dict(calls)} in {time.perf_counter() - started:.2f} s -> {again}")
    # One webhook delivery of a merge.
    seen = observation(T0, variant="_hook")
    url = "https://github.com/acme/shop/pull/9999"
    open_pr(store, seen, url, T0)
    body_text = f"- error group: `{seen.fingerprint}`"
    secret = b"bench"
    resolve = Resolve(lambda: secret, lambda: store, lambda: None, Null(), clock=lambda: now)
    import json

    body = json.dumps(sample("pull_request_closed_merged", pr_url=url, number=9999, body=body_text)).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "bench-1",
        "X-Hub-Signature-256": sign(secret, body),
    }
    calls.clear()
    started = time.perf_counter()
    answer = resolve.webhook(headers, body)
    print(f"webhook merge: {answer} {dict(calls)} in {1000 * (time.perf_counter() - started):.0f} ms")
    ping = json.dumps(sample("ping")).encode()
    started = time.perf_counter()
    for _ in range(1000):
        resolve.webhook({"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(secret, ping)}, ping)
    print(f"signed ping, verified and answered: {1000 * (time.perf_counter() - started) / 1000:.3f} ms each")
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
