"""Build the localization bench's cases from real bugs fixed in patch releases of PyPI packages.

For a pair of consecutive releases (OLD, NEW) of a pure-Python package whose sdist ships its tests:

1. download both sdists (``pip download --no-deps --no-binary :all:``);
2. find the test functions NEW added or changed (``ast`` comparison of the test files);
3. run them with pytest against OLD's source: a test that fails there with an exception raised
   inside the package (not an assertion in the test) is a real bug, and its traceback (the whole
   chain, as CPython prints it) is the case's trace; the same test must pass against NEW;
4. attribute the human fix: the package files that differ between the releases are applied one at
   a time onto OLD until the test passes; then that file's hunks one at a time; the fix is the
   single hunk that makes the test pass, else the hunks of that file left after dropping, one at a
   time, each hunk the test still passes without (a 1-minimal set); when no single file makes
   it pass, the fix cannot be told from the rest of the release and the bug is left out.
   Fixed line ranges are in OLD's numbering (a pure insertion counts as the line before it).

Each case is stored as ``<id>.json`` (trace, fixed ranges, provenance); each OLD package snapshot
once as ``repos/<package>-<version>.tar.gz`` (its .py files and its licence). Paths in the trace
are rewritten as deployed under ``/var/task/``.

    python bench/localize_cases/build_cases.py astroid 3.3.4 3.3.5 astroid tests [--limit N]

Needs PyPI (pip) and pytest; runs the packages' own test code in subprocesses.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMPORT_ROOT = "."  # where the package is imported from, inside the sdist (``src`` layouts)
CACHE = Path(os.environ.get("LOCALIZE_CASES_CACHE", Path(tempfile.gettempdir()) / "localize-cases-cache"))
PLUGIN = """
import json, os, traceback, pytest
OUT = os.environ["CASES_OUT"]; TESTS = os.environ["CASES_TESTS"]
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.passed:
        with open(OUT, "a") as f:
            f.write(json.dumps({"nodeid": item.nodeid, "passed": True}) + "\\n")
    if rep.when == "call" and rep.failed and call.excinfo is not None:
        exc = call.excinfo.value
        tb = exc.__traceback__
        while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(TESTS):
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
        inner = traceback.extract_tb(exc.__traceback__)[-1].filename if exc.__traceback__ else ""
        with open(OUT, "a") as f:
            f.write(json.dumps({"nodeid": item.nodeid, "type": type(exc).__name__, "trace": text,
                                "inner": inner}) + "\\n")
"""


def sdist(package: str, version: str) -> Path:
    """The unpacked sdist root of ``package==version`` (cached)."""
    root = CACHE / f"{package}-{version}"
    if not root.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        dl = CACHE / "dl"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             f"{package}=={version}", "-d", str(dl)],
            check=True,
        )  # fmt: skip
        stems = {f"{package.lower()}-{version}.", f"{package.lower().replace('-', '_')}-{version}."}
        [archive] = [p for p in dl.iterdir() if any(p.name.lower().startswith(s) for s in stems)]
        with tarfile.open(archive) as tar:
            tar.extractall(CACHE / "x", filter="data")
        want = f"{package.lower()}-{version}"
        [unpacked] = [p for p in (CACHE / "x").iterdir() if p.name.lower().replace("_", "-") == want]
        unpacked.rename(root)
    return root


def _tests_of(path: Path) -> dict[str, str]:
    """test node name (``Class::test`` or ``test``) -> its source, for one test file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return {}
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            out[node.name] = ast.dump(node)
        elif isinstance(node, ast.ClassDef):
            for m in node.body:
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name.startswith("test"):
                    out[f"{node.name}::{m.name}"] = ast.dump(m)
    return out


