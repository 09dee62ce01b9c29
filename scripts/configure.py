"""`selfheal configure` / `delete-parameters`: settings and secrets as SSM SecureString parameters
under the prefix, encrypted with the project's KMS key. Values never pass through Terraform (so
never land in its state) and are never printed."""

from __future__ import annotations

import base64
import binascii
import getpass
import math
import re
import secrets
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.settings import parameter_prefix_problem
from chalicelib.core.repos import RepoUrlError, parse_repo_url

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

TOKEN = re.compile(r"^(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}|[0-9a-f]{40})$")
PEM = re.compile(
    r"^-----BEGIN (?P<kind>OPENSSH |RSA |EC |DSA |ENCRYPTED |)PRIVATE KEY-----\n(?P<body>.+?)\n"
    r"-----END (?P=kind)PRIVATE KEY-----\n?$",
    re.S,
)
MODEL_ID = re.compile(r"^(?:(?:us|eu|apac|global)\.)?[a-z0-9-]+\.[A-Za-z0-9.:_-]+$|^arn:aws[a-z-]*:bedrock:")
HOST_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
# known_hosts host field: hashed (|1|salt|hash) or comma-separated names / [name]:port / patterns.
_HOST = r"!?[A-Za-z0-9.*?:\[\]_-]+"
HOSTS = re.compile(rf"^(?:\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+|{_HOST}(?:,{_HOST})*)$")
SECRET_NAMES = frozenset({"github_token", "ssh_private_key", "webhook_secret"})
# Parameters under the prefix that selfheal owns but configure does not write field by field:
# Terraform's catalogs and kill switch, per-repository secrets. Not reported as unknown.
MANAGED_ELSEWHERE = ("runbooks/", "services/", "repos/")  # Terraform, configure --services / --repo-secrets-for
WEBHOOK_SECRET_MIN_LENGTH = 20
WEBHOOK_SECRET_MIN_BITS = 64
PATTERN_LENGTH = 8
GENERATE = "generate"


class ConfigureError(ValueError):
    """An input that does not validate; the message says what is expected."""


@dataclass(frozen=True)
class Field:
    name: str
    prompt: str
    check: Callable[[str], None]
    secret: bool = False
    required: bool = False


def _repo(value: str) -> None:
    try:
        parse_repo_url(value)
    except RepoUrlError as exc:
        raise ConfigureError(str(exc)) from exc


def _token(value: str) -> None:
    if not TOKEN.match(value):
        raise ConfigureError("github_token must be a GitHub token (ghp_…, github_pat_…, or 40 hex characters)")


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _ssh_key(value: str) -> None:
    """An unencrypted OpenSSH or PEM private key whose body decodes as one (the fixer has no passphrase)."""
    match = PEM.match(value.strip() + "\n")
    if not match:
        raise ConfigureError("ssh_private_key must be a PEM/OpenSSH private key (-----BEGIN … PRIVATE KEY-----)")
    body = match["body"]
    if match["kind"] == "ENCRYPTED " or "Proc-Type: 4,ENCRYPTED" in body:
        raise ConfigureError("ssh_private_key is passphrase-protected: the fixer cannot unlock it")
    blob = _b64(body if match["kind"] == "OPENSSH " else body.split("\n\n")[-1])
    if match["kind"] == "OPENSSH ":
        magic = b"openssh-key-v1\0"
        if blob is None or not blob.startswith(magic) or len(blob) < len(magic) + 4:
            raise ConfigureError("ssh_private_key: the OpenSSH key body is not a key (openssh-key-v1)")
        size = struct.unpack(">I", blob[len(magic) : len(magic) + 4])[0]
        cipher = blob[len(magic) + 4 : len(magic) + 4 + size]
        if cipher != b"none":
            raise ConfigureError("ssh_private_key is passphrase-protected: the fixer cannot unlock it")
    elif blob is None or len(blob) < 64 or blob[0] != 0x30:  # DER: a SEQUENCE
        raise ConfigureError("ssh_private_key: the PEM body is not a DER-encoded private key")


def _model(value: str) -> None:
    if not MODEL_ID.match(value):
        raise ConfigureError("model_id must be a Bedrock model id, an inference profile id or ARN")


