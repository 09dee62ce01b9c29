"""Group tracebacks: the same bug gives the same fingerprint, a different raise site another.

Like Sentry's grouping, the hash is built from named components, each saying whether it
contributed and why, so a reader can see the reason two events group next to the hash:

- the final exception (the one that ended the request) contributes its type (the class name:
  the Lambda runtime prints no module) and its in-app frames; library frames count only when
  it has no in-app frame. The exceptions before it in the chain (causes and contexts) do not
  contribute: the Lambda runtime's record of an uncaught error prints the final exception only,
  while a handler's ``logger.exception`` of the same failure prints the chain, and both must be
  one group. The final exception's frames include its raise site, where a wrapped cause is
  re-raised, so different bugs still differ by their final raise site (``GROUPING_VERSION``);
- a SyntaxError location contributes its file name only, never its source text or line number
  (code generated or loaded at run time carries values in that text);
- a frame contributes its file name (never the directory: deployment roots such as
  ``/var/task/``, ``/srv/app/src/orders/`` or a release directory vary between hosts), its
  function and its source line with whitespace folded; never its line number;
- recursion collapses: a run of repeated frames or frame cycles counts once;
- exception groups add their sub-exceptions (sorted, de-duplicated);
- only when the final exception has no frame does its message count, with its variable
  parts (numbers, quoted values, UUIDs, hex, IPs, paths, emails, timestamps) replaced.

Secrets are redacted before anything is hashed, so traces that differ only in secrets group.

The service (core/services.py) is part of the key: a service other than ``default`` adds a first
component ``service=<name>``, so the same bug in two services is two groups (two PRs, each in its
own repository), while the default service's fingerprints are exactly those from before services.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.core.frames import is_in_app
from chalicelib.core.models import Observation
from chalicelib.core.redact import redact
from chalicelib.core.services import DEFAULT_NAME

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from chalicelib.core.models import Frame, RaisedException, Traceback

# Linear patterns only (they read log text): possessive repeats, and searches that can start
# inside a run begin only where the run begins (lookbehind), so no run is scanned twice.
_VARIABLE_PARTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d++)?)?(?:Z|[+-]\d\d:?\d\d)?"), "<ts>"),
    (re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"(?<![\w.%+-])[\w.%+-]++@[\w-]++(?:\.[\w-]++)++"), "<email>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d++)?\b"), "<ip>"),
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b"), "<ip>"),
    (re.compile(r"\b0x[0-9a-fA-F]++\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}+\b"), "<hex>"),
    (re.compile(r"'[^']*+'|\"[^\"]*+\""), "<str>"),
    (re.compile(r"(?:[A-Za-z]:)?(?:/[\w.@+-]++){2,}+/?"), "<path>"),
    (re.compile(r"[-+]?\b\d++(?:\.\d++)?\b"), "<num>"),
]
_SPACE = re.compile(r"\s+")
# Exceptions CPython renamed or merged between releases: the same bug keeps its group when the
# runtime is upgraded (re.error became re.PatternError in 3.13, socket.timeout TimeoutError in 3.10).
_TYPE_ALIASES = {
    "re.PatternError": "re.error",
    "PatternError": "error",
    "IOError": "OSError",
    "EnvironmentError": "OSError",
    "socket.error": "OSError",
    "select.error": "OSError",
    "socket.timeout": "TimeoutError",
    "asyncio.TimeoutError": "TimeoutError",
    "asyncio.exceptions.TimeoutError": "TimeoutError",
    "concurrent.futures._base.TimeoutError": "TimeoutError",
}


# The recipe's version, written on each group (``grouping_version``), as Sentry records its grouping
# config: groups made by an older recipe may hold the same bug under another fingerprint.
#   1  every exception of the chain contributed its type and frames
#   2  only the final exception contributes (a runtime's record and the handler's record of one
#      failure group together, whether or not the chain's causes were printed)
#   3  an application a distribution installs under /usr/lib/<app>/ or /usr/share/<app>/ is in-app
#      code (core/frames.py), no longer the system's Python: its frames alone contribute
GROUPING_VERSION = 3
FINAL = "final"
_CANONICAL_FINAL = "chain[0]"
_CAUSE_HINT = "an earlier exception of the chain: not every record of the failure prints it"


@dataclass(frozen=True)
class Component:
    """One named part of the grouping string, and why it does or does not count."""

    name: str
    value: str
    contributes: bool
    hint: str = ""

    @property
    def key(self) -> str:
        """The name in the canonical string: the final exception is keyed ``chain[0]``, as a trace
        of one exception always was, so those keep the fingerprints of grouping version 1."""
        return _CANONICAL_FINAL + self.name[len(FINAL) :] if self.name.startswith(FINAL) else self.name


@dataclass(frozen=True)
class Grouping:
    """A traceback's fingerprint, the canonical string it hashes, and the parts it came from."""

    fingerprint: str
    raw_fingerprint: str
    canonical: str
    components: tuple[Component, ...]


