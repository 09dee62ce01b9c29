"""Webhook delivery markers of the error-group table: one item per GitHub delivery applied.

    delivery ``~delivery~<id>`` marker             if delivery_unseen  (a webhook delivery applied once)

The marker is TTL'd (longer than GitHub keeps a delivery redeliverable); a delivery that could not
be applied releases its marker, so that a redelivery is applied (usecases/resolve.py). A marker has
no status: ``scan`` skips it and the stream turns it into no job.
"""

from __future__ import annotations

import logging

from botocore.exceptions import ClientError

from chalicelib.adapters.table import DAY, Table, Update
from chalicelib.adapters.table import av as _av
from chalicelib.errors import Conflict

__all__ = ["DELIVERY_PREFIX", "DeliveryMarkers"]

log = logging.getLogger(__name__)

DELIVERY_PREFIX = "~delivery~"
DELIVERY_UNSEEN = "attribute_not_exists(#seen)"


class DeliveryMarkers(Table):
    """The table's webhook delivery markers (``~delivery~`` items). ``now`` is epoch milliseconds."""

    def see_delivery(self, delivery_id: str, now: int, keep_seconds: int = 7 * DAY) -> bool:
        """Mark a webhook delivery as applied; False when it was already (a redelivery). The marker
        expires after ``keep_seconds``, longer than GitHub keeps a delivery redeliverable (3 days)."""
        update = Update().set("seen", now).set("expires_at", now // 1000 + keep_seconds)
        try:
            self._update(f"{DELIVERY_PREFIX}{delivery_id}", update.request(DELIVERY_UNSEEN), "NONE", "delivery")
        except Conflict:
            return False
        return True

    def forget_delivery(self, delivery_id: str) -> None:
        """Drop a delivery marker whose delivery could not be applied, so a redelivery is applied."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"fingerprint": _av(f"{DELIVERY_PREFIX}{delivery_id}")},
                UpdateExpression="REMOVE #seen",
                ExpressionAttributeNames={"#seen": "seen"},
            )
        except ClientError:
            log.warning("delivery marker %s not released", delivery_id, exc_info=True)
