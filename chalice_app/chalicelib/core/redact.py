"""Scrub secrets and personal data from text before it leaves the account.

Contract of :func:`redact`:

- every secret and personal datum the rules below know is replaced by a typed placeholder,
  ``<redacted:KIND>`` (``<redacted:github-token>``, ``<redacted:password>``, ``<redacted:email>``…);
- everything else is unchanged, byte for byte: spacing, quotes, line endings (``\\r\\n``, ``\\r``),
  the name in ``DB_PASSWORD=…`` and the user and host of a URL stay; a private key block is
  the one secret that spans lines, and it becomes one placeholder;
- placeholders match no rule, so ``redact(redact(x)) == redact(x)``;
- time is linear in the length of the text: every rule starts only where its literal prefix or
  token begins (keyword rules: read leftwards from each ``=`` or ``:``), and every repetition
  either stops at a delimiter it cannot cross or has a bound (see docs/redact.md;
  ``tests/property/test_redact_properties.py`` holds it to a time budget).

The rules are data (:data:`RULES`). Most vendor patterns are those of Yelp's detect-secrets
(Apache-2.0; the plugin named in each rule's ``source``), copied as data rather than imported:
importing detect-secrets costs 200-270 ms of cold start and brings ``requests`` and ``pyyaml``
into the Lambda package. Where a detect-secrets pattern cuts a key short (Stripe), misses a current
key format (OpenAI ``sk-proj-``, Anthropic, Google), or cannot be made linear, the rule here says
``selfheal`` or ``gitleaks``. Its high-entropy plugins are not used: they would redact the hex
ids, digests and git SHAs that grouping and debugging depend on.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

# A value check: the match and the text of the redacted group; False keeps the match as it is.
_Accept = Callable[[re.Match[str], str], bool]


class _Lazy:
    """A regular expression compiled on its first use: in a Lambda container most rules never run,
    and compiling all of them at import would add to every cold start."""

    __slots__ = ("_compiled", "flags", "source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source = source
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.source, self.flags)
        return self._compiled

    def sub(self, repl: Callable[[re.Match[str]], str], text: str) -> str:
        return self.compiled().sub(repl, text)


@dataclass(frozen=True)
class Rule:
    """One kind of secret: where it is in a match, how to confirm it, and where the rule comes from.

    ``groups`` names the match groups that hold the secret (the first that took part is
    replaced); an empty tuple replaces the whole match. ``needles`` are lower-case substrings
    of which the text must hold one for the rule to run at all (a cheap pre-check; empty: the
    card rule, which runs on text with a long enough digit run). ``accept`` confirms a candidate
    (Luhn, base64 ``user:pass``…).
    """

    kind: str
    pattern: _Lazy
    source: str
    groups: tuple[str, ...] = ()
    needles: tuple[str, ...] = ()
    accept: _Accept | None = None
    # Only the card rule replaces a part it chooses itself (a Luhn-valid run inside a digit run).
    replace: Callable[[re.Match[str]], str] | None = None
    # Keyword rules run together, from the separators leftwards: ``body`` is their reversed names.
    fuse: str = ""
    body: str = ""


def placeholder(kind: str) -> str:
    """The text that stands for a secret of ``kind``."""
    return f"<redacted:{kind}>"


# A token starts where no token character precedes it and ends where none follows, so a rule
# tries at most one start per token (linear time) and never redacts half a token.
_B = r"(?<![A-Za-z0-9_-])"
_E = r"(?![A-Za-z0-9_-])"


_LITERAL = re.compile(r"[A-Za-z0-9_-]+")


def _token(kind: str, body: str, source: str, needles: tuple[str, ...], flags: int = 0) -> Rule:
    """A token rule. When the body starts with a literal, the boundary check follows it, so the
    pattern starts with the literal and the regex engine skips to its occurrences (several times
    faster than trying a look-behind at every position)."""
    lead = _LITERAL.match(body)
    prefix = lead.group(0) if lead and "|" not in body else ""
    if prefix and body[len(prefix) : len(prefix) + 1] in ("{", "*", "+", "?"):
        prefix = prefix[:-1]
    if prefix:
        regex = prefix + r"(?<![A-Za-z0-9_-]" + prefix + ")" + body[len(prefix) :] + _E
    else:
        regex = _B + body + _E
    return Rule(kind, _Lazy(regex, flags), source, needles=needles)


# --- value checks ------------------------------------------------------------------------------

_PLACEHOLDER = "<redacted:"
_NOT_SECRETS = frozenset(
    "none null nil undefined true false empty unset n/a ******** *** ***** ****** ******* xxx xxxx".split()
)
_TEMPLATE = re.compile(r"^(?:\$\{|\$\(|\{\{|%\(|%s$|\{\}$|<[A-Za-z_ -]{0,40}>$)")
_CODE_PREFIX = ("self.", "cls.", "os.environ", "os.getenv", "getpass.")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _is_value(m: re.Match[str], value: str) -> bool:
    """A keyword's value is a secret unless it is a placeholder, a literal like ``None``, a
    template, or code (a call, a subscript, an attribute of ``self``, a name holding the keyword:
    ``password = get_password()``, ``token = self.token``, ``password=db_password``)."""
    after = m.string[m.end() : m.end() + 1]
    return _is_keyword_value(m.group("name"), value, m.group("uv") is None, after)


def _is_keyword_value(name: str, value: str, quoted: bool, after: str) -> bool:
    low = value.lower()
    if not value or value.startswith(_PLACEHOLDER) or low in _NOT_SECRETS or _TEMPLATE.match(value):
        return False
    if set(value) <= {"*", "x", "X", "•"}:
        return False
    if quoted:
        return True
    if after in ("(", "[", "{"):  # a call, a subscript, a ${TEMPLATE}
        return False
    if value.startswith(_CODE_PREFIX):
        return False
    word = name.lower().replace("-", "_")
    return not (_IDENTIFIER.fullmatch(value) and ("_" in value or "." in value or low == word) and word in low)


def _has_digit_and_letter(_m: re.Match[str], value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _looks_random(_m: re.Match[str], value: str) -> bool:
    """Mixed case and digits: a random key, not a word, a path or a hex digest."""
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
        and any(c in "/+" for c in value)
    )


def _basic_credentials(m: re.Match[str], value: str) -> bool:
    """``Basic …`` after an ``Authorization`` header, or base64 of ``user:password``."""
    if m.group("hdr"):
        return True
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in raw and raw.isascii() and raw.decode("ascii").isprintable()


def _not_a_port(_m: re.Match[str], value: str) -> bool:
    """``https://host:8080/path@x`` has a port, not a password."""
    return not re.match(r"\d{1,5}(?:/|$)", value)


