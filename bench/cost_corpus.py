"""The cost benchmark's bugs: a service repository with N real bugs, the tracebacks they raise, their fixes.

The repository is the quick start's sample app (``scripts/sample_app``) plus generated feature
modules, ten bug sites each, written in seven families of everyday Python bugs (a missing key, an
attribute of None, a division by an empty length, ``int()`` of a unit string, a short split, ``str
+ int``, malformed JSON through the standard library). Every traceback is produced by running that
code in this interpreter and catching the real exception; only the work tree is rewritten to
``/var/task/``, where Lambda unpacks code. Each bug is logged in one of four real forms (the Lambda
runtime's ``[ERROR]`` text form, a Powertools JSON record, ``logging.exception`` text, the Lambda
JSON error record) and fixed by one ``propose_fix`` edit of its raising line; every
``RETRY_EVERY``-th bug's first answer quotes the line wrongly, so its fix takes the second round.

Deterministic: the same ``bugs`` give the same files, tracebacks and answers.
"""

from __future__ import annotations

import importlib
import json
import sys
import sysconfig
import traceback
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

DEPLOY = "/var/task/"
PER_MODULE = 10
RETRY_EVERY = 8  # one fix in eight needs the corrective second round (an assumption: see docs/cost.md)
STDLIB = sysconfig.get_paths()["stdlib"]
FORMS = ("lambda_text", "powertools_json", "logging", "lambda_json")

# family: (step function body with {i}; the raising line; its fix; payloads that raise; answer texts)
FAMILIES: list[dict[str, Any]] = [
    {
        "body": [
            '    """Sum the quantities of an order\'s lines."""',
            '    lines = payload.get("lines", [])',
            "    total = 0",
            "    for line in lines:",
            '        total += line["qty_{i}"]',
            '    return {{"total": total, "lines": len(lines)}}',
        ],
        "raising": '        total += line["qty_{i}"]',
        "fix": '        total += line.get("qty_{i}", 0)',
        "payloads": [{"lines": [{"qty": 1}]}, {"lines": [{"sku": "a"}, {"qty": 2}]}],
        "title": "Count order lines without a quantity as zero",
        "cause": "An order line without the qty_{i} field makes the sum fail with KeyError; such lines "
        "come from clients that omit zero quantities.",
    },
    {
        "body": [
            '    """Normalize the customer\'s e-mail address."""',
            '    customer = payload.get("customer_{i}") or {{}}',
            '    email = customer.get("email")',
            '    return {{"email": email.strip().lower()}}',
        ],
        "raising": '    return {{"email": email.strip().lower()}}',
        "fix": '    if email is None:\n        return {{"email": None}}\n    return {{"email": email.strip().lower()}}',
        "payloads": [{"customer_{i}": {"name": "x"}}, {}],
        "title": "Accept customers without an e-mail address",
        "cause": "customer.get('email') is None for customers registered by phone, and the normalization "
        "calls .strip() on it.",
    },
    {
        "body": [
            '    """Average price of the basket."""',
            '    prices = [float(p) for p in payload.get("prices_{i}", [])]',
            "    mean = sum(prices) / len(prices)",
            '    return {{"mean": round(mean, 2)}}',
        ],
        "raising": "    mean = sum(prices) / len(prices)",
        "fix": "    mean = sum(prices) / len(prices) if prices else 0.0",
        "payloads": [{"prices_{i}": []}, {}],
        "title": "Give an empty basket an average price of zero",
        "cause": "An empty basket has no prices, so the mean divides by len(prices) == 0.",
    },
    {
        "body": [
            '    """Parse the requested quantity."""',
            '    raw = str(payload.get("quantity_{i}", ""))',
            "    quantity = int(raw)",
            '    return {{"quantity": quantity}}',
        ],
        "raising": "    quantity = int(raw)",
        "fix": "    digits = raw.strip().split()[0] if raw.strip() else ''\n"
        "    quantity = int(digits) if digits.isdigit() else 0",
        "payloads": [{"quantity_{i}": "3 boxes"}, {"quantity_{i}": "12 units"}, {"quantity_{i}": "two"}],
        "title": "Read quantities written with a unit",
        "cause": "Clients send quantities such as '3 boxes'; int() accepts only the digits.",
    },
    {
        "body": [
            '    """The second address line, printed on the label."""',
            '    parts = payload.get("address_{i}", "").split(",")',
            '    return {{"line2": parts[1].strip()}}',
        ],
        "raising": '    return {{"line2": parts[1].strip()}}',
        "fix": '    return {{"line2": parts[1].strip() if len(parts) > 1 else ""}}',
        "payloads": [{"address_{i}": "1 Main Street"}, {}],
        "title": "Allow addresses with a single line",
        "cause": "An address without a comma splits into one part, and parts[1] does not exist.",
    },
    {
        "body": [
            '    """The reference printed on the invoice."""',
            '    number = payload.get("invoice_{i}", 0)',
            '    return {{"reference": "INV-" + number}}',
        ],
        "raising": '    return {{"reference": "INV-" + number}}',
        "fix": '    return {{"reference": "INV-" + str(number)}}',
        "payloads": [{"invoice_{i}": 1042}, {}],
        "title": "Format numeric invoice numbers in references",
        "cause": "Invoice numbers arrive as integers from the new billing API; str + int raises TypeError.",
    },
    {
        "body": [
            '    """Gift options, sent as a JSON string."""',
            '    options = json.loads(payload.get("options_{i}") or "{{}}")',
            '    return {{"gift": bool(options.get("gift"))}}',
        ],
        "raising": '    options = json.loads(payload.get("options_{i}") or "{{}}")',
        "fix": '    try:\n        options = json.loads(payload.get("options_{i}") or "{{}}")\n'
        "    except json.JSONDecodeError:\n        options = {{}}",
        "payloads": [{"options_{i}": "{gift: yes}"}, {"options_{i}": "{'gift': 1}"}],
        "title": "Ignore malformed gift options",
        "cause": "Some clients send the options as a Python dict literal, which json.loads rejects.",
    },
]

