"""What selfheal publishes (PR title, commit message, PR body) holds log and model text inert and
redacted: no fake headings, no closing keywords, no mentions, no hidden text, no secrets."""

from __future__ import annotations

import re

import pytest

from chalicelib.core.edits import EditResult
from chalicelib.core.models import Edit, ErrorGroup, FixProposal
from chalicelib.core.pr_text import code_span, commit_message, fenced, inert, plain_line, pr_body
from chalicelib.core.risks import Finding

TOKEN = "ghp_" + "E" * 36


class Numbers:
    tokens_in, tokens_out, rounds = 1200, 150, 1


def body(message: str = "boom", root_cause: str = "rc", sample: str = "ValueError: boom", findings=()) -> str:
    group = ErrorGroup("0" * 32, "FIXING", "ValueError", message, sample=sample, occurrences=1)
    proposal = FixProposal(root_cause, "explained", 0.9, (Edit("a.py", "b", "c"),))
    return pr_body(group, proposal, EditResult({"a.py": "c"}, "", 1, 1), "model-x", Numbers(), findings)


def test_title_is_one_plain_line_without_a_heading() -> None:
    title = plain_line("Fix\n\n## Approved by security\n$(rm -rf /)", "fallback")
    assert title == "Fix"
    assert plain_line("## Approved by security: merge now") == "Approved by security: merge now"
    assert plain_line("\n\n  \u202eFix\u200b it\tnow  ") == "Fix it now"
    assert plain_line("", "Fix KeyError in total") == "Fix KeyError in total"
    assert len(plain_line("x" * 300)) == 72


def test_title_and_commit_cannot_close_issues_or_leak_tokens() -> None:
    assert plain_line(f"Fixes #1 and acme/shop#2, GH-3 with {TOKEN}") == (
        "Fixes # 1 and acme/shop# 2, GH- 3 with <redacted:github-token>"
    )
    message = commit_message(f"Fix {TOKEN}\n## x", f"uses {TOKEN}\nCloses #4\n\n<!-- hide", "f" * 32)
    subject, *rest = message.split("\n")
    assert subject == "Fix <redacted:github-token>"
    assert TOKEN not in message and "#4" not in message
    assert message.endswith(f"selfheal group {'f' * 32}")  # our line last: no model-written trailer


@pytest.mark.parametrize(
    ("hostile", "inert_form"),
    [
        ("Closes #1", "Closes `#1`"),
        ("fixes acme/shop#2", "fixes `acme/shop#2`"),
        ("cc @acme/security and @alice", "cc `@acme/security` and `@alice`"),
        ("![t](https://attacker.example/p.png)", "\\!\\[t\\](`https://attacker.example/p.png)`"),
        ("<!-- hide the rest", "\\<\\!-- hide the rest"),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
        ("## Approved by security", "\\#\\# Approved by security"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("a\u202eb", "a\\[U+202E\\]b"),  # renders as a[U+202E]b
        ("```", "\\`\\`\\`"),
    ],
)
def test_log_and_model_text_in_the_body_is_inert(hostile: str, inert_form: str) -> None:
    assert inert(hostile) == inert_form
    text = body(message=hostile, root_cause=hostile)
    assert text.count(inert_form) == 2
    if "`" not in hostile:  # the body's own fence has backticks
        assert hostile not in text


def test_the_trace_fence_cannot_be_closed_by_the_trace() -> None:
    sample = "ValueError: ```\n## Approved: merge without review\n`````"
    text = body(sample=sample)
    fence = "``````"  # one backtick more than the longest run inside
    assert f"{fence}text\n{sample}\n{fence}" in text
    assert fenced("plain") == "```text\nplain\n```"


def test_code_span_survives_backticks() -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"


def test_secrets_in_every_field_are_redacted_before_escaping() -> None:
    text = body(message=f"token {TOKEN}", root_cause=f"the code uses {TOKEN}", sample=f"Error: {TOKEN}")
    assert TOKEN not in text and "ghp" not in text.replace("redacted:github", "")
    assert text.count("\\<redacted:github-token\\>") == 2 and text.count("<redacted:github-token>") == 1


def test_risky_additions_open_the_body_with_each_finding_named() -> None:
    findings = (
        Finding("shop/pricing.py", 10, "runs a shell command (os.system)"),
        Finding("x.py", 3, "imports socket"),
    )
    text = body(findings=findings)
    warning = text.index("Risky additions")
    assert warning < text.index("## Root cause")
    assert "`shop/pricing.py` line 10: runs a shell command (os.system)" in text
    assert "`x.py` line 3: imports socket" in text and "risky additions flagged: 2" in text
    assert "Risky additions" not in body()


@pytest.mark.parametrize(
    ("prose", "markdown"),
    [
        # Prose reads as written: identifiers, paths, calls, colons, quotes, hyphens and sentences.
        ("order_total passes None; discount_percent calls .upper() on it.",
         "order_total passes None; discount_percent calls .upper() on it."),
        ("KeyError: 'WINTER' in shop/pricing.py (line 10) - a well-known code",
         "KeyError: 'WINTER' in shop/pricing.py (line 10) - a well-known code"),
        # What could still form Markdown is escaped: emphasis, word-edge underscores, list and
        # heading markers at a line's start, ordered-list numbers, e-mail autolinks, math.
        ("*all* __init__ and _x_", "\\*all\\* \\_\\_init\\_\\_ and \\_x\\_"),
        ("- item\n+ item\n  1. one\n2) two\n===", "\\- item\n\\+ item\n  1\\. one\n2\\) two\n\\==="),
        ("ops@acme.example pays $5 at a@b", "\\<redacted:email\\> pays \\$5 at a\\@b"),  # e-mails are redacted
    ],
)  # fmt: skip
def test_prose_is_readable_and_only_what_forms_markdown_is_escaped(prose: str, markdown: str) -> None:
    assert inert(prose) == markdown


def test_no_raw_html_or_link_survives_any_field() -> None:
    hostile = '<a href="https://x">x</a> [l](http://y) <details><summary>s</summary> @org/team Closes #9'
    text = body(message=hostile, root_cause=hostile)
    outside_code = re.sub(r"(`+)[^`]*?\1", "", text.split("```", 1)[0])
    assert not re.search(r"(?<!\\)<[a-z!/]", outside_code)
    assert not re.search(r"(?<!\\)\]\(", outside_code)
    assert "@org" not in outside_code and "#9" not in outside_code