def _is_opaque_token(_m: re.Match[str], value: str) -> bool:
    """``Bearer``/``token`` followed by a word (``token misconfiguration``) is prose."""
    return any(not c.isalpha() for c in value)


def _not_code(_m: re.Match[str], value: str) -> bool:
    return "(" not in value and not value.startswith(_PLACEHOLDER)


# --- card numbers ------------------------------------------------------------------------------


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _issuer(digits: str) -> bool:
    """A prefix some card network issues (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro)."""
    first = digits[0]
    if first == "2":
        return 2221 <= int(digits[:4]) <= 2720
    if first == "3":
        return digits[:2] in ("30", "34", "35", "36", "37", "38", "39")
    return first in "456"


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and _issuer(digits) and _luhn(digits)


_GROUP = re.compile(r"[0-9]+")


def _cards(m: re.Match[str]) -> str:
    """Replace every Luhn-valid card number inside a run of digit groups (``order 12 4111 1111 …``).

    A card is one group of 13-19 digits, or 2-5 groups of 3 or more digits (4-4-4-4, 4-6-5,
    4-4-4-4-3); groups glued to a letter are part of an identifier.
    """
    text = m.group(0)
    groups = [(g.start(), g.end()) for g in _GROUP.finditer(text)]
    if m.string[m.end() : m.end() + 1].isalpha() or m.string[m.end() : m.end() + 1] == "_":
        groups.pop()
    out: list[str] = []
    pos = i = 0
    while i < len(groups):
        found = 0
        digits = ""
        for j in range(i, min(i + 5, len(groups))):
            a, b = groups[j]
            if b - a < 3:
                break
            digits += text[a:b]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and _is_card(digits):
                found = j + 1  # the longest valid run starting at group i
        if found:
            out.append(text[pos : groups[i][0]] + placeholder("card-number"))
            pos = groups[found - 1][1]
            i = found
        else:
            i += 1
    out.append(text[pos:])
    return "".join(out)


