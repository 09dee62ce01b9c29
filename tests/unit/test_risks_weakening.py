"""core/risks.py scan_weakening: a fix that makes an error go away by checking less is named."""

from __future__ import annotations

import pytest

from chalicelib.core.pr_text import weakening_section
from chalicelib.core.risks import scan_weakening

OLD = """\
import contextlib


def pay(amount, balance):
    if amount > balance:
        raise ValueError("insufficient funds")
    assert amount >= 0
    try:
        return charge(amount)
    except KeyError:
        raise
"""


def _found(new: str, path: str = "shop/pay.py", old: str = OLD) -> list[str]:
    return [f.what for f in scan_weakening({path: old}, {path: new})]


@pytest.mark.parametrize(
    ("new", "what"),
    [
        (OLD.replace('        raise ValueError("insufficient funds")\n', "        pass\n"), "removes a raise in pay"),
        (OLD.replace("    assert amount >= 0\n", ""), "removes an assert in pay"),
        (OLD.replace("if amount > balance:", "if amount > balance and strict:"), "the condition `amount > balance`"),
        (OLD.replace("if amount > balance:", "if amount > balance * 2:"), "guarding a raise in pay"),
        (OLD.replace("except KeyError:", "except Exception:"), "widens an except to Exception in pay"),
        (OLD.replace("except KeyError:", "except (KeyError, BaseException):"), "widens an except to BaseException"),
        (OLD.replace("except KeyError:", "except:"), "widens an except to bare in pay"),
        (OLD.replace("        raise\n", "        pass\n"), "swallows the error (except: pass) in pay"),
        (OLD.replace("        raise\n", "        return None\n"), "returns a default on the error path"),
        (OLD.replace("        raise\n", "        result = 0\n"), "sets a default on the error path"),
        (OLD.replace("    try:\n", "    with contextlib.suppress(KeyError):\n").replace(
            "    except KeyError:\n        raise\n", ""), "suppresses errors (contextlib.suppress)"),
    ],
)  # fmt: skip
def test_each_way_of_weakening_a_check_is_named(new: str, what: str) -> None:
    found = _found(new)
    assert any(what in f for f in found), found
    assert all(f.startswith("weakens a check: ") for f in found)


@pytest.mark.parametrize(
    "new",
    [
        OLD.replace("if amount > balance:", "if amount > balance or amount < 0:"),  # raises more often
        OLD.replace("return charge(amount)", "return charge(int(amount))"),
        OLD.replace("    assert amount >= 0\n", "    assert amount >= 0\n    fee = amount // 100\n"),
        OLD + "\n\ndef refund(amount):\n    if amount <= 0:\n        raise ValueError('nothing to refund')\n",
    ],
)
def test_a_change_that_keeps_every_check_is_not_flagged(new: str) -> None:
    assert _found(new) == []


def test_moving_a_check_to_another_line_is_not_flagged() -> None:
    moved = OLD.replace("    assert amount >= 0\n", "").replace("    try:\n", "    assert amount >= 0\n    try:\n")
    assert _found(moved) == []


def test_deleting_a_test_is_named_with_its_name() -> None:
    old = "def test_pay():\n    assert pay(1, 2) == 1\n\n\ndef test_refuse():\n    assert refuses()\n"
    found = _found("def test_pay():\n    assert pay(1, 2) == 1\n", path="tests/test_pay.py", old=old)
    assert "weakens a check: deletes a test (test_refuse)" in found


def test_the_section_names_each_finding_inertly() -> None:
    [finding] = scan_weakening({"a.py": OLD}, {"a.py": OLD.replace("except KeyError:", "except:")})
    text = "\n".join(weakening_section([finding]))
    assert text.startswith("## ⚠️ Weakens a check") and "`a.py` line 10" in text and "bare" in text
    assert weakening_section([]) == []


def test_a_file_that_does_not_parse_is_not_judged() -> None:
    assert _found("def pay(:\n") == []
