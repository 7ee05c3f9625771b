"""The live router: the pure routing engine on the wall clock, its timers run by asyncio, every
decision written down (the contact's row and event log, the agent state history) and only then
published on the bus and handed to the call layer.

Writes go through one writer task with group commit: whatever commands arrive while a transaction
is being committed are written together in the next one, in order. A command returns once its
records are durable ("durable before acknowledged": a caller hears "we will call you back" only
after the callback is committed). The call layer writes its own facts about contacts (arrivals,
the IVR's record, who hung up, leg quality) through the same writer (`log`): on SQLite, where
every commit waits for the disk, one commit then serves many calls.

On start the router is rebuilt from the database: queues and agents' skills from the
configuration, waiting callbacks in their original places; contacts whose calls died with the
previous process are ended with outcome `cancelled`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hotline.config.service import export_config, to_routing_specs
from hotline.contacts.models import Contact
from hotline.contacts.service import ContactChange, write_changes
from hotline.core.clock import Clock
from hotline.core.errors import InvalidInput, NotFound, RoutingRejected
from hotline.core.events import Event, EventBus, Unsubscribe
from hotline.db.engine import write_transaction
from hotline.routing import events as ev
from hotline.routing import types as rt
from hotline.routing.engine import RoutingEngine
from hotline.routing.models import Skill
from hotline.users.models import AgentSkill as AgentSkillRecord
from hotline.users.models import AgentStateRecord, User

log = logging.getLogger(__name__)

DecisionHandler = Callable[[rt.Decision], Awaitable[None] | None]

_ACTIVE_STATES = (rt.ContactState.WAITING.value, rt.ContactState.OFFERED.value)
_CONNECTED = rt.ContactState.CONNECTED.value


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


# One thing to write: a contact's events and row changes, an agent's new state (a row of the
# state history), or an event that only needs publishing after the batch commits.
_Record = ContactChange | Event

_INSERT_AGENT_STATES = insert(AgentStateRecord.metadata.tables[AgentStateRecord.__tablename__])


@dataclass
class _Batch:
    records: list[_Record]
    decisions: list[rt.Decision]
    done: asyncio.Future[None]
    strict: bool = False  # the caller hears of records that could not be written


async def load_engine(
    *, session: AsyncSession, short_abandon_seconds: float = 0.0
) -> RoutingEngine:
    """A routing engine configured from the database's current configuration."""
    specs = to_routing_specs(await export_config(session=session))
    return RoutingEngine(specs.queues.values(), short_abandon_seconds=short_abandon_seconds)


async def agent_skills(*, session: AsyncSession, user_id: str) -> list[rt.AgentSkill]:
    """An agent's skills as the engine takes them (at login, or after a supervisor's change)."""
    user = await session.get(User, user_id)
    if user is None:
        return []
    return [rt.AgentSkill(s.skill_id, s.level, s.preference) for s in user.skills]


async def save_agent_skills(
    *, session: AsyncSession, user_id: str, skills: Iterable[rt.AgentSkill]
) -> None:
    """Replace an agent's skills in the database (the caller commits, then tells the live router
    with `RoutingService.set_skills`). Unknown skills are refused with a problem per entry."""
    skills = list(skills)
    known = set(
        await session.scalars(select(Skill.id).where(Skill.id.in_([s.skill for s in skills])))
    )
    problems = [
        {"loc": ["body", i, "skill"], "message": f"no skill {s.skill!r}"}
        for i, s in enumerate(skills)
        if s.skill not in known
    ]
    if problems:
        raise InvalidInput("unknown skills", problems=problems)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id!r}", user_id=user_id)
    user.skills = [
        AgentSkillRecord(skill_id=s.skill, level=s.level, preference=s.preference) for s in skills
    ]
    await session.flush()


