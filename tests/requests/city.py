"""A small city on a real database (both backends): two districts, delivery categories and an
information-only one, an agent, a supervisor and field workers, with helpers to act as each.
The `city` fixture is brought into tests/requests and tests/dispatch by their conftest files."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config.loader import parse_config
from hotline.config.service import import_config
from hotline.dispatch.models import FieldWorker
from hotline.requests.models import Request
from hotline.requests.schemas import RequestCreate
from hotline.requests.service import create_request
from hotline.users.models import User
from tests.config.factories import FAST_HASHING, SMALL

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)

CITY = SMALL + textwrap.dedent(
    """\
      - username: vol_a
        name: Volunteer A
        roles: [field_worker]
        field_worker: {kind: volunteer, districts: [centre], capacity: 2}
      - username: vol_b
        name: Volunteer B
        roles: [field_worker]
        field_worker: {kind: volunteer, districts: [centre], capacity: 1}
      - username: vol_north
        name: Volunteer North
        roles: [field_worker]
        field_worker: {kind: volunteer, districts: [north], capacity: 1}
      - username: courier
        name: Courier
        roles: [field_worker]
        field_worker: {kind: courier, districts: [north], capacity: 1}
      - username: nurse
        name: Nurse
        roles: [field_worker]
        field_worker: {kind: polyclinic_staff, districts: [centre], capacity: 5}
    field_worker_kinds:
      - {id: volunteer, name: {en: Volunteer, ru: Волонтёр}}
      - {id: courier, name: {en: Courier, ru: Курьер}}
      - {id: polyclinic_staff, name: {en: Polyclinic staff, ru: Сотрудник поликлиники}}
    districts:
      - id: centre
        name: {en: Centre, ru: Центр}
        postcodes: ["125"]
        streets: [Тверская]
      - id: north
        name: {en: North, ru: Север}
        postcodes: ["127"]
    request_categories:
      - id: medicine
        name: {en: Medicine delivery, ru: Доставка лекарств}
        sla_hours: 24
        accept_minutes: 30
        fulfilled_by: [volunteer, courier]
        form:
          type: object
          required: [medicines]
          properties:
            medicines: {type: string, minLength: 2}
            budget: {type: integer, minimum: 0}
          additionalProperties: false
      - id: sick_leave
        name: {en: Sick-leave papers, ru: Больничный лист}
        sla_hours: 72
        fulfilled_by: [polyclinic_staff]
      - id: payments
        name: {en: Payments question, ru: Вопрос о выплатах}
        sla_hours: 72
        information_only: true
        form:
          type: object
          required: [question]
          properties:
            question: {type: string}
    """
)


@dataclass(frozen=True)
class Person:
    """Someone acting on requests (what `SignedInUser` provides: id, username, roles)."""

    id: str
    username: str
    roles: frozenset[str]


@dataclass
class City:
    sessions: async_sessionmaker[AsyncSession]
    people: dict[str, Person] = field(default_factory=dict)
    keys: int = 0

    def __getitem__(self, username: str) -> Person:
        return self.people[username]

    def form(self, **overrides: Any) -> RequestCreate:
        """A valid medicine request in the centre (Тверская), with a fresh idempotency key."""
        self.keys += 1
        data: dict[str, Any] = {
            "category": "medicine",
            "idempotency_key": f"form-{self.keys:04d}",
            "caller": {"number": "+7 495 000-11-22", "name": "Ivan Petrov", "age": 70},
            "address": {"street": "ул. Тверская", "house": "5", "flat": "12"},
            "form": {"medicines": "aspirin"},
        }
        data.update(overrides)
        return RequestCreate.model_validate(data)

    async def create(self, *, now: datetime = T0, **overrides: Any) -> str:
        async with self.sessions() as session, session.begin():
            change = await create_request(
                session=session, data=self.form(**overrides), actor=self["agent01"], now=now
            )
        return change.request.id

    async def request(self, request_id: str) -> Request:
        async with self.sessions() as session:
            found = await session.get(Request, request_id)
            assert found is not None
            return found

    async def loads(self) -> dict[str, int]:
        """Each field worker's open task count, by username."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(User.username, FieldWorker.active_tasks).join(
                    FieldWorker, FieldWorker.user_id == User.id
                )
            )
            return dict(rows.all())


@pytest_asyncio.fixture(loop_scope="function")
async def city(sessions: async_sessionmaker[AsyncSession]) -> City:
    async with sessions() as session:
        await import_config(session=session, config=parse_config(CITY), password_cost=FAST_HASHING)
    world = City(sessions)
    async with sessions() as session:
        for user in (await session.scalars(select(User))).all():
            world.people[user.username] = Person(user.id, user.username, frozenset(user.role_names))
    return world
