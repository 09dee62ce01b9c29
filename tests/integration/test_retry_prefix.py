"""`selfheal retry PREFIX`: a prefix that names several groups is refused in one line that lists them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import selfheal

from chalicelib import runtime
from tests.fate_fixtures import T0, observation

if TYPE_CHECKING:
    from tests.integration.conftest import Aws

pytestmark = pytest.mark.integration


def test_an_ambiguous_prefix_lists_the_candidates_and_exits_2(aws: Aws, capsys: pytest.CaptureFixture) -> None:
    # GIVEN two groups
    store = runtime.store()
    seen = [observation(T0, variant=v) for v in ("_a", "_b")]
    for s in seen:
        store.record(s, T0)
    options = ["--endpoint-url", aws.settings.endpoint_url, "--table", aws.settings.table_name]
    capsys.readouterr()
    # WHEN retry is given a prefix both share (the empty one)
    code = selfheal.main(["retry", "", *options])
    # THEN one line names both, exit 2, nothing re-opened
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "2 groups match" in err
    assert all(s.fingerprint in err for s in seen)
