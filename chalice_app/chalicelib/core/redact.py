"""Scrub secrets and personal data from text before it leaves the account.

Every match is replaced by a typed placeholder, ``<redacted:KIND>``. Placeholders match none of
the patterns, so redaction is idempotent: ``redact(redact(x)) == redact(x)``. Redaction keeps
line structure except for private key blocks, which collapse to one placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_Rule = tuple[str, re.Pattern[str], Callable[[re.Match[str]], str]]


def _whole(kind: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"<redacted:{kind}>"


def _keep_group(group: str, kind: str) -> Callable[[re.Match[str]], str]:
    """Keep everything of the match but ``group``, which becomes the placeholder."""

    def sub(m: re.Match[str]) -> str:
        start, end = m.span(group)
        whole = m.group(0)
        base = m.start()
        return whole[: start - base] + f"<redacted:{kind}>" + whole[end - base :]

    return sub


# Order matters: the most specific shapes first, so e.g. a token inside a URL is named right.
_RULES: list[_Rule] = [
    (
        "private-key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----"
            r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|.*\Z)",
            re.DOTALL,
        ),
        _whole("private-key"),
    ),
    (
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        _whole("jwt"),
    ),
    (
        "github-token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
        _whole("github-token"),
    ),
    ("gitlab-token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), _whole("gitlab-token")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), _whole("slack-token")),
    (
        "aws-access-key-id",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        _whole("aws-access-key-id"),
    ),
    (
        "aws-secret-access-key",
        re.compile(
            r"(?i)(?:aws_?secret_?access_?key|secret_?access_?key|SecretAccessKey)"
            r"[\"']?\s*[:=]\s*[\"']?(?P<v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        _keep_group("v", "aws-secret-access-key"),
    ),
    (
        "bearer",
        re.compile(r"(?i)\b(?:bearer|token)\s+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)"),
        _keep_group("v", "token"),
    ),
    (
        "url-password",
        re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@<>\"']+:(?P<v>[^\s@/<>\"']+)@"),
        _keep_group("v", "password"),
    ),
    (
        "password",
        re.compile(
            r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)"
            r"[\"']?\s*[:=]\s*(?P<q>[\"']?)(?P<v>(?!None\b|True\b|False\b|<redacted)[^\s;&,\"'()<>]{3,})(?P=q)"
        ),
        _keep_group("v", "password"),
    ),
    (
        "email",
        re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
        _whole("email"),
    ),
    (
        # A bare 40-character secret key: mixed case and digits, not a hex digest.
        "aws-secret-access-key",
        re.compile(
            r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])"
            r"(?=[A-Za-z0-9/+]*[0-9])(?=[A-Za-z0-9/+]*[/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
        _whole("aws-secret-access-key"),
    ),
]

# Cheap pre-check: every rule needs one of these (lower-cased) substrings or a 40-char token.
_KEYWORDS = (
    "private key", "eyj", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox",
    "akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa", "abia", "acca",
    "secret", "bearer", "token", "://", "pass", "pwd", "key", "@",
)  # fmt: skip
_LONG_TOKEN = re.compile(r"[A-Za-z0-9/+]{40}")


def _may_hold_secret(text: str) -> bool:
    low = text.lower()
    return any(k in low for k in _KEYWORDS) or _LONG_TOKEN.search(text) is not None


def redact(text: str) -> str:
    """``text`` with every secret and email replaced by ``<redacted:KIND>``."""
    if not text or not _may_hold_secret(text):
        return text
    for _kind, pattern, sub in _RULES:
        text = pattern.sub(sub, text)
    return text


def findings(text: str) -> list[str]:
    """The kinds of secret ``text`` contains, in rule order, for reports and tests."""
    return [kind for kind, pattern, _ in _RULES if pattern.search(text)]
