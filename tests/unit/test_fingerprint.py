"""Grouping: what makes two tracebacks the same bug, and what keeps them apart."""

from __future__ import annotations

import re

from chalicelib.core.fingerprint import (
    collapse_recursion,
    fingerprint,
    grouping,
    module_key,
    normalize_message,
)
from chalicelib.core.frames import is_in_app
from chalicelib.core.tracebacks import find_in_text

TEMPLATE = """\
Traceback (most recent call last):
  File "{root}/app/handler.py", line {a}, in handle
    return orders.total(event)
  File "{lib}/requests/api.py", line 59, in get
    return request("get", url)
  File "{root}/app/orders.py", line {b}, in total
    return price / count
ZeroDivisionError: {msg}
"""


def fp(**kw) -> str:
    values = {"root": "/var/task", "lib": "/var/task", "a": 10, "b": 20, "msg": "division by zero"} | kw
    [tb] = find_in_text(TEMPLATE.format(**values))
    return fingerprint(tb)


def test_fingerprint_is_32_hex_chars() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", fp())


def test_same_bug_groups_across_hosts_releases_and_line_shifts() -> None:
    base = fp()
    assert fp(root="/home/deploy/releases/r42", a=11, b=31) == base
    assert fp(root="/srv/app/src") == base
    assert fp(msg="division by zero for order 7 at 0x7f3a2b") == fp(msg="division by zero for order 9 at 0x11")


def test_library_frames_do_not_count_when_in_app_frames_exist() -> None:
    assert fp(lib="/var/lang/lib/python3.12/site-packages") == fp(lib="/opt/python/lib/python3.9/site-packages")


def test_different_raise_site_or_type_differs() -> None:
    [tb] = find_in_text(TEMPLATE.format(root="/x", lib="/x", a=1, b=2, msg="m"))
    other_type = find_in_text(
        TEMPLATE.replace("ZeroDivisionError", "ValueError").format(root="/x", lib="/x", a=1, b=2, msg="m")
    )[0]
    other_site = find_in_text(
        TEMPLATE.replace("price / count", "price / qty").format(root="/x", lib="/x", a=1, b=2, msg="m")
    )[0]
    assert len({fingerprint(tb), fingerprint(other_type), fingerprint(other_site)}) == 3


def test_message_counts_only_without_frames() -> None:
    a = find_in_text("Traceback (most recent call last):\nValueError: order 7 failed at 10.0.0.1")
    b = find_in_text("Traceback (most recent call last):\nValueError: order 9 failed at 10.0.0.2")
    c = find_in_text("Traceback (most recent call last):\nValueError: payment declined")
    assert fingerprint(a[0]) == fingerprint(b[0]) != fingerprint(c[0])


def test_components_explain_the_grouping() -> None:
    [tb] = find_in_text(TEMPLATE.format(root="/var/task", lib="/x/site-packages", a=1, b=2, msg="m"))
    result = grouping(tb)
    contributing = [c.name for c in result.components if c.contributes]
    assert contributing == ["final.type", "final.frame", "final.frame"]
    assert any(c.hint == "library frame" and not c.contributes for c in result.components)
    assert result.raw_fingerprint != result.fingerprint


def test_raw_fingerprint_changes_with_any_byte_but_grouping_does_not() -> None:
    [a] = find_in_text(TEMPLATE.format(root="/var/task", lib="/l", a=1, b=2, msg="m"))
    [b] = find_in_text(TEMPLATE.format(root="/var/task", lib="/l", a=1, b=3, msg="m"))
    assert grouping(a).raw_fingerprint != grouping(b).raw_fingerprint
    assert grouping(a).fingerprint == grouping(b).fingerprint


def test_in_app_classification() -> None:
    assert is_in_app("/var/task/app/orders.py")
    assert is_in_app("<stdin>")
    assert not is_in_app("/var/lang/lib/python3.12/json/decoder.py")
    assert not is_in_app("/usr/local/lib/python3.11/site-packages/requests/api.py")
    assert not is_in_app("<frozen importlib._bootstrap>")
    assert not is_in_app("/var/runtime/bootstrap.py")
    # an environment is a library; a project or package that is only *named* like one is code
    assert not is_in_app("/srv/app/.venv/bin/gunicorn")
    assert not is_in_app("/home/me/.virtualenvs/shop/lib/python3.8/site-packages/flask/app.py")
    assert not is_in_app("C:\\proj\\venv\\Scripts\\pytest.exe\\__main__.py")
    assert is_in_app("/var/task/virtualenv/builders/base.py")
    assert is_in_app("/home/me/src/virtualenv/src/virtualenv/run/__init__.py")
    assert is_in_app("/srv/tools/venv/create.py")
    # the system's Python is a library; an application a distribution installs beside it is code
    assert not is_in_app("/usr/lib/python2.7/os.py")
    assert not is_in_app("/usr/lib/python3/dist-packages/yaml/__init__.py")
    assert not is_in_app("/usr/lib/pymodules/python2.7/gtk/__init__.py")
    assert not is_in_app("/usr/share/pyshared/twisted/internet/base.py")
    assert not is_in_app("/usr/lib/python3.13t/json/decoder.py")
    assert not is_in_app("/usr/lib/pypy3/lib-python/3/os.py")
    assert not is_in_app("/usr/lib/pypy/lib_pypy/_functools.py")
    assert not is_in_app("/usr/lib/jython/Lib/os.py")
    assert not is_in_app("/usr/lib/site-python/yaml/__init__.py")
    assert is_in_app("/usr/lib/picard/picard/collection.py")
    assert is_in_app("/usr/share/pyload/module/PluginThread.py")


def test_a_distributions_application_under_usr_lib_groups_by_its_own_frames() -> None:
    # grouping version 3: /usr/lib/picard/ is the application, /usr/lib/python2.7/ the system's Python
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/picard/picard/file.py", line 197, in _save_and_rename\n'
        "    self._save_images(dirname, metadata)\n"
        '  File "/usr/lib/python2.7/os.py", line 157, in makedirs\n'
        "    mkdir(name, mode)\n"
        "OSError: [Errno 13] Permission denied: 'D_'\n"
    )
    [tb] = find_in_text(trace)
    frames = [c for c in grouping(tb).components if "frame" in c.name]
    assert [(c.contributes, c.hint) for c in frames] == [(True, "in-app frame"), (False, "library frame")]
    # a release moving the system's Python keeps the group; the application's frame decides it
    [moved] = find_in_text(trace.replace('python2.7/os.py", line 157', 'python2.7/os.py", line 160'))
    assert fingerprint(moved) == fingerprint(tb)


def test_module_key_drops_deployment_roots() -> None:
    assert module_key("/var/task/service/worker.py") == module_key("/srv/app/src/orders/worker.py") == "worker"
    assert module_key("/app/models/__init__.py") == "models/__init__"


def test_recursion_collapses_direct_and_mutual() -> None:
    assert collapse_recursion(["m", "f", "f", "f", "f"]) == ["m", "f"]
    assert collapse_recursion(["m", "a", "b", "a", "b", "a", "b", "a"]) == ["m", "a", "b", "a"]


def test_message_variables_are_normalized() -> None:
    text = "user 42 id 1b4e28ba-2fa1-11d2-883f-0016d3cca427 at 10.1.2.3:8080 'x' /tmp/a/b.txt a@b.io 0xdeadbeef"
    assert normalize_message(text) == "user <num> id <uuid> at <ip> <str> <path> <redacted:email> <hex>"
