r"""The words selfheal publishes: PR title, commit message and PR body, made safe to show.

Log text and model text are untrusted: an attacker writes the first, and can steer the second.
Everything here is redacted first (``core.redact``, before any escaping, so a secret is still
recognisable), then made inert for where it goes:

- the **title** and the **commit subject** are one line of plain text: the first non-empty line,
  control and format characters removed, no Markdown heading or quote marker, at most 72
  characters; issue references are broken (``#1`` → ``# 1``) so that a "Fixes #1" cannot close an
  issue when the commit lands on the default branch;
- **Markdown prose** (root cause, explanation, the log message): the punctuation that can start
  Markdown is backslash-escaped (CommonMark: any ASCII punctuation may be), so no heading, list,
  link, image, emphasis, table, math, raw HTML or HTML comment can form: ``\ ` * [ ] < > ! # | ~ &
  $ @`` everywhere, ``_`` except inside a word (where GFM never reads it as emphasis), and the list,
  heading and rule markers ``- + =`` and ``1.`` / ``1)`` at the start of a line; the rest (``. : ( )
  ' " , - /``…) is left as written, so the prose reads as the words it is; mentions (``@user``,
  ``@org/team``), issue references (``#1``,
  ``owner/repo#2``, ``GH-3``) and URLs become code spans, which GitHub neither links, notifies nor
  reads for closing keywords; invisible and bidi characters are shown as ``[U+202E]``;
- **code blocks** (the trace) are fenced with more backticks than the longest run inside.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from chalicelib.core.redact import redact

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.edits import EditResult
    from chalicelib.core.models import ErrorGroup, FixProposal
    from chalicelib.core.risks import Finding

TITLE_LIMIT = 72
# Escaped wherever they are: code, emphasis, links and images, HTML, headings, tables,
# strikethrough and fences, entities, math, e-mail autolinks.
_ALWAYS = frozenset("\\`*[]<>!#|~&$@")
_LINE_START = frozenset("-+=")  # lists, setext headings, thematic breaks (``*``, ``#``, ``>``: always)
_LIST_NUMBER = re.compile(r"[ \t]*\d{1,9}\Z")  # what precedes the ``.``/``)`` of an ordered list item
# Things GitHub turns into links, notifications or closing references.
_ACTIVE = re.compile(
    r"(?:https?|ftp|file)://[^\s`]+"  # URLs
    r"|www\.[^\s`]+"
    r"|(?<![\w@])@[\w-]+(?:/[\w.-]+)?"  # @user, @org/team
    r"|(?:[\w.-]+/[\w.-]+)?#\d+"  # #1, owner/repo#2
    r"|\bGH-\d+",
    re.IGNORECASE,
)
_PLAIN_REFERENCE = re.compile(r"(#|\bGH-)(\d)", re.IGNORECASE)
_MARKDOWN_LEAD = re.compile(r"^[\s#>*+=|-]+")


class Usage(Protocol):
    """The numbers of a fix attempt's model conversation."""

    tokens_in: int
    tokens_out: int
    rounds: int


def _visible(ch: str) -> str:
    """Control and format characters (bidi, zero-width…) as ``[U+XXXX]``; others unchanged."""
    if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"):
        return ch
    return f"[U+{ord(ch):04X}]"


def visible(text: str) -> str:
    """``text`` with every control or format character (but newline and tab) spelled out."""
    return "".join(_visible(ch) for ch in text.replace("\r\n", "\n"))


