"""A field worker calls the citizen of their task through the platform, never seeing the number.

`PlatformCitizenCalls` uses the call layer's own dialers (`hotline.calls.legs`):
- **bridge**, when the field worker has a phone Hotline can ring (a SIP phone registered with
  their account: the `AgentDialer`): their phone rings first; once they answer, the citizen is
  dialled through the outbound route (`callback_route` or the trunk: the `NumberDialer`) and the
  two legs are bridged in one media worker until either hangs up;
- **agent callback**, when their phone is not reachable: a callback to the citizen is queued for
  an agent (in `citizen_call_queue`, else the queue of the call the request came from), which
  the call layer dials like any callback once an agent takes it.

Either way the call is a contact of its own (direction `outbound` or `callback`, its log naming
the request), so it is on record like every call. Without an outbound route neither is possible:
`NoOutboundRoute` (503)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.calls.legs import AgentDialer, Leg, LegFailed, NumberDialer
from hotline.contacts.models import Contact
from hotline.contacts.service import append_event, create_contact
from hotline.core.clock import Clock
from hotline.core.errors import Conflict, HotlineError
from hotline.core.events import Event, EventBus
from hotline.dispatch.events import CitizenCallConnected, CitizenCallStarted
from hotline.routing import events as rev
from hotline.routing.service import RoutingService
from hotline.telephony.media.engine import MediaEngine
from hotline.telephony.media.errors import MediaError

log = logging.getLogger(__name__)

Mode = Literal["bridge", "agent_callback"]


class NoOutboundRoute(HotlineError):
    """Hotline has no way to dial out (no `callback_route`, no trunk with a proxy)."""

    code = "no_outbound_route"
    http_status = 503


@dataclass(frozen=True, slots=True)
class CitizenCall:
    """A call that was started: its contact id and how it is made."""

    call_id: str
    mode: Mode


class CitizenCalls(Protocol):
    """What the field worker's "call the citizen" button asks of the platform."""

    async def call(
        self,
        *,
        request_id: str,
        number: str,
        worker_id: str,
        worker_username: str,
        queue_id: str | None,
    ) -> CitizenCall:
        """Start connecting the field worker with the citizen at `number`; returns once the
        call is on record (its progress is in its contact's log)."""
        ...

    async def close(self, grace: float = 5.0) -> None: ...