@lru_cache(maxsize=4096)
def module_key(path: str) -> str:
    """The part of a path that names the same file on every host: its name without ``.py``,
    with the parent directory for ``__init__`` and ``__main__`` files."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        return path
    name = parts[-1]
    stem = name[:-3] if name.endswith(".py") else name
    if stem in ("__init__", "__main__") and len(parts) > 1:
        return f"{parts[-2]}/{stem}"
    return stem


def canonical_type(name: str) -> str:
    """The class name a type groups under: renamed aliases folded, module dropped (the
    Lambda runtime prints only the class name)."""
    return _TYPE_ALIASES.get(name, name).rsplit(".", 1)[-1]


def normalize_variables(text: str) -> str:
    """``text`` with its variable parts (numbers, quoted values, UUIDs, hex, IPs, paths, emails,
    timestamps) replaced by typed placeholders and whitespace folded; linear in ``len(text)``."""
    for pattern, placeholder in _VARIABLE_PARTS:
        text = pattern.sub(placeholder, text)
    return _SPACE.sub(" ", text).strip()


def normalize_message(message: str) -> str:
    """A message redacted, then with its variable parts replaced by typed placeholders."""
    return normalize_variables(redact(message))


@lru_cache(maxsize=4096)
def _clean_source(source: str) -> str:
    # The same lines recur in every occurrence of a bug: cache their redaction.
    return _SPACE.sub(" ", redact(source)).strip()


def _frame_key(frame: Frame) -> str:
    return f"{module_key(frame.file)}:{frame.function or ''}:{_clean_source(frame.source)}"


def collapse_recursion(keys: Sequence[str], max_period: int = 8) -> list[str]:
    """Drop repeats of any run of up to ``max_period`` frames (direct or mutual recursion)."""
    out: list[str] = []
    for key in keys:
        out.append(key)
        # Only periods whose two runs fit; and a run repeats only if its last key does (a cheap
        # test before the slices: most frames repeat nothing).
        for period in range(1, min(max_period, len(out) // 2) + 1):
            if out[-1] == out[-1 - period] and out[-period:] == out[-2 * period : -period]:
                del out[-period:]
                break
    return out


def _has_in_app(exc: RaisedException) -> bool:
    """Whether ``exc`` or one of its sub-exceptions (at any depth) has an in-app frame."""
    todo = [exc]
    while todo:
        e = todo.pop()
        if any(is_in_app(f.file) for f in e.frames):
            return True
        todo.extend(e.children)
    return False


def _frame_components(exc: RaisedException, label: str, trace_in_app: bool, lean: bool = False) -> list[Component]:
    """The frame components; ``lean``: only those that contribute (what the hash needs)."""
    in_app = [f for f in exc.frames if is_in_app(f.file)]
    if not in_app and trace_in_app:
        # Raised inside a library while another exception of the trace is the app's: the type
        # says enough, and the library's lines change with every Python or library upgrade.
        if lean:
            return []
        hint = "library frame (another exception of the trace has in-app frames)"
        return [Component(f"{label}.frame", _frame_key(f), False, hint) for f in exc.frames]
    chosen = in_app or list(exc.frames)
    hint = "in-app frame" if in_app else "library frame (no in-app frame in the trace)"
    keys = collapse_recursion([_frame_key(f) for f in chosen])
    parts = [Component(f"{label}.frame", key, True, hint) for key in keys]
    if in_app and not lean:
        parts.extend(
            Component(f"{label}.frame", _frame_key(f), False, "library frame")
            for f in exc.frames
            if not is_in_app(f.file)
        )
    return parts


def _exception_components(
    exc: RaisedException, label: str, use_message: bool, trace_in_app: bool, lean: bool = False
) -> list[Component]:
    """The components of one exception; ``lean``: only those that contribute, so that the hash
    alone (``fingerprint``) normalizes no message and redacts no source it would not use."""
    parts = [Component(f"{label}.type", canonical_type(exc.type) or "<unknown>", True)]
    if exc.syntax_error is not None:
        loc = exc.syntax_error
        parts.append(Component(f"{label}.syntax_error", module_key(loc.file), True, "file name only"))
        if not lean:
            parts.append(
                Component(f"{label}.syntax_error.source", _clean_source(loc.source), False, "generated code varies")
            )
    parts.extend(_frame_components(exc, label, trace_in_app, lean))
    if use_message or not lean:
        parts.append(
            Component(
                f"{label}.message",
                normalize_message(exc.message),
                use_message,
                "no frames in the trace" if use_message else "frames identify the site",
            )
        )
    if exc.children:
        lean_parts = (_exception_components(child, "g", use_message, trace_in_app, True) for child in exc.children)
        child_keys = sorted({"|".join(c.value for c in part if c.contributes) for part in lean_parts})
        parts.extend(Component(f"{label}.group", key, True, "sub-exception") for key in child_keys)
    return parts


def components(tb: Traceback) -> list[Component]:
    """The named parts of a traceback's grouping string, contributing or not.

    Only the final exception contributes (its type, frames, sub-exceptions; its message when it
    has no frame): the exceptions before it in the chain are listed, not grouped, because not
    every record of a failure prints them (the Lambda runtime prints the final one only).
    """
    final = tb.final
    has_frames = bool(final.frames or final.syntax_error)
    parts = _exception_components(final, FINAL, not has_frames, _has_in_app(final))
    for n, exc in enumerate(tb.exceptions[:-1]):
        parts.append(Component(f"chain[{n}].type", canonical_type(exc.type) or "<unknown>", False, _CAUSE_HINT))
    return parts


def _service_part(service: str) -> list[Component]:
    if not service or service == DEFAULT_NAME:
        return []
    return [Component("service", service, True, "groups are per service")]


def _hash(parts: Iterable[Component]) -> tuple[str, str]:
    """(md5 of the canonical grouping string, the string) of the contributing components."""
    canonical = "\n".join(f"{c.key}={c.value}" for c in parts if c.contributes)
    return hashlib.md5(canonical.encode(), usedforsecurity=False).hexdigest(), canonical


def grouping(tb: Traceback, service: str = DEFAULT_NAME) -> Grouping:
    """The traceback's fingerprint: md5 of the canonical grouping string, 32 hex chars; the
    service's name is a component of it unless it is the default service."""
    parts = (*_service_part(service), *components(tb))
    digest, canonical = _hash(parts)
    return Grouping(digest, raw_fingerprint(tb), canonical, parts)


