"""What log_processor writes per delivery: a routine one (known bugs counted) leaves only its counts.

At ~556,000 deliveries a month, each line of log_processor is a line of the bill (docs/cost.md).
Against the moto server, through the real ingest.
"""

from __future__ import annotations

import logging

import pytest

from tests.integration.test_group_detail import _deliver

pytestmark = pytest.mark.integration


class _Kept(logging.Handler):
    """The levels of the ingest logger's "batch processed" records (Powertools keeps the logger's
    records from propagating to pytest's capture)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.levels: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "batch processed":
            self.levels.append(record.levelno)


def test_a_routine_delivery_writes_its_line_at_debug_and_a_new_bug_at_info(aws) -> None:
    logger, kept = logging.getLogger("chalicelib.usecases.ingest"), _Kept()
    level = logger.level
    logger.addHandler(kept)
    logger.setLevel(logging.DEBUG)
    try:
        # WHEN a new bug is delivered, then delivered again
        first = _deliver(1)
        again = _deliver(2)
    finally:
        logger.removeHandler(kept)
        logger.setLevel(level)
    # THEN the first delivery's line is at INFO (a new group), the routine one's at DEBUG only
    assert first["new_groups"] == 1 and again["new_groups"] == 0
    assert kept.levels == [logging.INFO, logging.DEBUG]
