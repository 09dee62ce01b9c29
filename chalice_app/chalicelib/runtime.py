"""Composition root: builds settings, clients, adapters and services once per container.

Handlers in app.py ask this module for a service; tests swap parts with ``override``.
"""

from __future__ import annotations

import os
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.settings import Settings
from chalicelib.errors import ConfigError

# Adapters and services import boto3 and Powertools (~200 ms): they are imported on first use,
# inside the builders below, so importing app.py (cold start, `chalice package`) stays cheap.
if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.governor_store import GovernorStore
    from chalicelib.adapters.parameters import FixConfig
    from chalicelib.adapters.runbook_config import RunbookConfig
    from chalicelib.adapters.service_catalog import ServiceCatalogConfig
    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.core.services import ServiceCatalog
    from chalicelib.core.webhooks import SecretCache
    from chalicelib.services.approve import Approvals
    from chalicelib.services.enqueue import Enqueue
    from chalicelib.services.fate import Fate
    from chalicelib.services.fix import Fixer, FixService
    from chalicelib.services.heal import HealChecker
    from chalicelib.services.ingest import Ingest
    from chalicelib.services.metrics import EmfCounter
    from chalicelib.services.notifications import Notifier
    from chalicelib.services.remediate import Remediate
    from chalicelib.services.resolve import PullRequestReads, Resolve
    from chalicelib.services.sweep import BudgetSweep

_overrides: dict[str, Any] = {}


def override(**parts: Any) -> None:
    """Replace parts (``settings``, ``fixer``, ``clients``, ``notifier``, ``clock``…) and forget what was built."""
    _overrides.update(parts)
    reset()


def clear() -> None:
    """Drop every override and everything built (tests; the end of a local run)."""
    _overrides.clear()
    reset()


def reset() -> None:
    """Forget every built part (tests; a new configuration)."""
    for built in (
        settings,
        clients,
        _ssm_provider,
        store,
        ingest,
        enqueue,
        fix_service,
        runbook_config,
        governor,
        remediate,
        approvals,
        service_catalog,
        sweep,
        resolve,
        heal_checker,
        _github_reads,
        _webhook_secrets,
    ):
        built.cache_clear()


@cache
def settings() -> Settings:
    _configure_logging()
    return _overrides.get("settings") or Settings.from_env(os.environ)


