"""Fixability on labelled real tracebacks: the confusion of core/fixability.py's classes.

Cases: ``tests/samples/fixability/<class>__<name>.log`` (real-shaped traces of each class, labelled
by their file name), the shared corpus's ``samples/tracebacks`` (bugs of the service's own code:
every one is ``code``) and ``samples/real`` (published tracebacks; labels below).

    python bench/bench_fixability.py [--shared ../shared] [--cases]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chalice_app"))

from chalicelib.core.fixability import KINDS, classify  # noqa: E402
from chalicelib.core.log_files import read_tracebacks  # noqa: E402

TABLE = ROOT / "tests" / "samples" / "fixability"
# samples/real: a dependency's 500 (027, 028), a wrapped ConnectionError (068), the Lambda
# runtime's import error with no frame (026); the rest are bugs of the code shown.
REAL_LABELS = {"026.txt": "library", "027.txt": "environment", "028.txt": "environment", "068.txt": "environment"}


def table_cases() -> list[tuple[str, str, bytes]]:
    """(name, expected class, trace bytes) of the project's labelled table."""
    return [(p.name, p.name.split("__", 1)[0], p.read_bytes()) for p in sorted(TABLE.glob("*.log"))]


def shared_cases(shared: Path) -> list[tuple[str, str, bytes]]:
    """The shared corpus's tracebacks with their class ('' for a corpus that is absent)."""
    out: list[tuple[str, str, bytes]] = []
    for sub in ("tracebacks", "real"):
        corpus = shared / "samples" / sub / "corpus.jsonl"
        if not corpus.exists():
            continue
        for line in corpus.read_text().splitlines():
            row = json.loads(line) if line.strip() else {}
            if not row or row.get("negative"):
                continue
            label = REAL_LABELS.get(row["file"], "code") if sub == "real" else "code"
            out.append((f"{sub}/{row['file']}", label, (shared / "samples" / sub / row["file"]).read_bytes()))
    return out


def confusion(cases: list[tuple[str, str, bytes]]) -> tuple[Counter[tuple[str, str]], list[str]]:
    """(expected, got) counts and the names of the misclassified cases."""
    counts: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []
    for name, expected, data in cases:
        found = read_tracebacks(data)
        got = classify(found[0].exceptions).kind if found else "unparsed"
        counts[(expected, got)] += 1
        if got != expected:
            wrong.append(f"{name}: expected {expected}, got {got}")
    return counts, wrong


def render(title: str, counts: Counter[tuple[str, str]]) -> str:
    """The confusion matrix as text (rows: the label, columns: the class found)."""
    cols = [*KINDS, "unparsed"]
    rows = [title, f"{'label/found':<14}" + "".join(f"{c:>13}" for c in cols)]
    for kind in KINDS:
        rows.append(f"{kind:<14}" + "".join(f"{counts[(kind, c)]:>13}" for c in cols))
    total = sum(counts.values())
    right = sum(n for (e, g), n in counts.items() if e == g)
    rows.append(f"accuracy {right}/{total}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("SELFHEAL_SHARED", ROOT.parent / "shared")))
    parser.add_argument("--cases", action="store_true", help="list the misclassified cases")
    args = parser.parse_args(argv)
    runs = (("table (tests/samples/fixability)", table_cases()), ("shared samples", shared_cases(args.shared)))
    for title, cases in runs:
        counts, wrong = confusion(cases)
        print(render(f"{title}: {len(cases)} cases", counts))
        if args.cases:
            print("\n".join(wrong) or "(none misclassified)")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
