"""Who reviews a fix: the code owners of the changed files (GitHub's CODEOWNERS rules), else the
service's configured reviewers.

GitHub's rules, as "About code owners" documents them
(https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):

- **Location**: ``.github/CODEOWNERS``, then ``CODEOWNERS`` at the root, then ``docs/CODEOWNERS``;
  the first one found is used and the others are ignored (``find``).
- **Size**: a file of 3 MB or more is not loaded at all (``MAX_BYTES``): nobody owns anything.
- **Lines**: ``pattern owner...``; ``#`` starts a comment (a whole line, or the rest of a line, as
  in the documented ``*.js @js-owner #This is an inline comment.``). Escaping a leading ``#`` with
  ``\\`` does not work on GitHub: such a line is reported as malformed here and skipped.
- **Patterns** follow gitignore with GitHub's exceptions: no ``!`` negation and no ``[ ]``
  character ranges (both reported and skipped); ``\\`` escapes the next character (a space,
  ``*``, ``?``); a leading ``/`` anchors at the root, and so does a ``/`` in the middle; a pattern
  without one matches at any depth; a trailing ``/`` matches a directory's contents only; ``*`` and
  ``?`` never cross ``/``, ``**`` does; ``docs/*`` owns ``docs``' direct children only. Paths are
  case-sensitive.
- **Precedence**: the LAST matching line wins; a line with a pattern and no owner un-owns what it
  matches.
- **Owners**: ``@user``, ``@org/team`` or an e-mail address. The review-request API takes logins
  and team slugs only, so e-mail owners are skipped (and said so).
- **Errors**: a malformed line is skipped (GitHub highlights it and skips it); every one is
  reported as ``LineError`` with GitHub's error kinds ("Invalid pattern", "Invalid owner").

Matching runs in time linear in the path's components times the pattern's segments (an NFA over
segments, and the classic two-pointer wildcard match inside a segment), so a hostile pattern such
as ``*a*a*a*a*b`` cannot make it backtrack exponentially.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")  # GitHub's search order
MAX_BYTES = 3 * 1024 * 1024  # "CODEOWNERS files must be under 3 MB in size"
MAX_REVIEWERS = 15  # a bound of ours on one review request (users + teams)

_USER = re.compile(r"@([A-Za-z0-9](?:[A-Za-z0-9_-]{0,38}))")
_TEAM = re.compile(r"@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9_.-]{1,100})")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_CONFIGURED_USER = re.compile(r"@?([A-Za-z0-9](?:[A-Za-z0-9_-]{0,38}))")
_CONFIGURED_TEAM = re.compile(r"@?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9_.-]{1,100})")
_SPACE = " \t"
_PLAIN_TOKEN = re.compile(r"[^ \t]+")
_GLOB_SYNTAX = re.compile(r"[\\*?\[\]]")


@dataclass(frozen=True)
class LineError:
    """A malformed CODEOWNERS line: skipped, as GitHub skips it. ``column`` is 1-based."""

    line: int
    column: int
    kind: str  # "Invalid pattern" or "Invalid owner", GitHub's kinds
    source: str
    detail: str = ""

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"line {self.line} column {self.column}: {self.kind}{detail}: {self.source[:200]!r}"


class _Star:
    """``*`` inside a segment: any run of characters but ``/``."""


class _Any:
    """``?`` inside a segment: one character but ``/``."""


STAR, ANY = _Star(), _Any()
_Glob = tuple[object, ...]  # characters (str of length 1), STAR and ANY
_ZERO_OR_MORE = "**"  # a segment token: zero or more whole path components


def _glob_match(glob: _Glob, text: str) -> bool:
    """One path component against one pattern segment: two pointers, back to the last ``*`` on a
    mismatch (O(len(glob) * len(text)) at worst, never exponential)."""
    g = t = 0
    star, mark = -1, 0
    while t < len(text):
        if g < len(glob) and (glob[g] is ANY or glob[g] == text[t]):
            g, t = g + 1, t + 1
        elif g < len(glob) and glob[g] is STAR:
            star, mark, g = g, t, g + 1
        elif star >= 0:
            mark += 1
            g, t = star + 1, mark
        else:
            return False
    while g < len(glob) and glob[g] is STAR:
        g += 1
    return g == len(glob)


@dataclass(frozen=True)
class Pattern:
    """A compiled CODEOWNERS pattern: a sequence of segment globs and ``**`` tokens."""

    text: str
    tokens: tuple[_Glob | str, ...] = field(repr=False)
    lead: tuple[str, ...] = field(default=(), repr=False)  # the literal components it starts with
    needles: tuple[str, ...] = field(default=(), repr=False)  # literal runs any match contains

    def matches(self, path: str) -> bool:
        """Whether this pattern owns the repository file ``path`` (``a/b.py``, no leading ``/``)."""
        if any(needle not in path for needle in self.needles):
            return False  # cheap tests first: they reject most lines of a large file
        parts = [p for p in path.split("/") if p]
        if not parts or tuple(parts[: len(self.lead)]) != self.lead:
            return False
        tokens = self.tokens
        states = self._closure({0})
        for part in parts:
            step: set[int] = set()
            for i in states:
                if i == len(tokens):
                    continue
                token = tokens[i]
                if token == _ZERO_OR_MORE:
                    step.add(i)
                elif _glob_match(token, part):  # type: ignore[arg-type]
                    step.add(i + 1)
            if not step:
                return False
            states = self._closure(step)
        return len(tokens) in states

    def _closure(self, states: set[int]) -> set[int]:
        """Add the states reachable by letting a ``**`` match zero components."""
        out = set(states)
        todo = list(states)
        while todo:
            i = todo.pop()
            if i < len(self.tokens) and self.tokens[i] == _ZERO_OR_MORE and i + 1 not in out:
                out.add(i + 1)
                todo.append(i + 1)
        return out


class PatternError(ValueError):
    """A pattern GitHub does not accept; the message says why."""


def _segment(text: str) -> _Glob | str:
    """One ``/``-free piece of a pattern (escapes still in it) as a glob, or ``**``."""
    if text == "**":
        return _ZERO_OR_MORE
    if not _GLOB_SYNTAX.search(text):
        return tuple(text)
    if "**" in text.replace("\\*", ""):
        # gitignore: "Other consecutive asterisks are considered regular asterisks"; say ``*``.
        text = re.sub(r"(?<!\\)\*{2,}", "*", text)
    out: list[object] = []
    escaped = False
    for ch in text:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "*":
            if not (out and out[-1] is STAR):
                out.append(STAR)
        elif ch == "?":
            out.append(ANY)
        elif ch in "[]":
            raise PatternError("[ ] character ranges do not work in CODEOWNERS")
        else:
            out.append(ch)
    if escaped:
        raise PatternError("a trailing \\ escapes nothing")
    return tuple(out)


def compile_pattern(text: str) -> Pattern:
    """A CODEOWNERS pattern compiled by GitHub's rules (module docstring); PatternError if GitHub
    would reject it."""
    if not text:
        raise PatternError("empty pattern")
    if text.startswith("!"):
        raise PatternError("! negation does not work in CODEOWNERS")
    if "***" in text:
        raise PatternError("three consecutive asterisks")
    if text.strip("/") == "":
        raise PatternError("the pattern / never matches anything; did you mean *")
    anchored = text.startswith("/")
    directory = text.endswith("/")
    body = text.strip("/") if directory else text.lstrip("/")
    pieces = body.split("/")
    if "" in pieces:
        raise PatternError("empty path segment (//)")
    anchored = anchored or len(pieces) > 1  # a separator at the start or in the middle anchors
    tokens: list[_Glob | str] = [_segment(p) for p in pieces]
    if not anchored and tokens[0] != _ZERO_OR_MORE:
        tokens.insert(0, _ZERO_OR_MORE)
    last = tokens[-1]
    if directory or last == _ZERO_OR_MORE:
        # ``dir/`` and ``dir/**``: something inside the directory, never a file of that name.
        if last == _ZERO_OR_MORE:
            tokens.pop()
        tokens += [(STAR,), _ZERO_OR_MORE]
    elif last != (STAR,):
        # A name owns the file of that name and, when it is a directory, everything in it; a
        # last segment of just ``*`` (``docs/*``) owns the directory's direct children only.
        tokens.append(_ZERO_OR_MORE)
    lead: list[str] = []
    for token in tokens:
        if token == _ZERO_OR_MORE or any(not isinstance(c, str) for c in token):
            break
        lead.append("".join(token))  # type: ignore[arg-type]
    return Pattern(text, tuple(tokens), tuple(lead), _needles(tokens))


def _needles(tokens: Sequence[_Glob | str]) -> tuple[str, ...]:
    """The runs of literal characters in the segment globs: a path a pattern matches contains
    each of them (inside one component), so a missing one rejects the path at C speed."""
    runs: list[str] = []
    for token in tokens:
        if token == _ZERO_OR_MORE:
            continue
        run = ""
        for c in token:
            if isinstance(c, str):
                run += c
            else:
                runs.append(run)
                run = ""
        runs.append(run)
    return tuple(sorted({r for r in runs if r}, key=len, reverse=True))


@dataclass(frozen=True)
class Rule:
    """One valid CODEOWNERS line: a pattern and its owners (none: the line un-owns)."""

    line: int
    pattern: Pattern
    owners: tuple[str, ...]  # as written: "@user", "@org/team", "user@example.com"


@dataclass(frozen=True)
class Codeowners:
    """A parsed CODEOWNERS file: its rules in file order, the lines skipped, and why the whole file
    was ignored (too large) when it was."""

    path: str = ""
    rules: tuple[Rule, ...] = ()
    errors: tuple[LineError, ...] = ()
    ignored: str = ""

    def rule_for(self, path: str) -> Rule | None:
        """The LAST rule whose pattern matches ``path``, or None."""
        clean = path.lstrip("/")
        for rule in reversed(self.rules):
            if rule.pattern.matches(clean):
                return rule
        return None

    def owners_for(self, path: str) -> tuple[str, ...]:
        """The owners of one file as written (``()``: nobody, or un-owned by a later line)."""
        rule = self.rule_for(path)
        return rule.owners if rule else ()


def _tokens(line: str) -> list[tuple[int, str]]:
    """Split a stripped line at unescaped blanks, up to a ``#`` (the rest is a comment); each token
    with its 1-based column. A ``\\`` keeps the next character (a blank too) in the token."""
    if "\\" not in line and "#" not in line:  # the common line: blanks are the only syntax
        return [(m.start() + 1, m.group()) for m in _PLAIN_TOKEN.finditer(line)]
    tokens: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "#":
            break
        if ch in _SPACE:
            if current:
                tokens.append((start + 1, "".join(current)))
                current = []
            i += 1
            continue
        if not current:
            start = i
        if ch == "\\" and i + 1 < len(line) and line[i + 1] != "#":
            current += [ch, line[i + 1]]
            i += 2
            continue
        current.append(ch)
        i += 1
    if current:
        tokens.append((start + 1, "".join(current)))
    return tokens


def _owner_kind(token: str) -> str:
    """The kind of an owner token: user, team, email, or empty (not an owner GitHub accepts)."""
    if len(token) > 254:  # no login, team or e-mail address is longer (RFC 5321 path limit)
        return ""
    if _TEAM.fullmatch(token):
        return "team"
    if _USER.fullmatch(token):
        return "user"
    if _EMAIL.fullmatch(token):
        return "email"
    return ""


def parse(text: str, path: str = "CODEOWNERS") -> Codeowners:
    """Parse CODEOWNERS text; never raises. A file of ``MAX_BYTES`` or more gives no rules (GitHub
    does not load it); a malformed line is skipped and listed in ``errors``."""
    size = len(text) if len(text) >= MAX_BYTES else len(text.encode("utf-8", "surrogatepass"))
    if size >= MAX_BYTES:
        return Codeowners(path, ignored=f"{path} is {size} bytes: GitHub ignores a CODEOWNERS file of 3 MB or more")
    rules: list[Rule] = []
    errors: list[LineError] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r").strip(_SPACE)
        if not line or line.startswith("#"):
            continue
        if line.startswith("\\#"):
            errors.append(
                LineError(number, 1, "Invalid pattern", raw, "escaping # with \\ does not work in CODEOWNERS")
            )
            continue
        tokens = _tokens(line)
        (column, pattern_text), owners = tokens[0], tokens[1:]
        try:
            pattern = compile_pattern(pattern_text)
        except PatternError as exc:
            errors.append(LineError(number, column, "Invalid pattern", raw, str(exc)))
            continue
        bad = next(((c, o) for c, o in owners if not _owner_kind(o)), None)
        if bad is not None:
            errors.append(
                LineError(number, bad[0], "Invalid owner", raw, f"{bad[1][:80]} is not @user, @org/team or an e-mail")
            )
            continue
        rules.append(Rule(number, pattern, tuple(o for _, o in owners)))
    return Codeowners(path, tuple(rules), tuple(errors))


def find(read: Callable[[str], str | None]) -> Codeowners | None:
    """The repository's CODEOWNERS, parsed: the first of ``LOCATIONS`` that ``read`` returns text
    for (the others are never read); None when there is none."""
    for location in LOCATIONS:
        text = read(location)
        if text is not None:
            return parse(text, location)
    return None


@dataclass(frozen=True)
class Reviewers:
    """Who to ask for a review: user logins (no ``@``) and teams as ``org/team-slug``, each sorted
    case-insensitively and free of duplicates (logins and slugs are case-insensitive on GitHub)."""

    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.users or self.teams)

    def without(self, login: str) -> Reviewers:
        """These reviewers minus the user ``login`` (the PR's author: GitHub refuses it with 422)."""
        if not login:
            return self
        return Reviewers(tuple(u for u in self.users if u.lower() != login.lower()), self.teams)

    def names(self) -> list[str]:
        """Users then teams, as written in a PR record: ``alice``, ``@acme/billing``."""
        return [*self.users, *(f"@{t}" for t in self.teams)]


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return tuple(sorted(seen.values(), key=str.lower))


def _reviewers_of(owners: Iterable[str]) -> tuple[Reviewers, tuple[str, ...]]:
    """Owners as written → Reviewers, and the e-mail owners left out."""
    users: list[str] = []
    teams: list[str] = []
    emails: list[str] = []
    for owner in owners:
        kind = _owner_kind(owner)
        if kind == "team":
            teams.append(owner[1:])
        elif kind == "user":
            users.append(owner[1:])
        elif kind == "email":
            emails.append(owner)
    return Reviewers(_unique(users), _unique(teams)), _unique(emails)


def owners_of(changed_paths: Iterable[str], codeowners_text: str | Codeowners | None) -> Reviewers:
    """The code owners of the changed files: the union, over the files, of the owners of the last
    matching line. E-mail owners are left out (the API cannot request them); see ``choose``."""
    return _owners(changed_paths, codeowners_text)[0]


def _owners(
    changed_paths: Iterable[str], codeowners: str | Codeowners | None
) -> tuple[Reviewers, tuple[str, ...], Codeowners | None]:
    parsed = parse(codeowners) if isinstance(codeowners, str) else codeowners
    if parsed is None:
        return Reviewers(), (), None
    owners = [owner for path in changed_paths for owner in parsed.owners_for(path)]
    reviewers, emails = _reviewers_of(owners)
    return reviewers, emails, parsed


def configured_reviewers(names: Sequence[str]) -> tuple[Reviewers, tuple[str, ...]]:
    """A service's ``reviewers`` setting (``alice``, ``@alice``, ``acme/team``, ``@acme/team``) →
    Reviewers, and the entries that are neither (left out)."""
    users: list[str] = []
    teams: list[str] = []
    bad: list[str] = []
    for name in names:
        text = name.strip()
        if m := _CONFIGURED_TEAM.fullmatch(text):
            teams.append(f"{m[1]}/{m[2]}")
        elif m := _CONFIGURED_USER.fullmatch(text):
            users.append(m[1])
        elif text:
            bad.append(text[:80])
    return Reviewers(_unique(users), _unique(teams)), tuple(bad)


@dataclass(frozen=True)
class ReviewerChoice:
    """Who to ask and why: ``source`` is the CODEOWNERS path, ``service`` or ``""`` (nobody)."""

    reviewers: Reviewers
    source: str
    notes: tuple[str, ...] = ()


def choose(
    changed_paths: Sequence[str], codeowners: Codeowners | None, configured: Sequence[str] = ()
) -> ReviewerChoice:
    """The owners of the changed files when CODEOWNERS names any requestable one, else the
    service's configured reviewers. ``notes`` say what was left out and why (e-mail owners,
    malformed lines, an ignored file, bad configured names), so the outcome can record it."""
    notes: list[str] = []
    owners, emails, parsed = _owners(changed_paths, codeowners)
    if parsed is not None:
        if parsed.ignored:
            notes.append(parsed.ignored)
        if parsed.errors:
            shown = "; ".join(str(e) for e in parsed.errors[:3])
            more = f" (+{len(parsed.errors) - 3} more)" if len(parsed.errors) > 3 else ""
            notes.append(f"{parsed.path}: {len(parsed.errors)} malformed line(s) skipped: {shown}{more}")
    if emails:
        notes.append(f"e-mail owners cannot be requested through the API, skipped: {', '.join(emails)}")
    if owners:
        return ReviewerChoice(owners, parsed.path if parsed else "", tuple(notes))
    service, bad = configured_reviewers(configured)
    if bad:
        notes.append(f"configured reviewers that are neither a login nor org/team, skipped: {', '.join(bad)}")
    return ReviewerChoice(service, "service" if service else "", tuple(notes))


@dataclass(frozen=True)
class ReviewRequest:
    """What a pull-request adapter did with a ReviewerChoice: who was requested, who was refused
    (each with GitHub's reason), and notes (skipped before asking)."""

    requested: Reviewers = Reviewers()
    refused: tuple[str, ...] = ()  # "bob: Reviews may only be requested from collaborators…"
    notes: tuple[str, ...] = ()
