"""Regenerate the bundled sample logs by running the sample app's real bugs.

Every traceback in ``logs/`` was printed by this interpreter for a real exception of ``shop``;
only the checkout directory is rewritten to ``/var/task/`` (where Lambda unpacks code) and the
forms differ: plain logging, prefixed logging, the Lambda runtime's text and JSON forms,
Powertools records and a CloudWatch Logs subscription payload split one line per event.

    python scripts/sample_app/make_logs.py
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import traceback
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import handler  # noqa: E402

DEPLOY = "/var/task/"
EVENTS = [
    {"body": '{"sku": "apple", "quantity": 3}'},  # no discount code -> AttributeError
    {"body": '{"sku": "pear", "quantity": 2, "discount": "winter"}'},  # unknown code -> KeyError
    {"basket": []},  # empty basket -> ZeroDivisionError
    {"body": '{"sku": "kiwi", "quantity": 1, "discount": "vip"}'},  # unknown sku -> KeyError
    {"body": "{sku: melon}"},  # malformed body -> JSONDecodeError
]
JOBS = [
    {"job": "depth", "category": {"name": "fruit"}},  # no parent -> RecursionError
    {"job": "notify", "users": [{"id": 4, "email": "x"}, {"id": 9, "email": "y"}]},  # ExceptionGroup
]


def _run(event: dict) -> BaseException:
    try:
        handler.lambda_handler(event, None)
    except Exception as exc:  # the sample's bugs, captured to be printed
        exc.__traceback__ = exc.__traceback__.tb_next  # drop this function's own frame
        return exc
    raise AssertionError(f"event did not fail: {event}")


def _text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).replace(str(HERE) + "/", DEPLOY).rstrip("\n")


def _frames(exc: BaseException) -> list[str]:
    tb = traceback.extract_tb(exc.__traceback__)
    return [line.replace(str(HERE) + "/", DEPLOY) for line in traceback.format_list(tb)]


def main() -> None:
    out = HERE / "logs"
    out.mkdir(exist_ok=True)
    failures = [(event, _run(event)) for event in EVENTS]

    plain: list[str] = []
    prefixed: list[str] = []
    lambda_text: list[str] = []
    json_lines: list[str] = []
    for n, (_event, exc) in enumerate(failures * 2):
        rid = str(uuid.UUID(int=n * 7919 + 1))
        stamp = f"2026-11-22 09:{n:02d}:07,{100 + n:03d}"
        text = _text(exc)
        plain += [f"{stamp} INFO [shop] request {rid} accepted", f"{stamp} ERROR [shop] order failed", text]
        prefixed += [f"{stamp} ERROR [{rid}] {line}" for line in ["order failed", *text.split("\n")]]
        short = f"{type(exc).__name__}: {exc}"
        lam = "\r".join(["[ERROR] " + short, "Traceback (most recent call last):"]) + "\r"
        lam += "".join(_frames(exc)).replace("\n", "\r").replace("  ", "\u00a0\u00a0")
        lambda_text += [f"START RequestId: {rid} Version: $LATEST", lam.rstrip("\r"), f"END RequestId: {rid}"]
        record = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": rid,
            "stackTrace": _frames(exc),
        }
        json_lines.append(json.dumps(record))
        json_lines.append(
            json.dumps(
                {
                    "level": "ERROR",
                    "location": "handler:7",
                    "message": "order failed",
                    "timestamp": stamp,
                    "service": "shop",
                    "exception": text,
                    "exception_name": type(exc).__name__,
                    "xray_trace_id": f"1-6740{n:04x}-{rid.replace('-', '')[:24]}",
                }
            )
        )
        json_lines.append(json.dumps({"level": "INFO", "message": f"request {rid} done", "service": "shop"}))

    (out / "app.log").write_text("\n".join(plain) + "\n")
    (out / "app-prefixed.log").write_text("\n".join(prefixed) + "\n")
    (out / "lambda.log").write_text("\n".join(lambda_text) + "\n")
    (out / "lambda.jsonl").write_text("\n".join(json_lines) + "\n")

    lines = ["worker started"]
    for _event, exc in failures[:3]:
        lines += ["processing batch", *_text(exc).split("\n")]
    events = [{"id": f"3{k:055d}", "timestamp": 1795000000000 + k, "message": m} for k, m in enumerate(lines)]
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/ecs/shop",
        "logStream": "shop/web/5f1c2d",
        "subscriptionFilters": ["selfheal"],
        "logEvents": events,
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode(), mtime=0))
    jobs = [_text(_run(event)) for event in JOBS]
    (out / "jobs.log").write_text("\n".join(["job runner started", *jobs, "job runner idle"]) + "\n")
    (out / "subscription-payload.b64").write_bytes(data + b"\n")


if __name__ == "__main__":
    main()
