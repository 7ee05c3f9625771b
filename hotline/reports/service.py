"""Historical reports, aggregated by the database (SQL `GROUP BY` over indexed ranges: a day of a
two-million-contact history is a few thousand rows to the database and a few dozen to Python).

What is counted, and how (docs/reports.md):
- contacts are the callers' ones (inbound and callbacks), by the time they arrived, in the queue
  they ended in; a contact is *offered* once it reached a queue (not closed), *answered* and
  *abandoned* once it has ended (so one still in progress counts as offered only);
- the waits are the router's own (`contact.ended`'s `waited`), and service level, ASA, abandon
  rate and AHT are `hotline.routing.stats.IntervalStats`'s: the same formulas the router and the
  wallboard use (service level over offered minus short abandons, within each queue's target);
- handle time is talk (answer to hang-up) plus the agent's wrap-up after it (from the agent state
  history: the wrap-up that began when the contact ended);
- requests are counted by the time they were created (a week's requests and how they ended);
  *within SLA* is done and not breached.
Hours and days are local to the reporting time zone, at its UTC offset at the period's start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hotline.contacts.models import Contact, ContactEvent
from hotline.reports.sql import Dialect, Unindexed
from hotline.requests.models import Request
from hotline.routing.models import Queue
from hotline.routing.stats import IntervalStats
from hotline.scripts.models import ContactForm
from hotline.users.models import AgentStateRecord, User

CALLER_DIRECTIONS = ("inbound", "callback")
QUEUE = Unindexed(Contact.queue_id)
AGENT = Unindexed(Contact.agent_id)
"""Grouped and joined on, never read by their own indexes: a period's contacts are read by time."""
ENDING_MARGIN = timedelta(days=1)
"""A contact's end is looked for up to this long after the period: one that ends later still (a
callback retried for days) counts as offered only."""
HANDLING_STATES = ("reserved", "busy", "wrap_up")
AVAILABLE_STATES = ("ready",)
ContactDimension = Literal["topic", "queue", "line", "hour", "day"]
RequestDimension = Literal["category", "district", "status", "department"]


# ---------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, reported in `timezone`."""

    start: datetime
    end: datetime
    timezone: str = "UTC"

    @classmethod
    def days(cls, first: date, last: date | None = None, *, timezone: str = "UTC") -> Period:
        """Local midnight of `first` to local midnight after `last` (default: `first`)."""
        zone = ZoneInfo(timezone)
        last = last or first
        start = datetime(first.year, first.month, first.day, tzinfo=zone)
        after = last + timedelta(days=1)
        end = datetime(after.year, after.month, after.day, tzinfo=zone)
        return cls(start.astimezone(UTC), end.astimezone(UTC), timezone)

    @classmethod
    def week_of(cls, day: date, *, timezone: str = "UTC") -> Period:
        """Monday to Sunday, the week `day` is in."""
        monday = day - timedelta(days=day.weekday())
        return cls.days(monday, monday + timedelta(days=6), timezone=timezone)

    @property
    def origin(self) -> float:
        return self.start.timestamp()

    @property
    def offset(self) -> float:
        """The zone's UTC offset at the start, in seconds east."""
        delta = self.start.astimezone(ZoneInfo(self.timezone)).utcoffset()
        return delta.total_seconds() if delta is not None else 0.0

    def local(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, ZoneInfo(self.timezone))

    def as_dict(self) -> dict[str, str]:
        return {
            "from": self.local(self.start.timestamp()).isoformat(),
            "to": self.local(self.end.timestamp()).isoformat(),
            "timezone": self.timezone,
        }


