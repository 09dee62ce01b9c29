"""The governor store's throughput and DynamoDB requests per event, on dynalite (an atomic local DynamoDB).

Three workloads, each on a fresh table, real boto3 clients, every request counted by botocore hooks:
  storm    N simultaneous ALARM events, one per member of an N-instance fleet with a 10 % limit
  flap     M ALARM/OK events for one instance, 9 s apart, delivered by T threads
  serial   M ALARM events on distinct instances one after another (acts until the hourly rate)

    python bench/bench_governor.py [--fleet 100] [--flaps 1000] [--threads 8]

Prints one JSON object: events/s, requests per event by operation, acts and peak in flight.
Absolute numbers depend on the machine's load; requests per event do not.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "chalice_app"), str(ROOT)]

from chalicelib.adapters.governor_store import GovernorStore, table_definition  # noqa: E402
from chalicelib.core.runbooks.plan import Call, Incident, Limits, Plan, Target  # noqa: E402
from tests.dynalite import CLI, DYNALITE_VERSION, dynamodb_client, free_port  # noqa: E402

NOW = 1_800_000_000_000


def start_dynalite() -> tuple[subprocess.Popen, str]:
    if not CLI.exists():
        sys.exit(
            f"no dynalite: run tests/integration/test_governor_store.py once (it installs dynalite@{DYNALITE_VERSION})"
        )
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            shutil.which("node") or "node",
            str(CLI),
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
            "--createTableMs",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline() if server.stdout else ""
    found = re.search(r"(http://[^:\s]+:\d+)", line)
    if not found:
        server.terminate()
        sys.exit(f"dynalite did not start: {line}")
    return server, found.group(1)


def alarm(resource: str, n: int, state: str = "open") -> Incident:
    return Incident("alarm", f"cpu-{resource}#{n}", state, "AWS/EC2/CPUUtilization", (resource,))


def reboot(resource: str) -> Plan:
    return Plan(
        "ec2-reboot",
        Target("ec2-instance", resource, "asg:web"),
        (Call("ec2", "reboot_instances", {"InstanceIds": [resource]}),),
    )


def fresh_store(endpoint: str, pool: int) -> tuple[GovernorStore, Counter]:
    client = dynamodb_client(endpoint, pool=pool)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    client.create_table(**table_definition(name))
    calls: Counter = Counter()
    lock = threading.Lock()

    def count(event_name: str, **_: Any) -> None:
        with lock:
            calls[event_name.rsplit(".", 1)[1]] += 1

    client.meta.events.register("before-call.dynamodb.*", count)
    return GovernorStore(client, name), calls


def measure(name: str, store: GovernorStore, calls: Counter, jobs: list, threads: int) -> dict[str, Any]:
    barrier = threading.Barrier(min(threads, len(jobs)))

    def run(job: tuple) -> str:
        if threads > 1 and job[-1] < threads:  # the first wave starts together
            barrier.wait()
        incident, plan, limits, now, kwargs, _ = job
        return store.admit(incident, plan, limits, now, **kwargs).decision

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        decisions = Counter(pool.map(run, jobs))
    elapsed = time.perf_counter() - started
    audit = store.actions(limit=100_000)
    return {
        "workload": name,
        "events": len(jobs),
        "threads": threads,
        "seconds": round(elapsed, 2),
        "events_per_s": round(len(jobs) / elapsed, 1),
        "decisions": dict(decisions),
        "audit_records": len(audit),
        "open_at_end": sum(1 for r in audit if r.open),
        "requests_per_event": {op: round(n / len(jobs), 2) for op, n in sorted(calls.items()) if op != "CreateTable"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=int, default=100)
    parser.add_argument("--flaps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    server, endpoint = start_dynalite()
    try:
        results = []
        storm_limits = Limits(dry_run=False, max_in_flight=50, max_in_flight_pct=10.0, hourly_rate=100_000)
        store, calls = fresh_store(endpoint, args.fleet)
        jobs = [
            (alarm(f"i-{i}", 0), reboot(f"i-{i}"), storm_limits, NOW, {"fleet_size": args.fleet}, i)
            for i in range(args.fleet)
        ]
        results.append(measure("storm", store, calls, jobs, args.fleet))
        flap_limits = Limits(dry_run=False, cooldown_s=900, max_attempts=10_000, hourly_rate=10_000)
        store, calls = fresh_store(endpoint, args.threads)
        jobs = [
            (alarm("i-1", n, "open" if n % 2 == 0 else "resolved"), reboot("i-1"), flap_limits, NOW + n * 9_000, {}, n)
            for n in range(args.flaps)
        ]
        results.append(measure("flap", store, calls, jobs, args.threads))
        serial_limits = Limits(dry_run=False, max_in_flight=100_000, hourly_rate=100)
        store, calls = fresh_store(endpoint, 1)
        jobs = [(alarm(f"i-{n}", n), reboot(f"i-{n}"), serial_limits, NOW + n, {}, n) for n in range(200)]
        results.append(measure("serial", store, calls, jobs, 1))
        print(json.dumps({"dynalite": DYNALITE_VERSION, "results": results}, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