# --- keyword = value ---------------------------------------------------------------------------

# After the name: an optional closing quote (JSON keys, escaped ones in JSON-in-JSON), then
# ``=``, ``:``, ``:=``, ``=>`` or ``==``. The value is double-quoted, single-quoted, quoted with
# escaped quotes, or bare; a bare value ends at white space, a quote, ``;``, ``&``, brackets, or
# a comma followed by a space (``password=p@ss,word`` is one value; ``f(password=x, user=y)`` is not).
_SEP = r"(?P<sep>(?![A-Za-z0-9_])\\?[\"']?[ \t]*(?:=>|:=|==|=|:)[ \t]*)"
_VALUE = (
    r"(?:\\(?P<eq>[\"'])(?P<ev>(?:(?!\\(?P=eq))[^\r\n]){1,1024})\\(?P=eq)"
    r"|\"(?P<dv>(?:\\.|[^\"\\\r\n]){1,1024})\""
    r"|'(?P<sv>(?:\\.|[^'\\\r\n]){1,1024})'"
    r"|[\"'`]?(?P<uv>(?:[^\s\"'`,;&<>()\[\]{}\\|]|,(?![\s\"']))++))"
)
_VALUE_GROUPS = ("ev", "dv", "sv", "uv")


def _keyword(kind: str, names: str, reversed_names: str, source: str, needles: tuple[str, ...]) -> Rule:
    """``NAME = value`` where NAME ends with one of ``names``: only the value is replaced.

    ``pattern`` is the rule as one reads it. It runs as ``reversed_names`` (the same names spelled
    backwards, look-behinds turned into look-aheads), matched leftwards from each separator in one
    pass for all keyword rules: the regex engine then skips to ``=`` and ``:`` instead of trying
    every name at every position (a test checks that both spellings agree).
    """
    pattern = _Lazy(r"(?<![/\\])(?P<name>" + names + ")" + _SEP + _VALUE)
    return Rule(
        kind,
        pattern,
        source,
        groups=_VALUE_GROUPS,
        needles=needles,
        accept=_is_value,
        fuse="keyword",
        body=reversed_names,
    )


_PASSWORD_NAMES = (
    r"(?i:passwords?|passwd|passphrase|passcode)"
    r"|(?<![A-Za-z])(?i:pass)|(?<=[a-z])Pass|(?<=[a-z])PASS"
    r"|(?<=[_.-])(?i:pwd)|(?<=[a-z])Pwd|(?<![A-Za-z0-9_])pwd"
)
_SECRET_NAMES = (
    r"(?i:secrets?|credentials?|api[_-]?key|apikey|x-functions-key|private[_-]?key"
    r"|(?:access|account|signing|encryption|master|client|app|auth|storage|subscription|consumer|webhook"
    r"|license|service|shared|secret|session|sas|primary|secondary|admin)[_-]?key)"
)

_PASSWORD_NAMES_REVERSED = (
    r"(?i:s?drowssap|dwssap|esarhpssap|edocssap)"
    r"|(?i:ssap)(?![A-Za-z])|ssaP(?=[a-z])|SSAP(?=[a-z])"
    r"|(?i:dwp)(?=[_.-])|dwP(?=[a-z])|dwp(?![A-Za-z0-9_])"
)
_SECRET_NAMES_REVERSED = (
    r"(?i:s?terces|s?laitnederc|yek[_-]?ipa|yekipa|yek-snoitcnuf-x|yek[_-]?etavirp"
    r"|yek[_-]?(?:ssecca|tnuocca|gningis|noitpyrcne|retsam|tneilc|ppa|htua|egarots|noitpircsbus|remusnoc|koohbew"
    r"|esnecil|ecivres|derahs|terces|noisses|sas|yramirp|yradnoces|nimda))"
)

