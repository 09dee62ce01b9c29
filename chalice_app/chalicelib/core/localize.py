"""Map traceback frames to files of the repository.

A deployed path (``/var/task/app/orders.py``, ``/srv/app/src/orders/worker.py``) is matched to
the repository path that shares the longest suffix of path components with it, after configured
prefixes are stripped. When several files share that suffix (two ``handlers.py``), the one whose
line holds the frame's source text wins; when none or several do, the frame is left unmapped
rather than guessed by basename.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core.fingerprint import is_in_app

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from chalicelib.core.models import Frame

DEFAULT_PREFIXES = ("/var/task/", "/opt/python/", "/app/", "/usr/src/app/", "/srv/app/", "/workspace/")


@dataclass(frozen=True)
class Located:
    """A frame and the repository file it runs."""

    frame: Frame
    path: str


def _components(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p and p != "."]


class RepoIndex:
    """The repository's file paths, indexed by file name for suffix matching."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._by_name: dict[str, list[list[str]]] = defaultdict(list)
        for path in paths:
            parts = _components(path)
            if parts:
                self._by_name[parts[-1]].append(parts)

    def candidates(self, file: str, prefixes: Sequence[str] = DEFAULT_PREFIXES) -> list[str]:
        """Repository paths sharing the longest component suffix with ``file`` (at least the name)."""
        normalized = file.replace("\\", "/")
        for prefix in prefixes:
            if normalized.startswith(prefix):
                normalized = normalized[len(prefix) :]
                break
        parts = _components(normalized)
        if not parts:
            return []
        best, best_len = [], 0
        for candidate in self._by_name.get(parts[-1], []):
            n = 0
            while n < min(len(parts), len(candidate)) and parts[-1 - n] == candidate[-1 - n]:
                n += 1
            if n > best_len:
                best, best_len = [candidate], n
            elif n == best_len:
                best.append(candidate)
        return ["/".join(c) for c in best]


def _holds_source(read: Callable[[str], str | None], path: str, frame: Frame, slack: int = 3) -> bool:
    text = read(path)
    if text is None or not frame.source:
        return False
    lines = text.splitlines()
    line = (frame.line or 1) - 1
    window = lines[max(0, line - slack) : line + slack + 1] if frame.line else lines
    return any(ln.strip() == frame.source.strip() for ln in window)


def locate(
    frames: Sequence[Frame],
    index: RepoIndex,
    read: Callable[[str], str | None],
    prefixes: Sequence[str] = DEFAULT_PREFIXES,
) -> list[Located]:
    """The in-app frames that map to one repository file, innermost (the raising frame) first."""
    located: list[Located] = []
    for frame in reversed(frames):
        if not is_in_app(frame.file):
            continue
        candidates = index.candidates(frame.file, prefixes)
        if len(candidates) > 1:
            # Ambiguous by path: decide by the code on the line, never by name alone.
            candidates = [c for c in candidates if _holds_source(read, c, frame)]
        if len(candidates) == 1:
            located.append(Located(frame, candidates[0]))
    return located
