"""Redaction: secrets and personal data never leave the account."""

from __future__ import annotations

import pytest

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.redact import findings, redact
from chalicelib.core.tracebacks import find_in_text

SECRETS = [
    ("AKIAIOSFODNN7EXAMPLE", "aws-access-key-id"),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws-secret-access-key"),
    ("ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "github-token"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github-token"),
    ("glpat-xxxxxxxxxxxxxxxxxxxx", "gitlab-token"),
    ("Authorization: Bearer abcdefghijklmnop.qrstuvwxyz123456", "token"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt"),
    ("postgres://admin:hunter2@db.internal:5432/orders", "password"),
    ("Server=db;User Id=sa;Password=S3cr3t!;", "password"),
    ("contact jane.doe@example.com now", "email"),
]


@pytest.mark.parametrize(("text", "kind"), SECRETS)
def test_secret_is_replaced_by_a_typed_placeholder(text: str, kind: str) -> None:
    out = redact(text)
    assert f"<redacted:{kind}>" in out
    assert redact(out) == out  # idempotent


def test_private_key_block_is_removed_whole() -> None:
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----"
    assert redact(f"key: {block} end") == "key: <redacted:private-key> end"


def test_plain_code_is_untouched() -> None:
    code = "def login(password=None):\n    return check(user.password, 3)  # 0x10 deadbeef\n"
    assert redact(code) == code
    assert findings("commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904") == []


def test_traces_differing_only_in_secrets_group_together() -> None:
    tmpl = (
        'Traceback (most recent call last):\n  File "/var/task/a.py", line 1, in f\n'
        '    connect("postgres://app:{pw}@db/x", token="{tok}")\nConnectionError: {pw} refused\n'
    )
    a = find_in_text(tmpl.format(pw="hunter2", tok="ghp_" + "A" * 36))[0]
    b = find_in_text(tmpl.format(pw="letmein", tok="ghp_" + "B" * 36))[0]
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(find_in_text(redact(a.text))[0]) == fingerprint(a)
