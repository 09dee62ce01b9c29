"""Properties of parsing and grouping over generated tracebacks."""

from __future__ import annotations

import string

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.logs_payload import LogEvent, find_in_events
from chalicelib.core.models import Frame, Location, RaisedException, Traceback
from chalicelib.core.redact import redact
from chalicelib.core.tracebacks import find_in_text, render

IDENT = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True)
TYPE = st.builds(lambda a, b: a.capitalize() + b, IDENT, st.sampled_from(["Error", "Exception", "Warning"]))
WORDS = st.text(alphabet=string.ascii_letters + string.digits + " ._-'", min_size=1, max_size=40)
SOURCE = WORDS.map(str.strip).filter(bool).map(lambda s: f"call({s!r})")
MESSAGE = WORDS.map(str.strip)
ROOTS = st.sampled_from(["/var/task", "/srv/app/src/orders", "/home/deploy/releases/r42", "/opt/python", "/app"])


@st.composite
def frames(draw: st.DrawFn, root: str) -> Frame:
    return Frame(
        f"{root}/{draw(IDENT)}.py",
        draw(st.integers(1, 5000)),
        draw(IDENT),
        draw(SOURCE),
    )


@st.composite
def tracebacks(draw: st.DrawFn) -> Traceback:
    root = draw(ROOTS)
    n = draw(st.integers(1, 3))
    chain = []
    for k in range(n):
        chain.append(
            RaisedException(
                draw(TYPE),
                draw(MESSAGE),
                tuple(draw(st.lists(frames(root), min_size=1, max_size=5))),
                link=draw(st.sampled_from(["cause", "context"])) if k < n - 1 else None,
            )
        )
    tb = Traceback(tuple(chain), "", "plain")
    return Traceback(tb.exceptions, render(tb), "plain")


def parse_one(text: str) -> Traceback:
    found = find_in_text(text)
    assert len(found) == 1
    return found[0]


def shifted(tb: Traceback, by: int, root: str) -> Traceback:
    """The same bug after a release: lines moved, deployed elsewhere."""
    excs = []
    for exc in tb.exceptions:
        new = []
        for f in exc.frames:
            name = f.file.rsplit("/", 1)[-1]
            new.append(Frame(f"{root}/{name}", (f.line or 0) + by, f.function, f.source))
        excs.append(RaisedException(exc.type, exc.message, tuple(new), link=exc.link))
    return Traceback(tuple(excs), "", "plain")


@given(tracebacks())
def test_render_then_parse_round_trips(tb: Traceback) -> None:
    assert parse_one(tb.text).exceptions == tb.exceptions


@given(tracebacks(), st.data())
def test_twisted_caught_marker_between_frames_changes_nothing(tb: Traceback, data: st.DataObject) -> None:
    """Twisted's ``--- <exception caught here> ---`` between two frames of an exception leaves
    one traceback with the same frames, and so the same group."""
    lines = tb.text.split("\n")
    between = [n for n in range(1, len(lines)) if lines[n].startswith('  File "') and lines[n - 1].startswith("    ")]
    assume(between)
    at = data.draw(st.sampled_from(between))
    marked = "\n".join([*lines[:at], "--- <exception caught here> ---", *lines[at:]])
    assert parse_one(marked).exceptions == tb.exceptions
    assert fingerprint(parse_one(marked)) == fingerprint(tb)


@given(tracebacks(), st.integers(1, 300), ROOTS)
def test_fingerprint_ignores_line_shifts_and_deploy_roots(tb: Traceback, by: int, root: str) -> None:
    moved = render(shifted(tb, by, root))
    assert fingerprint(parse_one(moved)) == fingerprint(parse_one(tb.text))


@given(tracebacks(), st.sampled_from(["{ts} ERROR [{rid}] ", "{ts} {rid} ERROR: ", "[{rid}] "]))
def test_fingerprint_ignores_log_line_prefixes(tb: Traceback, prefix: str) -> None:
    lines = tb.text.split("\n")
    text = "\n".join(
        prefix.format(ts=f"2026-11-22 10:00:{n % 60:02d},{n:03d}", rid=f"{n * 7919:08x}") + line
        for n, line in enumerate(lines)
    )
    assert fingerprint(parse_one(text)) == fingerprint(parse_one(tb.text))


