"""One bug is one group, in every form CloudWatch gives: tests/samples/runtime/, made by real runtimes.

The corpus (tests/samples/make_runtime_logs.py) is one service's four bugs, each logged by the
handler and re-raised, written by the Lambda runtime interface client's own bootstrap (text with
telemetry frames, text with its standard ``\\r`` sink, JSON), Powertools, ``logging.basicConfig``,
gunicorn's and uvicorn's error loggers, Docker compose, syslog, FireLens and the CloudWatch agent,
and exported as a FilterLogEvents answer, ``aws logs tail`` output, a subscription payload and
raw lines. ``truth.json`` says which bugs each file holds and how often each failed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from chalicelib.core.fingerprint import (
    FAILURE_WINDOW_MS,
    GROUPING_VERSION,
    failure_tokens,
    fingerprint,
    grouping,
    observe,
    repeats,
    split_failures,
)
from chalicelib.core.group_fields import new_group_fields
from chalicelib.core.log_files import read_log_events, read_tracebacks
from chalicelib.core.logs_payload import find_in_events
from chalicelib.core.models import Frame, RaisedException, Traceback
from chalicelib.core.tracebacks import find_in_text
from chalicelib.errors import PayloadError

HERE = Path(__file__).resolve().parent.parent / "samples" / "runtime"
TRUTH: dict[str, list[dict]] = json.loads((HERE / "truth.json").read_text())
NBSP = "\u00a0"


def _bugs(tracebacks: list[Traceback]) -> Counter:
    """(exception class, raise function) of each group, with the occurrences ``observe`` counts."""
    found: Counter = Counter()
    for seen in observe(tracebacks, "/aws/lambda/shop"):
        final = seen.traceback.final
        found[(final.type.rsplit(".", 1)[-1], final.frames[-1].function)] += seen.count
    return found


def _truth(name: str) -> Counter:
    return Counter({(b["exception_type"], b["function"]): b["counted"] for b in TRUTH[name]})


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_each_bug_is_one_group_counted_once_per_failure(name: str) -> None:
    # WHEN the file is read as `inspect` reads it
    found = read_tracebacks((HERE / name).read_bytes())
    # THEN every record is read, none cut off, one group per bug, each failure counted once
    assert len(found) == sum(b["records"] for b in TRUTH[name])
    assert not [tb.truncated_reason for tb in found if tb.truncated]
    assert len({fingerprint(tb) for tb in found}) == len(TRUTH[name])
    assert _bugs(found) == _truth(name)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_local_reads_the_events_of_every_form_and_finds_the_same_bugs(name: str) -> None:
    # WHEN the file is read as `local --logs` reads it: the CloudWatch events it holds
    log_file = read_log_events((HERE / name).read_bytes())
    # THEN it says what it read, and the events give the same groups
    assert log_file.describe(name).startswith(f"read {name} as ")
    found = find_in_events(sorted(log_file.events, key=lambda e: (e.log_stream, e.timestamp, e.index)))
    assert _bugs(found) == _truth(name)


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("lambda_text.filter.json", "a FilterLogEvents answer"),
        ("lambda_text.tail.txt", "aws logs tail output"),
        ("lambda_text.payload.b64", "a CloudWatch Logs subscription payload (base64 wire form)"),
        ("basic.log", "text"),
        ("firelens.jsonl", "JSON lines"),
    ],
)
def test_the_form_read_is_named(name: str, form: str) -> None:
    assert read_log_events((HERE / name).read_bytes()).form == form


def test_tail_output_gives_back_each_event_with_its_time_and_stream() -> None:
    # GIVEN the FilterLogEvents answer and the `aws logs tail` output of the same events
    rows = json.loads((HERE / "lambda_text.filter.json").read_text())["events"]
    # WHEN
    events = read_log_events((HERE / "lambda_text.tail.txt").read_bytes()).events
    # THEN multi-line events are whole again
    assert [(e.timestamp, e.log_stream, e.message) for e in events] == [
        (r["timestamp"], r["logStreamName"], r["message"]) for r in rows
    ]


@pytest.mark.parametrize("data", [b"", b"  \n", b"\x00\x01binary\x00", b"[1, 2]"])
def test_a_file_in_no_known_form_is_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(PayloadError, match="not a log file|empty"):
        read_log_events(data)


def test_the_runtime_record_behind_a_tail_prefix_has_its_type_and_frames() -> None:
    # GIVEN the runtime's record as `aws logs tail` prints a `\r`-joined event
    record = "\r".join(
        [
            "[ERROR] KeyError: 'kiwi'",
            "Traceback (most recent call last):",
            f'{NBSP * 2}File "/var/task/lambda_function.py", line 13, in handler',
            f"{NBSP * 4}return orders.place(event)",
            f'{NBSP * 2}File "/var/task/shop/pricing.py", line 9, in price',
            f'{NBSP * 4}return PRICES[item["sku"]] * item["qty"]',
        ]
    )
    line = f"2026-11-30T07:33:20.000000+00:00 2026/11/30/[$LATEST]4b1e0c2f9a8d4e7f {record}\n"
    # WHEN
    [tb] = read_tracebacks(line.encode())
    # THEN it is a whole traceback, not a cut-off typeless twin
    assert (tb.form, tb.final.type, tb.final.message) == ("lambda_text", "KeyError", "'kiwi'")
    assert [f.function for f in tb.final.frames] == ["handler", "price"]
    assert not tb.truncated and not tb.truncated_reason
    assert fingerprint(tb) == fingerprint(read_tracebacks(record.encode())[0])


# --- grouping: versions 2 and 3 and their golden fingerprints ---------------------------------------------

# Fingerprints of the corpus's bugs under grouping version 2, unchanged by version 3 (which only
# reads /usr/lib/<app>/ frames as in-app; the sample app's five, of version 1, are pinned in
# tests/property/test_services_properties.py and did not change): a change of the recipe must
# change GROUPING_VERSION and these on purpose.
GOLDEN = {
    "lambda_text.log": {
        "AttributeError": "84b8d9433eebc6dfdb6d8bd89ffd6067",
        "KeyError": "75eba246b5dac85e01be68283a6b9d71",
        "OrderError": "02583ce3bd034537a9e28432314c9575",  # chained: raised from a JSONDecodeError
        "ZeroDivisionError": "7efa44c3b58062a76534adb97a9975f0",  # chained: during handling of a KeyError
    },
    "basic.log": {
        "KeyError": "5020caae8151491f95c59a1e86ba072e",
        "OrderError": "1393a5ef8021e63cf7cb0f6339e39e94",
        "ZeroDivisionError": "cbd4453397a3aae8a0fedf3afc2e4827",
    },
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_fingerprints_of_grouping_versions_2_and_3(name: str) -> None:
    found = read_tracebacks((HERE / name).read_bytes())
    assert GROUPING_VERSION == 3
    assert {tb.final.type.rsplit(".", 1)[-1]: fingerprint(tb) for tb in found} == GOLDEN[name]


def test_the_handlers_chain_and_the_runtimes_final_exception_group_together() -> None:
    # GIVEN the handler's logger.exception record (the chain) and the runtime's (final only)
    found = read_tracebacks((HERE / "lambda_text.filter.json").read_bytes())
    parse = [tb for tb in found if tb.final.type.endswith("OrderError")]
    chained = [tb for tb in parse if len(tb.exceptions) == 2]
    final_only = [tb for tb in parse if len(tb.exceptions) == 1]
    assert chained and final_only
    # THEN one fingerprint, and the cause is listed but does not contribute
    assert {fingerprint(tb) for tb in parse} == {fingerprint(chained[0])}
    causes = [c for c in grouping(chained[0]).components if c.name.startswith("chain[0]")]
    assert causes and not any(c.contributes for c in causes)
    # ... and the group's sample is the record that printed the chain
    [seen] = [o for o in observe(found, "/aws/lambda/shop") if o.fingerprint == fingerprint(chained[0])]
    assert len(seen.traceback.exceptions) == 2
    assert new_group_fields(seen).grouping_version == GROUPING_VERSION


# --- the same failure, recorded twice ------------------------------------------------------------


def _tb(form: str, stream: str = "s", request_id: str = "", line: int = 9, message: str = "'kiwi'") -> Traceback:
    frames = (Frame("/var/task/app.py", 3, "handler", "place()"), Frame("/var/task/pricing.py", line, "price", "x"))
    exc = RaisedException("KeyError", message, frames)
    return Traceback((exc,), "", form, log_stream=stream, request_id=request_id)


def _repeats(*tracebacks: Traceback) -> list[bool]:
    return repeats(list(tracebacks), [fingerprint(tb) for tb in tracebacks])


def test_the_runtimes_record_repeats_the_handlers_record_of_its_invocation() -> None:
    assert _repeats(_tb("logging", request_id="r1"), _tb("lambda_text")) == [False, True]
    assert _repeats(_tb("powertools_json"), _tb("lambda_text")) == [False, True]


def test_the_runtimes_record_of_the_next_invocation_is_a_new_failure() -> None:
    # GIVEN two failing invocations, the second not logged by the handler
    assert _repeats(_tb("logging"), _tb("lambda_text"), _tb("lambda_text")) == [False, True, False]


def test_records_of_other_streams_or_sites_or_messages_are_not_repeats() -> None:
    assert _repeats(_tb("logging", stream="a"), _tb("lambda_text", stream="b")) == [False, False]
    assert _repeats(_tb("logging", line=9), _tb("lambda_text", line=10)) == [False, False]
    assert _repeats(_tb("logging", message="'kiwi'"), _tb("lambda_text", message="'pear'")) == [False, False]


def test_records_naming_one_request_are_one_failure_and_two_requests_two() -> None:
    assert _repeats(_tb("lambda_json", request_id="r1"), _tb("lambda_json", request_id="r1")) == [False, True]
    assert _repeats(_tb("lambda_json", request_id="r1"), _tb("lambda_json", request_id="r2")) == [False, False]


def test_a_record_naming_no_request_pairs_once_with_the_runtimes_json_record() -> None:
    # GIVEN Powertools records (no Lambda context: no request id) and the runtime's JSON records
    def powertools() -> Traceback:
        return _tb("powertools_json")

    def runtime(request: str) -> Traceback:
        return _tb("lambda_json", request_id=request)

    # THEN each runtime record repeats the one unpaired handler record before it, no other
    flags = _repeats(powertools(), runtime("r1"), powertools(), runtime("r2"), runtime("r3"))
    assert flags == [False, True, False, True, False]


def test_the_request_id_of_the_lambda_log_line_before_a_traceback_is_read() -> None:
    text = (
        "[ERROR]\t2026-11-30T07:33:20.123Z\t3f1c2a9e-5b7d-4e1f-9a2b-6c8d0e4f1a01\torder failed\n"
        "Traceback (most recent call last):\n"
        '  File "/var/task/app.py", line 3, in handler\n'
        "    place()\n"
        "KeyError: 'kiwi'\n"
    )
    [tb] = find_in_text(text)
    assert tb.request_id == "3f1c2a9e-5b7d-4e1f-9a2b-6c8d0e4f1a01"


# --- the same failure over two deliveries --------------------------------------------------------


def _at(tb: Traceback, ts: int) -> Traceback:
    return Traceback(tb.exceptions, tb.text, tb.form, log_stream=tb.log_stream, timestamp=ts, request_id=tb.request_id)


def _tokens(*tracebacks: Traceback) -> list[tuple[str, ...]]:
    return failure_tokens(list(tracebacks), [fingerprint(tb) for tb in tracebacks])


def test_a_pair_inside_one_delivery_leaves_no_token() -> None:
    other = _at(_tb("logging", message="'pear'"), 0)
    pair = [_at(_tb("logging"), 5_000), _at(_tb("lambda_text"), 5_002)]
    assert _tokens(other, *pair, _at(_tb("lambda_text", message="'pear'"), 10_000))[1:3] == [(), ()]


def test_records_at_the_edges_leave_tokens_that_pair_across_deliveries() -> None:
    # GIVEN the handler's record ending one delivery, the runtime's starting the next
    [head] = _tokens(_at(_tb("logging"), 1_000))
    [tail] = _tokens(_at(_tb("lambda_text"), 1_002))
    # THEN each pairs with the other (in either order), once
    assert split_failures(tail, head)[0] == 1
    assert split_failures(head, tail)[0] == 1
    count, forget = split_failures(tail, head)
    assert sorted(forget) == sorted(head[:1] + tail)
    # ... but two handler records do not, nor records too far apart in time
    assert split_failures(head, head)[0] == 0
    [late] = _tokens(_at(_tb("lambda_text"), 1_000 + FAILURE_WINDOW_MS + 1))
    assert split_failures(late, head)[0] == 0


def test_records_without_a_time_leave_no_token() -> None:
    assert _tokens(_tb("logging"), _tb("lambda_text")) == [(), ()]


def test_inspect_counts_failures_and_keeps_listing_every_record(capsys) -> None:
    import selfheal

    # WHEN the handler's and the runtime's records of 8 failures are inspected
    path = str(HERE / "lambda_text.tail.txt")
    assert selfheal.main(["inspect", path]) == 0
    table = capsys.readouterr().out
    assert selfheal.main(["inspect", path, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["tracebacks"]
    # THEN the table counts failures, the JSON contract lists every record, chain included
    assert table.startswith("16 traceback(s) of 8 failure(s) in 4 group(s)")
    assert len(listed) == 16 and max(len(t["chain"]) for t in listed) == 2


def test_every_scenario_of_the_shared_samples_has_one_fingerprint_across_all_its_forms() -> None:
    from tests.conftest import SAMPLES, load_corpus

    # GIVEN the real samples: each scenario printed in every form, the Lambda ones final-only
    by_scenario: dict[str, set[str]] = {}
    for row in load_corpus("tracebacks"):
        if not row.get("negative"):
            [tb] = read_tracebacks((SAMPLES / "tracebacks" / row["file"]).read_bytes())
            by_scenario.setdefault(row["scenario"], set()).add(fingerprint(tb))
    # THEN one fingerprint each (version 1 gave the chained scenarios two), none shared
    assert {s: len(fps) for s, fps in by_scenario.items() if len(fps) != 1} == {}
    assert len(set().union(*by_scenario.values())) == len(by_scenario)


def test_a_header_delivered_alone_before_another_matched_event_waits_for_the_stream() -> None:
    from chalicelib.core.logs_payload import LogEvent

    # GIVEN what a subscription filter picks out of a stream written by the runtime's standard
    # sink: the handler's header line, then the event holding the runtime's record glued to the
    # handler's exception line (not adjacent in the stream)
    glued = "KeyError: 'kiwi'[ERROR] KeyError: 'kiwi'\rTraceback (most recent call last):\r"
    glued += f'{NBSP * 2}File "/var/task/pricing.py", line 9, in price\r{NBSP * 4}return PRICES[sku]'
    events = [LogEvent("1", 1_000, "Traceback (most recent call last):", 0), LogEvent("2", 1_009, glued, 1)]
    # WHEN
    header, runtime_record = find_in_events(events)
    # THEN the header is not made a frameless traceback of the next event's line: it is cut off,
    # for the ingest to complete from the stream, and the runtime's record is whole
    assert header.truncated and "only the header arrived" in header.truncated_reason
    assert (runtime_record.form, runtime_record.final.type, len(runtime_record.final.frames)) == (
        "lambda_text",
        "KeyError",
        1,
    )


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_what_local_delivers_through_its_filter_pattern_gives_one_group_per_bug(name: str) -> None:
    """`local --logs` as far as the ingest: the file's events in one stream, only those matching the
    default subscription filter pattern delivered, cut-off ones completed from the stream (as
    usecases/ingest.py does with GetLogEvents), then counted (tests/integration runs it on AWS)."""
    from dataclasses import replace

    import local_mode

    from chalicelib.core.filter_pattern import parse_filter_pattern
    from chalicelib.core.logs_payload import LogEvent

    stream = [LogEvent(f"{n:010d}", 1_000 + n, m or " ", n) for n, m in enumerate(local_mode._log_lines(HERE / name))]
    matcher = parse_filter_pattern(local_mode.DEFAULT_PATTERN)
    found = []
    for tb in find_in_events([e for e in stream if matcher.matches(e.message)]):
        if tb.truncated and tb.timestamp is not None:
            rest = [e for e in stream if e.timestamp >= tb.timestamp][:200]
            whole = [f for f in find_in_events(rest) if f.timestamp == tb.timestamp and not f.truncated]
            tb = replace(whole[0], origin=tb.origin) if whole else tb
        found.append(tb)
    assert _bugs(found) == _truth(name)
