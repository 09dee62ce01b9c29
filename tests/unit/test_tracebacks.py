"""Traceback detection: each printed form, and what must not be taken for a traceback."""

from __future__ import annotations

import json

from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.tracebacks import find_in_text, from_record, render

PLAIN = """\
2024-05-01 12:00:00,001 INFO starting
Traceback (most recent call last):
  File "/var/task/app/handler.py", line 10, in handle
    return process(event)
           ^^^^^^^^^^^^^^
  File "/var/task/app/process.py", line 22, in process
    total = sum(items) / len(items)
            ~~~~~~~~~~~^~~~~~~~~~~~
ZeroDivisionError: division by zero
2024-05-01 12:00:00,105 INFO shutting down
"""


def test_plain_traceback_is_read_without_surrounding_lines() -> None:
    [tb] = find_in_text(PLAIN)
    assert tb.origin == 2
    assert tb.final.type == "ZeroDivisionError"
    assert tb.final.message == "division by zero"
    assert [f.function for f in tb.final.frames] == ["handle", "process"]
    assert tb.final.frames[1].source == "total = sum(items) / len(items)"
    assert tb.final.notes == ()
    assert "shutting down" not in tb.text


def test_logging_prefix_on_every_line_is_stripped() -> None:
    prefixed = "\n".join(
        f"2024-05-01 12:00:0{n % 10},{n:03d} ERROR [req-{n}] {line}" for n, line in enumerate(PLAIN.splitlines()[1:-1])
    )
    [tb] = find_in_text(prefixed)
    [plain] = find_in_text(PLAIN)
    assert tb.exceptions == plain.exceptions
    assert tb.form == "logging"


def test_lambda_text_form_with_carriage_returns_and_no_break_spaces() -> None:
    nb = "\u00a0"
    event = (
        "[ERROR] KeyError: 'sku'\rTraceback (most recent call last):\r"
        f'{nb}{nb}File "/var/task/app.py", line 7, in lambda_handler\r{nb * 4}return event["sku"]\r'
    )
    [tb] = find_in_text(event)
    assert tb.form == "lambda_text"
    assert (tb.final.type, tb.final.message) == ("KeyError", "'sku'")
    assert tb.final.frames[0].source == 'return event["sku"]'
    assert not tb.truncated


def test_lambda_json_with_legacy_list_frames() -> None:
    record = {
        "errorMessage": "'action'",
        "errorType": "KeyError",
        "stackTrace": [["/var/task/lambda_function.py", 36, "lambda_handler", "action = event['action']"]],
    }
    [tb] = from_record(record)
    assert tb.final.frames[0].line == 36
    assert tb.final.frames[0].source == "action = event['action']"


def test_powertools_record_without_parsable_text_uses_stack_trace() -> None:
    record = {
        "level": "ERROR",
        "exception": "garbled",
        "exception_name": "HTTPError",
        "stack_trace": {
            "type": "HTTPError",
            "value": "500 Server Error",
            "module": "requests.exceptions",
            "frames": [{"file": "/var/task/app.py", "line": 14, "function": "h", "statement": "r()"}],
        },
    }
    [tb] = from_record(record)
    assert tb.final.type == "requests.exceptions.HTTPError"
    assert tb.final.frames[0].source == "r()"


def test_json_record_with_null_error_type_is_not_a_traceback() -> None:
    assert from_record({"level": "ERROR", "message": "declined", "errorType": None}) is None


def test_truncated_traceback_yields_what_was_read() -> None:
    text = 'Traceback (most recent call last):\n  File "/srv/app/jobs.py", line 3, in run\n    go()\n'
    [tb] = find_in_text(text)
    assert tb.truncated
    assert tb.final.frames[0].function == "run"


def test_mentions_of_traceback_or_error_are_not_tracebacks() -> None:
    text = "\n".join(
        [
            "WARNING: Traceback logging is disabled",
            "Traceback (most recent call last): see the docs",
            "ValueError: this line has no traceback header",
            '  File "notes.txt", line 3 mentioned in review',
            "INFO KeyError counters reset",
        ]
    )
    assert find_in_text(text) == []