def fingerprint(tb: Traceback, service: str = DEFAULT_NAME) -> str:
    """``grouping(tb, service).fingerprint``, computed from the contributing components alone:
    no message normalized, no source redacted and no text hashed that the hash does not use
    (``observe`` runs this for every traceback of every delivery)."""
    final = tb.final
    has_frames = bool(final.frames or final.syntax_error)
    parts = _exception_components(final, FINAL, not has_frames, _has_in_app(final), lean=True)
    return _hash([*_service_part(service), *parts])[0]


def raw_fingerprint(tb: Traceback) -> str:
    """md5 of the whole trace text, as the original AWS guidance grouped: for comparison only."""
    return hashlib.md5(tb.text.encode("utf-8", "replace"), usedforsecurity=False).hexdigest()


# Forms of the Lambda runtime's own record of an uncaught error: it names no request, and it is
# the last record of its invocation (the runtime prints it when the handler has returned).
RUNTIME_FORMS = frozenset({"lambda_text", "lambda_legacy"})


def failure_key(tb: Traceback, fp: str) -> tuple[str, str, tuple[str, int | None, str]]:
    """What two records of one failure share: the fingerprint, the final exception's message as
    printed, and its raise site (the innermost frame, or the SyntaxError location)."""
    final = tb.final
    if final.frames:
        site = final.frames[-1]
        where = (module_key(site.file), site.line, site.function or "")
    elif final.syntax_error is not None:
        where = (module_key(final.syntax_error.file), final.syntax_error.line, "")
    else:
        where = ("", None, "")
    return fp, final.message, where


