"""Counts of routine traffic are logged, not billed as custom metrics (unless asked for)."""

import json

from chalicelib.usecases.metrics import ROUTINE_COUNTS, EmfCounter


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def _metric_names(doc: dict) -> set[str]:
    return {m["Name"] for d in doc.get("_aws", {}).get("CloudWatchMetrics", []) for m in d["Metrics"]}


def test_routine_counts_alone_are_one_plain_line_with_no_metric(capsys):
    counter = EmfCounter("selfheal-test", logged_only=ROUTINE_COUNTS)
    counter.count("ErrorsSeen", 3)
    counter.count("NewGroups", 0)
    counter.flush()
    [doc] = _lines(capsys)
    assert "_aws" not in doc  # nothing CloudWatch would bill as a metric
    assert doc["ErrorsSeen"] == 3 and "NewGroups" not in doc
    assert counter.totals == {"ErrorsSeen": 3, "NewGroups": 0}


def test_routine_counts_ride_in_the_metrics_line_as_metadata(capsys):
    counter = EmfCounter("selfheal-test", logged_only=ROUTINE_COUNTS)
    counter.count("PullRequests")
    counter.count("FixFailed")
    counter.flush()
    [doc] = _lines(capsys)
    assert _metric_names(doc) == {"FixFailed"}
    assert doc["PullRequests"] == 1  # a value Logs Insights can sum, not a metric


def test_asked_for_routine_counts_are_metrics(capsys):
    counter = EmfCounter("selfheal-test")
    counter.count("ErrorsSeen", 2)
    counter.flush()
    [doc] = _lines(capsys)
    assert _metric_names(doc) == {"ErrorsSeen"}


def test_a_flush_forgets_what_it_wrote(capsys):
    counter = EmfCounter("selfheal-test", logged_only=ROUTINE_COUNTS)
    counter.count("JobsQueued")
    counter.flush()
    counter.flush()
    assert len(_lines(capsys)) == 1
