"""`selfheal local`: bad inputs end in one line and a non-zero exit, before anything starts; replay
answers can be written from a template and say why they did not apply; a model id is answered by
the real Bedrock (Stubber: no network) while the rest stays local.

In process (``selfheal.main``): no server starts for a refused input, so these take milliseconds.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

SAMPLE = ROOT / "scripts" / "sample_app"
APP_LOG = str(SAMPLE / "logs" / "app.log")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``selfheal`` in process: its exit code, stdout and stderr (argparse's exit included)."""
    import selfheal

    try:
        code = selfheal.main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code: int, err: str, *words: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    from local_mode import commit_sample_app

    return commit_sample_app(tmp_path / "shop")


def test_a_plain_directory_is_not_a_repository(capsys, tmp_path) -> None:
    code, _, err = run_cli(capsys, "local", "--logs", APP_LOG, "--repo", str(tmp_path))
    assert_one_line(code, err, "is not a git repository", "git init")


def test_a_repository_without_a_commit_is_refused(capsys, tmp_path) -> None:
    import git

    git.Repo.init(tmp_path / "empty")
    code, _, err = run_cli(capsys, "local", "--logs", APP_LOG, "--repo", str(tmp_path / "empty"))
    assert_one_line(code, err, "has no commit")


def test_a_missing_repository_path(capsys, tmp_path) -> None:
    code, _, err = run_cli(capsys, "local", "--logs", APP_LOG, "--repo", str(tmp_path / "nowhere"))
    assert_one_line(code, err, "does not exist")


def test_a_missing_log_file(capsys, sample_repo, tmp_path) -> None:
    code, _, err = run_cli(capsys, "local", "--logs", str(tmp_path / "gone.log"), "--repo", str(sample_repo))
    assert_one_line(code, err, "gone.log does not exist")


def test_logs_without_a_repository_is_an_error_not_the_sample(capsys) -> None:
    code, _, err = run_cli(capsys, "local", "--logs", APP_LOG)
    assert_one_line(code, err, "--logs needs --repo")


def test_broken_replay_json(capsys, sample_repo, tmp_path) -> None:
    broken = tmp_path / "answers.json"
    broken.write_text('{"9a4d": ')
    code, _, err = run_cli(
        capsys, "local", "--logs", APP_LOG, "--repo", str(sample_repo), "--model", f"replay:{broken}"
    )
    assert_one_line(code, err, "answers.json", "--answer-template")


def test_an_unknown_flag(capsys) -> None:
    code, _, err = run_cli(capsys, "local", "--logz", APP_LOG)
    assert code == 2
    assert_one_line(code, err, "unrecognized arguments: --logz", "--help")


def test_a_model_id_without_credentials(capsys, sample_repo, monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role either
    code, _, err = run_cli(capsys, "local", "--logs", APP_LOG, "--repo", str(sample_repo), "--model-id", "x.y-v1")
    assert_one_line(code, err, "AWS credentials")


def test_the_answer_template_is_a_replay_answer_for_the_culprit(capsys, sample_repo, tmp_path) -> None:
    from chalicelib.adapters.bedrock import ReplayModel
    from chalicelib.core.prompt import parse_proposal, read_answer

    # WHEN a template is asked for a group by a prefix of its fingerprint (as inspect prints it)
    code, out, err = run_cli(
        capsys, "local", "--logs", APP_LOG, "--repo", str(sample_repo), "--answer-template", "9a4d8b"
    )
    # THEN stdout is a replay file keyed by the group, whose edit points at the culprit's line
    assert code == 0, err
    doc = json.loads(out)
    (key,) = doc
    assert key.startswith("9a4d8b")
    edit = parse_proposal(read_answer(doc[key]).tool_input).edits[0]
    assert edit.path == "shop/pricing.py"
    assert (sample_repo / edit.path).read_text().count(edit.search) == 1
    assert "culprit: shop/pricing.py:" in err
    # and it loads as a replay file
    path = tmp_path / "answers.json"
    path.write_text(out)
    ReplayModel(path, announce=lambda _: None)


def test_an_ambiguous_or_unknown_template_prefix(capsys, sample_repo) -> None:
    code, _, err = run_cli(capsys, "local", "--logs", APP_LOG, "--repo", str(sample_repo), "--answer-template", "ffff")
    assert_one_line(code, err, "matches no group", "9a4d8be4402b")


def test_a_refused_replay_answer_says_why_in_round_one(tmp_path) -> None:
    from chalicelib.adapters.bedrock import ReplayModel
    from chalicelib.errors import ConfigError
    from tests.fix_fixtures import NONE_DISCOUNT_TRACE, converse_answer, group_from_log

    # GIVEN a replay answer for a group, and the fix service's follow-up after it did not apply
    group = group_from_log(NONE_DISCOUNT_TRACE)
    path = tmp_path / "answers.json"
    edit = {"path": "shop/pricing.py", "search": "not in the file", "replace": "x"}
    path.write_text(json.dumps({group.fingerprint[:16]: converse_answer([edit])}))
    model = ReplayModel(path, announce=lambda _: None)
    first = model.converse("system", [{"role": "user", "content": [{"text": "fix it"}]}], group=group)
    follow_up = {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": "t",
                    "content": [{"text": "shop/pricing.py: search text not found"}],
                    "status": "error",
                }
            },  # fmt: skip
            {"text": "Your edits could not be used: shop/pricing.py: search text not found\nCall again"},
        ],
    }
    messages = [{"role": "user", "content": [{"text": "fix it"}]}, first["output"]["message"], follow_up]
    # WHEN round two is asked for
    with pytest.raises(ConfigError) as raised:
        model.converse("system", messages, group=group)
    # THEN the error is the first round's reason, not a missing second answer
    assert "did not apply: shop/pricing.py: search text not found" in str(raised.value)
    assert "round 2" not in str(raised.value)