def plain_line(text: str, fallback: str = "", limit: int = TITLE_LIMIT) -> str:
    """One line of plain text from untrusted ``text``: redacted, first non-empty line, control and
    format characters dropped, no leading Markdown markers, references broken, at most ``limit``."""
    lines = [ln for ln in redact(text).splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    line = "".join(ch for ch in line if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf"))
    line = " ".join(_MARKDOWN_LEAD.sub("", line).split())
    line = _PLAIN_REFERENCE.sub(r"\1 \2", line)
    if not line:
        return plain_line(fallback, "", limit) if fallback else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def plain_text(text: str) -> str:
    """Untrusted text for a commit message body: redacted, control characters spelled out,
    references broken, lines kept."""
    return _PLAIN_REFERENCE.sub(r"\1 \2", visible(redact(text))).strip()


def commit_message(title: str, root_cause: str, fingerprint: str) -> str:
    """Subject (one plain line), the root cause, and our own line last (so that nothing the model
    wrote can be read as a trailer such as ``Co-authored-by:``)."""
    return f"{plain_line(title)}\n\n{plain_text(root_cause)}\n\nselfheal group {fingerprint}"


def code_span(text: str) -> str:
    """``text`` as one inline code span, whatever backticks it holds."""
    text = " ".join(visible(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(text: str) -> str:
    """``text`` as a fenced code block that nothing inside can close."""
    text = visible(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _needs_escape(text: str, i: int) -> bool:
    """Whether ``text[i]`` could start or end Markdown where it stands."""
    ch = text[i]
    if ch in _ALWAYS:
        return True
    if ch == "_":  # intraword underscores never emphasise (GFM); at a word's edge they may
        return not (0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum())
    if ch not in _LINE_START and ch not in ".)":
        return False
    line = text[text.rfind("\n", 0, i) + 1 : i]
    if ch in _LINE_START:
        return not line.strip(" \t")
    return bool(_LIST_NUMBER.match(line))


def _escape(text: str, start: int = 0, end: int | None = None) -> str:
    """``text[start:end]`` with what could form Markdown backslash-escaped (the whole ``text`` is
    read to know where lines and words begin)."""
    end = len(text) if end is None else end
    return "".join("\\" + text[i] if _needs_escape(text, i) else text[i] for i in range(start, end))


def inert(text: str) -> str:
    """Untrusted prose as Markdown that renders as the same words and does nothing else."""
    text = visible(redact(text))
    out: list[str] = []
    last = 0
    for match in _ACTIVE.finditer(text):
        out.append(_escape(text, last, match.start()))
        out.append(code_span(match.group(0)))
        last = match.end()
    out.append(_escape(text, last))
    return "".join(out)


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC") if ms else "-"


def warning_section(findings: Sequence[Finding]) -> list[str]:
    """The body's first section when the change adds risky code: every finding named."""
    if not findings:
        return []
    lines = [
        "## ⚠️ Risky additions: review these first",
        "",
        "This change adds code that a bug fix rarely needs, and the model that wrote it read text an "
        "attacker may control. The PR is a draft until a person has checked each of these:",
        "",
    ]
    lines += [f"- {code_span(f.path)}" + (f" line {f.line}" if f.line else "") + f": {inert(f.what)}" for f in findings]
    return [*lines, ""]


def weakening_section(findings: Sequence[Finding]) -> list[str]:
    """The PR body's first section when the change weakens a check (Markdown lines)."""
    if not findings:
        return []
    lines = [
        "## ⚠️ Weakens a check: review before merging",
        "",
        "This change makes an error go away by checking less. Green CI does not prove that right, "
        "so this PR stays a draft until a person has judged each of these:",
        "",
    ]
    lines += [f"- {code_span(f.path)}" + (f" line {f.line}" if f.line else "") + f": {inert(f.what)}" for f in findings]
    return [*lines, ""]


def pr_body(
    group: ErrorGroup,
    proposal: FixProposal,
    result: EditResult,
    model_id: str,
    usage: Usage,
    findings: Sequence[Finding] = (),
) -> str:
    """The PR description: everything a reviewer and a budget owner need; untrusted text inert,
    secrets redacted (each field before escaping, and the whole body again)."""
    return redact(
        "\n".join(
            [
                "> Generated by **selfheal** from a production stack trace. It needs human review: "
                "selfheal never runs repository code, so this PR's own CI is where the tests run.",
                "",
                *warning_section(findings),
                "## Root cause",
                inert(proposal.root_cause),
                "",
                "## The change",
                inert(proposal.explanation),
                "",
                "## The failure",
                f"- {code_span(redact(group.exception_type))}: {inert(group.message)}",
                f"- occurrences: {group.occurrences}, first seen {_date(group.first_seen)}, "
                f"last seen {_date(group.last_seen)}",
                f"- error group: `{group.fingerprint}`",
                "",
                fenced(redact(group.sample.strip())),
                "",
                "## Numbers",
                f"- confidence: {proposal.confidence:.2f}",
                f"- model: {code_span(model_id)}, {usage.rounds} round(s), {usage.tokens_in} tokens in, "
                f"{usage.tokens_out} tokens out",
                f"- lines changed: +{result.lines_added} -{result.lines_removed} in {len(result.files)} file(s)",
                f"- risky additions flagged: {len(findings)}",
            ]
        )
    )
