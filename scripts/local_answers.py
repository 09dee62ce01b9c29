"""`selfheal local --answer-template FINGERPRINT --logs FILE --repo DIR`: a replay answer to fill in.

A replay file (``--model replay:FILE``) holds Converse answers keyed by group (see
chalicelib/adapters/bedrock.py). Writing one by hand means knowing the answer's shape, the file's
path as the repository spells it, and a search text copied exactly from it. This prints a
complete answer for one group of the logs (any unique prefix of its fingerprint, as ``inspect``
prints it): keyed by the fingerprint, its one edit already pointing at the culprit's file with
the culprit's line as the search text. Fill in ``replace`` (and the words) and save it as the
replay file. Nothing runs: no server, no model, no write to the repository.

What the fixer would show the model (the located files, the line ranges) goes to stderr, so
``> answers.json`` keeps only the answer.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.context import select_context
from chalicelib.core.fingerprint import DEFAULT_NAME, fingerprint
from chalicelib.core.localize import DEFAULT_PREFIXES, localize
from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.prompt import TOOL_NAME
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from chalicelib.core.models import Traceback

KEY_LENGTH = 16  # hex characters of the fingerprint that key the answer (6-32 are accepted)


def converse_answer(fp: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    """A Converse response calling ``propose_fix`` with ``tool_input``, as Bedrock returns it."""
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": f"tooluse_{fp[:12]}", "name": TOOL_NAME, "input": tool_input}}],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
    }


def find_group(logs: Sequence[Path], prefix: str) -> tuple[list[Traceback], list[str]]:
    """The tracebacks of the one group whose fingerprint starts with ``prefix``, and every
    fingerprint that does (more than one: the prefix is ambiguous; none: not in the logs)."""
    groups: dict[str, list[Traceback]] = {}
    for path in logs:
        for tb in read_tracebacks(path.read_bytes()):
            groups.setdefault(fingerprint(tb, DEFAULT_NAME), []).append(tb)
    matches = sorted(fp for fp in groups if fp.startswith(prefix.lower()))
    return (groups[matches[0]] if len(matches) == 1 else []), matches or sorted(groups)


def _work_tree(repo: str) -> Path:
    """A work tree of the repository: itself, or a clone of a bare one."""
    import git

    opened = git.Repo(repo)
    if not opened.bare:
        return Path(repo)
    return Path(git.Repo.clone_from(repo, Path(tempfile.mkdtemp(prefix="selfheal-template-")) / "repo").working_dir)


def template(tb: Traceback, fp: str, repo: Path, prefixes: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The replay file's answer for the group, and lines describing what the model would see."""
    from localize_cli import DEFAULT_BUDGET, WorkTree

    tree = WorkTree(repo)
    result = localize(
        tb.exceptions, list(tree.paths()), tree.read, (*prefixes, *DEFAULT_PREFIXES), changes=tree.changes()
    )
    context = select_context(
        result.located, tree.read, DEFAULT_BUDGET, definitions=result.definitions, extra=result.extra
    )
    notes = [f"group {fp[:KEY_LENGTH]}: {tb.final.type}: {tb.final.message}"]
    edit = {"path": "FILE IN THE TRACE", "search": "TEXT COPIED EXACTLY FROM THE FILE", "replace": "THE FIXED TEXT"}
    if result.located:
        culprit = result.located[0]
        text = tree.read(culprit.path) or ""
        lines = text.splitlines()
        line = lines[culprit.current_line - 1] if 0 < culprit.current_line <= len(lines) else ""
        edit = {"path": culprit.path, "search": line, "replace": line}
        notes.append(f"culprit: {culprit.path}:{culprit.current_line} in {culprit.frame.function}")
    else:
        notes.append("no frame of the trace maps to a file of the repository (try --path-prefix)")
    notes += [f"shown to the model: {path} lines {start}-{end}" for path, start, end in context.shown]
    notes.append(
        "fill in: 'replace' (the fixed code), 'search' if the fix is elsewhere (copied exactly from a file "
        "shown, unique in it), and the words; then run with --model replay:FILE"
    )
    tool_input = {
        "title": f"Fix {tb.final.type.rsplit('.', 1)[-1]} in {edit['path']}",
        "root_cause": "WHY THE EXCEPTION HAPPENS",
        "explanation": "WHAT THE EDIT CHANGES",
        "confidence": 0.5,
        "edits": [edit],
    }
    return {fp[:KEY_LENGTH]: converse_answer(fp, tool_input)}, notes


def answer_template(args: argparse.Namespace) -> int:
    """Print the answer template of ``args.answer_template`` (stdout) and what it is based on (stderr)."""
    if not args.logs or not args.repo:
        print("selfheal local: --answer-template needs --logs and --repo (the group's logs and code)", file=sys.stderr)
        return 2
    if not Path(args.repo).exists():
        print("selfheal local: --answer-template reads the code from a local clone: give its path as --repo",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        tracebacks, fingerprints = find_group([Path(p) for p in args.logs], args.answer_template)
    except (OSError, PayloadError) as exc:
        print(f"selfheal local: {exc}", file=sys.stderr)
        return 2
    if not tracebacks:
        which = (
            "matches several groups"
            if len(fingerprints) > 1 and any(fp.startswith(args.answer_template) for fp in fingerprints)
            else "matches no group of the logs"
        )
        shown = ", ".join(fp[:12] for fp in fingerprints[:10]) or "none"
        print(f"selfheal local: {args.answer_template!r} {which} (groups: {shown})", file=sys.stderr)
        return 2
    fp = fingerprint(tracebacks[0], DEFAULT_NAME)
    sample = next((tb for tb in tracebacks if not tb.truncated), tracebacks[0])
    doc, notes = template(sample, fp, _work_tree(args.repo), args.path_prefix)
    for note in notes:
        print(note, file=sys.stderr)
    print(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0
