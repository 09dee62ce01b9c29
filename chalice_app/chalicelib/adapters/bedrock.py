"""Model adapters: Amazon Bedrock's Converse API, and a replay of recorded Converse answers.

Both return Converse response objects exactly as boto3's ``converse()`` does, so the fix service
reads one shape. Bedrock reserves quota for input + ``maxTokens`` at request start: maxTokens is
always set. Some models reject a forced ``toolChoice``; then the call is repeated with automatic
choice (the answer is schema-checked either way).
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html

Time: the fixer Lambda has 600 s (``.chalice/config.json``). botocore does not retry Bedrock
calls (``clients.BEDROCK``: one attempt, connect 5 s, read 120 s); this adapter retries only
answers that come back quickly refused (throttling, not ready, 5xx, connection refused), with
backoff, and never starts an attempt that could end after ``CALL_BUDGET_S`` (200 s) from the
call's start. A read timeout is not retried here: the model may have generated (and billed) an
answer, so it becomes a TransientError and the job's own retry limit (attempts on the group)
bounds the total. Two rounds of 200 s leave 200 s for the clone, the reads, the push and the PR.
Other refusals are translated: a ValidationException (prompt too long, bad request) is a
FixRejected (retrying cannot help); access and missing-model errors follow ``aws_errors``.

Replay files (``replay:FILE``) are either the original JSON list of Converse responses, used in
order across the run, or an object keyed by group, so that answers never go to the wrong group
after a partial run: a fingerprint prefix (6-32 hex characters), ``Type: text`` (exception type
and a piece of its message), ``Type`` (full or short name) or ``*``; the most specific key wins.
A key's value is one response or a list: the n-th round of a conversation gets the n-th one.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.adapters.aws_errors import error_code, translate
from chalicelib.core.prompt import tool_config
from chalicelib.core.redact import redact
from chalicelib.errors import ConfigError, FixRejected, TransientError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from chalicelib.core.models import ErrorGroup

log = logging.getLogger(__name__)
_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "InternalServerException",
    }
)
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 120  # a 4,096-token answer takes well under a minute on today's models
CALL_BUDGET_S = 200  # one converse(): every attempt, backoff included


class Model(Protocol):
    """Answers one Converse request."""

    model_id: str

    def converse(
        self, system: str, messages: Sequence[dict[str, Any]], group: ErrorGroup | None = None
    ) -> dict[str, Any]:
        """One Converse response for the conversation; ``group`` is the error group it is about
        (a replay uses it to pick the answer; Bedrock ignores it)."""
        ...


class BedrockModel:
    """``bedrock-runtime`` Converse with the ``propose_fix`` tool, retries and a toolChoice fallback."""

    def __init__(  # noqa: PLR0913 - the knobs the tests turn
        self,
        client: Any,
        model_id: str,
        max_tokens: int = 4_096,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        budget_s: float = CALL_BUDGET_S,
    ) -> None:
        if not model_id:
            raise ConfigError("no Bedrock model id configured (SSM parameter model_id or --model-id)")
        self._client = client
        self.model_id = model_id
        self._max_tokens = max_tokens
        self._attempts = attempts
        self._sleep = sleep
        self._clock = clock
        self._budget_s = budget_s
        self._forced = True

    def converse(
        self, system: str, messages: Sequence[dict[str, Any]], group: ErrorGroup | None = None
    ) -> dict[str, Any]:
        """One Converse call within ``budget_s``: TransientError when it could not get an answer
        in time, FixRejected when Bedrock refuses the request itself."""
        start = self._clock()
        delay = 1.0
        for attempt in range(1, self._attempts + 1):
            try:
                return self._client.converse(
                    modelId=self.model_id,
                    system=[{"text": system}],
                    messages=list(messages),
                    inferenceConfig={"maxTokens": self._max_tokens, "temperature": 0.0},
                    toolConfig=tool_config(forced=self._forced),
                )
            except (ReadTimeoutError, ConnectionClosedError) as exc:
                # The request reached the model: retrying could bill a second generation.
                raise TransientError(f"Bedrock gave no answer: {type(exc).__name__} (not retried)") from exc
            except (ConnectTimeoutError, EndpointConnectionError) as exc:
                code = type(exc).__name__
            except ClientError as exc:
                code = error_code(exc)
                text = exc.response.get("Error", {}).get("Message", "")
                if code == "ValidationException" and self._forced and "toolChoice" in text:
                    log.info("model %s rejects a forced toolChoice; using automatic choice", self.model_id)
                    self._forced = False
                    continue
                if code == "ValidationException":
                    raise FixRejected(redact(f"Bedrock refused the request: {text}")[:500]) from exc
                if code not in _RETRYABLE:
                    raise translate(exc, "Bedrock Converse") from exc
            elapsed = self._clock() - start
            if attempt == self._attempts or elapsed + delay + CONNECT_TIMEOUT_S + READ_TIMEOUT_S > self._budget_s:
                raise TransientError(f"Bedrock {code} after {attempt} attempts in {elapsed:.0f} s")
            self._sleep(delay)
            delay *= 2
        raise TransientError(f"Bedrock gave no answer in {self._attempts} attempts")


_FINGERPRINT_KEY = re.compile(r"[0-9a-f]{6,32}")


def _key_rank(key: str, group: ErrorGroup) -> tuple[int, int] | None:
    """How specifically ``key`` names ``group`` (higher is better), None when it does not."""
    if _FINGERPRINT_KEY.fullmatch(key):
        return (4, len(key)) if group.fingerprint.startswith(key) else None
    kind, _, text = key.partition(":")
    kind, text = kind.strip(), text.strip()
    if key == "*":
        return (1, 0)
    if group.exception_type not in (kind,) and group.exception_type.rsplit(".", 1)[-1] != kind:
        return None
    if text:
        return (3, len(text)) if text in group.message else None
    return (2, len(kind))


def _responses(value: Any, where: str) -> list[dict[str, Any]]:
    answers = value if isinstance(value, list) else [value]
    if not answers or not all(isinstance(a, dict) and "output" in a for a in answers):
        raise ConfigError(f"replay file {where} must hold Converse responses (a list, or an object of them by group)")
    return answers


class ReplayModel:
    """Answers from recorded Converse responses (no Bedrock call): a list used in order, or
    answers keyed by group (see the module docstring)."""

    def __init__(self, path: str | Path, announce: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"replay file {self.path}: {exc}") from exc
        self._list: list[dict[str, Any]] | None = None
        self._keyed: dict[str, list[dict[str, Any]]] = {}
        if isinstance(data, list):
            self._list = _responses(data, str(self.path)) if data else []
        elif isinstance(data, dict):
            self._keyed = {str(k): _responses(v, f"{self.path} [{k}]") for k, v in data.items()}
        else:
            raise ConfigError(f"replay file {self.path} must be a JSON list of Converse responses")
        self._next = 0
        self.model_id = f"replay:{self.path.name}"
        (announce or log.warning)(f"model: replaying recorded answers from {self.path} (no Bedrock call)")

    def converse(
        self, system: str, messages: Sequence[Mapping[str, Any]], group: ErrorGroup | None = None
    ) -> dict[str, Any]:
        """The next recorded answer: in list order, or the n-th answer of the group's key in round n."""
        if self._list is not None:
            if self._next >= len(self._list):
                raise ConfigError(f"replay file {self.path} has no answer left (used {self._next})")
            answer = self._list[self._next]
            self._next += 1
            return answer
        ranked = [(rank, key) for key in self._keyed if group and (rank := _key_rank(key, group))]
        if not ranked or group is None:
            who = f"{group.fingerprint} ({group.exception_type})" if group else "a request without a group"
            raise ConfigError(f"replay file {self.path} has no answer for {who}")
        key = max(ranked)[1]
        answers = self._keyed[key]
        round_ = sum(1 for m in messages if m.get("role") == "assistant")
        if round_ >= len(answers):
            if round_ and (why := _rejection(messages[-1])):
                # The recorded answer was used and refused: say why, not that a next one is missing.
                raise ConfigError(
                    f"replay file {self.path}: the answer {key!r} for {group.fingerprint[:12]} did not apply: {why}"
                )
            raise ConfigError(f"replay file {self.path} has no answer for round {round_ + 1} of {group.fingerprint}")
        return answers[round_]


_REFUSED = "Your edits could not be used: "  # core.prompt.retry_text's opening


def _rejection(message: Mapping[str, Any]) -> str:
    """Why the previous answer was refused, from the follow-up turn the fix service sent (its
    ``toolResult`` with status error, or its retry text); '' when the turn is no such follow-up."""
    for part in message.get("content") or ():
        result = part.get("toolResult") if isinstance(part, dict) else None
        if isinstance(result, dict) and result.get("status") == "error":
            texts = [c.get("text", "") for c in result.get("content") or () if isinstance(c, dict)]
            if any(texts):
                return " ".join(texts)
    for part in message.get("content") or ():
        text = part.get("text") if isinstance(part, dict) else None
        if isinstance(text, str) and text.startswith(_REFUSED):
            return text.split("\n", 1)[0].removeprefix(_REFUSED)
    return ""
