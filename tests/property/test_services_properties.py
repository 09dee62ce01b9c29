"""Properties of routing log groups to services, and of per-service fingerprints."""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.core.fingerprint import components, fingerprint, grouping, observe
from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.services import DEFAULT, NAME, Service, ServiceCatalog
from tests.conftest import ROOT
from tests.property.test_tracebacks_properties import tracebacks

LOG_GROUP = st.text(string.ascii_letters + string.digits + "_./#-", min_size=1, max_size=40).map("/".__add__)
SERVICE_NAME = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20).filter(NAME.match)
# Generated tracebacks are rendered and parsed: fewer of them keep each property to a few seconds.
FEW = settings(max_examples=60)
# The sample app's five bugs, fingerprinted by the code before services existed: the default
# service's fingerprints must never change (stored groups keep their keys).
BEFORE_SERVICES = {
    "003a5d4969c78fa13482253c61dd1503",
    "0717b95b0278d85bca60a43e521dfa2f",
    "24565c64e284b9ebecab1166b60b4fee",
    "9a4d8be4402bf70e55a7e11b826860ef",
    "d771802e2616434b3d89f65b45dca522",
}


def services_of(patterns: list[str]) -> ServiceCatalog:
    """One service per pattern, named s0, s1… in the order given."""
    return ServiceCatalog(tuple(Service(f"s{n}", (p,)) for n, p in enumerate(patterns)), configured=True)


@given(LOG_GROUP)
def test_without_a_catalog_the_default_service_owns_every_log_group(log_group: str) -> None:
    assert ServiceCatalog.parse(None).route(log_group) == DEFAULT


@given(LOG_GROUP, st.data())
def test_an_exact_name_beats_every_prefix_of_it(log_group: str, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(log_group)), max_size=5, unique=True))
    patterns = [log_group[:cut] + "*" for cut in cuts] + [log_group]
    order = data.draw(st.permutations(patterns))
    routed = services_of(order).route(log_group)
    assert routed is not None and routed.log_groups == (log_group,)


@given(LOG_GROUP, st.data())
def test_the_longest_matching_prefix_wins_whatever_the_order(log_group: str, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(log_group)), min_size=1, max_size=6, unique=True))
    others = data.draw(st.lists(LOG_GROUP, max_size=3))  # prefixes that may not match at all
    patterns = [log_group[:cut] + "*" for cut in cuts] + [o + "*" for o in others if o not in log_group]
    patterns = list(dict.fromkeys(patterns))
    routed = services_of(data.draw(st.permutations(patterns))).route(log_group)
    assert routed is not None and routed.log_groups == (log_group[: max(cuts)] + "*",)


@given(LOG_GROUP, LOG_GROUP)
def test_a_log_group_matching_no_pattern_routes_nowhere(log_group: str, other: str) -> None:
    assume(not log_group.startswith(other) and log_group != other)
    assert services_of([other + "*", other]).route(log_group) is None


@FEW
@given(tracebacks())
def test_the_default_services_fingerprint_is_the_hash_of_the_grouping_components_as_before(tb) -> None:
    before = hashlib.md5(
        "\n".join(f"{c.key}={c.value}" for c in components(tb) if c.contributes).encode(), usedforsecurity=False
    ).hexdigest()
    assert fingerprint(tb) == fingerprint(tb, "default") == grouping(tb, "").fingerprint == before


@FEW
@given(tracebacks(), SERVICE_NAME, SERVICE_NAME)
def test_the_same_bug_in_two_services_is_two_groups(tb, one: str, two: str) -> None:
    assume(one != two)
    prints = {fingerprint(tb, one), fingerprint(tb, two), fingerprint(tb)}
    assert len(prints) == (2 if "default" in (one, two) else 3)
    assert all(len(p) == 32 and int(p, 16) >= 0 for p in prints)


@FEW
@given(tracebacks(), SERVICE_NAME)
def test_observations_carry_their_service_and_its_fingerprint(tb, service: str) -> None:
    [seen] = observe([tb, tb], "/aws/lambda/x", default_ts=1, service=service)
    assert (seen.service, seen.fingerprint, seen.count) == (service, fingerprint(tb, service), 2)


def test_the_sample_apps_default_fingerprints_are_those_from_before_services() -> None:
    logs = ROOT / "scripts" / "sample_app" / "logs"
    for name in ("app.log", "lambda.log"):
        found = read_tracebacks(Path(logs / name).read_bytes())
        assert {fingerprint(tb) for tb in found} == BEFORE_SERVICES
        assert not {fingerprint(tb, "billing") for tb in found} & BEFORE_SERVICES