def _known_hosts(value: str) -> None:
    """Every line a known_hosts entry (``[@marker] hosts key-type base64-key [comment]``) whose key
    decodes and names its own type; comments and blank lines allowed; at least one entry."""
    entries = 0
    for n, line in enumerate(value.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] in ("@cert-authority", "@revoked"):
            fields = fields[1:]
        if len(fields) < 3 or not HOSTS.match(fields[0]) or fields[1] not in HOST_KEY_TYPES:
            types = ", ".join(sorted(HOST_KEY_TYPES))
            raise ConfigureError(f"known_hosts line {n} is not 'host key-type base64-key' (key types: {types})")
        blob = _b64(fields[2])
        kind = fields[1].encode()
        if blob is None or blob[:4] != struct.pack(">I", len(kind)) or blob[4 : 4 + len(kind)] != kind:
            raise ConfigureError(f"known_hosts line {n}: the key is not a base64 {fields[1]} public key")
        entries += 1
    if not entries:
        raise ConfigureError("known_hosts must hold known_hosts lines: 'host key-type base64-key'")


def _count(value: str) -> None:
    if not value.isdigit() or int(value) < 1:
        raise ConfigureError("min_occurrences must be a whole number of at least 1")


def _budget(value: str) -> None:
    if not value.isdigit() or not 500 <= int(value) <= 200_000:
        raise ConfigureError("context_tokens must be a whole number between 500 and 200000")


def secret_bits(value: str) -> float:
    """An upper estimate of a secret's randomness: its characters' empirical Shannon entropy times
    its length (a repeated or low-variety string scores low; a random one close to its true bits)."""
    if not value:
        return 0.0
    counts = [value.count(c) for c in set(value)]
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts)
    return per_char * len(value)


def _patterned(value: str) -> bool:
    """Typed, not random: a run of 8 equal or consecutive characters (aaaaaaaa, 12345678, hgfedcba),
    or 8 characters that occur twice (passwordpassword…). A random secret has either by a chance
    of about one in a million."""
    steps = [ord(b) - ord(a) for a, b in zip(value, value[1:], strict=False)]
    run = 1
    for before, step in zip([None, *steps], steps, strict=False):
        run = run + 1 if step == before and step in (-1, 0, 1) else 1
        if run >= PATTERN_LENGTH - 1:
            return True
    seen: set[str] = set()
    for i in range(len(value) - PATTERN_LENGTH + 1):
        piece = value[i : i + PATTERN_LENGTH]
        if piece in seen and value.find(piece, value.find(piece) + PATTERN_LENGTH) >= 0:
            return True
        seen.add(piece)
    return False


def _webhook_secret(value: str) -> None:
    """The GitHub webhook's HMAC secret: printable, at least 20 characters, and random enough that a
    guess is hopeless (``secrets.token_hex(32)``, what ``--generate-webhook-secret`` stores, has ~240 bits)."""
    if len(value) < WEBHOOK_SECRET_MIN_LENGTH or not value.isprintable() or any(c.isspace() for c in value):
        raise ConfigureError(
            f"webhook_secret must be at least {WEBHOOK_SECRET_MIN_LENGTH} printable characters without spaces "
            "(or let configure generate one: --generate-webhook-secret)"
        )
    if secret_bits(value) < WEBHOOK_SECRET_MIN_BITS or _patterned(value):
        raise ConfigureError(
            "webhook_secret is not random enough (repeats, sequences or few distinct characters): "
            "use --generate-webhook-secret, or e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
        )


def generate_webhook_secret() -> str:
    """A new webhook secret: 32 random bytes as 64 hex characters (drawn again in the rare case it
    looks patterned, so the check above never refuses what configure made)."""
    while True:
        value = secrets.token_hex(32)
        if secret_bits(value) >= WEBHOOK_SECRET_MIN_BITS and not _patterned(value):
            return value


def webhook_instructions(prefix: str, region: str | None = None) -> str:
    """How to give GitHub the secret that is now in SSM (the value itself is never printed)."""
    where = f" --region {region}" if region else ""
    return (
        f"webhook secret stored in {prefix}webhook_secret. In GitHub, Settings → Webhooks → Add webhook:\n"
        "  Payload URL:  terraform -chdir=terraform output -raw webhook_url\n"
        "  Content type: application/json\n"
        f"  Secret:       aws ssm get-parameter{where} --name {prefix}webhook_secret --with-decryption "
        "--query Parameter.Value --output text\n"
        "  Events:       Let me select individual events → Pull requests, Issue comments, Pull request reviews"
    )


def _anything(value: str) -> None:
    return None


