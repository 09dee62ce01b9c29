"""Regenerate tests/samples/runtime/: one small service's four bugs, logged by real runtimes and
exported the ways people export CloudWatch Logs.

The bugs are real code run by this interpreter (``APP`` below), each in a handler that logs the
failure (``logger.exception``) and re-raises it, as services do:

- ``price``   KeyError in ``pricing.price`` (one exception);
- ``parse``   ValueError raised ``from`` a JSONDecodeError in ``orders.parse`` (a cause chain);
- ``ship``    ZeroDivisionError while handling a KeyError in ``shipping.rate`` (a context chain);
- ``notify``  AttributeError in the Lambda handler module itself.

Each bug fails twice (two requests). The writers are the real ones:

- ``lambda_text`` / ``lambda_text_cr`` / ``lambda_json``: the Lambda runtime interface client's
  own bootstrap (``awslambdaric.bootstrap``: ``_setup_logging``, ``handle_event_request``,
  ``log_error``), its records read back from the telemetry frames it writes (one frame is one
  CloudWatch event) or, for ``_cr``, from the standard sink (lines joined with ``\\r``); the
  platform's START / END / REPORT lines around each invocation are added in their documented form;
- ``powertools`` / ``powertools_json``: aws-lambda-powertools ``Logger.exception`` under the same
  runtime, with the runtime's text or JSON log format;
- ``basic``: ``logging.basicConfig`` in a container (one line per event, as the awslogs driver ships);
- ``gunicorn`` / ``uvicorn``: their own error loggers (``gunicorn.glogging.Logger.exception`` with
  its default config, ``uvicorn.config.LOGGING_CONFIG``'s ``uvicorn.error`` logger);
- ``firelens``: the ``basic`` lines wrapped by Fluent Bit's FireLens ECS records;
- ``agent``: the CloudWatch agent shipping a ``basicConfig`` file with ``multi_line_start_pattern``
  (one event per record) from a syslog-prefixed host file (``syslog``: one line per event).

Exports of each: a FilterLogEvents answer (``.filter.json``), ``aws logs tail`` output
(``.tail.txt``, its detailed format: time with microseconds and offset, stream, message;
``.tail-short.txt``, ``--format short``: time to the second, message), a
subscription payload in its wire form (``.payload.b64``), and the raw lines (``.log`` / ``.jsonl``).
``truth.json`` lists each file's bugs: exception type, raise function, ``failures`` (how often it
failed), ``records`` (how many records of those failures the file holds: two per failure, the
handler's and the runtime's or the server's) and ``counted`` (the occurrences selfheal counts:
the failures, except outside Lambda, where no request id links the app's record to the server's).

Needs the runtime interface client's source and the web servers (not test dependencies):

    pip download / install --target DIR simplejson gunicorn uvicorn
    git clone https://github.com/aws/aws-lambda-python-runtime-interface-client SRC
    PYTHONPATH=SRC:DIR python tests/samples/make_runtime_logs.py
"""

from __future__ import annotations

import base64
import gzip
import importlib
import io
import json
import logging
import logging.config
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "runtime"
START_MS = 1_796_000_000_000  # 2026-11-30: every file's first event
REQUESTS = [
    "3f1c2a9e-5b7d-4e1f-9a2b-6c8d0e4f1a01",
    "7a2b3c4d-8e9f-4a0b-8c1d-2e3f4a5b6c02",
    "b4c5d6e7-f809-4a1b-9c2d-3e4f5a6b7c03",
    "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e04",
    "d9e8f7a6-b5c4-4d3e-9f2a-1b0c9d8e7f05",
    "e0f1a2b3-c4d5-4e6f-8a7b-9c0d1e2f3a06",
    "f2e3d4c5-b6a7-4988-9766-554433221107",
    "0a9b8c7d-6e5f-4a3b-9c1d-0e9f8a7b6c08",
]

