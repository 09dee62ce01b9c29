"""Loop protection: the marks selfheal leaves on what it changes, and how an event or a read shows them.

What is knowable, and where (documented in docs/runbooks.md):

- An instance selfheal quarantined carries the tag ``MARKER_TAG`` (value: the runbook; only runbooks
  whose result itself raises events mark, so a rebooted instance can be rebooted again). GuardDuty
  findings list the instance's tags (``resource.instanceDetails.tags``) and AWS Health events may
  list the entity's tags (``affectedEntities[].tags``): the event itself shows the mark.
- A GuardDuty finding about API calls (``resource.accessKeyDetails``) names the principal that made
  them: when that is selfheal's own role (its name starts with ``principal``) the finding was caused
  by selfheal's action (e.g. the security-group changes of ``ec2-isolate``).
- Alarm events carry no resource tags and no principal: the mark is seen only after the facts read
  (``marked_by_selfheal`` on the tags the read returned).
- ECS deployment events do not say who started a deployment (only CloudTrail does); selfheal does not
  subscribe to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# Tag selfheal puts on a resource it holds in a changed state (value: the runbook), e.g. ec2-isolate.
MARKER_TAG = "selfheal:action"
# Default prefix of selfheal's IAM role names (<name_prefix>-<stage>-<function>).
DEFAULT_PRINCIPAL = "selfheal-"


def tag_map(tags: Iterable[Mapping[str, object]] | Mapping[str, object] | None) -> dict[str, str]:
    """Tags as a plain map, from AWS's ``[{"Key"|"key", "Value"|"value"}]`` list or a map already.

    Anything else (a malformed event) reads as no tags.
    """
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    if not isinstance(tags, list):
        return {}
    out: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, dict):
            continue
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return out


def marked_by_selfheal(tags: Mapping[str, str]) -> str:
    """Why the tags show selfheal already acted on this resource, or '' when they do not."""
    runbook = tags.get(MARKER_TAG)
    return f"the resource carries selfheal's tag {MARKER_TAG}={runbook}" if runbook is not None else ""


def is_own_principal(name: str, principal: str = DEFAULT_PRINCIPAL) -> bool:
    """True when an IAM user/role/session name is selfheal's own (its name starts with ``principal``)."""
    return bool(name) and bool(principal) and name.startswith(principal)
