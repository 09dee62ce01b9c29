"""Real tracebacks transformed the way pastes and log shippers change them (tests/samples/messy).

The samples are CPython's own output for real code (``tests/samples/make_messy.py``), with the
ground truth taken from the live exception; each form is one way real text was seen to differ
from what CPython printed (issue 11, "Reading").
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.log_files import read_tracebacks

MESSY = Path(__file__).resolve().parent.parent / "samples" / "messy"
ROWS = [json.loads(line) for line in (MESSY / "corpus.jsonl").read_text().splitlines() if line.strip()]
# Forms that carry only the final exception (the Lambda runtime's), or only its last frames.
FINAL_ONLY = {"lambda_legacy", "lambda_legacy_no_header", "step_functions_output", "step_functions_history"}
FINAL_ONLY |= {"error_object", "fragment"}


def _frames(exc) -> list[dict]:
    return [{"file": f.file, "line": f.line, "function": f.function} for f in exc.frames]


def _tree(exc) -> dict:
    node = {"exception_type": exc.type, "exception_message": exc.message}
    if exc.children:
        node["children"] = [_tree(c) for c in exc.children]
    return node


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["file"])
def test_messy_sample_reads_to_its_ground_truth(row: dict) -> None:
    # WHEN
    found = read_tracebacks((MESSY / row["file"]).read_bytes())
    # THEN one complete traceback, the right exception, frames and chain
    assert len(found) == 1, [tb.final.type for tb in found]
    tb = found[0]
    assert not tb.truncated, tb.truncated_reason
    final = tb.final
    assert (final.type, final.message) == (row["exception_type"], row["exception_message"])
    if row.get("frames_suffix"):
        assert row["frames"][-len(final.frames) :] == _frames(final)
        assert final.frames
    else:
        assert _frames(final) == row["frames"]
    assert [e.type for e in tb.exceptions] == row["chain"]
    if "syntax_error" in row:
        loc = final.syntax_error
        assert loc is not None and {"file": loc.file, "line": loc.line} == row["syntax_error"]
    if "group_tree" in row:
        assert _tree(final) == row["group_tree"]


def test_every_reshaped_copy_of_a_bug_groups_with_the_original() -> None:
    # GIVEN each scenario's text forms, which carry the whole chain
    by_scenario: dict[str, set[str]] = defaultdict(set)
    for row in ROWS:
        if row["form"] not in FINAL_ONLY:
            [tb] = read_tracebacks((MESSY / row["file"]).read_bytes())
            by_scenario[row["scenario"]].add(fingerprint(tb))
    # THEN one fingerprint per scenario, none shared
    assert {s: len(fps) for s, fps in by_scenario.items() if len(fps) != 1} == {}
    assert len(set().union(*by_scenario.values())) == len(by_scenario)


def test_lambda_forms_of_a_bug_group_together() -> None:
    # The runtime's forms carry the same final exception: legacy text, Step Functions, nested.
    for scenario in ("key_error", "library_cause"):
        rows = [r for r in ROWS if r["scenario"] == scenario and r["form"] in FINAL_ONLY - {"fragment"}]
        fps = {fingerprint(read_tracebacks((MESSY / r["file"]).read_bytes())[0]) for r in rows}
        assert len(rows) == 5 and len(fps) == 1, scenario


def test_a_python_upgrade_does_not_split_a_group_whose_cause_was_raised_in_the_standard_library() -> None:
    # GIVEN the library_cause sample as Python 3.12 would print it: other stdlib paths, lines, source
    original = (MESSY / "library_cause__original.log").read_text()
    upgraded = original.replace("/python3.11/", "/python3.12/").replace("sock.connect(sa)", "sock.connect(address)")
    upgraded = upgraded.replace("line 836, in create_connection", "line 852, in create_connection")
    assert upgraded != original
    # THEN the same group
    [a], [b] = read_tracebacks(original.encode()), read_tracebacks(upgraded.encode())
    assert fingerprint(a) == fingerprint(b)


def test_generated_code_with_other_values_keeps_its_syntax_error_group() -> None:
    original = (MESSY / "generated_syntax__original.log").read_text()
    other = original.replace("x = 41 +", "x = 7 +").replace('generated.py", line 1\n', 'generated.py", line 3\n')
    assert other != original
    [a], [b] = read_tracebacks(original.encode()), read_tracebacks(other.encode())
    assert fingerprint(a) == fingerprint(b)
