"""Business hours answer for an instant, on the calendar's own wall clock: ranges, holidays, time
zones and daylight-saving changes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.calendars.hours import BusinessHours, Holiday
from hotline.config.loader import load_config, template_path
from hotline.config.service import business_hours
from hotline.routing.types import OpenHours

MOSCOW = "Europe/Moscow"
DAILY_8_TO_22 = {day: [(8 * 60, 22 * 60)] for day in range(7)}


def at(zone: str, year: int, month: int, day: int, hour: int, minute: int, second: int) -> float:
    """Epoch seconds of a wall-clock time in `zone`."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone)).timestamp()


@pytest.mark.parametrize(
    ("clock", "is_open"),
    [
        ((7, 59, 59), False),
        ((8, 0, 0), True),
        ((13, 30, 0), True),
        ((21, 59, 59), True),
        ((22, 0, 0), False),
        ((0, 0, 0), False),
    ],
)
def test_a_range_opens_at_its_start_and_closes_at_its_end(
    clock: tuple[int, int, int], is_open: bool
) -> None:
    hours = BusinessHours(timezone=MOSCOW, weekly=DAILY_8_TO_22)
    assert hours.is_open(at(MOSCOW, 2025, 3, 4, *clock)) is is_open


def test_hours_are_read_on_the_calendars_own_clock() -> None:
    moscow = BusinessHours(timezone=MOSCOW, weekly=DAILY_8_TO_22)
    vladivostok = BusinessHours(timezone="Asia/Vladivostok", weekly=DAILY_8_TO_22)
    instant = at(MOSCOW, 2025, 3, 4, 9, 0, 0)  # 16:00 in Vladivostok, 06:00 UTC
    assert moscow.is_open(instant)
    assert vladivostok.is_open(instant)
    late = at(MOSCOW, 2025, 3, 4, 16, 0, 0)  # 23:00 in Vladivostok
    assert moscow.is_open(late)
    assert not vladivostok.is_open(late)


def test_opening_follows_the_wall_clock_across_a_daylight_saving_change() -> None:
    new_york = BusinessHours(
        timezone="America/New_York", weekly={day: [(9 * 60, 17 * 60)] for day in range(5)}
    )
    # 13:30 UTC is 08:30 on Friday 7 March 2025 (EST) but 09:30 on Monday 10 March (EDT).
    assert not new_york.is_open(datetime(2025, 3, 7, 13, 30, tzinfo=ZoneInfo("UTC")).timestamp())
    assert new_york.is_open(datetime(2025, 3, 10, 13, 30, tzinfo=ZoneInfo("UTC")).timestamp())


def test_holidays_close_the_whole_day_yearly_or_once() -> None:
    hours = BusinessHours(
        timezone=MOSCOW,
        weekly=DAILY_8_TO_22,
        holidays=[Holiday(month=1, day=1), Holiday(month=6, day=13, year=2025)],
    )
    assert not hours.is_open(at(MOSCOW, 2025, 1, 1, 12, 0, 0))
    assert not hours.is_open(at(MOSCOW, 2031, 1, 1, 12, 0, 0))
    assert hours.is_open(at(MOSCOW, 2025, 1, 2, 12, 0, 0))
    assert not hours.is_open(at(MOSCOW, 2025, 6, 13, 12, 0, 0))
    assert hours.is_open(at(MOSCOW, 2026, 6, 13, 12, 0, 0))


def test_a_holiday_is_a_local_date() -> None:
    hours = BusinessHours(
        timezone=MOSCOW, weekly={d: [(0, 1440)] for d in range(7)}, holidays=[Holiday(1, 1)]
    )
    # 31 December 22:00 UTC is already 1 January 01:00 in Moscow.
    assert not hours.is_open(datetime(2024, 12, 31, 22, 0, tzinfo=ZoneInfo("UTC")).timestamp())
    assert hours.is_open(datetime(2024, 12, 31, 20, 0, tzinfo=ZoneInfo("UTC")).timestamp())


def test_a_day_can_have_a_break_and_close_at_midnight() -> None:
    hours = BusinessHours(timezone=MOSCOW, weekly={0: [(14 * 60, 18 * 60), (20 * 60, 1440)]})
    monday = (2025, 3, 3)
    assert hours.is_open(at(MOSCOW, *monday, 14, 0, 0))
    assert not hours.is_open(at(MOSCOW, *monday, 19, 0, 0))
    assert hours.is_open(at(MOSCOW, *monday, 23, 59, 59))
    assert not hours.is_open(at(MOSCOW, 2025, 3, 4, 0, 0, 0))  # Tuesday: no ranges


def test_a_range_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="bad range"):
        BusinessHours(timezone=MOSCOW, weekly={0: [(600, 500)]})


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_around_the_clock_is_always_open(instant: float) -> None:
    assert BusinessHours.always(MOSCOW).is_open(instant)


def test_the_covid_calendars_become_business_hours_for_the_router() -> None:
    config = load_config(template_path("covid"))
    city = business_hours(next(c for c in config.calendars if c.id == "city"))
    ministry = business_hours(next(c for c in config.calendars if c.id == "ministry"))
    routed: OpenHours = city
    assert routed.is_open(at(MOSCOW, 2025, 3, 8, 21, 0, 0))  # a Saturday evening
    assert not city.is_open(at(MOSCOW, 2025, 5, 9, 12, 0, 0))  # Victory Day
    assert not ministry.is_open(at(MOSCOW, 2025, 3, 8, 12, 0, 0))  # Saturday
    assert not ministry.is_open(at(MOSCOW, 2025, 3, 4, 13, 30, 0))  # lunch
    assert ministry.is_open(at(MOSCOW, 2025, 3, 4, 10, 0, 0))
