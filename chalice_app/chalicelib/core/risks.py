"""Risky additions in a fix: what a reviewer must look at before anything else.

A model fix is a small change to existing code. Some additions have no business in one, and log
text the model read may have been written to steer it there: running processes or shell commands,
evaluating code, loading pickles, importing by name, network calls, decoding base64, reaching
interpreter internals, and characters that make code read differently from what runs (bidi
controls — Trojan Source, CVE-2021-42574 — and other invisible format characters).

Only what the change ADDS counts: for Python, each risky construct of the new file is counted
against the old file (``ast``, with import aliases resolved), so code that was already there is
never blamed; characters are checked on the added lines of the diff. A finding makes the pull
request a draft with a warning section; it does not refuse the fix (the reviewer decides).
"""

from __future__ import annotations

import ast
import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

# Dotted call targets (after alias resolution) → why they are risky. A key ending in "." matches
# every name under that module.
_CALLS = {
    "os.system": "runs a shell command",
    "os.popen": "runs a shell command",
    "os.exec": "replaces the process",
    "os.spawn": "starts a process",
    "os.posix_spawn": "starts a process",
    "os.fork": "starts a process",
    "pty.spawn": "starts a process",
    "subprocess.": "starts a process",
    "eval": "evaluates code",
    "exec": "executes code",
    "compile": "compiles code",
    "__import__": "imports a module by name",
    "importlib.import_module": "imports a module by name",
    "importlib.": "imports code",
    "pickle.load": "loads a pickle (runs code)",
    "pickle.Unpickler": "loads a pickle (runs code)",
    "_pickle.": "loads a pickle (runs code)",
    "cPickle.": "loads a pickle (runs code)",
    "cloudpickle.": "loads a pickle (runs code)",
    "dill.": "loads a pickle (runs code)",
    "jsonpickle.": "loads a pickle (runs code)",
    "shelve.open": "loads a pickle (runs code)",
    "marshal.load": "loads marshalled code",
    "yaml.load": "loads YAML with object construction",
    "yaml.unsafe_load": "loads YAML with object construction",
    "base64.": "decodes or encodes base64",
    "binascii.a2b_base64": "decodes base64",
    "codecs.decode": "decodes encoded data",
    "bytes.fromhex": "decodes hex data",
    "zlib.decompress": "decompresses hidden data",
    "socket.": "opens a network connection",
    "urllib.": "makes a network call",
    "urllib3.": "makes a network call",
    "requests.": "makes a network call",
    "httpx.": "makes a network call",
    "aiohttp.": "makes a network call",
    "http.client.": "makes a network call",
    "ftplib.": "makes a network call",
    "smtplib.": "makes a network call",
    "telnetlib.": "makes a network call",
    "ctypes.": "calls native code",
    "globals": "reaches module globals",
}
# Imports that are findings by themselves (the module's only use is what _CALLS names).
_MODULES = (
    "subprocess", "pty", "pickle", "_pickle", "cPickle", "cloudpickle", "dill", "jsonpickle", "shelve", "marshal",
    "socket", "urllib", "urllib3", "requests", "httpx", "aiohttp", "http.client", "ftplib", "smtplib", "telnetlib",
    "ctypes", "importlib", "base64",
)  # fmt: skip
_DUNDERS = frozenset({"__builtins__", "__subclasses__", "__globals__", "__code__", "__loader__", "__reduce__"})
# Bidi controls (embeddings, overrides, isolates, marks) — Unicode TR 9; every other format
# character (category Cf: zero-width space/joiners, word joiner, BOM inside text…) is named too.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Non-Python files: shell and network idioms on added lines.
_SHELL = re.compile(r"\b(?:curl|wget|nc|ncat|netcat|base64|eval|exec)\b|/dev/tcp/|\|\s*(?:ba|z)?sh\b")


@dataclass(frozen=True)
class Finding:
    """One risky addition: where (1-based line of the new file, 0 if unknown) and what."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path} line {self.line}: {self.what}" if self.line else f"{self.path}: {self.what}"


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name → the dotted name it stands for, from every import of the module."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]  # `import os.path` binds `os`
                names[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _why_call(name: str) -> str:
    for key, why in _CALLS.items():
        # A dotted key also names its variants and members: os.exec → os.execv, pickle.load → pickle.loads.
        if name == key or ("." in key and name.startswith(key)):
            return f"{why} ({name})"
    return ""


def _computed_lookup(node: ast.Call, aliases: Mapping[str, str]) -> bool:
    """``getattr(x, name)`` with a computed name, or on a module (``getattr(os, "system")``)."""
    if _dotted(node.func) != "getattr" or len(node.args) < 2:  # noqa: PLR2004 - getattr(obj, name)
        return False
    target = node.args[0]
    on_module = isinstance(target, ast.Name) and target.id in aliases
    return on_module or not isinstance(node.args[1], ast.Constant)


def _constructs(source: str) -> Iterator[tuple[str, int]]:
    """(description, line) of every risky construct of a Python source."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            head, _, rest = name.partition(".")
            resolved = aliases.get(head, head) + (f".{rest}" if rest else "")
            if why := _why_call(resolved):
                yield why, node.lineno
            elif _computed_lookup(node, aliases):
                yield "looks up an attribute by a computed name (getattr)", node.lineno
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module in _MODULES or module.split(".")[0] in _MODULES:
                    yield f"imports {module}", node.lineno
        elif isinstance(node, ast.Attribute) and node.attr in _DUNDERS:
            yield f"reaches interpreter internals ({node.attr})", node.lineno
        elif isinstance(node, ast.Name) and node.id in _DUNDERS:
            yield f"reaches interpreter internals ({node.id})", node.lineno


