#!/usr/bin/env python3
"""selfheal command line: ``python scripts/selfheal.py COMMAND ...``.

Commands:
  inspect FILE... [--json] [--explain]   find and group the Python tracebacks in log files
  local [--logs FILE --repo PATH] [--model replay:FILE | --model-id ID [--region R]] [--state-dir D] [--json]
                                         run the whole pipeline on this machine (docs/local.md); the stack
                                         is kept for the commands given --local
  local --logs FILE --repo PATH --answer-template GROUP   a replay answer to fill in for one group
  local --services FILE [--json]         the same for several services, each its own log group and repository
  status [--status S] [--service S] [--since 2d] [--local] [--json]
                                         error groups of a deployed (or --endpoint-url, or --local) stack
  show GROUP [--local] [--json]          one group whole (any unique prefix of its fingerprint)
  retry FINGERPRINT [--local]            re-open a FAILED / SKIPPED / PR_OPENED / REJECTED / REGRESSED group
                                         (or a stuck FIXING one)
  configure [--repo-url …] [--non-interactive]   settings and secrets into SSM (SecureString)
  delete-parameters [--yes]              remove them (asks first; never what Terraform manages)
  package [--stage dev]                  chalice package → terraform/ (post-processed)
  deploy [--auto-approve] [--var k=v] [--endpoint-url URL]   package + terraform init + apply, then next steps
  destroy [--auto-approve]               terraform destroy with the variables deploy applied
  runbooks plan EVENT_FILE... [--catalog FILE] [--json]   what the runbooks would do (no AWS call)
  runbooks list                          the catalog: enabled / dry-run, trigger, limits, approval
  runbooks stats [--since 7d] [--json]   acted, healed, escalated, success rate, time to heal per runbook and layer
  actions / approve / deny / resume / kill-switch    the runbooks' operations (--json for scripts, --local)
  local --infra [--json]                 a scripted infrastructure incident through the remediators
  redact [FILE...]                       print text as it may leave the account (secrets replaced)
  localize TRACE_FILE --repo DIR [--json]  the code a fix would be shown for one traceback (no AWS)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chalice_app"))
sys.path.insert(0, str(ROOT / "scripts"))

from chalicelib.core.fingerprint import grouping, is_in_app, repeats  # noqa: E402
from chalicelib.core.log_files import read_tracebacks  # noqa: E402
from chalicelib.errors import PayloadError, SelfHealError  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.models import Traceback

SAMPLE_APP = ROOT / "scripts" / "sample_app"
SAMPLE_LOGS = SAMPLE_APP / "logs"


def traceback_json(tb: Traceback, source: str) -> dict[str, object]:
    """One traceback in the ``inspect --json`` contract shape."""
    final = tb.final
    return {
        "fingerprint": grouping(tb).fingerprint,
        "exception_type": final.type,
        "exception_message": final.message,
        "frames": [{"file": f.file, "line": f.line, "function": f.function} for f in final.frames],
        "chain": [{"exception_type": e.type, "exception_message": e.message} for e in tb.exceptions],
        "source": source,
    }


def culprit(tb: Traceback) -> str:
    """The innermost in-app frame of the final exception (where the bug most likely is)."""
    frames = tb.final.frames
    in_app = [f for f in frames if is_in_app(f.file)] or list(frames)
    if not in_app:
        loc = tb.final.syntax_error
        return f"{Path(loc.file).name}:{loc.line}" if loc else "-"
    frame = in_app[-1]
    return f"{Path(frame.file).name} in {frame.function}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(found: list[tuple[Traceback, str]], explain: bool, repeated: Sequence[bool] = ()) -> None:
    """The groups, each with its failures (COUNT: records of one failure count once)."""
    groups: dict[str, list[tuple[Traceback, str]]] = {}
    counts: dict[str, int] = {}
    for n, (tb, source) in enumerate(found):
        fp = grouping(tb).fingerprint
        groups.setdefault(fp, []).append((tb, source))
        counts[fp] = counts.get(fp, 0) + (0 if n < len(repeated) and repeated[n] else 1)
    failures = sum(counts.values())
    of = f" of {failures} failure(s)" if failures != len(found) else ""
    print(f"{len(found)} traceback(s){of} in {len(groups)} group(s)")
    if not groups:
        return
    print(f"{'GROUP':<12}  {'COUNT':>5}  {'EXCEPTION':<58}  CULPRIT")
    for fp, members in sorted(groups.items(), key=lambda kv: -counts[kv[0]]):
        tb = members[0][0]
        exc = f"{tb.final.type}: {tb.final.message}" if tb.final.message else tb.final.type
        flag = " (truncated)" if any(m[0].truncated for m in members) else ""
        print(f"{fp[:12]:<12}  {counts[fp]:>5}  {_clip(exc, 58):<58}  {culprit(tb)}{flag}")
        if explain:
            for c in grouping(tb).components:
                mark = "+" if c.contributes else " "
                hint = f"  ({c.hint})" if c.hint else ""
                print(f"      {mark} {c.name} = {_clip(c.value, 90)}{hint}")
            print(f"      seen at: {', '.join(s for _, s in members[:5])}{' …' if len(members) > 5 else ''}")
            if len(members) != counts[fp]:
                print(f"      records: {len(members)} for {counts[fp]} failure(s) (records of one failure count once)")
            reasons = sorted({m[0].truncated_reason for m in members if m[0].truncated_reason})
            for reason in reasons:
                print(f"      truncated: {reason}")


def cmd_inspect(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.files] or sorted(SAMPLE_LOGS.iterdir())
    found: list[tuple[Traceback, str]] = []
    repeated: list[bool] = []
    failed = 0
    for path in paths:
        try:
            data = path.read_bytes()
            tracebacks = read_tracebacks(data)
        except (OSError, PayloadError) as exc:
            print(f"selfheal inspect: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        found.extend((tb, f"{path}:{tb.origin}") for tb in tracebacks)
        repeated.extend(repeats(tracebacks, [grouping(tb).fingerprint for tb in tracebacks]))
    if args.json:
        doc = {"tracebacks": [traceback_json(tb, source) for tb, source in found]}
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_table(found, args.explain, repeated)
    return 1 if failed else 0


def _fail(command: str, problem: str, code: int = 2) -> int:
    """One line on stderr saying what is wrong and what to do; the exit code."""
    print(f"selfheal {command}: {problem}", file=sys.stderr)
    return code


def cmd_local(args: argparse.Namespace) -> int:
    import tempfile

    if args.infra:
        return _local_infra(args)
    if args.services:
        from local_inputs import services_problem
        from local_services import cmd_local_services

        if problem := services_problem(args.services):
            return _fail("local", problem)
        return cmd_local_services(args)
    from local_inputs import local_problem

    if args.repo and Path(args.repo).expanduser().exists():  # `.`, `shop`: a path, whatever it looks like
        args.repo = str(Path(args.repo).expanduser().resolve())
    if problem := local_problem(args):
        return _fail("local", problem)
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
        return _fail("local", str(exc), 1)
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    stderr(
        f"state kept in {_state_dir(args)}: selfheal status --local, show --local GROUP, retry --local GROUP; "
        "the next local run on this repository continues from it"
    )
    if args.json:
        print(json.dumps(summary(groups), indent=2))
    else:
        print(table(groups))
    return 0


def _state_dir(args: argparse.Namespace) -> Path:
    from local_state import state_dir

    return state_dir(getattr(args, "state_dir", None))


# Commands that read a local run's state with --local; those that write to it save it back.
STATE_READERS = ("status", "show", "retry", "actions", "approve", "deny", "resume", "kill-switch")
STATE_WRITERS = frozenset({"retry", "approve", "deny", "resume", "kill-switch"})


def _with_local_state(args: argparse.Namespace) -> int:
    """Run the command against the stack a `local` run kept (scripts/local_state.py)."""
    from local_mode import stderr
    from local_state import opened

    if getattr(args, "endpoint_url", None):
        return _fail(args.command, "give --local (the last local run's stack) or --endpoint-url, not both")
    try:
        with opened(_state_dir(args), args.command in STATE_WRITERS, stderr):
            return int(args.func(args))
    except LookupError as exc:
        return _fail(args.command, str(exc.args[0]))


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
        directory = save_infra(_state_dir(args), clients, governor, prefix)
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
            state_dir=str(_state_dir(args)),
            test_command=args.test_command or "",
            repair_rounds=args.repair_rounds,
        ),
        quiet if args.json else stderr,  # progress: quiet under --json
        stderr,  # notices (the replay model, moved times, the earlier run's state) and errors
    )


def _store(args: argparse.Namespace) -> Any:
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.settings import Settings
    from chalicelib.adapters.store import ErrorGroupStore

    settings = Settings.from_env(os.environ, endpoint_url=args.endpoint_url, table_name=args.table, region=args.region)
    return ErrorGroupStore(Clients(settings).dynamodb, settings.table_name)


def cmd_status(args: argparse.Namespace) -> int:
    import time

    from status_view import since_ms, status_document, status_table

    groups = _store(args).scan(args.status, service=args.service)
    if args.since:
        try:
            start = since_ms(args.since, int(time.time() * 1000))
        except ValueError as exc:
            return _fail("status", str(exc))
        groups = [g for g in groups if g.last_seen >= start]
    print(json.dumps(status_document(groups), indent=2) if args.json else status_table(groups))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from status_view import show_document, show_text

    prefix = args.fingerprint.lower()
    matches = [g for g in _store(args).scan() if g.fingerprint.startswith(prefix)]
    if len(matches) != 1:
        which = ", ".join(g.fingerprint[:12] for g in matches[:10])
        more = f": {which}" if matches else " (selfheal status lists them)"
        return _fail("show", f"{len(matches)} groups match {args.fingerprint!r}{more}")
    group = matches[0]
    print(json.dumps(show_document(group), indent=2, default=list) if args.json else show_text(group))
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    import time

    from chalicelib.core.models import Status
    from chalicelib.errors import InvalidTransition

    store = _store(args)
    matches = [g for g in store.scan() if g.fingerprint.startswith(args.fingerprint)]
    if len(matches) != 1:
        names = ", ".join(sorted(g.fingerprint for g in matches)[:8]) + (" …" if len(matches) > 8 else "")
        print(f"selfheal retry: {len(matches)} groups match {args.fingerprint!r}{': ' + names if names else ''}",
              file=sys.stderr)  # fmt: skip
        return 2
    if not matches[0].service:  # a log group of no service (adapters/store.py record_unrouted)
        print(f"selfheal retry: {matches[0].reason}; nothing to fix", file=sys.stderr)
        return 2
    now = int(time.time() * 1000)
    try:
        group = store.reopen(matches[0].fingerprint, now, reason="re-opened by selfheal retry")
    except InvalidTransition as exc:
        current = exc.group
        if current is not None and current.status == Status.FIXING:
            left = max(0, (current.lease_until - now) // 1000)
            print(
                f"selfheal retry: group {current.fingerprint} is being fixed (lease held by {current.lease_owner} "
                f"for {left} s more); retry it after the lease expires",
                file=sys.stderr,
            )
        else:
            print(f"selfheal retry: {exc}", file=sys.stderr)
        return 2
    print(f"{group.fingerprint} ({group.service}) re-opened: the stream turns it into a fix job")
    return 0


def _ssm(args: argparse.Namespace) -> Any:
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.settings import Settings

    settings = Settings.from_env(os.environ, endpoint_url=args.endpoint_url, region=args.region)
    return Clients(settings).ssm


def cmd_configure(args: argparse.Namespace) -> int:
    import configure

    ssm = _ssm(args)
    if args.services or args.repo_secrets_for:
        from configure_services import configure_services

        return configure_services(args, ssm)
    for option, path in (("--ssh-key-file", args.ssh_key_file), ("--known-hosts-file", args.known_hosts_file)):
        if path and not Path(path).expanduser().is_file():
            return _fail("configure", f"{option} {path} is not a readable file")
    given = {
        "repo_url": args.repo_url,
        "model_id": args.model_id,
        "github_token": args.github_token,
        "ssh_private_key": Path(args.ssh_key_file).expanduser().read_text() if args.ssh_key_file else None,
        "known_hosts": Path(args.known_hosts_file).expanduser().read_text() if args.known_hosts_file else None,
        "github_url": args.github_url,
        "labels": args.labels,
        "min_occurrences": str(args.min_occurrences) if args.min_occurrences is not None else None,
        "path_prefixes": args.path_prefixes,
        "allowed_paths": args.allowed_paths,
        "context_tokens": str(args.context_tokens) if args.context_tokens else None,
        "webhook_secret": configure.generate_webhook_secret() if args.generate_webhook_secret else args.webhook_secret,
    }
    if problem := configure.prefix_problem(args.prefix):
        print(f"selfheal configure: {problem}", file=sys.stderr)
        return 2
    existing, unknown = configure.known(configure.existing_parameters(ssm, args.prefix))
    if unknown:
        print(
            f"selfheal configure: not a selfheal setting, left as is under {args.prefix}: {', '.join(unknown)}",
            file=sys.stderr,
        )
    if args.non_interactive or not sys.stdin.isatty():
        values = {**existing, **{k: v for k, v in given.items() if v}}
    else:
        values = configure.ask({**existing, **{k: v for k, v in given.items() if v}})
    try:
        clean = configure.validate(values)
        for required in ("repo_url", "model_id"):
            if required not in clean:
                raise configure.ConfigureError(f"{required} is required (--{required.replace('_', '-')})")
    except configure.ConfigureError as exc:
        print(f"selfheal configure: {exc}", file=sys.stderr)
        return 2
    try:
        names = configure.store(ssm, args.prefix, clean, args.kms_key_id)
    except configure.ConfigureError as exc:
        return _fail("configure", str(exc), 1)
    print(
        f"stored {len(names)} SecureString parameter(s) under {args.prefix} with {args.kms_key_id}: "
        + ", ".join(n.removeprefix(args.prefix) for n in names)
    )
    if given["webhook_secret"] or values.get("webhook_secret") != existing.get("webhook_secret"):
        print(configure.webhook_instructions(args.prefix, args.region))
    return 0


def cmd_delete_parameters(args: argparse.Namespace) -> int:
    import configure

    ssm = _ssm(args)
    try:
        names, kept = configure.deletion_plan(ssm, args.prefix)
    except configure.ConfigureError as exc:
        return _fail("delete-parameters", str(exc))
    if kept:
        print(f"kept (Terraform manages them; terraform destroy removes them): {', '.join(kept)}", file=sys.stderr)
    if not names:
        print(f"nothing to delete under {args.prefix}")
        return 0
    print(f"to delete under {args.prefix}: {', '.join(n.removeprefix(args.prefix) for n in names)}", file=sys.stderr)
    if not args.yes:
        if not sys.stdin.isatty():
            return _fail("delete-parameters", f"not deleting {len(names)} parameter(s) unasked: pass --yes")
        if input(f"Delete these {len(names)} parameter(s)? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    try:
        configure.delete_all(ssm, args.prefix, names)
    except configure.ConfigureError as exc:
        return _fail("delete-parameters", str(exc))
    print(f"deleted {len(names)} parameter(s) under {args.prefix}")
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    import package

    try:
        out = package.package(args.stage)
    except package.PackageError as exc:
        print(f"selfheal package: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} and {out.with_name('deployment.zip')}; next: terraform -chdir=terraform init && validate")
    return 0


def _terraform_problem() -> str:
    """Why terraform cannot run here ('' when it can): checked before packaging starts."""
    import shutil

    if shutil.which("terraform") is None:
        return "terraform is not on PATH: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)"
    return ""


def _terraform_env() -> dict[str, str]:
    import tempfile

    import package

    env: dict[str, str] = {}
    mirror = package.find_provider_mirror()
    if mirror is not None and "TF_CLI_CONFIG_FILE" not in os.environ:
        env["TF_CLI_CONFIG_FILE"] = str(package.cli_config(Path(tempfile.mkdtemp()) / "cli.tfrc", mirror))
    return env


def _deploy_vars_file() -> Path:
    """Where deploy keeps the ``--var`` values it applied, so destroy uses the same ones
    (inside terraform/.terraform/, which is never committed)."""
    import package

    return package.TERRAFORM / ".terraform" / "selfheal-deploy-vars.json"


def next_steps(outputs: dict[str, Any], region: str) -> str:
    """What to do after the first deploy, with the deployment's own names."""
    key = outputs.get("kms_key_arn", "KMS_KEY_ARN")
    lines = [
        "deployed. Next:",
        "  1. settings and secrets (SSM SecureString, never in Terraform state):",
        f"     python scripts/selfheal.py configure --region {region} --kms-key-id {key} \\",
        '       --repo-url OWNER/NAME --model-id MODEL_ID --github-token "$GITHUB_TOKEN"',
    ]
    if outputs.get("webhook_url"):
        lines += [
            "  2. PR outcomes (merged, closed, reviews): a GitHub webhook, secret made and stored by",
            f"     python scripts/selfheal.py configure --region {region} --kms-key-id {key} --generate-webhook-secret",
        ]
    lines += [
        "  3. watch it: python scripts/selfheal.py status; runbooks: python scripts/selfheal.py actions",
        "  teardown: python scripts/selfheal.py destroy (the same variables), then delete-parameters",
    ]
    return "\n".join(lines)


