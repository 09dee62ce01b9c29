"""The sweeps' digests (core/notices.py ``stuck_new_notice``, ``stuck_jobs_notice``) and the grace's setting."""

from __future__ import annotations

import pytest

from chalicelib.adapters.settings import ENV_NEW_GRACE_MINUTES, Settings
from chalicelib.core.notices import STUCK_LISTED, stuck_jobs_notice, stuck_new_notice
from chalicelib.errors import ConfigError


def groups(n: int) -> list[tuple[str, str, str, str]]:
    return [(f"{k:032x}", "KeyError", "shop", "was NEW") for k in range(n)]


def test_no_failed_group_is_no_notice() -> None:
    assert stuck_new_notice([], 60) is None and stuck_jobs_notice([]) is None


def test_one_group_left_new_is_told_in_the_singular_with_how_to_retry() -> None:
    notice = stuck_new_notice(groups(1), 60)
    assert notice is not None and notice.title == "❌ 1 error group never became a fix job"
    assert "this group" in notice.description and "60 min" in notice.description
    assert f"{0:012x} KeyError in shop (was NEW)" in notice.description
    assert any("selfheal.py retry" in step for step in notice.next_steps)


def test_a_flood_of_failed_groups_is_one_bounded_digest() -> None:
    # GIVEN a run that failed far more groups than a person reads
    notice = stuck_jobs_notice(groups(STUCK_LISTED + 30))
    # THEN one notice: the first STUCK_LISTED named, the rest counted, where to see them all
    assert notice is not None and notice.kind == "selfheal.fix.stuck"
    assert notice.title == f"❌ {STUCK_LISTED + 30} fix jobs never reached the fixer"
    named = [line for line in notice.description.splitlines() if line.startswith(f"- {0:08x}")]
    assert len(named) == STUCK_LISTED
    assert "- and 30 more: `selfheal.py status --status FAILED`" in notice.description
    assert notice.context["groups"] == str(STUCK_LISTED + 30)


def test_the_grace_is_a_setting_of_at_least_a_minute() -> None:
    assert Settings().new_grace_minutes == 60
    assert Settings.from_env({ENV_NEW_GRACE_MINUTES: "15"}).new_grace_minutes == 15
    with pytest.raises(ConfigError, match=ENV_NEW_GRACE_MINUTES):
        Settings.from_env({ENV_NEW_GRACE_MINUTES: "0"})
