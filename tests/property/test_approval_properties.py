"""Safety decisions of an approval, over generated plans and ids:

- a plan re-made from fresh reads runs only when each of its calls is, but for the target's parts
  (network interfaces) it names, a call of the approved plan: nothing the person did not approve;
- parts attached or detached since are reported exactly;
- a short id resolves to an action only when exactly one id starts with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from operate_cli import resolve_id

from chalicelib.core.runbooks.plan import Call, Plan, Target
from chalicelib.errors import Refused
from chalicelib.usecases.approve import _form, compare

ENIS = st.lists(st.sampled_from([f"eni-{i:04x}" for i in range(12)]), min_size=1, max_size=5, unique=True)
GROUPS = st.sampled_from(["sg-untrack1", "sg-untrack2"]), st.sampled_from(["sg-isolate1", "sg-isolate2"])


def isolation(enis: list[str], untrack: str, isolate: str, group: str | None = "web") -> Plan:
    """An ec2-isolate-shaped plan: instance-level calls, then every interface twice."""
    calls = [Call("autoscaling", "detach_instances", {"InstanceIds": ["i-1"], "AutoScalingGroupName": group})] * (
        group is not None
    )
    calls += [Call("ec2", "create_tags", {"Resources": ["i-1"], "Tags": [{"Key": "selfheal:action"}]})]
    calls += [
        Call("ec2", "modify_network_interface_attribute", {"NetworkInterfaceId": e, "Groups": [untrack]}) for e in enis
    ]
    calls += [
        Call("ec2", "modify_network_interface_attribute", {"NetworkInterfaceId": e, "Groups": [isolate]}) for e in enis
    ]
    return Plan("ec2-isolate", Target("ec2-instance", "i-1", "asg:web"), tuple(calls))


@given(approved=ENIS, fresh=ENIS, untrack=GROUPS[0], isolate=GROUPS[1], grouped=st.booleans())
def test_a_fresh_plan_runs_only_calls_the_person_approved(
    approved: list[str], fresh: list[str], untrack: str, isolate: str, grouped: bool
) -> None:
    old = isolation(approved, "sg-untrack1", "sg-isolate1")
    new = isolation(fresh, untrack, isolate, "web" if grouped else None)
    why, change = compare(old, new)
    same_groups = (untrack, isolate) == ("sg-untrack1", "sg-isolate1")
    # THEN it may run exactly when the groups are the approved ones (parts and a dropped detach are fine)
    assert (why == "") == same_groups
    if not why:
        assert {_form(c) for c in new.calls} <= {_form(c) for c in old.calls}
        added, gone = sorted(set(fresh) - set(approved)), sorted(set(approved) - set(fresh))
        assert all(e in change for e in added + gone)
        assert ("attached since" in change) == bool(added) and ("detached since" in change) == bool(gone)
    else:
        assert change == ""


@given(enis=ENIS)
def test_a_plan_with_a_problem_another_target_or_a_stand_down_never_runs(enis: list[str]) -> None:
    old = isolation(enis, "sg-untrack1", "sg-isolate1")
    other = dataclasses.replace(old, target=Target("ec2-instance", "i-2", "asg:web"))
    assert compare(old, dataclasses.replace(old, calls=(), problem="instance i-1 is terminated"))[0]
    assert compare(old, other)[0]
    assert compare(old, dataclasses.replace(old, calls=(), stand_down="stopped"))[0]
    assert compare(old, old) == ("", "")


@dataclass(frozen=True)
class Rec:
    action_id: str


class Audit:
    """The two reads resolve_id makes of the governor store: get(id) and actions(...)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def get(self, action_id: str) -> Rec | None:
        return Rec(action_id) if action_id in self.ids else None

    def actions(self, decision: str | None = None, limit: int = 100) -> list[Rec]:
        return [Rec(i) for i in self.ids[:limit]]


IDS = st.lists(st.text("0123456789abcdef.", min_size=3, max_size=10), min_size=1, max_size=8, unique=True)


@given(ids=IDS, data=st.data())
def test_a_short_id_names_an_action_only_when_it_is_exact_or_unique(ids: list[str], data: st.DataObject) -> None:
    chosen = data.draw(st.sampled_from(ids))
    prefix = chosen[: data.draw(st.integers(1, len(chosen)))]
    starting = [i for i in ids if i.startswith(prefix)]
    if prefix in ids or len(starting) == 1:
        assert resolve_id(Audit(ids), prefix) == (prefix if prefix in ids else starting[0])
    else:
        with pytest.raises(Refused) as refused:
            resolve_id(Audit(ids), prefix)
        assert "ambiguous" in str(refused.value) and all(i in str(refused.value) for i in sorted(starting)[:8])