def test_header_then_unrelated_log_line_yields_nothing() -> None:
    assert find_in_text("Traceback (most recent call last):\n2024-01-01 INFO next request\n") == []


def test_notes_and_multiline_message_lines_are_kept_apart_from_next_log_line() -> None:
    text = (
        'Traceback (most recent call last):\n  File "/app/a.py", line 1, in f\n    g()\n'
        "ValueError: 3 validation errors\n  field: required\nnote: retried twice\n"
        "2024-01-01 12:00:00 INFO next\n"
    )
    [tb] = find_in_text(text)
    assert tb.final.message == "3 validation errors"
    assert tb.final.notes == ("  field: required", "note: retried twice")


def test_recursion_marker_is_recorded_on_the_frame() -> None:
    text = (
        'Traceback (most recent call last):\n  File "/app/r.py", line 2, in f\n    return f(n)\n'
        '  File "/app/r.py", line 2, in f\n    return f(n)\n  [Previous line repeated 996 more times]\n'
        "RecursionError: maximum recursion depth exceeded\n"
    )
    [tb] = find_in_text(text)
    assert tb.final.frames[-1].repeated == 996


def test_two_tracebacks_in_one_file() -> None:
    found = find_in_text(PLAIN + PLAIN.replace("ZeroDivisionError", "ValueError"))
    assert [tb.final.type for tb in found] == ["ZeroDivisionError", "ValueError"]
    assert [tb.origin for tb in found] == [2, 12]


def test_render_round_trips_a_chain() -> None:
    text = (
        "Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\n    x()\nKeyError: 'k'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "/a.py", line 3, in f\n    y()\nValueError: v'
    )
    [tb] = find_in_text(text)
    assert [e.link for e in tb.exceptions] == ["context", None]
    assert find_in_text(render(tb))[0].exceptions == tb.exceptions


def test_json_lines_export_with_mixed_records_and_text(tmp_path) -> None:
    lines = [
        json.dumps({"level": "INFO", "message": "ok"}),
        json.dumps({"errorType": "KeyError", "errorMessage": "'a'", "stackTrace": []}),
        json.dumps({"message": PLAIN}),
    ]
    found = read_tracebacks("\n".join(lines).encode())
    assert [(tb.final.type, tb.origin) for tb in found] == [("KeyError", 2), ("ZeroDivisionError", 3)]


def test_a_log_line_ending_in_a_word_before_a_header_is_not_a_legacy_lambda_header() -> None:
    text = (
        "handler: Failed\nTraceback (most recent call last):\n  File \"/a.py\", line 1, in f\n    g()\nKeyError: 'k'\n"
    )
    [tb] = find_in_text(text)
    assert (tb.origin, tb.form, tb.final.type) == (2, "plain", "KeyError")


def test_legacy_lambda_header_gives_the_exception_when_the_text_stops_early() -> None:
    [tb] = find_in_text("'sku': KeyError\nFile \"/var/task/app.py\", line 3, in handler\nreturn event['sku']\n")
    assert (tb.form, tb.final.type, tb.final.message) == ("lambda_legacy", "KeyError", "'sku'")
    assert tb.final.frames[0].source == "return event['sku']"


def test_a_frame_line_without_an_exception_line_after_it_is_not_a_fragment() -> None:
    text = '  File "/srv/app/jobs.py", line 3, in run\n    go()\nINFO retrying\n'
    assert find_in_text(text) == []


def test_headerless_fragment_ending_at_its_exception_line_is_read() -> None:
    text = 'see below\n  File "/srv/app/jobs.py", line 3, in run\n    go()\nValueError: bad\nthanks\n'
    [tb] = find_in_text(text)
    assert (tb.origin, tb.final.type, tb.final.frames[0].function, tb.truncated) == (2, "ValueError", "run", False)


