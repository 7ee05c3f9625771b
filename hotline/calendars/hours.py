"""Business hours as a pure object the routing engine asks: `is_open(epoch_seconds)`.

It implements `hotline.routing.types.OpenHours`. Ranges are wall-clock times in the calendar's own
time zone (zoneinfo), so a queue open 08:00-22:00 in Moscow opens at 08:00 there whatever the
server's zone, and across daylight-saving changes. Holidays close the whole day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Holiday:
    """A closed day: `year` None means every year on that month and day."""

    month: int
    day: int
    year: int | None = None
    name: str = ""

    def falls_on(self, day: date) -> bool:
        return (
            day.month == self.month
            and day.day == self.day
            and (self.year is None or day.year == self.year)
        )


class BusinessHours:
    """Opening ranges per weekday (0 = Monday) as minutes since local midnight, `opens` included
    and `closes` excluded (1440 closes at midnight), plus holidays, in one time zone."""

    __slots__ = ("_holidays", "_ranges", "timezone", "zone")

    def __init__(
        self,
        *,
        timezone: str,
        weekly: Mapping[int, Iterable[tuple[int, int]]],
        holidays: Iterable[Holiday] = (),
    ) -> None:
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        ranges: list[tuple[tuple[int, int], ...]] = []
        for weekday in range(7):
            day = tuple(sorted(weekly.get(weekday, ())))
            for opens, closes in day:
                if not 0 <= opens < closes <= MINUTES_PER_DAY:
                    raise ValueError(f"bad range {opens}-{closes} on {WEEKDAYS[weekday]}")
            ranges.append(day)
        self._ranges: tuple[tuple[tuple[int, int], ...], ...] = tuple(ranges)
        self._holidays: tuple[Holiday, ...] = tuple(holidays)

    @classmethod
    def always(cls, timezone: str = "UTC") -> BusinessHours:
        """Open around the clock, every day."""
        return cls(timezone=timezone, weekly={d: [(0, MINUTES_PER_DAY)] for d in range(7)})

    def is_open(self, at: float) -> bool:
        local = datetime.fromtimestamp(at, self.zone)
        if self.is_holiday(local.date()):
            return False
        # Seconds since local midnight on the wall clock, compared with ranges in seconds.
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return any(
            opens * 60 <= second < closes * 60 for opens, closes in self._ranges[local.weekday()]
        )

    def is_holiday(self, day: date) -> bool:
        return any(holiday.falls_on(day) for holiday in self._holidays)

    def ranges(self, weekday: int) -> Sequence[tuple[int, int]]:
        """The opening ranges of a weekday (0 = Monday), in minutes, sorted."""
        return self._ranges[weekday]

    @property
    def holidays(self) -> Sequence[Holiday]:
        return self._holidays

    def _key(self) -> tuple[object, ...]:
        holidays = sorted((h.year or 0, h.month, h.day) for h in self._holidays)
        return (self.timezone, self._ranges, tuple(holidays))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessHours):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"BusinessHours(timezone={self.timezone!r}, holidays={len(self._holidays)})"
