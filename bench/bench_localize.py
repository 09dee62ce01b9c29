"""Localization on real bugs: does the code shown to the model hold the lines the human fix changed?

Two kinds of cases. Commit cases (``localize_cases/commits.txt``, listed by
``build_git_cases.py``) are maintainers' commits quoting the crash they fix, read from a fetched
mirror of the repository at bench time (trace from the message, gold from the diff; see that
script). Release cases (``bench/localize_cases/*.json``, built by ``bench/localize_cases/build_cases.py``) are
real bugs of PyPI packages (astroid, pyflakes, sqlparse, pyparsing): a regression test added by a
patch release, run against the previous release, raised an exception inside the package; the
trace is that exception's (whole chain, as CPython prints it, paths as deployed under
``/var/task/``); the human fix is the part of the release diff that makes the test pass
(attributed by applying files, then hunks, onto the old release). The repository is the old
release's package source (``localize_cases/repos/``, tests left out).

For each case and each strategy, with the fixed lines in the old release's numbering:

- **file**: share of the files the fix changed that the context shows (any line of them);
- **function**: share of the fix's hunks whose enclosing function (or class; the hunk itself at
  module level) the context shows entirely;
- **line**: share of the fixed lines the context shows;
- **tokens**: the context's estimated tokens (about four characters a token, with line numbers).

Strategies: ``whole files`` (every repository file of an in-app frame of the chain, whole: the
original guidance's prompt) and ``selfheal`` (the localization and context selection of the code
imported, ``--code DIR`` pointing at a ``chalice_app`` directory; an older checkout without
``localize()`` is run the way it ran: the final exception's frames, default budget).

    python bench/bench_localize.py [--code OTHER/chalice_app] [--budget 6000] [--cases]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import weakref
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "bench" / "localize_cases"
MIRRORS = Path(os.environ.get("LOCALIZE_MIRRORS", "/work/.mirror"))


class Repo:
    """An old release's package snapshot (a stored archive, or a parent commit of a git mirror), unpacked once."""

    def __init__(
        self, archive: Path | None = None, git: tuple[Path, str] | None = None, recent: int = 0, tests: bool = False
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-localize-"))
        # removed when the snapshot is collected or the run ends: a run unpacks a tree per case
        weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)
        self.changes: list[object] = []  # what the ``recent`` first-parent commits before a git snapshot changed
        if git is not None:
            from build_git_cases import source_files

            mirror, commit = git
            files = source_files(mirror, commit, tests=tests)
            data = subprocess.run(
                ["git", "-C", str(mirror), "archive", "--format=tar", commit, "--", *files],
                check=True, capture_output=True,
            ).stdout  # fmt: skip
            archive_file = io.BytesIO(data)
            with tarfile.open(fileobj=archive_file) as tar:
                tar.extractall(self.root, filter="data")
            if recent:
                self.changes = _recent_changes(mirror, commit, recent)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(self.root, filter="data")
        self.paths = sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*.py"))
        self._cache: dict[str, str | None] = {}

    def read(self, path: str) -> str | None:
        """A file's text, or None when it is absent or not UTF-8 (as the repository adapters read)."""
        if path not in self._cache:
            p = self.root / path
            try:
                self._cache[path] = p.read_text(encoding="utf-8") if p.is_file() else None
            except UnicodeDecodeError:
                self._cache[path] = None
        return self._cache[path]


def _recent_changes(mirror: Path, commit: str, commits: int) -> list[object]:
    """What git mode reads (``adapters/git_repo.recent_changes``, the same diff), ``commits`` back
    from ``commit``; nothing for a measured checkout older than it."""
    try:
        import git

        from chalicelib.adapters.git_repo import recent_changes
    except ImportError:
        return []
    with git.Repo(mirror) as repo:
        repo.git.update_environment(GIT_DIR=str(mirror))  # a mirror has no config: git would not know it bare
        return list(recent_changes(repo, commit, commits=commits))


