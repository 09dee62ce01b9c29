"""Redaction: secrets and personal data never leave the account, everything else is unchanged.

Secret-shaped values are built by concatenation, so this file does not itself look like a leak
to a secret scanner.
"""

from __future__ import annotations

import re
import time

import pytest

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.redact import _SEP, _VALUE, RULES, _keywords, _substitute, findings, placeholder, redact
from chalicelib.core.tracebacks import find_in_text
from tests.conftest import SAMPLES as SAMPLES_DIR

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\nIBAAKlongbase64==\n-----END RSA PRIVATE KEY-----"
HEX32 = "0123456789abcdef" * 2
AWS_SECRET = "wJalrXUtnFEMIzK7MDENG" + "qbPxRfiCYEXAMPLEKEY"  # 40 characters, no '/' or '+'


def one(before: str, secret: str, kind: str, after: str = "") -> tuple[str, list[tuple[str, str]]]:
    return before + secret + after, [(secret, kind)]


OPENSSH_CUT = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt"
PUTTY = "PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 1\nAAAAgQ\nPrivate-MAC: 0a1b2c"
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
B62 = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
ID = "AKIA" + "IOSFODNN7EXAMPLE"

# (text, [(secret, kind), ...]): the text redacted is the text with each secret replaced by its
# placeholder, and nothing else changed.
SAMPLES: list[tuple[str, list[tuple[str, str]]]] = [
    one("key: ", PEM, "private-key", " end"),
    one('{"private_key": "', PEM.replace("\n", "\\n"), "private-key", '\\n"}'),
    one("cut: ", OPENSSH_CUT, "private-key"),
    one("", PUTTY, "private-key"),
    one("jwt ", JWT, "jwt"),
    one("token ", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "github-token"),
    one("", "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github-token"),
    one("", "glpat-" + "xR4nd0mT0k3nV4lu3xyz", "gitlab-token"),
    one("", "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp", "slack-token"),
    one(
        "post ",
        "https://hooks.slack.com/services/" + "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "slack-webhook",
        " !",
    ),
    one("", "https://discord.com/api/webhooks/" + "123456789012345678/" + B62, "discord-webhook"),
    one("ANTHROPIC_API_KEY=", "sk-ant-" + "api03-" + B62, "anthropic-key"),
    one("key ", "sk-ant-" + "api03-abcdefghijklmnopqrstuvwx", "anthropic-key"),
    one("openai ", "sk-proj-" + "AbCdEf0123456789GhIjKlMnOpQrStUv", "openai-key"),
    one("", "sk-" + "AbCdEfGhIjKlMnOpQrSt" + "T3BlbkFJ" + "AbCdEfGhIjKlMnOpQrSt", "openai-key"),
    one("stripe.api_key = ", "sk_live_" + "51AbCdEfGhIjKlMnOpQrStUvWxYz0123", "stripe-key"),
    one("", "rk_live_" + "51AbCdEfGhIjKlMnOpQrStUv", "stripe-key"),
    one("maps ", "AIza" + "SyA-abcdefghijklmnopqrstuvwxyz012345", "google-api-key"),
    one("", "GOCSPX-" + "AbCdEfGhIjKlMnOpQrStUvWx1234", "google-oauth-secret"),
    one("", "SG." + "abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "sendgrid-key"),
    one("", "npm_" + "abcdefghijklmnopqrstuvwxyz0123456789", "npm-token"),
    one("", "pypi-AgEIcHlwaS5vcmc" + "CJDYzMzE0ZjRmLTk2YjAtNDc0MS04ZjMyLWIzZWE4NmVkNTgzYwACKlsz", "pypi-token"),
    one("twilio ", "AC" + HEX32, "twilio-key"),
    one("mailchimp ", HEX32 + "-us12", "mailchimp-key"),
    one("", "sq0csp-" + B62 + "abcdefg", "square-token"),
    one("bot ", "123456789:AA" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456", "telegram-token"),
    one("", "MTk4NjIyNDgzNDcxOTI1MjQ4" + ".Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs", "discord-token"),
    one("", "AKCp" + ("8" + B62 * 2)[:69], "artifactory-token"),
    one("", "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "huggingface-token"),
    one("", "dop_v1_" + HEX32 * 2, "digitalocean-token"),
    one("", "shpat_" + HEX32, "shopify-token"),
    one("", "dapi" + HEX32, "databricks-token"),
    one("", "PMAK-" + HEX32[:24] + "-" + HEX32 + "01", "postman-key"),
    one("", "AGE-SECRET-KEY-1" + ("QWERTYUIOPASDFGHJKLZXCVBNM0123456789" * 2)[:58], "age-secret-key"),
    one("client ", "abc8Q~" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234.56", "azure-client-secret"),
    one(
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=",
        "AbCdEf0123456789%2BghIjKl%3D",
        "azure-sas-signature",
        " end",
    ),
    one("", ID, "aws-access-key-id"),
    (f"{ID},{AWS_SECRET}", [(ID, "aws-access-key-id"), (AWS_SECRET, "aws-secret-access-key")]),
    (f"creds ('{ID}', '{AWS_SECRET}')", [(ID, "aws-access-key-id"), (AWS_SECRET, "aws-secret-access-key")]),
    one("aws_secret_access_key = ", AWS_SECRET, "aws-secret-access-key"),
    one('{"SecretAccessKey": "', AWS_SECRET, "aws-secret-access-key", '"}'),
    one("bare ", "wJalrXUtnFEMI/K7MDENG" + "/bPxRfiCYEXAMPLEKEY", "aws-secret-access-key"),
    one("", "IQoJb3JpZ2luX2Vj" + "EJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ", "aws-session-token"),
    one("aws_session_token=", "FwoGZXIvYXdzEabc123", "aws-session-token"),
    one("Authorization: Basic ", "dXNlcjpodW50ZXIy", "basic-auth"),
    one("curl -H 'basic ", "dXNlcjpodW50ZXIy", "basic-auth", "'"),
    one("{'Authorization': 'Bearer ", "abcdefghijklmnop.qrstuvwxyz123456", "token", "'}"),
    one("Proxy-Authorization: ", "tok_9f8e7d6c5b4a", "token"),
    one("sent bearer ", "abcdefghijklmnop.qrstuvwxyz123456", "token"),
    one("GITHUB_TOKEN=", "some0paque1value", "token"),
    one("Cookie: ", "session=abc123; csrftoken=xyz789", "cookie"),
    one("postgres://admin:", "hunter2", "password", "@db.internal:5432/orders"),
    one("redis://:", "hunter2", "password", "@cache:6379/0"),
    one("postgres://app:", "ab/cd", "password", "@db:5432/x"),
    one("DB_PASSWORD=", "hunter2secret", "password"),
    one("{'password': '", "hunter 2 secret", "password", "'}"),
    one("password='", "p@ss,word", "password", "'"),
    one("MYSQL_PWD=", "Sup3rS3cret", "password"),
    one("Server=db;User Id=sa;Password=", "S3cr3t!", "password", ";"),
    one("dbPass: ", "letmein42", "password"),
    one('{"msg": "{\\"password\\": \\"', "hunter2", "password", '\\"}"}'),
    one('"password": "', 'pa\\"ss', "password", '"'),
    one(
        "Protocol=https;AccountName=acct;AccountKey=", "Zm9vYmFyYmF6cXV4cXV1eHF1dXo=", "azure-storage-key", ";Suffix=x"
    ),
    one('"private_key_id": "', "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", "gcp-private-key-id", '"'),
    one("f(password=", "s3cret", "password", ", user=bob)"),
    one("client_secret=", "abcd1234efgh", "secret"),
    one("x_api_key=", "abc123def", "secret"),
    one("X-Api-Key: ", "k3y-v4lu3", "secret"),
    one("SECRET_KEY = '", "django-insecure-abc", "secret", "'"),
    one("contact ", "jane.doe@example.com", "email", " now"),
    one("/Users/", "jane.doe@example.com", "email", "/venv/x.py"),
    one("card ", "4111 1111 1111 1111", "card-number", " exp 12/29"),
    one("order 12 ", "5555-5555-5555-4444", "card-number", "."),
    one("amex ", "378282246310005", "card-number"),
    one("amex ", "3782 822463 10005", "card-number"),
]

# Text that looks a little like a secret but is not one: it comes out unchanged.
NOT_SECRETS = [
    "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904 failed",
    "group 0717b95b02781c4e9a5d2f3b6c7d8e9f not found; etag d41d8cd98f00b204e9800998ecf8427e",
    "request 3f2b1c4d-aaaa-bbbb-cccc-1234567890ab at 2026-11-23T19:07:48Z",
    "image sha256:" + "ab" * 32,
    "ts 1700000000000 ms, ratio 0.4111111111111111, id 4111111111111112, account 123456789012",
    "def login(password=None):\n    return check(user.password, 3)  # 0x10 deadbeef\n",
    "password = get_password()",
    "token = self._token",
    "password=db_password",
    "password=${DB_PASSWORD} and password=%s",
    "max_tokens=4096, tokenizer=bpe, bypass=True",
    "PWD=/var/task OLDPWD=/tmp",
    "open('/etc/passwd'): permission denied",
    "clone git@github.com:acme/shop.git",
    "GET https://example.com:8443/v2/@scope/pkg",
    "Basic authentication failed: token misconfiguration",
    "KeyError: 'password'",
    "AbstractSingletonProxyFactoryBean2Config",
    "AKIA is the prefix of an access key id",
    '[ERROR] ValueError: bad\r  File "/var/task/app.py", line 3, in h\r    x()\r',
    "matrix a@b.T and decorator @app.route('/x')",
]


@pytest.mark.parametrize(("text", "secrets"), SAMPLES)
def test_each_kind_is_replaced_by_its_placeholder_and_nothing_else_changes(
    text: str, secrets: list[tuple[str, str]]
) -> None:
    expected = text
    for secret, kind in secrets:
        expected = expected.replace(secret, placeholder(kind))
    out = redact(text)
    assert out == expected
    assert all(secret not in out for secret, _ in secrets)
    assert redact(out) == out


def test_every_rule_kind_has_a_sample() -> None:
    sampled = {kind for _, secrets in SAMPLES for _, kind in secrets}
    assert {rule.kind for rule in RULES} <= sampled


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_the_audits_b1_and_b2_samples_are_all_redacted() -> None:
    """Probe B2 of the adversarial audit (2026-11-23): each of these printed 'unchanged'."""
    b2 = [
        "DB_PASSWORD=hunter2secret",
        "client_secret=abcd1234efgh",
        "{'password': 'hunter 2 secret'}",
        "redis://:hunter2@cache:6379/0",
        "postgres://app:ab/cd@db:5432/x",
        "Authorization: Basic dXNlcjpodW50ZXIy",
        "aws_session_token=FwoGZXIvYXdzEabc123",
        "AccountKey=Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1eHF1dXpxdXV4cXV1eHF1dXo=;",
        "sk_live_" + "51abcdefghijklmnopqrstuv",
        "AIza" + "SyA-abcdefghijklmnopqrstuvwxyz012345",
        "sk-ant-" + "api03-abcdefghijklmnopqrstuvwx",
    ]
    b1 = [  # probe B1: redacted before this work, and still
        "AKIA" + "IOSFODNN7EXAMPLE",
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "Authorization: Bearer " + JWT,
        PEM,
        "postgres://app:pw@db:5432/x",
        "jane.doe@example.com",
        "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp",
        '{"private_key": "' + PEM.replace("\n", "\\n") + '"}',
    ]
    for text in b1 + b2:
        assert "<redacted:" in redact(text), text
    assert "ab/cd" not in redact("postgres://app:ab/cd@db:5432/x")  # not half of it


def test_a_digest_next_to_a_key_id_stays() -> None:
    text = "AKIA" + "IOSFODNN7EXAMPLE commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    assert redact(text) == "<redacted:aws-access-key-id> commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def test_line_endings_and_surrounding_bytes_are_kept() -> None:
    text = "a\r\nDB_PASSWORD=x1y2\r\nb\rtoken " + "ghp_" + "A" * 36 + "\n\tc\u00a0d"
    assert redact(text) == "a\r\nDB_PASSWORD=<redacted:password>\r\nb\rtoken <redacted:github-token>\n\tc\u00a0d"


def test_a_private_key_cut_short_is_removed_to_the_end() -> None:
    assert redact("x -----BEGIN PRIVATE KEY-----\nMIIE\nlast line") == "x <redacted:private-key>"


def test_findings_name_each_kind_once() -> None:
    assert findings("a@b.co c@d.co DB_PASSWORD=x1") == ["email", "password"]
    assert findings("commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904") == []


def test_a_card_inside_a_longer_run_of_digit_groups_is_found() -> None:
    assert redact("ref 2026 11 23 4111 1111 1111 1111 qty 3") == "ref 2026 11 23 <redacted:card-number> qty 3"
    assert redact("id 4111111111111111abc") == "id 4111111111111111abc"  # part of an identifier


def test_a_log_event_of_256_kb_is_redacted_fast() -> None:
    """The Lambda limit for one event; the ReDoS budget itself is a property test."""
    unit = "user jane.doe@example.com paid with 4111 1111 1111 1111 token=abc123 "
    event = unit * (262_144 // len(unit))
    start = time.perf_counter()
    out = redact(event)
    assert time.perf_counter() - start < 2.0
    assert "jane.doe" not in out and "4111 1111" not in out


def test_traces_differing_only_in_secrets_group_together() -> None:
    tmpl = (
        'Traceback (most recent call last):\n  File "/var/task/a.py", line 1, in f\n'
        '    connect("postgres://app:{pw}@db/x", token="{tok}")\nConnectionError: {pw} refused\n'
    )
    a = find_in_text(tmpl.format(pw="hunter2", tok="ghp_" + "A" * 36))[0]
    b = find_in_text(tmpl.format(pw="letmein", tok="ghp_" + "B" * 36))[0]
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(find_in_text(redact(a.text))[0]) == fingerprint(a)


def test_placeholders_match_no_rule() -> None:
    every = " ".join(placeholder(rule.kind) for rule in RULES)
    assert redact(every) == every
    assert all(re.fullmatch(r"<redacted:[a-z0-9-]+>", placeholder(rule.kind)) for rule in RULES)


def test_the_shared_corpus_of_real_tracebacks_has_nothing_to_redact() -> None:
    """747 files of published tracebacks and logs (1.1 MB) hold no secret: no false positive."""
    files = [p for p in SAMPLES_DIR.rglob("*") if p.is_file()] if SAMPLES_DIR.is_dir() else []
    if not files:
        pytest.skip(f"no sample corpus at {SAMPLES_DIR}")
    changed = [p.name for p in files if redact(t := p.read_text(errors="surrogateescape")) != t]
    assert changed == []


def test_what_a_placeholder_uncovers_is_redacted_in_the_same_call() -> None:
    """Found by hypothesis: the first address ends at 'ghp', its placeholder frees '_a@b.key'."""
    out = redact("a@b.ghp_a@b.key: x")
    assert out == "<redacted:email><redacted:email>: x"
    assert redact(out) == out


KEYWORD_NAMES = [
    "DB_PASSWORD", "password", "passwords", "passwd", "passphrase", "passcode", "pass", "DB_PASS", "dbPass", "dbPASS",
    "bypass", "compass", "passenger", "MYSQL_PWD", "pwd", "PWD", "OLDPWD", "dbPwd", "x.pwd", "token", "GITHUB_TOKEN",
    "_authToken", "max_tokens", "tokenizer", "session_token", "aws_session_token", "X-Amz-Security-Token",
    "security_token", "secret", "secrets", "client_secret", "secretary", "api_key", "x_api_key", "apikey", "X-Api-Key",
    "x-functions-key", "private_key", "private_key_id", "AccountKey", "SharedAccessKey", "aws_secret_access_key",
    "SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "SECRET_KEY", "signing_key", "credentials", "KeyError", "key", "monkey",
    "/etc/passwd", "etc\\passwd", "the_password", "user",
]  # fmt: skip


# The keyword rules as written, fused into one forward pattern (slow, but plainly the spec).
_KEYWORD_RULES = [rule for rule in RULES if rule.fuse == "keyword"]
_HEAD, _TAIL = r"(?<![/\\])(?P<name>", ")" + _SEP + _VALUE
FORWARD = re.compile(
    _HEAD
    + "|".join(f"(?P<k{i}>{r.pattern.source[len(_HEAD) : -len(_TAIL)]})" for i, r in enumerate(_KEYWORD_RULES))
    + _TAIL
)


def _forward_sub(m: re.Match[str]) -> str:
    rule = next(r for i, r in enumerate(_KEYWORD_RULES) if m.group(f"k{i}") is not None)
    return _substitute(rule)(m)


@pytest.mark.parametrize("name", KEYWORD_NAMES)
def test_keyword_names_read_backwards_agree_with_the_rules_as_written(name: str) -> None:
    """The keyword rules run as reversed names from each separator; their forward spelling is the spec."""
    for sep in ("=", " = ", ": ", '": "', '\\": \\"', ":="):
        text = f"x {name}{sep}v4lue; y"
        assert _keywords(text) == FORWARD.sub(_forward_sub, text), sep
