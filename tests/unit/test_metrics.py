"""EMF metrics: counts in the Count unit, durations in Seconds (CloudWatch keeps one unit per name)."""

import json

from chalicelib.usecases.metrics import EmfCounter


def _flushed(capsys, counter: EmfCounter) -> dict:
    counter.flush()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1
    return json.loads(lines[0])


def test_time_to_heal_is_emitted_in_seconds_and_counts_in_count(capsys):
    counter = EmfCounter("selfheal-test")
    counter.count("ActionsHealed")
    counter.seconds("TimeToHealSeconds", 95.5)
    doc = _flushed(capsys, counter)
    units = {m["Name"]: m["Unit"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"ActionsHealed": "Count", "TimeToHealSeconds": "Seconds"}
    assert doc["TimeToHealSeconds"] in (95.5, [95.5])  # Powertools writes one value or a list
    assert counter.totals == {"ActionsHealed": 1}


def test_nothing_counted_flushes_nothing(capsys):
    counter = EmfCounter("selfheal-test")
    counter.count("ActionsHealed", 0)
    counter.flush()
    assert capsys.readouterr().out == ""
