"""`delete-parameters` asks first and never deletes what Terraform manages; `configure` never says
it stored what it did not (moto server: SSM state is what is checked)."""

from __future__ import annotations

import io
import sys

import boto3
import pytest

pytestmark = pytest.mark.integration
PREFIX = "/sh-honest/"


class Terminal(io.StringIO):
    """Typed answers on a terminal (the confirmation is asked only on one)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def ssm(moto_endpoint: str):
    client = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.put_parameter(Name=f"{PREFIX}repo_url", Value="acme/shop", Type="SecureString", Overwrite=True,
                         Description="selfheal setting repo_url")  # fmt: skip
    # What Terraform writes under the same prefix (terraform/remediation.tf, services.tf)
    client.put_parameter(Name=f"{PREFIX}runbooks/kill_switch", Value="off", Type="SecureString", Overwrite=True,
                         Description="selfheal kill switch: on = every runbook only dry-runs")  # fmt: skip
    client.put_parameter(Name=f"{PREFIX}services/catalog", Value="{}", Type="SecureString", Overwrite=True,
                         Description="selfheal service catalog (JSON): rendered from var.services")  # fmt: skip
    yield client
    left = sorted(names(client))
    if left:
        client.delete_parameters(Names=left)


def names(ssm) -> set[str]:
    return {p["Name"] for p in ssm.get_parameters_by_path(Path=PREFIX.rstrip("/"), Recursive=True)["Parameters"]}


def run(capsys, moto_endpoint: str, *argv: str) -> tuple[int, str, str]:
    import selfheal

    code = selfheal.main([*argv, "--endpoint-url", moto_endpoint, "--region", "us-east-1"])
    out, err = capsys.readouterr()
    return code, out, err


def test_without_a_terminal_or_yes_nothing_is_deleted(capsys, moto_endpoint, ssm, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = run(capsys, moto_endpoint, "delete-parameters", "--prefix", PREFIX)
    assert code == 2 and "pass --yes" in err
    assert f"{PREFIX}repo_url" in names(ssm)


def test_it_asks_and_a_no_deletes_nothing(capsys, moto_endpoint, ssm, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))
    code, out, err = run(capsys, moto_endpoint, "delete-parameters", "--prefix", PREFIX)
    assert code == 1 and "nothing deleted" in out and "to delete under /sh-honest/: repo_url" in err
    assert len(names(ssm)) == 3


def test_a_yes_deletes_configures_parameters_and_keeps_terraforms(capsys, moto_endpoint, ssm, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    code, out, err = run(capsys, moto_endpoint, "delete-parameters", "--prefix", PREFIX)
    assert code == 0 and "deleted 1 parameter(s)" in out
    assert "kept (Terraform manages them" in err
    assert names(ssm) == {f"{PREFIX}runbooks/kill_switch", f"{PREFIX}services/catalog"}


def test_configure_says_what_it_stored_when_aws_refuses_a_write() -> None:
    # Stubber: moto accepts a SecureString with any KMS key id; AWS refuses a key that is not there.
    import configure
    from botocore.stub import Stubber

    client = boto3.client("ssm", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("put_parameter", {"Version": 1})
        stub.add_client_error("put_parameter", "InvalidKeyId", "Invalid keyId alias/nope")
        with pytest.raises(configure.ConfigureError) as raised:
            configure.store(client, PREFIX, {"model_id": "a.b", "repo_url": "acme/shop"}, "alias/nope")
    text = str(raised.value)
    assert "could not store /sh-honest/repo_url: InvalidKeyId" in text
    assert "stored before it: model_id; not stored: repo_url" in text


def test_a_missing_key_file_is_one_line(capsys, moto_endpoint, tmp_path) -> None:
    code, _, err = run(capsys, moto_endpoint, "configure", "--non-interactive", "--prefix", PREFIX,
                       "--ssh-key-file", str(tmp_path / "id_missing"))  # fmt: skip
    assert code == 2 and "is not a readable file" in err and len(err.strip().splitlines()) == 1