FILLER = '''

def _audit_{m}(event: dict) -> dict:
    """What the audit log keeps of a request: its operation and the payload's keys."""
    keys = sorted(event.get("payload", {{}}))
    return {{"op": event.get("op"), "keys": keys, "module": "{name}"}}


def _rate_{m}(region: str) -> float:
    """The tax rate of a region (defaults to the standard rate)."""
    return RATES.get(region, RATES["standard"])
'''


@dataclass(frozen=True)
class Bug:
    """One bug: where it is, how it is logged (real traceback texts), and its recorded fix."""

    index: int
    module: str  # shop.features.f000
    path: str  # shop/features/f000.py
    family: int
    form: str
    texts: tuple[str, ...]  # the traceback as printed, one per triggering payload
    messages: tuple[str, ...]  # the log events carrying them, in the bug's form
    raising: str
    fix: str
    search: str  # the lines a fix quotes: from the first that names the bug's field to the raising one
    replace: str
    title: str
    cause: str

    @property
    def retried(self) -> bool:
        return self.index % RETRY_EVERY == RETRY_EVERY - 1


def _module_text(m: int, indices: list[int]) -> str:
    name = f"f{m:03d}"
    out = [
        f'"""Order features, part {m} (generated for the cost benchmark from everyday bug patterns)."""',
        "",
        "from __future__ import annotations",
        "",
        "import json",
        "",
        'RATES = {"standard": 0.2, "reduced": 0.05, "zero": 0.0}',
    ]
    out.append(FILLER.format(m=m, name=name).rstrip("\n"))
    for i in indices:
        fam = FAMILIES[i % len(FAMILIES)]
        out += ["", "", f"def _step_{i}(payload: dict) -> dict:"]
        out += [line.format(i=i) for line in fam["body"]]
        out += [
            "",
            "",
            f"def handle_{i}(payload: dict) -> dict:",
            f'    """Operation op_{i}: validate, then compute."""',
            "    if not isinstance(payload, dict):",
            '        raise TypeError("payload must be an object")',
            f"    return _step_{i}(payload)",
        ]
    out += ["", "", "HANDLERS = {", *[f'    "op_{i}": handle_{i},' for i in indices], "}", "", ""]
    out += [
        "def dispatch(event: dict) -> dict:",
        '    """Run the operation the event names."""',
        f"    _audit_{m}(event)",
        '    return HANDLERS[event["op"]](event["payload"])',
        "",
    ]
    return "\n".join(out)


ROUTER = '''"""Routes an order event to its feature module."""

from __future__ import annotations

import importlib


def route(event: dict) -> dict:
    """Import the feature module the event names and dispatch to it."""
    module = importlib.import_module(f"shop.features.{event['module']}")
    return module.dispatch(event)
'''


