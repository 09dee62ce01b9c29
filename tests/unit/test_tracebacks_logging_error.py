"""A logging error is one traceback (core/tracebacks.py): the standard library's
``logging.Handler.handleError`` prints the failing handler's traceback (all inside ``logging``),
then ``Call stack:`` with the frames of the code that logged, then ``Message:`` / ``Arguments:``.
The reader returns the handler's exception with the call stack's frames before its own, and no
traceback of type ``Message``, in every form it reads: text, one CloudWatch event per line, a
prefix on every line, Python 2's ``Logged from file``.

The text is real: CPython's ``logging`` run in the test (tests/logging_errors.py)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.logs_payload import _find, find_in_batch, parse_batch
from chalicelib.core.tracebacks import find_in_text, scan_lines, scan_window, split_lines
from tests.factories import payload
from tests.logging_errors import LOGGING_CALL, Python2Handler, logging_error
from tests.property import detect_reference as reference

if TYPE_CHECKING:
    from chalicelib.core.models import Traceback

TYPE_ERROR = ("TypeError", "%d format: a real number is required, not str")
THREADING = ["_bootstrap", "_bootstrap_inner", "run"]


def _halves(text: str) -> tuple[Traceback, Traceback]:
    """The handler's traceback and the call stack, each read alone (the call stack as the fragment
    it is without the handler's traceback: frames ending at ``Message: …``)."""
    head, stack = text.split("Call stack:\n")
    [handler] = find_in_text(head)
    [caller] = find_in_text(stack)
    return handler, caller


def _is_logging(path: str) -> bool:
    return path == logging.__file__


def _assert_one_logging_error(found: list[Traceback], text: str, depth: int = 0) -> Traceback:
    """One traceback: the handler's exception, the call stack's frames first, then the handler's."""
    assert [tb.final.type for tb in found] == ["TypeError"]
    [tb] = found
    handler, caller = _halves(text)
    assert (tb.final.type, tb.final.message) == (handler.final.type, handler.final.message)
    assert tb.final.frames == (*caller.final.frames, *handler.final.frames)
    outer = [f.function for f in tb.final.frames if not _is_logging(f.file)]
    # (a recursion's frames after the third are printed as "[Previous line repeated N more times]")
    calls = [f.function for f in tb.final.frames for _ in range(1 + f.repeated) if not _is_logging(f.file)]
    assert calls == [*THREADING, *["_call"] * (depth + 1)]
    assert [_is_logging(f.file) for f in tb.final.frames] == [False] * len(outer) + [True] * len(handler.final.frames)
    assert tb.final.frames[len(outer) - 1].source == LOGGING_CALL  # the logging call is the app's innermost
    assert tb.final.notes == ()
    assert tb.text.startswith("Traceback (most recent call last):")
    assert tb.text.rstrip().endswith(text.rstrip().rsplit("\n", 1)[-1])  # Message / Arguments are its text
    return tb


def test_a_logging_error_is_one_traceback_with_the_code_that_logged_first() -> None:
    # GIVEN what CPython prints for log.error("order %d failed", "abc")
    text = logging_error()
    # WHEN
    found = find_in_text(text)
    # THEN one traceback, the TypeError, whose frames are the call stack's then logging's
    tb = _assert_one_logging_error(found, text)
    assert (tb.final.type, tb.final.message) == TYPE_ERROR
    assert "Message: 'order %d failed'\nArguments: ('abc',)" in tb.text


def test_one_event_per_line_in_a_subscription_batch_is_one_traceback() -> None:
    # GIVEN the logging error written one line per CloudWatch event, between other records
    text = logging_error()
    lines = ["START RequestId: 1", *text.rstrip("\n").split("\n"), "order 7 done", "END RequestId: 1"]
    # WHEN the subscription's reader reads the batch, and the file reader the same payload
    found = find_in_batch(parse_batch(payload(lines)))
    from_file = read_tracebacks(json.dumps(payload(lines)).encode())
    # THEN one traceback, the same as read from the text, starting at the header's event
    tb = _assert_one_logging_error(found, text)
    assert tb.exceptions == find_in_text(text)[0].exceptions
    assert tb.origin == 2
    assert [t.exceptions for t in from_file] == [tb.exceptions]
    # AND the delivery reads as the windowing without its fast paths reads it
    ids = [str(n) for n in range(len(lines))]
    stamps = [1_795_000_000_000 + n for n in range(len(lines))]
    assert _find(ids, stamps, lines, "s") == reference.find(ids, stamps, lines, "s")


