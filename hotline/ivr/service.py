"""Publishing IVR flows, rolling them back, and finding the flow a new call runs.

A publish validates the flow against what the database holds (its queues, lines and calendars),
then, in one transaction, adds it as the line's newest version and makes it current. A rollback
re-validates an older version the same way (a queue it names may have gone since) and publishes a
copy of it, so the history only grows and says who put what live and when. Each is announced by
`IvrFlowPublished` once committed.

Nothing needs restarting: `FlowDirectory.for_new_call` asks the database which version is current
at every new call, and a running `IvrSession` keeps the `Flow` it was built with, so calls in
progress finish on their version."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.calendars.models import Calendar
from hotline.core.errors import NotFound
from hotline.core.events import EventBus
from hotline.core.yamlfile import Problem
from hotline.db.versions import VersionLog, require_actor
from hotline.ivr.events import IvrFlowPublished
from hotline.ivr.loader import KnownTargets, parse_flow
from hotline.ivr.models import IvrFlowVersion
from hotline.ivr.schemas import Flow
from hotline.lines.models import Line
from hotline.routing.models import Queue

FLOWS = VersionLog(IvrFlowVersion, "line_id", "IVR flow", owner="line")
"""The flows' versions, by line."""


@dataclass(frozen=True, slots=True)
class PublishedFlow:
    """A version of a line's flow, ready to run: hand `flow` to `IvrSession`."""

    id: str
    line_id: str
    version: int
    flow: Flow
    published_at: datetime
    published_by: str


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The version now live, the warnings its check found, and the event that announced it."""

    version: IvrFlowVersion
    warnings: tuple[Problem, ...]
    event: IvrFlowPublished


async def known_targets(*, session: AsyncSession) -> KnownTargets:
    """The queues, lines and calendars a flow may name: the ones in the database. Uploaded
    recordings are not in the database yet, so they are not checked."""
    queues = set((await session.scalars(select(Queue.id))).all())
    lines = set((await session.scalars(select(Line.id))).all())
    calendars = set((await session.scalars(select(Calendar.id))).all())
    return KnownTargets(queues=queues, lines=lines, calendars=calendars)


async def publish_flow(
    *,
    session: AsyncSession,
    line_id: str,
    source: str,
    actor: str,
    bus: EventBus | None = None,
    filename: str | None = None,
    note: str | None = None,
) -> PublishResult:
    """Validate the flow text `source` and make it the current flow of `line_id`, as its newest
    version. `InvalidConfiguration` lists every problem (file:line: field: message) and changes
    nothing. One transaction of its own when the session is not in one (then the event is
    published after the commit); otherwise a savepoint, and the caller commits and publishes
    `result.event`."""
    require_actor(actor)
    async with FLOWS.publishing(session, line_id) as owns:
        await _take_turn(session, line_id)
        known = await known_targets(session=session)
        loaded = parse_flow(source, filename=filename or f"{line_id}.yaml", known=known)
        row = await _add_version(session, line_id, loaded.flow, source, actor=actor, note=note)
    return await _announce(row, loaded.warnings, bus if owns else None)


async def rollback_flow(
    *,
    session: AsyncSession,
    line_id: str,
    version: int,
    actor: str,
    bus: EventBus | None = None,
    note: str | None = None,
) -> PublishResult:
    """Put version `version` of the line's flow live again, as a new version copying it. It is
    validated again first: the queues and lines it names must still exist. Transactions as in
    `publish_flow`."""
    require_actor(actor)
    async with FLOWS.publishing(session, line_id) as owns:
        current = await _take_turn(session, line_id)
        target = await FLOWS.rollback_target(session, line_id, version, current)
        known = await known_targets(session=session)
        loaded = parse_flow(target.source, filename=f"{line_id} version {version}", known=known)
        row = await _add_version(
            session, line_id, loaded.flow, target.source, actor=actor, based_on=version, note=note
        )
    return await _announce(row, loaded.warnings, bus if owns else None)


async def current_flow(*, session: AsyncSession, line_id: str) -> PublishedFlow | None:
    """The version new calls on the line run; None when no flow was ever published for it."""
    row = await FLOWS.current(session, line_id)
    return None if row is None else _published(row, Flow.model_validate(row.definition))


async def flow_versions(*, session: AsyncSession, line_id: str) -> list[IvrFlowVersion]:
    """Every version of the line's flow, newest first: its publishing history."""
    return await FLOWS.history(session, line_id)


class FlowDirectory:
    """Which flow a new call on a line runs, for the live call path.

    It asks the database at every new call (one small indexed row), so a publish made by any node
    applies to the next call at once, without a restart or a cache to invalidate. The parsed flow
    is kept by version id, which never changes: most calls read no JSON and parse nothing."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, keep: int = 64) -> None:
        self._sessions = sessions
        self._keep = keep
        self._flows: OrderedDict[str, Flow] = OrderedDict()

    async def for_new_call(self, line_id: str) -> PublishedFlow | None:
        async with self._sessions() as session:
            current = (
                await session.execute(
                    select(
                        IvrFlowVersion.id,
                        IvrFlowVersion.version,
                        IvrFlowVersion.published_at,
                        IvrFlowVersion.published_by,
                    ).where(IvrFlowVersion.line_id == line_id, IvrFlowVersion.is_current.is_(True))
                )
            ).one_or_none()
            if current is None:
                return None
            flow = self._flows.get(current.id)
            if flow is None:
                definition = await session.scalar(
                    select(IvrFlowVersion.definition).where(IvrFlowVersion.id == current.id)
                )
                flow = Flow.model_validate(definition)
                self._flows[current.id] = flow
                while len(self._flows) > self._keep:
                    self._flows.popitem(last=False)
            else:
                self._flows.move_to_end(current.id)
        return PublishedFlow(
            id=current.id,
            line_id=line_id,
            version=current.version,
            flow=flow,
            published_at=current.published_at,
            published_by=current.published_by,
        )


# ---- helpers ----


async def _take_turn(session: AsyncSession, line_id: str) -> int | None:
    """Take this line's turn to publish (the transaction's first statement) and check that the
    line exists; the version now current."""
    current = await FLOWS.take_turn(session, line_id)
    if await session.scalar(select(Line.id).where(Line.id == line_id)) is None:
        raise NotFound(f"no line {line_id!r}", line_id=line_id)
    return current


async def _add_version(
    session: AsyncSession,
    line_id: str,
    flow: Flow,
    source: str,
    *,
    actor: str,
    based_on: int | None = None,
    note: str | None = None,
) -> IvrFlowVersion:
    return await FLOWS.add(
        session,
        line_id,
        actor=actor,
        based_on=based_on,
        note=note,
        name=flow.name,
        source=source,
        definition=flow.model_dump(mode="json"),
    )


async def _announce(
    row: IvrFlowVersion, warnings: tuple[Problem, ...], bus: EventBus | None
) -> PublishResult:
    event = IvrFlowPublished(
        line_id=row.line_id,
        version=row.version,
        flow_name=row.name,
        published_by=row.published_by,
        based_on=row.based_on,
        note=row.note,
        warnings=[str(w) for w in warnings],
    )
    if bus is not None:
        await bus.publish(event)
    return PublishResult(row, warnings, event)


def _published(row: IvrFlowVersion, flow: Flow) -> PublishedFlow:
    return PublishedFlow(
        id=row.id,
        line_id=row.line_id,
        version=row.version,
        flow=flow,
        published_at=row.published_at,
        published_by=row.published_by,
    )
