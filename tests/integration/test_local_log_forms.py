"""`selfheal local --logs` reads every form `inspect` reads, and says which form it read."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from tests.fix_fixtures import bare_repo_of_sample_app

pytestmark = pytest.mark.integration
SAMPLE = ROOT / "scripts" / "sample_app"


def test_a_filter_log_events_answer_gives_the_groups_its_text_gives(moto_endpoint, tmp_path, capsys) -> None:
    from local_mode import LocalRun, run

    # GIVEN the sample's log exported as a FilterLogEvents answer (it gave 0 tracebacks before)
    lines = (SAMPLE / "logs" / "app.log").read_text().split("\n")
    rows = [
        {"logStreamName": "app/web/1", "timestamp": 1_796_000_000_000 + n, "message": line, "eventId": str(n)}
        for n, line in enumerate(lines)
        if line
    ]
    answer = tmp_path / "app.json"
    answer.write_text(json.dumps({"events": rows, "searchedLogStreams": []}))
    bare = bare_repo_of_sample_app(tmp_path)
    # WHEN
    options = LocalRun(logs=[answer], repo=str(bare), model=f"replay:{SAMPLE / 'replay.json'}",
                       endpoint_url=moto_endpoint)  # fmt: skip
    groups = run(options, say=lambda _: None)
    # THEN it says what it read, and the five bugs are five groups with their PRs
    assert f"read app.json as a FilterLogEvents answer: {len(rows)} events" in capsys.readouterr().err
    assert len(groups) == 5 and {g.status for g in groups} == {"PR_OPENED"}
    assert sum(g.occurrences for g in groups) == 10


def test_a_file_in_no_known_form_ends_the_run_with_one_line(tmp_path) -> None:
    from local_mode import _log_lines

    # GIVEN a JSON document that is no log
    bad = tmp_path / "numbers.json"
    bad.write_text("[1, 2, 3]")
    # WHEN / THEN one line naming the file and why, and a non-zero exit (SystemExit with a message)
    with pytest.raises(SystemExit, match=r"selfheal local: .*numbers.json: a JSON document .* not a log file"):
        _log_lines(bad)
