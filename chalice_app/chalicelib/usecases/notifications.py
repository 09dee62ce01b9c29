"""Publishing a Notice from a use case: the port, and the rule that a lost message never undoes work."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from chalicelib.errors import SelfHealError

if TYPE_CHECKING:
    from chalicelib.core.notices import Notice
    from chalicelib.usecases.metrics import Counter

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """adapters/notify.SnsNotifier, as use cases publish through it."""

    def publish(self, notice: Notice) -> str: ...


def tell(notifier: Notifier | None, notice: Notice | None, metrics: Counter) -> None:
    """Publish ``notice`` (nothing when either is None). The work it reports is recorded already, so a
    failure to publish is logged and counted (``NotificationsFailed``), never raised: it must not
    make a handler retry, and so repeat, an action or a fix."""
    if notifier is None or notice is None:
        return
    try:
        notifier.publish(notice)
    except SelfHealError:
        log.warning("notification %s not published", notice.kind, exc_info=True)
        metrics.count("NotificationsFailed")
