"""The clock: epoch milliseconds, the one time every service and store compares.

Services take a ``Clock`` (any zero-argument callable returning epoch ms) and default to ``now_ms``;
the composition root (``runtime.Container``) hands every service the same one, so a test or a local
run moves time for all of them at once. This module imports nothing from the package, so any layer
can use it without an import circle.
"""

from __future__ import annotations

import time
from typing import Protocol

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


class Clock(Protocol):
    """Epoch milliseconds now (``now_ms``, or a test's settable clock)."""

    def __call__(self) -> int: ...


def now_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return int(time.time() * 1000)