def cmd_deploy(args: argparse.Namespace) -> int:
    import package

    if problem := _terraform_problem():
        return _fail("deploy", problem)
    env = _terraform_env()
    variables = [f"endpoint_url={args.endpoint_url}"] if args.endpoint_url else []
    variables += args.var
    try:
        _progress(args, "package: chalice package into terraform/ (about a minute)")
        package.package(args.stage)
        _progress(args, "terraform init")
        package.terraform("init", "-input=false", env=env)
        apply = ["apply", "-input=false", *[f"-var={v}" for v in variables]]
        if args.auto_approve:
            apply.append("-auto-approve")
        _progress(args, "terraform apply (a first deployment takes a few minutes)")
        package.terraform(*apply, env=env)
        _deploy_vars_file().write_text(json.dumps(variables) + "\n")
        outputs = package.terraform_outputs(env=env)
    except package.PackageError as exc:
        return _fail("deploy", str(exc), 1)
    region = next((v.split("=", 1)[1] for v in variables if v.startswith("region=")), "us-east-1")
    print(next_steps(outputs, region))
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    import package

    if problem := _terraform_problem():
        return _fail("destroy", problem)
    try:
        variables = json.loads(_deploy_vars_file().read_text())
    except (OSError, ValueError):
        variables = []
    variables += args.var
    destroy = ["destroy", "-input=false", *[f"-var={v}" for v in variables]]
    if args.auto_approve:
        destroy.append("-auto-approve")
    try:
        if not (package.TERRAFORM / "chalice.tf.json").exists():
            _progress(args, "package: the configuration to destroy is generated first")
            package.package(args.stage)
        package.terraform(*destroy, env=_terraform_env())
    except package.PackageError as exc:
        return _fail("destroy", str(exc), 1)
    print("destroyed. The settings stay in SSM until: python scripts/selfheal.py delete-parameters")
    return 0