def repeats(tracebacks: Sequence[Traceback], fingerprints: Sequence[str]) -> list[bool]:
    """For each traceback (in log order), whether it is another record of a failure an earlier
    record already told: the same failure key (``failure_key``) and

    - the same request id, when the record names one (Lambda's JSON log format names it in the
      handler's record and in the runtime's; Powertools and the runtime's text log line too), or
      a record of the same stream naming none since the runtime's previous record; or
    - for the runtime's own text record (``RUNTIME_FORMS``, which names no request): an earlier
      record of the same stream since the runtime's previous record, i.e. of the same invocation
      (a handler's ``logger.exception(...)`` before its ``raise``).
    """
    return _pair(tracebacks, fingerprints)[0]


def _pair(tracebacks: Sequence[Traceback], fingerprints: Sequence[str]) -> tuple[list[bool], list[bool]]:
    """(whether each record repeats an earlier one, whether a later record repeated it)."""
    repeat: list[bool] = []
    paired = [False] * len(tracebacks)
    named: dict[tuple[object, str], int] = {}
    pending: dict[str, dict[object, list[int]]] = {}  # per stream: records told since the runtime's last
    previous: dict[str, Traceback] = {}  # per stream: the record before
    for n, (tb, fp) in enumerate(zip(tracebacks, fingerprints, strict=True)):
        key = failure_key(tb, fp)
        told = pending.setdefault(tb.log_stream, {})
        before = previous.get(tb.log_stream)
        previous[tb.log_stream] = tb
        if before is not None and _later_part(tb, before):
            # A chain's later part read again from its own header (a subscription filter delivers
            # each ``Traceback`` header alone and both were completed from the stream).
            repeat.append(True)
        elif tb.request_id:
            first = named.setdefault((key, tb.request_id), n)
            # Or a record of the same invocation that named no request (Powertools without the
            # Lambda context, then the runtime's JSON record, which names it).
            unnamed = [k for k in told.get(key, []) if not tracebacks[k].request_id]
            if first != n:
                paired[first] = True
            elif unnamed:
                paired[unnamed[-1]] = True
                told[key].remove(unnamed[-1])  # each record pairs once
            repeat.append(first != n or bool(unnamed))
            told.setdefault(key, []).append(n)
        elif tb.form in RUNTIME_FORMS:
            earlier = told.get(key, [])
            repeat.append(bool(earlier))
            for k in earlier:
                paired[k] = True
            told.clear()  # the invocation ended
        else:
            repeat.append(False)
            told.setdefault(key, []).append(n)
    return repeat, paired


def _later_part(tb: Traceback, before: Traceback) -> bool:
    """Whether ``tb`` is the end of ``before``'s chain printed again: fewer exceptions, the same
    final one, and its text the end of ``before``'s."""
    return (
        len(tb.exceptions) < len(before.exceptions)
        and tb.final == before.final
        and bool(tb.text)
        and before.text.endswith(tb.text)
    )


# Across deliveries: a record this close to its delivery's last (or first) event may have its other
# record in the next (or previous) delivery of the stream; tokens of such records are kept on the
# group for a while (``failure_tokens``, ``split_failures``). The two records of one failure are
# milliseconds apart.
EDGE_MS = 2_000
FAILURE_WINDOW_MS = 60_000


