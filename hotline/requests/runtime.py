"""What the request and dispatch routes need besides the `LiveState` (the bus to publish on, the
outbox sender to wake, the platform's way of calling a citizen), handed over by the composition
root with `attach`, and the one way those routes finish a change: status messages queued in the
change's transaction, commit, then publish, then wake the sender."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from hotline.core.clock import Clock
from hotline.core.events import Event, EventBus
from hotline.notifications.service import NotificationSender, queue_status_messages
from hotline.notifications.templates import StatusMessages
from hotline.requests.service import publish

if TYPE_CHECKING:
    from hotline.dispatch.calls import CitizenCalls


@dataclass
class FieldRuntime:
    bus: EventBus
    clock: Clock
    messages: StatusMessages = field(default_factory=StatusMessages)
    sender: NotificationSender | None = None
    citizen_calls: CitizenCalls | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    async def finish(self, session: AsyncSession, events: Sequence[Event]) -> None:
        """Queue the callers' status messages in the change's transaction, commit, publish the
        events (durable now), and wake the sender."""
        queued = await queue_status_messages(
            session=session, events=events, messages=self.messages, now=self.now()
        )
        await session.commit()
        await publish(self.bus, events)
        if queued and self.sender is not None:
            self.sender.poke()


def attach(api: FastAPI, runtime: FieldRuntime) -> None:
    """Hand the runtime to the API (the composition root calls this after `create_api`)."""
    api.state.field_runtime = runtime


def _runtime(connection: HTTPConnection) -> FieldRuntime:
    runtime: FieldRuntime | None = getattr(connection.app.state, "field_runtime", None)
    if runtime is None:
        raise RuntimeError("no field runtime attached to the API (hotline.requests.runtime.attach)")
    return runtime


Runtime = Annotated[FieldRuntime, Depends(_runtime)]
