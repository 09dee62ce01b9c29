"""The real tracebacks of shared/samples, checked against their ground truth."""

from __future__ import annotations

from collections import defaultdict

import pytest

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.log_files import read_tracebacks
from tests.conftest import SAMPLES, load_corpus

ROWS = load_corpus("tracebacks") if (SAMPLES / "tracebacks").exists() else []
# The Lambda runtime prints only the final exception, by its class name: chain and module are
# not in the text, so for those forms the truth is compared with what the form can carry.
LAMBDA_FORMS = {"lambda_text", "lambda_json", "lambda_logger_json"}


def _parse(row: dict):
    return read_tracebacks((SAMPLES / "tracebacks" / row["file"]).read_bytes())


@pytest.mark.parametrize("row", [r for r in ROWS if not r.get("negative")], ids=lambda r: r["file"])
def test_sample_parses_to_its_ground_truth(row: dict) -> None:
    # WHEN
    found = _parse(row)
    # THEN
    assert len(found) == 1
    tb = found[0]
    assert not tb.truncated
    final = tb.final
    frames = [{"file": f.file, "line": f.line, "function": f.function} for f in final.frames]
    assert frames == row["frames"]
    assert final.message == row["exception_message"]
    chain = [e.type for e in tb.exceptions]
    if row["form"] in LAMBDA_FORMS:
        assert final.type == row["exception_type"].rsplit(".", 1)[-1]
        assert chain == [final.type]
    else:
        assert final.type == row["exception_type"]
        assert chain == [c["exception_type"] for c in row["chain"]]


@pytest.mark.parametrize("row", [r for r in ROWS if r.get("negative")], ids=lambda r: r["file"])
def test_negative_sample_yields_nothing(row: dict) -> None:
    assert _parse(row) == []


def test_same_scenario_and_form_share_one_fingerprint_and_scenarios_differ() -> None:
    # GIVEN every sample, across Python 3.8-3.13, three deployment roots and line offsets
    by_bug: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in ROWS:
        if not row.get("negative"):
            by_bug[(row["scenario"], row["form"])].add(fingerprint(_parse(row)[0]))
    # THEN each bug has exactly one fingerprint ...
    assert {bug: len(fps) for bug, fps in by_bug.items() if len(fps) != 1} == {}
    # ... and no fingerprint is shared by two scenarios
    owner: dict[str, str] = {}
    for (scenario, _form), fps in by_bug.items():
        for fp in fps:
            assert owner.setdefault(fp, scenario) == scenario


def test_real_world_corpus_matches_labels() -> None:
    for row in load_corpus("real"):
        found = read_tracebacks((SAMPLES / "real" / row["file"]).read_bytes())
        assert len(found) == 1, row["file"]
        final = found[0].final
        assert final.type == row["exception_type"], row["file"]
        assert final.message == row["exception_message"], row["file"]
        frames = [{"file": f.file, "line": f.line, "function": f.function} for f in final.frames]
        assert frames == row["frames"], row["file"]
        assert [e.type for e in found[0].exceptions] == [c["exception_type"] for c in row["chain"]]
        if "syntax_error" in row:
            loc = final.syntax_error
            assert loc is not None
            assert (loc.file, loc.line) == (row["syntax_error"]["file"], row["syntax_error"]["line"])
        if "notes" in row:
            assert list(final.notes) == row["notes"]
        if "group_tree" in row:
            assert _tree(final) == _label_tree(row["group_tree"]), row["file"]


def _tree(exc) -> dict:
    node = {"type": exc.type, "message": exc.message}
    if exc.children:
        node["children"] = [_tree(c) for c in exc.children]
    return node


def _label_tree(label: dict) -> dict:
    node = {"type": label["exception_type"], "message": label["exception_message"]}
    if label.get("children"):
        node["children"] = [_label_tree(c) for c in label["children"]]
    return node
