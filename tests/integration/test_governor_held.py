"""The governor store on dynalite: priority between runbooks, held-back work kept (not final), healed by
the same signal only, standalone instances under one limit, own-action proven by the audit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.adapters.governor_store import GovernorStore
from chalicelib.core.runbooks.plan import Call, Incident, Limits, Plan, Target
from tests.dynalite import create_table, dynalite_endpoint, dynalite_table, dynamodb_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

NOW = 1_800_000_000_000
MIN = 60_000
LIVE = Limits(dry_run=False, cooldown_s=900, max_attempts=2, attempt_window_s=6 * 3600, hourly_rate=50, max_in_flight=1)


def alarm(resource: str, at: int | str = 0, state: str = "open", metric: str = "cpu") -> Incident:
    return Incident(
        "alarm",
        f"arn:aws:cloudwatch:us-east-1:1:alarm:{metric}-{resource}#{at}",
        state,
        f"AWS/EC2/{metric}",
        (resource,),
        facts={"alarm_name": f"{metric}-{resource}"},
    )


def finding(resource: str, finding_id: str = "f1", caused_by: str = "") -> Incident:
    return Incident(
        "guardduty",
        f"guardduty:{finding_id}#NETWORK_CONNECTION",
        "open",
        "Backdoor:EC2/C&CActivity.B",
        (resource,),
        caused_by_selfheal=caused_by,
    )


def plan(runbook: str, resource: str, fleet: str = "asg:web") -> Plan:
    return Plan(runbook, Target("ec2-instance", resource, fleet, "us-east-1"), (Call("ec2", "x", {"Id": resource}),))


@pytest.fixture
def store(dynalite_table) -> GovernorStore:  # noqa: F811 - the fixture imported above
    client, name = dynalite_table
    return GovernorStore(client, name)


def test_a_pause_by_cpu_reboots_never_keeps_an_isolation_from_happening(store: GovernorStore) -> None:
    # GIVEN a crypto-miner drives CPU: two reboots, then the budget escalates and pauses i-1
    first = store.admit(alarm("i-1", 1), plan("ec2-reboot", "i-1"), LIVE, NOW)
    assert first.decision == "act"
    store.heal(first.action_id, NOW + MIN, "back to OK")
    assert store.admit(alarm("i-1", 2), plan("ec2-reboot", "i-1"), LIVE, NOW + 20 * MIN).decision == "act"
    paused = store.admit(alarm("i-1", 3), plan("ec2-reboot", "i-1"), LIVE, NOW + 40 * MIN)
    assert (paused.decision, paused.pause) == ("escalate", True)
    # WHEN GuardDuty reports C&C activity on the paused instance (a reboot also still in flight in its fleet)
    isolation = store.admit(finding("i-1"), plan("ec2-isolate", "i-1"), LIVE, NOW + 41 * MIN)
    # THEN the isolation is decided on its own merits: it acts
    assert (isolation.decision, isolation.rule) == ("act", "ok")
    # and repairs stay paused
    again = store.admit(alarm("i-1", 4), plan("ec2-reboot", "i-1"), LIVE, NOW + 80 * MIN)
    assert (again.decision, again.rule) == ("suppressed", "paused")


def test_a_retirement_is_not_held_back_by_a_repair_in_flight_in_its_fleet(store: GovernorStore) -> None:
    assert store.admit(alarm("i-0"), plan("ec2-reboot", "i-0"), LIVE, NOW).decision == "act"
    retire = Incident("health", "arn:aws:health:us-east-1::event/EC2/R/1#i-1", "open", "RETIRE", ("i-1",))
    assert store.admit(retire, plan("ec2-retire", "i-1"), LIVE, NOW + MIN).decision == "act"
    # while a repair is held back by the retirement in flight (same or higher priority counts)
    held = store.admit(alarm("i-2"), plan("ec2-reboot", "i-2"), LIVE, NOW + 2 * MIN)
    assert (held.decision, held.rule) == ("suppressed", "blast-radius")


def test_a_held_back_finding_is_decided_again_not_a_duplicate(store: GovernorStore) -> None:
    # GIVEN one isolation in flight in the fleet (limit 1), a second finding is held back
    first = store.admit(finding("i-1", "f1"), plan("ec2-isolate", "i-1"), LIVE, NOW)
    held = store.admit(finding("i-2", "f2"), plan("ec2-isolate", "i-2"), LIVE, NOW + MIN)
    assert (held.decision, held.rule) == ("suppressed", "blast-radius")
    [waiting] = store.held()
    assert (waiting.incident.identity, waiting.rule, waiting.priority) == (
        finding("i-2", "f2").identity,
        "blast-radius",
        2,
    )
    assert waiting.deadline_ms == NOW + MIN + 3_600_000
    # WHEN the first closes and GuardDuty re-publishes the second finding
    store.heal(first.action_id, NOW + 2 * MIN, "verified")
    again = store.admit(finding("i-2", "f2"), plan("ec2-isolate", "i-2"), LIVE, NOW + 3 * MIN)
    # THEN it is decided again and acts; it is no longer held
    assert (again.decision, again.rule) == ("act", "ok")
    assert store.held() == []
    # and from now on its copies are duplicates
    assert store.admit(finding("i-2", "f2"), plan("ec2-isolate", "i-2"), LIVE, NOW + 4 * MIN).rule == "duplicate"


def test_a_revisit_held_again_writes_no_audit_record_and_counts_the_look(store: GovernorStore) -> None:
    store.admit(alarm("i-1"), plan("ec2-reboot", "i-1"), LIVE, NOW)
    store.admit(alarm("i-2"), plan("ec2-reboot", "i-2"), LIVE, NOW)
    audited = len(store.actions())
    again = store.admit(alarm("i-2"), plan("ec2-reboot", "i-2"), LIVE, NOW + 5 * MIN, revisit=True)
    assert (again.decision, again.rule) == ("suppressed", "blast-radius")
    assert len(store.actions()) == audited
    [waiting] = store.held()
    assert (waiting.looks, waiting.since_ms, waiting.last_ms) == (2, NOW, NOW + 5 * MIN)


def test_held_work_given_up_is_audited_under_an_id_of_its_own(store: GovernorStore) -> None:
    store.admit(alarm("i-1"), plan("ec2-reboot", "i-1"), LIVE, NOW)
    store.admit(alarm("i-2"), plan("ec2-reboot", "i-2"), LIVE, NOW)
    [waiting] = store.held()
    record = store.release_held(waiting, "escalate", "held-too-long", "held too long", NOW + 3 * 3_600_000)
    assert record is not None and (record.decision, record.rule, record.resource) == (
        "escalate",
        "held-too-long",
        "i-2",
    )
    assert store.held() == []
    assert store.release_held(waiting, "escalate", "held-too-long", "twice", NOW) is None  # ended once


def test_another_alarm_going_ok_on_the_same_instance_does_not_heal_the_action(store: GovernorStore) -> None:
    acted = store.admit(alarm("i-1", 1), plan("ec2-reboot", "i-1"), LIVE, NOW)
    # WHEN the disk alarm of i-1 goes OK (CWAgent metrics do across a reboot)
    disk_ok = store.admit(alarm("i-1", 2, "resolved", "disk"), plan("disk-cleanup", "i-1"), LIVE, NOW + MIN)
    # THEN nothing is healed: the reboot is still in flight
    assert (disk_ok.decision, disk_ok.rule) == ("ignore", "resolved")
    assert store.get(acted.action_id).open
    # and the CPU alarm's own OK heals it
    cpu_ok = store.admit(alarm("i-1", 3, "resolved"), plan("ec2-reboot", "i-1"), LIVE, NOW + 2 * MIN)
    assert cpu_ok.decision == "healed" and store.get(acted.action_id).outcome == "healed"


def test_thirty_standalone_instances_share_the_runbooks_in_flight_limit(store: GovernorStore) -> None:
    limits = replace(LIVE, max_in_flight=2, max_in_flight_pct=10.0)
    records = [store.admit(alarm(f"i-{n}"), plan("ec2-reboot", f"i-{n}", ""), limits, NOW) for n in range(30)]
    decisions = [(r.decision, r.rule) for r in records]
    assert decisions.count(("act", "ok")) == 2
    assert decisions.count(("suppressed", "blast-radius")) == 28
    assert {r.fleet for r in records} == {"standalone:ec2-reboot"}
    assert len(store.held()) == 28


def test_a_tag_claiming_selfheal_does_not_keep_an_isolation_away(store: GovernorStore) -> None:
    tag = "the resource carries selfheal's tag selfheal:action=ec2-isolate"
    # GIVEN a workload tagged its own instance THEN the finding is still decided (acts)
    forged = store.admit(finding("i-1", "f1", tag), plan("ec2-isolate", "i-1"), LIVE, NOW)
    assert (forged.decision, forged.rule) == ("act", "ok")
    # GIVEN selfheal's own isolation of i-1 is in the audit THEN a later finding about it is its own doing
    own = store.admit(finding("i-1", "f2", tag), plan("ec2-isolate", "i-1"), LIVE, NOW + MIN)
    assert (own.decision, own.rule) == ("ignore", "own-action") and forged.action_id in own.reason


def test_a_repeat_is_told_once_per_window(store: GovernorStore) -> None:
    assert store.tell_once("repeat", "ec2-reboot#i-1", NOW + 15 * MIN, NOW)
    assert not store.tell_once("repeat", "ec2-reboot#i-1", NOW + 16 * MIN, NOW + MIN)
    assert store.tell_once("repeat", "ec2-reboot#i-1", NOW + 31 * MIN, NOW + 15 * MIN)


def test_digest_notes_are_kept_until_forgotten(store: GovernorStore) -> None:
    store.note("notify", "i-1: disk alarm, no runbook applies", NOW)
    store.note("notify", "i-2: memory alarm, no runbook applies", NOW + 1)
    notes = store.notes()
    assert [text for _, _, text in notes] == [
        "i-1: disk alarm, no runbook applies",
        "i-2: memory alarm, no runbook applies",
    ]
    store.forget_notes(key for key, _, _ in notes)
    assert store.notes() == []


def test_a_held_item_left_by_a_crash_is_dropped_when_its_identity_is_found_decided(store: GovernorStore) -> None:
    store.admit(alarm("i-1"), plan("ec2-reboot", "i-1"), LIVE, NOW)
    store.admit(alarm("i-2"), plan("ec2-reboot", "i-2"), LIVE, NOW)
    [waiting] = store.held()
    raw = store._db.get_item(TableName=store._table, Key={"pk": {"S": "held"}, "sk": {"S": waiting.key}})["Item"]
    store.heal(store.actions(decision="act")[0].action_id, NOW + MIN, "healed")
    assert store.admit(alarm("i-2"), plan("ec2-reboot", "i-2"), LIVE, NOW + 2 * MIN).decision == "act"
    # GIVEN a crash between the final record and the held item's delete (the item put back)
    store._db.put_item(TableName=store._table, Item=raw)
    # WHEN the verifier decides it again THEN it is a duplicate, and no longer held
    again = store.admit(alarm("i-2"), plan("ec2-reboot", "i-2"), LIVE, NOW + 3 * MIN, revisit=True)
    assert again.rule == "duplicate"
    assert store.held() == []
