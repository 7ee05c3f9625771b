"""The live feed: the router's events (from the bus, after commit) turned into browser events,
numbered, kept in a ring for pages that resume, and handed to every subscribed page that may see
them.

Why it is shaped so:
- The bus delivers inside the router's writer, so receiving only puts the event in an inbox; one
  task turns the inbox into browser events, in order.
- The feed keeps the wallboard as its events describe it (`Snapshot`), so a snapshot and the id of
  the last event are always read together: a page gets the snapshot as of event N, then N+1...
- Every event that changes the wallboard carries the whole row it changes, read from the engine
  when the event is made. The engine may already be a step ahead of the events still in the inbox;
  their rows then repeat what an earlier event said, and the last event about a row always
  carries the row as the engine holds it.
- Some figures move with time alone: the last 30 minutes' (a sliding window of one-minute buckets)
  at each minute boundary, "today" at midnight. The feed looks at every queue again at each
  minute boundary of its clock (and before any flush or settle that crosses one), so the rows it
  holds always read as a fresh snapshot would at that moment.
- Queue figures cost a pass over the contacts the router holds, so they are recomputed for the
  queues an event touched at most once per `coalesce_seconds` (a burst of a thousand arrivals costs
  a handful of passes, not a thousand), and sent only when they changed.
- A page that does not keep up fills its bounded buffer and is cut off (it resumes from the last
  id it saw): the feed never waits for a page."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.audit import service as audit
from hotline.audit.service import Actor
from hotline.core.clock import Clock
from hotline.core.errors import InvalidInput, NotFound, RoutingRejected
from hotline.core.events import Event, EventBus, Unsubscribe
from hotline.core.settings import Settings
from hotline.live.events import (
    AGENT_STATE,
    CONTACT_ANSWERED,
    CONTACT_ENDED,
    CONTACT_OFFERED,
    OFFER_WITHDRAWN,
    QUEUE_FIGURES,
    REQUEST_CHANGED,
    SNAPSHOT,
    LiveEvent,
)
from hotline.live.wallboard import (
    AgentRow,
    Person,
    QueueRow,
    Snapshot,
    agent_row,
    build_snapshot,
    eligible_queues,
    queue_rows,
)
from hotline.requests import events as rq
from hotline.requests.models import Request
from hotline.routing import events as ev
from hotline.routing.service import RoutingService, save_agent_skills
from hotline.routing.types import AgentSkill, QueueSpec
from hotline.users.models import User

log = logging.getLogger(__name__)

_ROUTING_EVENTS: tuple[type[Event], ...] = (
    ev.ContactQueued,
    ev.ContactOffered,
    ev.OfferWithdrawn,
    ev.ContactAnswered,
    ev.ContactMoved,
    ev.CallbackRequested,
    ev.CallbackRescheduled,
    ev.ContactEnded,
    ev.AgentStateChanged,
    ev.AgentSkillsChanged,
    ev.QueuesConfigured,
)
_REQUEST_EVENTS: tuple[type[Event], ...] = (
    rq.RequestCreated,
    rq.RequestStateChanged,
    rq.RequestMerged,
    rq.RequestPlaced,
    rq.RequestSlaBreached,
)


def day_start(now: float, timezone: str) -> float:
    """Local midnight before `now`: where the figures' "today" begins."""
    local = datetime.fromtimestamp(now, ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a page belongs to: supervisors and administrators see everything; anyone else what
    concerns them (their state, their offers and contacts) and their queues' figures."""

    user_id: str
    username: str
    sees_all: bool


class Subscription:
    """One page's stream: first its backlog (a snapshot, or the events it missed), then live
    events from a bounded buffer. `next()` returns None when the stream is over: `cut_off` then
    says whether the page fell behind (and should resume) or the feed stopped."""

    def __init__(
        self, feed: LiveFeed, viewer: Viewer, backlog: Iterable[LiveEvent], buffer: int
    ) -> None:
        self.viewer = viewer
        self.cut_off = False
        self._feed = feed
        self._backlog = deque(backlog)
        self._buffer: asyncio.Queue[LiveEvent | None] = asyncio.Queue(maxsize=buffer)
        self._ended = False

    async def next(self) -> LiveEvent | None:
        if self._backlog:
            return self._backlog.popleft()
        return await self._buffer.get()

    def drain(self) -> list[LiveEvent | None]:
        """Whatever is ready now, without waiting (a sender may write it in one go)."""
        out: list[LiveEvent | None] = list(self._backlog)
        self._backlog.clear()
        while not self._buffer.empty():
            out.append(self._buffer.get_nowait())
        return out

    def close(self) -> None:
        """The page went away."""
        self._feed._drop(self)
        self._ended = True

    def _offer(self, event: LiveEvent) -> None:
        try:
            self._buffer.put_nowait(event)
        except asyncio.QueueFull:
            log.info("live events: %s fell behind; cut off to resume", self.viewer.username)
            self._feed._drop(self)
            self._end(cut_off=True)

    def _end(self, *, cut_off: bool) -> None:
        if self._ended:
            return
        self._ended = True
        self.cut_off = cut_off
        self._backlog.clear()
        while not self._buffer.empty():
            self._buffer.get_nowait()
        self._buffer.put_nowait(None)


@dataclass(slots=True)
class _Tracked:
    """What the feed remembers of a contact the router holds: to name its queue and its agent in
    events that do not (a withdrawn offer, the end)."""

    queue: str | None
    agent: str | None = None  # user id of the agent it is offered to or connected with


class LiveFeed:
    """See the module docstring. Ids start at the start time in milliseconds, so ids of an
    earlier process are older than this one's ring and a page resuming with one gets a snapshot."""

    def __init__(
        self,
        *,
        routing: RoutingService,
        bus: EventBus,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        specs: Mapping[str, QueueSpec],
        names: Mapping[str, str],
        timezone: str = "UTC",
        ring_size: int = 10_000,
        client_buffer: int = 1_000,
        coalesce_seconds: float = 0.2,
        refresh_seconds: float = 60.0,
        heartbeat_seconds: float = 15.0,
    ) -> None:
        self._routing = routing
        self._bus = bus
        self._sessions = sessions
        self._clock = clock
        self._specs = specs
        self._names = names
        self._timezone = timezone
        self._client_buffer = client_buffer
        self._coalesce = coalesce_seconds
        self._refresh_every = refresh_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._ring: deque[LiveEvent] = deque(maxlen=ring_size)
        self._last_id = 0
        self._inbox: asyncio.Queue[Event] = asyncio.Queue()
        self._subscriptions: list[Subscription] = []
        self._people: dict[str, Person] = {}  # by user id
        self._contacts: dict[str, _Tracked] = {}
        self._queues: dict[str, QueueRow] = {}
        self._agents: dict[str, AgentRow] = {}  # by username
        self._dirty: set[str] = set()
        self._forced: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = float("-inf")
        self._minute = 0  # the clock's minute the queue rows were last all looked at in
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Unsubscribe | None = None

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Read who is who, take the wallboard as the router holds it now, then follow the bus."""
        await self._load_people(None)
        now = self._clock.now()
        self._last_id = int(now * 1000)
        engine = self._routing.engine
        snapshot = build_snapshot(
            engine,
            self._specs,
            self._people,
            now=now,
            day_start=day_start(now, self._timezone),
            names=self._names,
        )
        self._queues, self._agents = dict(snapshot.queues), dict(snapshot.agents)
        self._minute = int(now // 60)
        for agent in engine.agents():
            person = self._people.get(agent.agent_id)
            if person is not None:
                self._people[agent.agent_id] = replace(
                    person, queues=eligible_queues(agent.skills, self._specs)
                )
        self._unsubscribe = self._bus.subscribe(
            self._receive, types={cls.type for cls in (*_ROUTING_EVENTS, *_REQUEST_EVENTS)}
        )
        self._tasks = [
            asyncio.create_task(self._run(), name="live-feed"),
            asyncio.create_task(self._refresh(), name="live-refresh"),
        ]

    async def close(self) -> None:
        """Stop following the bus and end every page's stream (pages reconnect by themselves)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for subscription in list(self._subscriptions):
            subscription._end(cut_off=False)
        self._subscriptions.clear()

    async def settle(self) -> None:
        """Wait until every event received so far is sent, figures included (no coalescing
        delay): for tests, and before a snapshot must match the router exactly."""
        await self._inbox.join()
        self._minute_passed()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()

    # ------------------------------------------------------------------ reading

    @property
    def last_id(self) -> int:
        return self._last_id

    def now(self) -> float:
        """The server's time, as the feed's events stamp it."""
        return self._clock.now()

    def snapshot(self) -> tuple[int, Snapshot]:
        """The wallboard as of the last event sent, with that event's id."""
        return self._last_id, Snapshot(dict(self._queues), dict(self._agents))

    def queues_of(self, user_id: str) -> frozenset[str]:
        """The queues whose figures a user who is not a supervisor receives."""
        person = self._people.get(user_id)
        return person.queues if person is not None else frozenset()

    async def connect(self, viewer: Viewer, *, last_event_id: int | None = None) -> Subscription:
        """A page's stream: the events after `last_event_id` if the ring still holds them all,
        else a snapshot (as of the last event) first; live events follow without a gap."""
        if not viewer.sees_all:
            await self._person(viewer.user_id)  # their queues, for the figures they receive
        # From here to the end nothing awaits: the backlog and the subscription see the same id.
        backlog = None if last_event_id is None else self.replay(viewer, last_event_id)
        if backlog is None:
            last_id, snapshot = self.snapshot()
            if not viewer.sees_all:
                snapshot = snapshot.view(viewer.username, self.queues_of(viewer.user_id))
            message = LiveEvent.make(
                last_id,
                SNAPSHOT,
                self._clock.now(),
                snapshot.as_dict(),
                heartbeat=self.heartbeat_seconds,
            )
            backlog = [message]
        subscription = Subscription(self, viewer, backlog, self._client_buffer)
        self._subscriptions.append(subscription)
        return subscription

    def replay(self, viewer: Viewer, after: int) -> list[LiveEvent] | None:
        """The events after id `after` that `viewer` may see, or None when the ring no longer
        holds them all (or never did: an id of another process, or from the future)."""
        first = self._ring[0].id if self._ring else self._last_id + 1
        if not first - 1 <= after <= self._last_id:
            return None
        missed = itertools.islice(self._ring, after - first + 1, None)
        return [event for event in missed if self._visible(viewer, event)]

    # ------------------------------------------------------------------ internals: receiving

    def _receive(self, event: Event) -> None:
        self._inbox.put_nowait(event)

    async def _run(self) -> None:
        while True:
            event = await self._inbox.get()
            try:
                await self._handle(event)
            except Exception:
                log.exception("live events: could not handle %s", event.type)
            finally:
                self._inbox.task_done()

    async def _refresh(self) -> None:
        """Figures that move with time alone (the last 30 minutes, the expected wait, midnight)
        are looked at again at each minute boundary, and every `refresh_seconds` at the latest;
        unchanged rows are not sent."""
        while True:
            now = self._clock.now()
            await asyncio.sleep(min(self._refresh_every, 60.0 - now % 60.0 + 0.05))
            if not self._minute_passed():
                self._touch(self._specs)

    def _minute_passed(self) -> bool:
        """If the clock entered another minute since the rows were all looked at, look at them
        all again (soon): the sliding window dropped a minute. True when it did."""
        minute = int(self._clock.now() // 60)
        if minute == self._minute:
            return False
        self._minute = minute
        self._touch(self._specs)
        return True

    async def _handle(self, event: Event) -> None:
        if isinstance(event, _REQUEST_EVENTS):
            await self._request_changed(event)
            return
        if isinstance(event, ev.AgentStateChanged | ev.AgentSkillsChanged):
            await self._agent_changed(event)
            return
        if isinstance(event, ev.QueuesConfigured):  # new names, targets and hours: new rows
            self._touch(event.queue_ids, force=True)
            return
        contact_id = event.correlation_id
        if contact_id is None:  # its record could not be written: nothing to tell
            return
        if isinstance(event, ev.ContactQueued):
            self._contacts[contact_id] = _Tracked(event.queue_id)
            self._touch([event.queue_id])
            return
        tracked = self._contacts.get(contact_id)
        if tracked is None:  # a contact the router had before this feed started
            tracked = self._contacts[contact_id] = _Tracked(self._queue_of(contact_id))
        if isinstance(event, ev.ContactOffered):
            tracked.queue, tracked.agent = event.queue_id, event.agent_id
            await self._tell_agent(
                CONTACT_OFFERED,
                contact_id,
                event.agent_id,
                queue=event.queue_id,
                callback=event.is_callback,  # the desktop shows a callback as one
                is_callback=event.is_callback,  # the earlier name, kept for older pages
            )
        elif isinstance(event, ev.OfferWithdrawn):
            tracked.agent = None
            await self._tell_agent(OFFER_WITHDRAWN, contact_id, event.agent_id, reason=event.reason)
        elif isinstance(event, ev.ContactAnswered):
            tracked.queue, tracked.agent = event.queue_id, event.agent_id
            await self._tell_agent(
                CONTACT_ANSWERED,
                contact_id,
                event.agent_id,
                queue=event.queue_id,
                waited=event.waited,
            )
        elif isinstance(event, ev.ContactEnded):
            del self._contacts[contact_id]
            username = (
                None if tracked.agent is None else (await self._person(tracked.agent)).username
            )
            data = {
                "contact_id": contact_id,
                "outcome": event.outcome,
                "queue": event.queue_id,
                "username": username,
            }
            self._emit(CONTACT_ENDED, data, agent=username)
            self._touch([event.queue_id] if event.queue_id else [])
        elif isinstance(event, ev.ContactMoved):
            tracked.queue = event.to_queue
            self._touch([event.from_queue, event.to_queue])
        elif isinstance(event, ev.CallbackRescheduled):
            tracked.agent = None
        if tracked.queue is not None:
            self._touch([tracked.queue])

    async def _request_changed(self, event: Event) -> None:
        """A request's step, for its field worker (and the one it was taken from), the agent
        who created it, and supervisors. The step's own state and worker; no caller's details."""
        request_id = str(getattr(event, "request_id", ""))
        async with self._sessions() as session:
            request = await session.get(Request, request_id)
        if request is None:
            return
        if isinstance(event, rq.RequestStateChanged):
            state, worker_id = event.to_state, event.worker_id
        elif isinstance(event, rq.RequestCreated):
            state, worker_id = "new", None
        else:
            state, worker_id = request.state, request.worker_id
        previous = getattr(event, "previous_worker_id", None)
        users = {
            key: (await self._person(user_id)).username
            for key, user_id in (
                ("worker", worker_id),
                ("previous", previous),
                ("creator", request.created_by_id),
            )
            if user_id is not None
        }
        data = {
            "request_id": request.id,
            "event": event.type,
            "category": request.category_id,
            "state": state,
            "from_state": getattr(event, "from_state", None),
            "cause": getattr(event, "cause", None),
            "priority": request.priority,
            "district_id": request.district_id,
            "needs_district": request.needs_district,
            "sla_breached": request.sla_breached,
            "worker": users.get("worker"),
        }
        self._emit(REQUEST_CHANGED, data, audience=frozenset(users.values()))

    async def _tell_agent(self, kind: str, contact_id: str, agent_id: str, **data: object) -> None:
        """An event about a contact and the agent it concerns (who alone, with supervisors, gets
        it)."""
        person = await self._person(agent_id)
        data = {"contact_id": contact_id, "username": person.username, **data}
        self._emit(kind, data, agent=person.username)

    async def _agent_changed(self, event: ev.AgentStateChanged | ev.AgentSkillsChanged) -> None:
        person = await self._person(event.agent_id)
        try:
            agent = self._routing.engine.agent(event.agent_id)
        except RoutingRejected:
            # Skills of an agent the router has not seen: only whose figures they receive changes.
            if isinstance(event, ev.AgentSkillsChanged):
                skills = [AgentSkill(str(s["skill"]), int(s["level"])) for s in event.skills]
                queues = eligible_queues({s.skill: s for s in skills}, self._specs)
                self._people[person.user_id] = replace(person, queues=queues)
                self._touch(queues - person.queues, force=True)
            return
        row = agent_row(agent, person, self._specs)
        queues = frozenset(row.queues)
        self._people[person.user_id] = replace(person, queues=queues)
        # Their state counts in the figures of every queue they may take (before and after).
        self._touch(person.queues | queues)
        self._touch(queues - person.queues, force=True)  # their page has no figures of these yet
        if self._agents.get(row.username) != row:
            self._agents[row.username] = row
            self._emit(AGENT_STATE, row.as_dict(), agent=row.username)

    def _queue_of(self, contact_id: str) -> str | None:
        try:
            return self._routing.engine.contact(contact_id).queue_id
        except RoutingRejected:
            return None

    async def _person(self, user_id: str) -> Person:
        person = self._people.get(user_id)
        if person is None:
            await self._load_people([user_id])
            person = self._people.get(user_id)
        if person is None:  # an agent id that is no user (tests of the router use bare ids)
            person = self._people[user_id] = Person(user_id, user_id, user_id)
        return person

    async def _load_people(self, user_ids: Collection[str] | None) -> None:
        query = select(User)
        if user_ids is not None:
            query = query.where(User.id.in_(list(user_ids)))
        async with self._sessions() as session:
            for user in await session.scalars(query):
                skills = {s.skill_id: AgentSkill(s.skill_id, s.level) for s in user.skills}
                queues = eligible_queues(skills, self._specs)
                self._people[user.id] = Person(user.id, user.username, user.name, queues)

    # ------------------------------------------------------------------ internals: sending

    def _touch(self, queues: Iterable[str], *, force: bool = False) -> None:
        """These queues' figures may have changed: recompute them soon (`force`: and send them
        even if they did not)."""
        touched = {q for q in queues if q in self._specs}
        if not touched:
            return
        self._dirty |= touched
        if force:
            self._forced |= touched
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            when = max(loop.time(), self._last_flush + self._coalesce)
            self._flush_handle = loop.call_at(when, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        self._last_flush = asyncio.get_running_loop().time()
        if int(self._clock.now() // 60) != self._minute:
            self._minute = int(self._clock.now() // 60)
            self._dirty |= set(self._specs)
        dirty, forced = self._dirty, self._forced
        self._dirty, self._forced = set(), set()
        now = self._clock.now()
        try:
            rows = queue_rows(
                self._routing.engine,
                {q: spec for q, spec in self._specs.items() if q in dirty},
                now=now,
                day_start=day_start(now, self._timezone),
                names=self._names,
            )
        except Exception:
            log.exception("live events: queue figures failed")
            return
        for queue_id, row in rows.items():
            held = self._queues.get(queue_id)
            if queue_id not in forced and held is not None and held.at(now) == row.at(now):
                continue
            self._queues[queue_id] = row
            self._emit(QUEUE_FIGURES, {"queue": row.as_dict()}, queue=queue_id)

    def _emit(
        self,
        kind: str,
        data: Mapping[str, object],
        *,
        agent: str | None = None,
        queue: str | None = None,
        audience: frozenset[str] | None = None,
    ) -> None:
        self._last_id += 1
        event = LiveEvent.make(
            self._last_id,
            kind,
            self._clock.now(),
            dict(data),
            agent=agent,
            queue=queue,
            audience=audience,
        )
        self._ring.append(event)
        for subscription in list(self._subscriptions):
            if self._visible(subscription.viewer, event):
                subscription._offer(event)

    def _visible(self, viewer: Viewer, event: LiveEvent) -> bool:
        if viewer.sees_all:
            return True
        if event.audience is not None:
            return viewer.username in event.audience
        if event.agent is not None:
            return event.agent == viewer.username
        return event.queue is not None and event.queue in self.queues_of(viewer.user_id)

    def _drop(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)


# ---------------------------------------------------------------------------- supervisor actions

AGENT_STATES = ("ready", "not_ready", "logged_out")


async def user_id_of(*, session: AsyncSession, username: str) -> str:
    found = await session.scalar(select(User.id).where(User.username == username))
    if found is None:
        raise NotFound(f"no user {username!r}", username=username)
    return found


async def set_agent_state(
    *, routing: RoutingService, user_id: str, state: str, reason: str | None = None
) -> None:
    """A supervisor sets an agent's state, as the agent could: ready or not ready (while handling
    a contact: once it ends) needs the agent logged in; logging out one who is not changes
    nothing."""
    if state == "ready":
        await routing.set_ready(user_id)
    elif state == "not_ready":
        await routing.set_not_ready(user_id, reason or "supervisor")
    elif state == "logged_out":
        try:
            routing.engine.agent(user_id)
        except RoutingRejected:
            return
        await routing.logout(user_id)
    else:
        raise InvalidInput(f"no agent state {state!r}", state=state, allowed=list(AGENT_STATES))


async def change_agent_skills(
    *,
    session: AsyncSession,
    routing: RoutingService,
    username: str,
    skills: list[AgentSkill],
    actor: Actor | None,
    ip: str | None,
) -> None:
    """Store an agent's new skills (audited, as any configuration change), commit, then apply
    them in the router: the next offer follows them."""
    user_id = await user_id_of(session=session, username=username)
    await save_agent_skills(session=session, user_id=user_id, skills=skills)
    await audit.record(
        session=session,
        actor=actor,
        action="agent_skills.change",
        object_type="user",
        object_id=user_id,
        ip=ip,
        details={"skills": [{"skill": s.skill, "level": s.level} for s in skills]},
    )
    await session.commit()
    await routing.set_skills(user_id, skills)


async def start_live(
    *,
    settings: Settings,
    routing: RoutingService,
    bus: EventBus,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    specs: Mapping[str, QueueSpec],
    names: Mapping[str, str],
) -> LiveFeed:
    """Build and start the live feed (the composition root calls this once the router runs, and
    stops it with `close` before the router)."""
    feed = LiveFeed(
        routing=routing,
        bus=bus,
        sessions=sessions,
        clock=clock,
        specs=specs,
        names=names,
        timezone=settings.timezone,
        ring_size=settings.live_event_ring,
        client_buffer=settings.live_client_buffer,
        heartbeat_seconds=settings.live_heartbeat_seconds,
    )
    await feed.start()
    return feed
