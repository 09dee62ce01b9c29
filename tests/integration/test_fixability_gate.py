"""The fixability gate through the real stream handler and store against the moto server: a group
that is not a code fault is SKIPPED with its class and reason before any budget unit or token is
spent; a code group is queued with its class recorded; the catalog's overrides and a person's
`retry` send a group through anyway.

Gap covered: the unit and property tests check the pure classifier; these check the conditional
QUEUED → SKIPPED write, the fields on the item, the day's counter left untouched, the queue and
the batch's notice on real DynamoDB / SQS APIs (moto).
"""

from __future__ import annotations

import pytest

from chalicelib.core.logs_payload import decode_batch
from chalicelib.core.models import Status
from chalicelib.core.services import ServiceCatalog
from chalicelib.core.spend import SpendLimits
from tests.factories import encode_payload, payload
from tests.integration.test_spend import Pipeline

pytestmark = pytest.mark.integration

VALIDATION = """Traceback (most recent call last):
  File "/var/task/orders/parse.py", line 17, in parse_order
    raise ValueError(f"invalid currency code: {raw['currency']!r}")
ValueError: invalid currency code: 'EURO'"""
OUTAGE = """Traceback (most recent call last):
  File "/var/task/shipping/client.py", line 57, in quote
    r = self.session.post(self.url, json=payload, timeout=(3, 10))
  File "/var/lang/lib/python3.11/site-packages/requests/adapters.py", line 532, in send
    raise ReadTimeout(e, request=request)
requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='rates.example', port=443): Read timed out."""
BUG = """Traceback (most recent call last):
  File "/var/task/orders/service.py", line 77, in total
    return order.discount.rate * order.subtotal
AttributeError: 'NoneType' object has no attribute 'rate'"""


def _deliver(p: Pipeline, *traces: str) -> dict[str, str]:
    """One delivery of the traces, the stream drained; returns the fingerprint of each trace."""
    p.ingest.handle(decode_batch(encode_payload(payload(list(traces)))))
    p.stream()
    groups = p.store.scan()
    return {t: next(g.fingerprint for g in groups if g.sample.strip().endswith(t.splitlines()[-1])) for t in traces}


def test_input_and_environment_are_skipped_before_any_spend_and_code_is_queued(aws) -> None:
    p = Pipeline(aws, SpendLimits(fixes_per_hour=5, fixes_per_day=10))
    # WHEN a validation error, an outage and a bug arrive in one batch
    fps = _deliver(p, VALIDATION, OUTAGE, BUG)
    rejected, outage, bug = (p.group(fps[t]) for t in (VALIDATION, OUTAGE, BUG))
    # THEN the first two are SKIPPED with their class and reason, the bug is queued as code
    assert (rejected.status, rejected.fixability) == (Status.SKIPPED, "input")
    assert rejected.reason.startswith("not a code fault (input): ValueError raised on purpose at /var/task/orders")
    assert (outage.status, outage.fixability) == (Status.SKIPPED, "environment")
    assert "ReadTimeout is a timeout" in outage.fixability_reason
    assert (bug.status, bug.fixability) == (Status.QUEUED, "code")
    # and only the bug took a unit of the hour's budget; the skipped groups wait for nothing
    assert p.store.spend_state(p.clock.now).hour_used == 1
    assert rejected.wait == outage.wait == "" and rejected.auto_jobs == 0
    # and the outage is named in the batch's environment notice
    [notice] = [n for n in p.notices.sent if n.kind == "selfheal.fix.environment"]
    assert outage.fingerprint[:12] in notice.description and "ReadTimeout" in notice.description
    # and the queue holds the bug's job alone: the fixer is never called for the skipped groups
    assert p.run_jobs() == [Status.PR_OPENED]
    assert p.fixer.fixed == [bug.fingerprint]


def test_the_catalog_always_fixes_and_a_persons_retry_overrides_the_class(aws) -> None:
    p = Pipeline(aws, SpendLimits())
    doc = '{"services": [{"name": "default", "log_groups": ["*"], "always_fix": ["ReadTimeout"]}]}'
    catalog = ServiceCatalog.parse(doc)
    p.enqueue._services = lambda: catalog
    fps = _deliver(p, VALIDATION, OUTAGE)
    # THEN the always-fixed type is queued as code, the validation error SKIPPED
    assert p.group(fps[OUTAGE]).status == Status.QUEUED
    assert p.group(fps[OUTAGE]).fixability_reason == "the service's catalog always fixes ReadTimeout"
    assert p.group(fps[VALIDATION]).status == Status.SKIPPED
    # WHEN a person re-opens the validation group with `selfheal retry`
    p.store.reopen(fps[VALIDATION], p.clock(), by="retry")
    p.stream()
    # THEN it is queued, its class kept with the override said
    group = p.group(fps[VALIDATION])
    assert (group.status, group.fixability) == (Status.QUEUED, "input")
    assert group.fixability_reason.endswith("(fixed anyway: re-opened by a person)")
