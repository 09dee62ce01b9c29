"""Composition root: one ``Container`` builds settings, clients, adapters and services, each once.

A container is built from its ``Parts``: the settings, the AWS clients, the clock and the few
collaborators a test or a local run replaces (the fixer, the notifier, the catalogs, the approval
runner, the GitHub reads). What a part does not give is built from the settings on first use and kept
for the container's life (one Lambda container). Tests build a container with their fakes::

    runtime.use(runtime.Container(settings=settings, clients=clients, clock=clock))

and an unknown part's name raises ``TypeError``. The module-level functions (``runtime.ingest()``,
``runtime.remediator(event)``…) are what app.py and the scripts call: each delegates to the current
container (``current()``), built from the environment on first need. ``override(**parts)`` replaces
parts of the current one, ``clear()`` drops it, ``reset()`` forgets what it built.
"""

from __future__ import annotations

import dataclasses
import os
from functools import cache, cached_property, partial
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.settings import Settings
from chalicelib.core.clock import now_ms
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
    from chalicelib.core.clock import Clock
    from chalicelib.core.services import ServiceCatalog
    from chalicelib.core.webhooks import SecretCache
    from chalicelib.usecases.approve import Approvals
    from chalicelib.usecases.enqueue import Enqueue
    from chalicelib.usecases.fate import Fate, PullRequestReads
    from chalicelib.usecases.fix import Fixer, FixService
    from chalicelib.usecases.heal import HealChecker
    from chalicelib.usecases.ingest import Ingest
    from chalicelib.usecases.metrics import EmfCounter
    from chalicelib.usecases.notifications import Notifier
    from chalicelib.usecases.remediate import Remediate
    from chalicelib.usecases.resolve import Resolve
    from chalicelib.usecases.sweep import BudgetSweep


@dataclasses.dataclass(frozen=True)
class Parts:
    """What a container is given; every part left ``None`` is built from the settings."""

    settings: Settings | None = None  # None: Settings.from_env(os.environ)
    clients: Clients | None = None  # None: Clients(settings)
    clock: Clock = now_ms  # every service's and the webhook secret's clock (epoch ms)
    fixer: Fixer | None = None  # None: one fixer per service, from the SSM parameters
    notifier: Notifier | None = None  # None: the SNS topic's publisher
    service_catalog: ServiceCatalogConfig | None = None  # None: the catalog under the SSM prefix
    runbook_config: RunbookConfig | None = None  # None: the runbook catalog and switches under the prefix
    approval_runner: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # None: in-process
    github_reads: PullRequestReads | None = None  # None: per service, from the SSM parameters