FIELDS = [
    Field(
        "repo_url", "Repository (owner/name, https URL, git@host:owner/name.git, or local path)", _repo, required=True
    ),
    Field("model_id", "Bedrock model or inference profile id", _model, required=True),
    Field("github_token", "GitHub token (input hidden; empty for none)", _token, secret=True),
    Field("ssh_private_key", "SSH private key file for git mode (empty for none)", _ssh_key, secret=True),
    Field("known_hosts", "known_hosts file pinning the git host's key (git over SSH)", _known_hosts),
    Field("github_url", "GitHub API base URL (empty: from the repository host)", _anything),
    Field("labels", "PR labels, comma-separated", _anything),
    Field("min_occurrences", "Fix a group after this many occurrences", _count),
    Field("path_prefixes", "Deployment path prefixes to strip, comma-separated", _anything),
    Field("allowed_paths", "Files a fix may edit beyond the traced ones, comma-separated", _anything),
    Field("context_tokens", "Token budget of the code shown to the model per fix (default 6000)", _budget),
    Field(
        "webhook_secret",
        f"GitHub webhook secret (input hidden; '{GENERATE}' makes one; empty for none)",
        _webhook_secret,
        secret=True,
    ),
]


def prefix_problem(prefix: str) -> str:
    """Why the SSM prefix cannot be used ('' when it can): the runtime's own rule."""
    return parameter_prefix_problem(prefix)


