"""Is the signal that asked for held-back work still active? The verifier asks before deciding it again.

- An alarm: ``cloudwatch:DescribeAlarms`` by name (up to 100 a call). ALARM or INSUFFICIENT_DATA:
  active; OK: ended; no such alarm (deleted): ended.
- A GuardDuty finding or an AWS Health event: there is no cheap read of "still active" that holds
  for every account set-up, so the stored event stands until its hold deadline
  (``core/governor.hold_deadline``), when a person is told.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate

if TYPE_CHECKING:
    from collections.abc import Iterable

    from chalicelib.core.runbooks.plan import Incident

log = logging.getLogger(__name__)

# active: still in ALARM (decide it again); ended: OK or gone (close it); quiet: INSUFFICIENT_DATA, no
# datapoint says either way (keep it held: its deadline still tells a person).
SignalState = Literal["active", "ended", "quiet"]
_BATCH = 100  # DescribeAlarms takes at most 100 names


class SignalReader:
    """Reads the current state of the signals behind held incidents (``cloudwatch`` client factory)."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch

    def states(self, incidents: Iterable[Incident]) -> dict[str, SignalState]:
        """``{identity: "active" | "ended" | "quiet"}`` for every incident given (alarms read in batches)."""
        incidents = list(incidents)
        names = sorted({str(i.facts.get("alarm_name", "")) for i in incidents if i.source == "alarm"} - {""})
        alarms = self._alarm_states(names)
        out: dict[str, SignalState] = {}
        for incident in incidents:
            if incident.source != "alarm":
                out[incident.identity] = "active"
                continue
            state = alarms.get(str(incident.facts.get("alarm_name", "")), "")
            out[incident.identity] = {"ALARM": "active", "INSUFFICIENT_DATA": "quiet"}.get(state, "ended")
        return out

    def _alarm_states(self, names: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(names), _BATCH):
            chunk = names[start : start + _BATCH]
            try:
                pages = self._cloudwatch.get_paginator("describe_alarms").paginate(
                    AlarmNames=chunk, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
                )
                for page in pages:
                    for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                        found[alarm["AlarmName"]] = alarm.get("StateValue", "")
            except ClientError as exc:
                raise translate(exc, "CloudWatch DescribeAlarms") from exc
        return found