APP = {
    "shop/__init__.py": "",
    "shop/pricing.py": """\
PRICES = {"apple": 3, "pear": 4}


def total(items):
    return sum(price(item) for item in items)


def price(item):
    return PRICES[item["sku"]] * item["qty"]
""",
    "shop/orders.py": """\
import json

from shop import pricing, shipping


class OrderError(ValueError):
    pass


def parse(body):
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise OrderError(f"order body is not JSON: {exc.msg}") from exc


def place(event):
    order = parse(event["body"])
    total = pricing.total(order["items"])
    return {"total": total + shipping.rate(order)}
""",
    "shop/shipping.py": """\
ZONES = {"eu": 5}


def rate(order):
    try:
        return ZONES[order["zone"]]
    except KeyError:
        return 100 / len(order.get("parcels", []))
""",
    "lambda_function.py": """\
import logging

from shop import orders

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    try:
        if event.get("notify"):
            return event["user"].get("email").lower()
        return orders.place(event)
    except Exception:
        logger.exception("order failed")
        raise
""",
    "shop/worker.py": """\
import logging

from shop import orders

log = logging.getLogger("shop.app")


def handle(event):
    try:
        return orders.place(event)
    except Exception:
        log.exception("order failed")
        raise
""",
    # A stand-in for the server's own call into the app (gunicorn's worker, uvicorn's protocol):
    # installed as a library, as the servers are, so its frame is not the app's.
    "site-packages/server_stub.py": """\
from shop import worker


def serve(event, server_log, message):
    try:
        return worker.handle(event)
    except Exception as exc:
        server_log.error(message, exc_info=exc)
""",
    "powertools_function.py": """\
from aws_lambda_powertools import Logger

from shop import orders

logger = Logger(service="orders-fn")


def handler(event, context):
    try:
        if event.get("notify"):
            return event["user"].get("email").lower()
        return orders.place(event)
    except Exception:
        logger.exception("order failed")
        raise
""",
}

GOOD_ITEM = {"sku": "apple", "qty": 1}
EVENTS = {
    "price": {"body": json.dumps({"items": [{"sku": "kiwi", "qty": 2}], "zone": "eu"})},
    "parse": {"body": "{'items': []}"},
    "ship": {"body": json.dumps({"items": [GOOD_ITEM], "zone": "mars"})},
    "notify": {"notify": True, "user": {"name": "ann"}},
}
TRUTH = {
    "price": ("KeyError", "price"),
    "parse": ("OrderError", "parse"),
    "ship": ("ZeroDivisionError", "rate"),
    "notify": ("AttributeError", "handler"),
}
CONTAINER_BUGS = ("price", "parse", "ship")
BASIC_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # the container services have no Lambda handler


def _write_app(root: Path) -> None:
    for name, text in APP.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# --- the Lambda runtime interface client -------------------------------------------------------


class _Marshaller:
    def unmarshal_request(self, body: bytes, content_type: str) -> object:
        return json.loads(body)

    def marshal_response(self, response: object) -> tuple[str, str]:
        return json.dumps(response), "application/json"


class _RuntimeApi:
    """The runtime API's side of an invocation: the result or error is posted here (dropped)."""

    marshaller = _Marshaller()

    def post_invocation_error(self, *args: object) -> None:
        pass

    def post_invocation_result(self, *args: object) -> None:
        pass


