"""`selfheal local`: the whole pipeline on this machine (docs/local.md).

``local [--logs FILE --repo PATH] [--model replay:FILE | --model-id ID] [--json]`` runs the sample
app (or your logs and repository) through the deployed handlers on an embedded moto server;
``--services FILE`` does it for several services; ``--answer-template GROUP`` prints a replay answer
to fill in; ``--infra`` runs a scripted infrastructure incident through the remediators. The stack
is kept in the state directory for the commands given ``--local``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chalicelib.errors import SelfHealError
from selfheal_cli.common import Command, env_default, fail, run, state_dir
from selfheal_cli.inspect_logs import SAMPLE_APP, SAMPLE_LOGS

if TYPE_CHECKING:
    import argparse


def cmd_local(args: argparse.Namespace) -> int:
    """The whole pipeline on this machine (or --infra, --services, --answer-template); its summary."""
    import tempfile

    if args.infra:
        return _local_infra(args)
    if args.services:
        from local_inputs import services_problem
        from local_services import cmd_local_services

        if problem := services_problem(args.services):
            return fail("local", problem)
        return cmd_local_services(args)
    from local_inputs import local_problem

    if args.repo and Path(args.repo).expanduser().exists():  # `.`, `shop`: a path, whatever it looks like
        args.repo = str(Path(args.repo).expanduser().resolve())
    if problem := local_problem(args):
        return fail("local", problem)
    if args.answer_template:
        from local_answers import answer_template

        return answer_template(args)

    from local_mode import commit_sample_app, stderr, summary, table

    logs = [Path(p) for p in args.logs] or [SAMPLE_LOGS / "app.log"]
    repo = args.repo or str(commit_sample_app(Path(tempfile.mkdtemp(prefix="selfheal-sample-")) / "shop"))
    model = args.model_id or args.model or f"replay:{SAMPLE_APP / 'replay.json'}"
    if not args.repo:
        stderr(f"repository: the bundled sample app, committed to {repo}")
    # Everything but the summary goes to stderr, whoever writes it (moto, terraform): stdout at the
    # descriptor level points at stderr while the pipeline runs.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        groups = _run_local(args, logs, repo, model)
    except SelfHealError as exc:
        return fail("local", str(exc), 1)
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    stderr(
        f"state kept in {state_dir(args)}: selfheal status --local, show --local GROUP, retry --local GROUP; "
        "the next local run on this repository continues from it"
    )
    if args.json:
        print(json.dumps(summary(groups), indent=2))
    else:
        print(table(groups))
    return 0


def _local_infra(args: argparse.Namespace) -> int:
    from local_infra import run_infra
    from local_mode import quiet, stderr
    from operate_cli import render_actions

    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        seen, audit = _run_infra_kept(args, run_infra, quiet if args.json else stderr)  # progress
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    doc = seen.summary()
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(render_actions(audit))
        peaks = ", ".join(f"{fleet} {v['peak']}/{v['limit']}" for fleet, v in doc["in_flight"].items())
        print(f"\nnotifications published: {doc['notifications']}; escalations: {doc['escalations']}; "
              f"peak in flight (limit): {peaks or '-'}")  # fmt: skip
        _print_stats(seen.healing)
    return 0


def _print_stats(stats: Any) -> None:
    """The incident's healing statistics, as `runbooks stats` prints them."""
    from chalicelib.core.heal_stats import render

    if stats is not None:
        last = stats.days[-1] if stats.days else "-"
        print(f"\nhealing statistics (`selfheal runbooks stats --local --until {last}`):")
        print(render(stats))


def _run_infra_kept(args: argparse.Namespace, run_infra: Any, say: Any) -> Any:
    """The incident on an embedded server (or ``--endpoint-url``), its stack kept in the state
    directory for ``actions --local``, ``approve --local``, ``kill-switch --local``."""
    if args.endpoint_url:
        return run_infra(args.endpoint_url, say)
    from local_stack import local_aws
    from local_state import save_infra

    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.settings import Settings

    with local_aws("", say) as endpoint:
        result = run_infra(endpoint, say)
        clients = Clients(Settings(endpoint_url=endpoint))
        tables = clients.dynamodb.list_tables().get("TableNames", [])
        governor = next((t for t in tables if t.startswith("selfheal-governor")), "")
        catalogs = [p["Name"] for p in clients.ssm.describe_parameters()["Parameters"]]
        prefix = next((n.removesuffix("runbooks/catalog") for n in catalogs if n.endswith("/runbooks/catalog")), "")
        directory = save_infra(state_dir(args), clients, governor, prefix)
    print(
        f"state kept in {directory}: selfheal actions --local, approve --local ID, kill-switch --local status",
        file=sys.stderr,
    )  # a notice: kept under --json
    return result