def new_tests(old: Path, new: Path, tests: str) -> list[str]:
    """Node ids (relative to the tests dir) of tests NEW added or changed."""
    ids = []
    for path in sorted((new / tests).rglob("test*.py")):
        rel = path.relative_to(new / tests)
        before = _tests_of(old / tests / rel) if (old / tests / rel).exists() else {}
        ids += [f"{rel.as_posix()}::{n}" for n, src in _tests_of(path).items() if before.get(n) != src]
    return ids


def run_tests(src: Path, tests_copy: Path, ids: list[str]) -> list[dict]:
    """Failures of ``ids`` with ``src`` first on the import path."""
    return [r for r in _run(src, tests_copy, ids) if not r.get("passed")]


def passed(src: Path, tests_copy: Path, nodeid: str) -> bool:
    """Whether the test ran and passed (a collection or import error is no pass)."""
    return any(r.get("passed") for r in _run(src, tests_copy, [nodeid]))


def _run(src: Path, tests_copy: Path, ids: list[str]) -> list[dict]:
    out = tests_copy.parent / "failures.jsonl"
    out.unlink(missing_ok=True)
    (tests_copy.parent / "cases_plugin.py").write_text(PLUGIN)
    env = {
        **os.environ,
        "PYTHONPATH": f"{src}{os.pathsep}{tests_copy.parent}",
        "CASES_OUT": str(out),
        "CASES_TESTS": str(tests_copy),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x" if len(ids) == 1 else "-q", "-p", "cases_plugin",
         "-p", "no:cacheprovider", "--rootdir", str(tests_copy), *ids],
        check=False, cwd=tests_copy, env=env, capture_output=True, timeout=600,
    )  # fmt: skip
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def hunks(before: str, after: str) -> list[tuple[int, int, int, int]]:
    """difflib opcodes that change something: (i1, i2, j1, j2) in 0-based line indexes."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in ops if tag != "equal"]


def apply_hunks(before: str, after: str, chosen: list[tuple[int, int, int, int]]) -> str:
    """``before`` with only the ``chosen`` hunks of the diff to ``after`` applied."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    for i1, i2, j1, j2 in sorted(chosen, reverse=True):  # from the end: earlier indexes stay valid
        a = a[:i1] + b[j1:j2] + a[i2:]
    return "".join(a)


def old_range(h: tuple[int, int, int, int]) -> tuple[int, int]:
    """1-based inclusive OLD lines a hunk changes (an insertion: the line before it)."""
    i1, i2, _, _ = h
    return (i1 + 1, i2) if i2 > i1 else (max(i1, 1), max(i1, 1))


def passes_with(old: Path, pkg: str, files: dict[str, str], tests_copy: Path, nodeid: str, work: Path) -> bool:
    tree = work / "src"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(old / pkg, tree / pkg)
    for rel, text in files.items():
        (tree / rel).write_text(text, encoding="utf-8")
    return passed(tree / IMPORT_ROOT, tests_copy, nodeid)


def package_files(root: Path, pkg: str) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted((root / pkg).rglob("*.py"))
        if "test" not in p.relative_to(root / pkg).parts[:1]
    }


def snapshot(root: Path, package: str, version: str, pkg: str) -> str:
    """Store OLD's package .py files and licence once; returns the archive's name."""
    name = f"{package}-{version}.tar.gz"
    target = HERE / "repos" / name
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        with tarfile.open(target, "w:gz") as tar:
            for rel, text in package_files(root, pkg).items():
                data = text.encode()
                info = tarfile.TarInfo(rel)
                info.size, info.mtime = len(data), 0
                tar.addfile(info, io.BytesIO(data))
            for lic in sorted(root.glob("LICEN[CS]E*")) + sorted(root.glob("COPYING*")):
                data = lic.read_bytes()
                info = tarfile.TarInfo(lic.name)
                info.size, info.mtime = len(data), 0
                tar.addfile(info, io.BytesIO(data))
    return name


