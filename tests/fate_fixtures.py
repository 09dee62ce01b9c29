"""Groups at each step of a fix's fate, written through the real store, and a notifier that keeps notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.models import ErrorGroup, Observation, Status
from chalicelib.core.tracebacks import find_in_text
from tests.fix_fixtures import NONE_DISCOUNT_TRACE

if TYPE_CHECKING:
    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.core.notices import Notice

LOG_GROUP = "/aws/lambda/shop"
T0 = 1_795_000_000_000  # 2026-11-18, epoch ms
MINUTE = 60_000
HOUR = 60 * MINUTE
DIFF = (
    "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -9 +9,3 @@\n"
    "+    if not code:\n+        return 0\n     return DISCOUNTS[code.upper()]\n"
)


def observation(at: int, count: int = 1, variant: str = "") -> Observation:
    """One batch's sighting of the sample bug (``variant`` renames its function: another bug)."""
    text = NONE_DISCOUNT_TRACE.replace("discount_percent", f"discount_percent{variant}")
    [tb] = find_in_text(text)
    return Observation(fingerprint(tb), tb, count, at, at, LOG_GROUP)


def open_pr(store: ErrorGroupStore, seen: Observation, pr_url: str, now: int, diff: str = DIFF) -> ErrorGroup:
    """Record the bug and take it through the pipeline's writes to PR_OPENED with ``pr_url``."""
    store.record(seen, now)
    fp = seen.fingerprint
    assert store.mark_queued(fp, f"token-{now}", now)
    claim = store.claim(fp, "test-owner", now, 60, 3)
    assert claim.claimed
    return store.finish(
        fp, "test-owner", Status.PR_OPENED, now, pr_url=pr_url, branch=f"selfheal/{fp[:12]}", extra={"pr_diff": diff}
    )


class Told:
    """A Notifier that keeps every notice."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def publish(self, notice: Notice) -> str:
        self.notices.append(notice)
        return f"m-{len(self.notices)}"
