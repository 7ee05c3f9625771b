"""Reports on both databases. Contacts are made by the real router (a `RoutingService` on a manual
clock: arrivals, offers, answers, hang-ups, wrap-ups, abandons), so the report, computed by SQL
from what the router wrote, must agree with the router's own interval statistics; requests by the
API (a volunteer completes one). Then exports (CSV, XLSX) and who may read reports."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import pytest_asyncio
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.contacts.service import create_contact
from hotline.reports import service as reports
from hotline.reports.service import Period
from hotline.routing.service import RoutingService, agent_skills
from hotline.routing.stats import IntervalStats
from tests.api.harness import START
from tests.requests.city import CITY
from tests.requests.field_api import FieldApi, field_api_on

DAY = date(2025, 3, 4)  # the harness's clock starts on this day, 12:00 in Moscow
WRAP = 15.0
CONFIG = CITY.replace(
    "    strategy: best_skill\n", f"    strategy: best_skill\n    wrap_up_seconds: {WRAP}\n"
)
assert CONFIG != CITY


@dataclass
class Centre:
    api: FieldApi
    routing: RoutingService

    @property
    def clock(self):  # type: ignore[no-untyped-def]
        return self.api.harness.clock

    async def arrive(self, topic: str) -> str:
        async with self.api.sessions() as session, session.begin():
            contact = await create_contact(
                session=session, caller_number="+79990001122", attributes={"topic": topic}
            )
            contact.arrived_at = self.api.now()
        await self.routing.arrive(contact.id, "medical")
        return contact.id

    async def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.routing.tick()


@asynccontextmanager
async def open_centre(
    sessions: async_sessionmaker[AsyncSession], *, config: str = CONFIG
) -> AsyncIterator[Centre]:
    """The city's API on `config`, the router running on the test's clock with agent01 ready."""
    async with field_api_on(sessions, config=config) as api:
        routing = api.harness.live.routing
        await routing.start(run_timers=False)
        agent_id = await api.user_id("agent01")
        async with sessions() as session:
            skills = await agent_skills(session=session, user_id=agent_id)
        await routing.login(agent_id, skills, ready=True)
        try:
            yield Centre(api, routing)
        finally:
            await routing.close()


@pytest_asyncio.fixture(loop_scope="function")
async def centre(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Centre]:
    async with open_centre(sessions) as world:
        yield world


async def _traffic(centre: Centre) -> None:
    """Two answered contacts (one within the 20 s target), one short abandon, one long one."""
    first = await centre.arrive("medical")  # offered at once
    await centre.wait(5)
    await centre.routing.answer(first)
    await centre.wait(60)
    await centre.routing.hangup(first)  # wrap-up 15 s
    second = await centre.arrive("covid")  # waits for the wrap-up to end
    await centre.wait(WRAP)  # the agent is ready: offered now
    await centre.wait(10)
    await centre.routing.answer(second)  # waited 25 s: outside the target
    short = await centre.arrive("covid")
    await centre.wait(2)
    await centre.routing.abandon(short)
    long = await centre.arrive("medical")
    await centre.wait(40)
    await centre.routing.abandon(long)
    await centre.wait(50)
    await centre.routing.hangup(second)
    await centre.wait(WRAP)


async def test_service_figures_agree_with_the_routers_own_statistics(centre: Centre) -> None:
    await _traffic(centre)
    engine = centre.routing.engine
    period = Period.days(DAY, timezone="Europe/Moscow")
    async with centre.api.sessions() as session:
        by_queue = await reports.service_by_queue(
            session=session, period=period, short_abandon_seconds=engine.short_abandon_seconds
        )
        intervals = await reports.service_by_interval(session=session, period=period)
    row = dict(zip(by_queue.columns, by_queue.rows[0], strict=True))
    expected: IntervalStats = engine.stats.total("medical")
    assert row["queue"] == "medical"
    assert (
        (row["offered"], row["answered"], row["abandoned"], row["handled"])
        == (
            expected.offered,
            expected.answered,
            expected.abandoned,
            expected.handled,
        )
        == (4, 2, 2, 2)
    )
    assert row["answered_in_target"] == expected.answered_in_target == 1
    assert row["service_level"] == round(expected.service_level or 0, 4) == 0.25
    assert row["asa_seconds"] == round(expected.asa_seconds or 0, 1) == 15.0
    assert row["abandon_rate"] == round(expected.abandon_rate or 0, 4) == 0.5
    assert row["aht_seconds"] == round(expected.aht_seconds or 0, 1) == 91.0  # (60+15+92+15)/2
    assert by_queue.rows[-1][0] == "*"
    labels = {r[0] for r in intervals.rows}
    assert labels == {"2025-03-04T12:00:00+03:00"}
    assert {r[1] for r in intervals.rows} == {"medical", "*"}


async def test_contacts_by_topic_hour_and_day_and_agent_performance(centre: Centre) -> None:
    await _traffic(centre)
    period = Period.days(DAY, timezone="Europe/Moscow")
    async with centre.api.sessions() as session:
        topics = await reports.contacts_by(session=session, period=period, by="topic")
        hours = await reports.contacts_by(session=session, period=period, by="hour")
        days = await reports.contacts_by(session=session, period=period, by="day")
        agents = await reports.agent_performance(
            session=session, period=period, now=centre.api.now()
        )
    assert {r[0]: r[1:4] for r in topics.rows} == {"covid": [2, 2, 1], "medical": [2, 2, 1]}
    assert [r[:2] for r in hours.rows] == [[12, 4]]
    assert days.rows == [["2025-03-04", 4, 4, 2, 2, 0, 0]]
    agent = dict(zip(agents.columns, agents.rows[0], strict=True))
    assert (agent["agent"], agent["answered"], agent["handled"]) == ("agent01", 2, 2)
    assert (agent["talk_seconds"], agent["wrap_up_seconds"], agent["aht_seconds"]) == (
        152.0,
        30.0,
        91.0,
    )
    # Logged in ready when the clock started; the period ends now: every second is accounted for.
    elapsed = centre.clock.now() - START
    assert agent["logged_in_seconds"] == round(elapsed, 1)
    assert agent["handling_seconds"] + agent["ready_seconds"] == agent["logged_in_seconds"]


async def test_the_requests_report_counts_a_request_a_volunteer_completed(
    centre: Centre,
) -> None:
    api = centre.api
    async with api.signed_in("agent01") as agent:
        done = await api.create(agent)
        await api.create(agent, category="sick_leave", form={})
        await api.create(agent, address={"postcode": "999", "street": "Nowhere", "house": "1"})
    async with api.signed_in(str(done["worker"])) as worker:
        await worker.post(f"/api/v1/tasks/{done['id']}/accept")
        await worker.post(f"/api/v1/tasks/{done['id']}/done", json={"note": "brought"})
    async with api.signed_in("boss") as boss:
        by_category = await boss.get("/api/v1/reports/requests", params={"from": "2025-03-04"})
        weekly = (await boss.get("/api/v1/reports/weekly", params={"date": "2025-03-06"})).json()
    table = by_category.json()["tables"][0]
    rows = {r[0]: dict(zip(table["columns"], r, strict=True)) for r in table["rows"]}
    assert (rows["medicine"]["created"], rows["medicine"]["done"]) == (2, 1)
    assert (rows["medicine"]["done_within_sla"], rows["medicine"]["needs_district"]) == (1, 1)
    assert rows["sick_leave"]["open"] == 1
    summary = dict(weekly["tables"][0]["rows"])
    assert (summary["forms_filled"], summary["requests_done_within_sla"]) == (3, 1)
    assert summary["share_done_within_sla"] == 1.0
    assert weekly["from"] == "2025-03-03T00:00:00+03:00"  # Monday


async def test_a_day_exports_as_csv_and_xlsx(centre: Centre) -> None:
    await _traffic(centre)
    async with centre.api.signed_in("boss") as boss:
        as_json = (await boss.get("/api/v1/reports/day", params={"date": "2025-03-04"})).json()
        as_csv = await boss.get(
            "/api/v1/reports/day", params={"date": "2025-03-04", "format": "csv"}
        )
        as_xlsx = await boss.get(
            "/api/v1/reports/day", params={"date": "2025-03-04", "format": "xlsx"}
        )
    names = [t["name"] for t in as_json["tables"]]
    assert names == [
        "service_by_interval",
        "service_by_queue",
        "contacts_by_topic",
        "contacts_by_hour",
        "agents",
        "requests_by_category",
        "requests_by_district",
        "requests_by_status",
    ]
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="day-2025-03-04.csv"' in as_csv.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lines[0] == ["service_by_interval"]
    assert lines[1][:3] == ["interval", "queue", "offered"]
    book = load_workbook(io.BytesIO(as_xlsx.content))
    assert book.sheetnames == [n[:31] for n in names]
    sheet = book["service_by_queue"]
    assert [c.value for c in sheet[2]][:3] == ["queue", "name", "offered"]
    assert [c.value for c in sheet[3]][:3] == ["medical", "Medical help", 4]


async def test_reports_are_for_supervisors_and_administrators(centre: Centre) -> None:
    async with centre.api.signed_in("agent01") as agent:
        refused = await agent.get("/api/v1/reports/day")
    async with centre.api.signed_in("boss") as boss:
        backwards = await boss.get(
            "/api/v1/reports/contacts", params={"from": "2025-03-04", "to": "2025-03-01"}
        )
        today = await boss.get("/api/v1/reports/agents")
    assert refused.status_code == 403
    assert backwards.status_code == 422
    assert today.json()["from"] == "2025-03-04T00:00:00+03:00"


async def test_the_interval_is_read_from_the_query(centre: Centre) -> None:
    await _traffic(centre)
    async with centre.api.signed_in("boss") as boss:
        half_hours = await boss.get(
            "/api/v1/reports/service", params={"from": "2025-03-04", "interval": "1800"}
        )
        odd = await boss.get("/api/v1/reports/day", params={"interval": "1000"})
    assert half_hours.status_code == 200, half_hours.text
    labels = {row[0] for row in half_hours.json()["tables"][0]["rows"]}
    assert labels == {"2025-03-04T12:00:00+03:00"}
    assert odd.status_code == 422
