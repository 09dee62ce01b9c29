"""docs/configuration.md lists every SELFHEAL_* variable the code reads, and only those.

The names are found by text in chalice_app/, scripts/ and selfheal_cli/ (every file, Python and JSON), which works
because each name is written out (adapters/settings.py keeps one ``ENV_*`` constant per Settings
field instead of deriving the names).
"""

from __future__ import annotations

import dataclasses
import re

from chalicelib.adapters.settings import ENV_NAMES, ENV_PREFIX, Settings
from tests.conftest import ROOT

DOC = ROOT / "docs" / "configuration.md"
NAME = re.compile(r"\bSELFHEAL_[A-Z0-9_]*[A-Z0-9]\b")
# A table row: | `SELFHEAL_X` | source | default | read by |
ROW = re.compile(r"^\| `(SELFHEAL_[A-Z0-9_]+)` \| (?P<source>[^|]+) \| (?P<default>[^|]+) \| [^|]+ \|$", re.M)


def names_in(*folders: str) -> dict[str, set[str]]:
    """Every SELFHEAL_* name in the files under ``folders``, with the files that name it."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".json"} and "__pycache__" not in path.parts:
                for name in NAME.findall(path.read_text(errors="replace")):
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def documented() -> dict[str, re.Match[str]]:
    return {m.group(1): m for m in ROW.finditer(DOC.read_text())}


def test_every_settings_field_has_its_written_out_name() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert set(ENV_NAMES) == fields
    # The deployed names are a contract: SELFHEAL_<FIELD>, as Terraform and the package step write them.
    assert {field: ENV_PREFIX + field.upper() for field in fields} == ENV_NAMES
    assert Settings.from_env({ENV_NAMES["fetch_lines"]: "7"}).fetch_lines == 7


def test_every_variable_the_code_reads_is_documented() -> None:
    read = names_in("chalice_app", "scripts", "selfheal_cli")
    assert len(read) > 20
    missing = {name: sorted(files) for name, files in read.items() if name not in documented()}
    assert missing == {}


def test_every_documented_variable_is_read_somewhere() -> None:
    read = names_in("chalice_app", "scripts", "selfheal_cli", "tests")
    assert sorted(set(documented()) - set(read)) == []


def test_the_documented_defaults_are_the_settings_defaults() -> None:
    rows = documented()
    for f in dataclasses.fields(Settings):
        cell = rows[ENV_NAMES[f.name]].group("default").strip()
        assert cell == ("(empty)" if f.default == "" else f"`{f.default}`"), f.name