def _run_local(args: argparse.Namespace, logs: list[Path], repo: str, model: str) -> list[Any]:
    from local_mode import DEFAULT_PATTERN, LocalRun, quiet, run, stderr

    return run(
        LocalRun(
            logs=logs,
            repo=repo,
            model=model,
            path_prefixes=args.path_prefix,
            filter_pattern=DEFAULT_PATTERN if args.filter_pattern is None else args.filter_pattern,
            endpoint_url=args.endpoint_url or "",
            github_url=args.github_url or "",
            github_token=args.github_token or "",
            min_occurrences=args.min_occurrences,
            stack=args.stack,
            region=args.region or "",
            state_dir=str(state_dir(args)),
            test_command=args.test_command or "",
            repair_rounds=args.repair_rounds,
        ),
        quiet if args.json else stderr,  # progress: quiet under --json
        stderr,  # notices (the replay model, moved times, the earlier run's state) and errors
    )


@click.command(
    cls=Command,
    name="local",
    short_help="run the whole pipeline on this machine",
    help="Embedded moto server (or --endpoint-url), the stack through boto3, your logs into a "
    "CloudWatch log group, and the deployed handlers driven until the fix queue drains. With no "
    "options: the bundled sample app, its logs and its recorded model answers.",
)
@click.option("--logs", multiple=True, metavar="FILE", help="log file (repeatable)")
@click.option("--repo", help="local path (work tree or bare), owner/name, or git URL")
@click.option("--model", help="replay:FILE (recorded Converse answers) or a Bedrock model id")
@click.option(
    "--model-id",
    help="Bedrock model or inference profile id: the real Bedrock, with your AWS credentials and region "
    "(everything else stays local)",
)
@click.option("--region", help="AWS region of --model-id (default: AWS_REGION or your AWS configuration)")
@click.option(
    "--answer-template",
    metavar="FINGERPRINT",
    help="print a replay answer to fill in for this group of --logs (any unique prefix), and the code it "
    "would be shown; nothing runs",
)
@click.option("--path-prefix", multiple=True, help="deployment prefix to strip from paths (repeatable)")
@click.option("--filter-pattern", default=None, help="subscription filter pattern (text patterns)")
@click.option("--min-occurrences", type=int, default=1, show_default=True, help="fix a group only after this many")
@click.option("--github-url", help="GitHub(-compatible) API base URL for PRs")
@click.option("--github-token", default=env_default("GITHUB_TOKEN"), help="token (default $GITHUB_TOKEN)")
@click.option("--endpoint-url", help="use this AWS endpoint instead of an embedded moto server")
@click.option("--test-command", metavar="CMD", help="run CMD in a worktree of each fix branch: its checks")
@click.option(
    "--repair-rounds", type=click.IntRange(0, 3), default=1, show_default=True, help="repairs after red checks (0-3)"
)
@click.option(
    "--stack",
    type=click.Choice(["boto3", "terraform"]),
    default="boto3",
    show_default=True,
    help="create the resources through boto3 (fast) or by applying terraform/ (the real deployment)",
)
@click.option(
    "--infra",
    is_flag=True,
    help="instead: a scripted infrastructure incident through the remediators (runbooks, governor, approval)",
)
@click.option(
    "--services", metavar="FILE", help='several services at once: {"services": [{"name", "logs", "repo", "model"}]}'
)
@click.option("--json", is_flag=True, help="print the summary as JSON (contract shape)")
@click.option("--state-dir", help="where the run's stack is kept (default $SELFHEAL_STATE_DIR or ~/.selfheal/local)")
def local(**params: Any) -> int:
    return run("local", cmd_local, params)
