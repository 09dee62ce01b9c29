"""`selfheal localize` (contract): located frames and the ranges shown, from outside, offline."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

from tests.cli import run_cli, run_script
from tests.conftest import ROOT
from tests.fix_fixtures import NONE_DISCOUNT_TRACE

if TYPE_CHECKING:
    import subprocess

SCRIPT = ROOT / "scripts" / "selfheal.py"
SAMPLE = ROOT / "scripts" / "sample_app"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """In this process (tests/cli.py); the contract-shape test runs the script in its own."""
    return run_cli(*args)


def test_json_output_has_exactly_the_contract_shape_with_the_raising_frame_first(tmp_path) -> None:
    # GIVEN the sample app's None-discount trace
    trace = tmp_path / "trace.log"
    trace.write_text(NONE_DISCOUNT_TRACE)
    # WHEN
    result = run_script("localize", str(trace), "--repo", str(SAMPLE), "--json")  # the one real process
    # THEN
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"located", "context", "tokens"}
    assert all(set(loc) == {"path", "line", "function"} for loc in doc["located"])
    # the contract's context entries gained "found_by" (trace / search); nothing else changed
    assert all(set(c) == {"path", "start", "end", "found_by"} for c in doc["context"])
    assert all(c["found_by"] in ("trace", "search") for c in doc["context"])
    assert doc["located"] == [
        {"path": "shop/pricing.py", "line": 10, "function": "discount_percent"},
        {"path": "shop/orders.py", "line": 22, "function": "order_total"},
        {"path": "shop/orders.py", "line": 36, "function": "handle"},
        {"path": "handler.py", "line": 11, "function": "lambda_handler"},
    ]
    assert isinstance(doc["tokens"], int) and doc["tokens"] > 0
    pricing = (SAMPLE / "shop" / "pricing.py").read_text().splitlines()
    [shown] = [c for c in doc["context"] if c["path"] == "shop/pricing.py"]
    assert 1 <= shown["start"] <= 10 <= shown["end"] <= len(pricing)


def test_a_moved_repository_still_shows_the_raising_code(tmp_path) -> None:
    # GIVEN the sample app with 80 lines added above the raising function (audit D7)
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE, repo)
    pricing = repo / "shop" / "pricing.py"
    helpers = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(20))
    pricing.write_text(pricing.read_text().replace("DISCOUNTS = {", helpers + "DISCOUNTS = {"))
    trace = tmp_path / "trace.log"
    trace.write_text(NONE_DISCOUNT_TRACE)
    # WHEN
    doc = json.loads(run("localize", str(trace), "--repo", str(repo), "--json").stdout)
    # THEN the raising line is where the code is today, and it is inside the context
    line = doc["located"][0]["line"]
    assert pricing.read_text().splitlines()[line - 1].strip() == "return DISCOUNTS[code.upper()]"
    assert any(c["path"] == "shop/pricing.py" and c["start"] <= line <= c["end"] for c in doc["context"])


def test_the_cause_and_a_path_prefix_are_used(tmp_path) -> None:
    # GIVEN a chained trace deployed under /srv/release-42/
    trace = tmp_path / "trace.log"
    trace.write_text(
        "Traceback (most recent call last):\n"
        '  File "/srv/release-42/shop/pricing.py", line 10, in discount_percent\n'
        "    return DISCOUNTS[code.upper()]\n"
        "AttributeError: 'NoneType' object has no attribute 'upper'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/release-42/shop/orders.py", line 36, in handle\n'
        '    return {"total": order_total(parse_order(event["body"]))}\n'
        "RuntimeError: pricing failed\n"
    )
    # WHEN
    doc = json.loads(
        run("localize", str(trace), "--repo", str(SAMPLE), "--json", "--path-prefix", "/srv/release-42/").stdout
    )
    # THEN the final raising frame, then the cause's
    assert [(loc["path"], loc["line"]) for loc in doc["located"]] == [("shop/orders.py", 36), ("shop/pricing.py", 10)]


def test_a_file_without_a_traceback_exits_1_and_says_so(tmp_path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("nothing to see\n")
    result = run("localize", str(empty), "--repo", str(SAMPLE), "--json")
    assert result.returncode == 1
    assert "no traceback" in result.stderr and result.stdout == ""


def test_a_report_pasting_a_console_failure_first_is_localized_by_the_traceback_through_the_code(tmp_path) -> None:
    # GIVEN an issue that shows the reporter's console failure (a `<stdin>` frame only) before the
    # traceback that runs the app's code
    trace = tmp_path / "issue.md"
    trace.write_text(
        ">>> order_total({'code': None})\n"
        "Traceback (most recent call last):\n"
        '  File "<stdin>", line 1, in <module>\n'
        "TypeError: order_total() missing 1 required positional argument: 'items'\n\n"
        "and through the handler:\n\n" + NONE_DISCOUNT_TRACE
    )
    # WHEN
    doc = json.loads(run("localize", str(trace), "--repo", str(SAMPLE), "--json").stdout)
    # THEN the second traceback is the one localized
    assert doc["located"][0] == {"path": "shop/pricing.py", "line": 10, "function": "discount_percent"}
