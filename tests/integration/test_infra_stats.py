"""`local --infra`'s document ends with the incident's healing statistics, and they agree with its
audit trail (the day counters against the records they count). One run of the incident on the
shared moto server (~8 s): the end-to-end check of the counters through the real handlers."""

from __future__ import annotations

from collections import Counter

import pytest
from local_infra import run_infra

pytestmark = pytest.mark.integration


def test_the_incident_ends_with_its_stats_and_they_match_its_audit(moto_endpoint: str) -> None:
    seen, audit = run_infra(moto_endpoint, lambda _: None)
    doc = seen.summary()
    # THEN the document keeps its keys and adds the stats (contract shape)
    assert set(doc) == {"decisions", "notifications", "escalations", "in_flight", "stats"}
    stats = doc["stats"]
    by_runbook = {r["runbook"]: r for r in stats["runbooks"]}
    # and each counter says what the audit says, runbook by runbook
    for runbook, figures in by_runbook.items():
        records = [r for r in audit if r.runbook == runbook]
        decided = Counter(r.decision for r in records)
        outcomes = Counter(r.outcome for r in records if r.decision in ("act", "approved"))
        assert figures["acted"] == decided["act"] + decided["approved"], runbook
        assert figures["healed"] == outcomes["healed"] and figures["failed"] == outcomes["failed"], runbook
        assert figures["escalated"] == decided["escalate"] + outcomes["escalated"], runbook
        suppressed = sum(1 for r in records if r.decision == "suppressed" and r.rule != "duplicate")
        assert (figures["suppressed"], figures["duplicates"]) == (suppressed, decided["suppressed"] - suppressed)
    # and the incident's figures: the reboots healed in 5 minutes, the rollback never healed
    reboot = by_runbook["ec2-reboot"]
    assert reboot["layer"] == "infrastructure" and reboot["success_rate"] == 1.0
    assert reboot["median_time_to_heal_s"] == 300.0 and reboot["escalated"] >= 1
    assert by_runbook["lambda-rollback"]["layer"] == "platform"
    assert by_runbook["lambda-rollback"]["success_rate"] == 0.0
    assert sum(f["acted"] for f in stats["layers"].values()) == sum(r["acted"] for r in stats["runbooks"])
