"""Properties of core/fixability.py: a safety decision (what never reaches the model), so every
generated trace gets a class with a reason, and the rules hold whatever the frames."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.fixability import (
    CODE,
    ENVIRONMENT,
    INPUT,
    KINDS,
    LIBRARY,
    FixPolicy,
    classify,
    short,
)
from chalicelib.core.models import Frame, RaisedException

APP = ("/var/task/", "/srv/app/src/orders/", "")
LIB = ("/var/lang/lib/python3.11/site-packages/requests/", "/usr/local/lib/python3.11/", "/var/task/botocore/")
TYPES = (
    "ValueError", "KeyError", "TypeError", "ZeroDivisionError", "RuntimeError",
    "marshmallow.exceptions.ValidationError", "OrderNotFound", "werkzeug.exceptions.NotFound",
    "requests.exceptions.ReadTimeout", "TimeoutError",
    "botocore.exceptions.ClientError", "OSError", "MemoryError", "psycopg2.OperationalError", "AssertionError",
)  # fmt: skip
MESSAGES = (
    "division by zero", "invalid currency", "An error occurred (ThrottlingException) when calling X", "'key'",
    "[Errno 28] No space left on device", "must be positive", "timeout expired", "", "404 Not Found: gone",
)  # fmt: skip
SOURCES = ("raise ValueError(msg)", "return a / b", "x = int(s)", "raise", "", "assert ok", "raise Err() from exc")
ENV_TYPES = ("TimeoutError", "requests.exceptions.ConnectionError", "MemoryError", "socket.gaierror")


@st.composite
def frames(draw, in_app: bool | None = None) -> Frame:
    app = draw(st.booleans()) if in_app is None else in_app
    root = draw(st.sampled_from(APP if app else LIB))
    name = draw(st.sampled_from(("handler", "orders", "models", "client")))
    line = draw(st.integers(1, 5000))
    return Frame(f"{root}{name}.py", line, draw(st.sampled_from(("f", "g"))), draw(st.sampled_from(SOURCES)))


@st.composite
def exceptions(draw, in_app: bool | None = None) -> RaisedException:
    return RaisedException(
        draw(st.sampled_from(TYPES)),
        draw(st.sampled_from(MESSAGES)),
        tuple(draw(st.lists(frames(in_app), max_size=5))),
        link=draw(st.sampled_from((None, "cause", "context"))),
    )


chains = st.lists(exceptions(), min_size=1, max_size=3).map(tuple)


@given(chains)
def test_every_trace_gets_a_class_with_a_reason_and_only_code_is_fixed(chain) -> None:
    found = classify(chain)
    assert found.kind in KINDS and found.reason
    assert found.fix == (found.kind == CODE)


@given(chains, st.integers(-1000, 1000))
def test_the_class_does_not_depend_on_line_numbers_or_the_deployment_root(chain, shift) -> None:
    def moved(exc: RaisedException) -> RaisedException:
        return replace(exc, frames=tuple(
            replace(f, file=f.file.replace("/var/task/", "/opt/release-7/"), line=max(1, (f.line or 1) + shift))
            if not f.file.startswith("/var/task/botocore/") else f
            for f in exc.frames
        ))  # fmt: skip

    assert classify(tuple(moved(e) for e in chain)).kind == classify(chain).kind


@given(chains)
def test_what_the_service_did_not_raise_itself_is_never_input(chain) -> None:
    # GIVEN a final exception whose innermost frame is no `raise` (nor a framework's 4xx type)
    final = chain[-1]
    if not final.frames or short(final.type) == "NotFound":
        return
    last = replace(final.frames[-1], source="total = price / count")
    chain = (*chain[:-1], replace(final, frames=(*final.frames[:-1], last)))
    # THEN it is never classed input
    assert classify(chain).kind != INPUT


@given(st.lists(exceptions(in_app=False), min_size=1, max_size=3).map(tuple))
def test_a_trace_without_app_frames_is_library_or_environment(chain) -> None:
    assert classify(chain).kind in (LIBRARY, ENVIRONMENT)


@given(chains, st.sampled_from(ENV_TYPES))
def test_an_outage_is_environment_wherever_it_was_raised(chain, env_type) -> None:
    final = replace(chain[-1], type=env_type, children=())
    assert classify((*chain[:-1], final)).kind == ENVIRONMENT


@given(chains, st.booleans())
def test_never_fix_wins_over_always_fix_and_every_class(chain, also_always) -> None:
    name = short(chain[-1].type)
    policy = FixPolicy(always_fix=(name,) if also_always else (), never_fix=(name,), fix_library=True)
    assert classify(chain, policy).fix is False


@given(chains)
def test_always_fix_sends_any_class_to_the_fixer(chain) -> None:
    found = classify(chain, FixPolicy(always_fix=(chain[-1].type,)))
    assert (found.kind, found.fix) == (CODE, True)
