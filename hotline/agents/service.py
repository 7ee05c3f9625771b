"""The agent desktop's server side: an agent's state in the live router, the phone that rings for
them, control of the call they are on, wrap-up, and the screen pop.

Signing in on the desktop is a way of being logged in to the router, beside a SIP phone's
registration (`hotline.calls.presence`). Once an agent has used the desktop (set a state or
chosen a phone) it decides for them while this process runs: their phone registering no longer
logs them in, and its registration ending no longer logs them out. What stays true either way is
that a router offers contacts only to agents whose phone can ring: going ready needs the chosen
phone to be reachable (`phone_unreachable` otherwise), and a ready agent whose phone stops being
reachable (registration gone, softphone closed, another phone chosen) is set not ready with the
reason `phone_unreachable` (and ready again when a SIP phone that went away comes back).

Every operation that drives the router or a call first ends the request's transaction: the
router's writer and the call's own records need the database, and on SQLite a request that held
the write lock would wait for itself.

The contact an agent wraps up is the one they answered last (followed from the router's
decisions), or one they name; its disposition and note are written to the contact's row, with
an event in its log and an audit row, before the router is told that wrap-up is over."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.agents.events import ContactWrappedUp
from hotline.agents.schemas import (
    AgentMe,
    AgentQueue,
    Caller,
    ChosenState,
    Consultation,
    ContactPop,
    DeskOptions,
    HistoryItem,
    PhoneOut,
    Today,
    TransferInProgress,
    TransferMode,
    TransferTargetOut,
    WrapUpCodeOut,
)
from hotline.audit import service as audit
from hotline.auth.service import SignedInUser
from hotline.calls.browser import ChosenPhoneDialer, NoOfferRinging, Phone
from hotline.contacts.models import Contact, ContactEvent, WrapUpCode
from hotline.contacts.service import append_event, caller_contact, involves
from hotline.core.clock import Clock
from hotline.core.errors import Conflict, Forbidden, HotlineError, InvalidInput, NotFound
from hotline.core.events import EventBus, Unsubscribe
from hotline.lines.models import Line
from hotline.routing import types as rt
from hotline.routing.figures import queue_figures
from hotline.routing.models import Queue
from hotline.routing.service import RoutingService, agent_skills
from hotline.users.models import AgentStateRecord, Role, User

if TYPE_CHECKING:
    from hotline.calls.call import LiveCall
    from hotline.calls.service import CallService

log = logging.getLogger(__name__)

T = TypeVar("T")

PHONE_UNREACHABLE = "phone_unreachable"
"""The not-ready reason of an agent whose chosen phone cannot ring."""
HISTORY_LIMIT = 20
"""Earlier contacts of the caller shown in the screen pop."""


class DeskUnavailable(HotlineError):
    """The server runs without the agent desktop (no live call layer)."""

    code = "desk_unavailable"
    http_status = 503


class PhoneUnreachable(Conflict):
    """The agent's chosen phone cannot ring now (not registered, softphone not open)."""

    code = "phone_unreachable"


class NotOnCall(Conflict):
    code = "not_on_call"


class NothingToWrapUp(Conflict):
    code = "nothing_to_wrap_up"


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def local_midnight(now: float, timezone: str) -> float:
    """Where "today" begins for the agent's figures: midnight of the hotline's time zone."""
    day = datetime.fromtimestamp(now, ZoneInfo(timezone)).date()
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)).timestamp()


def _serves(skills: Mapping[str, rt.AgentSkill], spec: rt.QueueSpec) -> bool:
    return all(
        (have := skills.get(need.skill)) is not None and have.level >= need.min_level
        for need in spec.skills
    )


def _ivr_step(entry: Mapping[str, Any]) -> str:
    step, key = entry.get("step"), entry.get("input")
    return f"{step}={key}" if key else str(step)


async def _let_go(session: AsyncSession) -> None:
    """End the request's transaction before the router or a call is driven (module docstring)."""
    await session.commit()