def test_a_window_grown_at_any_event_finds_what_a_scan_from_its_start_finds() -> None:
    # GIVEN the logging error one line per event, and the handler's traceback in one event followed
    # by the call stack one line per event (a traceback ending at a window's end, then "Call stack:")
    text = logging_error(depth=2)
    head, stack = text.split("Call stack:\n")
    for events in (text.rstrip("\n").split("\n"), [head.rstrip("\n"), "Call stack:", *stack.rstrip("\n").split("\n")]):
        lines = [line for origin, message in enumerate(events) for line in split_lines(message, origin)]
        whole = scan_lines(lines, "line_events", bare_headers=True)
        for cut in range(1, len(lines)):
            # WHEN a window's scan goes on from the scan of its first lines
            prior = scan_window(lines[:cut], "line_events", bare_headers=True)
            grown = scan_window(lines, "line_events", bare_headers=True, prior=prior)
            # THEN it finds what a scan from the start finds: the one joined traceback
            assert grown.found == whole
        _assert_one_logging_error([tb for tb, _ in whole], text, depth=2)


def test_a_prefix_on_every_line_is_stripped_as_for_any_traceback() -> None:
    # GIVEN the logging error as `aws logs tail` prints it, and behind a timestamp
    text = logging_error()
    lines = text.rstrip("\n").split("\n")
    tail = "\n".join(f"2026-11-22T10:00:{n:02d}.001000+00:00 2026/11/22/[$LATEST]0a1b {s}" for n, s in enumerate(lines))
    stamped = "\n".join(f"2026-11-22 10:00:{n:02d},001 {s}" for n, s in enumerate(lines))
    for prefixed in (tail, stamped):
        # WHEN
        [tb] = find_in_text(prefixed)
        # THEN the same exception and frames as without the prefix
        assert tb.exceptions == find_in_text(text)[0].exceptions


def test_python_2s_logged_from_line_is_the_handlers_traceback_and_no_other() -> None:
    # GIVEN Python 2.7's handleError: the traceback, then "Logged from file <name>, line <n>"
    text = logging_error(handler=Python2Handler)
    assert "Call stack:" not in text and "\nLogged from file logging_errors.py, line " in text
    # WHEN
    found = find_in_text(text)
    # THEN the handler's traceback alone, the line in its text and not a note of its exception
    [tb] = found
    [handler] = find_in_text(text.split("Logged from")[0])
    assert tb.final.frames == handler.final.frames and (tb.final.type, tb.final.message) == TYPE_ERROR
    assert tb.final.notes == ()
    assert tb.text.rstrip().split("\n")[-1].startswith("Logged from file logging_errors.py, line ")


def test_a_call_stack_naming_only_the_file_keeps_the_handlers_frames() -> None:
    # GIVEN Python 3's handleError when it found no frame outside logging: "Logged from file" after
    # "Call stack:", then the message and arguments
    text = logging_error()
    head, stack = text.split("Call stack:\n")
    text = f"{head}Call stack:\nLogged from file app.py, line 9\n{stack[stack.index('Message: ') :]}next record\n"
    # WHEN
    [tb] = find_in_text(text)
    # THEN the handler's traceback, with the three lines in its text and none of them a note
    assert tb.final.frames == _halves(logging_error())[0].final.frames
    assert tb.final.notes == ()
    assert tb.text.rstrip().endswith("Logged from file app.py, line 9\nMessage: 'order %d failed'\nArguments: ('abc',)")


class _Unprintable:
    """A message object ``str`` formats and ``repr`` cannot print."""

    def __str__(self) -> str:
        return "order %d failed"

    def __repr__(self) -> str:
        raise ValueError("no repr")


def test_a_message_that_cannot_be_printed_is_read_past_too() -> None:
    # GIVEN handleError's two lines in place of Message / Arguments
    text = logging_error(message=_Unprintable())
    assert "Unable to print the message and arguments - possible formatting error." in text
    # WHEN / THEN one traceback, joined, the two lines its text
    [tb] = find_in_text(text)
    assert tb.final.frames[3].source == LOGGING_CALL and (tb.final.type, tb.final.message) == TYPE_ERROR
    assert tb.text.rstrip().endswith("Use the traceback above to help find the error.")