class Container:
    """Builds each adapter and service once from its ``Parts`` (as Chalice's ``CLIFactory`` does).

    ``Container(**parts)`` takes the fields of ``Parts`` by name (an unknown one raises
    ``TypeError``). Cached builders are ``cached_property``s, so forgetting them is building a new
    container (``reset``); builders that give a new object on every call are methods."""

    def __init__(self, parts: Parts | None = None, /, **overrides: Any) -> None:
        self.parts = dataclasses.replace(parts or Parts(), **overrides)
        self._ssm_providers: dict[int, Any] = {}
        self._github_reads: dict[str, PullRequestReads | None] = {}

    def replace(self, **overrides: Any) -> Container:
        """A new container with these parts replaced (nothing built carried over)."""
        return Container(self.parts, **overrides)

    def built(self) -> tuple[str, ...]:
        """The names of the cached parts built so far (cold start: none)."""
        cached = {name for name, value in vars(type(self)).items() if isinstance(value, cached_property)}
        return tuple(sorted(cached & vars(self).keys()))

    # --- settings and clients -------------------------------------------------------------------

    @cached_property
    def settings(self) -> Settings:
        _configure_logging()
        return self.parts.settings or Settings.from_env(os.environ)

    @cached_property
    def clients(self) -> Clients:
        from chalicelib.adapters.clients import Clients

        return self.parts.clients or Clients(self.settings)

    @property
    def clock(self) -> Clock:
        return self.parts.clock

    def parameters(self, aws: Clients | None = None) -> dict[str, str]:
        """Every parameter under the prefix (GetParametersByPath), read once per CACHE_SECONDS by one
        provider per container: the fixer's catalog, its service's configuration and the PR reads
        share one request."""
        from chalicelib.adapters.parameters import load_parameters

        aws = aws or self.clients
        return load_parameters(aws.ssm, self.settings.parameter_prefix, self._ssm_provider(aws.ssm))

    def _ssm_provider(self, ssm: Any) -> Any:
        if id(ssm) not in self._ssm_providers:
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            self._ssm_providers[id(ssm)] = SSMProvider(boto3_client=ssm)
        return self._ssm_providers[id(ssm)]

    # --- code healing ---------------------------------------------------------------------------

    @cached_property
    def store(self) -> ErrorGroupStore:
        from chalicelib.adapters.store import ErrorGroupStore

        s = self.settings
        return ErrorGroupStore(self.clients.dynamodb, s.table_name, s.stale_after_days, s.resolved_ttl_days)

    def metrics(self) -> EmfCounter:
        """A new counter (each service flushes its own)."""
        from chalicelib.usecases.metrics import ROUTINE_COUNTS, EmfCounter

        s = self.settings
        return EmfCounter(s.metrics_namespace, logged_only=() if s.routine_metrics else ROUTINE_COUNTS)

    @cached_property
    def ingest(self) -> Ingest:
        from chalicelib.adapters.logs import LogStreamReader
        from chalicelib.usecases.ingest import Ingest

        counter = self.metrics()
        return Ingest(
            self.store,
            counter,
            LogStreamReader(self.clients.logs),
            self.settings.fetch_lines,
            catalog=self.service_catalog.catalog,
            fate=self.fate(counter),
            clock=self.clock,
        )

    @cached_property
    def service_catalog(self) -> ServiceCatalogConfig:
        """The service catalog (``<prefix>services/catalog``; absent: one default service), cached."""
        from chalicelib.adapters.service_catalog import ServiceCatalogConfig

        return self.parts.service_catalog or ServiceCatalogConfig(self.clients.ssm, self.settings.parameter_prefix)

    @cached_property
    def enqueue(self) -> Enqueue:
        from chalicelib.adapters.queue import FixQueue
        from chalicelib.usecases.enqueue import Enqueue

        s = self.settings
        return Enqueue(
            self.store,
            FixQueue(self.clients.sqs, s.queue_url),
            self.metrics(),
            notifier=self.notifier(),
            limits=s.spend_limits(),
            services=self.service_catalog.catalog,  # per-service spend limits (core/service_spend.py)
            clock=self.clock,
        )

    def fixer(self) -> Fixer:
        """The configured Fixer: model fixes when a repository is configured, else skip with a reason."""
        return self.parts.fixer if self.parts.fixer is not None else self.service_fixers(self.clients)

    def service_fixers(self, aws: Clients, announce: Callable[[str], None] | None = None) -> Fixer:
        """One fixer per service of the catalog, from the parameters under the prefix (read with the
        fixer's GetParametersByPath, cached by Powertools). Without a catalog, the default service's
        fixer is built at once (today's behaviour: a ConfigError fails the cold start)."""
        from chalicelib.adapters.parameters import service_config
        from chalicelib.adapters.service_catalog import CATALOG
        from chalicelib.core.services import DEFAULT, ServiceCatalog
        from chalicelib.usecases.service_fixers import ServiceFixers

        def catalog() -> ServiceCatalog:
            return ServiceCatalog.parse(self.parameters(aws).get(CATALOG))

        def build(service: Any) -> Fixer:
            return build_fixer(service_config(self.parameters(aws), service), aws, announce)

        fixers = ServiceFixers(catalog, build)
        if not catalog().configured:
            fixers.fixer_for(DEFAULT)
        return fixers

    @cached_property
    def fix_service(self) -> FixService:
        from chalicelib.usecases.fix import FixService

        s = self.settings
        return FixService(
            self.store,
            self.fixer(),
            self.metrics(),
            s.lease_seconds,
            s.max_attempts,
            notifier=self.notifier(),
            limits=s.spend_limits(),
            services=self.fixer_catalog(),
            clock=self.clock,
        )

    def fixer_catalog(self) -> Callable[[], ServiceCatalog]:
        """The catalog as the fixer reads it: with its settings (one GetParametersByPath over the
        prefix, cached by Powertools; the fixer's role reads nothing else), or the given one."""
        if self.parts.service_catalog is not None:
            return self.parts.service_catalog.catalog
        from chalicelib.adapters.service_catalog import CATALOG
        from chalicelib.core.services import ServiceCatalog

        aws = self.clients
        return lambda: ServiceCatalog.parse(self.parameters(aws).get(CATALOG))

    @cached_property
    def sweep(self) -> BudgetSweep:
        """The budget sweeper: stuck QUEUED groups sent again or failed, groups the stream never
        queued handed to it again or failed (usecases/requeue.py), then budget-waiting groups
        re-opened oldest first while budget remains."""
        from chalicelib.adapters.queue import FixQueue
        from chalicelib.core.clock import MINUTE_MS
        from chalicelib.usecases.requeue import Requeue, SweepNew
        from chalicelib.usecases.sweep import BudgetSweep

        jobs = FixQueue(self.clients.sqs, self.settings.queue_url)
        stuck = Requeue(self.store, jobs, self.metrics(), self.clock, notifier=self.notifier())
        grace = self.settings.new_grace_minutes * MINUTE_MS
        left_new = SweepNew(self.store, self.metrics(), self.clock, self.notifier(), grace_ms=grace)
        limits = self.settings.spend_limits()
        return BudgetSweep(self.store, limits, self.metrics(), requeue=stuck, sweep_new=left_new, clock=self.clock)

    def notifier(self) -> Notifier:
        """The notification topic's publisher (code fixes and runbooks share the topic)."""
        if self.parts.notifier is not None:
            return self.parts.notifier
        from chalicelib.adapters.notify import SnsNotifier

        return SnsNotifier(self.clients.client("sns"), self.settings.topic_arn)

    # --- runbooks -------------------------------------------------------------------------------

    @cached_property
    def runbook_config(self) -> RunbookConfig:
        from chalicelib.adapters.runbook_config import RunbookConfig
        from chalicelib.core.runbooks.catalog import stored_catalog

        return self.parts.runbook_config or RunbookConfig(
            self.clients.ssm, self.settings.parameter_prefix, stored_catalog
        )

    @cached_property
    def governor(self) -> GovernorStore:
        from chalicelib.adapters.governor_store import GovernorStore

        s = self.settings
        return GovernorStore(self.clients.dynamodb, s.governor_table_name, audit_days=s.governor_audit_days)

    @cached_property
    def remediate(self) -> Remediate:
        from chalicelib.adapters.executor import Executor
        from chalicelib.adapters.facts import RunbookPlanner
        from chalicelib.adapters.signals import SignalReader
        from chalicelib.core.notices import quiet_kinds
        from chalicelib.events.parse import parse_event
        from chalicelib.usecases.remediate import Remediate

        config = self.runbook_config
        aws = self.clients
        s = self.settings
        # The deployment's account (its own topic's ARN names it) and region: another's events never act.
        home = (s.topic_arn.split(":")[4] if s.topic_arn.count(":") >= 5 else "", s.region)
        try:
            quiet = quiet_kinds(s.quiet_notices)
        except ValueError as exc:
            raise ConfigError(f"SELFHEAL_QUIET_NOTICES: {exc}") from exc
        return Remediate(
            parse_event=partial(parse_event, home=home),
            planner=RunbookPlanner(config.catalog, aws.client),
            governor=self.governor,
            executor=Executor(aws.client),
            notifier=self.notifier(),
            kill_switch=config.kill_switch,
            metrics=self.metrics(),
            clock=self.clock,
            signals=SignalReader(aws.client("cloudwatch")),
            quiet=quiet,
            switch_problem=getattr(config, "kill_switch_problem", None),
        )

    @cached_property
    def approvals(self) -> Approvals:
        """Approvals: the operator's approve sends the remediator an approval event (``approval_runner``:
        the CLI's Lambda invoke; by default the handler's work in-process, as the remediator itself and
        local mode run it); the remediator re-reads, re-plans and runs with its own clients."""
        from chalicelib.adapters.executor import Executor
        from chalicelib.adapters.facts import Facts
        from chalicelib.usecases.approve import Approvals

        config, aws = self.runbook_config, self.clients
        return Approvals(
            self.governor,
            self.remediate,
            config.kill_switch,
            run=self.parts.approval_runner,
            read=Facts(aws.client).read,
            catalog=config.catalog,
            executor=Executor(aws.client),
            clock=self.clock,
        )

    def remediator(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A remediator handler's event: an operator's approval (usecases/approve.py) or an AWS event."""
        from chalicelib.usecases.approve import is_approval

        return self.approvals.carry_out(raw) if is_approval(raw) else self.remediate.handle(raw)

    # --- the pull request's fate ----------------------------------------------------------------

    def fate(self, counter: EmfCounter | None = None) -> Fate:
        """Regressions and the lazy PR read on recurrence (ingest's collaborator; counts through its counter)."""
        from chalicelib.core.clock import MINUTE_MS
        from chalicelib.usecases.fate import Fate

        s = self.settings
        return Fate(
            self.store,
            self.github_reads,
            counter or self.metrics(),
            notifier=self.notifier(),
            grace_ms=s.deploy_grace_minutes * MINUTE_MS,
            check_period_ms=s.pr_check_minutes * MINUTE_MS,
            clock=self.clock,
        )

    def github_reads(self, service: str = "default") -> PullRequestReads | None:
        """GitHub reads for the repository of ``service`` (None when it is not on a GitHub), built on
        first need from the SSM parameters: the catalog's repository of that service (the global
        repo_url for the default service, or one the catalog no longer has) and its repository's token
        (``repos/<repo_key>/github_token``, else the global one), as the fixer that opened the PR used."""
        if self.parts.github_reads is not None:
            return self.parts.github_reads
        service = service or "default"
        if service not in self._github_reads:
            self._github_reads[service] = self._build_github_reads(service)
        return self._github_reads[service]

    def _build_github_reads(self, service: str) -> PullRequestReads | None:
        from chalicelib.adapters.github_api import GitHubReads
        from chalicelib.adapters.parameters import service_config
        from chalicelib.adapters.service_catalog import CATALOG
        from chalicelib.core.repos import RepoUrlError, parse_repo_url
        from chalicelib.core.services import DEFAULT, ServiceCatalog

        values = self.parameters()
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

    @cached_property
    def webhook_secrets(self) -> SecretCache:
        """The webhook secret with its TTL (core/webhooks.SecretCache): SELFHEAL_WEBHOOK_SECRET when set
        (local use), else the SSM SecureString ``<prefix>webhook_secret``. A rotation takes effect
        within ``SECRET_TTL_MS`` without a cold start. ConfigError when neither is set."""
        from chalicelib.core.webhooks import SecretCache

        return SecretCache(self._read_webhook_secret, self.clock)

    def _read_webhook_secret(self) -> bytes:
        from chalicelib.usecases.resolve import WEBHOOK_SECRET_ENV, WEBHOOK_SECRET_PARAMETER

        if os.environ.get(WEBHOOK_SECRET_ENV):
            return os.environ[WEBHOOK_SECRET_ENV].encode()
        from chalicelib.adapters.parameters import read_parameter

        # One GetParameter of exactly this name: terraform/iam.tf (read_webhook_secret) allows nothing wider.
        value = read_parameter(self.clients.ssm, self.settings.parameter_prefix + WEBHOOK_SECRET_PARAMETER)
        if not value:
            raise ConfigError(
                f"no webhook secret: set {WEBHOOK_SECRET_ENV} or the parameter {WEBHOOK_SECRET_PARAMETER}"
            )
        return value.encode()

    def _webhook_secret(self) -> bytes:
        """The webhook secret now (cached for at most the TTL)."""
        return self.webhook_secrets.current()

    def _recheck_webhook_secret(self) -> bytes | None:
        return self.webhook_secrets.recheck()

    @cached_property
    def resolve(self) -> Resolve:
        """The webhook's use case; nothing is built or read until a signed delivery needs it."""
        from chalicelib.usecases.resolve import Resolve

        return Resolve(
            secret=self._webhook_secret,
            recheck_secret=self._recheck_webhook_secret,
            store=lambda: self.store,
            github=self.github_reads,
            metrics=self.metrics(),
            clock=self.clock,
        )

    @cached_property
    def heal_checker(self) -> HealChecker:
        from chalicelib.usecases.heal import HOUR_MS, HealChecker

        s = self.settings
        counter = self.metrics()  # one counter, flushed by the checker, for its PR reads too
        return HealChecker(
            self.store,
            counter,
            quiet_ms=s.quiet_hours * HOUR_MS,
            lookback_days=s.heal_lookback_days,
            fate=self.fate(counter),
            clock=self.clock,
        )


@cache
def _configure_logging() -> None:
    """Powertools JSON logging for every chalicelib logger, once per process."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging import utils

    utils.copy_config_to_registered_loggers(source_logger=Logger(service="selfheal"), include={"chalicelib"})


# --- the current container (what app.py and the scripts call) --------------------------------------

_current: Container | None = None


def current() -> Container:
    """The container the module-level functions use: built from the environment on first need."""
    global _current  # noqa: PLW0603 - the one piece of module state: the Lambda container's root
    if _current is None:
        _current = Container()
    return _current


def use(container: Container | None) -> Container | None:
    """Make ``container`` the current one (None: build from the environment on next need); returns the previous."""
    global _current  # the one piece of module state (see current())
    previous, _current = _current, container
    return previous


def override(**parts: Any) -> None:
    """Replace parts of the current container (names of ``Parts``; an unknown one raises
    ``TypeError``) and forget what it built."""
    use(current().replace(**parts))


def clear() -> None:
    """Drop the current container and its parts (tests; the end of a local run)."""
    use(None)


def reset() -> None:
    """Forget everything the current container built, keeping its parts (a new configuration)."""
    use(current().replace())


def settings() -> Settings:
    """The current container's settings."""
    return current().settings


def clients() -> Clients:
    """The current container's AWS clients."""
    return current().clients


def parameters(aws: Clients | None = None) -> dict[str, str]:
    """Every parameter under the prefix (``Container.parameters``)."""
    return current().parameters(aws)


def store() -> ErrorGroupStore:
    """The error-group table."""
    return current().store


def metrics() -> EmfCounter:
    """A new metrics counter."""
    return current().metrics()


def ingest() -> Ingest:
    """log_processor's use case."""
    return current().ingest


def service_catalog() -> ServiceCatalogConfig:
    """The service catalog."""
    return current().service_catalog


def enqueue() -> Enqueue:
    """stream_processor's use case."""
    return current().enqueue


def fixer() -> Fixer:
    """The configured Fixer."""
    return current().fixer()


def service_fixers(aws: Clients, announce: Callable[[str], None] | None = None) -> Fixer:
    """One fixer per service of the catalog (``Container.service_fixers``)."""
    return current().service_fixers(aws, announce)


def fix_service() -> FixService:
    """The fixer handler's use case."""
    return current().fix_service


def fixer_catalog() -> Callable[[], ServiceCatalog]:
    """The catalog as the fixer reads it."""
    return current().fixer_catalog()


def sweep() -> BudgetSweep:
    """The budget sweeper."""
    return current().sweep


def notifier() -> Notifier:
    """The notification topic's publisher."""
    return current().notifier()


def runbook_config() -> RunbookConfig:
    """The runbook catalog and switches."""
    return current().runbook_config


def governor() -> GovernorStore:
    """The governor's table."""
    return current().governor


def remediate() -> Remediate:
    """The remediator's use case."""
    return current().remediate


def approvals() -> Approvals:
    """The operator's approvals."""
    return current().approvals


def remediator(raw: dict[str, Any]) -> dict[str, Any]:
    """A remediator handler's event: an operator's approval or an AWS event."""
    return current().remediator(raw)


def fate(counter: EmfCounter | None = None) -> Fate:
    """Regressions and the lazy PR read on recurrence."""
    return current().fate(counter)


def github_reads(service: str = "default") -> PullRequestReads | None:
    """GitHub reads for the repository of ``service``."""
    return current().github_reads(service)


def resolve() -> Resolve:
    """The webhook's use case."""
    return current().resolve


def heal_checker() -> HealChecker:
    """The heal checker's use case."""
    return current().heal_checker


# --- composing a fixer (no container state: the scripts call it with their own clients) ----------


def build_fixer(config: FixConfig, aws: Clients, announce: Callable[[str], None] | None = None) -> Fixer:
    """Compose a ModelFixer from configuration: repository mode from the URL, model from the id."""
    from chalicelib.adapters.bedrock import BedrockModel, ReplayModel
    from chalicelib.adapters.git_repo import GitRepository, LocalPullRequests
    from chalicelib.adapters.github_api import GitHubPullRequests, GitHubRepository
    from chalicelib.core.localize import DEFAULT_PREFIXES
    from chalicelib.core.repos import parse_repo_url
    from chalicelib.core.services import repo_key
    from chalicelib.usecases.fix import NotConfiguredFixer
    from chalicelib.usecases.fix_generation import FixSettings, ModelFixer

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
        await_checks=True,  # every PR a draft until its checks pass (usecases/checks.py)
    )
    if config.repo_folder:
        # A monorepo service sees only its folder (usecases/service_fixers.py).
        from chalicelib.usecases.service_fixers import FolderView

        whole_repo = open_repo

        def open_repo() -> Any:
            return FolderView(whole_repo(), config.repo_folder)

    return ModelFixer(open_repo, pulls, model, settings)
