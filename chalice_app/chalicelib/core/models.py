"""Domain data: frozen dataclasses that the core builds and every other layer reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChainLink = Literal["cause", "context"]


@dataclass(frozen=True)
class Frame:
    """One stack frame as printed: where the call was and the code on that line."""

    file: str
    line: int | None
    function: str | None
    source: str = ""
    repeated: int = 0  # "[Previous line repeated N more times]" printed after this frame


@dataclass(frozen=True)
class Location:
    """A file position without a function: where a SyntaxError points."""

    file: str
    line: int | None
    source: str = ""


@dataclass(frozen=True)
class RaisedException:
    """One exception of a chain: its type as printed, first message line, frames, outermost first."""

    type: str
    message: str = ""
    frames: tuple[Frame, ...] = ()
    # Lines printed after the message: a multi-line message's rest or PEP 678 notes
    # (CPython prints both the same way, so they cannot be told apart).
    notes: tuple[str, ...] = ()
    # How this exception leads to the next one in the chain, if any.
    link: ChainLink | None = None
    # Sub-exceptions of an exception group (PEP 654), in printed order.
    children: tuple[RaisedException, ...] = ()
    syntax_error: Location | None = None

    @property
    def short_type(self) -> str:
        """The class name without its module: what Lambda's text form prints."""
        return self.type.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Traceback:
    """A whole printed traceback: the chain of exceptions, oldest first, the final one last."""

    exceptions: tuple[RaisedException, ...]
    text: str
    form: str
    origin: int = 0  # the line (text) or log event index (payload) where it starts
    truncated: bool = False
    log_stream: str = ""
    timestamp: int | None = None

    @property
    def final(self) -> RaisedException:
        """The exception that ended the program or request."""
        return self.exceptions[-1]
