"""Logging errors as the standard library prints them: a real ``logging`` call whose format string
its arguments do not fit, run by this interpreter, and what ``logging.Handler.handleError`` wrote
to stderr (``--- Logging error ---``, the handler's traceback, ``Call stack:``, ``Message:``,
``Arguments:``).

The call runs in a thread of its own, so the call stack is short and the same in every test:
``threading``'s three frames, then ``_call`` ``depth + 1`` times, the last one the logging call.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
import traceback

# The source line of the logging call, as the call stack prints it.
LOGGING_CALL = "log.error(message, *args)"


def _call(log: logging.Logger, depth: int, message: object, args: tuple[object, ...]) -> None:
    if depth:
        _call(log, depth - 1, message, args)
    else:
        log.error(message, *args)


class Python2Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler whose ``handleError`` is Python 2.7's: the handler's traceback, then ``Logged from
    file <name>, line <n>`` (no ``--- Logging error ---``, no call stack, no message)."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - the stdlib's name
        traceback.print_exc()
        sys.stderr.write(f"Logged from file {record.filename}, line {record.lineno}\n")


def logging_error(
    message: object = "order %d failed",
    args: tuple[object, ...] = ("abc",),
    depth: int = 0,
    handler: type[logging.StreamHandler] = logging.StreamHandler,  # type: ignore[type-arg]
) -> str:
    """What stderr holds after ``log.error(message, *args)`` failed in a ``StreamHandler`` on an
    ``io.StringIO``, ``depth`` calls deep in a thread."""
    # A logger of its own, outside the logging tree: pytest's capture handlers, attached to the
    # tree's loggers, raise on a logging error instead of printing it.
    log = logging.Logger("app")
    sink = handler(io.StringIO())
    log.addHandler(sink)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            worker = threading.Thread(target=_call, args=(log, depth, message, args))
            worker.start()
            worker.join()
    finally:
        log.removeHandler(sink)
    return err.getvalue()
