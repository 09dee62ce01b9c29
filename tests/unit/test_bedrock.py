"""The Bedrock adapter through the real bedrock-runtime client, requests checked by Stubber
against AWS's own service model."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from chalicelib.adapters.bedrock import CALL_BUDGET_S, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, BedrockModel, ReplayModel
from chalicelib.adapters.clients import BEDROCK, Clients
from chalicelib.adapters.settings import Settings
from chalicelib.core.models import ErrorGroup
from chalicelib.core.prompt import SYSTEM_PROMPT, tool_config
from chalicelib.errors import ConfigError, FixRejected, TransientError
from tests.conftest import ROOT
from tests.fix_fixtures import GOOD_EDIT, converse_answer

MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # a cross-region inference profile id
MESSAGES = [{"role": "user", "content": [{"text": "fix it"}]}]
TOKEN = "ghp_" + "R" * 36


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


def test_access_denied_is_a_configuration_error(client) -> None:
    client.stub.add_client_error("converse", "AccessDeniedException", "no access", 403, expected_params=expected())
    with pytest.raises(ConfigError, match="AccessDenied"):
        BedrockModel(client, MODEL).converse(SYSTEM_PROMPT, MESSAGES)


def test_a_request_bedrock_refuses_is_a_recorded_rejection_not_a_retry(client) -> None:
    client.stub.add_client_error(
        "converse", "ValidationException", f"Input is too long for requested model {TOKEN}", 400,
        expected_params=expected(),
    )  # fmt: skip
    with pytest.raises(FixRejected, match="Input is too long") as raised:
        BedrockModel(client, MODEL).converse(SYSTEM_PROMPT, MESSAGES)
    assert TOKEN not in str(raised.value)


def test_retries_stop_when_another_attempt_could_overrun_the_call_budget(client) -> None:
    # GIVEN a first attempt refused after 90 s (the clock says so)
    client.stub.add_client_error("converse", "InternalServerException", "oops", 500, expected_params=expected())
    times = iter([0.0, 90.0])
    model = BedrockModel(client, MODEL, sleep=lambda s: None, clock=lambda: next(times))
    # WHEN / THEN another 125 s attempt would end past the 200 s budget: no second request
    with pytest.raises(TransientError, match="InternalServerException after 1 attempts in 90 s"):
        model.converse(SYSTEM_PROMPT, MESSAGES)


def test_bedrock_client_never_retries_by_itself_and_its_timeouts_fit_the_fixer_lambda() -> None:
    # GIVEN the client the runtime builds for Bedrock
    bedrock = Clients(Settings(endpoint_url="http://127.0.0.1:9")).client("bedrock-runtime")
    config = bedrock.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (config.connect_timeout, config.read_timeout) == (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
    # THEN two rounds, each within its budget, leave room for clone, push and PR in the Lambda
    lambdas = json.loads((ROOT / "chalice_app" / ".chalice" / "config.json").read_text())
    fixer_timeout = lambdas["stages"]["dev"]["lambda_functions"]["fixer"]["lambda_timeout"]
    git_and_github_margin = 120
    assert CONNECT_TIMEOUT_S + READ_TIMEOUT_S <= CALL_BUDGET_S
    assert 2 * CALL_BUDGET_S + git_and_github_margin <= fixer_timeout


@pytest.fixture
def slow_bedrock():
    """A local endpoint that answers every request after 3 s (a model generating for too long)."""
    hits: list[float] = []

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return

        def do_POST(self) -> None:  # noqa: N802
            hits.append(time.monotonic())
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(3)
            with contextlib.suppress(OSError):
                self.send_response(200)
                self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_a_read_timeout_is_one_request_and_a_transient_error(slow_bedrock) -> None:
    # GIVEN the production Bedrock client configuration, with a 1 s read timeout for the test
    url, hits = slow_bedrock
    config = BEDROCK.merge(Config(read_timeout=1))
    bedrock = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=url, config=config,
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip
    # WHEN
    start = time.monotonic()
    with pytest.raises(TransientError, match="ReadTimeoutError"):
        BedrockModel(bedrock, MODEL).converse(SYSTEM_PROMPT, MESSAGES)
    # THEN one billed generation at most, not 6 per attempt
    assert len(hits) == 1 and time.monotonic() - start < 3


def test_model_id_is_required() -> None:
    with pytest.raises(ConfigError, match="model id"):
        BedrockModel(object(), "")


def test_replay_answers_in_order_and_says_so(tmp_path) -> None:
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
    path.write_text('{"not": "a response"}')
    with pytest.raises(ConfigError, match="must hold Converse responses"):
        ReplayModel(path)
    path.write_text('"text"')
    with pytest.raises(ConfigError, match="JSON list of Converse responses"):
        ReplayModel(path)


def tool_id(answer: dict) -> str:
    return answer["output"]["message"]["content"][0]["toolUse"]["toolUseId"]


GROUPS = {
    "winter": ErrorGroup("003a5d4969c7" + "0" * 20, "FIXING", "KeyError", "'WINTER'"),
    "kiwi": ErrorGroup("24565c64e284" + "0" * 20, "FIXING", "KeyError", "'kiwi'"),
    "none": ErrorGroup(
        "0717b95b0278" + "0" * 20, "FIXING", "AttributeError", "'NoneType' object has no attribute 'upper'"
    ),
    "json": ErrorGroup("d771802e2616" + "0" * 20, "FIXING", "json.decoder.JSONDecodeError", "Expecting value"),
    "other": ErrorGroup("9a4d8be4402b" + "0" * 20, "FIXING", "ZeroDivisionError", "division by zero"),
}


def test_replay_answers_keyed_by_group_are_not_positional(tmp_path) -> None:
    # GIVEN answers keyed by fingerprint prefix, type + message, type (short name) and a default
    keyed = {
        "24565c64e284": converse_answer([GOOD_EDIT], tool_id="kiwi"),
        "KeyError: WINTER": [converse_answer([GOOD_EDIT], tool_id="winter-1"), converse_answer([], tool_id="winter-2")],
        "KeyError": converse_answer([GOOD_EDIT], tool_id="any-key-error"),
        "JSONDecodeError": converse_answer([GOOD_EDIT], tool_id="json"),
        "*": converse_answer([GOOD_EDIT], tool_id="default"),
    }
    path = tmp_path / "keyed.json"
    path.write_text(json.dumps(keyed))
    model = ReplayModel(path, announce=lambda s: None)
    # WHEN groups ask in any order (a resumed run), THEN each gets its own answer
    assert tool_id(model.converse("s", MESSAGES, group=GROUPS["json"])) == "json"
    assert tool_id(model.converse("s", MESSAGES, group=GROUPS["winter"])) == "winter-1"
    assert tool_id(model.converse("s", MESSAGES, group=GROUPS["kiwi"])) == "kiwi"
    assert tool_id(model.converse("s", MESSAGES, group=GROUPS["other"])) == "default"
    other_key_error = ErrorGroup("f" * 32, "FIXING", "KeyError", "'x'")
    assert tool_id(model.converse("s", MESSAGES, group=other_key_error)) == "any-key-error"
    # the second round of a conversation gets the key's second answer, every time it is asked
    second_round = [*MESSAGES, {"role": "assistant", "content": []}, *MESSAGES]
    assert tool_id(model.converse("s", second_round, group=GROUPS["winter"])) == "winter-2"
    assert tool_id(model.converse("s", MESSAGES, group=GROUPS["winter"])) == "winter-1"
    with pytest.raises(ConfigError, match="no answer for round 2"):
        model.converse("s", second_round, group=GROUPS["kiwi"])


def test_a_keyed_replay_without_an_answer_for_the_group_says_which(tmp_path) -> None:
    path = tmp_path / "keyed.json"
    path.write_text(json.dumps({"KeyError": converse_answer([GOOD_EDIT])}))
    with pytest.raises(ConfigError, match="no answer for 0717b95b0278.* \\(AttributeError\\)"):
        ReplayModel(path, announce=lambda s: None).converse("s", MESSAGES, group=GROUPS["none"])


def test_the_bundled_sample_answers_are_keyed_one_per_bug() -> None:
    model = ReplayModel(ROOT / "scripts" / "sample_app" / "replay.json", announce=lambda s: None)
    titles = {
        name: model.converse("s", MESSAGES, group=g)["output"]["message"]["content"][0]["toolUse"]["input"]["title"]
        for name, g in GROUPS.items()
    }
    assert len(set(titles.values())) == 5
    assert "unknown discount" in titles["winter"] and "SKU" in titles["kiwi"] and "missing" in titles["none"]
