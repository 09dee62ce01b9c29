"""`selfheal local --services FILE`: the local pipeline for several services at once.

FILE is JSON (contract)::

    {"services": [{"name": "billing", "logs": "billing.log", "repo": "billing.git",
                   "model": "replay:answers.json", "path_prefixes": ["/var/task/"]}]}

``logs`` (a file, or a list of files) is loaded into that service's own log group
(``/selfheal/local/<name>``), ``repo`` is a local repository (work tree or bare; any form
``--repo`` takes), ``model`` is what ``--model`` takes, ``path_prefixes`` is optional. A service
may also carry the catalog's other fields (``repo_folder``, ``labels``, ``reviewers``, ``draft``,
``min_occurrences``, ``always_fix``, ``never_fix``, ``fix_library``; core/services.py validates
them). Relative paths resolve against FILE's
directory. The services become the deployment's catalog (an override of the runtime, as local
mode overrides the fixer: nothing is written to SSM), so log_processor routes each log group to
its service and the fixer of each service fixes in its own repository. The output is the
``local --json`` document with a ``service`` field on every group.

As ``local`` does, a run keeps its stack in the state directory (``--state-dir``, else
``$SELFHEAL_STATE_DIR``, else ``~/.selfheal/local``; scripts/local_state.py) for ``status
--local``, ``show --local``, ``retry --local``; the next run of the same services file continues
from it. ``--test-command CMD`` runs CMD in a worktree of each fix branch, in that service's
repository (scripts/local_checks.py), with ``--repair-rounds`` repairs after red checks.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_mode import (
    DEFAULT_PATTERN,
    LOG_GROUP,
    LocalPipeline,
    _load_state,
    _log_lines,
    local_settings,
    quiet,
    stderr,
    summary,
    table,
)
from local_stack import create_stack, create_stack_with_terraform, local_aws, put_log_lines
from local_state import state_dir

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.parameters import FixConfig
from chalicelib.adapters.settings import Settings
from chalicelib.core.services import Service, ServiceCatalog, parse_service
from chalicelib.errors import ConfigError
from chalicelib.usecases.service_fixers import ServiceFixers

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping, Sequence

    from chalicelib.core.models import ErrorGroup

LOCAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
LOCAL_FIELDS = frozenset({"name", "logs", "repo", "model", "path_prefixes", "log_group"})
# Catalog fields a services file may also set; log_groups and repo_url come from log_group and repo.
CATALOG_FIELDS = frozenset(
    {"repo_folder", "labels", "reviewers", "draft", "min_occurrences", "always_fix", "never_fix", "fix_library"}
)


@dataclass(frozen=True)
class LocalService:
    """One service of a local run: its catalog entry, its logs, its repository and model."""

    service: Service
    logs: tuple[Path, ...]
    repo: str
    model: str

    @property
    def log_group(self) -> str:
        return self.service.log_groups[0]


@dataclass
class ServicesRun:
    """Options of one multi-service local run (the shared ones as ``local`` takes them)."""

    services: Sequence[LocalService]
    filter_pattern: str
    endpoint_url: str = ""
    github_url: str = ""
    github_token: str = ""
    min_occurrences: int = 1
    stack: str = "boto3"
    state_dir: str = ""  # where the stack is kept (scripts/local_state.py); '' keeps none
    services_file: str = ""  # stands for the repository in the state: the same file continues
    test_command: str = ""  # CI locally (scripts/local_checks.py)
    repair_rounds: int = 1

    @property
    def repo(self) -> str:
        """What the state records as this run's repository (local_mode._load_state compares it)."""
        return f"services:{self.services_file}" if self.services_file else ""


def _resolve(base: Path, value: str) -> str:
    """A path from the services file, relative to the file's directory; other addresses unchanged."""
    candidate = Path(value).expanduser()
    if candidate.is_absolute():
        return str(candidate)
    local = base / candidate
    return str(local.resolve()) if local.exists() else value


def _model(base: Path, value: str) -> str:
    if value.startswith("replay:"):
        return "replay:" + _resolve(base, value.removeprefix("replay:"))
    return value