@given(tracebacks())
def test_fingerprint_ignores_crlf(tb: Traceback) -> None:
    assert fingerprint(parse_one(tb.text.replace("\n", "\r\n"))) == fingerprint(parse_one(tb.text))


@given(tracebacks(), st.integers(0, 10**9), st.uuids())
def test_fingerprint_ignores_message_variables(tb: Traceback, number: int, rid) -> None:
    final = tb.final
    a = RaisedException(final.type, f"order {number} for {rid} failed", final.frames)
    b = RaisedException(final.type, "order 1 for 00000000-0000-0000-0000-000000000000 failed", final.frames)
    ta = render(Traceback((*tb.exceptions[:-1], a), "", "plain"))
    tb_ = render(Traceback((*tb.exceptions[:-1], b), "", "plain"))
    assert fingerprint(parse_one(ta)) == fingerprint(parse_one(tb_))


@given(tracebacks(), st.integers(0, 5))
def test_fingerprint_survives_splitting_across_log_events(tb: Traceback, noise: int) -> None:
    lines = ["other log line"] * noise + tb.text.split("\n")
    events = [LogEvent(f"{k:056d}", 1000 + k, line, k) for k, line in enumerate(lines)]
    [found] = find_in_events(events)
    assert fingerprint(found) == fingerprint(parse_one(tb.text))
    assert found.origin == noise


@given(
    tracebacks(),
    st.sampled_from(["hunter2", "S3cr3t!pass"]),
    st.sampled_from(["AKIAABCDEFGHIJKLMNOP", "AKIAZZZZZZZZZZZZZZZZ"]),
)
def test_fingerprint_ignores_secrets_and_survives_redaction(tb: Traceback, pw: str, key: str) -> None:
    final = tb.final
    frame = Frame(final.frames[-1].file, 1, "connect", f'db.connect("postgres://u:{pw}@h/x", key="{key}")')
    exc = RaisedException(final.type, f"auth failed for {key}", (*final.frames, frame))
    text = render(Traceback((*tb.exceptions[:-1], exc), "", "plain"))
    base = fingerprint(parse_one(text))
    other = text.replace(pw, "other-password").replace(key, "AKIAQQQQQQQQQQQQQQQQ")
    assert fingerprint(parse_one(other)) == base
    assert fingerprint(parse_one(redact(text))) == base


@given(tracebacks(), TYPE)
def test_fingerprint_differs_when_the_final_type_differs(tb: Traceback, other: str) -> None:
    assume(other != tb.final.type)
    final = tb.final
    changed = RaisedException(other, final.message, final.frames)
    text = render(Traceback((*tb.exceptions[:-1], changed), "", "plain"))
    assert fingerprint(parse_one(text)) != fingerprint(parse_one(tb.text))


@given(tracebacks(), IDENT, SOURCE)
def test_fingerprint_differs_when_the_raise_site_differs(tb: Traceback, func: str, source: str) -> None:
    final = tb.final
    last = final.frames[-1]
    assume((func, source) != (last.function, last.source))
    site = Frame(last.file, last.line, func, source)
    changed = RaisedException(final.type, final.message, (*final.frames[:-1], site))
    text = render(Traceback((*tb.exceptions[:-1], changed), "", "plain"))
    assert fingerprint(parse_one(text)) != fingerprint(parse_one(tb.text))


@given(st.text(max_size=2000))
def test_parser_never_raises_on_arbitrary_text(text: str) -> None:
    find_in_text(text)


LINE = st.text(alphabet=string.printable, max_size=80)


@given(st.lists(LINE, max_size=40))
def test_text_without_a_traceback_yields_nothing(lines: list[str]) -> None:
    text = "\n".join(lines)
    assume("Traceback (most recent call last):" not in text and 'File "' not in text)
    assert find_in_text(text) == []


