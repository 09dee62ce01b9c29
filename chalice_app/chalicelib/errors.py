"""The SelfHealError hierarchy: what went wrong, and what the caller should do about it."""

from __future__ import annotations


class SelfHealError(Exception):
    """Base class for every error selfheal raises on purpose."""


class PayloadError(SelfHealError):
    """Malformed input: report the record failed so the dead-letter queue keeps it."""


class TransientError(SelfHealError):
    """Throttling, timeouts, lost races: report the record failed so it is retried."""


class ConfigError(SelfHealError):
    """Missing or invalid configuration: fail at cold start, loudly."""


class FixRejected(SelfHealError):  # noqa: N818 - a result, not a failure
    """A fix attempt ended with a recorded reason (FAILED / SKIPPED); the record succeeded."""


class Conflict(SelfHealError):  # noqa: N818 - a result, not a failure
    """A conditional write lost to another writer: the state moved on; a result to record, not retry blindly."""


class NotFound(SelfHealError):  # noqa: N818 - a fact about the world
    """The resource an action names does not exist (any more)."""


class Refused(SelfHealError):  # noqa: N818 - a result, not a failure
    """A person's request that cannot be honoured (approve an expired plan, resume a running resource), with why."""


class InvalidTransition(Conflict):
    """A conditional status change was refused: the group is not in a state that allows it.

    ``group`` is the group as read after the refusal (None when it does not exist), so the caller
    can tell "busy" from "done" without reading it again.
    """

    def __init__(self, fingerprint: str, target: str, current: str | None, group: object | None = None) -> None:
        super().__init__(f"group {fingerprint} cannot move to {target} from {current or 'nowhere'}")
        self.fingerprint = fingerprint
        self.target = target
        self.current = current
        self.group = group


class RetryLimitReached(SelfHealError):  # a fact about the group, not a failure of this call
    """The group used its attempts; the message is reported failed so SQS moves it to the DLQ."""
