"""Services: which team's code a log group runs, and where that code lives. Pure.

A deployment serves many services. The catalog (configuration, JSON in SSM at
``<prefix>services/catalog``; Terraform renders it from a typed variable) names each one:

    {"services": [{"name": "billing",                        ^[a-z0-9][a-z0-9-]{0,62}$, unique
                   "log_groups": ["/aws/lambda/billing-api",  exact names,
                                  "/ecs/billing-*"],          or prefixes ending in "*"
                   "repo_url": "acme/monorepo",               "" = the global repo_url parameter
                   "repo_folder": "services/billing",         the monorepo folder its code is in
                   "path_prefixes": ["/var/task/"], "labels": ["selfheal"], "reviewers": ["alice"],
                   "model": "", "min_occurrences": 1, "draft": false,
                   "fixes_per_hour": 0, "fixes_per_day": 0, "tokens_per_day": 0,
                   "always_fix": ["ValueError"], "never_fix": ["billing.legacy"],
                   "fix_library": false}]}

Every field but ``name`` and ``log_groups`` is optional; an absent (or ``null``: Terraform's
``optional()``) field means "the global parameter" (repo_url, model, labels, path_prefixes,
min_occurrences) or "none" (folder, reviewers, limits: 0 = no limit). ``always_fix`` /
``never_fix`` name exception types (full or short name) or modules (dotted, or a path fragment)
whose groups are always / never sent to the fixer whatever their class (core/fixability.py;
``never_fix`` wins); ``fix_library`` sends groups with no in-app frame to the fixer too.

Routing (``ServiceCatalog.route``): an exact log group name beats every prefix; among prefixes the
longest wins; ``"*"`` (the empty prefix) owns whatever nobody else does. No catalog (absent, or an
empty list) is one service, DEFAULT, named ``default``, owning ``"*"`` with today's global
parameters — so a deployment from before services keeps working unchanged, and its groups
(stored without a ``service``) read as ``default`` and keep their fingerprints
(core/fingerprint.py hashes the service name in for every other service).
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from chalicelib.core.fixability import FixPolicy
from chalicelib.core.repos import RepoUrlError, parse_repo_url
from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence


DEFAULT_NAME = "default"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# CloudWatch Logs group names: 1-512 of these characters (a prefix may end in "*").
LOG_GROUP = re.compile(r"^[A-Za-z0-9_./#-]{0,512}$")
_KEY_UNSAFE = re.compile(r"[^a-z0-9_.\-/]")
MAX_SERVICES = 200
MAX_LIST = 100  # log groups, labels, reviewers, path prefixes per service
_REVIEWER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9._-]{1,100})?$")
_LABEL_BYTES = 50  # GitHub's limit on a label name
# always_fix / never_fix entries: an exception type or a module (dotted or a path fragment).
_FIX_ENTRY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,199}$")


@dataclass(frozen=True)
class Service:
    """One service of the catalog. ``None`` means "the global parameter" (see the module docstring)."""

    name: str
    log_groups: tuple[str, ...] = ("*",)
    repo_url: str = ""
    repo_folder: str = ""
    path_prefixes: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    reviewers: tuple[str, ...] = ()
    model: str = ""
    min_occurrences: int | None = None
    draft: bool = False
    fixes_per_hour: int = 0
    fixes_per_day: int = 0
    tokens_per_day: int = 0
    # Fixability overrides (core/fixability.py).
    always_fix: tuple[str, ...] = ()
    never_fix: tuple[str, ...] = ()
    fix_library: bool = False

    @property
    def fix_policy(self) -> FixPolicy:
        """The service's overrides of the fixability classes."""
        return FixPolicy(self.always_fix, self.never_fix, self.fix_library)

    @property
    def is_default(self) -> bool:
        """Whether this is the default service (its fingerprints are today's)."""
        return self.name == DEFAULT_NAME

    def owns(self, log_group: str) -> bool:
        """Whether one of this service's names or prefixes matches ``log_group``."""
        return any(_match_length(pattern, log_group) is not None for pattern in self.log_groups)

    def to_json(self) -> dict[str, Any]:
        """The catalog entry (absent fields left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in ("name", "log_groups") and value == f.default:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


DEFAULT = Service(DEFAULT_NAME)


def _match_length(pattern: str, log_group: str) -> int | None:
    """How specifically ``pattern`` matches: exact names rank above any prefix (length + 1024)."""
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return len(prefix) if log_group.startswith(prefix) else None
    return 1024 + len(pattern) if log_group == pattern else None


@dataclass(frozen=True)
class ServiceCatalog:
    """The services of a deployment; ``configured`` is False for the default catalog (no catalog)."""

    services: tuple[Service, ...] = (DEFAULT,)
    configured: bool = False

    def route(self, log_group: str) -> Service | None:
        """The service that owns ``log_group``: an exact name first, then the longest prefix; None
        when no service owns it (only possible with a catalog that has no ``"*"``)."""
        best: tuple[int, Service] | None = None
        for service in self.services:
            for pattern in service.log_groups:
                rank = _match_length(pattern, log_group)
                if rank is not None and (best is None or rank > best[0]):
                    best = (rank, service)
        return best[1] if best else None

    def get(self, name: str) -> Service | None:
        """The service called ``name``, or None. When the catalog has no ``default`` entry,
        ``default`` still names DEFAULT, so groups from before the catalog (read as ``default``,
        adapters/store.py) can still be fixed with the global parameters. The empty name (a log
        group of no service) names none."""
        for service in self.services:
            if service.name == name:
                return service
        return DEFAULT if name == DEFAULT_NAME else None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    def to_json(self) -> str:
        """The catalog document, as stored in SSM."""
        return json.dumps({"services": [s.to_json() for s in self.services]}, sort_keys=True)

    @classmethod
    def parse(cls, text: str | None) -> ServiceCatalog:
        """The catalog from its stored JSON; None, blank or an empty list → the default catalog.
        ConfigError names the entry and the field that is wrong."""
        if text is None or not text.strip():
            return cls()
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"service catalog is not JSON: {exc}") from exc
        return cls.from_document(doc)

    @classmethod
    def from_document(cls, doc: object) -> ServiceCatalog:
        """The catalog from its parsed document (see ``parse``)."""
        if isinstance(doc, list):
            entries: object = doc
        elif isinstance(doc, dict) and set(doc) <= {"services"}:
            entries = doc.get("services") or []
        else:
            extra = sorted(set(doc) - {"services"}) if isinstance(doc, dict) else []
            raise ConfigError(
                f"service catalog: unknown field(s) {', '.join(extra)}" if extra else
                'service catalog must be {"services": [...]}'
            )  # fmt: skip
        if not isinstance(entries, list):
            raise ConfigError("service catalog: services must be a list")
        if not entries:
            return cls()
        if len(entries) > MAX_SERVICES:
            raise ConfigError(f"service catalog: at most {MAX_SERVICES} services, got {len(entries)}")
        services = tuple(parse_service(entry, n) for n, entry in enumerate(entries))
        _check_unique(services)
        return cls(services, configured=True)


# --- validation -----------------------------------------------------------------------------------

_FIELDS = {f.name for f in fields(Service)}


def _where(entry: Mapping[str, Any], index: int) -> str:
    name = entry.get("name")
    return f"service {name!r}" if isinstance(name, str) and name else f"service #{index + 1}"


def _strings(where: str, key: str, value: object, check: re.Pattern[str] | None = None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    if len(value) > MAX_LIST:
        raise ConfigError(f"{where}: {key} holds more than {MAX_LIST} entries")
    out = tuple(v.strip() for v in value)
    for v in out:
        if not v or (check is not None and not check.match(v)):
            raise ConfigError(f"{where}: {key} entry {v!r} is not valid")
    return out


def _count(where: str, key: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{where}: {key} must be a whole number of at least {least}")
    return value


def _folder(where: str, value: str) -> str:
    folder = value.strip().strip("/")
    if not folder:
        return ""
    normal = posixpath.normpath(folder)
    if normal != folder or normal.startswith("..") or "\\" in folder or "//" in value:
        raise ConfigError(f"{where}: repo_folder {value!r} must be a plain relative folder (no '..', no '.')")
    return folder


def _log_groups(where: str, value: object) -> tuple[str, ...]:
    groups = _strings(where, "log_groups", value)
    if not groups:
        raise ConfigError(f"{where}: log_groups must name at least one log group (or a prefix ending in '*')")
    for g in groups:
        if "*" in g[:-1] or not LOG_GROUP.match(g.rstrip("*")):
            raise ConfigError(
                f"{where}: log_groups entry {g!r} is not a log group name or a prefix ending in '*' "
                "(letters, digits, _ . - / #)"
            )
    return groups


def parse_service(entry: object, index: int = 0) -> Service:  # noqa: C901, PLR0912 - one check per field
    """One catalog entry; ConfigError names the entry and the field that is wrong. ``null`` values
    are absent values (Terraform writes ``optional()`` fields that way)."""
    if not isinstance(entry, dict):
        raise ConfigError(f"service #{index + 1}: must be an object")
    where = _where(entry, index)
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))})")
    given = {k: v for k, v in entry.items() if v is not None}
    name = given.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{where}: name must match {NAME.pattern} (lower case letters, digits and '-')")
    if "log_groups" not in given:
        raise ConfigError(f"{where}: log_groups is required")
    values: dict[str, Any] = {"name": name, "log_groups": _log_groups(where, given["log_groups"])}
    for key in ("repo_url", "repo_folder", "model"):
        if key in given:
            if not isinstance(given[key], str):
                raise ConfigError(f"{where}: {key} must be a string")
            values[key] = given[key].strip()
    if values.get("repo_url"):
        try:
            parse_repo_url(values["repo_url"])
        except RepoUrlError as exc:
            raise ConfigError(f"{where}: repo_url: {exc}") from exc
    if "repo_folder" in values:
        values["repo_folder"] = _folder(where, values["repo_folder"])
    if "path_prefixes" in given:
        values["path_prefixes"] = _strings(where, "path_prefixes", given["path_prefixes"])
    if "labels" in given:
        labels = _strings(where, "labels", given["labels"])
        if any(len(label.encode()) > _LABEL_BYTES or "," in label for label in labels):
            raise ConfigError(f"{where}: labels must be at most {_LABEL_BYTES} bytes each, without commas")
        values["labels"] = labels
    if "reviewers" in given:
        values["reviewers"] = _strings(where, "reviewers", given["reviewers"], _REVIEWER)
    if "min_occurrences" in given:
        values["min_occurrences"] = _count(where, "min_occurrences", given["min_occurrences"], 1)
    for key in ("draft", "fix_library"):
        if key in given:
            if not isinstance(given[key], bool):
                raise ConfigError(f"{where}: {key} must be true or false")
            values[key] = given[key]
    for key in ("always_fix", "never_fix"):
        if key in given:
            values[key] = _strings(where, key, given[key], _FIX_ENTRY)
    for key in ("fixes_per_hour", "fixes_per_day", "tokens_per_day"):
        if key in given:
            values[key] = _count(where, key, given[key], 0)
    return Service(**values)


def _check_unique(services: Sequence[Service]) -> None:
    """Names unique; no log group name or prefix claimed by two services (routing would be a guess)."""
    seen: dict[str, str] = {}
    owners: dict[str, str] = {}
    for s in services:
        if s.name in seen:
            raise ConfigError(f"service {s.name!r}: name used twice")
        seen[s.name] = s.name
        for pattern in s.log_groups:
            if pattern in owners and owners[pattern] != s.name:
                raise ConfigError(
                    f"service {s.name!r}: log_groups entry {pattern!r} is also service {owners[pattern]!r}'s"
                )
            owners[pattern] = s.name


# --- repositories -----------------------------------------------------------------------------------


def repo_key(repo_url: str) -> str:
    """The name a repository's secrets live under: ``<prefix>repos/<repo_key>/github_token``.

    ``host/owner/name`` in lower case (``github.com/acme/shop``), or ``local/<path>`` for a local
    repository; characters outside ``[a-z0-9_.-/]`` become ``-``. RepoUrlError for an address
    ``parse_repo_url`` refuses.
    """
    ref = parse_repo_url(repo_url)
    if ref.kind == "local":
        raw = "local/" + ref.url.strip().strip("/")
    else:
        raw = f"{ref.host or 'github.com'}/{ref.full_name}"
    key = _KEY_UNSAFE.sub("-", raw.lower())
    parts = [p for p in key.split("/") if p and p not in (".", "..")]
    return "/".join(parts)


def in_folder(path: str, folder: str) -> bool:
    """Whether repository path ``path`` lies inside ``folder`` ("" is the whole repository)."""
    return not folder or path.startswith(folder.rstrip("/") + "/")


def folder_paths(paths: Iterable[str], folder: str) -> list[str]:
    """The repository paths inside ``folder``, kept whole: a monorepo service's code is what a
    localizer may map its deployed paths to, and a fix's edits name real repository paths."""
    return [p for p in paths if in_folder(p, folder)]
