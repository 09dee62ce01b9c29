"""A logging error's call stack: the standard library's ``handleError`` prints the handler's
traceback, all inside ``logging``, then ``Call stack:`` with the frames of the code that logged.
Those frames are joined in as the outer frames, so the logging call is traced: by the reader
(core/tracebacks.py) as CPython prints it, by ``localize.rejoin`` where a reporter's line stands
between ``Call stack:`` and the frames."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.localize import localize, read_pasted, rejoin
from chalicelib.core.tracebacks import find_in_text

# CPython 3.x ``logging.Handler.handleError`` output for a format string its arguments do not fit
LOGGING_ERROR = """--- Logging error ---
Traceback (most recent call last):
  File "/usr/lib/python3.11/logging/__init__.py", line 1110, in emit
    msg = self.format(record)
  File "/usr/lib/python3.11/logging/__init__.py", line 377, in getMessage
    msg = msg % self.args
TypeError: not all arguments converted during string formatting
Call stack:
  File "/var/task/app/main.py", line 12, in handler
    return sync(event)
  File "/var/task/app/sync.py", line 5, in sync
    log.info("synced", len(event))
Message: 'synced'
Arguments: (3,)
"""
SYNC = 'import logging\nlog = logging.getLogger()\n\n\ndef sync(event):\n    log.info("synced", len(event))\n'
MAIN = "from app.sync import sync\n" + "\n" * 10 + "def handler(event):\n    return sync(event)\n"


def test_the_call_stack_of_a_logging_error_is_joined_as_its_outer_frames() -> None:
    # WHEN
    [tb] = rejoin(find_in_text(LOGGING_ERROR))
    # THEN the handler's exception keeps its type and message, the code that logged comes first
    assert (tb.final.type, tb.final.message) == ("TypeError", "not all arguments converted during string formatting")
    assert [f.function for f in tb.final.frames] == ["handler", "sync", "emit", "getMessage"]


def test_the_logging_call_is_the_raising_frame_the_repository_holds() -> None:
    repo = {"app/sync.py": SYNC, "app/main.py": MAIN}
    [tb] = read_pasted(LOGGING_ERROR.encode())
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    assert [(loc.path, loc.current_line) for loc in found.located] == [("app/sync.py", 6), ("app/main.py", 13)]


def test_a_reporters_line_after_call_stack_is_joined_by_rejoin() -> None:
    # GIVEN a pasted logging error whose reporter cut the call stack's outer frames (qutebrowser's)
    pasted = LOGGING_ERROR.replace("Call stack:\n", "Call stack:\n  [...]\n")
    # WHEN the reader has read it as two tracebacks
    assert [tb.final.type for tb in find_in_text(pasted)] == ["TypeError", "Message"]
    [tb] = read_pasted(pasted.encode())
    # THEN the pasted text's reading joins them as the reader joins the unedited one
    [whole] = find_in_text(LOGGING_ERROR)
    assert (tb.final.type, tb.final.message, tb.final.frames) == (
        whole.final.type,
        whole.final.message,
        whole.final.frames,
    )


def test_a_traceback_far_from_a_message_block_or_without_an_exception_is_not_joined() -> None:
    far = LOGGING_ERROR.replace("Call stack:\n", "Call stack:\n\n\n\n\n")
    assert len(rejoin(find_in_text(far))) == 2


@given(st.lists(st.from_regex(r"[a-z][a-z_]{2,10}", fullmatch=True), min_size=1, max_size=5, unique=True))
def test_every_call_stack_frame_comes_before_the_handlers_own(functions: list[str]) -> None:
    # GIVEN a call stack of any depth
    frame = '  File "/var/task/app/m{n}.py", line {line}, in {f}\n    {f}()\n'
    stack = "".join(frame.format(n=n, line=n + 1, f=f) for n, f in enumerate(functions))
    head = LOGGING_ERROR.split("Call stack:\n", maxsplit=1)[0]
    text = f"{head}Call stack:\n{stack}Message: 'x'\nArguments: ()\n"
    # WHEN
    [tb] = rejoin(find_in_text(text))
    # THEN the frames are the call stack's, in order, then the handler's
    assert [f.function for f in tb.final.frames] == [*functions, "emit", "getMessage"]