TRACE = 'Traceback (most recent call last):\n  File "/var/task/app.py", line 3, in handler\n    go()\nValueError: bad'
FRAMES = '  File "/var/task/app.py", line 9, in run\n    handler()\n'


def test_a_call_stack_after_no_traceback_and_a_message_line_in_logs_change_nothing() -> None:
    # GIVEN "Call stack:" after ordinary log lines, "Message:" / "Logged from" lines after a
    # traceback, and a "Call stack:" after a traceback that no frame follows
    lone = f"INFO starting\nCall stack:\n{FRAMES}KeyError: 'k'\n"
    messages = f"{TRACE}\nMessage: 'sent'\nINFO Logged from file app.py, line 3\n"
    no_frame = f"{TRACE}\nCall stack:\nnone printed\n"
    # WHEN / THEN each reads as it would without the logging error's lines
    assert [tb.exceptions for tb in find_in_text(lone)] == [
        tb.exceptions for tb in find_in_text(lone.replace("Call stack:\n", ""))
    ]
    [tb] = find_in_text(messages)
    assert tb.final.frames == find_in_text(TRACE)[0].final.frames and tb.final.notes == ("Message: 'sent'",)
    [tb] = find_in_text(no_frame)
    assert tb.final.frames == find_in_text(TRACE)[0].final.frames
    assert tb.final.notes == ("Call stack:", "none printed")


def test_a_call_stack_whose_frames_end_in_no_record_is_no_logging_error() -> None:
    # GIVEN "Call stack:" and frames after a traceback, but the frames end in another exception
    # line, not in the record a logging error prints ("Message: ...")
    other = "Call stack:\n" + FRAMES + "ValueError: other\n"
    text = f"{TRACE}\n{other}"
    # WHEN / THEN the traceback keeps its own frames and the second exception is not lost
    assert [(tb.final.type, tb.final.frames) for tb in find_in_text(text)] == [
        (find_in_text(TRACE)[0].final.type, find_in_text(TRACE)[0].final.frames),
        ("ValueError", find_in_text(FRAMES + "ValueError: other\n")[0].final.frames),
    ]


def test_a_call_stack_far_from_its_traceback_is_not_joined() -> None:
    # GIVEN more blank lines between "Call stack:" and its frames than the reader skips anywhere
    text = logging_error().replace("Call stack:\n", "Call stack:\n\n\n\n")
    # WHEN / THEN the two parts stay apart (the reader joins only what CPython prints together)
    assert [tb.final.type for tb in find_in_text(text)] == ["TypeError", "Message"]


MESSAGES = st.text(st.characters(codec="utf-8", exclude_characters="%"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 8), MESSAGES, MESSAGES, st.booleans())
def test_any_call_depth_and_message_is_one_traceback_with_the_call_stack_first(
    depth: int, message: str, argument: str, per_event: bool
) -> None:
    # GIVEN a logging call of any depth, any message text and argument, that fails
    text = logging_error(f"{message} %d", (argument,), depth)
    # WHEN read as text, or one line per CloudWatch event
    if per_event:
        found = find_in_batch(parse_batch(payload(text.rstrip("\n").split("\n"))))
    else:
        found = find_in_text(text)
    # THEN one traceback: the call stack's frames, ending at the logging call, then logging's
    tb = _assert_one_logging_error(found, text, depth)
    assert (tb.final.type, tb.final.message) == TYPE_ERROR
    # AND read either way, it has one fingerprint
    assert fingerprint(tb) == fingerprint(find_in_text(text)[0])


def test_a_logging_error_in_one_event_with_crlf_breaks_is_one_traceback() -> None:
    # GIVEN the logging error in one event, its lines joined by "\r\n" (a shipper's record)
    text = logging_error()
    lines = split_lines(text.replace("\n", "\r\n"), 0)
    # WHEN / THEN it reads as the text does
    assert [tb.exceptions for tb, _ in scan_lines(lines)] == [find_in_text(text)[0].exceptions]
