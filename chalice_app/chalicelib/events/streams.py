"""Typed, read-only view of the error-group table's DynamoDB stream records, made once at the edge.

Images are deserialized once; a malformed record raises PayloadError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib.core.models import FixJob, Status
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from collections.abc import Mapping

_DE = TypeDeserializer()


class GroupStreamRecord:
    """One DynamoDB stream record of the error-group table, images deserialized once."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        try:
            self.event_id = str(raw["eventID"])
            self.event_name = str(raw["eventName"])
            change = raw["dynamodb"]
            self.sequence_number = str(change["SequenceNumber"])
        except (KeyError, TypeError) as exc:
            raise PayloadError(f"stream record lacks {exc}") from exc
        self.new_image = {k: _DE.deserialize(v) for k, v in (change.get("NewImage") or {}).items()}
        self.old_image = {k: _DE.deserialize(v) for k, v in (change.get("OldImage") or {}).items()}

    @property
    def fingerprint(self) -> str:
        """The group's key."""
        image = self.new_image or self.old_image
        return str(image.get("fingerprint", ""))

    def job(self) -> FixJob | None:
        """The fix job this change calls for: a new group, one explicitly re-opened, a merged fix
        that regressed, or one of these the sweep took up because the stream never queued it.
        Counter bumps (MODIFY with status unchanged) and everything else call for none."""
        new_status = self.new_image.get("status")
        if self.swept:
            # The job its first record would have asked for (usecases/requeue.py SweepNew): a
            # REGRESSED group's stays a regression; a NEW group re-opened since its creation stays
            # a re-open (every re-open writes its reason, who re-opened it or who resumed it; a
            # new group has none of them until it leaves NEW).
            if new_status == Status.REGRESSED:
                return self._job("regressed")
            image = self.new_image
            reopened = image.get("reason") or image.get("reopened_by") or image.get("resumed_by")
            return self._job("reopened" if reopened else "new")
        if (
            new_status == Status.REGRESSED
            and self.event_name == "MODIFY"
            and self.old_image.get("status") in Status.REGRESSES_FROM
        ):
            return self._job("regressed")  # the merged fix did not hold: a new attempt
        if new_status != Status.NEW:
            return None
        if self.event_name == "INSERT":
            trigger = "new"
        elif self.event_name == "MODIFY" and self.old_image.get("status") in Status.REOPENED_FROM:
            trigger = "reopened"
        else:
            return None
        return self._job(trigger)

    @property
    def swept(self) -> bool:
        """The sweep of groups left NEW took this NEW or REGRESSED group up (a new ``swept_at``)."""
        status = self.new_image.get("status")
        return (
            self.event_name == "MODIFY"
            and status in (Status.NEW, Status.REGRESSED)
            and self.old_image.get("status") == status
            and "swept_at" in self.new_image
            and "swept_at" not in self.old_image  # once a wait (sweep_new's condition, the stream's filter)
        )

    def _job(self, trigger: str) -> FixJob:
        return FixJob(
            fingerprint=self.fingerprint,
            exception_type=str(self.new_image.get("exception_type", "")),
            occurrences=int(self.new_image.get("occurrences", 0)),
            trigger=trigger,
            token=self.event_id,
            service=str(self.new_image.get("service") or "default"),
        )

    def __str__(self) -> str:
        return f"GroupStreamRecord({self.event_name} {self.fingerprint} #{self.sequence_number})"
