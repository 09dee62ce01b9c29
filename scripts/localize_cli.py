"""`selfheal localize`: what the fixer would locate and show the model for one traceback, offline.

``localize TRACE_FILE --repo DIR --json [--path-prefix P]... [--budget TOKENS]`` (**contract**) reads
one traceback (any form ``inspect`` reads; of several, the first through the repository's code,
``localize.primary``) and a repository work tree, and prints
``{"located": [{"path", "line", "function"}], "context": [{"path", "start", "end", "found_by"}], "tokens"}``:
the repository files the frames of the whole chain map to, best evidence first, with the line
where that code is today (re-found when the file moved on); and the line ranges (1-based,
inclusive) the model would be shown, each ``found_by`` ``trace`` or ``search`` (a ranked search of
the repository, no frame pointing there; in a git work tree it ranks what the latest commits
changed first), with their estimated tokens. No AWS or model call is made.
Exit status 1 when the file holds no traceback or cannot be read.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.core.context import select_context
from chalicelib.core.localize import DEFAULT_PREFIXES, localize, primary, read_pasted
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from chalicelib.core.changes import Changed

# Directories of a work tree that are never the repository's own code.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"})
MAX_READ_BYTES = 2_000_000
DEFAULT_BUDGET = 6_000  # FixSettings.context_tokens


class WorkTree:
    """A repository work tree read from disk: regular files only (never through a symlink)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, str | None] = {}

    def paths(self) -> Iterator[str]:
        for top, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not Path(top, d).is_symlink())
            for name in sorted(files):
                full = Path(top, name)
                if full.is_file() and not full.is_symlink():
                    yield full.relative_to(self.root).as_posix()

    def changes(self) -> list[Changed]:
        """What the latest commits changed, as lines of the work tree's files (uncommitted edits of
        tracked files too), when the directory is a git work tree; else nothing."""
        if not (self.root / ".git").exists():
            return []
        try:
            import git

            from chalicelib.adapters.git_repo import recent_changes
        except ImportError:  # GitPython finds no git binary: the search goes on without them
            return []
        try:
            with git.Repo(self.root) as repo:
                return recent_changes(repo, work_tree=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return []

    def read(self, path: str) -> str | None:
        if path not in self._cache:
            full = self.root / path
            text: str | None = None
            try:
                if full.is_file() and not full.is_symlink() and full.stat().st_size <= MAX_READ_BYTES:
                    text = full.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = None
            self._cache[path] = text
        return self._cache[path]


def run(trace: bytes, repo: Path, prefixes: list[str], budget: int = DEFAULT_BUDGET) -> dict[str, object] | None:
    """The contract document for the traceback of ``trace`` that runs the repository's code, outside
    its tests first (the first when none does, ``localize.primary``); None when there is none."""
    found = read_pasted(trace)
    if not found:
        return None
    tree = WorkTree(repo)
    paths = list(tree.paths())
    prefixes = [*prefixes, *DEFAULT_PREFIXES]
    chosen = primary(found, paths, tree.read, prefixes) or found[0]
    result = localize(chosen.exceptions, paths, tree.read, prefixes, changes=tree.changes())
    context = select_context(result.located, tree.read, budget, definitions=result.definitions, extra=result.extra)
    return {
        "located": [
            {"path": loc.path, "line": loc.current_line, "function": loc.frame.function} for loc in result.located
        ],
        "context": [{"path": s.path, "start": s.start, "end": s.end, "found_by": s.found_by} for s in context.snippets],
        "tokens": context.tokens,
    }


def cmd_localize(args: argparse.Namespace) -> int:
    try:
        data = Path(args.trace_file).read_bytes()
        doc = run(data, Path(args.repo), args.path_prefix, args.budget)
    except (OSError, PayloadError) as exc:
        print(f"selfheal localize: {args.trace_file}: {exc}", file=sys.stderr)
        return 1
    if doc is None:
        print(f"selfheal localize: {args.trace_file}: no traceback found", file=sys.stderr)
        return 1
    if args.json:
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    print(f"located ({len(doc['located'])}):")  # type: ignore[arg-type]
    for loc in doc["located"]:  # type: ignore[attr-defined]
        print(f"  {loc['path']}:{loc['line']} in {loc['function']}")
    print(f"context ({doc['tokens']} tokens):")
    for c in doc["context"]:  # type: ignore[attr-defined]
        found = " (found by search, not in the trace)" if c["found_by"] == "search" else ""
        print(f"  {c['path']} lines {c['start']}-{c['end']}{found}")
    return 0