def test_lambda_error_nested_as_a_step_functions_cause_string() -> None:
    inner = {
        "errorType": "KeyError",
        "errorMessage": "'sku'",
        "stackTrace": ['  File "/var/task/a.py", line 3, in h\n'],
    }
    [tb] = from_record({"Error": "KeyError", "Cause": json.dumps(inner)})
    assert (tb.form, tb.final.type, tb.final.frames[0].function) == ("lambda_json", "KeyError", "h")
    assert from_record({"Error": "States.Timeout", "Cause": "not json"}) is None


def test_whole_traceback_indented_inside_other_output_keeps_its_exception_line() -> None:
    body = "\n".join("      " + line for line in PLAIN.splitlines()[1:-1])
    [tb] = find_in_text("pip output\n" + body + "\n    note: subprocess failed\n")
    assert (tb.final.type, tb.final.message) == ("ZeroDivisionError", "division by zero")
    assert [f.function for f in tb.final.frames] == ["handle", "process"]


# Twisted 22.10.0's ``log.err`` of a Deferred's failure, as printed by a real run (``twistd``'s
# observer: time and system before the first line, a tab before each of the others); paths
# rewritten to a deployed crawler. ``--- <exception caught here> ---`` parts the frames the
# Deferred was called from from those the exception was raised in: one traceback.
TWISTED_FAILURE = """\
2026-12-05 15:26:55+0000 [-] Log opened.
2026-12-05 15:26:55+0000 [-] Spider error processing
\tTraceback (most recent call last):
\t  File "/srv/crawler/crawler/spiders/shop.py", line 11, in <module>
\t    fetched({"meta": {}})
\t  File "/srv/crawler/crawler/spiders/shop.py", line 9, in fetched
\t    d.addCallback(parse)
\t  File "/usr/lib/python3/dist-packages/twisted/internet/defer.py", line 532, in addCallback
\t    return self.addCallbacks(callback, callbackArgs=args, callbackKeywords=kwargs)
\t  File "/usr/lib/python3/dist-packages/twisted/internet/defer.py", line 512, in addCallbacks
\t    self._runCallbacks()
\t--- <exception caught here> ---
\t  File "/usr/lib/python3/dist-packages/twisted/internet/defer.py", line 892, in _runCallbacks
\t    current.result = callback(  # type: ignore[misc]
\t  File "/srv/crawler/crawler/spiders/shop.py", line 6, in parse
\t    return response["meta"]["k"]
\tbuiltins.KeyError: 'k'
\t
"""


def test_twisted_failure_is_one_traceback_with_the_frames_around_the_caught_marker() -> None:
    [tb] = find_in_text(TWISTED_FAILURE)
    assert (tb.final.type, tb.final.message) == ("builtins.KeyError", "'k'")
    assert [f.function for f in tb.final.frames] == [
        "<module>", "fetched", "addCallback", "addCallbacks", "_runCallbacks", "parse",
    ]  # fmt: skip
    assert tb.final.frames[-1].source == 'return response["meta"]["k"]'


def test_numbered_paste_keeps_its_frames_when_the_numbers_widen() -> None:
    numbered = "\n".join(
        f"{n:>2} {line}" for n, line in enumerate(TWISTED_FAILURE.split("\n")[2:-1], start=1)
    )  # " 9 ...", "10 ...": a listing's right-aligned line numbers
    [tb] = find_in_text(numbered)
    assert tb.final.type == "builtins.KeyError"
    assert [f.function for f in tb.final.frames][-2:] == ["_runCallbacks", "parse"]


def test_a_numbered_header_with_unnumbered_frames_keeps_the_frames_indentation() -> None:
    # the padding before a right-aligned number is bounded by its width: a frame line without
    # the number keeps its own indentation (an unbounded run would eat it, and then `File`'s F)
    text = (
        " 9 Traceback (most recent call last):\n"
        '  File "/var/task/app/a.py", line 3, in f\n'
        "    deadline(x)\n"
        "ValueError: late\n"
    )
    [tb] = find_in_text(text)
    assert (tb.final.type, [f.source for f in tb.final.frames]) == ("ValueError", ["deadline(x)"])
