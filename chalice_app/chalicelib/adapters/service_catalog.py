"""The service catalog from SSM Parameter Store: ``<prefix>services/catalog`` (SecureString, JSON).

Absent → the default catalog (one service, ``default``, owning every log group), so a deployment
from before services keeps working. Read with GetParameter and cached for CATALOG_SECONDS per
container, like the runbook catalog (adapters/runbook_config.py): a change reaches every container
within a minute. The document is validated by core/services.py; an invalid one is a ConfigError
(the delivery fails loudly and is retried, never routed by a guess).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.parameters import read_parameter
from chalicelib.core.services import ServiceCatalog

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

CATALOG_SECONDS = 60
CATALOG = "services/catalog"


class ServiceCatalogConfig:
    """Reads (and caches) the service catalog for log_processor and the fixer."""

    def __init__(self, ssm_client: Any, prefix: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._ssm = ssm_client
        self._prefix = prefix
        self._clock = clock
        self._catalog: ServiceCatalog | None = None
        self._read_at = float("-inf")

    def catalog(self) -> ServiceCatalog:
        """The catalog, at most CATALOG_SECONDS old; ConfigError when the stored JSON is invalid,
        TransientError when SSM throttles."""
        if self._catalog is None or self._clock() - self._read_at > CATALOG_SECONDS:
            self._catalog = ServiceCatalog.parse(self._get())
            self._read_at = self._clock()
        return self._catalog

    def _get(self) -> str | None:
        return read_parameter(self._ssm, self._prefix + CATALOG)
