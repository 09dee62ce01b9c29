"""Canaries: secrets of every kind redaction knows, planted in a log, never leave the account.

The local pipeline runs against a moto server (log group → log_processor → DynamoDB → stream →
queue → fixer → model → git branch, commit and PR file), as ``selfheal local`` runs it. The
secrets sit in the exception message, in its notes, in library frames' source lines and in a
frame's path; the replayed model also echoes some of them in its title, root cause and
explanation (a model can repeat what it read in the code, audit probes B4/B5). Then every output
is searched for every secret: each DynamoDB item, the prompt sent to the model, branch names,
commit messages and diffs, the PR files, the logs, stdout/stderr and the progress lines.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import git
import pytest
from local_mode import DEFAULT_PATTERN, LocalPipeline
from local_stack import put_log_lines

from chalicelib import runtime
from chalicelib.adapters.bedrock import ReplayModel
from chalicelib.adapters.git_repo import GitRepository, LocalPullRequests
from chalicelib.core.redact import RULES, placeholder
from chalicelib.core.tracebacks import find_in_text
from chalicelib.usecases.fix_generation import FixSettings, ModelFixer
from tests.fix_fixtures import GOOD_EDIT, bare_repo_of_sample_app, converse_answer
from tests.unit.test_redact import SAMPLES

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from tests.integration.conftest import Aws

pytestmark = pytest.mark.integration

# Samples that run to the end of their line or of the text go last, or on lines of their own.
_EATS_THE_REST = ("Cookie:", "cut: ")
ONE_LINE = [text for text, _ in SAMPLES if "\n" not in text and not text.startswith(_EATS_THE_REST)]
LAST_ON_LINE = [text for text, _ in SAMPLES if text.startswith("Cookie:")]
MULTI_LINE = [text for text, _ in SAMPLES if "\n" in text and not text.startswith("cut: ")]
CUT_KEY = [text for text, _ in SAMPLES if text.startswith("cut: ")]
SECRETS = sorted({secret for _, secrets in SAMPLES for secret, _ in secrets})
# What the replayed model "read in the code" and writes back in its own words.
ECHO = [
    "token ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "DB_PASSWORD=hunter2secret",
    "contact jane.doe@example.com now",
]
SOURCE_LINES = ONE_LINE[::6]  # a dozen kinds as code in library frames


def canary_log() -> list[str]:
    """Log lines: one traceback carrying every sample, then a second bug (for a rejected fix)."""
    frames = [
        ("/var/task/handler.py", 11, "lambda_handler", "return orders.handle(event)"),
        ("/var/task/shop/orders.py", 36, "handle", 'return {"total": order_total(parse_order(event["body"]))}'),
        ("/var/task/shop/orders.py", 22, "order_total", 'percent = pricing.discount_percent(order.get("discount"))'),
        ("/var/task/shop/pricing.py", 10, "discount_percent", "return DISCOUNTS[code.upper()]"),
    ]
    library = [
        ("/Users/jane.doe@example.com/venv/lib/python3.11/site-packages/vault/api.py", 7, "read", "return self._get()"),
        *(
            (f"/opt/python/lib/python3.11/site-packages/vault/client{n}.py", n + 1, f"call_{n}", line)
            for n, line in enumerate(SOURCE_LINES)
        ),
    ]
    message = " | ".join([*ONE_LINE, *LAST_ON_LINE])
    notes = [f"note: {text}" for text in [*MULTI_LINE, *ONE_LINE[1::7], *CUT_KEY]]
    first = [
        "2026-11-22 09:00:07,100 ERROR [shop] order failed",
        "Traceback (most recent call last):",
        *(part for f, n, fn, src in [*frames, *library] for part in (f'  File "{f}", line {n}, in {fn}', f"    {src}")),
        f"AttributeError: 'NoneType' object has no attribute 'upper' {message}",
        *"\n".join(notes).split("\n"),
        "",
    ]
    second = [
        "2026-11-22 09:01:07,101 ERROR [shop] order failed",
        "Traceback (most recent call last):",
        *(part for f, n, fn, src in frames for part in (f'  File "{f}", line {n}, in {fn}', f"    {src}")),
        "KeyError: 'WINTER'",
        "",
    ]
    return first + second


class RecordingModel(ReplayModel):
    """The replay model, keeping every text it is sent: the prompt as the model would read it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, announce=lambda _message: None)
        self.seen: list[str] = []

    def converse(self, system: str, messages: Sequence[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        self.seen.extend([system, *strings(messages)])
        return super().converse(system, messages, **kwargs)


class Collect(logging.Handler):
    """Every log record of the run, formatted with its exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter("%(name)s %(levelname)s %(message)s").format(record))


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (DynamoDB items, Converse messages)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)


@pytest.fixture
def all_logs() -> Iterator[Collect]:
    runtime.settings()  # Powertools configures chalicelib's loggers (propagate off): collect from each
    collect = Collect()
    known = logging.Logger.manager.loggerDict
    loggers = [logging.getLogger(), *(lg for lg in known.values() if isinstance(lg, logging.Logger))]
    ours = [lg for lg in loggers if lg.name.split(".")[0] in ("chalicelib", "app")]
    levels = [lg.level for lg in ours]
    for lg in loggers:
        lg.addHandler(collect)
    for lg in ours:  # everything selfheal logs, debug included; libraries at their usual levels
        lg.setLevel(logging.DEBUG)
    yield collect
    for lg in loggers:
        lg.removeHandler(collect)
    for lg, level in zip(ours, levels, strict=True):
        lg.setLevel(level)


def test_no_planted_secret_reaches_any_output(aws: Aws, tmp_path: Path, all_logs: Collect, capfd) -> None:
    # GIVEN a log whose first traceback carries a sample of every kind, and is parsed as such
    lines = canary_log()
    found = find_in_text("\n".join(lines))
    assert [tb.final.type for tb in found] == ["AttributeError", "KeyError"]
    assert len(found[0].final.frames) == 5 + len(SOURCE_LINES)
    assert all(text in found[0].final.message for text in ONE_LINE)
    # AND a model that echoes secrets: a fix for the first bug, no edit for the second
    answers = tmp_path / "answers.json"
    echo = " ".join(ECHO)
    answers.write_text(
        json.dumps(
            [
                converse_answer([GOOD_EDIT], 0.9, title=f"Fix {ECHO[0]}", root_cause=echo, explanation=echo),
                converse_answer([], 0.9, root_cause=echo, explanation=f"nothing to change: {echo}"),
            ]
        )
    )
    model = RecordingModel(answers)
    bare = bare_repo_of_sample_app(tmp_path)
    fixer = ModelFixer(lambda: GitRepository(str(bare)), LocalPullRequests(bare), model, FixSettings())
    runtime.override(fixer=fixer)
    progress: list[str] = []
    # WHEN the local pipeline runs
    pipeline = LocalPipeline(aws.clients, aws.stack, progress.append)
    put_log_lines(aws.clients, aws.stack.log_group, lines, "canary/0")
    pipeline.deliver("canary/0", DEFAULT_PATTERN)
    pipeline.drain(timeout_s=120)
    # THEN the pipeline did its work: both groups stored, one fix published, the model asked
    items = aws.items()  # error groups and the store's budget counters: every item is searched
    statuses = sorted(item["status"]["S"] for item in items if "status" in item)
    assert statuses == ["FAILED", "PR_OPENED"], (statuses, progress)
    assert model.seen
    repo = git.Repo(bare)
    prs = sorted((bare.parent / f"{bare.name}.selfheal-prs").iterdir())
    assert prs
    # AND redaction saw every kind: each placeholder is in the stored message or sample
    stored = " ".join(s for item in items for s in strings(item))
    missing = {rule.kind for rule in RULES} - {rule.kind for rule in RULES if placeholder(rule.kind) in stored}
    assert not missing, missing
    # AND no secret appears in any output
    out, err = capfd.readouterr()
    outputs: dict[str, str] = {
        "prompt": "\n".join(model.seen),
        "branches": "\n".join(ref.name for ref in repo.refs),
        "commits and diffs": repo.git.log("--all", "-p", "--format=%H%n%B"),
        "logs": "\n".join(all_logs.lines),
        "stdout": out,
        "stderr": err,
        "progress": "\n".join(progress),
    }
    for item in items:
        for name, value in item.items():
            outputs[f"item {item['fingerprint']['S'][:12]} {name}"] = "\n".join(strings(value))
    for pr in prs:
        outputs[f"PR file {pr.name}"] = pr.read_text()
    assert placeholder("github-token") in outputs["prompt"] and placeholder("card-number") in outputs["prompt"]
    leaks = [f"{where}: {secret!r}" for where, text in outputs.items() for secret in SECRETS if secret in text]
    assert not leaks, "secrets left the account:\n" + "\n".join(leaks)
