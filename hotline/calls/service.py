"""The live call path: SIP INVITEs in, the IVR, the router's queue and offers, agents' phones
rung, callers and agents bridged, callbacks dialled, transfers, recordings.

`CallService` is the orchestration. It answers each INVITE (a contact is created and its log gets
`contact.arrived` before the 200 OK is sent), then hands the call to its own `LiveCall` actor
(`hotline.calls.call`), and routes what happens elsewhere to the right call: the router's
decisions by contact, media events by endpoint. It also keeps agents' presence in line with their
phones' registrations (`AgentPresence`) and takes transfer commands (from tests now, from the
agent desktop next).

A caller's call is never lost silently: a refused INVITE still gets a contact with outcome
`rejected` and the reason (so does one that fails inside Hotline once its contact exists: it is
refused with 500, or 503 when the database failed); once answered, every path ends in an
outcome written by the router or by the call (`CallOutcome`). The one exception is overload:
past `max_calls`, INVITEs are refused with 503 + Retry-After by the SIP endpoint before anything
is written, on purpose: writing a row per refused call is extra load exactly when the system is
overloaded, and the carrier, told 503, routes the call elsewhere. Those refusals are counted
(`/api/v1/health`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.calls import events as ce
from hotline.calls.audio import CallAudio
from hotline.calls.call import (
    Adopt,
    CallConfig,
    CallContext,
    CallSnapshot,
    Command,
    Key,
    LiveCall,
    MediaLost,
    Played,
    QueueInfo,
    Routed,
    Shutdown,
    Silent,
    Start,
)
from hotline.calls.directory import AgentDirectory, LineDirectory, LineInfo
from hotline.calls.legs import AgentDialer, NumberDialer, answer_incoming, dialable
from hotline.calls.presence import AgentPresence
from hotline.config.service import business_hours, export_config
from hotline.contacts.models import CallOutcome
from hotline.contacts.service import ContactChange
from hotline.core.clock import Clock
from hotline.core.errors import HotlineError, NotFound, RoutingRejected
from hotline.core.events import Event, EventBus, Unsubscribe
from hotline.core.ids import new_id
from hotline.db.engine import read_sessions
from hotline.ivr.service import FlowDirectory
from hotline.routing import events as rev
from hotline.routing import types as rt
from hotline.routing.models import Queue
from hotline.routing.service import RoutingService
from hotline.telephony.media.engine import (
    DigitReceived,
    EndpointEnded,
    MediaEngine,
    MediaEvent,
    PlayDone,
    RecordingFailed,
    RtpTimeout,
)
from hotline.telephony.media.errors import MediaError
from hotline.telephony.sip.endpoint import Endpoint, IncomingCall, mask_user
from hotline.telephony.sip.errors import CallFailed, SdpError
from hotline.telephony.sip.registrar import Registrar

log = logging.getLogger(__name__)

T = TypeVar("T")


class CallService:
    """See the module docstring. `start()` before the SIP endpoint takes calls; `close()` ends
    live calls cleanly (bounded) before the router and the media workers stop."""

    def __init__(
        self,
        *,
        endpoint: Endpoint,
        registrar: Registrar,
        media: MediaEngine,
        routing: RoutingService,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        audio: CallAudio,
        agents: AgentDialer,
        numbers: NumberDialer | None,
        config: CallConfig,
        default_line: str | None = None,
        ready_on_register: bool = True,
        sdp_address: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.registrar = registrar
        self.media = media
        self.routing = routing
        self.sessions = sessions
        self.bus = bus
        self.clock = clock
        self.audio = audio
        self.config = config
        # What a new call looks up only reads: it never waits for the database's writer.
        reads = read_sessions(sessions)
        self.flows = FlowDirectory(reads)
        self.lines = LineDirectory(reads, default_line=default_line)
        self.directory = AgentDirectory(reads)
        self.presence = AgentPresence(
            registrar=registrar,
            routing=routing,
            directory=self.directory,
            ready_on_register=ready_on_register,
        )
        self._agents = agents
        self._numbers = numbers
        self._sdp_address = sdp_address
        self._ctx: CallContext | None = None
        self._by_contact: dict[str, LiveCall] = {}
        self._by_endpoint: dict[str, LiveCall] = {}
        self._calls: set[LiveCall] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: list[Unsubscribe] = []
        self._closing = False
        self.rejected: dict[int, int] = {}  # SIP status -> INVITEs refused with it

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        queues, calendars = await self._configuration()
        self._ctx = CallContext(
            routing=self.routing,
            media=self.media,
            audio=self.audio,
            agents=self._agents,
            numbers=self._numbers,
            directory=self.directory,
            lines=self.lines,
            flows=self.flows,
            calendars=calendars,
            queues=queues,
            sessions=self.sessions,
            bus=self.bus,
            clock=self.clock,
            config=self.config,
            bind_endpoint=self._bind_endpoint,
            unbind_endpoint=self._unbind_endpoint,
            bind_contact=self._bind_contact,
            finished=self._finished,
        )
        await self.directory.load()
        self._unsubscribe.append(self.routing.subscribe(self._on_decision))
        self._unsubscribe.append(self.media.subscribe(self._on_media))
        self.presence.start()
        self.endpoint.on_invite = self._on_invite
        self._spawn(self._warm_up())

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking calls, end the live ones (their outcomes written), bounded by `grace`."""
        self._closing = True  # new INVITEs get 503 with Retry-After from here on
        calls = list(self._calls)
        for call in calls:
            call.post(Shutdown("the service is shutting down"))
        tasks = [c.task for c in calls if c.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d call(s) did not end in time at shutdown", len(pending))
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        await self.presence.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _configuration(self) -> tuple[dict[str, QueueInfo], dict[str, Any]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Queue))).all()
            config = await export_config(session=session)
        queues = {q.id: QueueInfo(q.id, q.name, q.record) for q in rows}
        calendars = {c.id: business_hours(c) for c in config.calendars}
        return queues, calendars

    async def reload_configuration(self) -> None:
        """Re-read the queues and calendars after a configuration publish: calls that start from
        now on see the new business hours in their IVR (calls in progress keep what they have)."""
        if self._ctx is None:
            return
        self._ctx.queues, self._ctx.calendars = await self._configuration()

    async def _warm_up(self) -> None:
        """Make the current flows' prompts before the first caller needs them."""
        flows = []
        for line in await self.lines.all():
            published = await self.flows.for_new_call(line.id)
            if published is not None:
                flows.append(published.flow)
        made = await self.audio.warm_up(flows)
        log.info("prompts ready: %d from %d IVR flow(s)", made, len(flows))

    def _spawn(self, coroutine: Awaitable[T]) -> asyncio.Task[T]:
        task: asyncio.Task[T] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call service task failed", exc_info=task.exception())

    # ------------------------------------------------------------------ reading

    def calls(self) -> list[CallSnapshot]:
        return [call.snapshot() for call in self._calls]

    def call_for(self, contact_id: str) -> LiveCall | None:
        return self._by_contact.get(contact_id)

    # ------------------------------------------------------------------ transfers

    async def transfer(
        self,
        contact_id: str,
        *,
        queue: str | None = None,
        line: str | None = None,
        warm: bool = False,
    ) -> str | None:
        """Transfer a connected contact to a queue or a department line. Blind: the agent
        leaves at once (wrap-up) and the caller waits in the target's queue. Warm: the caller
        hears music while the agent consults whoever takes the target; returns the
        consultation's contact id; then `complete_transfer` or `cancel_transfer`."""
        if (queue is None) == (line is None):
            raise ValueError("transfer to a queue or a line")
        kind, target = ("queue", queue) if queue is not None else ("line", line)
        assert target is not None
        call = self._call(contact_id)
        return await self._command(call, lambda: call.transfer(kind=kind, target=target, warm=warm))

    async def complete_transfer(self, contact_id: str) -> None:
        call = self._call(contact_id)
        await self._command(call, call.complete_transfer)

    async def cancel_transfer(self, contact_id: str) -> None:
        call = self._call(contact_id)
        await self._command(call, call.cancel_transfer)

    def _call(self, contact_id: str) -> LiveCall:
        call = self._by_contact.get(contact_id)
        if call is None:
            raise NotFound(f"no live call for contact {contact_id!r}", contact_id=contact_id)
        return call

    async def _command(self, call: LiveCall, run: Callable[[], Awaitable[T]]) -> T:
        result: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        call.post(Command(run, result))
        return await result

    # ------------------------------------------------------------------ dispatch

    def _bind_endpoint(self, endpoint_id: str, call: LiveCall) -> None:
        self._by_endpoint[endpoint_id] = call

    def _unbind_endpoint(self, endpoint_id: str) -> None:
        self._by_endpoint.pop(endpoint_id, None)

    def _bind_contact(self, contact_id: str, call: LiveCall) -> None:
        self._by_contact[contact_id] = call

    def _finished(self, call: LiveCall) -> None:
        self._calls.discard(call)
        for table in (self._by_contact, self._by_endpoint):
            for key in [k for k, v in table.items() if v is call]:
                del table[key]

    def _run_call(self, call: LiveCall) -> None:
        self._calls.add(call)
        self._by_contact[call.contact_id] = call
        call.start()

    def _on_decision(self, decision: rt.Decision) -> None:
        """The router's decisions, once durable. Called inside the router's writer: only hand
        them on, never wait here (a router command awaited here would wait for itself)."""
        contact_id = getattr(decision, "contact_id", None)
        if contact_id is None:
            return
        call = self._by_contact.get(contact_id)
        if call is not None:
            call.post(Routed(decision))
            return
        if isinstance(decision, rt.Offer) and not self._closing:
            if decision.is_callback:
                # A waiting callback with no live call here (the caller hung up long ago, or the
                # process restarted): a call that dials the caller out.
                assert self._ctx is not None
                adopted = LiveCall(
                    self._ctx, contact_id, line=None, caller_number=None, arrived=self.clock.now()
                )
                self._run_call(adopted)
                adopted.post(Adopt())
                adopted.post(Routed(decision))
            else:
                self._spawn(self._orphan(decision))

    async def _orphan(self, offer: rt.Offer) -> None:
        """An offer for a contact whose call is gone: nothing to connect, end it."""
        log.warning("offer for contact %s that has no live call: cancelled", offer.contact_id)
        with contextlib.suppress(Exception):
            await self.routing.cancel(offer.contact_id)

    def _on_media(self, event: MediaEvent) -> None:
        if isinstance(event, RecordingFailed):
            log.error("recording %s failed: %s", event.path, event.error)
            return
        endpoint_id = getattr(event, "endpoint_id", None)
        call = self._by_endpoint.get(endpoint_id) if endpoint_id is not None else None
        if call is None:
            return
        if isinstance(event, DigitReceived):
            call.post(Key(event.endpoint_id, event.digit))
        elif isinstance(event, PlayDone):
            call.post(Played(event.endpoint_id, event.play_id, event.reason))
        elif isinstance(event, EndpointEnded):
            call.post(MediaLost(event.endpoint_id, event.reason))
        elif isinstance(event, RtpTimeout):
            call.post(Silent(event.endpoint_id, event.seconds))

    # ------------------------------------------------------------------ INVITE

    async def _on_invite(self, call: IncomingCall) -> None:
        if self._closing:
            call.reject(503, headers=[("Retry-After", str(self.endpoint.config.retry_after))])
            return
        dialled = call.called.user
        caller_user = call.caller.uri.user if call.caller.uri is not None else None
        caller_number = (dialable(caller_user) if caller_user else None) or None
        try:
            line = await self.lines.match(dialled)
            contact_id = await self._arrived(call, line, caller_number)
        except Exception:
            # No contact could be written (the database failed): nothing to record it in, so
            # say so in the log and let the carrier try again later or elsewhere.
            log.exception("call %s: refused, its contact could not be created", call.call_id)
            self._count_rejected(503)
            call.reject(503, headers=[("Retry-After", str(self.endpoint.config.retry_after))])
            return
        # From here the contact exists: whatever fails, the INVITE gets a final answer and the
        # contact an outcome (never `waiting` forever with only `contact.arrived` in its log).
        try:
            if line is None:
                await self._refuse(call, contact_id, 404, "No line for this number")
                return
            await self._take(call, contact_id, line, caller_number)
        except Exception as exc:
            log.exception("call %s: failed once contact %s existed", call.call_id, contact_id)
            await self._failed(call, contact_id, exc)

    async def _take(
        self, call: IncomingCall, contact_id: str, line: LineInfo, caller_number: str | None
    ) -> None:
        """Answer the call on a media endpoint and hand it to its `LiveCall` (IVR or queue)."""
        published = await self.flows.for_new_call(line.id)
        try:
            leg = await answer_incoming(
                call, self.media, group=contact_id, sdp_address=self._sdp_address
            )
        except SdpError as exc:
            await self._refuse(
                call, contact_id, exc.status if exc.status >= 400 else 488, exc.reason
            )
            return
        except CallFailed as exc:
            # The caller gave up (CANCEL) while the call was being set up.
            await self._end(
                contact_id,
                line,
                CallOutcome.IVR_ABANDONED.value,
                ce.CallEnded(by="caller", reason=f"cancelled before the answer ({exc.status})"),
            )
            return
        except MediaError as exc:
            log.error("no media for an inbound call: %s", exc.message)
            await self._refuse(call, contact_id, 503, "No media resources")
            return
        try:
            assert self._ctx is not None
            live = LiveCall(
                self._ctx,
                contact_id,
                line=line,
                caller_number=caller_number,
                arrived=self.clock.now(),
                caller=leg,
                flow=published,
            )
            self._run_call(live)
        except BaseException:
            with contextlib.suppress(Exception):
                await leg.hangup()
            raise
        live.post(Start())

    async def _failed(self, call: IncomingCall, contact_id: str, exc: Exception) -> None:
        """An unexpected failure once the contact existed. Not answered yet: the INVITE is
        refused (503 with Retry-After when the database failed, which is usually passing, so the
        carrier may try again or elsewhere; 500 otherwise) and the contact ends `rejected`.
        Already answered, refused or cancelled: the contact gets the outcome that matches."""
        status = call.final_status
        try:
            if status is None:
                if isinstance(exc, SQLAlchemyError | OSError | TimeoutError):
                    await self._refuse(call, contact_id, 503, "Service Unavailable")
                else:
                    await self._refuse(call, contact_id, 500, "Server Internal Error")
            elif status == 487:
                await self._end(
                    contact_id,
                    None,
                    CallOutcome.IVR_ABANDONED.value,
                    ce.CallEnded(by="caller", reason="cancelled before the answer"),
                )
            elif status >= 300:  # the refusal went out, its record did not
                await self._end(
                    contact_id,
                    None,
                    CallOutcome.REJECTED.value,
                    ce.CallRejected(status=status, reason="refused"),
                )
            else:
                await self._end(
                    contact_id,
                    None,
                    rt.Outcome.CANCELLED.value,
                    ce.CallEnded(by="hotline", reason="internal error while setting up the call"),
                )
        except Exception:
            # The database itself failing: the contact stays open until the next start, which
            # ends it as `cancelled` (`RoutingService.restore`).
            log.exception(
                "call %s: the outcome of contact %s was not written", call.call_id, contact_id
            )

    async def _arrived(
        self, call: IncomingCall, line: LineInfo | None, caller_number: str | None
    ) -> str:
        """The contact, and `contact.arrived` in its log, committed before any answer."""
        contact_id = new_id()
        line_id = line.id if line is not None else None
        arrived = ce.CallArrived(
            line_id=line_id, dialled=call.called.user, trunk=call.trunk, sip_user=call.user
        )
        new = {"line_id": line_id, "caller_number": caller_number}
        await self.routing.log(ContactChange(contact_id, (arrived,), new=new))
        log.info(
            "call %s from %s to %s (trunk %s, user %s) on line %s: contact %s",
            call.call_id,
            mask_user(caller_number),
            mask_user(call.called.user),
            call.trunk or "-",
            call.user or "-",
            line_id or "-",
            contact_id,
        )
        return contact_id

    def _count_rejected(self, status: int) -> None:
        self.rejected[status] = self.rejected.get(status, 0) + 1

    async def _refuse(self, call: IncomingCall, contact_id: str, status: int, reason: str) -> None:
        self._count_rejected(status)
        headers = [("Retry-After", str(self.endpoint.config.retry_after))] if status == 503 else []
        call.reject(status, reason, headers=headers)
        await self._end(
            contact_id,
            None,
            CallOutcome.REJECTED.value,
            ce.CallRejected(status=status, reason=reason),
        )

    async def _end(
        self, contact_id: str, line: LineInfo | None, outcome: str, event: Event
    ) -> None:
        now = self.clock.now()
        ended = rev.ContactEnded(queue_id=None, outcome=outcome, waited=0.0, message=None)
        changes = {
            "state": rt.ContactState.ENDED.value,
            "outcome": outcome,
            "ended_at": datetime.fromtimestamp(now, UTC),
        }
        await self.routing.log(ContactChange(contact_id, (event, ended), changes))

    # ------------------------------------------------------------------ the agent desktop

    def agent_call(self, agent_id: str) -> tuple[str, LiveCall] | None:
        """The contact an agent is offered or handles now and its live call, or None."""
        try:
            contact_id = self.routing.engine.agent(agent_id).contact_id
        except RoutingRejected:
            return None
        call = self._by_contact.get(contact_id) if contact_id is not None else None
        return None if call is None or contact_id is None else (contact_id, call)

    async def rejoin(self, agent_id: str) -> bool:
        """The agent's softphone is open again: the call that holds its caller for it (its
        earlier leg was lost mid-call, hotline/calls/rejoin.py) bridges the new leg. False when
        no call waits for this agent."""
        found = self.agent_call(agent_id)
        if found is None:
            return False
        call = found[1]
        try:
            return await self._command(call, lambda: call.rejoin(agent_id))
        except HotlineError as exc:
            log.info("agent %s could not rejoin their call: %s", agent_id, exc.message)
            return False

    async def command(self, call: LiveCall, run: Callable[[], Awaitable[T]]) -> T:
        """Run `run` (one of `call`'s commands) in the call's turn, after what it is doing now."""
        return await self._command(call, run)
