"""Properties of one failure recorded twice: the handler's record (the whole chain) and the Lambda
runtime's (the final exception only, as its bootstrap formats it), behind any line prefix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.fingerprint import fingerprint, observe
from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.models import Traceback
from tests.property.test_tracebacks_properties import IDENT, tracebacks

NBSP = "\u00a0"
# What a shipper or CLI puts before a line: aws logs tail (time, stream), a container, syslog.
PREFIXES = st.sampled_from(
    [
        "",
        "2026-11-30T07:33:20.123456+00:00 2026/11/30/[$LATEST]4b1e0c2f9a8d4e7f ",
        "app-1  | ",
        "Nov 30 07:33:20 ip-10-0-1-17 shop[4121]: ",
    ]
)


def runtime_record(tb: Traceback, joiner: str) -> str:
    """The runtime's record of ``tb``'s final exception, formatted as awslambdaric's ``log_error``
    does: ``[ERROR] Type: message``, the header, ``traceback.format_list`` lines with their leading
    spaces turned into no-break spaces, joined by ``\\r`` (standard sink) or ``\\n`` (telemetry)."""
    final = tb.final
    header = f"[ERROR] {final.type.rsplit('.', 1)[-1]}" + (f": {final.message}" if final.message else "")
    lines = [header, "Traceback (most recent call last):"]
    for f in final.frames:
        lines += [f'{NBSP * 2}File "{f.file}", line {f.line}, in {f.function}', f"{NBSP * 4}{f.source}"]
    return joiner.join(lines)


@given(tracebacks(), PREFIXES, st.sampled_from(["\r", "\n"]))
def test_the_runtimes_record_groups_with_the_handlers_whatever_its_prefix(
    tb: Traceback, prefix: str, joiner: str
) -> None:
    # GIVEN the handler's record of a failure (the chain) and the runtime's (the final exception)
    record = prefix + runtime_record(tb, joiner)
    # WHEN
    [runtime] = read_tracebacks(record.encode())
    [handler] = read_tracebacks(tb.text.encode())
    # THEN the runtime's is whole (type, frames) and both are one group
    assert (runtime.final.type, runtime.final.frames) == (tb.final.type, handler.final.frames)
    assert not runtime.truncated
    assert fingerprint(runtime) == fingerprint(handler)


@given(tracebacks(), st.integers(1, 4), IDENT)
def test_each_failure_counts_once_however_many_invocations(tb: Traceback, failures: int, stream: str) -> None:
    # GIVEN a stream where each of N invocations logs the failure, then the runtime logs it
    text = "\n".join(
        f"START RequestId: {n}\n{tb.text}\n{runtime_record(tb, chr(13))}\nEND RequestId: {n}" for n in range(failures)
    )
    found = [_in_stream(t, stream) for t in read_tracebacks(text.encode())]
    # THEN one group, N occurrences
    [seen] = observe(found, "/aws/lambda/x")
    assert seen.count == failures
    assert len(seen.traceback.exceptions) == len(tb.exceptions)  # the sample is the whole chain


def _in_stream(tb: Traceback, stream: str) -> Traceback:
    return Traceback(tb.exceptions, tb.text, tb.form, tb.origin, tb.truncated, stream)
