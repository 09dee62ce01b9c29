"""Context selection on real code: prompt tokens of the selected context vs whole traced files.

Real exceptions are raised inside real open-source packages installed here (requests, GitPython,
botocore, hypothesis, PyGithub, Jinja2, PyYAML, urllib3, python-dateutil, the json module); each
package is treated as the repository and its frames as deployed under /var/task/. For every
traceback: tokens of the whole files of all traced frames (what the original guidance sent),
tokens of the selected context (raising functions, the definitions their lines use, callers, under
the default budget), and whether the line that raised is inside it.
Goal: <= 1/3 of the whole-file tokens with 100% of raising lines kept.

    python bench/bench_context.py
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chalice_app"))

from chalicelib.core.context import estimate_tokens, select_context  # noqa: E402
from chalicelib.core.localize import localize  # noqa: E402
from chalicelib.core.models import Frame, RaisedException  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable


def _requests() -> None:
    import requests

    requests.get("htp://example.invalid/x", timeout=1)


def _git() -> None:
    import git

    git.Repo("/nonexistent/selfheal/repo")


def _botocore() -> None:
    import boto3

    boto3.client("s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b").put_object(
        Bucket=1, Key="k"
    )


def _hypothesis() -> None:
    from hypothesis import strategies as st

    st.integers(5, 1).validate()


def _github() -> None:
    from github import Auth

    Auth.Token(123)  # type: ignore[arg-type]


def _jinja() -> None:
    import jinja2

    jinja2.Template("{% if %}")


def _yaml() -> None:
    import yaml

    yaml.safe_load("a: b: c")


def _urllib3() -> None:
    from urllib3.util import parse_url

    parse_url("http://[::1")


def _dateutil() -> None:
    from dateutil import parser

    parser.parse("not a date at all")


def _json() -> None:
    import json

    json.loads('{"a": }')


CASES: list[tuple[str, str, Callable[[], None]]] = [
    ("requests", "requests", _requests),
    ("GitPython", "git", _git),
    ("botocore", "botocore", _botocore),
    ("hypothesis", "hypothesis", _hypothesis),
    ("PyGithub", "github", _github),
    ("Jinja2", "jinja2", _jinja),
    ("PyYAML", "yaml", _yaml),
    ("urllib3", "urllib3", _urllib3),
    ("dateutil", "dateutil", _dateutil),
    ("json (stdlib)", "json", _json),
]


def run(package: str, trigger: Callable[[], None]) -> tuple[int, int, bool, int] | None:
    try:
        trigger()
    except Exception as exc:  # the real exception is what we measure on
        tb = traceback.extract_tb(exc.__traceback__)
    else:
        return None
    module = __import__(package)
    pkg_dir = Path(module.__file__).resolve().parent
    root = pkg_dir.parent
    repo_files = {str(p.relative_to(root)): p for p in pkg_dir.rglob("*.py")}
    frames = [
        Frame(f"/var/task/{Path(f.filename).resolve().relative_to(root)}", f.lineno, f.name, (f.line or "").strip())
        for f in tb
        if Path(f.filename).resolve().is_relative_to(pkg_dir)
    ]
    cache: dict[str, str | None] = {}

    def read(path: str) -> str | None:
        if path not in cache:
            p = repo_files.get(path)
            cache[path] = p.read_text(encoding="utf-8") if p else None
        return cache[path]

    found = localize((RaisedException("Error", "", tuple(frames)),), repo_files, read)
    located = found.located
    if not located:
        return None
    whole = sum(estimate_tokens(read(p) or "") for p in {loc.path for loc in located})
    context = select_context(located, read, definitions=found.definitions)
    raising = located[0]
    kept = context.covers(raising.path, raising.frame.line or 0)
    return whole, context.tokens, kept, len(located)


def main() -> None:
    print(f"{'package':<14} {'frames':>6} {'whole files':>12} {'context':>8} {'ratio':>6}  raising line kept")
    total_whole = total_ctx = kept_count = n = 0
    for name, package, trigger in CASES:
        result = run(package, trigger)
        if result is None:
            print(f"{name:<14} (no traceback in the package)")
            continue
        whole, ctx, kept, frames = result
        n += 1
        total_whole += whole
        total_ctx += ctx
        kept_count += kept
        print(f"{name:<14} {frames:>6} {whole:>12,} {ctx:>8,} {ctx / whole:>6.2f}  {'yes' if kept else 'NO'}")
    print(
        f"total: context {total_ctx:,} tokens vs whole files {total_whole:,} = {total_ctx / total_whole:.2f} "
        f"(goal <= 0.33); raising line kept in {kept_count}/{n} ({100 * kept_count / n:.0f}%, goal 100%)"
    )


if __name__ == "__main__":
    main()
