"""One live call: a caller's contact from the INVITE (or the callback) to the last hang-up.

Each call is an actor: one task works through one mailbox, in order, everything that happens to
it: keys and prompt ends from the media worker, hang-ups from SIP, the router's decisions (offer,
withdrawal, callback suggestion, end), IVR timers, answered or failed rings and dials, and
commands (transfers). Nothing else touches the call's state, so there are no locks and no races
between, say, a caller's BYE and an agent's answer: whichever comes first in the mailbox is handled
first, and the later one finds the state it must cope with (an answered agent leg for a contact
the caller just abandoned is hung up, never bridged).

The router is driven through `RoutingService` and is the authority on the queue: the call layer
never decides who takes a contact or when an offer times out. Its decisions are written down
before they reach the mailbox; the call layer's own facts (the IVR path, transfers, recordings,
leg quality, who hung up) are written to the contact's log as they happen, and a contact the
router never held gets its outcome here (`CallOutcome`): every call ends with one.

Ringing and dialling run as tasks of the call (a phone rings for up to the offer timeout) and
report back through the mailbox; cancelling them (the offer withdrawn, the caller gone) sends
CANCEL."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import enum
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.calls import events as ce
from hotline.calls.audio import CallAudio, QueuePosition
from hotline.calls.browser import BrowserLeg
from hotline.calls.directory import AgentDirectory, LineDirectory, LineInfo
from hotline.calls.legs import AgentDialer, Leg, LegFailed, NumberDialer
from hotline.calls.rejoin import AGENT_LEG_LOST, AgentAway, worth_waiting
from hotline.contacts.models import CallOutcome, Contact
from hotline.contacts.service import ContactChange
from hotline.core.clock import Clock
from hotline.core.errors import Conflict, HotlineError, NotFound, RoutingRejected
from hotline.core.events import Event, EventBus
from hotline.core.ids import new_id
from hotline.ivr import interpreter as ivr
from hotline.ivr.schemas import DTMF_DIGITS, AttributeValue, Flow, PromptName, PromptRef
from hotline.ivr.service import FlowDirectory, PublishedFlow
from hotline.routing import events as rev
from hotline.routing import types as rt
from hotline.routing.engine import RoutingEngine
from hotline.routing.service import RoutingService
from hotline.telephony.media.engine import MediaEngine
from hotline.telephony.media.errors import MediaError
from hotline.telephony.media.stats import LegQuality
from hotline.telephony.sip.endpoint import mask_user

if TYPE_CHECKING:
    from hotline.routing.types import OpenHours

log = logging.getLogger(__name__)

MAX_LINE_HOPS = 3  # IVR transfers from line to line, against a loop between two flows
LAST_MESSAGE_LIMIT = 120.0  # seconds a last message may play before the caller is hung up anyway


class Phase(enum.Enum):
    IVR = "ivr"
    QUEUED = "queued"  # in the router: music and announcements; an offer may be ringing
    CONNECTED = "connected"  # bridged to an agent (or to an external number)
    AGENT_LOST = "agent_lost"  # the agent's softphone went away: held until it is back
    CONSULTING = "consulting"  # on hold while the agent consults a colleague (warm transfer)
    CALLBACK_CONFIRM = "callback_confirm"  # hearing that the callback is registered
    CALLBACK_WAIT = "callback_wait"  # no caller leg: the contact waits in the router
    CALLBACK_DIAL = "callback_dial"  # an agent took the callback; dialling the caller
    EXTERNAL = "external"  # dialling an external number the IVR transferred to
    CLOSING = "closing"  # a last message plays, then the caller is hung up
    DONE = "done"


@dataclass(frozen=True, slots=True)
class QueueInfo:
    id: str
    name: str
    record: bool


@dataclass
class CallConfig:
    """The call layer's knobs (from the settings)."""

    recordings_dir: Path
    callback_key: str = "1"
    callback_ring_seconds: float = 40.0
    callback_retry_seconds: float = 300.0
    callback_attempts: int = 3
    ring_margin: float = 5.0  # the router's offer timer normally stops a ring; this is a backstop
    agent_rejoin_seconds: float = 60.0  # a lost softphone's caller is held this long (rejoin.py)


@dataclass
class CallContext:
    """Everything a call needs, handed over by `CallService` (one per process)."""

    routing: RoutingService
    media: MediaEngine
    audio: CallAudio
    agents: AgentDialer
    numbers: NumberDialer | None
    directory: AgentDirectory
    lines: LineDirectory
    flows: FlowDirectory
    calendars: Mapping[str, OpenHours]
    queues: Mapping[str, QueueInfo]
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    clock: Clock
    config: CallConfig
    bind_endpoint: Callable[[str, LiveCall], None]
    unbind_endpoint: Callable[[str], None]
    bind_contact: Callable[[str, LiveCall], None]
    finished: Callable[[LiveCall], None]
    lines_waiting: WaitingLines = field(default_factory=lambda: WaitingLines())


class WaitingLines:
    """Who waits in which queue, in order, for announcing callers their place in line. One
    listing of the router's contacts serves every announcement for `max_age` seconds: listing
    them all for each announcement costs O(n) each, O(n^2) with many callers, and a place a
    second old is still right enough to announce."""

    def __init__(self, max_age: float = 1.0) -> None:
        self._max_age = max_age
        self._at: float | None = None
        self._lines: dict[str, list[tuple[tuple[int, float], str]]] = {}

    def ahead(self, engine: RoutingEngine, me: rt.ContactSnapshot, now: float) -> int:
        """How many contacts wait before `me` in its queue (higher priority, then earlier)."""
        if self._at is None or not 0 <= now - self._at < self._max_age:
            lines: dict[str, list[tuple[tuple[int, float], str]]] = {}
            for c in engine.contacts():
                if c.state is rt.ContactState.WAITING:
                    place = ((-c.priority, c.arrived), c.contact_id)
                    lines.setdefault(c.queue_id, []).append(place)
            for line in lines.values():
                line.sort()
            self._lines, self._at = lines, now
        line = self._lines.get(me.queue_id, [])
        return bisect.bisect_left(line, ((-me.priority, me.arrived), ""))


# ------------------------------------------------------------------------------ messages


@dataclass(frozen=True, slots=True)
class Start:
    """Begin an answered inbound call (the IVR, or the line's queue)."""


@dataclass(frozen=True, slots=True)
class Adopt:
    """Take over a waiting callback the process has no live call for (after a restart)."""


@dataclass(frozen=True, slots=True)
class Key:
    endpoint_id: str
    digit: str


@dataclass(frozen=True, slots=True)
class Played:
    endpoint_id: str
    play_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class LegGone:
    leg: Leg
    reason: str


@dataclass(frozen=True, slots=True)
class MediaLost:
    endpoint_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Silent:
    """No RTP from a party for `seconds`: their phone or network is gone."""

    endpoint_id: str
    seconds: float


@dataclass(frozen=True, slots=True)
class IvrTimer:
    timer_id: int


@dataclass(frozen=True, slots=True)
class Routed:
    decision: rt.Decision


@dataclass(frozen=True, slots=True)
class Rung:
    token: object
    leg: Leg | None
    failure: LegFailed | None


@dataclass(frozen=True, slots=True)
class Dialled:
    token: object
    leg: Leg | None
    failure: LegFailed | None


@dataclass(frozen=True, slots=True)
class AnnounceTick:
    generation: int


@dataclass(frozen=True, slots=True)
class PlayGuard:
    play_id: str


@dataclass(frozen=True, slots=True)
class AgentAwayOver:
    """The grace period of a call waiting for its agent's softphone is over."""

    away: AgentAway


@dataclass(frozen=True, slots=True)
class Command:
    run: Callable[[], Awaitable[Any]]
    result: asyncio.Future[Any]


@dataclass(frozen=True, slots=True)
class Shutdown:
    reason: str


Message = (
    Start
    | Adopt
    | Key
    | Played
    | LegGone
    | MediaLost
    | Silent
    | IvrTimer
    | Routed
    | Rung
    | Dialled
    | AnnounceTick
    | PlayGuard
    | AgentAwayOver
    | Command
    | Shutdown
)


# ------------------------------------------------------------------------------ parts


@dataclass
class _Play:
    play_id: str
    purpose: str  # ivr, announce, music, suggest, confirm, message, ringback
    ivr_id: int | None = None
    then: Callable[[], Awaitable[None]] | None = None


@dataclass
class _Ring:
    token: object
    offer: rt.Offer
    purpose: str  # primary, callback, consult
    task: asyncio.Task[None]


@dataclass
class _Dial:
    token: object
    purpose: str  # callback, external
    task: asyncio.Task[None]


@dataclass
class _Party:
    """An agent on the call: their contact (whose router record their leg serves) and leg."""

    contact_id: str
    agent_id: str
    leg: Leg


