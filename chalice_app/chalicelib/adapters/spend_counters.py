"""Spend counters of the error-group table: one small counter item per budget window.

    ~budget~<name>~<start>           a window's units of a named budget (``take_budget``), TTL'd
    ~budget~spend~<day>              the deployment's fix jobs of the day (``jobs``), of each hour
                                     (``h00``..``h23``) and the day's model tokens (``tokens_in``,
                                     ``tokens_out``) (core/spend.py decide_spend)
    ~budget~spend~svc~<service>~<day>  the same for a service with limits of its own (scope = its name)

    take job     day counter: ADD jobs 1, h<HH> 1        if day_jobs_left AND hour_jobs_left
    give back    day counter: ADD jobs -1, h<HH> -1      (a service's unit, its job refused by the deployment's)
    tokens       day counter: ADD tokens_in, tokens_out  (after the fact: a soft ceiling)
    budget       counter item: ADD used 1                if budget_left

Both job windows live on one item, so a take is one conditional write: the day's unit is never
taken when the hour refuses, nor the hour's when the day does. What a group waiting for budget
holds is the group's (adapters/groups.py: skip_for_spend, job_sent, defer_claimed, resume).
A counter has no status: ``scan`` skips it and the stream turns it into no job.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.adapters.table import DAY, Table, Update, all_of
from chalicelib.adapters.table import av as _av
from chalicelib.adapters.table import plain as _plain
from chalicelib.core.spend import DAY_MS, HOUR_MS, SpendState, day_start
from chalicelib.errors import Conflict

__all__ = ["BUDGET_PREFIX", "SpendCounters"]

BUDGET_PREFIX = "~budget~"
BUDGET_LEFT = "(attribute_not_exists(#used) OR #used < :limit)"
DAY_JOBS_LEFT = "(attribute_not_exists(#jobs) OR #jobs < :per_day)"


class SpendCounters(Table):
    """The table's budget counters (``~budget~`` items). ``now`` arguments are epoch milliseconds."""

    def take_budget(self, name: str, window_start_s: int, window_s: int, limit: int) -> bool:
        """Take one unit of the ``name`` budget of the window starting at ``window_start_s``;
        False when ``limit`` units were already taken. The counter item expires after a day."""
        update = Update().add("used", 1).set("expires_at", window_start_s + window_s + DAY)
        try:
            self._update(
                f"{BUDGET_PREFIX}{name}~{window_start_s}", update.request(BUDGET_LEFT, limit=limit), "NONE", "budget"
            )
        except Conflict:
            return False
        return True

    @staticmethod
    def _spend_key(now: int, scope: str = "") -> str:
        """The day's counter item: ``~budget~spend~<day>`` for the deployment (scope ""), and
        ``~budget~spend~svc~<service>~<day>`` for a service with limits of its own (scope = its name)."""
        day = day_start(now) // 1000
        return f"{BUDGET_PREFIX}spend~svc~{scope}~{day}" if scope else f"{BUDGET_PREFIX}spend~{day}"

    @staticmethod
    def _hour_attr(now: int) -> str:
        return f"h{now % DAY_MS // HOUR_MS:02d}"

    def spend_state(self, now: int, scope: str = "") -> SpendState:
        """The counters of the day and hour holding ``now``, read consistently (``scope``: "" the
        deployment's, else the service's own counters)."""
        try:
            item = self._db.get_item(
                TableName=self._table, Key={"fingerprint": _av(self._spend_key(now, scope))}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise translate(exc, "DynamoDB read of the spend counters") from exc
        plain = _plain(item or {})
        return SpendState(
            hour_used=int(plain.get(self._hour_attr(now), 0)),
            day_used=int(plain.get("jobs", 0)),
            tokens_today=int(plain.get("tokens_in", 0)) + int(plain.get("tokens_out", 0)),
        )

    def take_fix_job(self, now: int, per_hour: int, per_day: int, scope: str = "") -> bool:
        """Take one fix job of the hour's and the day's budgets at once (0: no limit for that window)
        of ``scope`` ("" the deployment, else a service); False, taking nothing, when either is spent."""
        hour = self._hour_attr(now)
        update = Update().add("jobs", 1).add(hour, 1).set("expires_at", (day_start(now) + DAY_MS) // 1000 + DAY)
        conditions: list[str] = []
        values: dict[str, object] = {}
        if per_day > 0:
            conditions.append(DAY_JOBS_LEFT)
            values["per_day"] = per_day
        if per_hour > 0:
            conditions.append(f"(attribute_not_exists(#{hour}) OR #{hour} < :per_hour)")
            values["per_hour"] = per_hour
        # DynamoDB refuses redundant parentheses: one condition stands alone.
        condition = conditions[0] if len(conditions) == 1 else all_of(*conditions) if conditions else ""
        try:
            self._update(self._spend_key(now, scope), update.request(condition, **values), "NONE", "fix job budget")
        except Conflict:
            return False
        return True

    def give_back_fix_job(self, now: int, scope: str) -> None:
        """Return a unit ``take_fix_job`` took (its job did not leave: the other scope refused).
        Unconditional: a decrement can only make room, never exceed a limit."""
        update = Update().add("jobs", -1).add(self._hour_attr(now), -1)
        self._update(self._spend_key(now, scope), update.request(), "NONE", "fix job budget returned")

    def add_spent_tokens(self, now: int, tokens_in: int, tokens_out: int, scope: str = "") -> None:
        """Count model tokens in the day's counter of ``scope`` (recorded after the model answered)."""
        if tokens_in <= 0 and tokens_out <= 0:
            return
        update = Update().add("tokens_in", max(0, tokens_in)).add("tokens_out", max(0, tokens_out))
        update.set("expires_at", (day_start(now) + DAY_MS) // 1000 + DAY)
        self._update(self._spend_key(now, scope), update.request(), "NONE", "token count")