def test_a_model_id_is_answered_by_the_real_bedrock_not_the_local_server(tmp_path) -> None:
    # Stubber stands in for Bedrock (no network): what is checked is where the client points.
    import boto3
    from botocore.stub import Stubber
    from local_mode import LocalClients

    from chalicelib.adapters.bedrock import BedrockModel
    from chalicelib.adapters.settings import Settings
    from tests.fix_fixtures import GOOD_EDIT, converse_answer

    # GIVEN the clients of a local run at a local endpoint, with a Bedrock region of the user's
    clients = LocalClients(Settings(endpoint_url="http://127.0.0.1:1"), "eu-west-1", boto3.session.Session())
    # WHEN the Bedrock client is built
    bedrock = clients.client("bedrock-runtime")
    # THEN it is the real service in the user's region; the others stay local
    assert bedrock.meta.endpoint_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert clients.dynamodb.meta.endpoint_url == "http://127.0.0.1:1"
    answer = converse_answer([GOOD_EDIT])
    answer.pop("metrics", None)
    with Stubber(bedrock) as stub:
        stub.add_response("converse", {**answer, "metrics": {"latencyMs": 1}})
        got = BedrockModel(bedrock, "anthropic.claude-x").converse(
            "system", [{"role": "user", "content": [{"text": "x"}]}]
        )
    assert got["stopReason"] == "tool_use"


def test_deploy_prints_next_steps_with_the_deployments_own_names() -> None:
    from selfheal import next_steps

    text = next_steps({"kms_key_arn": "arn:aws:kms:eu-west-1:1:key/k", "webhook_url": "https://h/webhook"}, "eu-west-1")
    assert "configure --region eu-west-1 --kms-key-id arn:aws:kms:eu-west-1:1:key/k" in text
    assert "--generate-webhook-secret" in text and "selfheal.py destroy" in text


def test_destroy_without_terraform_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no terraform binary on PATH
    code, _, err = run_cli(capsys, "destroy", "--auto-approve")
    assert_one_line(code, err, "terraform is not on PATH")
    assert code == 2


def test_the_readmes_complete_answer_applies_to_the_sample_app(tmp_path) -> None:
    # The README shows one complete replay answer: it must load, name its group and apply.
    import re
    from pathlib import Path

    from chalicelib.adapters.bedrock import ReplayModel
    from chalicelib.core.edits import apply_edits
    from chalicelib.core.prompt import parse_proposal, read_answer

    readme = (ROOT / "README.md").read_text()
    [block] = re.findall(r"A complete answer.*?```json\n(.*?)```", readme, re.S)
    doc = json.loads(block)
    path = tmp_path / "answers.json"
    path.write_text(block)
    ReplayModel(path, announce=lambda _: None)
    [(key, answer)] = doc.items()
    from local_answers import find_group

    tracebacks, _ = find_group([Path(APP_LOG)], key)
    assert tracebacks, f"the README's key {key} is no group of the sample logs"
    edits = parse_proposal(read_answer(answer).tool_input).edits
    source = (SAMPLE / "shop" / "pricing.py").read_text()
    result = apply_edits({"shop/pricing.py": source}, edits, {"shop/pricing.py"}, 200, 400, 20_000)
    assert "if not prices" in result.files["shop/pricing.py"]


def test_status_without_credentials_is_one_line(capsys, monkeypatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = run_cli(capsys, "status")
    assert_one_line(code, err, "no AWS credentials", "--local")


def test_status_against_an_endpoint_that_is_not_there_is_one_line(capsys) -> None:
    code, _, err = run_cli(capsys, "show", "abc", "--endpoint-url", "http://127.0.0.1:9")
    assert_one_line(code, err, "cannot reach http://127.0.0.1:9")