# --- the rules, in order: most specific first, so a token inside a URL or after a keyword is
# named by its vendor, and later rules see the placeholder instead of the secret -----------------

RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        _Lazy(
            r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
            re.DOTALL,
        ),
        "detect-secrets PrivateKeyDetector (whole block, or to the end when cut)",
        needles=("private key",),
    ),
    Rule(
        "private-key",
        _Lazy(r"PuTTY-User-Key-File-\d:.*?(?:Private-MAC: [0-9a-fA-F]+|\Z)", re.DOTALL),
        "detect-secrets PrivateKeyDetector (PuTTY)",
        needles=("putty-user-key-file",),
    ),
    _token(
        "jwt",
        r"eyJ[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]{5,}+\.[A-Za-z0-9_-]*+",
        "detect-secrets JwtTokenDetector",
        ("eyj",),
    ),
    _token(
        "github-token",
        r"(?:gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_[A-Za-z0-9_]{22,}+)",
        "detect-secrets GitHubTokenDetector",
        ("gh", "github_pat_"),
    ),
    _token(
        "gitlab-token",
        r"(?:(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-[A-Za-z0-9_-]{20,}+|GR1348941[A-Za-z0-9_-]{20,}+)",
        "detect-secrets GitLabTokenDetector",
        ("gl", "gr1348941"),
    ),
    _token(
        "slack-token",
        r"xox[abposre]-[A-Za-z0-9-]{10,}+|xapp-\d-[A-Za-z0-9-]{10,}+",
        "detect-secrets SlackDetector",
        ("xox", "xapp-"),
    ),
    Rule(
        "slack-webhook",
        _Lazy(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{8,}+"),
        "detect-secrets SlackDetector",
        needles=("hooks.slack.com",),
    ),
    Rule(
        "discord-webhook",
        _Lazy(r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}+"),
        "gitleaks discord-webhook",
        needles=("discord",),
    ),
    _token("anthropic-key", r"sk-ant-[A-Za-z0-9_-]{16,}+", "gitleaks anthropic-api-key", ("sk-ant-",)),
    Rule(
        "openai-key",
        _Lazy(_B + r"sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,}+" + _E),
        "detect-secrets OpenAIDetector (T3BlbkFJ keys) widened to sk-proj-/sk-svcacct- keys",
        needles=("sk-",),
        accept=_has_digit_and_letter,
    ),
    _token(
        "stripe-key",
        r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}+|whsec_[A-Za-z0-9]{20,}+",
        "detect-secrets StripeDetector (whole key)",
        ("k_live_", "k_test_", "whsec_"),
    ),
    _token("google-api-key", r"AIza[0-9A-Za-z_-]{30,}+", "gitleaks gcp-api-key", ("aiza",)),
    _token(
        "google-oauth-secret",
        r"GOCSPX-[A-Za-z0-9_-]{20,}+|ya29\.[A-Za-z0-9_-]{20,}+",
        "gitleaks gcp oauth",
        ("gocspx-", "ya29."),
    ),
    _token(
        "sendgrid-key", r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}", "detect-secrets SendGridDetector", ("sg.",)
    ),
    _token("npm-token", r"npm_[A-Za-z0-9]{36}", "detect-secrets NpmDetector", ("npm_",)),
    _token(
        "pypi-token",
        r"pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}+",
        "detect-secrets PypiTokenDetector",
        ("pypi-",),
    ),
    _token("twilio-key", r"(?:AC|SK)[0-9a-f]{32}", "detect-secrets TwilioKeyDetector", ("ac", "sk")),
    _token("mailchimp-key", r"[0-9a-f]{32}-us[0-9]{1,2}", "detect-secrets MailchimpDetector", ("-us",)),
    _token("square-token", r"sq0(?:csp|atp)-[0-9A-Za-z_-]{22,}+", "detect-secrets SquareOAuthDetector", ("sq0",)),
    _token("telegram-token", r"\d{8,10}:AA[0-9A-Za-z_-]{33}", "detect-secrets TelegramBotTokenDetector", (":aa",)),
    _token(
        "discord-token",
        r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}",
        "detect-secrets DiscordBotTokenDetector",
        (".",),
    ),
    _token("artifactory-token", r"AKCp[A-Za-z0-9]{69}", "detect-secrets ArtifactoryDetector", ("akcp",)),
    _token("huggingface-token", r"hf_[A-Za-z0-9]{30,}+", "gitleaks huggingface-access-token", ("hf_",)),
    _token("digitalocean-token", r"do[por]_v1_[a-f0-9]{64}", "gitleaks digitalocean", ("_v1_",)),
    _token("shopify-token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", "gitleaks shopify", ("shp",)),
    _token("databricks-token", r"dapi[a-f0-9]{32}(?:-\d)?", "gitleaks databricks-api-token", ("dapi",)),
    _token("postman-key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", "gitleaks postman-api-token", ("pmak-",)),
    _token("age-secret-key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}", "gitleaks age-secret-key", ("age-secret-key-",)),
    Rule(
        "azure-client-secret",
        _Lazy(r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])"),
        "gitleaks azure-ad-client-secret",
        needles=("q~",),
    ),
    Rule(
        "azure-sas-signature",
        _Lazy(r"[?&;]sig=(?P<v>[A-Za-z0-9%+/=]{16,}+)"),
        "selfheal (Azure SAS URLs)",
        groups=("v",),
        needles=("sig=",),
    ),
    _token(
        "aws-access-key-id",
        r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}",
        "detect-secrets AWSKeyDetector",
        ("a3t", "akia", "asia", "abia", "acca", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
    ),
    Rule(
        # A 40-character secret key shortly after a key id (credentials CSV, tuples, prose). It
        # needs a letter a hex digest cannot have, so a git SHA next to a key id stays.
        "aws-secret-access-key",
        _Lazy(
            re.escape(placeholder("aws-access-key-id")) + r"[^\r\n]{0,80}?(?<![A-Za-z0-9/+=])"
            r"(?P<v>(?=[A-Za-z0-9/+]{0,39}[G-Zg-z/+])[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        "selfheal (key id nearby)",
        groups=("v",),
        needles=(placeholder("aws-access-key-id"),),
    ),
    _token(
        "aws-session-token",
        r"(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz)[A-Za-z0-9/+=]{20,}+",
        "selfheal (STS token prefixes)",
        ("iqojb3jpz2lux2vj", "fwogzxivyxdz"),
    ),
    Rule(
        "basic-auth",
        _Lazy(
            r"(?i)(?P<hdr>authorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?)?(?<![A-Za-z0-9_])basic[ \t]+"
            r"(?P<v>[A-Za-z0-9+/]{4,}+={0,2})(?![A-Za-z0-9+/=])"
        ),
        "selfheal (detect-secrets BasicAuthDetector covers URLs only)",
        groups=("v",),
        needles=("basic",),
        accept=_basic_credentials,
    ),
    Rule(
        "token",
        _Lazy(
            r"(?i)(?<![A-Za-z0-9_-])(?:proxy-)?authorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
            r"(?:(?P<scheme>bearer|token|basic|digest|negotiate|ntlm|apikey|key|sso-key)[ \t]+)?"
            r"(?!(?:bearer|token|basic|digest|negotiate|ntlm|apikey|key|sso-key)[ \t])(?P<v>[A-Za-z0-9._~+/=:-]{4,}+)"
        ),
        "selfheal (Authorization header)",
        groups=("v",),
        needles=("authorization",),
    ),
    Rule(
        "token",
        _Lazy(r"(?i)(?<![A-Za-z0-9_])(?:bearer|token)[ \t]+(?P<v>[A-Za-z0-9._~+/-]{16,}+=*)"),
        "selfheal (bearer tokens)",
        groups=("v",),
        needles=("bearer", "token"),
        accept=_is_opaque_token,
    ),
    Rule(
        "cookie",
        _Lazy(r"(?i)(?<![A-Za-z0-9_-])(?:set-)?cookie\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?(?P<v>[^\r\n\"'\\]{1,4096})"),
        "selfheal (Cookie headers)",
        groups=("v",),
        needles=("cookie",),
        accept=_not_code,
    ),
    Rule(
        # scheme://user:password@host; the user may be empty (redis://:pw@host) and the password
        # may hold '/' or ':'. It stops at the next '://', so each scheme is scanned once.
        "password",
        _Lazy(
            r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}+://[^\s:/?#@\"'<>]{0,256}+:"
            r"(?P<v>(?:(?!://)[^\s@\"'<>]){1,1024}+)@"
        ),
        "detect-secrets BasicAuthDetector (empty user, '/' in the password)",
        groups=("v",),
        needles=("://",),
        accept=_not_a_port,
    ),
    _keyword(
        "aws-secret-access-key",
        r"(?i:aws[_-]?secret(?:[_-]?access)?[_-]?key|secret[_-]?access[_-]?key)",
        r"(?i:yek[_-]?(?:ssecca[_-]?)?terces[_-]?swa|yek[_-]?ssecca[_-]?terces)",
        "detect-secrets AWSKeyDetector (any value, quoted or not)",
        ("secret",),
    ),
    _keyword(
        "aws-session-token",
        r"(?i:(?:aws[_-]?)?session[_-]?token|x-amz-security-token|security[_-]?token)",
        r"(?i:nekot[_-]?noisses(?:[_-]?swa)?|nekot-ytiruces-zma-x|nekot[_-]?ytiruces)",
        "selfheal",
        ("token",),
    ),
    _keyword(
        "azure-storage-key",
        r"(?i:AccountKey|SharedAccessKey)",
        r"(?i:yektnuocca|yeksseccaderahs)",
        "detect-secrets AzureStorageKeyDetector",
        ("key",),
    ),
    _keyword(
        "gcp-private-key-id",
        r"(?i:private[_-]?key[_-]?id)",
        r"(?i:di[_-]?yek[_-]?etavirp)",
        "selfheal (service-account JSON)",
        ("key_id", "keyid", "key-id"),
    ),
    _keyword("password", _PASSWORD_NAMES, _PASSWORD_NAMES_REVERSED, "detect-secrets KeywordDetector", ("pass", "pwd")),
    _keyword("token", r"(?i:token)", r"(?i:nekot)", "detect-secrets KeywordDetector", ("token",)),
    _keyword(
        "secret",
        _SECRET_NAMES,
        _SECRET_NAMES_REVERSED,
        "detect-secrets KeywordDetector",
        ("secret", "credential", "key"),
    ),
    Rule(
        "email",
        _Lazy(
            r"(?<![A-Za-z0-9._%+-])(?!git@)[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])"
        ),
        "selfheal (personal data)",
        needles=("@",),
    ),
    Rule(
        "card-number",
        _Lazy(r"(?<![0-9A-Za-z_.])(?<![0-9][ -])[0-9](?:[ -]?[0-9]){12,}+"),
        "selfheal (personal data, Luhn-valid)",
        replace=_cards,
    ),
    Rule(
        # A bare 40-character secret key: mixed case, digits and a '/' or '+' (no word, path or digest).
        "aws-secret-access-key",
        _Lazy(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
        "detect-secrets AWSKeyDetector (bare key)",
        needles=("/", "+"),
        accept=_looks_random,
    ),
)