@given(st.text(max_size=2000))
def test_a_read_traceback_has_a_type_or_says_why_not(text: str) -> None:
    for tb in find_in_text(text):
        assert tb.final.type or (tb.truncated and tb.truncated_reason)


LIB_ROOTS = st.sampled_from(
    ["/var/lang/lib/python3.{v}/", "/usr/local/lib/python3.{v}/", "/opt/venv/lib/python3.{v}/site-packages/"]
)


@st.composite
def library_frames(draw: st.DrawFn) -> tuple[Frame, ...]:
    root = draw(LIB_ROOTS).format(v=draw(st.integers(8, 13)))
    names = draw(st.lists(IDENT, min_size=1, max_size=4))
    return tuple(Frame(f"{root}{n}.py", draw(st.integers(1, 3000)), n, draw(SOURCE)) for n in names)


@given(tracebacks(), library_frames(), library_frames(), TYPE)
def test_an_earlier_exception_of_the_chain_never_contributes(
    tb: Traceback, lib_a: tuple[Frame, ...], lib_b: tuple[Frame, ...], cause_type: str
) -> None:
    # GIVEN a cause raised and caught inside a library (another Python or library version
    # prints other files, lines and source), before the app's own exceptions
    def with_cause(frames: tuple[Frame, ...], type_: str) -> str:
        cause = RaisedException(type_, "connection refused", frames, link="context")
        return render(Traceback((cause, *tb.exceptions), "", "plain"))

    # THEN neither its frames nor its type count (grouping version 2: the Lambda runtime's record
    # of the same failure prints the final exception only), and the trace groups as without it
    alone = fingerprint(parse_one(render(tb)))
    assert fingerprint(parse_one(with_cause(lib_a, cause_type))) == alone
    assert fingerprint(parse_one(with_cause(lib_b, cause_type + "Other"))) == alone


@given(library_frames(), st.data())
def test_library_frames_still_count_when_no_exception_has_an_in_app_frame(
    lib_a: tuple[Frame, ...], data: st.DataObject
) -> None:
    # GIVEN a trace raised inside a library alone, and the same trace with one of its frames in
    # another library function (a name the trace does not hold). Not two unrelated frame lists:
    # frames that differ only in ways the recipe folds (one frame vs the same frame twice is
    # recursion collapsing; "a  b" vs "a b" is whitespace) rightly group together.
    at = data.draw(st.integers(0, len(lib_a) - 1))
    other = data.draw(IDENT.filter(lambda n: n not in {f.function for f in lib_a}))
    root = lib_a[at].file.rsplit("/", 1)[0]
    lib_b = (*lib_a[:at], Frame(f"{root}/{other}.py", lib_a[at].line, other, lib_a[at].source), *lib_a[at + 1 :])
    a = render(Traceback((RaisedException("ValueError", "x", lib_a),), "", "plain"))
    b = render(Traceback((RaisedException("ValueError", "x", lib_b),), "", "plain"))
    # THEN the library frames count: the two are two groups
    assert fingerprint(parse_one(a)) != fingerprint(parse_one(b))


@given(tracebacks(), IDENT, WORDS, WORDS, st.integers(1, 500), st.integers(1, 500))
def test_a_syntax_error_location_contributes_its_file_name_only(
    tb: Traceback, name: str, src_a: str, src_b: str, line_a: int, line_b: int
) -> None:
    # GIVEN code generated at run time: its text and line vary with the values it was built from
    def syntax(file: str, source: str, line: int) -> str:
        final = RaisedException(
            "SyntaxError", "invalid syntax", tb.final.frames, syntax_error=Location(file, line, source.strip() or "x")
        )
        return render(Traceback((*tb.exceptions[:-1], final), "", "plain"))

    a = fingerprint(parse_one(syntax(f"/var/task/gen/{name}.py", src_a, line_a)))
    assert a == fingerprint(parse_one(syntax(f"/srv/app/gen/{name}.py", src_b, line_b)))
    assert a != fingerprint(parse_one(syntax(f"/var/task/gen/{name}_other.py", src_a, line_a)))