def _text(where: str, entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def load_services(path: Path) -> list[LocalService]:
    """The services of a services file; ConfigError names the entry and field that are wrong."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"services file {path}: {exc}") from exc
    entries = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f'services file {path} must be {{"services": [{{"name", "logs", "repo", "model"}}, ...]}}')
    base = path.resolve().parent
    found: list[LocalService] = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"services file {path}: service #{n + 1} must be an object")
        where = f"service {entry.get('name')!r}" if entry.get("name") else f"service #{n + 1}"
        unknown = sorted(set(entry) - LOCAL_FIELDS - CATALOG_FIELDS)
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
        logs = entry.get("logs")
        names = [logs] if isinstance(logs, str) else logs
        if not isinstance(names, list) or not names or not all(isinstance(x, str) and x for x in names):
            raise ConfigError(f"{where}: logs must be a log file (or a list of them)")
        log_files = tuple(base / Path(x).expanduser() for x in names)  # an absolute path stays as it is
        for log_file in log_files:
            if not log_file.is_file():
                raise ConfigError(f"{where}: logs: no file {log_file}")
        name = _text(where, entry, "name")
        if not LOCAL_NAME.match(name):
            raise ConfigError(f"{where}: name must be letters, digits, '_', '.' or '-' (at most 63)")
        repo = _resolve(base, _text(where, entry, "repo"))
        log_group = entry.get("log_group") or f"{LOG_GROUP.rsplit('/', 1)[0]}/{name}"
        catalog_entry = {k: entry[k] for k in CATALOG_FIELDS | {"path_prefixes"} if k in entry}
        # A deployed catalog's names are lower case (core/services.py); a local run keeps the name
        # it is given, so the output names each service as the file does.
        try:
            service = parse_service({"name": "local", "log_groups": [log_group], "repo_url": repo, **catalog_entry})
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("service 'local'", where, 1)) from exc
        service = replace(service, name=name)
        found.append(LocalService(service, log_files, repo, _model(base, _text(where, entry, "model"))))
    for attribute in ("name", "log_group"):
        values = [s.service.name if attribute == "name" else s.log_group for s in found]
        if twice := sorted({v for v in values if values.count(v) > 1}):
            raise ConfigError(f"services file {path}: {attribute} {', '.join(twice)} used by two services")
    return found


def run_services(
    options: ServicesRun, say: Callable[[str], None], notice: Callable[[str], None] | None = None
) -> list[ErrorGroup]:
    """Create the stack with one log group per service, load each service's logs into its own log
    group, run the pipeline; returns the groups, newest first. ``say`` takes progress, ``notice``
    (default ``say``) what changes how the result reads (local_mode.run)."""
    with local_aws(options.endpoint_url, say) as endpoint:
        try:
            return _run(options, endpoint, say, notice or say)
        finally:
            runtime.clear()


def _fix_config(options: ServicesRun, local: LocalService) -> FixConfig:
    s = local.service
    return FixConfig(
        repo_url=local.repo,
        model_id=local.model,
        github_url=options.github_url,
        github_token=options.github_token,
        path_prefixes=s.path_prefixes or (),
        labels=s.labels if s.labels is not None else FixConfig.labels,
        min_occurrences=s.min_occurrences if s.min_occurrences is not None else options.min_occurrences,
        service=s.name,
        repo_folder=s.repo_folder,
        draft=s.draft,
        reviewers=s.reviewers,
    )


class _Catalog:
    """The runtime's service catalog port, answered from the services file."""

    def __init__(self, catalog: ServiceCatalog) -> None:
        self._catalog = catalog

    def catalog(self) -> ServiceCatalog:
        return self._catalog


def _run(
    options: ServicesRun, endpoint: str, say: Callable[[str], None], notice: Callable[[str], None]
) -> list[ErrorGroup]:
    base = Settings(endpoint_url=endpoint)
    clients = Clients(base)
    first = options.services[0].log_group
    if options.stack == "terraform":
        say("stack: package + terraform apply against the local endpoint (about two minutes)")
        stack = create_stack_with_terraform(clients, endpoint, first, Path(tempfile.mkdtemp(prefix="selfheal-tf-")))
    else:
        stack = create_stack(clients, prefix="selfheal-local", log_group=first)
    for local in options.services[1:]:
        try:
            clients.logs.create_log_group(logGroupName=local.log_group)
        except clients.logs.exceptions.ResourceAlreadyExistsException:
            pass
    settings = replace(local_settings(base, stack), min_occurrences=options.min_occurrences)
    clients = Clients(settings)
    catalog = ServiceCatalog(tuple(s.service for s in options.services), configured=True)
    by_name = {s.service.name: s for s in options.services}

    def build(service: Service) -> Any:
        return runtime.build_fixer(_fix_config(options, by_name[service.name]), clients, announce=notice)

    fixers = ServiceFixers(lambda: catalog, build)
    for local in options.services:  # a wrong repository or replay file fails now, not per group
        fixers.fixer_for(local.service)
    runtime.override(settings=settings, clients=clients, fixer=fixers, service_catalog=_Catalog(catalog))
    _load_state(options, clients, notice)
    pipeline = LocalPipeline(clients, stack, say)
    run_id = uuid.uuid4().hex[:8]  # a second run against the same endpoint writes new streams
    for local in options.services:
        for n, path in enumerate(local.logs):
            lines = _log_lines(path)
            stream = f"local/{run_id}/{local.service.name}/{n}-{path.name}"
            put_log_lines(clients, local.log_group, lines, stream)
            delivered = pipeline.deliver(stream, options.filter_pattern, local.log_group)
            say(f"{path}: {len(lines)} line(s) into {local.log_group} ({local.service.name}), {delivered} matched")
    pipeline.drain()
    if options.test_command:  # CI locally, each branch in its service's repository
        from local_checks import judge_services_run

        repos = {s.service.name: s.repo for s in options.services}
        judge_services_run(repos, options.test_command, options.repair_rounds, pipeline.drain, say)
    if options.state_dir:
        from local_state import LocalState, save

        state = LocalState(options.endpoint_url, stack.table_name, region=settings.region, repo=options.repo)
        save(Path(options.state_dir), state, clients)
    return runtime.store().scan()


def _is_local(repo: str) -> bool:
    from chalicelib.core.repos import RepoUrlError, parse_repo_url

    try:
        return parse_repo_url(repo).kind == "local"
    except RepoUrlError:
        return False


def cmd_local_services(args: argparse.Namespace) -> int:
    """``local --services FILE``: exit 0 with the summary on stdout, or 2 with one line on stderr
    when the services file is wrong."""
    given = {"--logs": args.logs, "--repo": args.repo, "--model": args.model, "--model-id": args.model_id,
             "--path-prefix": args.path_prefix}  # fmt: skip
    if mixed := [flag for flag, value in given.items() if value]:
        print(f"selfheal local: --services reads each service's logs, repository and model from FILE, "
              f"not from {', '.join(mixed)}", file=sys.stderr)  # fmt: skip
        return 2
    try:
        services = load_services(Path(args.services))
    except ConfigError as exc:
        print(f"selfheal local: {exc}", file=sys.stderr)
        return 2
    if args.test_command and (remote := [s.service.name for s in services if not _is_local(s.repo)]):
        print(f"selfheal local: --test-command tests each fix branch in a local repository: service(s) "
              f"{', '.join(remote)} name a remote one (give a local clone)", file=sys.stderr)  # fmt: skip
        return 2
    options = ServicesRun(
        services=services,
        filter_pattern=DEFAULT_PATTERN if args.filter_pattern is None else args.filter_pattern,
        endpoint_url=args.endpoint_url or "",
        github_url=args.github_url or "",
        github_token=args.github_token or "",
        min_occurrences=args.min_occurrences,
        stack=args.stack,
        state_dir=str(state_dir(getattr(args, "state_dir", None))),
        services_file=str(Path(args.services).resolve()),
        test_command=args.test_command or "",
        repair_rounds=args.repair_rounds,
    )
    # Everything but the summary goes to stderr, whoever writes it: stdout at the descriptor level
    # points at stderr while the pipeline runs (as `local` does).
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        groups = run_services(options, quiet if args.json else stderr, stderr)
    except ConfigError as exc:
        print(f"selfheal local: {exc}", file=sys.stderr)
        return 2
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    stderr(f"state kept in {options.state_dir}: selfheal status --local, show --local GROUP, retry --local GROUP; "
           "the next run of this services file continues from it")  # fmt: skip
    print(json.dumps(summary(groups, with_service=True), indent=2) if args.json else table(groups, with_service=True))
    return 0