class AgentDesk:
    """See the module docstring. `start()` once the router and the call layer run; `close()`
    before they stop."""

    def __init__(
        self,
        *,
        routing: RoutingService,
        phones: ChosenPhoneDialer,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        bus: EventBus,
        specs: Mapping[str, rt.QueueSpec],
        queue_names: Mapping[str, str],
        timezone: str = "UTC",
        calls: CallService | None = None,
    ) -> None:
        self.routing = routing
        self.phones = phones
        self.calls = calls
        self._sessions = sessions
        self._clock = clock
        self._bus = bus
        self._specs = specs
        self._names = queue_names
        self._timezone = timezone
        self._on_desk: set[str] = set()  # agents the desktop decides for (user ids)
        self._offered: dict[str, str] = {}  # agent id -> contact ringing for them
        self._handled: dict[str, str] = {}  # agent id -> contact they answered last
        self._unsubscribe: Unsubscribe | None = None

    def start(self) -> None:
        self._unsubscribe = self.routing.subscribe(self._on_decision)
        if self.calls is not None:
            self.calls.presence.defer_to(self)

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.calls is not None:
            self.calls.presence.defer_to(None)

    def _on_decision(self, decision: rt.Decision) -> None:
        """Which contact each agent answered (runs inside the router's writer: only note it)."""
        if isinstance(decision, rt.Offer):
            self._offered[decision.agent_id] = decision.contact_id
        elif isinstance(decision, rt.OfferWithdrawn):
            if self._offered.get(decision.agent_id) == decision.contact_id:
                del self._offered[decision.agent_id]
        elif isinstance(decision, rt.AgentStateChanged) and decision.state is rt.AgentState.BUSY:
            contact_id = self._offered.pop(decision.agent_id, None)
            if contact_id is not None:
                self._handled[decision.agent_id] = contact_id

    def _agent(self, agent_id: str) -> rt.AgentSnapshot | None:
        try:
            return self.routing.engine.agent(agent_id)
        except HotlineError:
            return None

    # ------------------------------------------------------------------ reading

    async def me(self, *, session: AsyncSession, user: SignedInUser, ip: str | None) -> AgentMe:
        """The agent's state, phone, queues, today's figures and the contact they are on."""
        now = self._clock.now()
        agent = self._agent(user.id)
        if agent is not None:
            skills = agent.skills
        else:
            skills = {s.skill: s for s in await agent_skills(session=session, user_id=user.id)}
        day_start = local_midnight(now, self._timezone)
        figures = queue_figures(
            self.routing.engine, self._specs, now=now, day_start=day_start, names=self._names
        )
        queues = [
            AgentQueue(
                id=f.queue_id, name=f.name, waiting=f.waiting, longest_wait=f.longest_wait_seconds
            )
            for f in figures
            if _serves(skills, self._specs[f.queue_id])
        ]
        contact_id = agent.contact_id if agent is not None else None
        if contact_id is None and agent is not None and agent.state is rt.AgentState.WRAP_UP:
            contact_id = self._handled.get(user.id)
        pop = None
        if contact_id is not None:
            row = await session.get(Contact, contact_id)
            if row is not None:  # the router's word that it is theirs: no further check
                pop = await self._pop(session=session, row=row, user=user, ip=ip, via="agent.me")
        return AgentMe(
            username=user.username,
            state=(agent.state if agent is not None else rt.AgentState.OFFLINE).value,
            reason=agent.reason if agent is not None else None,
            since=agent.since if agent is not None else None,
            phone=self.phones.phone(user.username),
            reachable=self.phones.reachable(user.username),
            queues=queues,
            today=await self._today(session=session, agent_id=user.id, since=day_start, now=now),
            contact=pop,
            transfer=await self._transfer_in_progress(session, user.id),
        )

    async def _transfer_in_progress(
        self, session: AsyncSession, agent_id: str
    ) -> TransferInProgress | None:
        """The warm transfer the agent is consulting about, if they are."""
        found = self.calls.agent_call(agent_id) if self.calls is not None else None
        snapshot = found[1].snapshot() if found is not None else None
        if snapshot is None or snapshot.agent_id != agent_id or snapshot.consult is None:
            return None
        consult = snapshot.consult
        kind, _, target_id = consult.target.partition(":")
        if kind == "line":
            line = await session.get(Line, target_id)
            name = line.name if line is not None else target_id
        else:
            name = self._names.get(target_id, target_id)
        return TransferInProgress(
            contact_id=consult.contact_id,
            target=consult.target,
            target_name=name,
            answered=consult.answered,
        )

    async def _today(
        self, *, session: AsyncSession, agent_id: str, since: float, now: float
    ) -> Today:
        """Contacts taken (each entry into `busy`), talk and wrap-up time since `since`, from
        the agent's state history (the state carried over from yesterday counts from `since`)."""
        start = _dt(since)
        history = AgentStateRecord
        before = await session.scalar(
            select(history.state)
            .where(history.user_id == agent_id, history.at < start)
            .order_by(history.at.desc(), history.id.desc())
            .limit(1)
        )
        rows = (
            await session.execute(
                select(history.state, history.at)
                .where(history.user_id == agent_id, history.at >= start)
                .order_by(history.at, history.id)
            )
        ).all()
        seconds: dict[str, float] = {}
        state, begun = before, since
        answered = 0
        for next_state, at in [*rows, (None, None)]:
            until = now if at is None else at.timestamp()
            if state is not None:
                seconds[state] = seconds.get(state, 0.0) + max(0.0, until - begun)
            if next_state == rt.AgentState.BUSY.value:
                answered += 1
            state, begun = next_state, until
        talk = seconds.get(rt.AgentState.BUSY.value, 0.0)
        wrap = seconds.get(rt.AgentState.WRAP_UP.value, 0.0)
        return Today(
            answered=answered,
            aht=round((talk + wrap) / answered, 1) if answered else None,
            talk_seconds=round(talk, 1),
        )

    async def contact_pop(
        self, *, session: AsyncSession, user: SignedInUser, contact_id: str, ip: str | None
    ) -> ContactPop:
        """A contact's screen pop, for an agent it was offered to or who handled it, or for a
        supervisor; audited. A refused read is audited too (and committed, as the refusal rolls
        the request back)."""
        row = await session.get(Contact, contact_id)
        if row is None:
            raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
        if not user.has_role(Role.SUPERVISOR) and not (
            row.agent_id == user.id
            or await involves(session=session, contact_id=row.id, agent_id=user.id)
        ):
            await self._audit(session, user, "contact.read_denied", row.id, ip)
            await session.commit()
            raise Forbidden("this contact was neither offered to you nor handled by you")
        return await self._pop(session=session, row=row, user=user, ip=ip, via="contact")

    async def _audit(
        self,
        session: AsyncSession,
        user: SignedInUser,
        action: str,
        contact_id: str,
        ip: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """An audit row about a contact, in the request's transaction."""
        await audit.record(
            session=session,
            actor=user,
            action=action,
            object_type="contact",
            object_id=contact_id,
            ip=ip,
            details=details,
            at=_dt(self._clock.now()),
        )

    async def _pop(
        self,
        *,
        session: AsyncSession,
        row: Contact,
        user: SignedInUser,
        ip: str | None,
        via: str,
    ) -> ContactPop:
        now = self._clock.now()
        # A consultation pops what the caller's contact it is about carries: topic, IVR path.
        about = await caller_contact(session=session, contact=row)
        events = (
            await session.execute(
                select(ContactEvent.contact_id, ContactEvent.type, ContactEvent.payload)
                .where(
                    ContactEvent.contact_id.in_({row.id, about.id}),
                    ContactEvent.type.in_(("ivr.completed", "contact.answered")),
                )
                .order_by(ContactEvent.seq)
            )
        ).all()
        path: list[str] = []
        waited: float | None = None
        for contact_id, kind, payload in events:
            if kind == "ivr.completed" and contact_id == about.id:
                path = [_ivr_step(entry) for entry in payload.get("path") or []]
            elif kind == "contact.answered" and contact_id == row.id:
                waited = payload.get("waited")
        if waited is None:
            end = row.ended_at.timestamp() if row.ended_at is not None else now
            waited = max(0.0, end - row.arrived_at.timestamp())
        line = await session.get(Line, row.line_id) if row.line_id is not None else None
        attributes = row.attributes or {}
        topic = attributes.get("topic", (about.attributes or {}).get("topic"))
        consultation = None
        if about.id != row.id:
            asking = attributes.get("from_agent")
            agent = await session.get(User, asking) if isinstance(asking, str) else None
            consultation = Consultation(
                for_contact=about.id, from_agent=agent.name if agent is not None else None
            )
        history = await self._history(session, row, about)
        await self._audit(
            session, user, "contact.read", row.id, ip, {"via": via, "history": len(history)}
        )
        return ContactPop(
            id=row.id,
            caller=Caller(number=row.caller_number),
            line=line.name if line is not None else None,
            line_id=row.line_id,
            topic=None if topic is None else str(topic),
            queue=self._names.get(row.queue_id, row.queue_id) if row.queue_id else None,
            queue_id=row.queue_id,
            ivr_path=path,
            waited=round(waited, 1),
            callback=bool(attributes.get("callback")) or row.direction == "callback",
            state=row.state,
            history=history,
            consultation=consultation,
        )

    @staticmethod
    async def _history(session: AsyncSession, row: Contact, about: Contact) -> list[HistoryItem]:
        """The caller's earlier contacts, newest first (consultations between agents, and the
        contact a consultation is about, left out)."""
        if not row.caller_number:
            return []
        earlier = await session.scalars(
            select(Contact)
            .where(
                Contact.caller_number == row.caller_number,
                Contact.id.not_in({row.id, about.id}),
                Contact.arrived_at <= row.arrived_at,
                Contact.direction != "consult",
            )
            .order_by(Contact.arrived_at.desc(), Contact.id)
            .limit(HISTORY_LIMIT)
        )
        out = []
        for contact in earlier:
            topic = (contact.attributes or {}).get("topic")
            out.append(
                HistoryItem(
                    id=contact.id,
                    started_at=contact.arrived_at,
                    topic=None if topic is None else str(topic),
                    outcome=contact.outcome,
                )
            )
        return out

    # ------------------------------------------------------------------ state and phone

    async def set_state(
        self,
        *,
        session: AsyncSession,
        user: SignedInUser,
        state: ChosenState,
        reason: str | None = None,
    ) -> None:
        """Ready, not ready (with a reason) or logged out; logs the agent in when needed. While
        they handle a contact, not ready and logged out take effect after it (and its wrap-up)."""
        await _let_go(session)
        self._on_desk.add(user.id)
        agent = self._agent(user.id)
        offline = agent is None or agent.state is rt.AgentState.OFFLINE
        if state == "logged_out":
            if not offline:
                await self.routing.logout(user.id)
            return
        if state == "ready":
            if not self.phones.reachable(user.username):
                phone = self.phones.phone(user.username)
                raise PhoneUnreachable(
                    "your phone cannot ring: register your SIP phone or open the softphone",
                    phone=phone,
                )
            if offline:
                await self.routing.login(user.id, await self._skills(user.id), ready=True)
            else:
                await self.routing.set_ready(user.id)
            return
        if offline:
            await self.routing.login(user.id, await self._skills(user.id), ready=False)
            if reason is not None:
                await self.routing.set_not_ready(user.id, reason)
        else:
            await self.routing.set_not_ready(user.id, reason or "break")

    async def _skills(self, agent_id: str) -> list[rt.AgentSkill]:
        async with self._sessions() as session:
            return await agent_skills(session=session, user_id=agent_id)

    async def choose_phone(
        self, *, session: AsyncSession, user: SignedInUser, phone: Phone
    ) -> PhoneOut:
        """Which phone rings for the agent's offers from now on."""
        await _let_go(session)
        self._on_desk.add(user.id)
        self.phones.choose(user.username, phone)
        await self._check_reachable(user.id, user.username)
        return PhoneOut(phone=phone, reachable=self.phones.reachable(user.username))

    async def _check_reachable(self, agent_id: str, username: str) -> None:
        """A ready agent whose phone cannot ring is set not ready (see the module docstring)."""
        agent = self._agent(agent_id)
        if (
            agent is not None
            and agent.state is rt.AgentState.READY
            and not self.phones.reachable(username)
        ):
            log.info("agent %s not ready: their phone cannot ring", username)
            with contextlib.suppress(HotlineError):
                await self.routing.set_not_ready(agent_id, PHONE_UNREACHABLE)

    async def registration_changed(self, agent_id: str, username: str, *, registered: bool) -> bool:
        """`AgentPresence` asks: the desktop decides for the agents it has taken over."""
        if agent_id not in self._on_desk:
            return False
        if self.phones.phone(username) != "sip":
            return True
        agent = self._agent(agent_id)
        if not registered:
            await self._check_reachable(agent_id, username)
        elif (
            agent is not None
            and agent.state is rt.AgentState.NOT_READY
            and agent.reason == PHONE_UNREACHABLE
            and self.phones.reachable(username)
        ):
            log.info("agent %s ready again: their phone registered", username)
            with contextlib.suppress(HotlineError):
                await self.routing.set_ready(agent_id)
        return True

    # ------------------------------------------------------------------ the softphone

    async def open_softphone(self, *, session: AsyncSession, user: SignedInUser, sdp: str) -> str:
        """The page's browser leg: its SDP offer in, the answer out. A call that lost the
        agent's earlier leg mid-call (a reload, a dropped connection) takes this one up."""
        await _let_go(session)
        answer = await self.phones.browser.open_softphone(
            user.username,
            sdp=sdp,
            on_lost=lambda: self._check_reachable(user.id, user.username),
        )
        if self.calls is not None:
            await self.calls.rejoin(user.id)
        return answer

    async def close_softphone(self, *, session: AsyncSession, user: SignedInUser) -> None:
        await _let_go(session)
        await self.phones.browser.close_softphone(user.username)
        await self._check_reachable(user.id, user.username)

    async def accept_offer(self, *, session: AsyncSession, user: SignedInUser) -> None:
        """Answer the offer ringing on the softphone (a SIP phone answers by itself)."""
        await _let_go(session)
        if self.phones.phone(user.username) != "webrtc":
            raise NoOfferRinging("offers ring on your SIP phone: answer it there", phone="sip")
        agent = self._agent(user.id)
        if agent is None or agent.state is not rt.AgentState.RESERVED:
            raise NoOfferRinging("nothing is ringing for you")
        await self.phones.browser.accept(user.username)

    # ------------------------------------------------------------------ the call

    def _call(self, agent_id: str) -> tuple[CallService, str, LiveCall]:
        calls = self.calls
        found = calls.agent_call(agent_id) if calls is not None else None
        if calls is None or found is None:
            raise NotOnCall("you are not on a call")
        return calls, found[0], found[1]

    async def _on_call(
        self,
        session: AsyncSession,
        user: SignedInUser,
        command: Callable[[LiveCall], Callable[[], Awaitable[T]]],
    ) -> T:
        await _let_go(session)
        calls, _, call = self._call(user.id)
        return await calls.command(call, command(call))

    async def hangup(self, *, session: AsyncSession, user: SignedInUser) -> None:
        await self._on_call(session, user, lambda call: lambda: call.agent_hangup(user.id))

    async def hold(self, *, session: AsyncSession, user: SignedInUser) -> None:
        await self._on_call(session, user, lambda call: lambda: call.hold(user.id))

    async def resume(self, *, session: AsyncSession, user: SignedInUser) -> None:
        await self._on_call(session, user, lambda call: lambda: call.resume(user.id))

    async def send_digits(self, *, session: AsyncSession, user: SignedInUser, digits: str) -> None:
        await self._on_call(
            session, user, lambda call: lambda: call.send_digits(user.id, digits.upper())
        )

    def _connected(self, user: SignedInUser) -> tuple[CallService, str]:
        """The agent's contact, when they are the one connected with the caller."""
        calls, contact_id, call = self._call(user.id)
        if call.snapshot().agent_id != user.id:
            raise NotOnCall("only the agent connected with the caller can transfer the call")
        return calls, contact_id

    async def transfer(
        self, *, session: AsyncSession, user: SignedInUser, mode: TransferMode, target: str
    ) -> None:
        """Blind or warm transfer to `queue:<id>` or `line:<id>`."""
        await _let_go(session)
        kind, _, target_id = target.partition(":")
        calls, contact_id = self._connected(user)
        await calls.transfer(
            contact_id,
            queue=target_id if kind == "queue" else None,
            line=target_id if kind == "line" else None,
            warm=mode == "warm",
        )

    async def complete_transfer(self, *, session: AsyncSession, user: SignedInUser) -> None:
        await _let_go(session)
        calls, contact_id = self._connected(user)
        await calls.complete_transfer(contact_id)

    async def cancel_transfer(self, *, session: AsyncSession, user: SignedInUser) -> None:
        await _let_go(session)
        calls, contact_id = self._connected(user)
        await calls.cancel_transfer(contact_id)

    # ------------------------------------------------------------------ wrap-up

    async def wrap_up(
        self,
        *,
        session: AsyncSession,
        user: SignedInUser,
        code: str,
        note: str | None,
        ip: str | None,
        contact_id: str | None = None,
    ) -> str:
        """Write the disposition (and note) of the contact the agent answered last, or of
        `contact_id` if they answered it; then end their wrap-up (ready again, unless they chose
        not ready or to log out during the call). Returns the contact's id."""
        contact_id = contact_id or self._handled.get(user.id)
        if contact_id is None:
            raise NothingToWrapUp("you have answered no contact to wrap up")
        row = await session.get(Contact, contact_id)
        if row is None or not await involves(
            session=session, contact_id=row.id, agent_id=user.id, types=("contact.answered",)
        ):
            raise NothingToWrapUp("you did not answer this contact", contact_id=contact_id)
        if await session.get(WrapUpCode, code) is None:
            raise InvalidInput(
                f"no wrap-up code {code!r}",
                problems=[{"loc": ["body", "code"], "message": f"no wrap-up code {code!r}"}],
            )
        await session.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(wrap_up_code_id=code, wrap_up_note=note)
            .execution_options(synchronize_session=False)
        )
        logged = await append_event(
            session=session,
            contact_id=contact_id,
            event=ContactWrappedUp(agent_id=user.id, code=code, has_note=bool(note)),
        )
        await self._audit(session, user, "contact.wrap_up", contact_id, ip, {"code": code})
        await session.commit()  # durable before the router hears of it
        if self._handled.get(user.id) == contact_id:
            del self._handled[user.id]
        await self._bus.publish(logged.event)
        agent = self._agent(user.id)
        if agent is not None and agent.state is rt.AgentState.WRAP_UP:
            with contextlib.suppress(HotlineError):  # its timer may have ended it just now
                await self.routing.end_wrap_up(user.id)
            await self._check_reachable(user.id, user.username)
        return contact_id


async def desk_options(*, session: AsyncSession) -> DeskOptions:
    """The wrap-up codes an agent picks from and the targets a call may be transferred to (every
    queue, and the department lines), as the configuration holds them now: a publish shows at
    the next read."""
    codes = await session.scalars(select(WrapUpCode).order_by(WrapUpCode.name, WrapUpCode.id))
    queues = await session.scalars(select(Queue).order_by(Queue.name, Queue.id))
    lines = await session.scalars(
        select(Line).where(Line.kind == "department").order_by(Line.name, Line.id)
    )
    return DeskOptions(
        wrapup_codes=[
            WrapUpCodeOut(id=c.id, name=c.name, description=c.description) for c in codes
        ],
        transfer_targets=[
            *(
                TransferTargetOut(target=f"queue:{q.id}", kind="queue", id=q.id, name=q.name)
                for q in queues
            ),
            *(
                TransferTargetOut(target=f"line:{ln.id}", kind="line", id=ln.id, name=ln.name)
                for ln in lines
            ),
        ],
    )
