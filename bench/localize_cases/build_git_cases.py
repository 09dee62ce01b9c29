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

Nothing fetched is stored: the commits that give a case are listed in ``commits.txt`` as
``<set> <owner/name> <commit>``, and ``bench_localize.py`` derives each case (trace, fix, and the
parent commit's Python files outside tests as the snapshot) from the mirror at every run
(``LOCALIZE_MIRRORS``, default ``/work/.mirror``, holding ``<owner>+<name>/repo``); listed cases
whose mirror is absent are skipped.

    python bench/localize_cases/build_git_cases.py /work/.mirror/pylint-dev+pylint/repo pylint-dev/pylint

No network; reads the mirror with ``git``. Cases are listed in the ``git`` set (the one the code was
developed on) or, with ``--into heldout``, ``heldout2``, ``heldout3``, ``heldout4``, ``heldout5``,
``heldout6`` or ``heldout7``, a held-out set
(built before the code it measures was written, its cases never looked at while changing the code).
``--max N`` keeps a repository's first ``N`` cases in the builder's order (oldest commit first), so
that no single repository dominates a set.
"""

from __future__ import annotations

import argparse
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


def source_files(repo: Path, commit: str, tests: bool = False) -> list[str]:
    """The commit's Python files outside tests (the snapshot a case is localized in); with
    ``tests``, its test files too."""
    names = git(repo, "ls-tree", "-r", "--name-only", commit).splitlines()
    return [n for n in names if n.endswith(".py") and (tests or not is_test_path(n))]


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


def candidates(repo: Path, form: str | None = None) -> list[str]:
    """The commits whose message may quote a traceback; with ``form="pytest"``, also pytest's
    ``FILE:LINE: in FUNCTION`` entries (which name no ``Traceback``)."""
    pattern = 'most recent call last|File ".*", line [0-9]+'
    if form == "pytest":
        pattern += "|\\.py:[0-9]+: in [A-Za-z_<]"
    out = git(repo, "log", "--all", "--no-merges", "--format=%H", "-i", "-E", f"--grep={pattern}")
    return out.split()


COMMITS = HERE / "commits.txt"  # "<set> <owner/name> <commit>" per line: the cases, by reference


def case_of(repo: Path, name: str, commit: str, deployed: bool = True) -> tuple[dict | None, str]:
    """The case a commit gives, read from the mirror (None and the reason when it gives none);
    ``deployed=False`` keeps the install paths as the reporter pasted them."""
    sys.path.insert(0, str(ROOT / "chalice_app"))
    from chalicelib.core.log_files import read_tracebacks

    try:
        from chalicelib.core.ipython_tb import find_ipython
        from chalicelib.core.pytest_tb import find_pytest
    except ImportError:  # an older checkout measured with --code reads CPython's form only
        find_ipython = find_pytest = None

    message = git(repo, "show", "-s", "--format=%B", commit)
    parents = git(repo, "show", "-s", "--format=%P", commit).split()
    if len(parents) != 1:
        return None, "a merge"
    trace_text = _SITE.sub(_deployed, message) if deployed else message
    found = read_tracebacks(trace_text.encode())
    if not any(exc.frames for tb in found for exc in tb.exceptions) and find_ipython is not None:
        # what IPython or Jupyter printed (``----> 1 f(0)``), or pytest's report (``mod.py:12: in f``)
        found = find_ipython(trace_text) or find_pytest(trace_text)
    if not found or not any(exc.frames for exc in found[0].exceptions):
        return None, "no traceback with frames"
    tb = found[0]
    fix = fixed_ranges(repo, parents[0], commit)
    files = {h["path"] for h in fix}
    size = sum(int(h["end"]) - int(h["start"]) + 1 for h in fix)
    if not fix or len(files) > MAX_FIX_FILES or size > MAX_FIX_LINES:
        return None, f"fix of {len(files)} files / {size} lines"
    short = name.rsplit("/", maxsplit=1)[-1]
    return {
        "form": found[0].form,
        "id": f"{short}-{commit[:10]}",
        "package": short,
        "git": name,
        "commit": commit,
        "parent": parents[0],
        "exception": tb.final.type,
        "key": [tb.final.type, tb.final.message, *(f.function or "" for exc in tb.exceptions for f in exc.frames)],
        "fix": fix,
        "trace": trace_text,
    }, ""


def listed(which: str | None = None, commits: Path = COMMITS) -> list[tuple[str, str, str]]:
    """(set, owner/name, commit) of the listed cases, of one set or all."""
    if not commits.exists():
        return []
    rows = [tuple(line.split()) for line in commits.read_text().splitlines() if line.strip()]
    return [(a, b, c) for a, b, c in rows if which in (None, a)]


def build(  # noqa: PLR0913 - the builder's options
    repo: Path,
    name: str,
    subdir: str = "git",
    most: int | None = None,
    commits: Path = COMMITS,
    form: str | None = None,
) -> list[str]:
    """List the commits of ``repo`` that give a case (oldest first: the original, not its
    cherry-picks; the first ``most`` of them when given) in ``commits``; the list replaces the
    repository's earlier lines of that set. With ``form`` (``ipython``, ``pytest``), only the cases whose
    trace is printed in that form and listed in no other set."""
    kept: list[str] = []
    seen: set[tuple[str, ...]] = set()
    elsewhere = {c for s, _, c in listed(None, commits) if s != subdir}
    for commit in reversed(candidates(repo, form)):
        if most is not None and len(kept) >= most:
            break
        case, why = case_of(repo, name, commit)
        if case is None:
            print(f"  {commit[:10]}: {why}, left out", file=sys.stderr)
            continue
        if form is not None and (case["form"] != form or commit in elsewhere):
            continue
        if tuple(case["key"]) in seen:
            continue
        seen.add(tuple(case["key"]))
        kept.append(commit)
        print(
            f"  case {case['id']}: {case['exception']}, fix {sorted({h['path'] for h in case['fix']})}", file=sys.stderr
        )
    others = [r for r in listed(None, commits) if not (r[0] == subdir and r[1] == name)]
    rows = others + [(subdir, name, c) for c in kept]
    commits.write_text("".join(f"{a} {b} {c}\n" for a, b, c in rows))
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mirror", type=Path, help="a git directory (a fetched mirror)")
    parser.add_argument("name", help="owner/name of the public repository")
    parser.add_argument(
        "--into",
        default="git",
        help="the set the cases are listed in (git, heldout, heldout2, ..., heldout7)",
    )
    parser.add_argument("--max", type=int, default=None, help="keep at most this many cases of the repository")
    parser.add_argument("--form", help="only traces printed in this form (ipython, pytest), listed in no other set")
    args = parser.parse_args()
    build(args.mirror, args.name, args.into, args.max, form=args.form)


if __name__ == "__main__":
    main()
