"""Properties of core/risks.py scan_weakening (a safety decision: a weakened check keeps the PR a
draft): no change, no finding; every removed raise or assert is found; a guard made to raise more
often is not blamed, one made to raise less is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.risks import scan_weakening

GUARDS = ("x > 10", "not name", "x is None", "len(items) == 0", "key not in table")
PLAIN = ("y = x + 1", "items.append(x)", "log.info('step %s', x)", "total = sum(items)")


@st.composite
def statements(draw) -> list[str]:
    out: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("guard", "assert", "plain", "try")))
        if kind == "guard":
            out += [f"if {draw(st.sampled_from(GUARDS))}:", f"    raise ValueError('bad {len(out)}')"]
        elif kind == "assert":
            out.append(f"assert {draw(st.sampled_from(GUARDS))}")
        elif kind == "try":
            out += ["try:", "    y = table[key]", "except KeyError:", "    raise LookupError(key)"]
        else:
            out.append(draw(st.sampled_from(PLAIN)))
    return out


def source(body: list[str]) -> str:
    return "def f(x, name, items, key, table):\n" + "".join(f"    {line}\n" for line in body)


@given(statements())
def test_no_change_is_no_finding(body) -> None:
    text = source(body)
    assert scan_weakening({"a.py": text}, {"a.py": text}) == ()


@given(statements(), st.data())
def test_every_removed_raise_or_assert_is_found(body, data) -> None:
    checks = [n for n, line in enumerate(body) if line.lstrip().startswith(("raise", "assert"))]
    if not checks:
        return
    n = data.draw(st.sampled_from(checks))
    removed = [*body[:n], "    pass" if body[n].startswith("    ") else "pass", *body[n + 1 :]]
    found = [f.what for f in scan_weakening({"a.py": source(body)}, {"a.py": source(removed)})]
    word = "raise" if body[n].lstrip().startswith("raise") else "assert"
    assert any(f"removes a{'n' if word == 'assert' else ''} {word} in f" in w for w in found), found


@given(statements(), st.data(), st.sampled_from(GUARDS))
def test_a_guard_that_raises_more_often_is_not_blamed_and_one_that_raises_less_is(body, data, extra) -> None:
    guards = [n for n, line in enumerate(body) if line.startswith("if ")]
    if not guards:
        return
    n = data.draw(st.sampled_from(guards))
    test = body[n][3:-1]
    wider = [*body[:n], f"if {test} or {extra}:", *body[n + 1 :]]
    narrower = [*body[:n], f"if {test} and {extra}:", *body[n + 1 :]]
    old = {"a.py": source(body)}
    assert not [f for f in scan_weakening(old, {"a.py": source(wider)}) if "condition" in f.what]
    assert [f for f in scan_weakening(old, {"a.py": source(narrower)}) if "condition" in f.what]


@given(statements(), st.sampled_from(PLAIN))
def test_adding_plain_code_is_not_a_weakening(body, line) -> None:
    assert scan_weakening({"a.py": source(body)}, {"a.py": source([line, *body])}) == ()
