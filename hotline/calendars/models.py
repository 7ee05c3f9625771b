"""Calendar tables: weekly opening ranges and holidays, in the calendar's own time zone. Times are
minutes since local midnight (0..1440), so 24:00 can close a day. The router never reads these rows:
it is handed `hotline.calendars.hours.BusinessHours` objects built from them."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db.base import Base, Timestamped, key_column


class Calendar(Timestamped, Base):
    __tablename__ = "calendars"

    id: Mapped[str] = key_column()
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))

    hours: Mapped[list[CalendarHours]] = relationship(
        cascade="all, delete-orphan",
        order_by="(CalendarHours.weekday, CalendarHours.opens)",
        lazy="selectin",
    )
    holidays: Mapped[list[CalendarHoliday]] = relationship(
        cascade="all, delete-orphan",
        order_by="(CalendarHoliday.month, CalendarHoliday.day)",
        lazy="selectin",
    )


class CalendarHours(Base):
    """One opening range on one weekday (0 = Monday)."""

    __tablename__ = "calendar_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens >= 0 AND opens < closes AND closes <= 1440", name="range"),
        UniqueConstraint("calendar_id", "weekday", "opens"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_id: Mapped[str] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[int] = mapped_column(Integer)
    closes: Mapped[int] = mapped_column(Integer)


class CalendarHoliday(Base):
    """A day the calendar is closed: one date, or every year on a month and day (`year` NULL)."""

    __tablename__ = "calendar_holidays"
    __table_args__ = (
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        CheckConstraint("day BETWEEN 1 AND 31", name="day"),
        UniqueConstraint("calendar_id", "year", "month", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_id: Mapped[str] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"))
    year: Mapped[int | None] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