def _shown(ranges: list[tuple[str, int, int]], path: str, line: int) -> bool:
    return any(p == path and s <= line <= e for p, s, e in ranges)


def score(case: dict, repo: Repo, ranges: list[tuple[str, int, int]], enclosing) -> tuple[float, float, float, float]:  # noqa: ANN001
    """(file, function, line, hunk) coverage of the case's fix by the shown ``ranges``."""
    fix = case["fix"]
    files = sorted({h["path"] for h in fix})
    shown_files = {p for p, _, _ in ranges}
    file_cov = sum(f in shown_files for f in files) / len(files)
    fn_hits = 0
    lines = [(h["path"], n) for h in fix for n in range(h["start"], h["end"] + 1)]
    for h in fix:
        text = repo.read(h["path"]) or ""
        span = enclosing(text, h["start"]) or (h["start"], h["end"])
        fn_hits += all(_shown(ranges, h["path"], n) for n in range(span[0], span[1] + 1))
    line_cov = sum(_shown(ranges, p, n) for p, n in lines) / len(lines)
    hunk_cov = sum(all(_shown(ranges, h["path"], n) for n in range(h["start"], h["end"] + 1)) for h in fix) / len(fix)
    return file_cov, fn_hits / len(fix), line_cov, hunk_cov


def classify(case: dict, repo: Repo, ranges, enclosing, located: list[str], searched: set[str]) -> list[str]:  # noqa: ANN001
    """Why each hunk of the fix whose function is not shown entirely was missed."""
    out = []
    shown_files = {p for p, _, _ in ranges}
    for h in case["fix"]:
        text = repo.read(h["path"]) or ""
        span = enclosing(text, h["start"]) or (h["start"], h["end"])
        if all(_shown(ranges, h["path"], n) for n in range(span[0], span[1] + 1)):
            continue
        if h["path"] not in shown_files:
            out.append("file never reached (not in the trace, not found by search)")
        elif h["path"] not in located:
            out.append("file found by search, the hunk's function not shown")
        elif any(_shown(ranges, h["path"], n) for n in range(h["start"], h["end"] + 1)):
            out.append("file traced, the hunk shown but not its whole function")
        else:
            out.append("file traced, the hunk's function not shown")
    return sorted(set(out))


