"""Model adapters: Amazon Bedrock's Converse API, and a replay of recorded Converse answers.

Both return Converse response objects exactly as boto3's ``converse()`` does, so the fix service
reads one shape. Bedrock reserves quota for input + ``maxTokens`` at request start: maxTokens is
always set. Some models reject a forced ``toolChoice``; then the call is repeated with automatic
choice (the answer is schema-checked either way).
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.core.prompt import tool_config
from chalicelib.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)
_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "InternalServerException",
    }
)


class Model(Protocol):
    """Answers one Converse request."""

    model_id: str

    def converse(self, system: str, messages: Sequence[dict[str, Any]]) -> dict[str, Any]: ...


class BedrockModel:
    """``bedrock-runtime`` Converse with the ``propose_fix`` tool, retries and a toolChoice fallback."""

    def __init__(
        self,
        client: Any,
        model_id: str,
        max_tokens: int = 4_096,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model_id:
            raise ConfigError("no Bedrock model id configured (SSM parameter model_id or --model-id)")
        self._client = client
        self.model_id = model_id
        self._max_tokens = max_tokens
        self._attempts = attempts
        self._sleep = sleep
        self._forced = True

    def converse(self, system: str, messages: Sequence[dict[str, Any]]) -> dict[str, Any]:
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
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                text = exc.response.get("Error", {}).get("Message", "")
                if code == "ValidationException" and self._forced and "toolChoice" in text:
                    log.info("model %s rejects a forced toolChoice; using automatic choice", self.model_id)
                    self._forced = False
                    continue
                if code in _RETRYABLE and attempt < self._attempts:
                    self._sleep(delay)
                    delay *= 2
                    continue
                if code in _RETRYABLE:
                    raise TransientError(f"Bedrock {code} after {attempt} attempts") from exc
                raise
        raise TransientError(f"Bedrock gave no answer in {self._attempts} attempts")


class ReplayModel:
    """Answers from a JSON list of recorded Converse responses, consumed in order, one per call."""

    def __init__(self, path: str | Path, announce: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        try:
            answers = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"replay file {self.path}: {exc}") from exc
        if not isinstance(answers, list) or not all(isinstance(a, dict) and "output" in a for a in answers):
            raise ConfigError(f"replay file {self.path} must be a JSON list of Converse responses")
        self._answers = answers
        self._next = 0
        self.model_id = f"replay:{self.path.name}"
        (announce or log.warning)(f"model: replaying recorded answers from {self.path} (no Bedrock call)")

    def converse(self, system: str, messages: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if self._next >= len(self._answers):
            raise ConfigError(f"replay file {self.path} has no answer left (used {self._next})")
        answer = self._answers[self._next]
        self._next += 1
        return answer
