"""CloudWatch Logs filter patterns for unstructured text: what a subscription filter delivers.

Supported: the empty pattern (every event), terms that must all appear (``ERROR Traceback``),
quoted terms (``"Traceback (most recent"``), ``?term`` alternatives (any one must appear) and
``-term`` exclusions. Matching is case-sensitive, as in CloudWatch Logs. JSON and space-delimited
patterns (``{ $.level = ... }``, ``[ip, user, ...]``) are not supported here.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Linear: each character has one way to match and the repeats never give back (possessive).
_TOKEN = re.compile(r'([?-]?)(?:"((?:[^"\\]++|\\.)*+)"|(\S++))')


class FilterPatternError(ValueError):
    """A pattern this matcher does not understand."""


@dataclass(frozen=True)
class FilterPattern:
    """A parsed text filter pattern."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def matches(self, message: str) -> bool:
        """Whether CloudWatch would deliver an event with this message."""
        if any(t in message for t in self.excluded):
            return False
        if not all(t in message for t in self.required):
            return False
        return not self.optional or any(t in message for t in self.optional)


def parse_filter_pattern(pattern: str) -> FilterPattern:
    """Parse a text pattern; FilterPatternError for JSON or space-delimited patterns."""
    text = pattern.strip()
    if text.startswith(("{", "[")):
        raise FilterPatternError(f"only text filter patterns are supported locally, not {pattern!r}")
    required, optional, excluded = [], [], []
    for m in _TOKEN.finditer(text):
        term = m[2].replace('\\"', '"') if m[2] is not None else m[3]
        {"?": optional, "-": excluded}.get(m[1], required).append(term)
    return FilterPattern(tuple(required), tuple(optional), tuple(excluded))