def build(package: str, old_v: str, new_v: str, pkg: str, tests: str, limit: int) -> list[str]:  # noqa: PLR0912, PLR0915
    old, new = sdist(package, old_v), sdist(package, new_v)
    work = Path(tempfile.mkdtemp(prefix="cases-"))
    tests_copy = work / "t" / tests
    shutil.copytree(new / tests, tests_copy)
    ids = new_tests(old, new, tests)
    print(f"{package} {old_v}->{new_v}: {len(ids)} new or changed test(s)", file=sys.stderr)
    if not ids:
        return []
    failures = run_tests(old / IMPORT_ROOT, tests_copy, ids)
    pkg_root = str(old / pkg)
    bugs = [f for f in failures if f["type"] not in ("AssertionError", "Failed") and f["inner"].startswith(pkg_root)]
    print(f"  {len(failures)} fail on {old_v}, {len(bugs)} raise inside {pkg}", file=sys.stderr)
    before, after = package_files(old, pkg), package_files(new, pkg)
    changed = [p for p in before if p in after and before[p] != after[p]]
    written = []
    for bug in bugs[:limit]:
        nodeid = bug["nodeid"]
        if not passed(new / IMPORT_ROOT, tests_copy, nodeid):
            print(f"  {nodeid}: does not pass on {new_v}, skipped", file=sys.stderr)
            continue
        fix: list[dict[str, object]] = []
        for path in changed:
            if passes_with(old, pkg, {path: after[path]}, tests_copy, nodeid, work):
                hs = hunks(before[path], after[path])

                def fixes(chosen: list[tuple[int, int, int, int]], path: str = path, nodeid: str = nodeid) -> bool:
                    text = apply_hunks(before[path], after[path], chosen)
                    return passes_with(old, pkg, {path: text}, tests_copy, nodeid, work)

                single = [h for h in hs if len(hs) > 1 and fixes([h])]
                needed = single[:1] or list(hs)
                if not single and len(hs) > 1:  # drop every hunk the test passes without (1-minimal)
                    for h in hs:
                        if len(needed) > 1 and fixes([k for k in needed if k != h]):
                            needed = [k for k in needed if k != h]
                for h in needed:
                    start, end = old_range(h)
                    fix.append({"path": path, "start": start, "end": end})
                break
        else:
            # no single file fixes it: the fix cannot be told from the rest of the release
            print(f"  {nodeid}: no single changed file fixes it, skipped", file=sys.stderr)
            continue
        if any(fix == json.loads((HERE / f"{w}.json").read_text())["fix"] for w in written):
            print(f"  {nodeid}: same fix as a case already kept, skipped", file=sys.stderr)
            continue
        trace = bug["trace"].replace(str(old) + "/", "/var/task/").replace(str(tests_copy) + "/", "/var/task/tests/")
        case_id = f"{package}-{new_v}-" + re.sub(r"[^A-Za-z0-9_.-]", "_", nodeid.split("::")[-1])[:60]
        doc = {
            "id": case_id,
            "package": package,
            "old": old_v,
            "new": new_v,
            "test": nodeid,
            "exception": bug["type"],
            "repo": snapshot(old, package, old_v, pkg),
            "fix": fix,
            "trace": trace,
        }
        (HERE / f"{case_id}.json").write_text(json.dumps(doc, indent=1) + "\n")
        written.append(case_id)
        print(f"  case {case_id}: fix {fix}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("package")
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("pkg", help="the import package's directory in the sdist")
    parser.add_argument("tests", help="the tests directory in the sdist")
    parser.add_argument("--limit", type=int, default=3, help="cases kept per release pair")
    parser.add_argument("--import-root", default=".", help="import path inside the sdist (src for src layouts)")
    args = parser.parse_args()
    global IMPORT_ROOT  # noqa: PLW0603 - one run, one layout
    IMPORT_ROOT = args.import_root
    build(args.package, args.old, args.new, args.pkg, args.tests, args.limit)


if __name__ == "__main__":
    main()
