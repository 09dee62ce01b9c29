"""Event sources are declared by runbooks (``Runbook.events``): the rule's pattern, the view, the
catalog's trigger sources, the handler and Terraform's validation list all follow the declarations."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runbook_terraform import generate

from chalicelib.core.runbooks import RUNBOOKS, ec2_reboot
from chalicelib.core.runbooks.declare import EVENT_HANDLER, VERIFIER, EventSource
from chalicelib.core.runbooks.registry import collect_events, event_pattern, event_sources
from chalicelib.errors import ConfigError
from chalicelib.events.declared import DeclaredEvent
from chalicelib.usecases.approve import incident_of

JOBS = EventSource(
    name="jobs",
    source="aws.example",
    detail_type="Job State Change",
    subject="state",
    resource="resourceArn",
    resource_kind="example-resource",
    identity=("jobId", "state"),
    detail={"state": ["FAILED"]},
    facts=("vault",),
    resolved=("COMPLETED",),
)


def _runbook(name: str, *events: EventSource) -> object:
    triggers = [{"source": e.name, "types": ["*"]} for e in events]
    return dataclasses.replace(ec2_reboot.RUNBOOK, name=name, events=events, default={"triggers": triggers})


def _event(**detail: object) -> dict:
    return {
        "version": "0",
        "id": "e1",
        "source": "aws.example",
        "detail-type": "Job State Change",
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2026-12-05T10:00:00Z",
        "resources": [],
        "detail": detail,
    }


def test_a_declared_source_is_its_own_pattern_and_several_are_or_ed_each_with_its_filter() -> None:
    other = dataclasses.replace(JOBS, name="other", source="aws.other", detail={})
    assert JOBS.pattern() == {
        "source": ["aws.example"],
        "detail-type": ["Job State Change"],
        "detail": {"state": ["FAILED"]},
    }
    assert other.pattern() == {"source": ["aws.other"], "detail-type": ["Job State Change"]}
    # the deployed pattern: every declared source, and nothing else
    declared = list(event_sources().values())
    pattern = event_pattern()
    alternatives = pattern.get("$or", [pattern])
    assert alternatives == ([s.pattern() for s in declared] or [{"source": ["selfheal.none"]}])


def test_two_runbooks_may_share_a_source_only_when_they_declare_it_alike() -> None:
    same = collect_events([_runbook("a", JOBS), _runbook("b", JOBS)])
    assert list(same) == ["jobs"]
    with pytest.raises(ConfigError, match="'jobs' is declared differently by b"):
        collect_events([_runbook("a", JOBS), _runbook("b", dataclasses.replace(JOBS, subject="status"))])


def test_a_source_needs_a_new_name_and_an_identity() -> None:
    with pytest.raises(ConfigError, match="not one of"):
        dataclasses.replace(JOBS, name="alarm")
    with pytest.raises(ConfigError, match="no identity"):
        dataclasses.replace(JOBS, identity=())


def test_a_runbook_triggered_by_a_declared_source_runs_in_the_event_remediator() -> None:
    assert _runbook("a", JOBS).handlers() == (EVENT_HANDLER, VERIFIER)
    for runbook in RUNBOOKS.values():
        if runbook.events:
            assert runbook.handlers()[0] == EVENT_HANDLER, runbook.name


def test_the_view_reads_subject_resource_identity_and_facts_by_the_declaration() -> None:
    raw = _event(jobId="j-1", state="FAILED", resourceArn="arn:aws:x:::r", vault="v", secret="not copied")
    incident = DeclaredEvent(raw, JOBS).incident()
    assert (incident.source, incident.identity, incident.state) == ("jobs", "jobs:j-1#FAILED", "open")
    assert (incident.subject, incident.resources) == ("FAILED", ("arn:aws:x:::r",))
    assert incident.facts == {"vault": "v", "resource_kind": "example-resource"}
    assert (incident.region, incident.account) == ("us-east-1", "123456789012")
    assert DeclaredEvent(_event(jobId="j-1", state="COMPLETED", resourceArn="r"), JOBS).incident().state == "resolved"


def test_an_event_naming_no_resource_is_ambiguous_and_a_foreign_one_never_acts() -> None:
    incident = DeclaredEvent(_event(jobId="j-1", state="FAILED"), JOBS).incident()
    assert incident.resources == () and "names no resourceArn" in incident.ambiguity
    foreign = DeclaredEvent(_event(jobId="j", state="FAILED", resourceArn="r"), JOBS, home=("999999999999", ""))
    assert "account 123456789012" in foreign.incident().never_act


FIELDS = st.sampled_from(["jobId", "state", "resourceArn", "vault"])


@given(st.dictionaries(FIELDS, st.one_of(st.text(), st.none(), st.integers())))
def test_any_detail_gives_an_incident_never_an_exception(detail: dict) -> None:
    incident = DeclaredEvent(_event(**detail), JOBS).incident()
    assert incident.identity.startswith("jobs:")
    assert bool(incident.resources) != bool(incident.ambiguity)


def test_an_approval_replans_a_declared_source_incident_with_its_source() -> None:
    for name in event_sources():
        record = SimpleNamespace(identity=f"{name}:x#y", resource="r", region="us-east-1")
        assert incident_of(record).source == name
    assert incident_of(SimpleNamespace(identity="unknown:x", resource="r", region="")).source == "alarm"


def test_terraform_validates_trigger_sources_and_carries_the_rule_pattern_from_the_declarations() -> None:
    generated = generate()
    validation = json.dumps(generated["variable"]["runbooks"]["validation"])
    for name in ("alarm", "guardduty", "health", *event_sources()):
        assert f'\\\\"{name}\\\\"' in validation or f'\\"{name}\\"' in validation, name
    assert json.loads(generated["locals"]["runbook_event_pattern"]) == event_pattern()
