#!/usr/bin/env python3
"""selfheal command line: ``python scripts/selfheal.py COMMAND ...``.

Commands:
  inspect FILE... [--json] [--explain]   find and group the Python tracebacks in log files
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chalice_app"))

from chalicelib.core.fingerprint import grouping, is_in_app  # noqa: E402
from chalicelib.core.log_files import read_tracebacks  # noqa: E402
from chalicelib.errors import PayloadError  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.models import Traceback

SAMPLE_LOGS = ROOT / "scripts" / "sample_app" / "logs"


def traceback_json(tb: Traceback, source: str) -> dict[str, object]:
    """One traceback in the ``inspect --json`` contract shape."""
    final = tb.final
    return {
        "fingerprint": grouping(tb).fingerprint,
        "exception_type": final.type,
        "exception_message": final.message,
        "frames": [{"file": f.file, "line": f.line, "function": f.function} for f in final.frames],
        "chain": [{"exception_type": e.type, "exception_message": e.message} for e in tb.exceptions],
        "source": source,
    }


def culprit(tb: Traceback) -> str:
    """The innermost in-app frame of the final exception (where the bug most likely is)."""
    frames = tb.final.frames
    in_app = [f for f in frames if is_in_app(f.file)] or list(frames)
    if not in_app:
        loc = tb.final.syntax_error
        return f"{Path(loc.file).name}:{loc.line}" if loc else "-"
    frame = in_app[-1]
    return f"{Path(frame.file).name} in {frame.function}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(found: list[tuple[Traceback, str]], explain: bool) -> None:
    groups: dict[str, list[tuple[Traceback, str]]] = {}
    for tb, source in found:
        groups.setdefault(grouping(tb).fingerprint, []).append((tb, source))
    print(f"{len(found)} traceback(s) in {len(groups)} group(s)")
    if not groups:
        return
    print(f"{'GROUP':<12}  {'COUNT':>5}  {'EXCEPTION':<58}  CULPRIT")
    for fp, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        tb = members[0][0]
        exc = f"{tb.final.type}: {tb.final.message}" if tb.final.message else tb.final.type
        flag = " (truncated)" if any(m[0].truncated for m in members) else ""
        print(f"{fp[:12]:<12}  {len(members):>5}  {_clip(exc, 58):<58}  {culprit(tb)}{flag}")
        if explain:
            for c in grouping(tb).components:
                mark = "+" if c.contributes else " "
                hint = f"  ({c.hint})" if c.hint else ""
                print(f"      {mark} {c.name} = {_clip(c.value, 90)}{hint}")
            print(f"      seen at: {', '.join(s for _, s in members[:5])}{' …' if len(members) > 5 else ''}")


def cmd_inspect(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.files] or sorted(SAMPLE_LOGS.iterdir())
    found: list[tuple[Traceback, str]] = []
    failed = 0
    for path in paths:
        try:
            data = path.read_bytes()
            tracebacks = read_tracebacks(data)
        except (OSError, PayloadError) as exc:
            print(f"selfheal inspect: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        found.extend((tb, f"{path}:{tb.origin}") for tb in tracebacks)
    if args.json:
        doc = {"tracebacks": [traceback_json(tb, source) for tb, source in found]}
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_table(found, args.explain)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfheal", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inspect = sub.add_parser(
        "inspect",
        help="find and group Python tracebacks in log files",
        description="Read raw log text, CloudWatch Logs subscription payloads (JSON or base64+gzip) "
        "or JSON-lines exports and print the tracebacks found. With no FILE, the bundled sample logs.",
    )
    inspect.add_argument("files", nargs="*", metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="print one JSON document (contract shape)")
    inspect.add_argument("--explain", action="store_true", help="show the grouping components of each group")
    inspect.set_defaults(func=cmd_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `selfheal inspect | head` ends quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
