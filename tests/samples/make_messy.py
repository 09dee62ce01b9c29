"""Regenerate tests/samples/messy/: real tracebacks, transformed the way pastes and shippers do.

Each scenario is real code run by this interpreter; its traceback is printed by CPython's own
``traceback`` module (what ``logging.exception`` and the interpreter print), the ground truth is
taken from the live exception (``traceback.extract_tb``), and then the text is transformed the
way real logs and pastes change it (indentation lost or changed, quote and log prefixes, blank
lines, a lost header, the Lambda runtime's legacy and Step Functions forms, trimmed
exception-group boxes). The files are committed; run this again only to change them:

    python tests/samples/make_messy.py
"""

from __future__ import annotations

import json
import linecache
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent / "messy"

# The application's code, loaded under a deployment path so frames look like a service's.
APP = {
    "/var/task/shop/orders.py": """\
from shop import pricing


def handle(event):
    order = event["order"]
    return place(order)


def place(order):
    total = pricing.total(order["items"])
    return {"total": total}
""",
    "/var/task/shop/pricing.py": """\
PRICES = {"apple": 3, "pear": 4}


def total(items):
    return sum(price(item) for item in items)


def price(item):
    return PRICES[item["sku"]] * item["qty"]
""",
    "/var/task/shop/fetch.py": """\
import urllib.error
import urllib.request


class UpstreamError(Exception):
    pass


def stock(sku):
    try:
        return urllib.request.urlopen("http://127.0.0.1:9/stock/" + sku, timeout=2).read()
    except urllib.error.URLError as exc:
        raise UpstreamError(f"stock service unavailable for {sku}") from exc


def check(order):
    return [stock(item["sku"]) for item in order["items"]]
""",
    "/var/task/shop/report.py": """\
def render(template, value):
    code = compile(template.format(value=value), "/var/task/shop/templates/generated.py", "exec")
    namespace = {}
    exec(code, namespace)
    return namespace
""",
    "/var/task/shop/batch.py": """\
def validate(rows):
    errors = []
    for n, row in enumerate(rows):
        if "sku" not in row:
            errors.append(KeyError(f"row {n}: sku"))
        if row.get("qty", 0) < 0:
            errors.append(ValueError(f"row {n}: negative qty {row['qty']}"))
    nested = ExceptionGroup("row checks", errors[:2]) if len(errors) > 1 else None
    if nested is not None:
        raise ExceptionGroup("batch rejected", [nested, TypeError("rows must be dicts")])
""",
}


def _load() -> None:
    """Load the app's modules from APP (sources registered with linecache, as if on disk)."""
    import sys
    import types

    pkg = types.ModuleType("shop")
    sys.modules["shop"] = pkg
    for path, src in sorted(APP.items(), key=lambda kv: kv[0].endswith("orders.py")):
        linecache.cache[path] = (len(src), None, src.splitlines(True), path)
        name = Path(path).stem
        mod = types.ModuleType(f"shop.{name}")
        mod.__file__ = path
        exec(compile(src, path, "exec"), mod.__dict__)
        sys.modules[f"shop.{name}"] = mod
        setattr(pkg, name, mod)


STDLIB = str(Path(json.__file__).resolve().parent.parent) + "/"
LAMBDA_STDLIB = "/var/lang/lib/python3.11/"


def _rewrite(text: str) -> str:
    """This machine's standard-library path as the Lambda runtime's (as shared/samples does)."""
    return text.replace(STDLIB, LAMBDA_STDLIB)


