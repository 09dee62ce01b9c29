"""`selfheal status` shows the new states and what happened to each group's pull request."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import selfheal

from chalicelib import runtime
from chalicelib.core.models import Status
from tests.fate_fixtures import HOUR, T0, observation, open_pr

if TYPE_CHECKING:
    import pytest

    from tests.integration.conftest import Aws

MERGED_MS = T0 + 3 * HOUR


def test_status_shows_merged_rejected_with_the_review_and_regressed(aws: Aws, capsys: pytest.CaptureFixture) -> None:
    store = runtime.store()
    merged, rejected = observation(T0, variant="_m"), observation(T0, variant="_r")
    open_pr(store, merged, "https://github.com/acme/shop/pull/1", T0 + HOUR)
    open_pr(store, rejected, "https://github.com/acme/shop/pull/2", T0 + HOUR)
    store.mark_merged(merged.fingerprint, "https://github.com/acme/shop/pull/1", MERGED_MS, MERGED_MS)
    store.regress(merged.fingerprint, MERGED_MS + 2 * HOUR, 30 * 60_000, MERGED_MS + 2 * HOUR)
    review = "@acme (review CHANGES_REQUESTED): the caller should never pass None\n\nsecond paragraph"
    store.mark_rejected(rejected.fingerprint, "https://github.com/acme/shop/pull/2", "rejected: closed", review, T0)
    options = ["--endpoint-url", aws.settings.endpoint_url, "--table", aws.settings.table_name]

    assert selfheal.main(["status", *options]) == 0
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "REJECTED" in out
    assert "merged 2026-11-18 14:06 UTC; regressed 1x, last 2026-11-18 16:06 UTC" in out
    assert "review: @acme (review CHANGES_REQUESTED): the caller should never pass None second paragraph" in out

    assert selfheal.main(["status", "--json", "--status", Status.REJECTED, *options]) == 0
    [row] = json.loads(capsys.readouterr().out)["groups"]
    assert row["status"] == Status.REJECTED and row["review_reason"] == review and row["merged_at"] == 0


def test_selfheal_retry_reopens_a_rejected_group_by_hand(aws: Aws, capsys: pytest.CaptureFixture) -> None:
    store = runtime.store()
    seen = observation(T0, variant="_retry")
    open_pr(store, seen, "https://github.com/acme/shop/pull/5", T0 + HOUR)
    store.mark_rejected(seen.fingerprint, "https://github.com/acme/shop/pull/5", "rejected: closed", "no", T0)
    options = ["--endpoint-url", aws.settings.endpoint_url, "--table", aws.settings.table_name]
    assert selfheal.main(["retry", seen.fingerprint[:12], *options]) == 0
    assert store.get(seen.fingerprint).status == Status.NEW and "re-opened" in capsys.readouterr().out