def main() -> None:  # noqa: C901, PLR0912, PLR0915 - one report
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", default=str(ROOT / "chalice_app"), help="the chalice_app directory to measure")
    parser.add_argument("--budget", type=int, default=6_000, help="context token budget (new code)")
    parser.add_argument("--cases", action="store_true", help="one line per case")
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    parser.add_argument("--no-search", action="store_true", help="leave the ranked search out (what it adds)")
    parser.add_argument(
        "--recent",
        type=int,
        default=5,
        help="commit sets: first-parent commits before the fix's parent read as recent changes (0: none)",
    )
    parser.add_argument(
        "--as-pasted", action="store_true", help="commit sets: keep the install paths the reporter pasted"
    )
    parser.add_argument(
        "--with-tests",
        action="store_true",
        help="commit sets: the snapshot holds the repository's test files too (the fix is still scored outside them)",
    )
    parser.add_argument(
        "--only",
        choices=(
            "pypi",
            "git",
            "heldout",
            "heldout2",
            "heldout3",
            "heldout4",
            "heldout5",
            "heldout6",
            "heldout7",
            "ipython",
            "pytest",
        ),
        help="only the release cases, or one commit set",
    )
    args = parser.parse_args()
    sys.path.insert(0, args.code)
    from chalicelib.core import localize as loc_mod
    from chalicelib.core.context import Snippet, enclosing_range, estimate_tokens, select_context
    from chalicelib.core.frames import is_in_app
    from chalicelib.core.log_files import read_tracebacks

    new_api = hasattr(loc_mod, "localize")
    installed = getattr(loc_mod, "runs_installed_copy", lambda *_: False)  # older code: none
    repos: dict[str, Repo] = {}  # the release snapshots, each unpacked once
    git_key, git_repo = "", None  # one git snapshot on disk at a time: cases rarely share a parent
    rows = []
    skipped = []
    sys.path.insert(0, str(CASES))
    from build_git_cases import case_of, listed

    chosen = [args.only] if args.only else ["pypi", "git"]
    sources: list[object] = sorted(CASES.glob("*.json")) if "pypi" in chosen else []
    sources += [row for row in listed() if row[0] in chosen]
    for source in sources:
        if isinstance(source, Path):
            case = json.loads(source.read_text())
            if case["repo"] not in repos:
                repos[case["repo"]] = Repo(CASES / "repos" / case["repo"])
            repo = repos[case["repo"]]
        else:
            _, name, commit = source
            mirror = MIRRORS / name.replace("/", "+") / "repo"
            if not mirror.is_dir():
                skipped.append(f"{name}@{commit[:10]}")
                continue
            case, _why = case_of(mirror, name, commit, deployed=not args.as_pasted)
            if case is None:
                skipped.append(f"{name}@{commit[:10]}")
                continue
            key = f"{name}@{case['parent']}"
            if key != git_key:
                git_repo = None  # the last snapshot's tree is removed before the next is unpacked
                git_key, git_repo = key, Repo(git=(mirror, case["parent"]), recent=args.recent, tests=args.with_tests)
            repo = git_repo
        case.setdefault("new", case.get("commit", "")[:10])
        if hasattr(loc_mod, "read_pasted"):
            found_tbs = loc_mod.read_pasted(case["trace"].encode())
        else:
            found_tbs = read_tracebacks(case["trace"].encode())
            if hasattr(loc_mod, "rejoin"):
                found_tbs = loc_mod.rejoin(found_tbs)
        # the report's traceback through the repository's code (the first, for code that does not
        # choose); no chain when the code measured cannot read the trace's form
        chosen = loc_mod.primary(found_tbs, repo.paths, repo.read) if hasattr(loc_mod, "primary") else None
        chain = (chosen or found_tbs[0]).exceptions if found_tbs else ()
        index = loc_mod.RepoIndex(repo.paths)
        # whole files: every repository file an in-app frame of the chain maps to (or a frame of
        # the repository's own package installed as a library, where the code reads it so)
        traced: dict[str, None] = {}
        for exc in chain:
            for f in exc.frames:
                cands = index.candidates(f.file)
                if len(cands) == 1 and (is_in_app(f.file) or installed(f, cands[0], repo.read)):
                    traced.setdefault(cands[0])
        whole = [(p, 1, len((repo.read(p) or "").splitlines())) for p in traced]
        whole_tokens = sum(
            estimate_tokens(Snippet(p, 1, e, tuple((repo.read(p) or "").splitlines()), frozenset(), True).render())
            for p, _, e in whole
        )
        if new_api:
            kwargs: dict[str, object] = {"retrieve": False} if args.no_search else {}
            if repo.changes:
                kwargs["changes"] = repo.changes
            found = loc_mod.localize(chain, repo.paths, repo.read, **kwargs)
            ctx = select_context(
                found.located, repo.read, args.budget, definitions=found.definitions, extra=found.extra
            )
            located = [loc.path for loc in found.located]
        else:
            old_located = loc_mod.locate(chain[-1].frames if chain else (), index, repo.read)
            ctx = select_context(old_located, repo.read)
            located = [loc.path for loc in old_located]
        ranges = [(s.path, s.start, s.end) for s in ctx.snippets]
        searched = {s.path for s in ctx.snippets if getattr(s, "found_by", "trace") == "search"}
        rows.append(
            {
                "miss": classify(case, repo, ranges, enclosing_range, located, searched),
                "ratio": ctx.tokens / whole_tokens if whole_tokens else None,
                "id": case["id"],
                "release": f"{case['package']}-{case['new']}",
                "whole": (*score(case, repo, whole, enclosing_range), whole_tokens),
                "selfheal": (*score(case, repo, ranges, enclosing_range), ctx.tokens),
                "fix_file_located": any(h["path"] in located for h in case["fix"]),
                "fix_file_first": bool(located) and located[0] in {h["path"] for h in case["fix"]},
            }
        )
    if skipped:
        print(f"skipped {len(skipped)} listed commit case(s): no mirror in {MIRRORS}, or no case", file=sys.stderr)
    if not rows:
        print("no cases")
        return
    if args.cases:
        print(f"{'case':<62} {'whole f/fn/ln':>15} {'tok':>7}   {'selfheal f/fn/ln/hunk':>20} {'tok':>6}")
        for r in rows:
            w, s = r["whole"], r["selfheal"]
            print(
                f"{r['id'][:62]:<62} {w[0]:.1f}/{w[1]:.1f}/{w[2]:.2f} {w[4]:>7,}   "
                f"{s[0]:.1f}/{s[1]:.1f}/{s[2]:.2f}/{s[3]:.1f} {s[4]:>6,}"
            )
    totals = {}
    for name in ("whole", "selfheal"):
        cols = list(zip(*(r[name] for r in rows), strict=True))
        totals[name] = {
            "file": statistics.mean(cols[0]),
            "function": statistics.mean(cols[1]),
            "line": statistics.mean(cols[2]),
            "hunk": statistics.mean(cols[3]),
            "all_lines": sum(v == 1 for v in cols[2]) / len(rows),
            "tokens_median": statistics.median(cols[4]),
            "tokens_mean": statistics.mean(cols[4]),
        }
    totals["selfheal"]["fix_file_located"] = sum(r["fix_file_located"] for r in rows) / len(rows)
    totals["selfheal"]["fix_file_first"] = sum(r["fix_file_first"] for r in rows) / len(rows)
    code = "localize() (whole chain + definitions)" if new_api else "locate() (final exception)"
    if args.json:
        ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
        totals["selfheal"]["ratio_median"] = statistics.median(ratios) if ratios else None
        print(json.dumps({"cases": len(rows), "code": code, **totals}, indent=2))
        return
    releases = {r["release"] for r in rows}
    packages = {r.rsplit("-", 1)[0] for r in releases}
    print(f"{len(rows)} cases, {len(releases)} releases, {len(packages)} packages; selfheal = {code}")
    print(
        f"{'strategy':<12} {'file':>6} {'function':>9} {'line':>6} {'hunk':>6} {'all lines':>10}"
        f" {'tokens (median / mean)':>24}"
    )
    for name in ("whole", "selfheal"):
        t = totals[name]
        print(
            f"{'whole files' if name == 'whole' else 'selfheal':<12} {t['file']:>6.0%} {t['function']:>9.0%} "
            f"{t['line']:>6.0%} {t['hunk']:>6.0%} {t['all_lines']:>10.0%}"
            f" {t['tokens_median']:>11,.0f} / {t['tokens_mean']:>9,.0f}"
        )
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    if ratios:
        print(f"context / whole traced files, per case: median {statistics.median(ratios):.2f}")
    misses: dict[str, int] = {}
    for r in rows:
        for m in r["miss"]:
            misses[m] = misses.get(m, 0) + 1
    for m, count in sorted(misses.items(), key=lambda p: -p[1]):
        print(f"  missed: {m}: {count} case(s)")
    if args.cases:
        for r in rows:
            if r["miss"]:
                print(f"    {r['id']}: {'; '.join(r['miss'])}")
    t = totals["selfheal"]
    print(f"fixed file among the located frames: {t['fix_file_located']:.0%}; located first: {t['fix_file_first']:.0%}")


if __name__ == "__main__":
    main()