def _frames(data: bytes) -> list[tuple[int, str]]:
    """The telemetry frames the runtime wrote: (timestamp in ms, message), one per log event."""
    out = []
    while data:
        length = int.from_bytes(data[4:8], "big")
        stamp_us = int.from_bytes(data[8:16], "big")
        out.append((stamp_us // 1000, data[16 : 16 + length].decode()))
        data = data[16 + length :]
    return out


def run_lambda(root: Path, module: str, log_format: str, framed: bool) -> list[tuple[int, str]]:
    """Each bug's event twice through the real bootstrap; the events CloudWatch would hold."""
    os.environ["AWS_LAMBDA_LOG_FORMAT"] = log_format
    for name in [m for m in sys.modules if m.startswith(("awslambdaric", "shop", module))]:
        del sys.modules[name]
    logging.getLogger().handlers.clear()
    read_fd, write_fd = os.pipe()
    if framed:
        os.environ["_LAMBDA_TELEMETRY_LOG_FD"] = str(write_fd)
    bootstrap = importlib.import_module("awslambdaric.bootstrap")
    captured = io.StringIO()
    sink = bootstrap.create_log_sink()
    events: list[tuple[int, str]] = []
    saved = sys.stdout
    with sink:
        bootstrap._setup_logging(bootstrap._AWS_LAMBDA_LOG_FORMAT, bootstrap._AWS_LAMBDA_LOG_LEVEL, sink)
        sys.stdout = captured  # Powertools' handler keeps the stdout it found at import
        try:
            handler = bootstrap._get_handler(f"{module}.handler")
        finally:
            sys.stdout = saved
        request = 0
        for bug in TRUTH:
            for _ in range(2):
                invoke_id = REQUESTS[request]
                request += 1
                bootstrap._GLOBAL_AWS_REQUEST_ID = invoke_id
                events.append((0, f"START RequestId: {invoke_id} Version: $LATEST\n"))
                if not framed:
                    sys.stdout = captured
                try:
                    bootstrap.handle_event_request(
                        _RuntimeApi(), handler, invoke_id, json.dumps(EVENTS[bug]).encode(), "application/json",
                        None, None, "arn:aws:lambda:eu-west-1:123456789012:function:shop", 9_999_999_999_999,
                        None, sink,
                    )  # fmt: skip
                finally:
                    sys.stdout = saved
                # What the handler printed to stdout (Powertools) came before the runtime's record.
                events.extend((0, line) for line in _take(captured))
                if framed:
                    events.extend(_drain(read_fd))
                events.append((0, f"END RequestId: {invoke_id}\n"))
                events.append((0, f"REPORT RequestId: {invoke_id}\tDuration: 3.21 ms\tBilled Duration: 4 ms\n"))
    os.close(read_fd)
    if not framed:
        os.close(write_fd)
    os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    return [(0, message.rstrip("\n")) for _, message in events]


def _drain(fd: int) -> list[tuple[int, str]]:
    os.set_blocking(fd, False)
    data = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return _frames(data)


def _take(buffer: io.StringIO) -> list[str]:
    """Lines written to stdout since the last call: Lambda makes one event of each line."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return [line for line in text.split("\n") if line]


# --- services in containers --------------------------------------------------------------------


def _container_failures(log: logging.Logger, say: str) -> None:
    """Each container bug twice: the app logs it and re-raises, then the server logs it."""
    import server_stub

    for bug in CONTAINER_BUGS:
        for _ in range(2):
            server_stub.serve(EVENTS[bug], log, say)


def run_basic(root: Path) -> list[str]:
    buffer = io.StringIO()
    logging.getLogger().handlers.clear()
    logging.basicConfig(stream=buffer, level=logging.INFO, format=BASIC_FORMAT, force=True)
    _container_failures(logging.getLogger("shop.worker"), "job failed")
    return buffer.getvalue().rstrip("\n").split("\n")


def run_gunicorn(root: Path) -> list[str]:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger as GunicornLogger

    buffer = io.StringIO()
    logging.getLogger().handlers.clear()
    logging.basicConfig(stream=buffer, level=logging.INFO, format=BASIC_FORMAT, force=True)
    glog = GunicornLogger(Config())
    for handler in glog.error_log.handlers:  # gunicorn's own format, written where we read it
        handler.setStream(buffer)  # type: ignore[attr-defined]
    _container_failures(glog.error_log, "Error handling request /orders")
    return buffer.getvalue().rstrip("\n").split("\n")


def run_uvicorn(root: Path) -> list[str]:
    from uvicorn.config import LOGGING_CONFIG

    buffer = io.StringIO()
    config = json.loads(json.dumps(LOGGING_CONFIG))
    config["handlers"]["default"]["stream"] = "ext://sys.stderr"
    saved = sys.stderr
    sys.stderr = buffer
    try:
        logging.config.dictConfig(config)
        logging.getLogger("shop").addHandler(logging.getLogger("uvicorn").handlers[0])
        logging.getLogger("shop").propagate = False
        _container_failures(logging.getLogger("uvicorn.error"), "Exception in ASGI application\n")
    finally:
        sys.stderr = saved
    return buffer.getvalue().rstrip("\n").split("\n")


# --- exports -----------------------------------------------------------------------------------


def _iso_tail(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="microseconds")


def _short_tail(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _stamped(messages: list[str]) -> list[tuple[int, str]]:
    return [(START_MS + 3 * n, m) for n, m in enumerate(messages)]


def export(name: str, events: list[tuple[int, str]], stream: str, raw_suffix: str | None) -> list[str]:
    """Write the exports of one source's events; returns the file names."""
    rows = [
        {
            "logStreamName": stream,
            "timestamp": ts,
            "message": message,
            "ingestionTime": ts + 180,
            "eventId": f"{ts:020d}{n:036d}",
        }
        for n, (ts, message) in enumerate(events)
    ]
    files = []
    (HERE / f"{name}.filter.json").write_text(json.dumps({"events": rows, "searchedLogStreams": []}, indent=1) + "\n")
    files.append(f"{name}.filter.json")
    tail = "".join(f"{_iso_tail(r['timestamp'])} {stream} {r['message']}".rstrip() + "\n" for r in rows)
    (HERE / f"{name}.tail.txt").write_text(tail)
    files.append(f"{name}.tail.txt")
    short = "".join(f"{_short_tail(r['timestamp'])} {r['message']}".rstrip() + "\n" for r in rows)
    (HERE / f"{name}.tail-short.txt").write_text(short)
    files.append(f"{name}.tail-short.txt")
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": f"/aws/lambda/{name}" if name.startswith(("lambda", "powertools")) else f"/ecs/{name}",
        "logStream": stream,
        "subscriptionFilters": ["selfheal"],
        "logEvents": [{"id": r["eventId"], "timestamp": r["timestamp"], "message": r["message"]} for r in rows],
    }
    wire = base64.b64encode(gzip.compress(json.dumps(doc).encode(), mtime=0)).decode()
    (HERE / f"{name}.payload.b64").write_text(wire + "\n")
    files.append(f"{name}.payload.b64")
    if raw_suffix:
        (HERE / f"{name}{raw_suffix}").write_text("".join(m + "\n" for _, m in events))
        files.append(f"{name}{raw_suffix}")
    return files


def _relocate(messages: list[str], root: Path, deployed: str) -> list[str]:
    library = "/usr/local/lib/python3.11/site-packages"
    return [m.replace(f"{root}/site-packages", library).replace(str(root), deployed) for m in messages]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for old in HERE.iterdir():
        old.unlink()
    truth: dict[str, list[dict[str, object]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "task"
        _write_app(root)
        sys.path.insert(0, str(root))
        sys.path.insert(0, str(root / "site-packages"))
        lambda_stream = "2026/11/30/[$LATEST]4b1e0c2f9a8d4e7f"
        lambda_sources = {
            "lambda_text": ("lambda_function", "TEXT", True, ".log"),
            "lambda_text_cr": ("lambda_function", "TEXT", False, ".log"),
            "lambda_json": ("lambda_function", "JSON", True, ".jsonl"),
            "powertools": ("powertools_function", "TEXT", True, ".jsonl"),
            "powertools_json": ("powertools_function", "JSON", True, ".jsonl"),
        }
        for name, (module, log_format, framed, raw) in lambda_sources.items():
            events = run_lambda(root, module, log_format, framed)
            messages = _relocate([m for _, m in events], root, "/var/task")
            raw_suffix = raw if name != "powertools" else ".log"  # Powertools lines and the runtime's text
            for f in export(name, _stamped(messages), lambda_stream, raw_suffix):
                truth[f] = [
                    {"exception_type": t, "function": fn, "failures": 2, "records": 4, "counted": 2}
                    for t, fn in TRUTH.values()
                ]
        task = "ecs/app/5f0c8e7d2b1a4c3e9d8f7a6b5c4d3e2f"
        basic = _relocate(run_basic(root), root, "/app")
        containers = {
            "basic": basic,
            "gunicorn": _relocate(run_gunicorn(root), root, "/app"),
            "uvicorn": _relocate(run_uvicorn(root), root, "/app"),
            "compose": [f"app-1  | {line}" for line in basic],
            "syslog": [f"Nov 30 07:33:20 ip-10-0-1-17 shop[4121]: {line}" for line in basic],
            "firelens": [
                json.dumps(
                    {
                        "container_id": "5f0c8e7d2b1a4c3e9d8f7a6b5c4d3e2f-1021543211",
                        "container_name": "app",
                        "ecs_cluster": "shop",
                        "ecs_task_arn": "arn:aws:ecs:eu-west-1:123456789012:task/shop/5f0c8e7d2b1a4c3e9d8f7a6b5c4d3e2f",
                        "ecs_task_definition": "shop:7",
                        "log": line,
                        "source": "stderr",
                    }
                )
                for line in basic
            ],
        }
        # The CloudWatch agent with multi_line_start_pattern "{timestamp_format}": one event a record.
        agent: list[str] = []
        for line in basic:
            if line[:4].isdigit() or not agent:
                agent.append(line)
            else:
                agent[-1] += "\n" + line
        containers["agent"] = agent
        for name, lines in containers.items():
            raw_suffix = ".jsonl" if name == "firelens" else ".log" if name != "agent" else None
            for f in export(name, _stamped(lines), task, raw_suffix):
                # Both the app's record and the server's record of each failure are counted (no
                # request id links them outside Lambda).
                truth[f] = [
                    {"exception_type": TRUTH[b][0], "function": TRUTH[b][1], "failures": 2, "records": 4, "counted": 4}
                    for b in CONTAINER_BUGS
                ]
    (HERE / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