def _progress(args: argparse.Namespace, message: str) -> None:
    """A progress line on stderr (none under --json)."""
    if not getattr(args, "json", False):
        print(message, file=sys.stderr, flush=True)


def _aws_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="one URL for every AWS service (a local moto server)")
    parser.add_argument("--table", help="error-group table (default: SELFHEAL_TABLE_NAME or selfheal-error-groups)")
    parser.add_argument("--region", help="AWS region")


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (what is wrong, where help is) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print one line and exit 2 (argparse prints the whole usage first)."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one block per command
    parser = Parser(prog="selfheal", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inspect = sub.add_parser(
        "inspect",
        help="find and group Python tracebacks in log files",
        description="Read raw log text, CloudWatch Logs subscription payloads (JSON or base64+gzip) "
        "or JSON-lines exports and print the tracebacks found. With no FILE, the bundled sample logs.",
    )
    inspect.add_argument("files", nargs="*", metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="print one JSON document (contract shape)")
    inspect.add_argument("--explain", action="store_true", help="show the grouping components of each group")
    inspect.set_defaults(func=cmd_inspect)

    local = sub.add_parser(
        "local",
        help="run the whole pipeline on this machine",
        description="Embedded moto server (or --endpoint-url), the stack through boto3, your logs into a "
        "CloudWatch log group, and the deployed handlers driven until the fix queue drains. With no "
        "options: the bundled sample app, its logs and its recorded model answers.",
    )
    local.add_argument("--logs", action="append", default=[], metavar="FILE", help="log file (repeatable)")
    local.add_argument("--repo", help="local path (work tree or bare), owner/name, or git URL")
    local.add_argument("--model", help="replay:FILE (recorded Converse answers) or a Bedrock model id")
    local.add_argument(
        "--model-id",
        help="Bedrock model or inference profile id: the real Bedrock, with your AWS credentials and region "
        "(everything else stays local)",
    )
    local.add_argument("--region", help="AWS region of --model-id (default: AWS_REGION or your AWS configuration)")
    local.add_argument(
        "--answer-template",
        metavar="FINGERPRINT",
        help="print a replay answer to fill in for this group of --logs (any unique prefix), and the code it "
        "would be shown; nothing runs",
    )
    local.add_argument("--path-prefix", action="append", default=[], help="deployment prefix to strip from paths")
    local.add_argument("--filter-pattern", default=None, help="subscription filter pattern (text patterns)")
    local.add_argument("--min-occurrences", type=int, default=1, help="fix a group only after this many")
    local.add_argument("--github-url", help="GitHub(-compatible) API base URL for PRs")
    local.add_argument("--github-token", default=os.environ.get("GITHUB_TOKEN"), help="token (default $GITHUB_TOKEN)")
    local.add_argument("--endpoint-url", help="use this AWS endpoint instead of an embedded moto server")
    local.add_argument("--test-command", metavar="CMD", help="run CMD in a worktree of each fix branch: its checks")
    local.add_argument("--repair-rounds", type=int, default=1, choices=range(4), help="repairs after red checks (0-3)")
    local.add_argument(
        "--stack",
        choices=["boto3", "terraform"],
        default="boto3",
        help="create the resources through boto3 (fast, default) or by applying terraform/ (the real deployment)",
    )
    local.add_argument(
        "--infra",
        action="store_true",
        help="instead: a scripted infrastructure incident through the remediators (runbooks, governor, approval)",
    )
    local.add_argument(
        "--services", metavar="FILE", help='several services at once: {"services": [{"name", "logs", "repo", "model"}]}'
    )
    local.add_argument("--json", action="store_true", help="print the summary as JSON (contract shape)")
    local.set_defaults(func=cmd_local)

    status = sub.add_parser("status", help="error groups, newest first")
    status.add_argument(
        "--status",
        help="only groups in this status (NEW, QUEUED, FIXING, PR_OPENED, FAILED, SKIPPED, MERGED, REJECTED, "
        "REGRESSED, HEALED)",
    )
    status.add_argument(
        "--service", help="only this service's groups ('default' has those from before services; '' log groups of none)"
    )
    status.add_argument("--since", help="only groups seen since: 30m, 6h, 2d, 1w or a date YYYY-MM-DD")
    status.add_argument("--json", action="store_true")
    _aws_options(status)
    status.set_defaults(func=cmd_status)

    show = sub.add_parser(
        "show",
        help="one group whole: exception, culprit, first/last seen, sample, PR and fate, tokens, reasons",
    )
    show.add_argument("fingerprint", metavar="GROUP", help="the group's fingerprint or any unique prefix")
    show.add_argument("--json", action="store_true", help="the group's fields as one JSON document")
    _aws_options(show)
    show.set_defaults(func=cmd_show)

    retry = sub.add_parser(
        "retry", help="re-open a FAILED / SKIPPED / PR_OPENED / REJECTED / REGRESSED group, or a stuck FIXING one"
    )
    retry.add_argument("fingerprint", help="the group's fingerprint (or a unique prefix)")
    _aws_options(retry)
    retry.set_defaults(func=cmd_retry)

    conf = sub.add_parser("configure", help="store settings and secrets as SSM SecureString parameters")
    conf.add_argument("--repo-url")
    conf.add_argument("--model-id")
    conf.add_argument("--github-token", default=os.environ.get("GITHUB_TOKEN"), help="default $GITHUB_TOKEN")
    conf.add_argument("--ssh-key-file", help="private key for git over SSH")
    conf.add_argument("--known-hosts-file", help="known_hosts lines pinning the git host's key")
    conf.add_argument("--github-url", help="GitHub API base URL (GitHub Enterprise)")
    conf.add_argument("--labels", help="PR labels, comma-separated")
    conf.add_argument("--min-occurrences", type=int)
    conf.add_argument("--path-prefixes", help="deployment prefixes to strip, comma-separated")
    conf.add_argument("--allowed-paths", help="extra files a fix may edit, comma-separated")
    conf.add_argument("--context-tokens", type=int, help="token budget of the code shown to the model per fix")
    conf.add_argument("--services", metavar="FILE", help="validate the service catalog (JSON) and store it")
    conf.add_argument("--repo-secrets-for", metavar="REPO_URL", help="store the secrets given for this repository only")
    conf.add_argument("--webhook-secret", help="GitHub webhook secret (20+ random characters)")
    conf.add_argument("--generate-webhook-secret", action="store_true", help="store a new random webhook secret")
    conf.add_argument("--prefix", default="/selfheal/", help="SSM path prefix")
    conf.add_argument("--kms-key-id", default="alias/selfheal", help="the project's KMS key (Terraform output)")
    conf.add_argument("--non-interactive", action="store_true", help="never prompt; flags and stored values only")
    conf.add_argument("--endpoint-url")
    conf.add_argument("--region")
    conf.set_defaults(func=cmd_configure)

    delete = sub.add_parser(
        "delete-parameters",
        help="remove the parameters configure stored under the prefix (asks first; never Terraform's)",
    )
    delete.add_argument("--prefix", default="/selfheal/")
    delete.add_argument("--yes", action="store_true", help="delete without asking (scripts)")
    delete.add_argument("--endpoint-url")
    delete.add_argument("--region")
    delete.set_defaults(func=cmd_delete_parameters)

    pack = sub.add_parser("package", help="chalice package into terraform/, post-processed")
    pack.add_argument("--stage", default="dev")
    pack.set_defaults(func=cmd_package)

    deploy = sub.add_parser("deploy", help="package + terraform init + terraform apply")
    deploy.add_argument("--stage", default="dev")
    deploy.add_argument("--auto-approve", action="store_true")
    deploy.add_argument("--var", action="append", default=[], metavar="K=V", help="a Terraform variable (repeatable)")
    deploy.add_argument("--endpoint-url", help="all AWS endpoints at one URL (a local moto server; fake keys)")
    deploy.set_defaults(func=cmd_deploy)

    destroy = sub.add_parser("destroy", help="terraform destroy with the variables the last deploy applied")
    destroy.add_argument("--stage", default="dev")
    destroy.add_argument("--auto-approve", action="store_true")
    destroy.add_argument("--var", action="append", default=[], metavar="K=V", help="a Terraform variable (repeatable)")
    destroy.set_defaults(func=cmd_destroy)

    import fixes_cli
    import localize_cli
    import operate_cli
    import redact_cli
    import runbooks_cli
    import stats_cli

    runbooks = runbooks_cli.register(sub)
    operate_cli.register(sub, runbooks)
    _state_options(stats_cli.register(runbooks, operate_cli._aws, operate_cli._guarded))  # runbooks stats
    redact_cli.add_parser(sub)
    localize_cli.register(sub)
    for name in STATE_READERS:
        if name in sub.choices:
            _state_options(sub.choices[name])
    local.add_argument(
        "--state-dir", help="where the run's stack is kept (default $SELFHEAL_STATE_DIR or ~/.selfheal/local)"
    )
    fixes_cli.register(sub, _aws_options)  # fixes stats (core/outcomes.py)
    return parser


def _state_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local", action="store_true", help="the stack the last `selfheal local` run kept (instead of AWS)"
    )
    parser.add_argument("--state-dir", help="the local state to use (implies --local; default ~/.selfheal/local)")


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):  # `selfheal inspect | head` ends quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

    try:
        if args.command != "local" and (getattr(args, "local", False) or getattr(args, "state_dir", None)):
            return _with_local_state(args)
        return int(args.func(args))
    except NoCredentialsError:
        return _fail(args.command, "no AWS credentials found: set AWS_PROFILE or run `aws configure` "
                     "(or --local for the stack of the last local run)")  # fmt: skip
    except NoRegionError:
        return _fail(args.command, "no AWS region: pass --region or set AWS_REGION")
    except EndpointConnectionError as exc:
        return _fail(args.command, f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: is it running?")


if __name__ == "__main__":
    sys.exit(main())
