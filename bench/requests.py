"""Requests and reports at hotline scale (issue 5): two million contacts and 400,000 requests
loaded into PostgreSQL and into SQLite, then timed with the code the API runs.

Per database (each a scratch database, migrated to head and dropped afterwards):
1. load: a generated configuration (8 queues, 20 districts, 4 field worker kinds, 7 request
   categories, an agent form for every topic) through `import_config`; 200 agents and 5,000
   field workers (250 per district, capacity 3, a random open task count) in bulk; `--contacts`
   contacts over `--days` days with their router events (queued, offered, answered, ended), the
   form submitted for 60 % of the handled ones, the measured day's agent state history
   (wrap-ups), and `--requests` requests over the same days (PostgreSQL: COPY; SQLite:
   executemany in one transaction of big batches);
2. caller history by phone: what the desktop reads when a caller calls again: their earlier
   contacts (by number, newest first) and their requests (`caller_requests`, audited), committed;
   p50/p95 over random callers (target p95 < 50 ms);
3. a day's report: `day_report` over the busiest kind of day (every table of the API's
   `/reports/day`), three runs (target < 2 s); the weekly summary once; the day's form answers by
   field (`/reports/forms`), three runs;
4. assignment: a new request created and given to a field worker (`create_request`, then
   `auto_assign` and the commit) with 5,000 field workers, one at a time; p50/p95 of the
   assignment with its commit, and of the whole (target < 50 ms).

The last line printed is a JSON object of the figures. `--scale 0.25` loads a quarter of the
contacts and requests (field workers stay 5,000).

    .venv/bin/python bench/requests.py [--scale 1.0] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_raw_engine

from hotline.config.loader import parse_config
from hotline.config.service import import_config
from hotline.contacts.models import Contact
from hotline.db import migrate
from hotline.db.engine import create_engine, create_sessions
from hotline.dispatch.service import auto_assign
from hotline.reports.forms import form_answers
from hotline.reports.service import Period, day_report, weekly_summary
from hotline.requests.schemas import RequestCreate
from hotline.requests.service import caller_requests, create_request
from hotline.users.passwords import ScryptCost

PG_ADMIN_URL = os.environ.get(
    "HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"
)
TIMEZONE = "Europe/Moscow"
FIRST_DAY = date(2025, 3, 1)
TOPICS = ["medical", "psychological", "volunteering", "employment", "plasma", "payments", "ru_en",
          "other"]  # fmt: skip
KINDS = ["volunteer", "courier", "social_worker", "polyclinic_staff"]
CATEGORIES = {  # id: (sla hours, kinds, information only)
    "medicine": (24, ["volunteer", "courier", "polyclinic_staff"], False),
    "groceries": (24, ["volunteer", "courier"], False),
    "essentials": (48, ["volunteer", "courier", "social_worker"], False),
    "sick_leave": (72, ["polyclinic_staff"], False),
    "rehabilitation": (72, ["social_worker"], False),
    "firewood": (96, ["volunteer", "social_worker"], False),
    "payments_question": (72, [], True),
}
DISTRICTS = 20
AGENTS = 200
FIELD_WORKERS = 5000
CALLERS = 600_000
BATCH = 50_000
FORM_SHARE = 0.6
"""Of the handled contacts, those whose agent submitted the intake form."""
HELP = ["doctor_home", "telemedicine", "pcr_test", "ambulance", "advice"]
SYMPTOMS = ["fever", "cough", "breathing", "smell_taste", "weakness", "none"]
INTAKE = (
    "    schema:\n"
    "      type: object\n"
    "      properties:\n"
    "        full_name: {type: string, title: Name}\n"
    "        age: {type: integer, minimum: 0, maximum: 120}\n"
    f"        help: {{type: string, enum: [{', '.join(HELP)}]}}\n"
    "        symptoms: {type: array, uniqueItems: true, items: "
    f"{{type: string, enum: [{', '.join(SYMPTOMS)}]}}}}\n"
    "        temperature: {type: number, minimum: 34, maximum: 43}\n"
    "        risk_group: {type: boolean}\n"
    "        notes: {type: string}\n"
)


def config_yaml() -> str:
    lines = ["version: 1", "skills:"]
    lines += [f"  - {{id: {t}, name: {t}}}" for t in TOPICS]
    lines += [
        "calendars:",
        "  - id: always",
        "    name: Always",
        f"    timezone: {TIMEZONE}",
        "    hours:",
        '      - {days: daily, open: "00:00", close: "24:00"}',
        "queues:",
    ]
    lines += [
        f"  - {{id: {t}, name: {t}, skills: [{{skill: {t}}}], sl_target_seconds: 20, "
        "wrap_up_seconds: 15, strategy: longest_idle}"
        for t in TOPICS
    ]
    lines += [
        "lines:",
        '  - {id: city, name: City line, number: "+7 495 000-11-22", queue: medical}',
        "users:",
        "  - {username: boss, name: Boss, roles: [supervisor]}",
        "field_worker_kinds:",
    ]
    lines += [f"  - {{id: {k}, name: {{en: {k}, ru: {k}}}}}" for k in KINDS]
    lines += ["districts:"]
    for d in range(DISTRICTS):
        lines += [
            f"  - id: d{d:02d}",
            f"    name: {{en: District {d}, ru: Район {d}}}",
            f'    postcodes: ["1{d:02d}"]',
            f"    streets: [Street{d:02d}]",
        ]
    lines += ["request_categories:"]
    for cid, (sla, kinds, info) in CATEGORIES.items():
        lines += [
            f"  - id: {cid}",
            f"    name: {{en: {cid}, ru: {cid}}}",
            f"    sla_hours: {sla}",
        ]
        lines += [f"    fulfilled_by: [{', '.join(kinds)}]"] if kinds else []
        lines += ["    information_only: true"] if info else []
    lines += ["forms:", "  - id: intake", "    name: Intake", "    language: ru"]
    lines += [f"    topics: [{', '.join(TOPICS)}]"]
    return "\n".join(lines) + "\n" + INTAKE


def row_id(at: float, rng: random.Random) -> str:
    """A time-ordered id like `hotline.core.ids.new_id`'s."""
    return f"{int(at * 1000):012x}7{rng.getrandbits(76):019x}"