def _added_lines(before: str, after: str) -> list[tuple[int, str]]:
    """(1-based line number in ``after``, text) of every line the change added."""
    old, new = before.splitlines(), after.splitlines()
    added: list[tuple[int, str]] = []
    for op, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op in ("replace", "insert"):
            added.extend((n + 1, new[n]) for n in range(j1, j2))
    return added


def _characters(path: str, added: list[tuple[int, str]]) -> Iterator[Finding]:
    for number, text in added:
        seen: set[str] = set()
        for ch in text:
            if ch in seen:
                continue
            if ch in _BIDI:
                kind = "bidi control character"
            elif unicodedata.category(ch) == "Cf":
                kind = "invisible format character"
            else:
                continue
            seen.add(ch)
            yield Finding(path, number, f"{kind} U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip())


def _python(path: str, before: str, after: str, added: list[tuple[int, str]]) -> Iterator[Finding]:
    try:
        old = Counter(what for what, _ in _constructs(before))
    except SyntaxError:
        old = Counter()
    try:
        new = list(_constructs(after))
    except SyntaxError:
        return
    added_numbers = {n for n, _ in added}
    extra = Counter(what for what, _ in new) - old
    for what, count in sorted(extra.items()):
        lines = sorted({line for w, line in new if w == what})
        # Prefer the occurrences on added lines: those are the new ones.
        ordered = [n for n in lines if n in added_numbers] + [n for n in lines if n not in added_numbers]
        for line in ordered[:count]:
            yield Finding(path, line, what)


def scan_change(path: str, before: str, after: str) -> tuple[Finding, ...]:
    """The risky additions of changing ``path`` from ``before`` to ``after``, in line order."""
    added = _added_lines(before, after)
    found = list(_characters(path, added))
    if path.endswith(".py"):
        found += _python(path, before, after, added)
    else:
        found += [Finding(path, n, "shell or network command") for n, text in added if _SHELL.search(text)]
    return tuple(sorted(set(found), key=lambda f: (f.line, f.what)))


def scan_changes(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[Finding, ...]:
    """``scan_change`` over every changed file (``after`` holds the changed files only)."""
    return tuple(f for path in sorted(after) for f in scan_change(path, before.get(path, ""), after[path]))


# --- weakened checks ------------------------------------------------------------------------------
#
# A fix can make an error go away by no longer checking for it: a `raise` or `assert` removed, the
# condition that guards a raise changed or loosened (`if x < 0` → `if x < 0 and strict`), an except
# widened (bare, Exception, BaseException), an error swallowed (`except …: pass`, a `return None`
# or a constant default in an except body, contextlib.suppress), a test deleted. Counted per
# function against the old file (moved code is not blamed); each surplus is a finding. The PR stays
# a draft with the warning even when its checks pass: green CI does not prove a weakened check right.

_BROAD = frozenset({"Exception", "BaseException"})
_TEST_FILE = re.compile(r"(?:^|/)(?:tests?/|test_[^/]*\.py$|[^/]*_test\.py$|conftest\.py$)")


def _scopes(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(qualified name, node) of the module and of every function and class, outermost first."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                yield name, child
                yield from walk(child, f"{name}.")
            else:
                yield from walk(child, prefix)

    yield "<module>", tree
    yield from walk(tree, "")


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``scope`` outside its nested functions and classes."""
    for child in ast.iter_child_nodes(scope):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        yield child
        yield from _own_nodes(child)


def _raises_directly(body: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Raise) for stmt in body for n in [stmt, *_own_nodes(stmt)])


def _broad(handler: ast.ExceptHandler) -> str:
    """'bare', 'Exception' or 'BaseException' when the handler catches that broadly ('' otherwise)."""
    if handler.type is None:
        return "bare"
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for node in names:
        name = _dotted(node).rsplit(".", 1)[-1]
        if name in _BROAD:
            return name
    return ""


def _swallows(handler: ast.ExceptHandler) -> str:
    """How an except body makes the error vanish ('' when it does something else too or re-raises)."""
    body = handler.body
    if _raises_directly(body):
        return ""
    if all(isinstance(s, ast.Pass | ast.Continue) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
           for s in body):  # fmt: skip
        return "swallows the error (except: pass)"
    for stmt in body:
        if isinstance(stmt, ast.Return) and (stmt.value is None or _constant(stmt.value)):
            return "returns a default on the error path (return None / a constant in an except)"
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None and _constant(stmt.value):
            return "sets a default on the error path (a constant assigned in an except)"
    return ""


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
        return not (node.elts if not isinstance(node, ast.Dict) else node.keys)
    return False


def _checks(source: str) -> dict[str, list[tuple[str, int, str]]]:
    """Per scope: (kind, line, detail) of every check-like construct of ``source``."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    out: dict[str, list[tuple[str, int, str]]] = {}
    for name, scope in _scopes(tree):
        found: list[tuple[str, int, str]] = []
        for node in _own_nodes(scope):
            if isinstance(node, ast.Raise):
                found.append(("raise", node.lineno, ""))
            elif isinstance(node, ast.Assert):
                found.append(("assert", node.lineno, ""))
            elif isinstance(node, ast.If) and _raises_directly(node.body):
                found.append(("guard", node.lineno, ast.unparse(node.test)))
            elif isinstance(node, ast.ExceptHandler):
                if broad := _broad(node):
                    found.append(("broad", node.lineno, broad))
                if how := _swallows(node):
                    found.append(("swallow", node.lineno, how))
            elif isinstance(node, ast.Call):
                head, _, rest = _dotted(node.func).partition(".")
                if (aliases.get(head, head) + (f".{rest}" if rest else "")) == "contextlib.suppress":
                    found.append(("swallow", node.lineno, "suppresses errors (contextlib.suppress)"))
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append(("scope", scope.lineno, ""))  # where a finding about the scope points
            if scope.name.startswith("test"):
                found.append(("test", scope.lineno, scope.name))
        out[name] = found
    return out


def _kept_by(old: str, new_guards: list[str]) -> int:
    """The index of a new guard that keeps guard ``old`` — ``old`` itself, or ``old or …`` (which
    raises at least as often) — or -1 when none does (the guard was changed, loosened or removed)."""
    for n, text in enumerate(new_guards):
        if text == old:
            return n
    for n, text in enumerate(new_guards):
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            continue
        either = isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or)
        if either and old in {ast.unparse(v) for v in node.values}:  # type: ignore[attr-defined]
            return n
    return -1


def _weakened_python(path: str, before: str, after: str) -> Iterator[Finding]:  # noqa: C901 - one rule per kind
    try:
        old = _checks(before)
        new = _checks(after)
    except SyntaxError:
        return
    test_file = bool(_TEST_FILE.search(path))
    for scope in sorted(set(old) | set(new)):
        was, now = old.get(scope, []), new.get(scope, [])
        where = next((line for k, line, _ in now if k == "scope"), 0)
        count_old = Counter(k for k, _, _ in was)
        count_new = Counter(k for k, _, _ in now)
        label = "" if scope == "<module>" else f" in {scope}"
        for kind, words in (("raise", "removes a raise"), ("assert", "removes an assert")):
            if count_old[kind] > count_new[kind]:
                yield Finding(path, where, f"weakens a check: {words}{label}")
        new_guards = [d for k, _, d in now if k == "guard"]
        for kind, line, detail in was:
            if kind != "guard":
                continue
            kept = _kept_by(detail, new_guards)
            if kept >= 0:
                new_guards.pop(kept)  # each new guard keeps one old guard
            else:
                yield Finding(path, where or line, f"weakens a check: changes or removes the condition `{detail[:80]}` "
                                                   f"guarding a raise{label}")  # fmt: skip
        broad_old = Counter(d for k, _, d in was if k == "broad")
        for kind, line, detail in now:
            if kind == "broad" and broad_old[detail] <= 0:
                yield Finding(path, line, f"weakens a check: widens an except to {detail}{label}")
            broad_old[detail] -= kind == "broad"
        swallowed = Counter(d for k, _, d in was if k == "swallow")
        for kind, line, detail in now:
            if kind == "swallow" and swallowed[detail] <= 0:
                yield Finding(path, line, f"weakens a check: {detail}{label}")
            swallowed[detail] -= kind == "swallow"
        if test_file and count_old["test"] > count_new["test"]:
            gone = sorted({d for k, _, d in was if k == "test"} - {d for k, _, d in now if k == "test"})
            yield Finding(path, 0, f"weakens a check: deletes a test ({', '.join(gone) or scope})")


def scan_weakening(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[Finding, ...]:
    """The weakened checks of a change (``after`` holds the changed files only), in file and line
    order. Non-Python test files emptied by the change count as a deleted test."""
    found: list[Finding] = []
    for path in sorted(after):
        old, new = before.get(path, ""), after[path]
        if path.endswith(".py"):
            found += _weakened_python(path, old, new)
        elif _TEST_FILE.search(path) and old.strip() and not new.strip():
            found.append(Finding(path, 0, "weakens a check: deletes a test file's content"))
    return tuple(sorted(set(found), key=lambda f: (f.path, f.line, f.what)))
