"""The Bedrock adapter through the real bedrock-runtime client, requests checked by Stubber
against AWS's own service model."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.bedrock import BedrockModel, ReplayModel
from chalicelib.core.prompt import SYSTEM_PROMPT, tool_config
from chalicelib.errors import ConfigError, TransientError
from tests.fix_fixtures import GOOD_EDIT, converse_answer

MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # a cross-region inference profile id
MESSAGES = [{"role": "user", "content": [{"text": "fix it"}]}]


def expected(forced: bool = True) -> dict:
    return {
        "modelId": MODEL,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": MESSAGES,
        "inferenceConfig": {"maxTokens": 4096, "temperature": 0.0},
        "toolConfig": tool_config(forced=forced),
    }


@pytest.fixture
def client():
    c = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(c) as stub:
        c.stub = stub
        yield c
        stub.assert_no_pending_responses()


def test_converse_request_is_valid_and_answer_returned(client) -> None:
    client.stub.add_response("converse", converse_answer([GOOD_EDIT]), expected())
    answer = BedrockModel(client, MODEL).converse(SYSTEM_PROMPT, MESSAGES)
    assert answer["output"]["message"]["content"][0]["toolUse"]["name"] == "propose_fix"


def test_throttling_is_retried_with_backoff(client) -> None:
    sleeps: list[float] = []
    client.stub.add_client_error("converse", "ThrottlingException", "slow down", 429, expected_params=expected())
    client.stub.add_client_error("converse", "ThrottlingException", "slow down", 429, expected_params=expected())
    client.stub.add_response("converse", converse_answer([GOOD_EDIT]), expected())
    BedrockModel(client, MODEL, sleep=sleeps.append).converse(SYSTEM_PROMPT, MESSAGES)
    assert sleeps == [1.0, 2.0]


def test_persistent_throttling_becomes_a_transient_error(client) -> None:
    for _ in range(2):
        client.stub.add_client_error("converse", "ThrottlingException", "slow down", 429, expected_params=expected())
    with pytest.raises(TransientError, match="ThrottlingException after 2 attempts"):
        BedrockModel(client, MODEL, attempts=2, sleep=lambda s: None).converse(SYSTEM_PROMPT, MESSAGES)


def test_model_rejecting_forced_tool_choice_falls_back_to_auto(client) -> None:
    client.stub.add_client_error(
        "converse", "ValidationException", "This model doesn't support the toolChoice.tool field", 400,
        expected_params=expected(forced=True),
    )  # fmt: skip
    client.stub.add_response("converse", converse_answer([GOOD_EDIT]), expected(forced=False))
    BedrockModel(client, MODEL).converse(SYSTEM_PROMPT, MESSAGES)


def test_other_validation_errors_are_not_swallowed(client) -> None:
    from botocore.exceptions import ClientError

    client.stub.add_client_error("converse", "AccessDeniedException", "no access", 403, expected_params=expected())
    with pytest.raises(ClientError, match="AccessDenied"):
        BedrockModel(client, MODEL).converse(SYSTEM_PROMPT, MESSAGES)


def test_model_id_is_required() -> None:
    with pytest.raises(ConfigError, match="model id"):
        BedrockModel(object(), "")


def test_replay_answers_in_order_and_says_so(tmp_path) -> None:
    import json

    path = tmp_path / "answers.json"
    path.write_text(json.dumps([converse_answer([GOOD_EDIT], tool_id="a"), converse_answer([GOOD_EDIT], tool_id="b")]))
    said: list[str] = []
    model = ReplayModel(path, announce=said.append)
    ids = [model.converse("s", MESSAGES)["output"]["message"]["content"][0]["toolUse"]["toolUseId"] for _ in range(2)]
    assert ids == ["a", "b"] and "replaying" in said[0]
    with pytest.raises(ConfigError, match="no answer left"):
        model.converse("s", MESSAGES)


def test_replay_file_must_hold_converse_responses(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"not": "a list"}')
    with pytest.raises(ConfigError, match="JSON list of Converse responses"):
        ReplayModel(path)