class PlatformCitizenCalls:
    """See the module docstring."""

    def __init__(
        self,
        *,
        agents: AgentDialer,
        numbers: NumberDialer | None,
        media: MediaEngine,
        routing: RoutingService,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        ring_seconds: float = 40.0,
        caller_id: str | None = None,
        fallback_queue: str | None = None,
    ) -> None:
        self._agents = agents
        self._numbers = numbers
        self._media = media
        self._routing = routing
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._ring = ring_seconds
        self._caller_id = caller_id
        self._fallback_queue = fallback_queue
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(
        self,
        *,
        request_id: str,
        number: str,
        worker_id: str,
        worker_username: str,
        queue_id: str | None,
    ) -> CitizenCall:
        if self._numbers is None:
            raise NoOutboundRoute(
                "Hotline cannot dial out: set callback_route or configure a trunk with a proxy"
            )
        if self._agents.reachable(worker_username):
            contact_id = await self._record(request_id, number, worker_id, "bridge")
            task = asyncio.create_task(
                self._bridge(contact_id, request_id, number, worker_id, worker_username),
                name=f"citizen-call-{contact_id}",
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return CitizenCall(contact_id, "bridge")
        queue = self._fallback_queue or queue_id
        if queue is None or queue not in self._routing.engine.queue_ids():
            raise Conflict(
                "your phone is not reachable and no queue takes the call for you: register your "
                "phone, or ask a supervisor (setting citizen_call_queue)",
                request_id=request_id,
            )
        contact_id = await self._record(request_id, number, worker_id, "agent_callback")
        await self._routing.arrive(contact_id, queue, callback=True)
        await self._routing.request_callback(contact_id, number=number)
        return CitizenCall(contact_id, "agent_callback")

    async def close(self, grace: float = 5.0) -> None:
        """Hang up calls in progress (their records are ended), bounded by `grace`."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)

    # ------------------------------------------------------------------ internals

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    async def _record(self, request_id: str, number: str, worker_id: str, mode: Mode) -> str:
        """The call's contact and its first event, committed before anything rings."""
        bridge = mode == "bridge"
        attributes: dict[str, object] = {"purpose": "field_call", "request_id": request_id}
        if not bridge:
            attributes["callback"] = {"number": number, "requested_at": self._clock.now()}
        async with self._sessions() as session, session.begin():
            contact = await create_contact(
                session=session,
                caller_number=number,
                direction="outbound" if bridge else "callback",
                attributes=attributes,
            )
            contact.arrived_at = self._now()
            if bridge:
                contact.agent_id = worker_id
            logged = await append_event(
                session=session,
                contact_id=contact.id,
                event=CitizenCallStarted(request_id=request_id, worker_id=worker_id, mode=mode),
            )
        await self._bus.publish(logged.event)
        return contact.id

    async def _bridge(
        self, contact_id: str, request_id: str, number: str, worker_id: str, username: str
    ) -> None:
        worker: Leg | None = None
        citizen: Leg | None = None
        outcome, reason = "cancelled", "not connected"
        try:
            worker = await self._agents.ring(
                username,
                group=contact_id,
                ring_timeout=self._ring,
                caller_id=self._caller_id,
                display="Hotline",
            )
            dialling = asyncio.ensure_future(
                self._numbers.dial(  # type: ignore[union-attr]  # checked in `call`
                    number, group=contact_id, ring_timeout=self._ring, caller_id=self._caller_id
                )
            )
            # The field worker may give up while the citizen's phone rings.
            await asyncio.wait([dialling, worker.ended], return_when=asyncio.FIRST_COMPLETED)
            if not dialling.done():
                dialling.cancel()
                with contextlib.suppress(asyncio.CancelledError, LegFailed):
                    await dialling
                reason = "the field worker hung up before the citizen answered"
                return
            citizen = dialling.result()
            await self._media.bridge(worker.endpoint.endpoint_id, citizen.endpoint.endpoint_id)
            await self._connected(contact_id, request_id, worker_id)
            outcome, reason = "handled", "connected"
            await asyncio.wait([worker.ended, citizen.ended], return_when=asyncio.FIRST_COMPLETED)
            reason = "the citizen hung up" if citizen.ended.done() else "the field worker hung up"
        except LegFailed as failure:
            reason = f"not reached: {failure.status} {failure.reason}"
        except MediaError as exc:
            reason = f"no audio: {exc.message}"
        except asyncio.CancelledError:
            reason = "the service stopped"
            raise
        finally:
            await asyncio.shield(self._hang_up(worker, citizen))
            await asyncio.shield(self._end(contact_id, outcome, reason))
            log.info("citizen call %s for request %s: %s", contact_id, request_id, reason)

    async def _hang_up(self, *legs: Leg | None) -> None:
        for leg in legs:
            if leg is None:
                continue
            with contextlib.suppress(HotlineError, OSError):
                if leg.active:
                    await leg.hangup()
            with contextlib.suppress(MediaError):
                await self._media.release(leg.endpoint.endpoint_id)

    async def _connected(self, contact_id: str, request_id: str, worker_id: str) -> None:
        await self._write(
            contact_id,
            CitizenCallConnected(request_id=request_id, worker_id=worker_id),
            state="connected",
            answered_at=self._now(),
        )

    async def _end(self, contact_id: str, outcome: str, reason: str) -> None:
        await self._write(
            contact_id,
            rev.ContactEnded(queue_id=None, outcome=outcome, waited=0.0, message=reason),
            state="ended",
            outcome=outcome,
            ended_at=self._now(),
        )

    async def _write(self, contact_id: str, event: Event, **changes: object) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(update(Contact).where(Contact.id == contact_id).values(**changes))
            logged = await append_event(session=session, contact_id=contact_id, event=event)
        await self._bus.publish(logged.event)