@cache
def _configure_logging() -> None:
    """Powertools JSON logging for every chalicelib logger, once."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging import utils

    utils.copy_config_to_registered_loggers(source_logger=Logger(service="selfheal"), include={"chalicelib"})


@cache
def clients() -> Clients:
    from chalicelib.adapters.clients import Clients

    return _overrides.get("clients") or Clients(settings())


@cache
def store() -> ErrorGroupStore:
    from chalicelib.adapters.store import ErrorGroupStore

    s = settings()
    return ErrorGroupStore(clients().dynamodb, s.table_name, s.stale_after_days, s.resolved_ttl_days)


def metrics() -> EmfCounter:
    from chalicelib.services.metrics import ROUTINE_COUNTS, EmfCounter

    s = settings()
    return EmfCounter(s.metrics_namespace, logged_only=() if s.routine_metrics else ROUTINE_COUNTS)


@cache
def ingest() -> Ingest:
    from chalicelib.adapters.logs import LogStreamReader
    from chalicelib.services.ingest import Ingest

    counter = metrics()
    return Ingest(
        store(),
        counter,
        LogStreamReader(clients().logs),
        settings().fetch_lines,
        catalog=service_catalog().catalog,
        fate=fate(counter),
    )


@cache
def service_catalog() -> ServiceCatalogConfig:
    """The service catalog (``<prefix>services/catalog``; absent: one default service), cached."""
    from chalicelib.adapters.service_catalog import ServiceCatalogConfig

    return _overrides.get("service_catalog") or ServiceCatalogConfig(clients().ssm, settings().parameter_prefix)


@cache
def enqueue() -> Enqueue:
    from chalicelib.adapters.queue import FixQueue
    from chalicelib.services.enqueue import Enqueue

    s = settings()
    return Enqueue(
        store(),
        FixQueue(clients().sqs, s.queue_url),
        metrics(),
        notifier=notifier(),
        limits=s.spend_limits(),
        services=service_catalog().catalog,  # per-service spend limits (core/service_spend.py)
        **({"clock": _overrides["clock"]} if "clock" in _overrides else {}),
    )


def fixer() -> Fixer:
    """The configured Fixer: model fixes when a repository is configured, else skip with a reason."""
    if _overrides.get("fixer") is not None:
        return _overrides["fixer"]
    return service_fixers(clients())


def parameters(aws: Clients | None = None) -> dict[str, str]:
    """Every parameter under the prefix (GetParametersByPath), read once per CACHE_SECONDS by one
    provider per container: the fixer's catalog, its service's configuration and the PR reads share
    one request."""
    aws = aws or clients()
    from chalicelib.adapters.parameters import load_parameters

    return load_parameters(aws.ssm, settings().parameter_prefix, _ssm_provider(aws.ssm))


@cache
def _ssm_provider(ssm: Any) -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=ssm)


def service_fixers(aws: Clients, announce: Callable[[str], None] | None = None) -> Fixer:
    """One fixer per service of the catalog, from the parameters under the prefix (read with the
    fixer's GetParametersByPath, cached by Powertools). Without a catalog, the default service's
    fixer is built at once (today's behaviour: a ConfigError fails the cold start)."""
    from chalicelib.adapters.parameters import service_config
    from chalicelib.adapters.service_catalog import CATALOG
    from chalicelib.core.services import DEFAULT, ServiceCatalog
    from chalicelib.services.service_fixers import ServiceFixers

    def catalog() -> ServiceCatalog:
        return ServiceCatalog.parse(parameters(aws).get(CATALOG))

    def build(service: Any) -> Fixer:
        return build_fixer(service_config(parameters(aws), service), aws, announce)

    fixers = ServiceFixers(catalog, build)
    if not catalog().configured:
        fixers.fixer_for(DEFAULT)
    return fixers


def build_fixer(config: FixConfig, aws: Clients, announce: Callable[[str], None] | None = None) -> Fixer:
    """Compose a ModelFixer from configuration: repository mode from the URL, model from the id."""
    from chalicelib.adapters.bedrock import BedrockModel, ReplayModel
    from chalicelib.adapters.git_repo import GitRepository, LocalPullRequests
    from chalicelib.adapters.github_api import GitHubPullRequests, GitHubRepository
    from chalicelib.core.localize import DEFAULT_PREFIXES
    from chalicelib.core.repos import parse_repo_url
    from chalicelib.core.services import repo_key
    from chalicelib.services.fix import NotConfiguredFixer
    from chalicelib.services.fix_generation import FixSettings, ModelFixer

    if not config.repo_url or not config.model_id:
        return NotConfiguredFixer()
    ref = parse_repo_url(config.repo_url)
    base_url = config.github_url or ref.api_base_url
    if ref.kind == "github":

        def open_repo() -> Any:
            return GitHubRepository(ref.full_name, config.github_token, base_url)

        pulls: Any = GitHubPullRequests(ref.full_name, config.github_token, base_url)
    else:

        def open_repo() -> Any:
            return GitRepository(ref.url, config.ssh_private_key, config.known_hosts)

        if ref.kind == "local":
            pulls = LocalPullRequests(ref.url)
        elif config.github_token:
            pulls = GitHubPullRequests(ref.full_name, config.github_token, base_url)
        else:
            raise ConfigError("git over SSH pushes the branch, but opening its PR needs the github_token parameter")
    if config.model_id.startswith("replay:"):
        model: Any = ReplayModel(config.model_id.removeprefix("replay:"), announce=announce)
    else:
        model = BedrockModel(aws.client("bedrock-runtime"), config.model_id)
    settings = FixSettings(
        path_prefixes=config.path_prefixes + DEFAULT_PREFIXES,
        labels=config.labels,
        min_occurrences=config.min_occurrences,
        extra_allowed=config.allowed_paths,
        context_tokens=config.context_tokens,
        draft=config.draft,
        reviewers=config.reviewers,
        service=config.service,
        repository=repo_key(config.repo_url),  # duplicates are looked for among the repository's open PRs
        await_checks=True,  # every PR a draft until its checks pass (services/checks.py)
    )
    if config.repo_folder:
        # A monorepo service sees only its folder (services/service_fixers.py).
        from chalicelib.services.service_fixers import FolderView

        whole_repo = open_repo

        def open_repo() -> Any:
            return FolderView(whole_repo(), config.repo_folder)

    return ModelFixer(open_repo, pulls, model, settings)


@cache
def fix_service() -> FixService:
    from chalicelib.services.fix import FixService

    s = settings()
    clock = {"clock": _overrides["clock"]} if "clock" in _overrides else {}
    return FixService(
        store(),
        fixer(),
        metrics(),
        s.lease_seconds,
        s.max_attempts,
        notifier=notifier(),
        limits=s.spend_limits(),
        services=fixer_catalog(),
        **clock,
    )


def fixer_catalog() -> Callable[[], ServiceCatalog]:
    """The catalog as the fixer reads it: with its settings (one GetParametersByPath over the
    prefix, cached by Powertools; the fixer's role reads nothing else), or the override."""
    if _overrides.get("service_catalog") is not None:
        return _overrides["service_catalog"].catalog
    from chalicelib.adapters.service_catalog import CATALOG
    from chalicelib.core.services import ServiceCatalog

    aws = clients()
    return lambda: ServiceCatalog.parse(parameters(aws).get(CATALOG))


@cache
def sweep() -> BudgetSweep:
    """The budget sweeper: stuck QUEUED groups sent again or failed (services/requeue.py), then
    budget-waiting groups re-opened oldest first while budget remains."""
    from chalicelib.adapters.queue import FixQueue
    from chalicelib.services.ingest import now_ms
    from chalicelib.services.requeue import Requeue
    from chalicelib.services.sweep import BudgetSweep

    clock = {"clock": _overrides["clock"]} if "clock" in _overrides else {}
    jobs = FixQueue(clients().sqs, settings().queue_url)
    stuck = Requeue(store(), jobs, metrics(), clock.get("clock", now_ms), notifier=notifier())
    return BudgetSweep(store(), settings().spend_limits(), metrics(), requeue=stuck, **clock)


def notifier() -> Notifier:
    """The notification topic's publisher (code fixes and runbooks share the topic)."""
    if "notifier" in _overrides:
        return _overrides["notifier"]
    from chalicelib.adapters.notify import SnsNotifier

    return SnsNotifier(clients().client("sns"), settings().topic_arn)


# --- runbooks -------------------------------------------------------------------------------------


@cache
def runbook_config() -> RunbookConfig:
    from chalicelib.adapters.runbook_config import RunbookConfig
    from chalicelib.core.runbooks.catalog import stored_catalog

    return _overrides.get("runbook_config") or RunbookConfig(clients().ssm, settings().parameter_prefix, stored_catalog)


@cache
def governor() -> GovernorStore:
    from chalicelib.adapters.governor_store import GovernorStore

    s = settings()
    return GovernorStore(clients().dynamodb, s.governor_table_name, audit_days=s.governor_audit_days)


@cache
def remediate() -> Remediate:
    from chalicelib.adapters.executor import Executor
    from chalicelib.adapters.facts import RunbookPlanner
    from chalicelib.adapters.signals import SignalReader
    from chalicelib.core.notices import quiet_kinds
    from chalicelib.errors import ConfigError
    from chalicelib.events.eventbridge import parse_event
    from chalicelib.services.remediate import Remediate

    config = runbook_config()
    aws = clients()
    s = settings()
    # The deployment's account (its own topic's ARN names it) and region: another's events never act.
    home = (s.topic_arn.split(":")[4] if s.topic_arn.count(":") >= 5 else "", s.region)
    try:
        quiet = quiet_kinds(s.quiet_notices)
    except ValueError as exc:
        raise ConfigError(f"SELFHEAL_QUIET_NOTICES: {exc}") from exc
    return Remediate(
        parse_event=partial(parse_event, home=home),
        planner=RunbookPlanner(config.catalog, aws.client),
        governor=governor(),
        executor=Executor(aws.client),
        notifier=notifier(),
        kill_switch=config.kill_switch,
        metrics=metrics(),
        **({"clock": _overrides["clock"]} if "clock" in _overrides else {}),
        signals=SignalReader(aws.client("cloudwatch")),
        quiet=quiet,
        switch_problem=getattr(config, "kill_switch_problem", None),
    )


@cache
def approvals() -> Approvals:
    """Approvals: the operator's approve sends the remediator an approval event (``approval_runner``:
    the CLI's Lambda invoke; by default the handler's work in-process, as the remediator itself and
    local mode run it); the remediator re-reads, re-plans and runs with its own clients."""
    from chalicelib.adapters.executor import Executor
    from chalicelib.adapters.facts import Facts
    from chalicelib.services.approve import Approvals

    clock = {"clock": _overrides["clock"]} if "clock" in _overrides else {}
    config, aws = runbook_config(), clients()
    return Approvals(
        governor(),
        remediate(),
        config.kill_switch,
        run=_overrides.get("approval_runner"),
        read=Facts(aws.client).read,
        catalog=config.catalog,
        executor=Executor(aws.client),
        **clock,
    )


def remediator(raw: dict[str, Any]) -> dict[str, Any]:
    """A remediator handler's event: an operator's approval (services/approve.py) or an AWS event."""
    from chalicelib.services.approve import is_approval

    return approvals().carry_out(raw) if is_approval(raw) else remediate().handle(raw)


# --- the pull request's fate (issue 12) -----------------------------------------------------------


def fate(counter: EmfCounter | None = None) -> Fate:
    """Regressions and the lazy PR read on recurrence (ingest's collaborator; counts through its counter)."""
    from chalicelib.services.fate import MINUTE_MS, Fate

    s = settings()
    return Fate(
        store(),
        github_reads,
        counter or metrics(),
        notifier=notifier(),
        grace_ms=s.deploy_grace_minutes * MINUTE_MS,
        check_period_ms=s.pr_check_minutes * MINUTE_MS,
        **({"clock": _overrides["clock"]} if "clock" in _overrides else {}),
    )


def github_reads(service: str = "default") -> PullRequestReads | None:
    """GitHub reads for the repository of ``service`` (None when it is not on a GitHub), built on
    first need from the SSM parameters: the catalog's repository of that service (the global
    repo_url for the default service, or one the catalog no longer has) and its repository's token
    (``repos/<repo_key>/github_token``, else the global one), as the fixer that opened the PR used."""
    if "github_reads" in _overrides:
        return _overrides["github_reads"]
    return _github_reads(service or "default")


@cache
def _github_reads(service: str) -> PullRequestReads | None:
    from chalicelib.adapters.github_api import GitHubReads
    from chalicelib.adapters.parameters import service_config
    from chalicelib.adapters.service_catalog import CATALOG
    from chalicelib.core.repos import RepoUrlError, parse_repo_url
    from chalicelib.core.services import DEFAULT, ServiceCatalog

    values = parameters()
    known = {s.name: s for s in ServiceCatalog.parse(values.get(CATALOG)).services}
    config = service_config(values, known.get(service, DEFAULT))
    if not config.repo_url or not config.github_token:
        return None
    try:
        ref = parse_repo_url(config.repo_url)
    except RepoUrlError:
        return None
    if ref.kind == "local" or not ref.full_name:
        return None
    return GitHubReads(ref.full_name, config.github_token, config.github_url or ref.api_base_url, timeout=5)


@cache
def _webhook_secrets() -> SecretCache:
    """The webhook secret with its TTL (core/webhooks.SecretCache): SELFHEAL_WEBHOOK_SECRET when set
    (local use), else the SSM SecureString ``<prefix>webhook_secret``. A rotation takes effect
    within ``SECRET_TTL_MS`` without a cold start. ConfigError when neither is set."""
    from chalicelib.core.webhooks import SecretCache
    from chalicelib.services.ingest import now_ms

    return SecretCache(_read_webhook_secret, _overrides.get("clock") or now_ms)


def _read_webhook_secret() -> bytes:
    from chalicelib.services.resolve import WEBHOOK_SECRET_ENV, WEBHOOK_SECRET_PARAMETER

    if os.environ.get(WEBHOOK_SECRET_ENV):
        return os.environ[WEBHOOK_SECRET_ENV].encode()
    from chalicelib.adapters.parameters import read_parameter

    # One GetParameter of exactly this name: terraform/api.tf allows the handler nothing wider for it.
    value = read_parameter(clients().ssm, settings().parameter_prefix + WEBHOOK_SECRET_PARAMETER)
    if not value:
        raise ConfigError(f"no webhook secret: set {WEBHOOK_SECRET_ENV} or the parameter {WEBHOOK_SECRET_PARAMETER}")
    return value.encode()


def _webhook_secret() -> bytes:
    """The webhook secret now (cached for at most the TTL)."""
    return _webhook_secrets().current()


@cache
def resolve() -> Resolve:
    """The webhook's use case; nothing is built or read until a signed delivery needs it."""
    from chalicelib.services.resolve import Resolve

    return Resolve(
        secret=_webhook_secret,
        recheck_secret=lambda: _webhook_secrets().recheck(),
        store=store,
        github=github_reads,
        metrics=metrics(),
        **({"clock": _overrides["clock"]} if "clock" in _overrides else {}),
    )


@cache
def heal_checker() -> HealChecker:
    from chalicelib.services.heal import HOUR_MS, HealChecker

    s = settings()
    counter = metrics()  # one counter, flushed by the checker, for its PR reads too
    return HealChecker(
        store(),
        counter,
        quiet_ms=s.quiet_hours * HOUR_MS,
        lookback_days=s.heal_lookback_days,
        fate=fate(counter),
        **({"clock": _overrides["clock"]} if "clock" in _overrides else {}),
    )
