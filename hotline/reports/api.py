"""`/api/v1/reports/*` (supervisors and administrators): each report as JSON tables (for the
browser's charts) or, with `format=csv` or `format=xlsx`, as a file to download. Periods are local
dates in the hotline's time zone (`from` and `to`, both included; default today)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BeforeValidator

from hotline.api.deps import DbSession, Live, LiveState, require_roles
from hotline.core.errors import InvalidInput
from hotline.reports import forms, service
from hotline.reports.export import CSV_TYPE, XLSX_TYPE, to_csv, to_xlsx
from hotline.reports.service import ContactDimension, Period, Report, RequestDimension, Table
from hotline.users.models import Role

router = APIRouter(
    prefix="/api/v1/reports",
    tags=["reports"],
    dependencies=[Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))],
    responses={401: {}, 403: {}, 422: {}},
)

MAX_DAYS = 366
Format = Literal["json", "csv", "xlsx"]
From = Annotated[date | None, Query(alias="from", description="first local date; default today")]
To = Annotated[
    date | None, Query(alias="to", description="last local date (included); default `from`")
]


def _whole(value: Any) -> Any:
    """A query's text as the number it spells ("1800" → 1800): a `Literal` of integers alone
    accepts no text, and every query value is text."""
    return int(value) if isinstance(value, str) and value.isdigit() else value


Interval = Annotated[Literal[900, 1800, 3600], BeforeValidator(_whole)]


def _today(live: LiveState) -> date:
    return datetime.fromtimestamp(live.clock.now(), ZoneInfo(live.timezone)).date()


def _period(live: LiveState, first: date | None, last: date | None) -> Period:
    first = first or _today(live)
    last = last or first
    if last < first or (last - first).days >= MAX_DAYS:
        raise InvalidInput(
            f"a period runs forwards and spans at most {MAX_DAYS} days",
            problems=[{"loc": ["query", "to"], "message": "before `from`, or too far after it"}],
        )
    return Period.days(first, last, timezone=live.timezone)


# A file format: how to write the report, and its media type.
_FILES: dict[str, tuple[Callable[[Report], bytes], str]] = {
    "csv": (to_csv, CSV_TYPE),
    "xlsx": (to_xlsx, XLSX_TYPE),
}


def _answer(report: Report, format: Format) -> Response:
    """The report as JSON tables, or as a file to download named after it and its period."""
    if format == "json":
        return JSONResponse(report.as_dict())
    write, media_type = _FILES[format]
    return Response(
        write(report),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{_filename(report)}.{format}"'},
    )


def _filename(report: Report) -> str:
    start = report.period.local(report.period.start.timestamp()).date()
    end = report.period.local(report.period.end.timestamp() - 1).date()
    return f"{report.name}-{start}" + ("" if start == end else f"-{end}")


def _one(name: str, period: Period, table: Table) -> Report:
    return Report(name, period, [table])


def _now(live: LiveState) -> datetime:
    return datetime.fromtimestamp(live.clock.now(), ZoneInfo("UTC"))


@router.get("/day")
async def day(
    db: DbSession,
    live: Live,
    date_: Annotated[date | None, Query(alias="date")] = None,
    interval: Interval = 900,
    format: Format = "json",
) -> Any:
    """A day at a glance: service per interval and per queue, contacts by topic and hour,
    agents, requests by category, district and status."""
    period = _period(live, date_, date_)
    report = await service.day_report(
        session=db,
        period=period,
        interval_seconds=float(interval),
        short_abandon_seconds=live.settings.short_abandon_seconds,
        now=_now(live),
    )
    return _answer(report, format)


@router.get("/weekly")
async def weekly(
    db: DbSession,
    live: Live,
    date_: Annotated[date | None, Query(alias="date", description="any day of the week")] = None,
    format: Format = "json",
) -> Any:
    """Calls this week, forms filled, requests by category, fulfilled within SLA (Monday to
    Sunday)."""
    period = Period.week_of(date_ or _today(live), timezone=live.timezone)
    report = await service.weekly_summary(
        session=db, period=period, short_abandon_seconds=live.settings.short_abandon_seconds
    )
    return _answer(report, format)


@router.get("/contacts")
async def contacts(
    db: DbSession,
    live: Live,
    first: From = None,
    last: To = None,
    by: ContactDimension = "topic",
    format: Format = "json",
) -> Any:
    """Callers' contacts by topic, queue, line, local hour or day."""
    period = _period(live, first, last)
    table = await service.contacts_by(session=db, period=period, by=by)
    return _answer(_one("contacts", period, table), format)


@router.get("/service")
async def service_level(
    db: DbSession,
    live: Live,
    first: From = None,
    last: To = None,
    interval: Interval = 900,
    by_queue: bool = True,
    format: Format = "json",
) -> Any:
    """Service level, ASA, abandon rate and AHT per interval, per queue and for the centre."""
    period = _period(live, first, last)
    table = await service.service_by_interval(
        session=db,
        period=period,
        interval_seconds=float(interval),
        by_queue=by_queue,
        short_abandon_seconds=live.settings.short_abandon_seconds,
    )
    return _answer(_one("service", period, table), format)


@router.get("/agents")
async def agents(
    db: DbSession, live: Live, first: From = None, last: To = None, format: Format = "json"
) -> Any:
    """Agent performance: answered, handled, talk, wrap-up, AHT, time by state, occupancy."""
    period = _period(live, first, last)
    table = await service.agent_performance(session=db, period=period, now=_now(live))
    return _answer(_one("agents", period, table), format)


@router.get("/requests")
async def requests(
    db: DbSession,
    live: Live,
    first: From = None,
    last: To = None,
    by: RequestDimension = "category",
    format: Format = "json",
) -> Any:
    """Requests created in the period by category, district, status or department, with how
    they ended and whether within their SLA."""
    period = _period(live, first, last)
    table = await service.requests_by(session=db, period=period, by=by)
    return _answer(_one("requests", period, table), format)


@router.get("/forms")
async def form_answers(
    db: DbSession,
    live: Live,
    first: From = None,
    last: To = None,
    form: Annotated[str | None, Query(description="only this form's answers")] = None,
    topic: Annotated[str | None, Query(description="only contacts of this topic")] = None,
    format: Format = "json",
) -> Any:
    """Form answers by field: the scripts' forms submitted for the period's contacts, per form
    version and topic, and per field the count of each choice, yes and no, a number's count,
    min, max and mean, or how many filled it in."""
    period = _period(live, first, last)
    report = await forms.form_answers(session=db, period=period, form_id=form, topic=topic)
    return _answer(report, format)