def _substitute(rule: Rule) -> Callable[[re.Match[str]], str]:
    if rule.replace is not None:
        return rule.replace

    def sub(m: re.Match[str]) -> str:
        name = next((g for g in rule.groups if m.group(g) is not None), None)
        value = m.group(name) if name else m.group(0)
        if rule.accept is not None and not rule.accept(m, value):
            return m.group(0)
        if name is None:
            return placeholder(rule.kind)
        start, end = m.span(name)
        whole, base = m.group(0), m.start()
        return whole[: start - base] + placeholder(rule.kind) + whole[end - base :]

    return sub


_KEYWORDS = tuple(rule for rule in RULES if rule.fuse == "keyword")
_SEPARATOR = re.compile(r"=>|:=|==|=|:")
_AFTER_SEPARATOR = _Lazy(r"[ \t]*" + _VALUE)
# Read leftwards from a separator: spaces, a closing quote (escaped or not), then a name.
_NAME_BEFORE = _Lazy(
    r"[ \t]*[\"']?\\?(?:" + "|".join(f"(?P<k{i}>{rule.body})" for i, rule in enumerate(_KEYWORDS)) + r")(?![/\\])"
)


def _keywords(text: str) -> str:
    """Every keyword rule in one pass: ``NAME = value`` found from its separator."""
    names, values = _NAME_BEFORE.compiled(), _AFTER_SEPARATOR.compiled()
    backwards, n = text[::-1], len(text)
    out: list[str] = []
    copied = skip = 0
    for sep in _SEPARATOR.finditer(text):
        start, end = sep.span()
        named = names.match(backwards, n - start) if start >= skip else None
        value = values.match(text, end) if named else None
        if named is None or value is None:
            continue
        i = next(k for k in range(len(_KEYWORDS)) if named.group(f"k{k}") is not None)
        group = next(g for g in _VALUE_GROUPS if value.group(g) is not None)
        word = text[n - named.end(f"k{i}") : n - named.start(f"k{i}")]
        skip = value.end()  # as re.sub does, a match is consumed even when its value is kept
        after = text[value.end() : value.end() + 1]
        if _is_keyword_value(word, value.group(group), group != "uv", after):
            out += (text[copied : value.start(group)], placeholder(_KEYWORDS[i].kind))
            copied = value.end(group)
    out.append(text[copied:])
    return "".join(out)


