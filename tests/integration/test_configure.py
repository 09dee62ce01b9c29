"""`selfheal configure` / `delete-parameters` against a moto server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest

from chalicelib.adapters.parameters import FixConfig, load_parameters
from tests.cli import run_cli, run_script

if TYPE_CHECKING:
    import subprocess

pytestmark = pytest.mark.integration
TOKEN = "ghp_" + "A1b2" * 9


def cli(endpoint: str, *args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    """The command in this process (tests/cli.py), or with ``process`` in its own (done once: the
    first configure of the first test)."""
    command = [*args, "--endpoint-url", endpoint, "--region", "us-east-1"]
    return run_script(*command) if process else run_cli(*command)


def test_configure_stores_secure_strings_idempotently_and_uninstall_removes_them(moto_endpoint) -> None:
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    key = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    args = ["configure", "--non-interactive", "--prefix", "/sh-test/", "--kms-key-id", key, "--repo-url", "acme/shop"]
    args += [
        "--model-id",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "--github-token",
        TOKEN,
        "--labels",
        "selfheal,bot",
    ]
    first = cli(moto_endpoint, *args, process=True)
    assert first.returncode == 0, first.stderr
    assert TOKEN not in first.stdout + first.stderr  # never printed
    again = cli(moto_endpoint, *args)
    assert again.returncode == 0, again.stderr
    params = ssm.get_parameters_by_path(Path="/sh-test", Recursive=True, WithDecryption=True)["Parameters"]
    assert {p["Name"] for p in params} == {
        "/sh-test/repo_url",
        "/sh-test/model_id",
        "/sh-test/github_token",
        "/sh-test/labels",
    }
    assert {p["Type"] for p in params} == {"SecureString"}
    config = FixConfig.from_parameters(load_parameters(ssm, "/sh-test/"))
    assert (config.repo_url, config.github_token, config.labels) == ("acme/shop", TOKEN, ("selfheal", "bot"))
    removed = cli(moto_endpoint, "delete-parameters", "--prefix", "/sh-test/", "--yes")  # no terminal: --yes
    assert removed.returncode == 0 and "deleted 4" in removed.stdout
    assert ssm.get_parameters_by_path(Path="/sh-test", Recursive=True)["Parameters"] == []


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--repo-url", "not a repo", "--model-id", "anthropic.claude-v2"], "is not owner/name"),
        (["--repo-url", "acme/shop", "--model-id", "anthropic.claude-v2", "--github-token", "nope"], "GitHub token"),
        (["--repo-url", "acme/shop", "--model-id", "no spaces allowed"], "model_id"),
        (["--model-id", "anthropic.claude-v2"], "repo_url is required"),
        # E6: a token in the URL would sit in a plain setting and in git's remote configuration
        (["--repo-url", "https://user:ghp_x@github.com/acme/shop", "--model-id", "a.b"], "carries credentials"),
        # E8: 0 is a value, not "unset"
        (["--repo-url", "acme/shop", "--model-id", "anthropic.claude-v2", "--min-occurrences", "0"], "at least 1"),
        # E4: the runtime reads /name/ only; "selfheal" would write selfhealrepo_url outside any path
        (["--repo-url", "acme/shop", "--model-id", "a.b", "--prefix", "sh-bad"], "must look like /name/"),
    ],
)
def test_invalid_input_is_refused_and_nothing_stored(moto_endpoint, flags, says) -> None:
    run = cli(moto_endpoint, "configure", "--non-interactive", "--prefix", "/sh-bad/", *flags)
    assert run.returncode == 2 and says in run.stderr
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert ssm.get_parameters_by_path(Path="/sh-bad", Recursive=True)["Parameters"] == []


def test_configured_prefix_shape_is_refused_before_anything_is_written(moto_endpoint) -> None:
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    run = cli(moto_endpoint, "configure", "--non-interactive", "--prefix", "selfheal", "--repo-url", "acme/shop",
              "--model-id", "anthropic.claude-v2")  # fmt: skip
    assert run.returncode == 2 and "must look like /name/" in run.stderr
    names = [p["Name"] for p in ssm.describe_parameters()["Parameters"]]
    assert not [n for n in names if n.startswith("selfheal")]


@pytest.mark.parametrize("prefix", ["", "/", "//", "selfheal", "/aws/"])
def test_delete_parameters_refuses_an_empty_root_or_malformed_prefix(moto_endpoint, prefix) -> None:
    import configure

    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    ssm.put_parameter(Name="/keep-me/setting", Value="v", Type="String", Overwrite=True)
    with pytest.raises(configure.ConfigureError, match="prefix"):
        configure.delete_all(ssm, prefix)
    assert ssm.get_parameter(Name="/keep-me/setting")["Parameter"]["Value"] == "v"


def test_delete_parameters_command_says_why_it_refuses_the_root(moto_endpoint) -> None:
    run = cli(moto_endpoint, "delete-parameters", "--prefix", "/")
    assert run.returncode == 2 and "must look like /name/" in run.stderr and "Traceback" not in run.stderr


def test_unknown_parameters_under_the_prefix_are_reported_and_left_not_fatal(moto_endpoint) -> None:
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    ssm.put_parameter(Name="/sh-legacy/legacy_setting", Value="old", Type="String")
    ssm.put_parameter(Name="/sh-legacy/nested/thing", Value="old", Type="String")
    run = cli(moto_endpoint, "configure", "--non-interactive", "--prefix", "/sh-legacy/", "--repo-url", "acme/shop",
              "--model-id", "anthropic.claude-v2", "--kms-key-id", "alias/aws/ssm")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "legacy_setting" in run.stderr and "nested/thing" in run.stderr
    names = {p["Name"] for p in ssm.get_parameters_by_path(Path="/sh-legacy", Recursive=True)["Parameters"]}
    assert names == {"/sh-legacy/legacy_setting", "/sh-legacy/nested/thing", "/sh-legacy/repo_url",
                     "/sh-legacy/model_id"}  # fmt: skip


def _keys():
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    ed = ed25519.Ed25519PrivateKey.generate()
    openssh = ed.private_bytes(s.Encoding.PEM, s.PrivateFormat.OpenSSH, s.NoEncryption()).decode()
    locked = ed.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.BestAvailableEncryption(b"pw")).decode()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = rsa_key.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()).decode()
    public = ed.public_key().public_bytes(s.Encoding.OpenSSH, s.PublicFormat.OpenSSH).decode()
    return openssh, locked, pem, public


def _locked_openssh() -> str:
    """The armor and header of an OpenSSH key encrypted with aes256-ctr (what ssh-keygen -N writes)."""
    import base64
    import struct

    blob = b"openssh-key-v1\0" + struct.pack(">I", 10) + b"aes256-ctr" + struct.pack(">I", 6) + b"bcrypt" + bytes(64)
    body = base64.b64encode(blob).decode()
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"


def test_ssh_keys_and_known_hosts_are_validated_line_by_line_not_by_their_armor() -> None:
    import configure

    openssh, locked, pem, public = _keys()
    base = {"repo_url": "git@github.com:acme/shop.git", "model_id": "anthropic.claude-v2"}
    good_hosts = f"# pinned\ngithub.com,140.82.112.3 {public}\n[ghe.corp]:2222 {public} comment\n"
    for key in (openssh, pem):
        assert configure.validate({**base, "ssh_private_key": key, "known_hosts": good_hosts})
    armor = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
    refused = {
        "body abc": ({"ssh_private_key": armor, "known_hosts": good_hosts}, "not a key"),
        "passphrase": ({"ssh_private_key": locked, "known_hosts": good_hosts}, "passphrase-protected"),
        "openssh passphrase": ({"ssh_private_key": _locked_openssh(), "known_hosts": good_hosts},
                               "passphrase-protected"),
        "garbage line": ({"ssh_private_key": openssh, "known_hosts": f"garbage line\n{good_hosts}"}, "line 1"),
        "short key": ({"ssh_private_key": openssh, "known_hosts": "* ssh-ed25519 AAAA"}, "not a base64 ssh-ed25519"),
        "type mismatch": ({"ssh_private_key": openssh, "known_hosts": public.replace("ssh-ed25519", "h ssh-rsa", 1)},
                          "not a base64 ssh-rsa"),
    }  # fmt: skip
    for name, (values, says) in refused.items():
        with pytest.raises(configure.ConfigureError, match=says):
            configure.validate({**base, **values})
            pytest.fail(name)


def test_configure_generates_and_stores_the_webhook_secret_without_printing_it(moto_endpoint) -> None:
    """Issue 12: `configure --generate-webhook-secret` writes <prefix>webhook_secret (SecureString,
    64 hex characters), says how to set GitHub's webhook (URL, content type, where the secret is,
    which events) and never prints the value; re-running without the flag keeps it."""
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    base = ["configure", "--non-interactive", "--prefix", "/sh-hook/", "--kms-key-id", "alias/aws/ssm",
            "--repo-url", "acme/shop", "--model-id", "anthropic.claude-v2"]  # fmt: skip
    first = cli(moto_endpoint, *base, "--generate-webhook-secret")
    assert first.returncode == 0, first.stderr
    stored = ssm.get_parameter(Name="/sh-hook/webhook_secret", WithDecryption=True)["Parameter"]
    secret = stored["Value"]
    assert stored["Type"] == "SecureString" and len(secret) == 64 and int(secret, 16) >= 0
    assert secret not in first.stdout + first.stderr
    for says in ("/sh-hook/webhook_secret", "webhook_url", "application/json", "Pull requests", "Issue comments",
                 "Pull request reviews", "--with-decryption"):  # fmt: skip
        assert says in first.stdout
    again = cli(moto_endpoint, *base)
    assert again.returncode == 0, again.stderr
    assert ssm.get_parameter(Name="/sh-hook/webhook_secret", WithDecryption=True)["Parameter"]["Value"] == secret
    assert "Payload URL" not in again.stdout  # nothing changed, nothing to paste
    rotated = cli(moto_endpoint, *base, "--generate-webhook-secret")
    assert rotated.returncode == 0
    assert ssm.get_parameter(Name="/sh-hook/webhook_secret", WithDecryption=True)["Parameter"]["Value"] != secret


def test_configure_stores_a_given_webhook_secret_and_refuses_a_weak_one(moto_endpoint) -> None:
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    base = ["configure", "--non-interactive", "--prefix", "/sh-hook2/", "--kms-key-id", "alias/aws/ssm",
            "--repo-url", "acme/shop", "--model-id", "anthropic.claude-v2"]  # fmt: skip
    weak = "passwordpassword1234"
    run = cli(moto_endpoint, *base, "--webhook-secret", weak)
    assert run.returncode == 2 and "not random enough" in run.stderr and weak not in run.stdout + run.stderr
    assert ssm.get_parameters_by_path(Path="/sh-hook2", Recursive=True)["Parameters"] == []
    given = "Tr0ub4dor&3xQ!9zLm2#pVw"
    ok = cli(moto_endpoint, *base, "--webhook-secret", given)
    assert ok.returncode == 0, ok.stderr
    assert ssm.get_parameter(Name="/sh-hook2/webhook_secret", WithDecryption=True)["Parameter"]["Value"] == given


@pytest.mark.parametrize(
    ("weak", "says"),
    [
        ("short-Secret-9", "at least 20"),
        ("a long secret with spaces in it", "without spaces"),
        ("a" * 40, "not random enough"),
        ("abcdefghijklmnopqrstuvwxyz", "not random enough"),  # a sequence
        ("x7Kq2-98765432-Z9pLmW4rT", "not random enough"),  # a run inside
        ("abcabcabcabcabcabcabc", "not random enough"),  # one unit repeated
        ("Q7x!Q7x!Q7x!Q7x!Q7x!Q7x!", "not random enough"),
        ("0101010101010101010101", "not random enough"),  # two characters
    ],
)
def test_a_weak_webhook_secret_is_refused(weak, says) -> None:
    import configure

    with pytest.raises(configure.ConfigureError, match=says):
        configure.validate({"webhook_secret": weak})


def test_generated_webhook_secrets_always_pass_the_check_and_never_repeat() -> None:
    import configure

    made = [configure.generate_webhook_secret() for _ in range(300)]
    assert len(set(made)) == len(made)
    for secret in made:
        configure.validate({"webhook_secret": secret})
        assert configure.secret_bits(secret) >= 2 * configure.WEBHOOK_SECRET_MIN_BITS


def test_parameters_terraform_writes_under_the_prefix_are_not_reported_as_unknown() -> None:
    import configure

    values, unknown = configure.known(
        {"repo_url": "acme/shop", "services/catalog": "{}", "runbooks/kill_switch": "off",
         "repos/github.com/acme/shop/github_token": "t", "legacy": "x"}
    )  # fmt: skip
    assert values == {"repo_url": "acme/shop"} and unknown == ["legacy"]
