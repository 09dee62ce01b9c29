"""`selfheal inspect FILE... [--json] [--explain]`: find and group the Python tracebacks in log files.

``--json`` prints (**contract**) ``{"tracebacks": [{"fingerprint", "exception_type",
"exception_message", "frames": [{"file", "line", "function"}], "chain": [...], "source"}]}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chalicelib.core.fingerprint import grouping, repeats
from chalicelib.core.frames import is_in_app
from chalicelib.core.log_files import read_tracebacks
from chalicelib.errors import PayloadError
from selfheal_cli import ROOT
from selfheal_cli.common import Command, json_option, run

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from chalicelib.core.models import Traceback

SAMPLE_APP = ROOT / "scripts" / "sample_app"
SAMPLE_LOGS = SAMPLE_APP / "logs"


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


def _print_table(found: list[tuple[Traceback, str]], explain: bool, repeated: Sequence[bool] = ()) -> None:
    """The groups, each with its failures (COUNT: records of one failure count once)."""
    groups: dict[str, list[tuple[Traceback, str]]] = {}
    counts: dict[str, int] = {}
    for n, (tb, source) in enumerate(found):
        fp = grouping(tb).fingerprint
        groups.setdefault(fp, []).append((tb, source))
        counts[fp] = counts.get(fp, 0) + (0 if n < len(repeated) and repeated[n] else 1)
    failures = sum(counts.values())
    of = f" of {failures} failure(s)" if failures != len(found) else ""
    print(f"{len(found)} traceback(s){of} in {len(groups)} group(s)")
    if not groups:
        return
    print(f"{'GROUP':<12}  {'COUNT':>5}  {'EXCEPTION':<58}  CULPRIT")
    for fp, members in sorted(groups.items(), key=lambda kv: -counts[kv[0]]):
        tb = members[0][0]
        exc = f"{tb.final.type}: {tb.final.message}" if tb.final.message else tb.final.type
        flag = " (truncated)" if any(m[0].truncated for m in members) else ""
        print(f"{fp[:12]:<12}  {counts[fp]:>5}  {_clip(exc, 58):<58}  {culprit(tb)}{flag}")
        if explain:
            for c in grouping(tb).components:
                mark = "+" if c.contributes else " "
                hint = f"  ({c.hint})" if c.hint else ""
                print(f"      {mark} {c.name} = {_clip(c.value, 90)}{hint}")
            print(f"      seen at: {', '.join(s for _, s in members[:5])}{' …' if len(members) > 5 else ''}")
            if len(members) != counts[fp]:
                print(f"      records: {len(members)} for {counts[fp]} failure(s) (records of one failure count once)")
            reasons = sorted({m[0].truncated_reason for m in members if m[0].truncated_reason})
            for reason in reasons:
                print(f"      truncated: {reason}")


def cmd_inspect(args: argparse.Namespace) -> int:
    """Print the tracebacks of the files (the bundled sample logs when none); 1 if one could not be read."""
    paths = [Path(p) for p in args.files] or sorted(SAMPLE_LOGS.iterdir())
    found: list[tuple[Traceback, str]] = []
    repeated: list[bool] = []
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
        repeated.extend(repeats(tracebacks, [grouping(tb).fingerprint for tb in tracebacks]))
    if args.json:
        doc = {"tracebacks": [traceback_json(tb, source) for tb, source in found]}
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_table(found, args.explain, repeated)
    return 1 if failed else 0


@click.command(
    cls=Command,
    name="inspect",
    short_help="find and group Python tracebacks in log files",
    help="Read raw log text, CloudWatch Logs subscription payloads (JSON or base64+gzip) "
    "or JSON-lines exports and print the tracebacks found. With no FILE, the bundled sample logs.",
)
@click.argument("files", nargs=-1, metavar="[FILE]...")
@json_option
@click.option("--explain", is_flag=True, help="show the grouping components of each group")
def inspect(**params: Any) -> int:
    return run("inspect", cmd_inspect, params)