@dataclass
class _Consult:
    contact_id: str
    queue_id: str
    kind: str
    target: str
    open: bool = True
    party: _Party | None = None


@dataclass
class _Recording:
    endpoint_id: str
    path: Path
    contact_id: str


@dataclass(frozen=True)
class ConsultSnapshot:
    """A warm transfer's consultation in progress: its contact, the target (`queue:<id>` or
    `line:<id>`), and whether a colleague has answered it."""

    contact_id: str
    target: str
    answered: bool


@dataclass
class CallSnapshot:
    contact_id: str
    phase: str
    queue_id: str | None
    agent_id: str | None
    since: float
    legs: list[str] = field(default_factory=list)
    consult: ConsultSnapshot | None = None


class LiveCall:
    """One caller's call (see the module docstring). Created by `CallService`."""

    def __init__(
        self,
        ctx: CallContext,
        contact_id: str,
        *,
        line: LineInfo | None,
        caller_number: str | None,
        arrived: float,
        caller: Leg | None = None,
        flow: PublishedFlow | None = None,
    ) -> None:
        self.ctx = ctx
        self.contact_id = contact_id  # the contact the caller's conversation now belongs to
        self.group = contact_id  # media group of every leg (bridges stay on one worker)
        self.line = line
        self.caller_number = caller_number
        self.arrived = arrived
        self.caller = caller
        self.published = flow
        self.flow: Flow | None = flow.flow if flow is not None else None
        self.phase = Phase.IVR if caller is not None else Phase.CALLBACK_WAIT
        self.since = arrived
        self.contact_open = True
        self.queue_id: str | None = None
        self.ivr_session: ivr.IvrSession | None = None
        self.line_hops = 0
        self.mailbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self._play: _Play | None = None
        self._ivr_timers: dict[int, asyncio.TimerHandle] = {}
        self._announce: tuple[PromptRef, ...] = ()
        self._announce_every: float | None = None
        self._announce_timer: asyncio.TimerHandle | None = None
        self._announce_generation = 0
        self._guard_timer: asyncio.TimerHandle | None = None
        self._callback_offered = False
        self._pending_offer: rt.Offer | None = None
        self._ring: _Ring | None = None
        self._dial: _Dial | None = None
        self.agent: _Party | None = None
        self.consult: _Consult | None = None
        self.external: Leg | None = None
        self._recording: _Recording | None = None
        # Legs we hang up ourselves, by id, with the role and agent they had: their end is
        # expected, and their quality is still recorded when the hang-up comes back.
        self._ending: dict[int, tuple[str, _Party | None]] = {}
        self._lost: dict[int, str] = {}  # why a leg we ended for the party was lost
        self._deliberate: set[int] = set()  # agents' legs hung up on purpose (from the desktop)
        self._away: AgentAway | None = None  # the agent whose softphone is coming back
        self._away_timer: asyncio.TimerHandle | None = None
        self._borrowed: set[str] = set()  # endpoints of legs that do not own them (softphones)
        self._callback: dict[str, Any] = {}
        self._attempts = 0
        self._external_number = ""
        self._ivr_written = False
        self._failed = False
        if caller is not None:
            self._attach(caller)

    # ------------------------------------------------------------------ running

    def post(self, message: Message) -> None:
        self.mailbox.put_nowait(message)

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self._run(), name=f"call-{self.contact_id[:8]}")
        return self.task

    def snapshot(self) -> CallSnapshot:
        legs = [
            name
            for name, leg in (
                ("caller", self.caller),
                ("agent", self.agent.leg if self.agent else None),
                (
                    "consult",
                    self.consult.party.leg if self.consult and self.consult.party else None,
                ),
                ("external", self.external),
            )
            if leg is not None
        ]
        consult = self.consult
        agent_id = self.agent.agent_id if self.agent else None
        if agent_id is None and self._away is not None:
            agent_id = self._away.agent_id
        return CallSnapshot(
            self.contact_id,
            self.phase.value,
            self.queue_id,
            agent_id,
            self.since,
            legs,
            None
            if consult is None
            else ConsultSnapshot(
                consult.contact_id, f"{consult.kind}:{consult.target}", consult.party is not None
            ),
        )

    async def _run(self) -> None:
        while self.phase is not Phase.DONE:
            message = await self.mailbox.get()
            try:
                await self._handle(message)
            except Exception as exc:
                log.exception("call %s: %s failed", self.contact_id, type(message).__name__)
                if isinstance(message, Command) and not message.result.done():
                    message.result.set_exception(exc)
                with contextlib.suppress(Exception):
                    await self._fail("internal error in the call layer")
            self._check_done()
        self._cleanup_timers()
        # Commands that arrived after the end get an answer rather than hanging their caller.
        while not self.mailbox.empty():
            message = self.mailbox.get_nowait()
            if isinstance(message, Command) and not message.result.done():
                message.result.set_exception(NotFound("the call has ended"))
        self.ctx.finished(self)

    def _check_done(self) -> None:
        if self.phase is Phase.DONE:
            return
        live = (
            self.caller is not None
            or self.agent is not None
            or self.consult is not None
            or self.external is not None
            or self._ring is not None
            or self._dial is not None
            or bool(self._ending)  # hung up by us: released when their end comes back
        )
        if not self.contact_open and not live:
            self.phase = Phase.DONE

    async def _handle(self, message: Message) -> None:
        if isinstance(message, Start):
            await self._start()
        elif isinstance(message, Adopt):
            await self._adopt()
        elif isinstance(message, Key):
            await self._key(message)
        elif isinstance(message, Played):
            await self._played(message)
        elif isinstance(message, LegGone):
            await self._leg_gone(message.leg, message.reason)
        elif isinstance(message, MediaLost):
            await self._media_lost(message.endpoint_id, message.reason)
        elif isinstance(message, Silent):
            await self._silent(message.endpoint_id, message.seconds)
        elif isinstance(message, IvrTimer):
            if self.phase is Phase.IVR and self._ivr_timers.pop(message.timer_id, None) is not None:
                await self._ivr_event(ivr.Timeout(message.timer_id))
        elif isinstance(message, Routed):
            await self._decision(message.decision)
        elif isinstance(message, Rung):
            await self._rung(message)
        elif isinstance(message, Dialled):
            await self._dialled(message)
        elif isinstance(message, AnnounceTick):
            await self._announce_tick(message.generation)
        elif isinstance(message, PlayGuard):
            if self._play is not None and self._play.play_id == message.play_id:
                await self._played(Played(self._caller_ep() or "", message.play_id, "finished"))
        elif isinstance(message, AgentAwayOver):
            await self._away_over(message.away)
        elif isinstance(message, Command):
            try:
                value = await message.run()
            except HotlineError as exc:
                if not message.result.done():
                    message.result.set_exception(exc)
            else:
                if not message.result.done():
                    message.result.set_result(value)
        elif isinstance(message, Shutdown):
            await self._fail(message.reason, shutdown=True)

    # ------------------------------------------------------------------ helpers

    def _now(self) -> float:
        return self.ctx.clock.now()

    def _caller_ep(self) -> str | None:
        return self.caller.endpoint.endpoint_id if self.caller is not None else None

    def _attach(self, leg: Leg) -> None:
        endpoint_id = leg.endpoint.endpoint_id
        self.ctx.bind_endpoint(endpoint_id, self)
        if not leg.owns_endpoint:
            self._borrowed.add(endpoint_id)
        leg.on_key = lambda digit: self.post(Key(endpoint_id, digit))
        leg.ended.add_done_callback(
            lambda future: self.post(
                LegGone(leg, future.result() if not future.cancelled() else "cancelled")
            )
        )

    def _language(self) -> str:
        return self.flow.language if self.flow is not None else self.ctx.audio.language

    async def _write(
        self,
        contact_id: str,
        *events: Event,
        changes: dict[str, Any] | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Append events to a contact's log (and change its row) in one transaction, then
        publish them: the router's writer, which commits many calls' writes together."""
        await self.ctx.routing.log(
            ContactChange(contact_id, events, changes or {}, attributes or None)
        )

    async def _end_contact(self, outcome: str, *, by: str, reason: str) -> None:
        """Write the outcome of a contact the router does not hold (or no longer holds)."""
        if not self.contact_open:
            return
        self.contact_open = False
        now = self._now()
        await self._write(
            self.contact_id,
            rev.ContactEnded(
                queue_id=self.queue_id,
                outcome=outcome,
                waited=max(0.0, now - self.arrived),
                message=None,
            ),
            ce.CallEnded(by=by, reason=reason),
            changes={
                "state": rt.ContactState.ENDED.value,
                "outcome": outcome,
                "ended_at": datetime.fromtimestamp(now, UTC),
            },
        )

    def _in_router(self, contact_id: str) -> bool:
        try:
            self.ctx.routing.engine.contact(contact_id)
        except RoutingRejected:
            return False
        return True

    async def _route(self, command: Awaitable[None]) -> bool:
        """Run a router command; False when the router refused it (the state moved on)."""
        try:
            await command
        except RoutingRejected as exc:
            log.debug("call %s: router refused: %s", self.contact_id, exc.message)
            return False
        return True

    # ------------------------------------------------------------------ playing

    async def _play_to_caller(
        self,
        files: Sequence[Path],
        purpose: str,
        *,
        loop: bool = False,
        barge_in: bool = False,
        ivr_id: int | None = None,
        then: Callable[[], Awaitable[None]] | None = None,
        guard: bool = False,
    ) -> bool:
        endpoint_id = self._caller_ep()
        if endpoint_id is None or not files:
            return False
        try:
            play_id = await self.ctx.media.play(endpoint_id, files, loop=loop, barge_in=barge_in)
        except MediaError as exc:
            log.warning("call %s: cannot play: %s", self.contact_id, exc.message)
            return False
        self._play = _Play(play_id, purpose, ivr_id, then)
        if guard:
            self._guard_timer = asyncio.get_running_loop().call_later(
                LAST_MESSAGE_LIMIT, self.post, PlayGuard(play_id)
            )
        return True

    async def _stop_caller_play(self) -> None:
        endpoint_id = self._caller_ep()
        self._play = None
        if endpoint_id is not None:
            with contextlib.suppress(MediaError):
                await self.ctx.media.stop(endpoint_id)

    async def _played(self, message: Played) -> None:
        play = self._play
        if play is None or play.play_id != message.play_id:
            return
        self._play = None
        if play.purpose == "ivr":
            if message.reason == "finished" and play.ivr_id is not None:
                await self._ivr_event(ivr.PromptFinished(play.ivr_id))
            return
        if message.reason in ("finished", "barge_in") and play.then is not None:
            await play.then()

    async def _music(self) -> None:
        if self.phase not in (Phase.QUEUED, Phase.CONSULTING) or self.caller is None:
            return
        music = await self.ctx.audio.music(self.caller.codec)
        if music is not None:
            await self._play_to_caller([music], "music", loop=True)

    async def _say(self, text_or_prompt: str | None, fallback: str) -> list[Path]:
        """A message by prompt name (of the call's flow), else the built-in phrase."""
        if self.caller is None:
            return []
        codec = self.caller.codec
        flow = self.flow
        if text_or_prompt and flow is not None and text_or_prompt in flow.prompts:
            return await self.ctx.audio.files([flow.resolve(PromptName(text_or_prompt))], codec)
        return await self.ctx.audio.say(fallback, codec, lang=self._language())

    async def _last_words(self, files: Sequence[Path]) -> None:
        """Play a last message and hang up the caller after it."""
        self.phase = Phase.CLOSING
        self.since = self._now()
        self._cancel_announcements()
        if not await self._play_to_caller(files, "message", then=self._hang_up_caller, guard=True):
            await self._hang_up_caller()

    async def _hang_up_caller(self) -> None:
        if self.caller is not None:
            await self._hang_up(self.caller, "caller")

    async def _hang_up(self, leg: Leg, role: str, party: _Party | None = None) -> None:
        """End a leg from our side; its `LegGone` then only releases it."""
        self._ending[id(leg)] = (role, party)
        await leg.hangup()

    # ------------------------------------------------------------------ start

    async def _start(self) -> None:
        if self.flow is not None:
            attributes: dict[str, AttributeValue] = {}
            if self.caller_number:
                attributes["caller_number"] = self.caller_number
            if self.line is not None:
                attributes["line"] = self.line.id
            try:
                self.ivr_session = ivr.IvrSession(
                    self.flow, attributes=attributes, calendars=self.ctx.calendars
                )
            except HotlineError as exc:
                log.error("call %s: IVR flow unusable: %s", self.contact_id, exc.message)
                self.ivr_session = None
            if self.ivr_session is not None:
                await self._ivr_run(self.ivr_session.start(self._now()))
                return
        queue = self.line.queue_id if self.line is not None else None
        if queue is None:
            await self._fail("the line has neither an IVR flow nor a queue")
            return
        await self._enqueue(queue, 0, (), None)

    async def _adopt(self) -> None:
        """Load a waiting callback's record (the caller's number, its line) from the database."""
        async with self.ctx.sessions() as session:
            row = await session.get(Contact, self.contact_id)
        if row is None:
            self.contact_open = False
            return
        attributes = dict(row.attributes or {})
        self._callback = dict(attributes.get("callback") or {})
        self._attempts = int(self._callback.get("attempts") or 0)
        self.caller_number = self._callback.get("number") or row.caller_number
        self.queue_id = row.queue_id
        self.arrived = row.arrived_at.timestamp()
        if row.line_id is not None:
            self.line = await self.ctx.lines.get(row.line_id)

    # ------------------------------------------------------------------ IVR

    async def _ivr_event(self, event: ivr.IvrEvent) -> None:
        if self.ivr_session is None or self.phase is not Phase.IVR:
            return
        await self._ivr_run(self.ivr_session.on_event(event, self._now()))

    async def _ivr_run(self, actions: list[ivr.Action]) -> None:
        pending = deque(actions)
        session = self.ivr_session
        assert session is not None
        while pending:
            action = pending.popleft()
            if isinstance(action, ivr.Play):
                if not await self._ivr_play(action):
                    # Nothing to play (a prompt could not be made): as if it had been heard.
                    pending.extend(
                        session.on_event(ivr.PromptFinished(action.play_id), self._now())
                    )
            elif isinstance(action, ivr.StopPlay):
                play = self._play
                if play is not None and play.ivr_id == action.play_id:
                    await self._stop_caller_play()
            elif isinstance(action, ivr.StartTimer):
                delay = max(0.0, action.at - self._now())
                self._ivr_timers[action.timer_id] = asyncio.get_running_loop().call_later(
                    delay, self.post, IvrTimer(action.timer_id)
                )
            elif isinstance(action, ivr.CancelTimer):
                handle = self._ivr_timers.pop(action.timer_id, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(action, ivr.SetAttribute):
                pass  # the session keeps them; they are written with the IVR's record
            else:
                await self._ivr_done(action)

    async def _ivr_play(self, action: ivr.Play) -> bool:
        if self.caller is None:
            return False
        files = await self.ctx.audio.files(action.prompts, self.caller.codec)
        return await self._play_to_caller(
            files, "ivr", barge_in=action.barge_in, ivr_id=action.play_id
        )

    async def _write_ivr_record(self, ending: ivr.TerminalAction | None = None) -> None:
        """The IVR's record, and its attributes on the contact: the session's, with those the
        ending step adds (an enqueue's or a callback's own `attributes`, such as the topic that
        picks the agent's script and form)."""
        session = self.ivr_session
        if session is None or self._ivr_written:
            return
        self._ivr_written = True
        record = session.record()
        if isinstance(ending, ivr.Enqueue | ivr.OfferCallback):
            record["attributes"] = {**record["attributes"], **ending.attributes}
        await self._write(
            self.contact_id,
            ce.IvrCompleted(
                flow=record["flow"],
                flow_version=self.published.version if self.published is not None else None,
                path=record["path"],
                attributes=record["attributes"],
                outcome=record["outcome"],
                ended_by=record["ended_by"],
            ),
            attributes=dict(record["attributes"]),
        )

    def _cancel_ivr_timers(self) -> None:
        for handle in self._ivr_timers.values():
            handle.cancel()
        self._ivr_timers.clear()

    async def _ivr_done(self, action: ivr.TerminalAction) -> None:
        self._cancel_ivr_timers()
        await self._write_ivr_record(action)
        if isinstance(action, ivr.Enqueue):
            await self._enqueue(
                action.queue, action.priority, action.announce, action.announce_every
            )
        elif isinstance(action, ivr.OfferCallback):
            await self._ivr_callback(action)
        elif isinstance(action, ivr.Transfer):
            await self._ivr_transfer(action)
        else:
            await self._end_contact(
                CallOutcome.IVR_FINISHED.value, by="hotline", reason="the IVR ended the call"
            )
            files = (
                await self.ctx.audio.files(action.message, self.caller.codec)
                if self.caller is not None
                else []
            )
            await self._last_words(files)

    async def _ivr_transfer(self, action: ivr.Transfer) -> None:
        if action.kind == "queue":
            await self._enqueue(action.target, 0, (), None)
            return
        if action.kind == "external":
            await self._external(action.target)
            return
        line = await self.ctx.lines.get(action.target)
        if line is None:
            await self._fail(f"the IVR transferred to an unknown line {action.target!r}")
            return
        await self._write(
            self.contact_id, ce.CallTransferred(kind="line", target=line.id, stage="done")
        )
        self.line_hops += 1
        published = await self.ctx.flows.for_new_call(line.id)
        if published is not None and self.line_hops <= MAX_LINE_HOPS:
            self.published, self.flow = published, published.flow
            attributes = dict(self.ivr_session.attributes) if self.ivr_session else {}
            attributes["line"] = line.id
            self._ivr_written = False
            try:
                self.ivr_session = ivr.IvrSession(
                    published.flow, attributes=attributes, calendars=self.ctx.calendars
                )
            except HotlineError as exc:
                log.error("call %s: IVR flow of %s unusable: %s", self.contact_id, line.id, exc)
                self.ivr_session = None
            if self.ivr_session is not None:
                await self._ivr_run(self.ivr_session.start(self._now()))
                return
        if line.queue_id is None:
            await self._fail(f"line {line.id!r} has no IVR flow and no queue")
            return
        await self._enqueue(line.queue_id, 0, (), None)

    # ------------------------------------------------------------------ queue

    async def _enqueue(
        self,
        queue_id: str,
        priority: int,
        announce: tuple[PromptRef, ...],
        every: float | None,
        *,
        callback: bool = False,
    ) -> bool:
        if queue_id not in self.ctx.routing.engine.queue_ids():
            await self._fail(f"no queue {queue_id!r} in the router")
            return False
        self.queue_id = queue_id
        self.phase = Phase.QUEUED
        self.since = self._now()
        self._announce, self._announce_every = announce, every
        if not await self._route(
            self.ctx.routing.arrive(self.contact_id, queue_id, priority=priority, callback=callback)
        ):
            await self._fail(f"the router refused the contact for queue {queue_id!r}")
            return False
        if not self._in_router(self.contact_id):
            return False  # closed: the router's ContactEnded (in the mailbox) plays its message
        if announce:
            await self._announce_now()
        else:
            await self._music()
        self._schedule_announcements()
        return True

    def _schedule_announcements(self) -> None:
        self._cancel_announcements()
        if self._announce and self._announce_every:
            self._announce_generation += 1
            self._announce_timer = asyncio.get_running_loop().call_later(
                self._announce_every, self.post, AnnounceTick(self._announce_generation)
            )

    def _cancel_announcements(self) -> None:
        if self._announce_timer is not None:
            self._announce_timer.cancel()
            self._announce_timer = None
        self._announce_generation += 1

    async def _announce_tick(self, generation: int) -> None:
        if generation != self._announce_generation or self.phase is not Phase.QUEUED:
            return
        if self._play is None or self._play.purpose == "music":
            await self._announce_now()
        self._schedule_announcements()

    async def _announce_now(self) -> None:
        if self.caller is None:
            return
        files = await self.ctx.audio.files(
            self._announce, self.caller.codec, position=self.position()
        )
        if not await self._play_to_caller(files, "announce", then=self._music):
            await self._music()

    def position(self) -> QueuePosition | None:
        """The caller's place in line (1 = next) and the expected wait, from the router."""
        engine = self.ctx.routing.engine
        try:
            me = engine.contact(self.contact_id)
        except RoutingRejected:
            return None
        now = self._now()
        position = self.ctx.lines_waiting.ahead(engine, me, now) + 1
        per_contact = engine.expected_wait(me.queue_id, now) / (
            engine.waiting_count(me.queue_id) + 1
        )
        return QueuePosition(position, per_contact * position)

    # ------------------------------------------------------------------ callbacks

    def _can_call_back(self) -> bool:
        return bool(self.caller_number) and self.ctx.numbers is not None

    async def _key(self, message: Key) -> None:
        if message.endpoint_id != self._caller_ep():
            return  # keys from agents' phones are theirs (relayed while bridged)
        digit = message.digit.upper()
        if digit not in DTMF_DIGITS or len(digit) != 1:
            return
        if self.phase is Phase.IVR:
            await self._ivr_event(ivr.Digit(digit))
        elif (
            self.phase is Phase.QUEUED
            and digit == self.ctx.config.callback_key
            and self._callback_offered
        ):
            await self._request_callback()

    async def _request_callback(self) -> None:
        if self._ring is not None:
            return  # an agent's phone is ringing for this caller right now: they are next
        number = self.caller_number
        if not await self._route(self.ctx.routing.request_callback(self.contact_id, number=number)):
            return
        # Durable now (the router committed it): only now may the caller be told.
        self._callback = {"number": number}
        await self._confirm_callback(None)

    async def _confirm_callback(self, message: Sequence[PromptRef] | None) -> None:
        self.phase = Phase.CALLBACK_CONFIRM
        self.since = self._now()
        self._cancel_announcements()
        if self.caller is None:
            await self._callback_waiting()
            return
        if message:
            files = await self.ctx.audio.files(message, self.caller.codec)
        else:
            files = await self._say(
                None, self.ctx.audio.phrase("callback_confirmed", self._language())
            )
        if not await self._play_to_caller(files, "confirm", then=self._hang_up_caller, guard=True):
            await self._hang_up_caller()

    async def _callback_waiting(self) -> None:
        self.phase = Phase.CALLBACK_WAIT
        self.since = self._now()
        offer, self._pending_offer = self._pending_offer, None
        if offer is not None and self._in_router(offer.contact_id):
            await self._start_ring(offer, "callback")

    async def _ivr_callback(self, action: ivr.OfferCallback) -> None:
        number = action.number or self.caller_number
        if not number or self.ctx.numbers is None:
            # Nobody could call back: the caller waits in the queue instead of being promised
            # a call that cannot come.
            log.warning("call %s: callback asked but impossible; queued instead", self.contact_id)
            await self._enqueue(action.queue, action.priority, (), None)
            return
        self.caller_number = number
        # callback=True: a callback asked for out of hours is kept, not met by the closed message
        if not await self._enqueue(action.queue, action.priority, (), None, callback=True):
            return
        await self._stop_caller_play()
        if not await self._route(self.ctx.routing.request_callback(self.contact_id, number=number)):
            await self._music()
            return
        self._callback = {"number": number}
        await self._confirm_callback(action.message)

    # ------------------------------------------------------------------ router decisions

    async def _decision(self, decision: rt.Decision) -> None:
        consult = self.consult
        if isinstance(decision, rt.Offer):
            await self._offer(decision)
        elif isinstance(decision, rt.OfferWithdrawn):
            ring = self._ring
            if ring is not None and ring.offer.contact_id == decision.contact_id:
                self._ring = None
                ring.task.cancel()
            pending = self._pending_offer
            if pending is not None and pending.contact_id == decision.contact_id:
                self._pending_offer = None
        elif isinstance(decision, rt.CallbackSuggested):
            if decision.contact_id == self.contact_id:
                await self._suggest_callback(decision.message)
        elif isinstance(decision, rt.ContactMoved):
            if decision.contact_id == self.contact_id:
                self.queue_id = decision.to_queue
        elif isinstance(decision, rt.ContactEnded):
            if consult is not None and decision.contact_id == consult.contact_id:
                consult.open = False
                if consult.party is None and self.phase is Phase.CONSULTING:
                    await self._consult_failed(decision.outcome.value)
            elif decision.contact_id == self.contact_id:
                await self._contact_ended(decision)

    async def _offer(self, offer: rt.Offer) -> None:
        consult = self.consult
        if consult is not None and offer.contact_id == consult.contact_id:
            await self._start_ring(offer, "consult")
        elif offer.contact_id != self.contact_id:
            return
        elif self.phase is Phase.QUEUED and not offer.is_callback:
            await self._start_ring(offer, "primary")
        elif offer.is_callback and self.phase is Phase.CALLBACK_WAIT:
            await self._start_ring(offer, "callback")
        elif offer.is_callback and self.phase is Phase.CALLBACK_CONFIRM:
            self._pending_offer = offer  # rung once the caller has heard the confirmation
        else:
            log.info("call %s: offer in phase %s declined", self.contact_id, self.phase.value)
            await self._route(self.ctx.routing.decline(offer.contact_id))

    async def _suggest_callback(self, message: str | None) -> None:
        if self.phase is not Phase.QUEUED or self._callback_offered or not self._can_call_back():
            return
        self._callback_offered = True
        key = self.ctx.config.callback_key
        files = await self._say(
            message, self.ctx.audio.phrase("callback_offer", self._language(), key=key)
        )
        if not await self._play_to_caller(files, "suggest", then=self._music):
            await self._music()

    async def _contact_ended(self, decision: rt.ContactEnded) -> None:
        self.contact_open = False
        ring, self._ring = self._ring, None
        if ring is not None:
            ring.task.cancel()
        if decision.outcome in (rt.Outcome.CLOSED, rt.Outcome.MESSAGE) and self.caller is not None:
            fallback = "closed" if decision.outcome is rt.Outcome.CLOSED else "busy"
            files = await self._say(
                decision.message, self.ctx.audio.phrase(fallback, self._language())
            )
            await self._write(
                self.contact_id,
                ce.CallEnded(by="hotline", reason=f"the queue {decision.outcome.value}"),
            )
            await self._last_words(files)
        elif decision.outcome is rt.Outcome.CALLBACK_FAILED:
            log.info(
                "call %s: callback given up after %d attempts", self.contact_id, self._attempts
            )

    # ------------------------------------------------------------------ ringing agents

    async def _start_ring(self, offer: rt.Offer, purpose: str) -> None:
        username = await self.ctx.directory.username(offer.agent_id)
        if username is None:
            await self._route(self.ctx.routing.decline(offer.contact_id))
            return
        token = object()
        timeout = max(1.0, offer.deadline - self._now()) + self.ctx.config.ring_margin
        queue = self.ctx.queues.get(offer.queue_id)
        caller_id = "".join(c for c in self.caller_number or "" if c.isdigit()) or None
        task = asyncio.create_task(
            self._ring_task(
                token,
                username,
                ring_timeout=timeout,
                caller_id=caller_id,
                display=queue.name if queue is not None else offer.queue_id,
            ),
            name=f"ring-{username}",
        )
        self._ring = _Ring(token, offer, purpose, task)

    async def _ring_task(
        self,
        token: object,
        username: str,
        *,
        ring_timeout: float,
        caller_id: str | None,
        display: str | None,
    ) -> None:
        try:
            leg = await self.ctx.agents.ring(
                username,
                group=self.group,
                ring_timeout=ring_timeout,
                caller_id=caller_id,
                display=display,
            )
        except LegFailed as failure:
            self.post(Rung(token, None, failure))
        except (HotlineError, OSError) as exc:
            self.post(Rung(token, None, LegFailed(503, str(exc))))
        else:
            self.post(Rung(token, leg, None))

    async def _drop(self, leg: Leg) -> None:
        """A leg nobody needs any more (answered too late): hang it up and free its endpoint."""
        await leg.hangup()
        with contextlib.suppress(MediaError):
            await self._free(leg)

    async def _free(self, leg: Leg) -> LegQuality | None:
        """Release the leg's endpoint; one the leg does not own (an agent's softphone, which
        outlives calls) is only unbridged, and its figures are this call's part of them."""
        if not leg.owns_endpoint:
            quality = await leg.call_quality() if isinstance(leg, BrowserLeg) else None
            await self.ctx.media.unbridge(leg.endpoint.endpoint_id)
            return quality
        return await self.ctx.media.release(leg.endpoint.endpoint_id)

    async def _rung(self, message: Rung) -> None:
        ring = self._ring
        if ring is None or ring.token is not message.token:
            if message.leg is not None:
                await self._drop(message.leg)
            return
        self._ring = None
        offer = ring.offer
        if message.failure is not None:
            failure = message.failure
            log.info("call %s: agent %s not reached (%s)", self.contact_id, offer.agent_id, failure)
            await self._write(
                offer.contact_id,
                ce.AgentUnreachable(
                    agent_id=offer.agent_id, status=failure.status, reason=failure.reason
                ),
            )
            await self._route(self.ctx.routing.decline(offer.contact_id))
            return
        leg = message.leg
        assert leg is not None
        if not await self._route(self.ctx.routing.answer(offer.contact_id)):
            await self._drop(leg)
            return
        party = _Party(offer.contact_id, offer.agent_id, leg)
        self._attach(leg)
        if ring.purpose == "primary":
            self.agent = party
            await self._bridge_caller_to(party.leg)
        elif ring.purpose == "callback":
            self.agent = party
            await self._dial_caller_back()
        else:
            await self._consult_answered(party)

    async def _bridge_caller_to(self, leg: Leg) -> None:
        self._cancel_announcements()
        await self._stop_caller_play()
        caller = self._caller_ep()
        if caller is None:
            return
        try:
            await self.ctx.media.bridge(caller, leg.endpoint.endpoint_id)
        except MediaError as exc:
            await self._fail(f"bridge failed: {exc.message}")
            return
        self.phase = Phase.CONNECTED
        self.since = self._now()
        await self._start_recording()

    async def _start_recording(self) -> None:
        queue = self.ctx.queues.get(self.queue_id or "")
        caller = self._caller_ep()
        if queue is None or not queue.record or caller is None or self._recording is not None:
            return
        day = datetime.fromtimestamp(self._now(), UTC)
        path = self.ctx.config.recordings_dir / f"{day:%Y/%m/%d}" / f"{self.contact_id}.wav"
        try:
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            await self.ctx.media.record_start(caller, path)
        except (OSError, MediaError) as exc:
            log.error("call %s: recording not started: %s", self.contact_id, exc)
            return
        self._recording = _Recording(caller, path, self.contact_id)

    # ------------------------------------------------------------------ dialling out

    async def _dial_caller_back(self) -> None:
        agent = self.agent
        assert agent is not None
        self.phase = Phase.CALLBACK_DIAL
        self.since = self._now()
        self._attempts += 1
        self._callback["attempts"] = self._attempts
        await self._write(
            self.contact_id,
            ce.CallbackDialling(agent_id=agent.agent_id, attempt=self._attempts),
            attributes={"callback": dict(self._callback)},
        )
        ringback = await self.ctx.audio.ringback(agent.leg.codec)
        if ringback is not None:
            with contextlib.suppress(MediaError):
                await self.ctx.media.play(agent.leg.endpoint.endpoint_id, [ringback], loop=True)
        self._start_dial(
            self.caller_number or "", "callback", self.ctx.config.callback_ring_seconds
        )

    def _start_dial(self, number: str, purpose: str, ring_timeout: float) -> None:
        token = object()
        caller_id = "".join(c for c in self.line.number if c.isdigit()) if self.line else None
        task = asyncio.create_task(
            self._dial_task(token, number, ring_timeout, caller_id), name=f"dial-{purpose}"
        )
        self._dial = _Dial(token, purpose, task)

    async def _dial_task(
        self, token: object, number: str, ring_timeout: float, caller_id: str | None
    ) -> None:
        numbers = self.ctx.numbers
        try:
            if numbers is None:
                raise LegFailed(503, "No outbound route configured (callback_route)")
            leg = await numbers.dial(
                number, group=self.group, ring_timeout=ring_timeout, caller_id=caller_id
            )
        except LegFailed as failure:
            self.post(Dialled(token, None, failure))
        except (HotlineError, OSError) as exc:
            self.post(Dialled(token, None, LegFailed(503, str(exc))))
        else:
            self.post(Dialled(token, leg, None))

    async def _dialled(self, message: Dialled) -> None:
        dial = self._dial
        if dial is None or dial.token is not message.token:
            if message.leg is not None:
                await self._drop(message.leg)
            return
        self._dial = None
        if dial.purpose == "callback":
            await self._callback_dialled(message)
        else:
            await self._external_dialled(message)

    async def _callback_dialled(self, message: Dialled) -> None:
        agent = self.agent
        if message.leg is None or agent is None:
            failure = message.failure or LegFailed(487, "The agent hung up")
            if message.leg is not None:
                await self._drop(message.leg)
            await self._callback_failed(failure)
            return
        self.caller = message.leg
        self._attach(message.leg)
        with contextlib.suppress(MediaError):
            await self.ctx.media.stop(agent.leg.endpoint.endpoint_id)
        await self._bridge_caller_to(agent.leg)

    async def _callback_failed(self, failure: LegFailed) -> None:
        """The caller was not reached: retry later (keeping the place), or give up."""
        config = self.ctx.config
        retry = config.callback_retry_seconds if self._attempts < config.callback_attempts else None
        await self._write(
            self.contact_id,
            ce.CallbackDialFailed(
                attempt=self._attempts,
                status=failure.status,
                reason=failure.reason,
                retry_in=retry,
            ),
        )
        await self._route(self.ctx.routing.callback_failed(self.contact_id, retry_in=retry))
        agent, self.agent = self.agent, None
        if agent is not None:
            await self._hang_up(agent.leg, "agent", agent)
        self.phase = Phase.CALLBACK_WAIT
        self.since = self._now()

    async def _external(self, number: str) -> None:
        self.phase = Phase.EXTERNAL
        self.since = self._now()
        if self.caller is not None:
            ringback = await self.ctx.audio.ringback(self.caller.codec)
            if ringback is not None:
                await self._play_to_caller([ringback], "ringback", loop=True)
        self._external_number = number
        self._start_dial(number, "external", self.ctx.config.callback_ring_seconds)

    async def _external_dialled(self, message: Dialled) -> None:
        number = self._external_number
        if message.leg is None or self.caller is None:
            if message.leg is not None:
                await self._drop(message.leg)
            failure = message.failure or LegFailed(487, "The caller hung up")
            await self._end_contact(
                rt.Outcome.CANCELLED.value,
                by="hotline",
                reason=f"the external number did not answer ({failure.status} {failure.reason})",
            )
            if self.caller is not None:
                await self._last_words(
                    await self._say(None, self.ctx.audio.phrase("failed", self._language()))
                )
            return
        self.external = message.leg
        self._attach(message.leg)
        await self._stop_caller_play()
        caller = self._caller_ep()
        assert caller is not None
        try:
            await self.ctx.media.bridge(caller, message.leg.endpoint.endpoint_id)
        except MediaError as exc:
            await self._fail(f"bridge failed: {exc.message}")
            return
        await self._write(
            self.contact_id,
            ce.CallTransferred(kind="external", target=mask_user(number), stage="done"),
        )

    # ------------------------------------------------------------------ transfers (commands)

    async def transfer(self, *, kind: str, target: str, warm: bool) -> str | None:
        """Transfer the caller to a queue or a department line; blind at once, or warm: the
        agent first consults whoever takes the target (returns that consultation's contact)."""
        agent = self.agent
        if self.phase is not Phase.CONNECTED or agent is None or self.caller is None:
            raise Conflict("the call is not connected to an agent", contact_id=self.contact_id)
        queue_id = await self._transfer_queue(kind, target)
        if not warm:
            await self._blind(kind, target, queue_id, agent)
            return None
        return await self._warm(kind, target, queue_id, agent)

    async def _transfer_queue(self, kind: str, target: str) -> str:
        if kind == "queue":
            if target not in self.ctx.routing.engine.queue_ids():
                raise NotFound(f"no queue {target!r}", queue_id=target)
            return target
        if kind == "line":
            line = await self.ctx.lines.get(target)
            if line is None:
                raise NotFound(f"no line {target!r}", line_id=target)
            if line.queue_id is None:
                raise Conflict(f"line {target!r} has no queue to transfer to", line_id=target)
            return line.queue_id
        raise Conflict(f"cannot transfer to a {kind!r}", kind=kind)

    async def _blind(self, kind: str, target: str, queue_id: str, agent: _Party) -> None:
        if not await self._route(self.ctx.routing.transfer(agent.contact_id, queue_id)):
            raise Conflict("the router refused the transfer", contact_id=agent.contact_id)
        await self._write(
            agent.contact_id,
            ce.CallTransferred(kind=kind, target=target, from_agent=agent.agent_id),
        )
        caller = self._caller_ep()
        if caller is not None:
            with contextlib.suppress(MediaError):
                await self.ctx.media.unbridge(caller)
        if self.agent is agent:
            self.agent = None
        await self._hang_up(agent.leg, "agent", agent)
        self.queue_id = queue_id
        self.phase = Phase.QUEUED
        self.since = self._now()
        self._announce, self._announce_every = (), None
        await self._music()

    async def _warm(self, kind: str, target: str, queue_id: str, agent: _Party) -> str:
        consult_id = new_id()
        new = {
            "line_id": target if kind == "line" else (self.line.id if self.line else None),
            "caller_number": self.caller_number,
            "direction": "consult",
            "attributes": {"consult_for": agent.contact_id, "from_agent": agent.agent_id},
        }
        await self.ctx.routing.log(ContactChange(consult_id, new=new))
        consult = _Consult(consult_id, queue_id, kind, target)
        self.consult = consult
        self.ctx.bind_contact(consult_id, self)
        caller = self._caller_ep()
        assert caller is not None
        with contextlib.suppress(MediaError):
            await self.ctx.media.unbridge(caller)
        self.phase = Phase.CONSULTING
        self.since = self._now()
        await self._music()
        ringback = await self.ctx.audio.ringback(agent.leg.codec)
        if ringback is not None:
            with contextlib.suppress(MediaError):
                await self.ctx.media.play(agent.leg.endpoint.endpoint_id, [ringback], loop=True)
        await self._write(
            agent.contact_id,
            ce.CallTransferred(
                kind=kind,
                target=target,
                warm=True,
                stage="started",
                from_agent=agent.agent_id,
                consult_contact_id=consult_id,
            ),
        )
        routed = await self._route(self.ctx.routing.arrive(consult_id, queue_id))
        if not routed or not self._in_router(consult_id):
            await self._consult_failed("closed" if routed else "refused")
            raise Conflict(
                f"the consultation could not be queued in {queue_id!r} (closed?)",
                queue_id=queue_id,
            )
        return consult_id

    async def _consult_answered(self, party: _Party) -> None:
        consult, agent = self.consult, self.agent
        if consult is None or agent is None or self.phase is not Phase.CONSULTING:
            await self._route(self.ctx.routing.hangup(party.contact_id))
            await self._drop(party.leg)
            return
        consult.party = party
        with contextlib.suppress(MediaError):
            await self.ctx.media.stop(agent.leg.endpoint.endpoint_id)
        try:
            await self.ctx.media.bridge(
                agent.leg.endpoint.endpoint_id, party.leg.endpoint.endpoint_id
            )
        except MediaError as exc:
            log.error("call %s: consultation bridge failed: %s", self.contact_id, exc)

    async def complete_transfer(self) -> None:
        """The consulted colleague takes the caller; the first agent leaves (wrap-up)."""
        consult, agent = self.consult, self.agent
        if self.phase is not Phase.CONSULTING or consult is None or agent is None:
            raise Conflict("no consultation in progress", contact_id=self.contact_id)
        if consult.party is None:
            raise Conflict("the consultation has not been answered yet", contact_id=self.contact_id)
        party = consult.party
        await self._route(self.ctx.routing.hangup(agent.contact_id))
        for contact_id in (agent.contact_id, consult.contact_id):  # one event (id) per log
            await self._write(
                contact_id,
                ce.CallTransferred(
                    kind=consult.kind,
                    target=consult.target,
                    warm=True,
                    stage="completed",
                    from_agent=agent.agent_id,
                    consult_contact_id=consult.contact_id,
                ),
            )
        with contextlib.suppress(MediaError):
            await self.ctx.media.unbridge(agent.leg.endpoint.endpoint_id)
        self.agent = None
        await self._hang_up(agent.leg, "agent", agent)
        # From here the caller's conversation is the consultation's contact.
        self.contact_id = consult.contact_id
        self.contact_open = consult.open
        self.queue_id = consult.queue_id
        self.agent = party
        self.consult = None
        await self._bridge_caller_to(party.leg)

    async def cancel_transfer(self) -> None:
        """End the consultation; the caller is back with the first agent."""
        if self.phase is not Phase.CONSULTING or self.consult is None:
            raise Conflict("no consultation in progress", contact_id=self.contact_id)
        await self._end_consultation("cancelled")
        await self._back_to_first_agent()

    async def _end_consultation(self, stage: str) -> None:
        consult, self.consult = self.consult, None
        if consult is None:
            return
        ring, self._ring = self._ring, None
        if ring is not None and ring.offer.contact_id == consult.contact_id:
            ring.task.cancel()
        elif ring is not None:
            self._ring = ring
        if consult.party is not None:
            await self._route(self.ctx.routing.hangup(consult.contact_id))
            await self._hang_up(consult.party.leg, "consult", consult.party)
        elif consult.open:
            await self._route(self.ctx.routing.cancel(consult.contact_id))
        agent = self.agent
        await self._write(
            agent.contact_id if agent is not None else self.contact_id,
            ce.CallTransferred(
                kind=consult.kind,
                target=consult.target,
                warm=True,
                stage=stage,
                from_agent=agent.agent_id if agent is not None else None,
                consult_contact_id=consult.contact_id,
            ),
        )

    async def _consult_failed(self, why: str) -> None:
        log.info("call %s: consultation ended before an answer (%s)", self.contact_id, why)
        await self._end_consultation("cancelled")
        await self._back_to_first_agent()

    async def _back_to_first_agent(self) -> None:
        agent = self.agent
        if agent is None:
            return
        endpoint_id = agent.leg.endpoint.endpoint_id
        with contextlib.suppress(MediaError):
            await self.ctx.media.stop(endpoint_id)
        with contextlib.suppress(MediaError):
            await self.ctx.media.unbridge(endpoint_id)
        await self._bridge_caller_to(agent.leg)

    # ------------------------------------------------------------------ hang-ups

    def _role(self, leg: Leg) -> str:
        if leg is self.caller:
            return "caller"
        if self.agent is not None and leg is self.agent.leg:
            return "agent"
        consult = self.consult
        if consult is not None and consult.party is not None and leg is consult.party.leg:
            return "consult"
        if leg is self.external:
            return "external"
        return "other"

    def _forget(self, leg: Leg) -> None:
        """Drop every reference to a leg that has ended."""
        if leg is self.caller:
            self.caller = None
            self._play = None
        if self.agent is not None and leg is self.agent.leg:
            self.agent = None
        consult = self.consult
        if consult is not None and consult.party is not None and leg is consult.party.leg:
            consult.party = None
        if leg is self.external:
            self.external = None

    async def _release(self, leg: Leg, role: str, party: _Party | None = None) -> None:
        """Free a leg's endpoint: finish its recording and keep its quality figures."""
        endpoint_id = leg.endpoint.endpoint_id
        self.ctx.unbind_endpoint(endpoint_id)
        leg.on_key = None  # its closure holds this call: freed without the cyclic collector
        recording = self._recording
        if recording is not None and recording.endpoint_id == endpoint_id:
            self._recording = None
            try:
                done = await self.ctx.media.record_stop(endpoint_id)
                await self._write(
                    recording.contact_id, ce.CallRecorded(path=done.path, seconds=done.seconds)
                )
            except MediaError as exc:
                log.error("call %s: recording lost: %s", self.contact_id, exc.message)
        try:
            quality = await self._free(leg)
        except MediaError:
            quality = None
        if quality is not None:
            await self._write(
                party.contact_id if party is not None else self.contact_id,
                ce.LegQualityRecorded(
                    leg=role,
                    agent_id=party.agent_id if party is not None else None,
                    figures=quality.as_dict(),
                ),
            )

    async def _leg_gone(self, leg: Leg, reason: str) -> None:
        ending = self._ending.pop(id(leg), None)
        if ending is not None:
            # We hung it up: the state already moved on; only release it.
            self._forget(leg)
            role, party = ending
            await self._release(leg, role, party)
            if role == "caller" and self.phase is Phase.CALLBACK_CONFIRM:
                await self._callback_waiting()
            return
        role = self._role(leg)
        why = self._lost.pop(id(leg), None) or (
            "hung up" if reason == "remote-bye" else f"leg ended ({reason})"
        )
        if role == "caller":
            self._forget(leg)
            await self._caller_left(why)  # first: the log says who ended it before the figures
            await self._release(leg, "caller")
        elif role == "agent":
            agent = self.agent
            assert agent is not None
            self._forget(leg)
            deliberate = id(leg) in self._deliberate
            self._deliberate.discard(id(leg))
            if (
                self.phase is Phase.CONNECTED
                and self.caller is not None
                and worth_waiting(
                    leg_kind=leg.kind,
                    deliberate=deliberate,
                    grace=self.ctx.config.agent_rejoin_seconds,
                )
            ):
                await self._release(leg, "agent", agent)
                await self._agent_away(agent, why)
            else:
                await self._agent_left(agent, why)
                await self._release(leg, "agent", agent)
        elif role == "consult":
            consult = self.consult
            assert consult is not None
            party = consult.party
            assert party is not None
            self._forget(leg)
            await self._release(leg, "consult", party)
            if self.phase is Phase.CONSULTING:
                await self._route(self.ctx.routing.hangup(party.contact_id))
                await self._end_consultation("cancelled")
                await self._back_to_first_agent()
        elif role == "external":
            self._forget(leg)
            await self._release(leg, "external")
            await self._end_contact(rt.Outcome.TRANSFERRED.value, by="external", reason=why)
            await self._hang_up_caller()
        else:
            with contextlib.suppress(MediaError):
                await self._free(leg)

    async def _caller_left(self, why: str) -> None:
        """The caller hung up (or their leg failed): what that means depends on where they were."""
        phase = self.phase
        if phase is Phase.IVR:
            if self.ivr_session is not None:
                self.ivr_session.on_event(ivr.CallerHangup(), self._now())
            self._cancel_ivr_timers()
            await self._write_ivr_record()
            await self._end_contact(CallOutcome.IVR_ABANDONED.value, by="caller", reason=why)
        elif phase is Phase.QUEUED:
            self._cancel_announcements()
            await self._write(self.contact_id, ce.CallEnded(by="caller", reason=why))
            await self._route(self.ctx.routing.abandon(self.contact_id))
        elif phase is Phase.CONNECTED:
            await self._write(self.contact_id, ce.CallEnded(by="caller", reason=why))
            await self._route(self.ctx.routing.hangup(self.contact_id))
            await self._hang_up_agents()
        elif phase is Phase.CONSULTING:
            await self._write(self.contact_id, ce.CallEnded(by="caller", reason=why))
            await self._end_consultation("cancelled")
            await self._route(self.ctx.routing.hangup(self.contact_id))
            await self._hang_up_agents()
        elif phase is Phase.AGENT_LOST:
            away = self._end_away()
            await self._write(self.contact_id, ce.CallEnded(by="caller", reason=why))
            if away is not None:
                await self._route(self.ctx.routing.hangup(away.contact_id))
        elif phase is Phase.CALLBACK_CONFIRM:
            await self._callback_waiting()
        elif phase is Phase.EXTERNAL:
            dial, self._dial = self._dial, None
            if dial is not None:
                dial.task.cancel()
            await self._end_contact(rt.Outcome.TRANSFERRED.value, by="caller", reason=why)
            if self.external is not None:
                external, self.external = self.external, None
                await self._hang_up(external, "external")

    async def _hang_up_agents(self) -> None:
        agent, self.agent = self.agent, None
        if agent is not None:
            await self._hang_up(agent.leg, "agent", agent)

    async def _agent_left(self, agent: _Party, why: str) -> None:
        phase = self.phase
        if phase is Phase.CONNECTED:
            await self._write(agent.contact_id, ce.CallEnded(by="agent", reason=why))
            await self._route(self.ctx.routing.hangup(agent.contact_id))
            await self._hang_up_caller()
        elif phase is Phase.CALLBACK_DIAL:
            dial, self._dial = self._dial, None
            if dial is not None:
                dial.task.cancel()
            await self._callback_failed(LegFailed(487, "The agent hung up before the answer"))
        elif phase is Phase.CONSULTING:
            consult = self.consult
            if consult is not None and consult.party is not None:
                # Hanging up during an answered consultation hands the caller over (the usual
                # attended transfer on desk phones).
                self.agent = agent
                await self.complete_transfer()
            elif consult is not None:
                # Not answered yet: the transfer becomes blind.
                await self._end_consultation("cancelled")
                await self._blind(consult.kind, consult.target, consult.queue_id, agent)

    # ------------------------------------------------------------------ a softphone lost mid-call

    async def _agent_away(self, agent: _Party, reason: str) -> None:
        """The connected agent's softphone went away (hotline/calls/rejoin.py): the caller hears
        music on hold (or silence) until the agent's desktop reconnects it (`rejoin`) or the
        grace period is over (`_away_over`). The router keeps the agent on the contact."""
        caller = self.caller
        assert caller is not None
        grace = self.ctx.config.agent_rejoin_seconds
        now = self._now()
        away = AgentAway.begin(
            contact_id=agent.contact_id,
            agent_id=agent.agent_id,
            reason=reason,
            now=now,
            grace=grace,
        )
        self._away = away
        self.phase = Phase.AGENT_LOST
        self.since = now
        self._away_timer = asyncio.get_running_loop().call_later(
            grace, self.post, AgentAwayOver(away)
        )
        log.info(
            "call %s: the softphone of agent %s went away (%s); waiting %.0f s for it",
            self.contact_id,
            agent.agent_id,
            reason,
            grace,
        )
        with contextlib.suppress(MediaError):
            await self.ctx.media.unbridge(caller.endpoint.endpoint_id)
        music = await self.ctx.audio.music(caller.codec)
        if music is None or not await self._play_to_caller([music], "away", loop=True):
            self._play = None  # silence: nothing to play
        await self._write(
            agent.contact_id, ce.AgentLegLost(agent_id=agent.agent_id, reason=reason, grace=grace)
        )

    def _end_away(self) -> AgentAway | None:
        """Stop waiting for the agent's softphone; the wait there was, if any."""
        away, self._away = self._away, None
        if self._away_timer is not None:
            self._away_timer.cancel()
            self._away_timer = None
        return away

    async def _away_over(self, away: AgentAway) -> None:
        """The softphone did not come back in time: the call ends (`agent_leg_lost`), the agent
        goes to wrap-up, the caller hears why and is hung up."""
        if self._away is not away or self.phase is not Phase.AGENT_LOST:
            return  # rejoined, or ended otherwise, meanwhile
        self._end_away()
        log.info("call %s: agent %s did not come back", self.contact_id, away.agent_id)
        await self._write(away.contact_id, ce.CallEnded(by="hotline", reason=AGENT_LEG_LOST))
        await self._route(self.ctx.routing.hangup(away.contact_id))
        await self._last_words(
            await self._say(None, self.ctx.audio.phrase("agent_lost", self._language()))
        )

    async def rejoin(self, agent_id: str) -> bool:
        """The agent's softphone is open again: its new leg is bridged to the held caller (a
        caller the agent had put on hold is off hold: the agent is back to talk). False when
        this call does not wait for that agent (or the softphone is not usable)."""
        away = self._away
        if (
            self.phase is not Phase.AGENT_LOST
            or away is None
            or self.caller is None
            or not away.rejoins(agent_id, self._now())
        ):
            return False
        username = await self.ctx.directory.username(agent_id)
        if username is None:
            return False
        try:
            leg = await self.ctx.agents.rejoin(username, group=self.group)
        except LegFailed as failure:
            log.info("call %s: agent %s cannot rejoin: %s", self.contact_id, agent_id, failure)
            return False
        self._end_away()
        self._attach(leg)
        self.agent = _Party(away.contact_id, away.agent_id, leg)
        log.info("call %s: agent %s is back", self.contact_id, agent_id)
        await self._write(
            away.contact_id,
            ce.AgentRejoined(agent_id=agent_id, away_seconds=round(away.away_for(self._now()), 3)),
        )
        await self._bridge_caller_to(leg)
        return True

    async def _silent(self, endpoint_id: str, seconds: float) -> None:
        """No audio from a party for a while: treated as that party hanging up."""
        for leg in (self.caller, self.agent.leg if self.agent else None, self.external):
            if leg is not None and leg.endpoint.endpoint_id == endpoint_id and leg.active:
                self._lost[id(leg)] = f"no audio for {seconds:.0f} s"
                await leg.hangup()  # its LegGone then counts as the party leaving

    # ------------------------------------------------------------------ failures, shutdown

    async def _media_lost(self, endpoint_id: str, reason: str) -> None:
        if endpoint_id in self._borrowed:
            return  # an agent's softphone went away: its leg's `ended` says so, as a hang-up
        log.error("call %s: media endpoint lost (%s)", self.contact_id, reason)
        await self._fail(reason)

    async def _fail(self, reason: str, *, shutdown: bool = False) -> None:
        """End the call from our side, cleanly: every leg hung up, the router told, and the
        reason in the contact's log. A registered callback survives (it waits in the database,
        and a restart restores it)."""
        if self.phase is Phase.DONE or (self._failed and not shutdown):
            return
        self._failed = True  # a lost worker reports each of the call's endpoints: end once
        self._end_away()
        phase = self.phase
        self._cancel_ivr_timers()
        self._cancel_announcements()
        ring, dial = self._ring, self._dial
        self._ring = self._dial = None
        for pending in (ring, dial):
            if pending is not None:
                pending.task.cancel()
        if phase in (Phase.CALLBACK_WAIT, Phase.CALLBACK_CONFIRM):
            if ring is not None:
                await self._route(self.ctx.routing.decline(ring.offer.contact_id))
            if shutdown:
                self.contact_open = False
            elif phase is Phase.CALLBACK_CONFIRM:
                self.phase = Phase.CALLBACK_WAIT
        elif phase is Phase.CALLBACK_DIAL:
            await self._callback_failed(LegFailed(503, reason))
            if shutdown:
                self.contact_open = False
        elif phase is Phase.IVR:
            await self._write_ivr_record()
            await self._end_contact(rt.Outcome.CANCELLED.value, by="hotline", reason=reason)
        elif self.contact_open and self._in_router(self.contact_id):
            await self._write(self.contact_id, ce.CallEnded(by="hotline", reason=reason))
            if self.consult is not None:
                await self._end_consultation("cancelled")
            self.contact_open = False
            await self._route(self.ctx.routing.cancel(self.contact_id))
        else:
            await self._end_contact(rt.Outcome.CANCELLED.value, by="hotline", reason=reason)
        if self.consult is not None:
            await self._end_consultation("cancelled")
        held: list[tuple[Leg, str, _Party | None]] = []
        if self.caller is not None:
            held.append((self.caller, "caller", None))
        if self.agent is not None:
            held.append((self.agent.leg, "agent", self.agent))
        if self.external is not None:
            held.append((self.external, "external", None))
        for leg, role, party in held:
            if leg.active:
                await self._hang_up(leg, role, party)
        if shutdown:
            # No mailbox turns are left to release what is still held: do it now.
            for leg, role, party in held:
                self._ending.pop(id(leg), None)
                self._forget(leg)
                await self._release(leg, role, party)
            self.contact_open = False
            self.phase = Phase.DONE

    def _cleanup_timers(self) -> None:
        self._cancel_ivr_timers()
        self._cancel_announcements()
        self._end_away()
        if self._guard_timer is not None:
            self._guard_timer.cancel()

    # ------------------------------------------------------------ the agent desktop (commands)

    def _leg_of(self, agent_id: str) -> Leg:
        """The agent's own answered leg on this call: the connected agent's or the consulted
        colleague's."""
        if self.agent is not None and self.agent.agent_id == agent_id:
            return self.agent.leg
        consult = self.consult
        if consult is not None and consult.party is not None and consult.party.agent_id == agent_id:
            return consult.party.leg
        raise Conflict("you have no answered leg on this call", contact_id=self.contact_id)

    def _connected_agent(self, agent_id: str) -> _Party:
        agent = self.agent
        if (
            self.phase is not Phase.CONNECTED
            or agent is None
            or agent.agent_id != agent_id
            or self.caller is None
        ):
            raise Conflict("you are not connected with the caller", contact_id=self.contact_id)
        return agent

    @property
    def on_hold(self) -> bool:
        return (
            self.phase is Phase.CONNECTED
            and self._play is not None
            and self._play.purpose == "hold"
        )

    async def agent_hangup(self, agent_id: str) -> None:
        """The agent hangs up from the desktop: the same as putting their phone down (what follows
        depends on the phase, as in `_agent_left`)."""
        away = self._away
        if self.phase is Phase.AGENT_LOST and away is not None and away.agent_id == agent_id:
            # Their softphone is not back yet, and they end the call from the desktop.
            self._end_away()
            await self._write(
                away.contact_id, ce.CallEnded(by="agent", reason="hung up from the agent desktop")
            )
            await self._route(self.ctx.routing.hangup(away.contact_id))
            await self._hang_up_caller()
            return
        leg = self._leg_of(agent_id)
        if id(leg) in self._ending or not leg.active:
            return
        self._lost[id(leg)] = "hung up from the agent desktop"
        self._deliberate.add(id(leg))
        await leg.hangup()

    async def hold(self, agent_id: str) -> None:
        """The caller hears music and nothing goes between them and the agent until `resume`.
        Held is when the caller's current play is the hold's (any other play or a re-bridge ends
        it), so a transfer made while held needs no bookkeeping here."""
        agent = self._connected_agent(agent_id)
        if self.on_hold:
            return
        caller = self.caller
        assert caller is not None
        with contextlib.suppress(MediaError):
            await self.ctx.media.unbridge(caller.endpoint.endpoint_id)
        music = await self.ctx.audio.music(caller.codec)
        if music is None or not await self._play_to_caller([music], "hold", loop=True):
            self._play = _Play("", "hold")  # silence, but held all the same
        await self._write(agent.contact_id, ce.CallHeld(agent_id=agent_id))

    async def resume(self, agent_id: str) -> None:
        """Back from hold: the caller and the agent hear each other again."""
        agent = self._connected_agent(agent_id)
        if not self.on_hold:
            return
        await self._stop_caller_play()
        caller = self._caller_ep()
        assert caller is not None
        try:
            await self.ctx.media.bridge(caller, agent.leg.endpoint.endpoint_id)
        except MediaError as exc:
            await self._fail(f"bridge failed: {exc.message}")
            return
        await self._write(agent.contact_id, ce.CallResumed(agent_id=agent_id))

    async def send_digits(self, agent_id: str, digits: str) -> None:
        """Keys from the agent's keypad, sent as RFC 4733 events to whoever the agent talks to:
        the caller, the colleague they consult, or (for that colleague) the consulting agent."""
        target: Leg | None = None
        consult = self.consult
        if self.phase is Phase.CONNECTED and self.agent is not None and not self.on_hold:
            if self.agent.agent_id == agent_id:
                target = self.caller
        elif self.phase is Phase.CONSULTING and consult is not None and consult.party is not None:
            if self.agent is not None and self.agent.agent_id == agent_id:
                target = consult.party.leg
            elif consult.party.agent_id == agent_id and self.agent is not None:
                target = self.agent.leg
        if target is None:
            raise Conflict("you are not talking to anyone on this call", contact_id=self.contact_id)
        await self.ctx.media.send_digits(target.endpoint.endpoint_id, digits)