_KEYWORD_STEP = Rule(
    "keywords",
    _Lazy(""),
    "every keyword rule, run together",
    needles=tuple(needle for rule in _KEYWORDS for needle in rule.needles),
    replace=lambda m: m.group(0),
)
_SUBS = tuple(
    (rule, _substitute(rule))
    for rule in dict.fromkeys(_KEYWORD_STEP if rule.fuse == "keyword" else rule for rule in RULES)
)
_DIGITS = re.compile(r"[0-9]{13}|[0-9][ -][0-9]")


# Which steps each needle enables (``""``: the digits a card needs), for the cheap pre-check.
_BY_NEEDLE: dict[str, list[int]] = {}
for _i, (_rule, _) in enumerate(_SUBS):
    for _needle in _rule.needles or ("",):
        _BY_NEEDLE.setdefault(_needle, []).append(_i)


def _steps_from(text: str, first: int) -> list[int]:
    """The steps at or after ``first`` whose needles ``text`` holds, in rule order."""
    low = text.lower()
    steps = {i for needle, ids in _BY_NEEDLE.items() if needle in low for i in ids if i >= first}
    if _DIGITS.search(low) is None:
        steps.difference_update(i for i in _BY_NEEDLE[""])
    return sorted(steps)


_MAX_ROUNDS = 8


