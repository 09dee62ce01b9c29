"""Build localization cases from maintainers' commits whose message quotes a traceback.

A commit that fixes a crash often pastes the crash into its message. For a local git mirror of a
public repository, every non-merge commit whose message holds a traceback is considered:

1. the message's first traceback is read with selfheal's own reader (``read_tracebacks``); a
   traceback with no frame is left out. Library install prefixes (``…/site-packages/``,
   ``…/dist-packages/``) are rewritten as deployed under ``/var/task/``, as the code would run in
   a Lambda; other paths are kept as the reporter pasted them;
2. the **human fix** is the commit's diff on the repository's Python files outside tests
   (``test``/``tests``/``testing`` directories, ``test_*.py``, ``*_test.py``, ``conftest.py``), in
   the parent's numbering (a pure insertion counts as the line before it). A commit changing no
   such file, more than ``MAX_FIX_FILES`` of them, or more than ``MAX_FIX_LINES`` lines of them
   is left out (a refactor, not a fix one can attribute);
3. cherry-picks and repeated messages are kept once (same final exception line and frames).

The repository snapshot is the parent commit's Python files outside tests. It is **not stored**:
the case records the repository and the parent commit, and ``bench_localize.py`` reads the
snapshot from the mirror (``git archive``) when one is present (``LOCALIZE_MIRRORS``, default
``/work/.mirror``, holding ``<owner>+<name>/repo``); cases whose mirror is absent are skipped.

    python bench/localize_cases/build_git_cases.py /work/.mirror/pylint-dev+pylint/repo pylint-dev/pylint

No network; reads the mirror with ``git``. Cases are written to ``localize_cases/git/`` (the set the
code was developed on) or, with ``--into heldout``, to ``localize_cases/heldout/`` (built after the
code was frozen and measured once, never looked at while changing the code).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

MAX_FIX_FILES = 2
MAX_FIX_LINES = 60
TEST_DIRS = frozenset({"test", "tests", "testing", "unittests", "unit_tests"})
_SITE = re.compile(r'File "(?:[^"]*?[/\\])?(?:site|dist)-packages[/\\]')
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, errors="replace"
    ).stdout


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        any(p in TEST_DIRS for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def source_files(repo: Path, commit: str) -> list[str]:
    """The commit's Python files outside tests (the snapshot a case is localized in)."""
    names = git(repo, "ls-tree", "-r", "--name-only", commit).splitlines()
    return [n for n in names if n.endswith(".py") and not is_test_path(n)]


def fixed_ranges(repo: Path, parent: str, commit: str) -> list[dict[str, object]]:
    """The lines the commit changed in non-test Python files, in the parent's numbering."""
    diff = git(repo, "diff", "-U0", "--no-renames", parent, commit, "--", "*.py")
    fix: list[dict[str, object]] = []
    path = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            name = line[4:]
            path = name[2:] if name.startswith("a/") else None
            if path is not None and is_test_path(path):
                path = None
        elif path and (m := _HUNK.match(line)):
            start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
            first, last = (start, start + count - 1) if count else (max(start, 1), max(start, 1))
            fix.append({"path": path, "start": first, "end": last})
    return fix


def _deployed(match: re.Match[str]) -> str:
    return 'File "/var/task/'


def candidates(repo: Path) -> list[str]:
    out = git(
        repo, "log", "--all", "--no-merges", "--format=%H", "-i", "-E",
        "--grep=most recent call last|File \".*\", line [0-9]+",
    )  # fmt: skip
    return out.split()


def build(repo: Path, name: str, subdir: str = "git") -> list[str]:
    sys.path.insert(0, str(ROOT / "chalice_app"))
    from chalicelib.core.log_files import read_tracebacks

    out_dir = HERE / subdir
    out_dir.mkdir(exist_ok=True)
    written: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for commit in reversed(candidates(repo)):  # oldest first: the original, not its cherry-picks
        message = git(repo, "show", "-s", "--format=%B", commit)
        parents = git(repo, "show", "-s", "--format=%P", commit).split()
        if len(parents) != 1:
            continue
        trace_text = _SITE.sub(_deployed, message)
        found = read_tracebacks(trace_text.encode())
        if not found or not any(exc.frames for exc in found[0].exceptions):
            continue
        tb = found[0]
        key = (tb.final.type, tb.final.message, *(f.function for exc in tb.exceptions for f in exc.frames))
        if key in seen:
            continue
        fix = fixed_ranges(repo, parents[0], commit)
        files = {h["path"] for h in fix}
        size = sum(int(h["end"]) - int(h["start"]) + 1 for h in fix)
        if not fix or len(files) > MAX_FIX_FILES or size > MAX_FIX_LINES:
            print(f"  {commit[:10]}: fix of {len(files)} files / {size} lines, left out", file=sys.stderr)
            continue
        seen.add(key)
        case_id = f"{name.rsplit('/', maxsplit=1)[-1]}-{commit[:10]}"
        doc = {
            "id": case_id,
            "package": name.rsplit("/", maxsplit=1)[-1],
            "git": name,
            "commit": commit,
            "parent": parents[0],
            "exception": tb.final.type,
            "subject": message.splitlines()[0][:120] if message else "",
            "fix": fix,
            "trace": trace_text,
        }
        (out_dir / f"{case_id}.json").write_text(json.dumps(doc, indent=1) + "\n")
        written.append(case_id)
        print(f"  case {case_id}: {tb.final.type}, fix {sorted(files)}", file=sys.stderr)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mirror", type=Path, help="a git directory (a fetched mirror)")
    parser.add_argument("name", help="owner/name of the public repository")
    parser.add_argument("--into", default="git", help="the cases' directory under localize_cases/ (git, heldout)")
    args = parser.parse_args()
    build(args.mirror, args.name, args.into)


if __name__ == "__main__":
    main()
