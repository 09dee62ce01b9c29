"""The runbook catalog and the kill switch, from SSM Parameter Store under the prefix.

- ``<prefix>runbooks/catalog``: the catalog as JSON (Terraform renders it from a typed variable);
  absent → the default catalog. Cached for CATALOG_SECONDS: a change reaches every container soon.
- ``<prefix>runbooks/kill_switch``: ``on`` turns every runbook to dry-run, ``off`` lets them act. Read
  on every event, never cached, so it takes effect within one invocation. Fail safe: when it cannot
  be read (throttled, denied), is absent (deleted) or holds neither word, automation acts as if it
  were on, and ``kill_switch_problem`` says why (the verifier tells a person once an hour).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import error_code, translate

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

CATALOG_SECONDS = 60
CATALOG = "runbooks/catalog"
KILL_SWITCH = "runbooks/kill_switch"
_ON = frozenset({"on", "true", "1", "yes", "enabled"})
_OFF = frozenset({"off", "false", "0", "no", "disabled"})


class RunbookConfig:
    """Reads the catalog (cached) and the kill switch (every time) for the remediator."""

    def __init__(
        self,
        ssm_client: Any,
        prefix: str,
        parse_catalog: Callable[[str | None], Any],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ssm = ssm_client
        self._prefix = prefix
        self._parse = parse_catalog
        self._clock = clock
        self._catalog: Any = None
        self._catalog_at = float("-inf")
        self._switch_problem = ""

    def catalog(self) -> Any:
        """The parsed catalog; ConfigError when the stored JSON is invalid (the parser says why)."""
        if self._catalog is None or self._clock() - self._catalog_at > CATALOG_SECONDS:
            self._catalog = self._parse(self._get(CATALOG))
            self._catalog_at = self._clock()
        return self._catalog

    def kill_switch(self) -> bool:
        """True when automation must only dry-run: the switch is on, or its state cannot be read."""
        try:
            value = self._get(KILL_SWITCH)
        except Exception as exc:  # noqa: BLE001 - fail safe on any failure to read the switch
            log.warning("kill switch unreadable: acting as if it were on", exc_info=True)
            self._switch_problem = f"the kill switch {self._prefix}{KILL_SWITCH} could not be read: {exc}"
            return True
        word = (value or "").strip().lower()
        if word in _OFF:
            self._switch_problem = ""
            return False
        if value is None:
            self._switch_problem = f"the kill switch {self._prefix}{KILL_SWITCH} does not exist (deleted?)"
        elif word not in _ON:
            self._switch_problem = f"the kill switch holds {value[:40]!r}, neither on nor off"
        else:
            self._switch_problem = ""
        if self._switch_problem:
            log.warning("%s: acting as if it were on", self._switch_problem)
        return True

    def kill_switch_problem(self) -> str:
        """Why the last read of the kill switch counted as on without saying ``on`` ('' when it said on or off)."""
        return self._switch_problem

    def set_kill_switch(self, on: bool) -> None:
        """Write the switch (operators' command). A deployed switch keeps its type and key (Terraform
        made it a SecureString); one that does not exist yet (a local stack) is created."""
        new = {} if self._get(KILL_SWITCH) is not None else {"Type": "String"}
        try:
            self._ssm.put_parameter(Name=self._prefix + KILL_SWITCH, Value="on" if on else "off", Overwrite=True, **new)
        except ClientError as exc:
            raise translate(exc, "SSM PutParameter kill_switch") from exc

    def _get(self, name: str) -> str | None:
        try:
            answer = self._ssm.get_parameter(Name=self._prefix + name, WithDecryption=True)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise translate(exc, f"SSM GetParameter {name}") from exc
        return str(answer["Parameter"]["Value"])