class RoutingService:
    """Commands mirror the engine's (without `now`: the service reads its clock)."""

    def __init__(
        self,
        *,
        engine: RoutingEngine,
        clock: Clock,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
    ) -> None:
        self.engine = engine
        self._clock = clock
        # The writer works on a connection: no ORM session (its unit of work) on the hot path.
        self._engine: AsyncEngine = sessions.kw["bind"]
        self._bus = bus
        self._handlers: list[DecisionHandler] = []
        self._pending: list[_Batch] = []
        self._have_work = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    # ------------------------------------------------------------------ life cycle

    async def start(self, *, run_timers: bool = True) -> None:
        """Start the writer (and, unless a test drives time itself, the timer task)."""
        self._tasks.append(asyncio.create_task(self._writer(), name="routing-writer"))
        if run_timers:
            self._tasks.append(asyncio.create_task(self._timers(), name="routing-timers"))

    async def close(self, grace: float = 5.0) -> None:
        """Stop taking time forward, let the writer drain, then stop."""
        self._closing = True
        self._wake.set()
        self._have_work.set()
        if not self._tasks:
            return
        done, pending = await asyncio.wait(self._tasks, timeout=grace)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("routing task %s failed", task.get_name(), exc_info=task.exception())
        self._tasks.clear()

    def subscribe(self, handler: DecisionHandler) -> Unsubscribe:
        """Get every decision once it is durable (the call layer rings phones on `Offer`).
        Handlers run inside the writer task: hand the decision on (a queue, a task) and return;
        a handler that awaits a router command would wait for itself."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    async def restore(self, *, session: AsyncSession) -> int:
        """Rebuild contacts after a restart: waiting callbacks get their places back; contacts
        whose live call was lost are ended. Returns the callbacks restored."""
        rows = (
            await session.scalars(
                select(Contact)
                .where(Contact.state.in_((*_ACTIVE_STATES, _CONNECTED)))
                .order_by(Contact.arrived_at)
            )
        ).all()
        restored = 0
        now = self._clock.now()
        lost: list[_Record] = []
        for row in rows:
            callback = bool((row.attributes or {}).get("callback")) and row.state != _CONNECTED
            if callback and row.queue_id is not None and row.queue_id in self.engine.queue_ids():
                self.engine.arrive(row.id, row.queue_id, now, arrived=row.arrived_at.timestamp())
                self.engine.request_callback(row.id, now)
                restored += 1
                continue
            waited = now - row.arrived_at.timestamp()
            lost.append(
                ContactChange(
                    row.id,
                    (
                        ev.ContactEnded(
                            queue_id=row.queue_id,
                            outcome=rt.Outcome.CANCELLED.value,
                            waited=waited,
                            message="the call was lost when the service restarted",
                        ),
                    ),
                    {
                        "state": rt.ContactState.ENDED.value,
                        "outcome": rt.Outcome.CANCELLED.value,
                        "ended_at": _dt(now),
                    },
                )
            )
        if lost:
            await session.run_sync(lambda sync: self._write(sync.connection(), lost))
            await session.commit()
        if restored:
            self._wake.set()
        return restored

    # ------------------------------------------------------------------ configuration

    async def configure_queues(
        self, specs: Iterable[rt.QueueSpec], *, removed: Iterable[str] = ()
    ) -> None:
        """Apply queues added or changed by a configuration publish (already committed) live:
        contacts waiting in a changed queue are matched anew by its new spec. Published as
        `routing.queues_configured`."""
        now = self._clock.now()
        decisions: list[rt.Decision] = []
        specs = list(specs)
        for spec in specs:
            decisions.extend(self.engine.set_queue(spec, now))
        configured = ev.QueuesConfigured(
            queue_ids=[s.id for s in specs], removed=sorted(set(removed))
        )
        await self._run(decisions, [configured])

    # ------------------------------------------------------------------ agents

    async def login(
        self, agent_id: str, skills: Iterable[rt.AgentSkill], *, ready: bool = False
    ) -> None:
        await self._run(self.engine.login(agent_id, skills, self._clock.now(), ready=ready))

    async def logout(self, agent_id: str) -> None:
        await self._run(self.engine.logout(agent_id, self._clock.now()))

    async def set_ready(self, agent_id: str) -> None:
        await self._run(self.engine.set_ready(agent_id, self._clock.now()))

    async def set_not_ready(self, agent_id: str, reason: str = "break") -> None:
        await self._run(self.engine.set_not_ready(agent_id, self._clock.now(), reason))

    async def set_skills(self, agent_id: str, skills: Iterable[rt.AgentSkill]) -> None:
        """Apply skills already stored (`save_agent_skills`) live: the next offer uses them. An
        agent the router has not seen yet gets them from the database at login. Published as
        `agent.skills_changed` either way."""
        skills = list(skills)
        try:
            self.engine.agent(agent_id)
        except RoutingRejected:
            decisions: list[rt.Decision] = []
        else:
            decisions = self.engine.set_skills(agent_id, skills, self._clock.now())
        changed = ev.AgentSkillsChanged(
            agent_id=agent_id,
            skills=[
                {"skill": s.skill, "level": s.level, "preference": s.preference} for s in skills
            ],
        )
        await self._run(decisions, [changed])

    async def end_wrap_up(self, agent_id: str) -> None:
        await self._run(self.engine.end_wrap_up(agent_id, self._clock.now()))

    # ------------------------------------------------------------------ contacts

    async def arrive(
        self, contact_id: str, queue_id: str, *, priority: int = 0, callback: bool = False
    ) -> None:
        """Queue a contact whose row the call layer has already created (`callback`: it is
        queued to ask for a callback, accepted even while the queue is closed)."""
        now = self._clock.now()
        decisions = self.engine.arrive(
            contact_id, queue_id, now, priority=priority, callback=callback
        )
        queued = ContactChange(
            contact_id,
            (ev.ContactQueued(queue_id=queue_id, priority=priority),),
            {"queue_id": queue_id, "state": rt.ContactState.WAITING.value},
        )
        await self._run(decisions, [queued])

    async def answer(self, contact_id: str) -> None:
        now = self._clock.now()
        decisions = self.engine.answer(contact_id, now)
        contact = self.engine.contact(contact_id)
        answered = ContactChange(
            contact_id,
            (
                ev.ContactAnswered(
                    queue_id=contact.queue_id,
                    agent_id=contact.agent_id or "",
                    waited=now - contact.arrived,
                ),
            ),
            {"state": _CONNECTED, "answered_at": _dt(now)},
        )
        await self._run(decisions, [answered])

    async def decline(self, contact_id: str) -> None:
        await self._run(self.engine.decline(contact_id, self._clock.now()))

    async def hangup(self, contact_id: str) -> None:
        await self._run(self.engine.hangup(contact_id, self._clock.now()))

    async def abandon(self, contact_id: str) -> None:
        await self._run(self.engine.abandon(contact_id, self._clock.now()))

    async def cancel(self, contact_id: str) -> None:
        await self._run(self.engine.cancel(contact_id, self._clock.now()))

    async def request_callback(self, contact_id: str, *, number: str | None = None) -> None:
        """Returns once the callback is committed: only then may the caller be told."""
        now = self._clock.now()
        decisions = self.engine.request_callback(contact_id, now)
        contact = self.engine.contact(contact_id)
        record = ContactChange(
            contact_id,
            (ev.CallbackRequested(queue_id=contact.queue_id),),
            attributes={"callback": {"requested_at": now, "number": number}},
        )
        await self._run(decisions, [record])

    async def callback_failed(self, contact_id: str, *, retry_in: float | None = None) -> None:
        """The dialled caller did not answer. With `retry_in`, the contact waits again (its row
        says so, so a restart restores it as a waiting callback); without, it ends."""
        now = self._clock.now()
        retry_at = None if retry_in is None else now + retry_in
        decisions = self.engine.callback_failed(contact_id, now, retry_at=retry_at)
        records: list[ContactChange] = []
        if retry_at is not None:
            records.append(
                ContactChange(
                    contact_id,
                    (ev.CallbackRescheduled(retry_at=_dt(retry_at)),),
                    {"state": rt.ContactState.WAITING.value, "agent_id": None},
                )
            )
        await self._run(decisions, records)

    async def transfer(self, contact_id: str, queue_id: str) -> None:
        await self._run(self.engine.transfer(contact_id, queue_id, self._clock.now()))

    async def log(self, *changes: ContactChange) -> None:
        """Write the call layer's own facts about contacts (events in their logs, changes to
        their rows, a new contact) in the writer's next group commit, in order with the router's
        records. Returns once they are committed and published; raises what prevented writing
        one of them (`NotFound` for an unknown contact). Works while the router shuts down."""
        records: list[_Record] = list(changes)
        writer = self._tasks[0] if self._tasks else None
        if writer is None or writer.done():
            # No writer (not started, or stopped): a transaction of its own.
            events = await self._transaction(records)
            for event in events:
                await self._bus.publish(event)
            return
        batch = _Batch(records, [], asyncio.get_running_loop().create_future(), strict=True)
        self._pending.append(batch)
        self._have_work.set()
        await batch.done

    async def tick(self) -> None:
        """Fire the engine's timers due by now (the timer task does this by itself)."""
        await self._run(self.engine.advance(self._clock.now()))

    # ------------------------------------------------------------------ internals

    async def _run(
        self, decisions: list[rt.Decision], before: Sequence[_Record] | None = None
    ) -> None:
        if self._closing:
            raise RoutingRejected("the router is shutting down")
        records: list[_Record] = list(before or ())
        records.extend(self._records(decisions))
        self._wake.set()  # the engine's next deadline may have moved
        if not records and not decisions:
            return
        batch = _Batch(records, decisions, asyncio.get_running_loop().create_future())
        self._pending.append(batch)
        self._have_work.set()
        await batch.done

    def _records(self, decisions: list[rt.Decision]) -> list[_Record]:
        out: list[_Record] = []
        for d in decisions:
            if isinstance(d, rt.Offer):
                out.append(
                    ContactChange(
                        d.contact_id,
                        (
                            ev.ContactOffered(
                                queue_id=d.queue_id,
                                agent_id=d.agent_id,
                                is_callback=d.is_callback,
                                deadline=d.deadline,
                            ),
                        ),
                        {"state": rt.ContactState.OFFERED.value, "agent_id": d.agent_id},
                    )
                )
            elif isinstance(d, rt.OfferWithdrawn):
                out.append(
                    ContactChange(
                        d.contact_id,
                        (ev.OfferWithdrawn(agent_id=d.agent_id, reason=d.reason),),
                        {"state": rt.ContactState.WAITING.value, "agent_id": None},
                    )
                )
            elif isinstance(d, rt.ContactMoved):
                out.append(
                    ContactChange(
                        d.contact_id,
                        (
                            ev.ContactMoved(
                                from_queue=d.from_queue, to_queue=d.to_queue, widened=d.widened
                            ),
                        ),
                        {"queue_id": d.to_queue},
                    )
                )
            elif isinstance(d, rt.CallbackSuggested):
                out.append(
                    ContactChange(
                        d.contact_id,
                        (ev.CallbackSuggested(queue_id=d.queue_id, message=d.message),),
                    )
                )
            elif isinstance(d, rt.ContactEnded):
                out.append(
                    ContactChange(
                        d.contact_id,
                        (
                            ev.ContactEnded(
                                queue_id=d.queue_id,
                                outcome=d.outcome.value,
                                waited=d.waited,
                                message=d.message,
                                at=_dt(d.at),
                            ),
                        ),
                        {
                            "state": rt.ContactState.ENDED.value,
                            "outcome": d.outcome.value,
                            "ended_at": _dt(d.at),
                        },
                    )
                )
            elif isinstance(d, rt.AgentStateChanged):
                out.append(
                    ev.AgentStateChanged(
                        agent_id=d.agent_id,
                        state=d.state.value,
                        reason=d.reason,
                        at=_dt(d.at),
                    )
                )
        return out

    async def _writer(self) -> None:
        while True:
            await self._have_work.wait()
            # Let the tasks that are ready add their work first: more in one commit.
            await asyncio.sleep(0)
            self._have_work.clear()
            batches, self._pending = self._pending, []
            if not batches:
                if self._closing:
                    return
                continue
            records = [r for b in batches for r in b.records]
            failed: dict[int, Exception] = {}
            try:
                events = await self._transaction(records)
            except Exception:
                # One bad record (a contact row the call layer never created) must not lose the
                # rest: write them one by one and report the failures.
                log.exception("routing batch failed; writing its records one by one")
                events, failed = await self._write_each(records)
            for event in events:
                await self._bus.publish(event)
            for batch in batches:
                for decision in batch.decisions:
                    await self._deliver(decision)
                if batch.done.done():
                    continue
                error = next((failed[id(r)] for r in batch.records if id(r) in failed), None)
                if batch.strict and error is not None:
                    batch.done.set_exception(error)
                else:
                    batch.done.set_result(None)

    async def _write_each(self, records: list[_Record]) -> tuple[list[Event], dict[int, Exception]]:
        """Each record in its own transaction: the events written, and the failures by record
        (by `id`)."""
        events: list[Event] = []
        failed: dict[int, Exception] = {}
        for record in records:
            try:
                written = await self._transaction([record])
            except Exception as exc:
                log.exception("could not write %s", _describe(record))
                failed[id(record)] = exc
            else:
                events.extend(written)
        return events, failed

    async def _transaction(self, records: list[_Record]) -> list[Event]:
        """Write `records` in a transaction of their own (in the driver's thread on SQLite:
        however many statements, the event loop waits for it once)."""
        return await write_transaction(self._engine, lambda c: self._write(c, records))

    def _write(self, connection: Connection, records: list[_Record]) -> list[Event]:
        """Write `records` (the caller commits); returns their events as written (those of a
        contact's log carrying the contact's correlation id), in order."""
        logged = iter(
            write_changes(
                connection=connection,
                changes=[r for r in records if isinstance(r, ContactChange)],
            )
        )
        states = [
            {"user_id": r.agent_id, "state": r.state, "reason": r.reason, "at": r.at}
            for r in records
            if isinstance(r, ev.AgentStateChanged)
        ]
        if states:
            connection.execute(_INSERT_AGENT_STATES, states)
        events: list[Event] = []
        for record in records:
            if isinstance(record, ContactChange):
                events.extend(next(logged).event for _ in record.events)
            else:
                events.append(record)
        return events

    async def _deliver(self, decision: rt.Decision) -> None:
        for handler in list(self._handlers):
            try:
                result = handler(decision)
                if result is not None:
                    await result
            except Exception:
                log.exception("routing decision handler failed on %s", type(decision).__name__)

    async def _timers(self) -> None:
        while not self._closing:
            deadline = self.engine.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock.now())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            if self._closing:
                return
            deadline = self.engine.next_deadline()
            if deadline is not None and deadline <= self._clock.now():
                await self.tick()


def _describe(record: _Record) -> str:
    if isinstance(record, ContactChange):
        kinds = ", ".join(e.type for e in record.events) or "changes"
        return f"{kinds} of contact {record.contact_id}"
    return f"{record.type} of agent {getattr(record, 'agent_id', '-')}"