def _printed_type(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def _chain(exc: BaseException) -> list[BaseException]:
    out = [exc]
    while True:
        cur = out[0]
        nxt = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
        if nxt is None:
            return out
        out.insert(0, nxt)


def _tree(exc: BaseException) -> dict:
    node = {"exception_type": _printed_type(exc), "exception_message": str(exc).split("\n")[0]}
    if isinstance(exc, BaseExceptionGroup):
        n = len(exc.exceptions)
        node["exception_message"] = f"{exc.message} ({n} sub-exception{'s' * (n > 1)})"
        node["children"] = [_tree(e) for e in exc.exceptions]
    return node


def _truth(exc: BaseException) -> dict:
    message = str(exc).split("\n")[0]
    if isinstance(exc, BaseExceptionGroup):
        message = _tree(exc)["exception_message"]
    if isinstance(exc, SyntaxError):
        message = exc.msg
    truth = {
        "exception_type": _printed_type(exc),
        "exception_message": message,
        "frames": [
            {"file": _rewrite(f.filename), "line": f.lineno, "function": f.name}
            for f in traceback.extract_tb(exc.__traceback__)
        ],
        "chain": [_printed_type(e) for e in _chain(exc)],
    }
    if isinstance(exc, SyntaxError):
        truth["syntax_error"] = {"file": exc.filename, "line": exc.lineno}
    if isinstance(exc, BaseExceptionGroup):
        truth["group_tree"] = _tree(exc)
    return truth


def scenarios() -> dict[str, BaseException]:
    import sys

    _load()
    orders, fetch, report, batch = (sys.modules[f"shop.{n}"] for n in ("orders", "fetch", "report", "batch"))
    out: dict[str, BaseException] = {}
    calls = {
        "key_error": lambda: orders.handle({"order": {"items": [{"sku": "kiwi", "qty": 1}]}}),
        "library_cause": lambda: fetch.check({"items": [{"sku": "apple"}]}),
        "generated_syntax": lambda: report.render("x = {value} +", 41),
        "nested_group": lambda: batch.validate([{"qty": -1}, {"sku": "a", "qty": 2}]),
    }
    for name, call in calls.items():
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - every scenario raises on purpose
            # The traceback starts in the app, as a Lambda's does: drop this script's two frames.
            tb = exc.__traceback__
            out[name] = exc.with_traceback(tb.tb_next.tb_next if tb and tb.tb_next else tb)
    return out


# --- transformations ------------------------------------------------------------------------------


def _lead(line: str) -> tuple[str, str]:
    body = line.lstrip(" ")
    return line[: len(line) - len(body)], body


def no_indent(text: str) -> str:
    return "\n".join(line.lstrip() for line in text.split("\n"))


def one_space(text: str) -> str:
    return "\n".join(" " * (len(_lead(line)[0]) // 2) + _lead(line)[1] for line in text.split("\n"))


def tabs(text: str) -> str:
    return "\n".join("\t" * (len(_lead(line)[0]) // 2) + _lead(line)[1] for line in text.split("\n"))


def indented_in_build_log(text: str) -> str:
    body = "\n".join("      " + line if line else "" for line in text.split("\n"))
    return (
        "Collecting shop==1.4.2\n  Running setup.py egg_info for package shop\n"
        "    error: subprocess-exited-with-error\n\n"
        f"{body}\n    note: This error originates from a subprocess, and is likely not a problem with pip.\n"
    )


def quoted(text: str) -> str:
    body = "\n".join("> " + line if line else ">" for line in text.split("\n"))
    return f"Hi, this is what I get:\n\n{body}\nThanks!\n"


def piped(text: str) -> str:
    return "\n".join("| " + line for line in text.split("\n"))


def compose(text: str) -> str:
    body = "\n".join("app_1  | " + line for line in text.split("\n"))
    return f"app_1  | INFO booting\n{body}\nworker_1  | INFO ready\n"


def prefix_on_some(text: str) -> str:
    lines = text.split("\n")
    out = []
    for n, line in enumerate(lines):
        out.append(f"2026-11-22T10:00:{n:02d}.123Z\tc0ffee42-1b2c\tERROR\t{line}" if n % 3 == 0 else line)
    return "\n".join(out)


def blank_lines(text: str) -> str:
    """A shipper that splits on \\r and \\n alike: a blank line between every two lines."""
    return "\n\n".join(text.rstrip("\n").split("\n")) + "\n"


def ipython(text: str) -> str:
    """Blank line under the header and between frames, as IPython / Spyder pastes carry."""
    out = []
    for line in text.rstrip("\n").split("\n"):
        exception_line = line and not line.startswith(" ") and out and out[-1].startswith("    ")
        if line.lstrip().startswith("File ") or exception_line:
            out.append("")
        out.append(line)
    return "\n".join(out) + "\n"


def fragment(text: str) -> str:
    """Only the last frames and the exception line were copied: no header."""
    lines = text.rstrip("\n").split("\n")
    header = max(n for n, line in enumerate(lines) if line.startswith("Traceback (most recent call last):"))
    return "some context from the issue\n" + "\n".join(lines[header + 1 :]) + "\n"


def lambda_legacy(exc: BaseException) -> str:
    body = "".join(traceback.format_exception(exc, chain=False))
    lines = [line.lstrip() for line in body.rstrip("\n").split("\n")]
    header = f"{exc}: {type(exc).__name__}"
    return f"START RequestId: 8d2f Version: $LATEST\n{header}\n" + "\n".join(lines) + "\nEND RequestId: 8d2f\n"


def lambda_legacy_no_header(exc: BaseException) -> str:
    body = lambda_legacy(exc).replace("Traceback (most recent call last):\n", "")
    return body


def _lambda_error(exc: BaseException) -> dict:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "3f8e1c2a-5a43-4c3e-9a0b-1c2d3e4f5a6b",
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


def step_functions_output(exc: BaseException) -> str:
    return json.dumps({"Error": type(exc).__name__, "Cause": json.dumps(_lambda_error(exc))}, indent=2) + "\n"


def step_functions_history(exc: BaseException) -> str:
    event = {
        "timestamp": "2026-11-22T10:00:00.000Z",
        "type": "TaskFailed",
        "id": 7,
        "taskFailedEventDetails": {
            "resourceType": "lambda",
            "resource": "invoke",
            "error": type(exc).__name__,
            "cause": json.dumps(_lambda_error(exc)),
        },
    }
    return json.dumps({"events": [event]}) + "\n"


def error_object(exc: BaseException) -> str:
    return json.dumps({"level": "ERROR", "message": "order failed", "error": _lambda_error(exc)}) + "\n"


TEXT_FORMS = {
    "no_indent": no_indent,
    "one_space": one_space,
    "tabs": tabs,
    "indented_in_build_log": indented_in_build_log,
    "quoted": quoted,
    "piped": piped,
    "compose": compose,
    "prefix_on_some_lines": prefix_on_some,
    "blank_lines": blank_lines,
    "ipython_blanks": ipython,
    "fragment": fragment,
}
LAMBDA_FORMS = {
    "lambda_legacy": lambda_legacy,
    "lambda_legacy_no_header": lambda_legacy_no_header,
    "step_functions_output": step_functions_output,
    "step_functions_history": step_functions_history,
    "error_object": error_object,
}


def trim_one_space(text: str) -> str:
    return "\n".join(line[1:] if line.startswith(" ") else line for line in text.split("\n"))


GROUP_FORMS = {"trimmed_box": no_indent, "box_one_space_trim": trim_one_space}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    rows = []
    for scenario, exc in scenarios().items():
        text = _rewrite("".join(traceback.format_exception(exc)))
        truth = _truth(exc)
        forms = dict(GROUP_FORMS) if scenario == "nested_group" else dict(TEXT_FORMS)
        (HERE / f"{scenario}__original.log").write_text(text)
        rows.append({"file": f"{scenario}__original.log", "scenario": scenario, "form": "original", **truth})
        for form, transform in forms.items():
            if form == "fragment" and scenario == "generated_syntax":
                continue
            name = f"{scenario}__{form}.log"
            (HERE / name).write_text(transform(text))
            row = {"file": name, "scenario": scenario, "form": form, **truth}
            if form == "fragment":
                row["frames_suffix"] = True  # the outer frames were not copied
                row["chain"] = truth["chain"][-1:] if "library_cause" != scenario else truth["chain"][-1:]
            rows.append(row)
        if scenario in ("key_error", "library_cause"):
            for form, transform in LAMBDA_FORMS.items():
                suffix = ".json" if form.startswith(("step", "error")) else ".log"
                name = f"{scenario}__{form}{suffix}"
                (HERE / name).write_text(_rewrite(transform(exc)))
                # The legacy text prints the exception line in full; the JSON forms the class name.
                printed = truth["exception_type"] if form.startswith("lambda_legacy") else type(exc).__name__
                short = {**truth, "exception_type": printed, "chain": [printed]}
                rows.append({"file": name, "scenario": scenario, "form": form, **short})
    with (HERE / "corpus.jsonl").open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    print(f"{len(rows)} samples in {HERE}")


if __name__ == "__main__":
    main()