def write_features(work: Path, bugs: int) -> None:
    """Add the generated feature modules (``shop/features/``) to a work tree of the sample app."""
    features = work / "shop" / "features"
    features.mkdir(parents=True, exist_ok=True)
    (features / "__init__.py").write_text(ROUTER)
    for m in range((bugs + PER_MODULE - 1) // PER_MODULE):
        indices = [i for i in range(m * PER_MODULE, (m + 1) * PER_MODULE) if i < bugs]
        (features / f"f{m:03d}.py").write_text(_module_text(m, indices))


def _format(value: Any, i: int) -> Any:
    return json.loads(json.dumps(value).replace("{i}", str(i)))


def _raise(work: Path, bug: int, payload: dict) -> BaseException:
    from shop import features  # the generated package, from the work tree on sys.path

    event = {"module": f"f{bug // PER_MODULE:03d}", "op": f"op_{bug}", "payload": payload}
    try:
        features.route(event)
    except Exception as exc:  # the bug itself, captured to be printed
        exc.__traceback__ = exc.__traceback__.tb_next if exc.__traceback__ else None
        return exc
    raise AssertionError(f"bug {bug} did not raise for {payload}")


def _render(form: str, exc: BaseException, text: str, frames: list[str], n: int) -> str:
    rid = str(uuid.UUID(int=n * 7919 + 17))
    short = f"{type(exc).__name__}: {exc}"
    if form == "lambda_text":
        lam = "\r".join(["[ERROR] " + short, "Traceback (most recent call last):"]) + "\r"
        return (lam + "".join(frames).replace("\n", "\r").replace("  ", "\u00a0\u00a0")).rstrip("\r")
    if form == "powertools_json":
        return json.dumps(
            {
                "level": "ERROR",
                "location": "dispatch:40",
                "message": "request failed",
                "timestamp": "2026-11-22 09:01:07,123+0000",
                "service": "shop",
                "exception": text,
                "exception_name": type(exc).__name__,
                "xray_trace_id": f"1-6740{n % 65536:04x}-{rid.replace('-', '')[:24]}",
            }
        )
    if form == "logging":
        return f"2026-11-22 09:01:07,123 ERROR [shop] [{rid}] request failed\n{text}"
    return json.dumps(
        {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": rid, "stackTrace": frames}
    )


def _deployed(text: str, work: Path) -> str:
    """Paths as in Lambda: the code under /var/task/, the standard library under /var/lang/."""
    return text.replace(str(work) + "/", DEPLOY).replace(STDLIB + "/", "/var/lang/lib/python3.11/")


def build_bugs(work: Path, bugs: int) -> list[Bug]:
    """Run every bug of the work tree's feature modules; returns them with their log texts."""
    sys.path.insert(0, str(work))
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    out: list[Bug] = []
    try:
        for i in range(bugs):
            fam = FAMILIES[i % len(FAMILIES)]
            form = FORMS[(i // len(FAMILIES)) % len(FORMS)]
            body = [line.format(i=i) for line in fam["body"]]
            end = body.index(fam["raising"].format(i=i))
            start = next(n for n, line in enumerate(body) if f"_{i}" in line)
            quoted = body[start : end + 1]
            texts: list[str] = []
            messages: list[str] = []
            for k, payload in enumerate(fam["payloads"]):
                exc = _raise(work, i, _format(payload, i))
                text = _deployed("".join(traceback.format_exception(exc)), work).rstrip("\n")
                frames = [
                    _deployed(line, work) for line in traceback.format_list(traceback.extract_tb(exc.__traceback__))
                ]
                texts.append(text)
                messages.append(_render(form, exc, text, frames, i * 10 + k))
            out.append(
                Bug(
                    index=i,
                    module=f"shop.features.f{i // PER_MODULE:03d}",
                    path=f"shop/features/f{i // PER_MODULE:03d}.py",
                    family=i % len(FAMILIES),
                    form=form,
                    texts=tuple(texts),
                    messages=tuple(messages),
                    raising=fam["raising"].format(i=i),
                    fix=fam["fix"].format(i=i),
                    search="\n".join(quoted),
                    replace="\n".join([*quoted[:-1], fam["fix"].format(i=i)]),
                    title=fam["title"],
                    cause=fam["cause"].format(i=i),
                )
            )
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
            del sys.modules[name]
    return out


def tool_input(bug: Bug, good: bool = True) -> dict[str, Any]:
    """The ``propose_fix`` input a model writes for ``bug``; ``good=False`` quotes the line wrongly
    (its indentation lost), as models sometimes do, so the edit does not apply."""
    search = bug.search if good else bug.search.replace(bug.raising, bug.raising.strip())
    return {
        "title": bug.title,
        "root_cause": bug.cause,
        "explanation": f"The fix changes only the raising line of {bug.path}, so the other callers keep "
        "their behaviour; a regression test for the failing input belongs in the PR's CI.",
        "confidence": 0.8 if good else 0.7,
        "edits": [{"path": bug.path, "search": search, "replace": bug.replace}],
    }


def converse_answer(bug: Bug, round_: int, tokens_in: int, tokens_out: int, latency_ms: int) -> dict[str, Any]:
    """A Converse response calling propose_fix, as boto3's converse() returns it."""
    good = round_ == 2 or not bug.retried
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": f"tooluse_cost_{bug.index}_{round_}",
                            "name": "propose_fix",
                            "input": tool_input(bug, good),
                        }
                    }
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": tokens_in, "outputTokens": tokens_out, "totalTokens": tokens_in + tokens_out},
        "metrics": {"latencyMs": latency_ms},
    }
