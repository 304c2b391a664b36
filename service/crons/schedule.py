"""Cron expressions, read by `croniter` in a timezone: are they valid, and when do they fire next.

Five fields (minute hour day-of-month month day-of-week), `@daily`-style aliases, and croniter's
optional seconds (sixth) and year (seventh) fields, as LangGraph Server accepts them. A schedule
is read in its IANA timezone (UTC when none), so `0 9 * * *` in `Europe/Paris` fires at 9:00
Paris time across daylight-saving changes; times are stored and answered in UTC. A schedule may
fire no more often than the `cron_min_interval_s` setting allows (`check_interval`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from threadloom.service.errors import InvalidRequest

# How many upcoming fires `check_interval` compares: enough to meet the shortest gap of any
# schedule whose gaps vary (`0,1 * * * *`) within its first cycle of minutes or seconds.
_FIRES_COMPARED = 64
_FORMAT_HINT = (
    "Ensure the schedule uses the standard cron format (minute hour day_of_month month "
    "day_of_week). Example: '*/5 * * * *' for every 5 minutes."
)


def check_timezone(timezone: str | None) -> str | None:
    """`timezone` if it names an IANA timezone (or is None); 422 otherwise."""
    if timezone is None:
        return None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(
            f"Invalid timezone: '{timezone}'. Use IANA timezone format (e.g. 'America/New_York')."
        ) from None
    return timezone


def first_run(schedule: str, after: datetime, timezone: str | None) -> datetime:
    """When a new or changed schedule first fires after `after`; 422 if the expression is
    invalid or never fires (the 31st of February)."""
    if not croniter.is_valid(schedule):
        raise InvalidRequest(f"Invalid cron schedule: '{schedule}'. {_FORMAT_HINT}")
    moment = next_run(schedule, after, timezone)
    if moment is None:
        raise InvalidRequest(f"Cron schedule '{schedule}' never fires. {_FORMAT_HINT}")
    return moment


def next_run(schedule: str, after: datetime, timezone: str | None) -> datetime | None:
    """The first time after `after` that a valid `schedule` fires, in UTC; None if it never
    fires again (a past year, an impossible date)."""
    local = after.astimezone(ZoneInfo(timezone) if timezone else UTC)
    try:
        return croniter(schedule, local).get_next(datetime).astimezone(UTC)
    except CroniterBadDateError:
        return None


def check_interval(schedule: str, min_interval_s: float) -> None:
    """422 unless a valid `schedule` leaves at least `min_interval_s` between fires (a
    seconds field such as `*/1 * * * * *` fires every second, and would start a run each)."""
    fires = croniter(schedule, datetime(2026, 1, 1, tzinfo=UTC))
    try:
        moments = [fires.get_next(float) for _ in range(_FIRES_COMPARED)]
    except CroniterBadDateError:  # it stops firing: what it fired is compared below
        moments = []
    for previous, moment in pairwise(moments):
        if moment - previous < min_interval_s:
            raise InvalidRequest(
                f"Cron schedule '{schedule}' fires {moment - previous:g} s apart; schedules may "
                f"fire at most once every {min_interval_s:g} s (THREADLOOM_CRON_MIN_INTERVAL_S)."
            )