def _token(tag: str, ts: int, key: tuple[object, ...], link: str) -> str:
    """``<tag>.<epoch ms, base 36>.<8 hex>``: short, as the group item every occurrence rewrites keeps it."""
    digest = hashlib.md5(repr((key[1], key[2], link)).encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{tag}.{base36(max(0, ts))}.{digest}"


def base36(number: int) -> str:
    """``number`` (≥ 0) in base 36: epoch milliseconds in 8 characters until 2059."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def failure_tokens(tracebacks: Sequence[Traceback], fingerprints: Sequence[str]) -> list[tuple[str, ...]]:
    """For each record of one delivery, the tokens by which its other record may be found in the
    delivery before or after (none for most): ``h.<ts>.<hash>`` for a record not yet followed by
    its runtime record near the delivery's end, ``r.<ts>.<hash>`` for a runtime record (or one
    naming its request) that repeats nothing near the delivery's start. Records without a
    timestamp (files) get none."""
    return _tokens(tracebacks, fingerprints, _pair(tracebacks, fingerprints))


def _tokens(
    tracebacks: Sequence[Traceback], fingerprints: Sequence[str], pair: tuple[list[bool], list[bool]]
) -> list[tuple[str, ...]]:
    """``failure_tokens`` from the records' pairing (``_pair``), which ``observe`` computes once."""
    stamps = [tb.timestamp for tb in tracebacks if tb.timestamp is not None]
    if not stamps:
        return [() for _ in tracebacks]
    first, last = min(stamps), max(stamps)
    repeat, paired = pair
    out: list[tuple[str, ...]] = []
    for tb, fp, rep, done in zip(tracebacks, fingerprints, repeat, paired, strict=True):
        ts = tb.timestamp
        if ts is None or rep:
            out.append(())
            continue
        key = failure_key(tb, fp)
        links = [f"s:{tb.log_stream}"] + ([f"i:{tb.request_id}"] if tb.request_id else [])
        tokens: list[str] = []
        if not done and tb.form not in RUNTIME_FORMS and ts >= last - EDGE_MS:
            tokens += [_token("h", ts, key, link) for link in links]
        if (tb.form in RUNTIME_FORMS or tb.request_id) and ts <= first + EDGE_MS:
            start_links = [f"i:{tb.request_id}"] if tb.request_id else [f"s:{tb.log_stream}"]
            tokens += [_token("r", ts, key, link) for link in start_links]
        out.append(tuple(tokens))
    return out


def split_failures(new: Iterable[str], old: Iterable[str]) -> tuple[int, list[str]]:
    """Failures one delivery's records (``new`` tokens) and an earlier delivery's (``old``, kept on
    the group) both counted: (how many, the tokens of both sides to forget). An ``h`` token pairs
    with an ``r`` token of the same hash less than ``FAILURE_WINDOW_MS`` apart, each at most once."""
    kept: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for token in old:
        tag, _, rest = token.partition(".")
        stamp, _, digest = rest.partition(".")
        kept.setdefault((tag, digest), []).append((int(stamp, 36) if stamp else 0, token))
    count = 0
    forget: list[str] = []
    for token in new:
        tag, _, rest = token.partition(".")
        stamp, _, digest = rest.partition(".")
        other = kept.get(("r" if tag == "h" else "h", digest), [])
        match = next((t for t in other if abs(t[0] - int(stamp, 36)) <= FAILURE_WINDOW_MS), None)
        if match is not None:
            other.remove(match)
            count += 1
            forget += [token, match[1]]
    return count, forget


def observe(
    tracebacks: Iterable[Traceback], log_group: str, default_ts: int = 0, service: str = DEFAULT_NAME
) -> list[Observation]:
    """Aggregate a batch's tracebacks per fingerprint: one Observation (count, first/last seen,
    first traceback) per bug, so the store writes once per bug per batch; ``service`` owns the
    batch's log group and is part of each fingerprint. Another record of a failure already
    counted (``repeats``) is not counted again; the sample is the most complete record (one
    whose chain was printed rather than the runtime's final exception only)."""
    listed = list(tracebacks)
    prints = [fingerprint(tb, service) for tb in listed]
    seen: dict[str, Observation] = {}
    pair = _pair(listed, prints)  # what ``repeats`` and ``failure_tokens`` each computed
    marks = zip(pair[0], _tokens(listed, prints, pair), strict=True)
    for tb, fp, (repeat, tokens) in zip(listed, prints, marks, strict=True):
        ts = tb.timestamp if tb.timestamp is not None else default_ts
        known = seen.get(fp)
        if known is None:
            seen[fp] = Observation(
                fp, tb, 0 if repeat else 1, ts, ts, log_group, service or DEFAULT_NAME, failure_tokens=tokens
            )
            continue
        sample = tb if _more_complete(tb, known.traceback) else known.traceback
        seen[fp] = replace(
            known, traceback=sample, count=known.count + (0 if repeat else 1),
            first_seen=min(known.first_seen, ts), last_seen=max(known.last_seen, ts),
            failure_tokens=known.failure_tokens + tokens,
        )  # fmt: skip
    return list(seen.values())


def _more_complete(tb: Traceback, than: Traceback) -> bool:
    """Whether ``tb`` makes a better sample: not cut off where the other was, or more of the chain."""
    if than.truncated != tb.truncated:
        return than.truncated
    return len(tb.exceptions) > len(than.exceptions)