@dataclass
class Table:
    """One table of a report: what the page charts and the exports write."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "columns": self.columns, "rows": self.rows}


@dataclass
class Report:
    name: str
    period: Period
    tables: list[Table]

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": self.name,
            **self.period.as_dict(),
            "tables": [t.as_dict() for t in self.tables],
        }


def _dialect(session: AsyncSession) -> Dialect:
    return Dialect(session.get_bind().dialect.name)


async def _tuned(session: AsyncSession) -> Dialect:
    """The session's dialect. On PostgreSQL, for this transaction: no JIT compilation (these
    queries run in well under a second, and compiling them costs a good part of that), and
    enough memory to sort a day of agent states without spilling to disk."""
    sql = _dialect(session)
    if sql.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))
        await session.execute(text("SET LOCAL work_mem = '32MB'"))
    return sql


def _in_period(column: Any, period: Period) -> Any:
    return and_(column >= period.start, column < period.end)


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _sum(condition: Any, value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0.0)), 0.0)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------------------- contacts


CONTACT_COLUMNS = ["contacts", "offered", "answered", "abandoned", "ended_in_ivr", "closed"]


async def contact_counts(
    *, session: AsyncSession, period: Period, by: Sequence[ContactDimension]
) -> dict[tuple[Any, ...], list[int]]:
    """Callers' contacts counted by each combination of the dimensions `by` (one pass over the
    period's contacts): how many arrived, reached a queue, were answered, abandoned, or ended in
    the IVR or a closed queue."""
    sql = await _tuned(session)
    expressions: dict[str, Any] = {
        "topic": sql.text(Contact.attributes["topic"]),
        "queue": QUEUE,
        "line": Contact.line_id,
        "hour": sql.hour_of_day(Contact.arrived_at, offset=period.offset),
        "day": sql.bucket(Contact.arrived_at, origin=period.origin, size=86400.0),
    }
    keys = [expressions[name].label(name) for name in by]
    queued = QUEUE.is_not(None)
    query = (
        select(
            *keys,
            func.count(),
            _count(and_(queued, or_(Contact.outcome.is_(None), Contact.outcome != "closed"))),
            _count(and_(queued, Contact.answered_at.is_not(None))),
            _count(Contact.outcome == "abandoned"),
            _count(Contact.outcome.in_(("ivr_abandoned", "ivr_finished"))),
            _count(Contact.outcome == "closed"),
        )
        .where(_in_period(Contact.arrived_at, period), Contact.direction.in_(CALLER_DIRECTIONS))
        .group_by(*keys)
    )
    width = len(keys)
    return {
        tuple(row[:width]): [int(v or 0) for v in row[width:]]
        for row in (await session.execute(query)).all()
    }


def contacts_table(
    counts: Mapping[tuple[Any, ...], list[int]],
    period: Period,
    by: ContactDimension,
    position: int = 0,
) -> Table:
    """The counts summed by the dimension at `position` of their keys."""
    summed: dict[Any, list[int]] = {}
    for key, values in counts.items():
        total = summed.setdefault(key[position], [0] * len(CONTACT_COLUMNS))
        for index, value in enumerate(values):
            total[index] += value
    table = Table(f"contacts_by_{by}", [by, *CONTACT_COLUMNS])
    for label, values in sorted(summed.items(), key=lambda item: (item[0] is None, item[0])):
        if by == "day" and label is not None:
            label = (period.local(period.origin) + timedelta(days=int(label))).date().isoformat()
        table.rows.append([label, *values])
    return table


async def contacts_by(*, session: AsyncSession, period: Period, by: ContactDimension) -> Table:
    """Callers' contacts by topic (the IVR's `topic`), queue, line, local hour or day."""
    counts = await contact_counts(session=session, period=period, by=[by])
    return contacts_table(counts, period, by)


# ---------------------------------------------------------------------------- service level


def _wraps(period: Period) -> Any:
    """Each agent state record with when it ended (the agent's next record), for the period and
    a margin after it (a contact's wrap-up may end after the period does)."""
    until = func.lead(AgentStateRecord.at).over(
        partition_by=AgentStateRecord.user_id,
        order_by=(AgentStateRecord.at, AgentStateRecord.id),
    )
    return (
        select(
            AgentStateRecord.user_id.label("user_id"),
            AgentStateRecord.state.label("state"),
            AgentStateRecord.at.label("at"),
            until.label("until"),
        )
        .where(
            AgentStateRecord.at >= period.start,
            AgentStateRecord.at < period.end + timedelta(hours=6),
        )
        .subquery("states")
    )


def _stats_query(
    session: AsyncSession,
    period: Period,
    keys: Sequence[Any],
    *,
    short_abandon_seconds: float,
) -> Select[Any]:
    """The router's interval counters for contacts of the period, grouped by `keys`."""
    sql = _dialect(session)
    ended = aliased(ContactEvent, name="ended")
    states = _wraps(period)
    waited = ended.payload["waited"].as_float()
    known = ended.id.is_not(None)
    answered = and_(Contact.answered_at.is_not(None), known)
    abandoned = and_(Contact.outcome == "abandoned", known)
    handled = Contact.outcome == "handled"
    talk = sql.seconds(Contact.ended_at, Contact.answered_at)
    wrap = sql.seconds(states.c.until, states.c.at)
    return (
        select(
            *keys,
            _count(or_(Contact.outcome.is_(None), Contact.outcome != "closed")).label("offered"),
            _count(answered).label("answered"),
            _count(and_(answered, waited <= Queue.sl_target_seconds)).label("in_target"),
            _sum(answered, waited).label("wait_sum"),
            _count(abandoned).label("abandoned"),
            _count(and_(abandoned, waited < short_abandon_seconds)).label("short"),
            _count(handled).label("handled"),
            _sum(and_(handled, Contact.answered_at.is_not(None)), talk).label("talk_sum"),
            _sum(and_(handled, states.c.until.is_not(None)), wrap).label("wrap_sum"),
            _count(Contact.outcome == "closed").label("closed"),
        )
        .select_from(Contact)
        .join(Queue, Queue.id == QUEUE)
        .outerjoin(
            ended,
            and_(
                ended.contact_id == Contact.id,
                ended.type == "contact.ended",
                # Bounded, so the database reads the period's endings by (type, at), not all.
                ended.at >= period.start,
                ended.at < period.end + ENDING_MARGIN,
            ),
        )
        .outerjoin(
            states,
            and_(
                states.c.user_id == AGENT,
                states.c.at == Contact.ended_at,
                states.c.state == "wrap_up",
            ),
        )
        .where(_in_period(Contact.arrived_at, period), Contact.direction.in_(CALLER_DIRECTIONS))
        .group_by(*keys)
    )


def _stats(row: Any, start: float) -> IntervalStats:
    return IntervalStats(
        start=start,
        offered=int(row.offered or 0),
        answered=int(row.answered or 0),
        answered_in_target=int(row.in_target or 0),
        wait_answered_sum=float(row.wait_sum or 0.0),
        abandoned=int(row.abandoned or 0),
        short_abandoned=int(row.short or 0),
        handled=int(row.handled or 0),
        handle_sum=float(row.talk_sum or 0.0) + float(row.wrap_sum or 0.0),
        closed=int(row.closed or 0),
    )


SERVICE_COLUMNS = [
    "offered",
    "answered",
    "answered_in_target",
    "abandoned",
    "short_abandoned",
    "handled",
    "service_level",
    "asa_seconds",
    "abandon_rate",
    "aht_seconds",
]


def _service_cells(stats: IntervalStats) -> list[Any]:
    return [
        stats.offered,
        stats.answered,
        stats.answered_in_target,
        stats.abandoned,
        stats.short_abandoned,
        stats.handled,
        _round(stats.service_level, 4),
        _round(stats.asa_seconds, 1),
        _round(stats.abandon_rate, 4),
        _round(stats.aht_seconds, 1),
    ]


@dataclass
class ServiceCounts:
    """The router's counters per (interval, queue) of a period: one query, several tables."""

    period: Period
    interval_seconds: float
    cells: dict[tuple[int, str], IntervalStats]
    names: dict[str, str]

    def by_interval(self, *, by_queue: bool = True) -> Table:
        """Per interval (and queue), with the centre ("*") for each interval."""
        centre: dict[int, IntervalStats] = {}
        for (index, _), stats in self.cells.items():
            centre.setdefault(index, IntervalStats(start=stats.start)).merge(stats)
        listed: list[tuple[int, str, IntervalStats]] = [
            *((i, q, stats) for (i, q), stats in self.cells.items() if by_queue),
            *((index, "*", stats) for index, stats in centre.items()),
        ]
        table = Table("service_by_interval", ["interval", "queue", *SERVICE_COLUMNS])
        period = self.period
        for index, queue, stats in sorted(listed, key=lambda item: (item[0], item[1])):
            label = period.local(period.origin + index * self.interval_seconds).isoformat()
            table.rows.append([label, queue, *_service_cells(stats)])
        return table

    def by_queue(self) -> Table:
        """The whole period per queue, and the centre ("*") last."""
        queues: dict[str, IntervalStats] = {}
        for (_, queue), stats in self.cells.items():
            queues.setdefault(queue, IntervalStats(start=self.period.origin)).merge(stats)
        table = Table("service_by_queue", ["queue", "name", *SERVICE_COLUMNS])
        centre = IntervalStats(start=self.period.origin)
        for queue in sorted(queues):
            centre.merge(queues[queue])
            table.rows.append([queue, self.names.get(queue, ""), *_service_cells(queues[queue])])
        table.rows.append(["*", "", *_service_cells(centre)])
        return table


async def service_counts(
    *,
    session: AsyncSession,
    period: Period,
    interval_seconds: float = 900.0,
    short_abandon_seconds: float = 0.0,
) -> ServiceCounts:
    """Service level, ASA, abandon rate and AHT counters per interval (15, 30 or 60 minutes) and
    queue, only for intervals with contacts."""
    sql = await _tuned(session)
    bucket = sql.bucket(Contact.arrived_at, origin=period.origin, size=interval_seconds)
    keys: list[Any] = [bucket.label("bucket"), QUEUE.label("queue")]
    rows = (
        await session.execute(
            _stats_query(session, period, keys, short_abandon_seconds=short_abandon_seconds)
        )
    ).all()
    cells = {
        (row.bucket, row.queue): _stats(row, period.origin + row.bucket * interval_seconds)
        for row in rows
    }
    names = dict((await session.execute(select(Queue.id, Queue.name))).all())
    return ServiceCounts(period, interval_seconds, cells, names)


async def service_by_interval(
    *,
    session: AsyncSession,
    period: Period,
    interval_seconds: float = 900.0,
    by_queue: bool = True,
    short_abandon_seconds: float = 0.0,
) -> Table:
    """Service level, ASA, abandon rate and AHT per interval, per queue and for the centre."""
    counts = await service_counts(
        session=session,
        period=period,
        interval_seconds=interval_seconds,
        short_abandon_seconds=short_abandon_seconds,
    )
    return counts.by_interval(by_queue=by_queue)


async def service_by_queue(
    *, session: AsyncSession, period: Period, short_abandon_seconds: float = 0.0
) -> Table:
    """The same figures for the whole period, per queue and for the centre ("*")."""
    counts = await service_counts(
        session=session,
        period=period,
        interval_seconds=86400.0,
        short_abandon_seconds=short_abandon_seconds,
    )
    return counts.by_queue()


# ---------------------------------------------------------------------------- agents


async def agent_performance(
    *,
    session: AsyncSession,
    period: Period,
    now: datetime | None = None,
) -> Table:
    """Per agent: contacts answered and handled, talk, wrap-up and handle time, and time by state
    (logged in, ready, handling, not ready) with occupancy (handling / (handling + ready)). An
    agent's wrap-up is their time in wrap-up during the period."""
    sql = await _tuned(session)
    handled = Contact.outcome == "handled"
    contact_rows = (
        await session.execute(
            select(
                AGENT,
                _count(Contact.answered_at.is_not(None)),
                _count(handled),
                _sum(
                    and_(handled, Contact.answered_at.is_not(None)),
                    sql.seconds(Contact.ended_at, Contact.answered_at),
                ),
            )
            .where(
                _in_period(Contact.arrived_at, period),
                AGENT.is_not(None),
                Contact.direction.in_(CALLER_DIRECTIONS),
            )
            .group_by(AGENT)
        )
    ).all()
    end = min(period.end, now) if now is not None else period.end
    seconds = await _state_seconds(session, sql, period, end)
    names = dict(
        (
            await session.execute(
                select(User.id, User.username).where(
                    User.id.in_({r[0] for r in contact_rows} | set(seconds))
                )
            )
        ).all()
    )
    by_agent: dict[str, tuple[int, int, float]] = {
        agent_id: (int(answered), int(handled_), float(talk_sum))
        for agent_id, answered, handled_, talk_sum in contact_rows
    }
    table = Table(
        "agents",
        [
            "agent",
            "answered",
            "handled",
            "talk_seconds",
            "wrap_up_seconds",
            "aht_seconds",
            "logged_in_seconds",
            "ready_seconds",
            "handling_seconds",
            "not_ready_seconds",
            "occupancy",
        ],
    )
    for agent_id in sorted(set(by_agent) | set(seconds), key=lambda a: names.get(a, a)):
        answered, handled_, talk_sum = by_agent.get(agent_id, (0, 0, 0.0))
        spent = seconds.get(agent_id, {})
        wrap_sum = spent.get("wrap_up", 0.0)
        handling = sum(spent.get(s, 0.0) for s in HANDLING_STATES)
        ready = sum(spent.get(s, 0.0) for s in AVAILABLE_STATES)
        logged_in = sum(v for s, v in spent.items() if s != "offline")
        busy = IntervalStats(
            handled=handled_,
            handle_sum=talk_sum + wrap_sum,
            handling_seconds=handling,
            available_seconds=ready,
        )
        table.rows.append(
            [
                names.get(agent_id, agent_id),
                answered,
                handled_,
                round(talk_sum, 1),
                round(wrap_sum, 1),
                _round(busy.aht_seconds, 1),
                round(logged_in, 1),
                round(ready, 1),
                round(handling, 1),
                round(spent.get("not_ready", 0.0), 1),
                _round(busy.occupancy, 4),
            ]
        )
    return table


async def _state_seconds(
    session: AsyncSession, sql: Dialect, period: Period, end: datetime
) -> dict[str, dict[str, float]]:
    """Seconds each agent spent in each state within [period.start, end): every state record,
    clipped to the period (a state entered before it, up to a day before, counts from its start)."""
    until = func.lead(AgentStateRecord.at).over(
        partition_by=AgentStateRecord.user_id,
        order_by=(AgentStateRecord.at, AgentStateRecord.id),
    )
    spans = (
        select(
            AgentStateRecord.user_id.label("user_id"),
            AgentStateRecord.state.label("state"),
            sql.epoch(AgentStateRecord.at).label("began"),
            sql.epoch(until).label("ended"),
        )
        .where(
            AgentStateRecord.at >= period.start - timedelta(days=1),
            AgentStateRecord.at < end,
        )
        .subquery("spans")
    )
    start_s, end_s = literal(period.origin), literal(end.timestamp())
    stop = sql.least(func.coalesce(spans.c.ended, end_s), end_s)
    begin = sql.greatest(spans.c.began, start_s)
    rows = (
        await session.execute(
            select(spans.c.user_id, spans.c.state, func.sum(stop - begin))
            .where(stop > begin)
            .group_by(spans.c.user_id, spans.c.state)
        )
    ).all()
    out: dict[str, dict[str, float]] = {}
    for user_id, state, total in rows:
        out.setdefault(user_id, {})[state] = float(total or 0.0)
    return out


# ---------------------------------------------------------------------------- requests


REQUEST_COLUMNS = [
    "created",
    "open",
    "done",
    "failed",
    "cancelled",
    "done_within_sla",
    "sla_breached",
    "needs_district",
]


def _request_counts() -> list[Any]:
    open_states = ("new", "assigned", "accepted", "in_progress")
    return [
        func.count(),
        _count(Request.state.in_(open_states)),
        _count(Request.state == "done"),
        _count(Request.state == "failed"),
        _count(Request.state == "cancelled"),
        _count(and_(Request.state == "done", Request.sla_breached.is_(False))),
        _count(Request.sla_breached.is_(True)),
        _count(Request.needs_district.is_(True)),
    ]


async def requests_by(*, session: AsyncSession, period: Period, by: RequestDimension) -> Table:
    """Requests created in the period by category, district, status or department: how many, how
    many are open, ended which way, fulfilled within their SLA, breached it, wait for a district."""
    key: Any = {
        "category": Request.category_id,
        "district": Request.district_id,
        "status": Request.state,
        "department": Request.department,
    }[by]
    rows = (
        await session.execute(
            select(key, *_request_counts())
            .where(_in_period(Request.created_at, period))
            .group_by(key)
            .order_by(key)
        )
    ).all()
    table = Table(f"requests_by_{by}", [by, *REQUEST_COLUMNS])
    table.rows = [[row[0], *(int(v or 0) for v in row[1:])] for row in rows]
    return table


# ---------------------------------------------------------------------------- composed reports


async def day_report(
    *,
    session: AsyncSession,
    period: Period,
    interval_seconds: float = 900.0,
    short_abandon_seconds: float = 0.0,
    now: datetime | None = None,
) -> Report:
    """A day (or any period) at a glance: service per interval and per queue, contacts by topic
    and hour, agents, requests by category, district and status. One pass over the period's
    contacts for the service figures, one for the counts, one for the agents."""
    service = await service_counts(
        session=session,
        period=period,
        interval_seconds=interval_seconds,
        short_abandon_seconds=short_abandon_seconds,
    )
    counts = await contact_counts(session=session, period=period, by=["topic", "hour"])
    tables = [
        service.by_interval(),
        service.by_queue(),
        contacts_table(counts, period, "topic", 0),
        contacts_table(counts, period, "hour", 1),
        await agent_performance(session=session, period=period, now=now),
        await requests_by(session=session, period=period, by="category"),
        await requests_by(session=session, period=period, by="district"),
        await requests_by(session=session, period=period, by="status"),
    ]
    return Report("day", period, tables)


async def weekly_summary(
    *, session: AsyncSession, period: Period, short_abandon_seconds: float = 0.0
) -> Report:
    """ "Calls this week, forms filled, requests by category, fulfilled within SLA": the summary
    table, then requests by category and contacts by day. A form filled is a request created
    from one (the call's form, a specialist's or an API client's); the scripts' forms agents
    submitted are counted apart (`agent_forms_submitted`)."""
    calls = await service_by_queue(
        session=session, period=period, short_abandon_seconds=short_abandon_seconds
    )
    centre = dict(zip(calls.columns, calls.rows[-1], strict=True))
    contacts = await contacts_by(session=session, period=period, by="day")
    by_category = await requests_by(session=session, period=period, by="category")
    totals = _column_totals(by_category)
    done = totals.get("done", 0)
    within = totals.get("done_within_sla", 0)
    summary = Table("summary", ["figure", "value"])
    summary.rows = [
        ["calls", sum(row[1] for row in contacts.rows)],
        ["calls_answered", centre["answered"]],
        ["service_level", centre["service_level"]],
        ["abandon_rate", centre["abandon_rate"]],
        ["forms_filled", totals.get("created", 0)],
        ["agent_forms_submitted", await agent_forms_submitted(session=session, period=period)],
        ["requests_done", done],
        ["requests_done_within_sla", within],
        ["share_done_within_sla", round(within / done, 4) if done else None],
        ["requests_open", totals.get("open", 0)],
    ]
    return Report("weekly", period, [summary, by_category, contacts])


async def agent_forms_submitted(*, session: AsyncSession, period: Period) -> int:
    """The scripts' forms agents submitted for the period's contacts (as the form answers report
    counts them: with their contact, by the time it arrived)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Contact)
        .join(ContactForm, ContactForm.contact_id == Contact.id)
        .where(_in_period(Contact.arrived_at, period), ContactForm.status == "submitted")
    )
    return int(count or 0)


def _column_totals(table: Table) -> Mapping[str, int]:
    totals: dict[str, int] = {}
    for row in table.rows:
        for name, value in zip(table.columns[1:], row[1:], strict=True):
            totals[name] = totals.get(name, 0) + int(value)
    return totals
