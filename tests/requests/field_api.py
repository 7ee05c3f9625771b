"""The requests and dispatch API on a real database (both backends): the city of
tests/requests/city.py, the browser API in-process (tests/api/harness.py) with the field runtime
attached (a bus, the outbox sender with the outbox adapter, not started: tests deliver with
`drain()`), and people of every role: agents agent01 and agent02, supervisor boss, specialists of
two departments, and the city's field workers, all with the password `PASSWORD`.

The `field_api` fixture is brought into the test folders that need it by their conftest files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.audit.models import AuditEntry
from hotline.config.loader import parse_config
from hotline.config.service import import_config
from hotline.contacts.models import Contact
from hotline.contacts.service import create_contact
from hotline.core.events import Event, InProcessBus
from hotline.notifications.adapters import OutboxNotifier
from hotline.notifications.service import NotificationSender
from hotline.notifications.templates import StatusMessages
from hotline.requests.runtime import FieldRuntime, attach
from hotline.users.models import User
from tests.api.harness import CHEAP, PASSWORD, ApiHarness, build_harness
from tests.requests.city import CITY

CALLER = "+7 495 000-11-22"
CITY_USERS = ("agent01", "boss", "vol_a", "vol_b", "vol_north", "courier", "nurse")


@dataclass
class FieldApi:
    harness: ApiHarness
    runtime: FieldRuntime
    sender: NotificationSender
    published: list[Event]
    keys: int = 0

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.harness.sessions

    def signed_in(self, username: str) -> Any:
        return self.harness.signed_in(username)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.harness.clock.now(), UTC)

    async def user_id(self, username: str) -> str:
        async with self.sessions() as session:
            return (await session.scalars(select(User.id).where(User.username == username))).one()

    async def contact(
        self,
        agent: str | None = "agent01",
        *,
        number: str | None = CALLER,
        attributes: dict[str, Any] | None = None,
        direction: str = "inbound",
    ) -> str:
        """A call handled by `agent` from `number` (`direction="consult"`: a warm transfer's
        consultation, with `consult_for` in its attributes)."""
        agent_id = await self.user_id(agent) if agent is not None else None
        async with self.sessions() as session, session.begin():
            contact = await create_contact(
                session=session, caller_number=number, attributes=attributes, direction=direction
            )
            contact.arrived_at = self.now()
            contact.agent_id = agent_id
            return contact.id

    def form(self, **overrides: Any) -> dict[str, Any]:
        """A valid medicine request in the centre (Тверская), with a fresh idempotency key."""
        self.keys += 1
        body: dict[str, Any] = {
            "category": "medicine",
            "idempotency_key": f"api-form-{self.keys:04d}",
            "caller": {"number": CALLER, "name": "Ivan Petrov", "age": 70},
            "address": {"street": "ул. Тверская", "house": "5", "flat": "12"},
            "form": {"medicines": "aspirin"},
        }
        body.update(overrides)
        return body

    async def create(self, client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
        """Create a request as `client`; the answer's request."""
        answer = await client.post("/api/v1/requests", json=self.form(**overrides))
        assert answer.status_code == 201, answer.text
        request: dict[str, Any] = answer.json()["request"]
        return request

    async def audit(self, action: str) -> list[AuditEntry]:
        async with self.sessions() as session:
            return list(
                (
                    await session.scalars(
                        select(AuditEntry)
                        .where(AuditEntry.action == action)
                        .order_by(AuditEntry.id)
                    )
                ).all()
            )

    async def contact_row(self, contact_id: str) -> Contact:
        async with self.sessions() as session:
            row = await session.get(Contact, contact_id)
            assert row is not None
            return row


@asynccontextmanager
async def field_api_on(
    sessions: async_sessionmaker[AsyncSession],
    *,
    messages: StatusMessages | None = None,
    config: str = CITY,
) -> AsyncIterator[FieldApi]:
    async with sessions() as session:
        await import_config(
            session=session,
            config=parse_config(config, filename="city.yaml"),
            passwords=dict.fromkeys(CITY_USERS, PASSWORD),
            password_cost=CHEAP,
        )
    harness = await build_harness(sessions, configure=False)
    bus = InProcessBus()
    published: list[Event] = []
    bus.subscribe(published.append)
    sender = NotificationSender(
        sessions=sessions, notifier=OutboxNotifier(), clock=harness.clock, interval=3600
    )
    runtime = FieldRuntime(
        bus=bus, clock=harness.clock, messages=messages or StatusMessages(), sender=sender
    )
    attach(harness.api, runtime)
    world = FieldApi(harness, runtime, sender, published)
    await harness.add_user("agent02", roles=["agent"])
    await harness.add_user("health01", roles=["department_specialist"], department="health")
    await harness.add_user("social01", roles=["department_specialist"], department="social")
    yield world


@pytest_asyncio.fixture(loop_scope="function")
async def field_api(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[FieldApi]:
    async with field_api_on(sessions) as world:
        yield world
