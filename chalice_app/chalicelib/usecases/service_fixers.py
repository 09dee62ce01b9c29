"""One fixer per service: the Fixer the fix service runs when the deployment has a service catalog.

    group.service ──catalog.get──▶ Service ──build (once per catalog entry)──▶ ModelFixer ──▶ PR
                                       │ not in the catalog → SKIPPED, with the reason
                                       └ misconfigured (ConfigError) → FAILED, with the reason

Each service's fixer has its own repository (and folder of a monorepo: ``FolderView``), path
prefixes, labels, draft choice, minimum occurrences, model and reviewers (adapters/parameters.py
``service_config``). Fixers are built on first use and cached by catalog entry, so a changed
entry builds a new one and a service that is never fixed costs nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalicelib.core.models import FixOutcome, Status
from chalicelib.core.services import folder_paths, in_folder
from chalicelib.errors import ConfigError, FixRejected

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from contextlib import AbstractContextManager

    from chalicelib.core.models import ErrorGroup
    from chalicelib.core.services import Service, ServiceCatalog
    from chalicelib.usecases.fix import Fixer, Lease
    from chalicelib.usecases.fix_generation import Repository

log = logging.getLogger(__name__)
MAX_CACHED = 256


class ServiceFixers:
    """A Fixer that hands each group to its service's fixer."""

    def __init__(self, catalog: Callable[[], ServiceCatalog], build: Callable[[Service], Fixer]) -> None:
        self._catalog = catalog
        self._build = build
        self._fixers: dict[Service, Fixer] = {}

    def fixer_for(self, service: Service) -> Fixer:
        """The service's fixer, built on first use (ConfigError when its configuration is wrong)."""
        fixer = self._fixers.get(service)
        if fixer is None:
            if len(self._fixers) >= MAX_CACHED:
                self._fixers.clear()
            fixer = self._fixers[service] = self._build(service)
        return fixer

    def fix(self, group: ErrorGroup, lease: Lease) -> FixOutcome:
        """Fix ``group`` with its service's fixer; SKIPPED when the catalog has no such service,
        FixRejected (FAILED, not retried) when the service's configuration is wrong."""
        service = self._catalog().get(group.service)
        if service is None:
            return FixOutcome(Status.SKIPPED, f"service {group.service!r} is not in the service catalog")
        try:
            fixer = self.fixer_for(service)
        except ConfigError as exc:
            log.error("service misconfigured: %s", exc, extra={"service": service.name})
            raise FixRejected(f"service {service.name!r} is misconfigured: {exc}"[:1000]) from exc
        return fixer.fix(group, lease)


class FolderView:
    """A repository seen through one folder of a monorepo.

    ``paths`` lists only the folder's files (so frames map only into the service's own code), with
    their full repository paths (so the model's edits, the commit and the PR name real paths);
    ``read`` of a path outside the folder is None and ``publish`` refuses one (FixRejected).
    """

    def __init__(self, opened: AbstractContextManager[Repository], folder: str) -> None:
        self._opened = opened
        self._folder = folder.strip("/")
        self._repo: Any = None

    def __enter__(self) -> FolderView:
        self._repo = self._opened.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._opened.__exit__(*exc)

    @property
    def default_branch(self) -> str:
        return str(self._repo.default_branch)

    @property
    def repository(self) -> Repository:
        """The whole repository, for what GitHub reads at its root (CODEOWNERS), never for code."""
        return self._repo  # type: ignore[no-any-return]

    @property
    def search_files(self) -> int:
        return int(getattr(self._repo, "search_files", 600))

    def paths(self) -> list[str]:
        return folder_paths(self._repo.paths(), self._folder)

    def read(self, path: str) -> str | None:
        return self._repo.read(path) if in_folder(path, self._folder) else None

    def mode(self, path: str) -> str | None:
        return self._repo.mode(path) if in_folder(path, self._folder) else None

    def use_branch(self, branch: str) -> None:
        """Read and publish on ``branch``'s head (a repair after red checks: usecases/checks.py)."""
        self._repo.use_branch(branch)

    def publish(self, branch: str, files: Mapping[str, str], message: str) -> str:
        outside = sorted(p for p in files if not in_folder(p, self._folder))
        if outside:
            raise FixRejected(f"edits outside the service's folder {self._folder}: {', '.join(outside)[:300]}")
        return str(self._repo.publish(branch, files, message))