def known(values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The values selfheal uses, and the names of the others (reported, left in place). The
    catalogs and per-repository secrets (``services/``, ``repos/``, ``runbooks/``) are selfheal's,
    managed by their own options: neither settings nor reported."""
    names = {f.name for f in FIELDS}
    others = sorted(k for k in values if k not in names and not k.startswith(MANAGED_ELSEWHERE))
    return {k: v for k, v in values.items() if k in names}, others


def validate(values: Mapping[str, str]) -> dict[str, str]:
    """The non-empty values, each checked; ConfigureError for the first that is wrong."""
    clean = {k: v.strip() if k != "ssh_private_key" else v for k, v in values.items() if v and v.strip()}
    by_name = {f.name: f for f in FIELDS}
    for name, value in clean.items():
        if name not in by_name:
            raise ConfigureError(f"unknown setting {name!r}")
        by_name[name].check(value)
    ref = parse_repo_url(clean["repo_url"]) if "repo_url" in clean else None
    if ref and ref.kind == "ssh" and "ssh_private_key" in clean and "known_hosts" not in clean:
        raise ConfigureError("git over SSH needs known_hosts: host keys are always checked")
    return clean


def ask(existing: Mapping[str, str], read: Callable[[str], str] = input) -> dict[str, str]:
    """The interactive wizard: every field, the current value offered as default (secrets hidden)."""
    answers: dict[str, str] = {}
    for f in FIELDS:
        shown = "(set, Enter keeps it)" if f.secret and f.name in existing else existing.get(f.name, "")
        while True:
            prompt = f"{f.prompt} [{shown}]: "
            raw = getpass.getpass(prompt) if f.name in ("github_token", "webhook_secret") else read(prompt)
            value = raw.strip() or existing.get(f.name, "")
            if f.name == "webhook_secret" and raw.strip().lower() == GENERATE:
                value = generate_webhook_secret()
            if f.name in ("ssh_private_key", "known_hosts") and raw.strip():
                try:
                    value = Path(raw.strip()).expanduser().read_text()
                except (OSError, UnicodeDecodeError) as exc:
                    print(f"  {raw.strip()}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
                    continue
            if not value and f.required:
                print(f"  {f.name} is required", file=sys.stderr)
                continue
            try:
                if value:
                    f.check(value)
            except ConfigureError as exc:
                print(f"  {exc}", file=sys.stderr)
                continue
            answers[f.name] = value
            break
    return answers


def existing_parameters(ssm: Any, prefix: str) -> dict[str, str]:
    """Current values under the prefix, decrypted."""
    values: dict[str, str] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=prefix.rstrip("/"), Recursive=True, WithDecryption=True
    ):
        for p in page["Parameters"]:
            values[p["Name"][len(prefix) :]] = p["Value"]
    return values


def store(ssm: Any, prefix: str, values: Mapping[str, str], key_id: str) -> list[str]:
    """Write every value as a SecureString (overwriting): re-running converges. Returns the names.

    A write AWS refuses (no such KMS key, no permission) ends the run with ConfigureError naming
    what was stored before it and what was not: nothing is reported stored that is not."""
    from botocore.exceptions import BotoCoreError, ClientError

    names: list[str] = []
    for name, value in sorted(values.items()):
        try:
            ssm.put_parameter(
                Name=f"{prefix}{name}",
                Value=value,
                Type="SecureString",
                KeyId=key_id,
                Overwrite=True,
                Description=f"selfheal setting {name}",
            )
        except (ClientError, BotoCoreError) as exc:
            done = ", ".join(n.removeprefix(prefix) for n in names) or "none"
            left = ", ".join(sorted(set(values) - {n.removeprefix(prefix) for n in names}))
            hint = " (is --kms-key-id the deployment's? terraform output parameter_key_id)" if "Key" in str(exc) else ""
            raise ConfigureError(
                f"could not store {prefix}{name}: {_aws_message(exc)}; stored before it: {done}; not stored: {left}"
                + hint
            ) from exc
        names.append(f"{prefix}{name}")
    return names


def _aws_message(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {})
    return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".rstrip(": ") if error else str(exc)


# Parameters under the prefix that Terraform writes (its state owns them: `terraform destroy`
# removes them, and deleting them by hand would leave the deployment's state wrong).
TERRAFORM_PATHS = ("runbooks/",)
TERRAFORM_DESCRIPTION = "rendered from var."  # terraform/services.tf, terraform/remediation.tf


def deletion_plan(ssm: Any, prefix: str) -> tuple[list[str], list[str]]:
    """The parameters under the prefix ``delete-parameters`` removes, and those it keeps because
    Terraform manages them. ConfigureError for a prefix that is not ``/name/`` (an empty or root
    prefix would name every parameter)."""
    if problem := prefix_problem(prefix):
        raise ConfigureError(problem)
    delete: list[str] = []
    kept: list[str] = []
    filters = [{"Key": "Path", "Option": "Recursive", "Values": [prefix.rstrip("/")]}]
    for page in ssm.get_paginator("describe_parameters").paginate(ParameterFilters=filters):
        for p in page["Parameters"]:
            name = p["Name"]
            managed = name.removeprefix(prefix).startswith(TERRAFORM_PATHS)
            managed = managed or TERRAFORM_DESCRIPTION in (p.get("Description") or "")
            (kept if managed else delete).append(name)
    return sorted(delete), sorted(kept)


def delete_all(ssm: Any, prefix: str, names: list[str] | None = None) -> list[str]:
    """Remove the parameters of ``deletion_plan`` (or ``names``, a plan already shown). Returns
    the names removed."""
    if names is None:
        names, _ = deletion_plan(ssm, prefix)
    elif problem := prefix_problem(prefix):
        raise ConfigureError(problem)
    for start in range(0, len(names), 10):
        ssm.delete_parameters(Names=names[start : start + 10])
    return names


# --- services ----------------------------------------------------------------------------------

SERVICES_PARAMETER = "services/catalog"
REPO_SECRETS = ("github_token", "ssh_private_key", "known_hosts")


def store_services(ssm: Any, prefix: str, text: str, key_id: str) -> list[str]:
    """Validate a service catalog (core/services.py) and store it as the SecureString
    ``<prefix>services/catalog``; returns the service names. ConfigureError names the entry and
    field that are wrong."""
    from chalicelib.core.services import ServiceCatalog
    from chalicelib.errors import ConfigError

    try:
        catalog = ServiceCatalog.parse(text)
    except ConfigError as exc:
        raise ConfigureError(str(exc)) from exc
    ssm.put_parameter(
        Name=f"{prefix}{SERVICES_PARAMETER}",
        Value=catalog.to_json(),
        Type="SecureString",
        KeyId=key_id,
        Overwrite=True,
        Description="selfheal service catalog",
    )
    return list(catalog.names)


def store_repo_secrets(ssm: Any, prefix: str, repo_url: str, values: Mapping[str, str], key_id: str) -> list[str]:
    """Store one repository's secrets (``github_token``, ``ssh_private_key``, ``known_hosts``) as
    SecureStrings under ``<prefix>repos/<repo_key>/``, each checked like the global one; returns
    the names written."""
    from chalicelib.core.services import repo_key

    _repo(repo_url)
    by_name = {f.name: f for f in FIELDS}
    clean = {k: v for k, v in values.items() if k in REPO_SECRETS and v and v.strip()}
    if not clean:
        raise ConfigureError("give at least one of --github-token, --ssh-key-file, --known-hosts-file")
    for name, value in clean.items():
        by_name[name].check(value.strip() if name != "ssh_private_key" else value)
    key = repo_key(repo_url)
    return store(ssm, f"{prefix}repos/{key}/", clean, key_id)
