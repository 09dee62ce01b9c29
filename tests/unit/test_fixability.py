"""core/fixability.py on the labelled real-shaped table and the shared corpus, and the catalog's overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.core.fixability import CODE, ENVIRONMENT, INPUT, LIBRARY, FixPolicy, classify, environment_notice
from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.models import Frame, RaisedException
from chalicelib.core.services import ServiceCatalog
from chalicelib.errors import ConfigError
from tests.conftest import SAMPLES

TABLE = Path(__file__).resolve().parent.parent / "samples" / "fixability"
CASES = sorted(TABLE.glob("*.log"))
# samples/real (shared): a dependency's 500, a wrapped ConnectionError, the runtime's frameless import error.
REAL_LABELS = {"026.txt": LIBRARY, "027.txt": ENVIRONMENT, "028.txt": ENVIRONMENT, "068.txt": ENVIRONMENT}


def _chain(data: bytes) -> tuple[RaisedException, ...]:
    [tb] = read_tracebacks(data)
    return tb.exceptions


def test_the_table_holds_every_class() -> None:
    assert {p.name.split("__")[0] for p in CASES} == {CODE, INPUT, ENVIRONMENT, LIBRARY}
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_a_real_shaped_trace_gets_its_label(path: Path) -> None:
    # WHEN
    found = classify(_chain(path.read_bytes()))
    # THEN the class is the label, with a reason, and only code is fixed
    assert found.kind == path.name.split("__")[0], found.reason
    assert found.reason
    assert found.fix == (found.kind == CODE)


def test_the_shared_real_tracebacks_get_their_labels() -> None:
    real = SAMPLES / "real"
    if not (real / "corpus.jsonl").exists():
        pytest.skip("no shared samples")
    got = {p.name: classify(_chain(p.read_bytes())).kind for p in sorted(real.glob("*.txt"))}
    assert got == {name: REAL_LABELS.get(name, CODE) for name in got}


def test_an_in_app_validation_raise_is_input_but_a_bad_argument_deep_in_a_call_is_code() -> None:
    raised = RaisedException(
        "ValueError", "quantity must be positive", (Frame("/var/task/cart.py", 9, "add", 'raise ValueError("q")'),)
    )
    converted = RaisedException(
        "ValueError", "invalid literal for int() with base 10: 'x'", (Frame("/var/task/cart.py", 9, "add", "int(q)"),)
    )
    assert classify((raised,)).kind == INPUT
    assert classify((converted,)).kind == CODE


def test_a_raise_with_no_validation_message_is_code() -> None:
    exc = RaisedException("ValueError", "bad address for user 3", (Frame("/var/task/jobs.py", 14, "f", "raise X"),))
    assert classify((exc,)).kind == CODE


def test_never_fix_wins_and_keeps_the_natural_class() -> None:
    exc = RaisedException("ZeroDivisionError", "division by zero", (Frame("/var/task/billing/legacy/tax.py", 3, "f"),))
    # WHEN the module is never fixed and the type always fixed
    found = classify((exc,), FixPolicy(always_fix=("ZeroDivisionError",), never_fix=("billing.legacy",)))
    # THEN never wins
    assert (found.kind, found.fix) == (CODE, False)
    assert "never fixes billing.legacy" in found.reason


def test_always_fix_sends_an_input_group_to_the_fixer() -> None:
    exc = RaisedException("ValueError", "invalid code", (Frame("/var/task/a.py", 3, "f", "raise ValueError(x)"),))
    found = classify((exc,), FixPolicy(always_fix=("ValueError",)))
    assert (found.kind, found.fix) == (CODE, True)


def test_fix_library_lets_a_library_only_group_through() -> None:
    exc = RaisedException("KeyError", "'x'", (Frame("/var/lang/lib/python3.11/site-packages/m/a.py", 3, "f"),))
    assert classify((exc,)).fix is False
    found = classify((exc,), FixPolicy(fix_library=True))
    assert (found.kind, found.fix) == (LIBRARY, True)


def test_the_catalog_carries_the_overrides_and_refuses_bad_entries() -> None:
    doc = '{"services": [{"name": "a", "log_groups": ["*"], "always_fix": ["shop.ValueError"], "never_fix": '
    catalog = ServiceCatalog.parse(doc + '["shop/legacy"], "fix_library": true}]}')
    assert catalog.services[0].fix_policy == FixPolicy(("shop.ValueError",), ("shop/legacy",), True)
    assert ServiceCatalog.parse(catalog.to_json()) == catalog
    with pytest.raises(ConfigError, match="never_fix entry"):
        ServiceCatalog.parse('{"services": [{"name": "a", "log_groups": ["*"], "never_fix": ["a b"]}]}')
    with pytest.raises(ConfigError, match="fix_library must be true or false"):
        ServiceCatalog.parse('{"services": [{"name": "a", "log_groups": ["*"], "fix_library": "yes"}]}')


def test_the_environment_notice_names_the_groups() -> None:
    assert environment_notice([]) is None
    notice = environment_notice([("a" * 32, "TimeoutError", "TimeoutError is a timeout")] * 12)
    assert notice is not None and "12 error group(s)" in notice.title
    assert "aaaaaaaaaaaa TimeoutError" in notice.description and "and 2 more" in notice.description
