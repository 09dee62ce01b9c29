"""The command line as a package: the console script ``selfheal`` (pyproject.toml) and
``python scripts/selfheal.py`` run the same ``main`` over the same command tree; that tree is the
**contract**'s (every command and flag, as the argparse command line had them); every command
answers ``--help``; a usage error is one line and exit 2.

In process (``run_cli``), but one subprocess: that the package alone (no shim, another working
directory) finds its helpers and chalicelib, as the installed console script must.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib

import click
import pytest

from tests.cli import run_cli
from tests.conftest import ROOT

# Every command and its parameters (options by their first name, arguments in capitals): the
# commands, flags and arguments README, docs/*.md and ARCHITECTURE.md describe. Extend, don't change.
CONTRACT: dict[str, tuple[str, ...]] = {
    "inspect": ("FILES", "--json", "--explain"),
    "local": (
        "--logs", "--repo", "--model", "--model-id", "--region", "--answer-template", "--path-prefix",
        "--filter-pattern", "--min-occurrences", "--github-url", "--github-token", "--endpoint-url",
        "--test-command", "--repair-rounds", "--stack", "--infra", "--services", "--json", "--state-dir",
    ),
    "status": ("--status", "--service", "--since", "--json", "--endpoint-url", "--table", "--region", "--local",
               "--state-dir"),
    "show": ("FINGERPRINT", "--json", "--endpoint-url", "--table", "--region", "--local", "--state-dir"),
    "retry": ("FINGERPRINT", "--endpoint-url", "--table", "--region", "--local", "--state-dir"),
    "configure": (
        "--repo-url", "--model-id", "--github-token", "--ssh-key-file", "--known-hosts-file", "--github-url",
        "--labels", "--min-occurrences", "--path-prefixes", "--allowed-paths", "--context-tokens", "--services",
        "--repo-secrets-for", "--webhook-secret", "--generate-webhook-secret", "--prefix", "--kms-key-id",
        "--non-interactive", "--endpoint-url", "--region",
    ),
    "delete-parameters": ("--prefix", "--yes", "--endpoint-url", "--region"),
    "package": ("--stage",),
    "deploy": ("--stage", "--auto-approve", "--var", "--endpoint-url"),
    "destroy": ("--stage", "--auto-approve", "--var"),
    "runbooks plan": ("FILES", "--catalog", "--json", "--account", "--region"),
    "runbooks catalog": ("--catalog",),
    "runbooks list": ("--catalog", "--endpoint-url", "--region", "--governor-table", "--prefix", "--json"),
    "runbooks stats": ("--since", "--until", "--endpoint-url", "--region", "--governor-table", "--prefix", "--json",
                       "--local", "--state-dir"),
    "actions": ("SHOW", "ACTION_ID", "--runbook", "--resource", "--decision", "--limit", "--endpoint-url", "--region",
                "--governor-table", "--prefix", "--json", "--local", "--state-dir"),
    "approve": ("ACTION_ID", "--endpoint-url", "--region", "--governor-table", "--prefix", "--json", "--digest",
                "--functions", "--in-process", "--local", "--state-dir"),
    "deny": ("ACTION_ID", "--endpoint-url", "--region", "--governor-table", "--prefix", "--json", "--functions",
             "--in-process", "--local", "--state-dir"),
    "resume": ("RESOURCE_ID", "--endpoint-url", "--region", "--governor-table", "--prefix", "--json", "--local",
               "--state-dir"),
    "kill-switch": ("STATE", "--endpoint-url", "--region", "--governor-table", "--prefix", "--json", "--local",
                    "--state-dir"),
    "redact": ("FILES",),
    "localize": ("TRACE_FILE", "--repo", "--json", "--path-prefix", "--budget"),
    "fixes stats": ("--since", "--json", "--price", "--endpoint-url", "--table", "--region"),
}  # fmt: skip


def command_tree(command: click.Command, path: tuple[str, ...] = ()) -> dict[str, frozenset[str]]:
    """Every runnable command under ``command`` (by its path) with the names of its parameters."""
    if isinstance(command, click.Group):
        tree: dict[str, frozenset[str]] = {}
        for name, sub in command.commands.items():
            tree.update(command_tree(sub, (*path, name)))
        return tree
    names = {p.opts[0] if isinstance(p, click.Option) else str(p.name).upper() for p in command.params}
    return {" ".join(path): frozenset(names - {"--help"})}


def entry_point() -> object:
    """The object pyproject.toml's ``selfheal`` console script calls."""
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["selfheal"]
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def test_the_console_script_and_the_shim_run_the_same_main() -> None:
    import selfheal  # scripts/selfheal.py, the shim

    from selfheal_cli.main import main

    assert entry_point() is main
    assert selfheal.main is main


def test_the_command_tree_is_the_contracts() -> None:
    from selfheal_cli.main import cli

    tree = command_tree(cli)
    assert set(tree) == set(CONTRACT)
    for path, params in CONTRACT.items():
        assert tree[path] == frozenset(params), path


@pytest.mark.parametrize("path", ["", "runbooks", "fixes", *CONTRACT])
def test_every_command_answers_help(path: str) -> None:
    done = run_cli(*path.split(), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Usage: {' '.join(['selfheal', *path.split()])} ")
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ((), "selfheal: Missing command. (see selfheal --help)"),
        (("runbooks",), "selfheal runbooks: Missing command. (see selfheal runbooks --help)"),
        (("inspect", "--nope"), "selfheal inspect: unrecognized arguments: --nope (see selfheal inspect --help)"),
        (("localize", "t.log"), "selfheal localize: the following arguments are required: --repo"),
        (("kill-switch", "maybe"), "selfheal kill-switch: Invalid value for '{on|off|status}'"),
        (("local", "--repair-rounds", "4"), "selfheal local: Invalid value for '--repair-rounds'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(argv: tuple[str, ...], says: str) -> None:
    done = run_cli(*argv)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(says), done.stderr


def test_a_unique_prefix_of_a_long_option_is_that_option_as_argparse_took_it() -> None:
    from selfheal_cli.common import expand_prefixes

    names = ["--status", "--state-dir", "--service", "--json"]
    assert expand_prefixes(["--serv=x", "--js", "GROUP", "--", "--js"], names) == [
        "--service=x", "--json", "GROUP", "--", "--js"]  # fmt: skip
    assert expand_prefixes(["--status", "--nope"], names) == ["--status", "--nope"]
    with pytest.raises(ValueError, match="--stat could match --status, --state-dir"):
        expand_prefixes(["--stat"], names)


def test_an_abbreviated_option_runs_the_command_as_the_full_one() -> None:
    log = str(ROOT / "scripts" / "sample_app" / "logs" / "app.log")
    full, short = run_cli("inspect", "--json", log), run_cli("inspect", "--js", log)
    assert full.returncode == short.returncode == 0
    assert short.stdout == full.stdout and '"tracebacks"' in full.stdout
    ambiguous = run_cli("status", "--stat", "NEW")
    assert ambiguous.returncode == 2
    assert ambiguous.stderr == (
        "selfheal status: ambiguous option: --stat could match --status, --state-dir (see selfheal status --help)\n"
    )


def test_the_package_alone_finds_its_helpers_and_chalicelib(tmp_path) -> None:
    """What the installed console script relies on: importing selfheal_cli from elsewhere (no shim,
    no scripts/ on the path) makes the helper modules and chalicelib importable."""
    code = (
        "import selfheal_cli.main, package, local_mode, chalicelib.core.fingerprint, sys;"
        "sys.exit(selfheal_cli.main.main(['runbooks', 'catalog']))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert '"runbooks": [' in done.stdout
