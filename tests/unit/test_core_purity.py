"""The core stays pure: no AWS SDK, git, GitHub or network imports."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

FORBIDDEN = {"boto3", "botocore", "git", "github", "requests", "urllib3", "http", "socket", "chalice"}


def test_core_modules_import_nothing_that_does_io() -> None:
    offenders = []
    for path in sorted((ROOT / "chalice_app" / "chalicelib" / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
