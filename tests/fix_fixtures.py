"""Shared pieces for fix-generation tests: a bare repository of the sample app, Converse answers."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

import git
from local_mode import commit_sample_app

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.models import ErrorGroup, Status
from chalicelib.core.tracebacks import find_in_text, render
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

SAMPLE_APP = ROOT / "scripts" / "sample_app"


def bare_repo_of_sample_app(tmp: Path, change: Callable[[Path], None] | None = None) -> Path:
    """A bare repository whose main branch holds the sample app's code, after ``change(work)``
    (links, line endings, modes) is committed on top when given."""
    work = commit_sample_app(tmp / "sample-work")
    if change is not None:
        change(work)
        run = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
        subprocess.run([*run, "add", "-A"], check=True)
        subprocess.run([*run, "commit", "-qm", "change"], check=True)
    bare = tmp / "sample.git"
    git.Repo.clone_from(str(work), str(bare), bare=True)
    return bare


def group_from_log(text: str, occurrences: int = 3) -> ErrorGroup:
    [tb] = find_in_text(text)
    return ErrorGroup(
        fingerprint=fingerprint(tb),
        status=Status.FIXING,
        exception_type=tb.final.type,
        message=tb.final.message,
        frames=tb.final.frames,
        sample=render(tb),
        occurrences=occurrences,
        first_seen=1_795_000_000_000,
        last_seen=1_795_000_600_000,
    )


NONE_DISCOUNT_TRACE = """\
Traceback (most recent call last):
  File "/var/task/handler.py", line 11, in lambda_handler
    return orders.handle(event)
  File "/var/task/shop/orders.py", line 36, in handle
    return {"total": order_total(parse_order(event["body"]))}
  File "/var/task/shop/orders.py", line 22, in order_total
    percent = pricing.discount_percent(order.get("discount"))
  File "/var/task/shop/pricing.py", line 10, in discount_percent
    return DISCOUNTS[code.upper()]
AttributeError: 'NoneType' object has no attribute 'upper'
"""

GOOD_EDIT = {
    "path": "shop/pricing.py",
    "search": "    return DISCOUNTS[code.upper()]",
    "replace": "    if not code:\n        return 0\n    return DISCOUNTS[code.upper()]",
}


def converse_answer(edits: list[dict], confidence: float = 0.8, tool_id: str = "tool-1", **extra) -> dict:
    """A Converse response calling propose_fix, as boto3's converse() returns it."""
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": tool_id,
                            "name": "propose_fix",
                            "input": {
                                "title": "Treat a missing discount code as no discount",
                                "root_cause": "order_total passes None when the order has no discount code.",
                                "explanation": "discount_percent returns 0 for a missing code.",
                                "confidence": confidence,
                                "edits": edits,
                                **extra,
                            },
                        }
                    }
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 1200, "outputTokens": 150, "totalTokens": 1350},
        "metrics": {"latencyMs": 900},
    }


class RecordingModel:
    """A Model that records every request (the prompt texts) and answers from a list, in order."""

    def __init__(self, answers: Sequence[dict[str, Any]], model_id: str = "recording") -> None:
        self.answers = list(answers)
        self.model_id = model_id
        self.requests: list[str] = []

    def converse(self, system: str, messages: Sequence[Mapping[str, Any]], group: Any = None) -> dict[str, Any]:
        self.requests.append("\n".join(str(block.get("text", "")) for m in messages for block in m["content"]))
        if not self.answers:
            raise AssertionError("the model was called once more than expected")
        return self.answers.pop(0)
