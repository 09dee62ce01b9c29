"""Properties of redaction over arbitrary and adversarial text.

- idempotent: ``redact(redact(x)) == redact(x)``;
- it only replaces: the text between the placeholders of the output is the input's text, in
  order, so non-secret text is never lengthened, reordered or altered;
- a planted secret of every kind is removed wherever it sits in arbitrary text;
- text made only of things that are not secrets (words, small numbers, hex digests, UUIDs,
  paths) comes out unchanged;
- linear time: text built to make a backtracking pattern quadratic is redacted within a budget
  at sizes where quadratic work would take minutes.
"""

from __future__ import annotations

import hashlib
import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.redact import RULES, redact
from tests.unit.test_redact import SAMPLES

_PLACEHOLDER = re.compile(r"<redacted:[a-z0-9-]+>")
SEPARATORS = st.sampled_from([" ", "\n", "\t", "\r\n", ", ", "; ", " | "])

# One unit per rule (and a few more), each a prefix that a backtracking pattern would try and
# fail from every position: repeated, they make quadratic patterns blow up.
ADVERSARIAL = [
    "password=", "password='", 'password="', "secret: '", "apikey=\"\\", "pass=", "_pwd=", "token:",
    "a@", "a.", "a" * 63 + ".", "a@b.", "eyJ-", "eyJa.", "AKIA", "ASIA0", "a://a:", "x://", ":", "://", "a:b@",
    "token ", "bearer ", "basic ", "Authorization: ", "cookie=", "1 ", "4 ", "1-", "4111 ", "41111", "0.4",
    "-----BEGIN PRIVATE KEY-----", "-----BEGIN ", "PuTTY-User-Key-File-2:", "sk-", "sk-ant-", "ghp_", "gh",
    "A/", "/", "+a", "Aa0/", "\\\"", "<redacted:aws-access-key-id> ", "sig=", "&sig=a", "x-", "9:AA", "MA.",
    "M" * 24 + ".", "hooks.slack.com/services/", "Q~", "1Q~", "=", "'", '"', "AC", "-us1", "SG.", "AIza",
    "\r", "\u00a0", "é", "\udcff",
]  # fmt: skip
# Every rule's needle once, one a line (a rule that eats to the end of a line eats one), at the
# end: no rule is skipped by the cheap pre-check.
TRIGGER = "\n" + "\n".join(needle for rule in RULES for needle in rule.needles) + "\n4111 1111"
BIG = 20_000
BUDGET_S = 1.0  # linear code takes 0.05-0.15 s here; quadratic code takes minutes at this size


def _only_replaces(text: str, out: str) -> bool:
    """Every piece of ``out`` between placeholders occurs in ``text``, in order."""
    pos = 0
    for piece in _PLACEHOLDER.split(out):
        found = text.find(piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


@given(st.text(max_size=2000))
def test_redaction_of_arbitrary_text_is_idempotent_and_only_replaces(text: str) -> None:
    out = redact(text)
    assert redact(out) == out
    assert _only_replaces(text, out)


@given(st.text(max_size=300), st.sampled_from(SAMPLES), st.text(max_size=300), SEPARATORS, SEPARATORS)
def test_a_planted_secret_of_every_kind_is_removed_anywhere(
    before: str, sample: tuple[str, list[tuple[str, str]]], after: str, sep1: str, sep2: str
) -> None:
    planted, secrets = sample
    text = before + sep1 + planted + sep2 + after
    out = redact(text)
    for secret, _kind in secrets:
        assert out.count(secret) <= (before + after).count(secret), (secret, out)
    assert redact(out) == out
    assert _only_replaces(text, out)


# Pieces that interact: whole samples, bare secrets, near-misses and the characters between them.
_PIECES = [
    *(text for text, _ in SAMPLES),
    *(secret for _, secrets in SAMPLES for secret, _ in secrets),
    *ADVERSARIAL,
    *" \n=:'\",;@/-_a1",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_redaction_of_secrets_glued_to_near_misses_is_idempotent_and_only_replaces(pieces: list[str]) -> None:
    # e.g. 'a@b.ghp_a@b.key': the first e-mail's placeholder uncovers the start of a second one
    text = "".join(pieces)
    out = redact(text)
    assert redact(out) == out
    assert _only_replaces(text, out)


_WORD = st.from_regex(r"[a-z]{1,10}", fullmatch=True).filter(
    lambda w: w not in ("token", "bearer", "basic", "cookie", "authorization")
)
_HEX = st.binary(min_size=1, max_size=16).flatmap(
    lambda b: st.sampled_from([hashlib.md5(b).hexdigest(), hashlib.sha1(b).hexdigest(), hashlib.sha256(b).hexdigest()])  # noqa: S324
)
_HARMLESS = st.one_of(
    _WORD,
    _WORD.map(str.capitalize),
    st.integers(0, 99).map(str),
    _HEX,
    st.uuids().map(str),
    st.lists(_WORD, min_size=2, max_size=4).map(lambda ws: "/" + "/".join(ws) + ".py"),
)


@given(st.lists(st.tuples(_HARMLESS, st.sampled_from([" ", "\n", "\r\n", ", ", ". ", "(", ")", " - "])), max_size=20))
def test_text_with_no_secret_like_token_is_unchanged(parts: list[tuple[str, str]]) -> None:
    text = "".join(token + sep for token, sep in parts)
    assert redact(text) == text


def _timed(text: str) -> float:
    start = time.perf_counter()
    redact(text)
    return time.perf_counter() - start


@settings(max_examples=10)
@given(
    st.one_of(st.sampled_from(ADVERSARIAL), st.text(min_size=1, max_size=12)),
    st.one_of(st.just(""), st.sampled_from(ADVERSARIAL)),
)
def test_adversarial_text_is_redacted_in_linear_time(unit: str, other: str) -> None:
    # GIVEN one unit (or two, interleaved) repeated to BIG characters
    pair = unit + other
    text = (pair * (BIG // len(pair) + 1))[:BIG] + TRIGGER
    # THEN redaction stays within a budget quadratic work could never meet
    assert _timed(text) < BUDGET_S, repr(pair[:40])


def test_every_adversarial_unit_is_linear() -> None:
    slow = {}
    for unit in ADVERSARIAL:
        elapsed = _timed((unit * (BIG // len(unit) + 1))[:BIG] + TRIGGER)
        if elapsed >= BUDGET_S:
            slow[unit[:30]] = round(elapsed, 2)
    assert not slow