def _once(text: str) -> str:
    steps = _steps_from(text, 0)
    while steps:
        i = steps.pop(0)
        rule, sub = _SUBS[i]
        out = _keywords(text) if rule is _KEYWORD_STEP else rule.pattern.sub(sub, text)
        if out != text:  # a placeholder can hold a later rule's needle (``<redacted:aws-access-key-id>``)
            text, steps = out, _steps_from(out, i + 1)
    return text


def redact(text: str) -> str:
    """``text`` with every secret and personal datum replaced by ``<redacted:KIND>``, the rest unchanged.

    The rules run again until nothing changes (twice for text that held a secret): a placeholder
    can end a token where the secret did not (``a@b.ghp_a@b.key``), and what it uncovers is
    redacted now rather than on a second call, so ``redact`` is idempotent. Each round replaces at
    least one character that is not a placeholder, so the rounds end; the bound is a guard.
    """
    for _ in range(_MAX_ROUNDS):
        out = _once(text)
        if out == text:
            break
        text = out
    return text


def findings(text: str) -> list[str]:
    """The kinds of secret ``text`` contains, in order of appearance, each once: for reports and tests."""
    kinds: list[str] = []
    for kind in re.findall(r"<redacted:([a-z0-9-]+)>", redact(text)):
        if kind not in kinds:
            kinds.append(kind)
    return kinds