def number(caller: int) -> str:
    return f"+79{caller:09d}"


# ---------------------------------------------------------------------------- writers


class Writer:
    """Bulk inserts into one database: rows as dicts, columns in the table's order."""

    async def write(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class PgWriter(Writer):
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def write(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        await self.connection.copy_records_to_table(table, records=rows, columns=list(columns))

    async def close(self) -> None:
        await self.connection.execute("ANALYZE")
        await self.connection.close()


class SqliteWriter(Writer):
    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path)
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("BEGIN")

    async def write(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        self.connection.executemany(statement, rows)

    async def close(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.execute("ANALYZE")
        self.connection.close()


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _pg(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


async def write_batches(
    writer: Writer,
    table: str,
    columns: Sequence[str],
    rows: Iterator[tuple[Any, ...]],
    convert: Callable[[Any], Any],
) -> int:
    count = 0
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(tuple(convert(v) for v in row))
        if len(batch) >= BATCH:
            await writer.write(table, columns, batch)
            count += len(batch)
            batch = []
    if batch:
        await writer.write(table, columns, batch)
        count += len(batch)
    return count


# ---------------------------------------------------------------------------- the data


@dataclass
class World:
    start: datetime  # local midnight of the first day, as UTC
    days: int
    agents: list[str]
    workers: list[tuple[str, str, int]]  # id, kind, district
    report_day: int


USER_COLUMNS = ("id", "username", "name", "password_hash", "department", "active",
                "must_change_password", "language", "created_at", "updated_at")  # fmt: skip


def users_rows(world: World, now: datetime) -> Iterator[tuple[Any, ...]]:
    for i, user_id in enumerate(world.agents):
        yield (user_id, f"agent{i:04d}", f"Agent {i}", None, None, True, False, "ru", now, now)
    for i, (user_id, _, _) in enumerate(world.workers):
        yield (user_id, f"field{i:05d}", f"Field worker {i}", None, None, True, False, "ru", now,
               now)  # fmt: skip


def form_data(rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {
        "full_name": "Ivan Petrov",
        "age": rng.randrange(18, 95),
        "help": rng.choice(HELP),
        "symptoms": rng.sample(SYMPTOMS, rng.randrange(0, 3)),
        "risk_group": rng.random() < 0.3,
    }
    if rng.random() < 0.7:
        data["temperature"] = round(rng.uniform(36.0, 39.5), 1)
    if rng.random() < 0.2:
        data["notes"] = "lives alone"
    return data


def contact_rows(
    world: World, total: int, rng: random.Random
) -> Iterator[
    tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]
]:
    """(contact, its events, the agent state records it leaves on the report day, its form)."""
    per_day = total // world.days
    origin = world.start.timestamp()
    for day in range(world.days):
        day_start = origin + day * 86400 + 8 * 3600  # the hotline's busy 08:00-22:00
        for _ in range(per_day):
            arrived = day_start + rng.random() * 14 * 3600
            cid = row_id(arrived, rng)
            topic = rng.choice(TOPICS)
            caller = number(rng.randrange(CALLERS))
            draw = rng.random()
            events: list[tuple[Any, ...]] = []
            states: list[tuple[Any, ...]] = []
            forms: list[tuple[Any, ...]] = []

            def event(seq: int, kind: str, at: float, payload: dict[str, Any]) -> None:
                events.append((row_id(at, rng), cid, seq, kind, _dt(at), cid, payload))  # noqa: B023

            if draw < 0.05:  # hung up in the IVR
                ended = arrived + rng.uniform(5, 60)
                event(1, "contact.ended", ended, {"queue_id": None, "outcome": "ivr_abandoned",
                                                   "waited": 0.0, "message": None})  # fmt: skip
                contact = (cid, cid, "inbound", "voice", caller, "city", None, None, "ended",
                           "ivr_abandoned", None, None, {"topic": topic}, _dt(arrived), None,
                           _dt(ended), 1)  # fmt: skip
            elif draw < 0.18:  # abandoned in the queue
                waited = rng.expovariate(1 / 40)
                ended = arrived + waited
                event(1, "contact.queued", arrived, {"queue_id": topic, "priority": 0})
                event(2, "contact.ended", ended, {"queue_id": topic, "outcome": "abandoned",
                                                   "waited": waited, "message": None})  # fmt: skip
                contact = (cid, cid, "inbound", "voice", caller, "city", topic, None, "ended",
                           "abandoned", None, None, {"topic": topic}, _dt(arrived), None,
                           _dt(ended), 2)  # fmt: skip
            else:  # answered and handled
                waited = rng.expovariate(1 / 15)
                answered = arrived + waited
                ended = answered + rng.expovariate(1 / 180)
                agent = rng.choice(world.agents)
                event(1, "contact.queued", arrived, {"queue_id": topic, "priority": 0})
                event(2, "contact.offered", answered - 2, {"queue_id": topic, "agent_id": agent,
                      "is_callback": False, "deadline": answered + 18})  # fmt: skip
                event(3, "contact.answered", answered, {"queue_id": topic, "agent_id": agent,
                      "waited": waited})  # fmt: skip
                event(4, "contact.ended", ended, {"queue_id": topic, "outcome": "handled",
                                                   "waited": waited, "message": None})  # fmt: skip
                contact = (cid, cid, "inbound", "voice", caller, "city", topic, agent, "ended",
                           "handled", None, None, {"topic": topic}, _dt(arrived), _dt(answered),
                           _dt(ended), 4)  # fmt: skip
                if day == world.report_day:
                    states.append((agent, "wrap_up", None, None, _dt(ended)))
                    states.append((agent, "ready", None, None, _dt(ended + 15)))
                if rng.random() < FORM_SHARE:
                    at = _dt(ended)
                    forms.append((cid, "intake", 1, form_data(rng), "submitted", 1, at, "agent",
                                  at, "agent"))  # fmt: skip
            yield contact, events, states, forms


CONTACT_COLUMNS = ("id", "correlation_id", "direction", "channel", "caller_number", "line_id",
                   "queue_id", "agent_id", "state", "outcome", "wrap_up_code_id", "wrap_up_note",
                   "attributes", "arrived_at", "answered_at", "ended_at", "last_seq")  # fmt: skip
EVENT_COLUMNS = ("id", "contact_id", "seq", "type", "at", "correlation_id", "payload")
STATE_COLUMNS = ("user_id", "state", "reason", "contact_id", "at")
FORM_COLUMNS = ("contact_id", "form_id", "form_version", "data", "status", "version",
                "updated_at", "updated_by", "submitted_at", "submitted_by")  # fmt: skip
REQUEST_COLUMNS = ("id", "category_id", "state", "priority", "urgent", "source", "contact_id",
                   "created_by_id", "department", "caller_number", "caller_name", "caller_age",
                   "disability", "phone_key", "postcode", "street", "house", "flat",
                   "address_note", "address_key", "district_id", "needs_district", "form_data",
                   "note", "worker_id", "assigned_at", "accept_by", "accepted_at", "started_at",
                   "ended_at", "reason", "outcome_note", "excluded_workers", "sla_deadline",
                   "sla_breached", "idempotency_key", "fingerprint", "merged_into_id",
                   "created_at", "updated_at", "last_seq")  # fmt: skip


def request_rows(world: World, total: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    origin = world.start.timestamp()
    span = world.days * 86400
    by_district: dict[int, list[str]] = {}
    for worker_id, _, district in world.workers:
        by_district.setdefault(district, []).append(worker_id)
    categories = list(CATEGORIES)
    for i in range(total):
        created = origin + rng.random() * span
        category = rng.choice(categories)
        sla, _, info = CATEGORIES[category]
        district = None if info or rng.random() < 0.03 else rng.randrange(DISTRICTS)
        caller = rng.randrange(CALLERS)
        draw = rng.random()
        if draw < 0.8:
            state = "done" if draw < 0.7 else "failed" if draw < 0.75 else "cancelled"
        else:
            state = rng.choice(["new", "assigned", "accepted", "in_progress"])
        worker = (
            rng.choice(by_district[district])
            if district is not None and state not in ("new", "cancelled")
            else None
        )
        ended = None
        if state in ("done", "failed", "cancelled"):
            ended = created + rng.uniform(1, 1.3 * sla) * 3600
        deadline = created + sla * 3600
        street, house, flat = (f"Street{district:02d}" if district is not None else "Nowhere",
                               str(rng.randint(1, 200)), str(rng.randint(1, 300)))  # fmt: skip
        yield (
            row_id(created, rng), category, state, rng.choice([0, 0, 0, 1, 2]), False, "agent",
            None, None, None, number(caller), "Caller", rng.randint(20, 95), False,
            number(caller)[1:], f"1{district:02d}001" if district is not None else "999001",
            street, house, flat, None, f"{street.lower()}|{house}|{flat}",
            f"d{district:02d}" if district is not None else None,
            district is None and not info, {"medicines": "aspirin"}, None, worker,
            _dt(created + 60) if worker else None, None, None, None,
            _dt(ended) if ended else None, None, None, [], _dt(deadline),
            bool(ended and ended > deadline), f"bench-{i}", None, None, _dt(created),
            _dt(ended or created), 1,
        )  # fmt: skip


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def load(
    writer: Writer,
    convert: Callable[[Any], Any],
    world: World,
    *,
    contacts: int,
    requests: int,
    seed: int,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    rng = random.Random(seed)
    started = time.perf_counter()
    await write_batches(writer, "users", USER_COLUMNS, users_rows(world, now), convert)
    roles = [(a, "agent") for a in world.agents] + [
        (w, "field_worker") for w, _, _ in world.workers
    ]
    await write_batches(writer, "user_roles", ("user_id", "role_id"), iter(roles), convert)
    await write_batches(
        writer,
        "field_workers",
        (
            "user_id",
            "kind_id",
            "capacity",
            "available",
            "active_tasks",
            "last_assigned_at",
            "updated_at",
        ),  # fmt: skip
        ((w, kind, 3, True, rng.randint(0, 2), None, now) for w, kind, _ in world.workers),
        convert,
    )
    await write_batches(
        writer,
        "field_worker_districts",
        ("user_id", "district_id", "position"),
        ((w, f"d{district:02d}", 0) for w, _, district in world.workers),
        convert,
    )
    counts = {"contacts": 0, "contact_events": 0, "agent_state_history": 0, "contact_forms": 0}
    contact_batch: list[tuple[Any, ...]] = []
    event_batch: list[tuple[Any, ...]] = []
    state_batch: list[tuple[Any, ...]] = []
    form_batch: list[tuple[Any, ...]] = []

    async def flush() -> None:
        for table, columns, batch in (
            ("contacts", CONTACT_COLUMNS, contact_batch),
            ("contact_events", EVENT_COLUMNS, event_batch),
            ("agent_state_history", STATE_COLUMNS, state_batch),
            ("contact_forms", FORM_COLUMNS, form_batch),
        ):
            if batch:
                counts[table] += await write_batches(writer, table, columns, iter(batch), convert)
                batch.clear()

    for contact, events, states, forms in contact_rows(world, contacts, rng):
        contact_batch.append(contact)
        event_batch.extend(events)
        state_batch.extend(states)
        form_batch.extend(forms)
        if len(contact_batch) >= BATCH:
            await flush()
    await flush()
    loaded_contacts = time.perf_counter()
    counts["requests"] = await write_batches(
        writer, "requests", REQUEST_COLUMNS, request_rows(world, requests, rng), convert
    )
    await writer.close()
    return {
        **counts,
        "load_seconds": round(time.perf_counter() - started, 1),
        "contacts_load_seconds": round(loaded_contacts - started, 1),
    }


# ---------------------------------------------------------------------------- measurements


@dataclass(frozen=True)
class Boss:
    id: str
    username: str = "boss"
    roles: frozenset[str] = frozenset({"supervisor"})


def percentiles(samples: list[float]) -> dict[str, float | int]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "samples": len(ordered),
    }


async def caller_history(
    sessions: async_sessionmaker[AsyncSession], boss: Boss, rng: random.Random, samples: int
) -> dict[str, float | int]:
    times = []
    found_rows = 0
    for _ in range(samples):
        caller = number(rng.randrange(CALLERS))
        began = time.perf_counter()
        async with sessions() as session:
            earlier = (
                await session.scalars(
                    select(Contact)
                    .where(Contact.caller_number == caller)
                    .order_by(Contact.arrived_at.desc())
                    .limit(20)
                )
            ).all()
            found = await caller_requests(session=session, number=caller, actor=boss)
            await session.commit()
        times.append(time.perf_counter() - began)
        found_rows += len(earlier) + len(found)
    return {**percentiles(times), "rows_found": found_rows}


async def reports(sessions: async_sessionmaker[AsyncSession], world: World) -> dict[str, Any]:
    day = FIRST_DAY + timedelta(days=world.report_day)
    period = Period.days(day, timezone=TIMEZONE)
    runs = []
    rows = 0
    for _ in range(3):
        began = time.perf_counter()
        async with sessions() as session:
            report = await day_report(session=session, period=period, short_abandon_seconds=5)
        runs.append(time.perf_counter() - began)
        rows = sum(len(t.rows) for t in report.tables)
        offered = report.tables[1].rows[-1][2]
    began = time.perf_counter()
    async with sessions() as session:
        await weekly_summary(session=session, period=Period.week_of(day, timezone=TIMEZONE))
    weekly = time.perf_counter() - began
    form_runs = []
    for _ in range(3):
        began = time.perf_counter()
        async with sessions() as session:
            forms = await form_answers(session=session, period=period)
        form_runs.append(time.perf_counter() - began)
    return {
        "day_report_seconds": [round(r, 3) for r in runs],
        "day_report_rows": rows,
        "day_contacts_offered": offered,
        "weekly_summary_seconds": round(weekly, 3),
        "form_answers_seconds": [round(r, 3) for r in form_runs],
        "day_forms_submitted": sum(row[-1] for row in forms.tables[0].rows),
    }


async def assignment(
    sessions: async_sessionmaker[AsyncSession], boss: Boss, rng: random.Random, samples: int
) -> dict[str, Any]:
    assign_times, total_times, assigned = [], [], 0
    categories = [c for c, (_, _, info) in CATEGORIES.items() if not info]
    for i in range(samples):
        district = rng.randrange(DISTRICTS)
        data = RequestCreate.model_validate(
            {
                "category": rng.choice(categories),
                "idempotency_key": f"bench-new-{i}-{uuid.uuid4().hex}",
                "caller": {"number": number(rng.randrange(CALLERS)), "age": 70},
                "address": {"postcode": f"1{district:02d}001", "street": "Any", "house": "1"},
                "form": {},
            }
        )
        began = time.perf_counter()
        async with sessions() as session:
            change = await create_request(session=session, data=data, actor=boss)
            middle = time.perf_counter()
            result = await auto_assign(session=session, request_id=change.request.id, actor=None)
            await session.commit()
        done = time.perf_counter()
        assign_times.append(done - middle)
        total_times.append(done - began)
        assigned += result.worker_id is not None
    return {
        "assign_with_commit": percentiles(assign_times),
        "create_and_assign": percentiles(total_times),
        "assigned": assigned,
    }


# ---------------------------------------------------------------------------- per database


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    name = f"hotline_bench_{uuid.uuid4().hex[:10]}"
    folder = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    admin = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    else:
        admin = create_raw_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        await migrate.upgrade(url)
        engine = create_engine(url)
        sessions = create_sessions(engine)
        async with sessions() as session:
            await import_config(
                session=session,
                config=parse_config(config_yaml(), filename="bench.yaml"),
                password_cost=ScryptCost(n=2**8),
            )
        async with sessions() as session:
            boss_id = (
                await session.scalars(text("SELECT id FROM users WHERE username = 'boss'"))
            ).one()
        rng = random.Random(args.seed)
        zone_start = Period.days(FIRST_DAY, timezone=TIMEZONE).start
        world = World(
            start=zone_start,
            days=args.days,
            agents=[row_id(zone_start.timestamp(), rng) for _ in range(AGENTS)],
            workers=[
                # every district has workers of every kind
                (
                    row_id(zone_start.timestamp(), rng),
                    KINDS[i // DISTRICTS % len(KINDS)],
                    i % DISTRICTS,
                )
                for i in range(FIELD_WORKERS)
            ],
            report_day=args.days // 2,
        )
        contacts = int(2_000_000 * args.scale)
        requests = int(400_000 * args.scale)
        if backend == "sqlite":
            writer: Writer = SqliteWriter(folder / "bench.db")
            convert = _sqlite
        else:
            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            writer = PgWriter(await asyncpg.connect(dsn))
            convert = _pg
        loaded = await load(
            writer, convert, world, contacts=contacts, requests=requests, seed=args.seed
        )
        print(f"{backend}: loaded {json.dumps(loaded)}", file=sys.stderr, flush=True)
        boss = Boss(boss_id)
        figures: dict[str, Any] = {"load": loaded}
        figures["caller_history"] = await caller_history(sessions, boss, rng, args.samples)
        print(f"{backend}: caller history {figures['caller_history']}", file=sys.stderr, flush=True)
        figures["reports"] = await reports(sessions, world)
        print(f"{backend}: reports {figures['reports']}", file=sys.stderr, flush=True)
        figures["assignment"] = await assignment(sessions, boss, rng, args.samples)
        print(f"{backend}: assignment {figures['assignment']}", file=sys.stderr, flush=True)
        await engine.dispose()
        return figures
    finally:
        if args.keep:
            print(f"{backend}: kept {url}", file=sys.stderr, flush=True)
        elif admin is not None:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if admin is not None:
            await admin.dispose()
        if not args.keep:
            await asyncio.to_thread(shutil.rmtree, folder)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="share of 2M contacts, 400k requests"
    )
    parser.add_argument("--days", type=int, default=30, help="days the contacts and requests span")
    parser.add_argument("--samples", type=int, default=300, help="timed lookups and assignments")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch databases (printed) to look into"
    )
    args = parser.parse_args()
    backends = [args.only] if args.only else ["postgresql", "sqlite"]
    figures: dict[str, Any] = {
        "scale": args.scale,
        "contacts": int(2_000_000 * args.scale),
        "requests": int(400_000 * args.scale),
        "field_workers": FIELD_WORKERS,
        "days": args.days,
    }
    for backend in backends:
        figures[backend] = await run_backend(backend, args)
    targets = {}
    for backend in backends:
        f = figures[backend]
        targets[backend] = {
            "caller_history_p95_under_50ms": f["caller_history"]["p95_ms"] < 50,
            "day_report_under_2s": max(f["reports"]["day_report_seconds"]) < 2,
            "assignment_p95_under_50ms": f["assignment"]["assign_with_commit"]["p95_ms"] < 50,
        }
    figures["targets_met"] = targets
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
