"""The dispatch timers, started by the composition root: every `interval` seconds, tasks not
accepted in time go to the next field worker (`reassign_overdue`), new requests that found nobody
free are offered again (`assign_waiting`: someone may have freed up or come on duty), and open
requests past their deadline are marked and alerted once (`record_sla_breaches`).

Each pass is bounded: at most `batch` requests of each kind, one transaction each, published
after its commit; when a batch was full the next pass follows at once rather than after the
interval. Stopping waits for the pass in progress (bounded), so no step is cut off between its
commit and its events. Several processes may run these on one PostgreSQL: each request is locked
and checked again before it moves."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.core.clock import Clock
from hotline.core.events import Event, EventBus
from hotline.core.periodic import Periodic
from hotline.dispatch.service import Assignment, auto_assign, reassign_overdue
from hotline.requests.lifecycle import NEW
from hotline.requests.models import Request, RequestCategory
from hotline.requests.service import publish, record_sla_breaches

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TimerPass:
    """What one pass did: tasks handed on, waiting requests assigned, SLA breaches recorded."""

    handed_on: int = 0
    assigned: int = 0
    breaches: int = 0


async def assign_waiting(
    *, session: AsyncSession, now: datetime, limit: int = 200
) -> list[Assignment]:
    """Try again to assign new requests that have a district but found nobody free, most urgent
    and oldest first; those still without a field worker stay new (and are not returned)."""
    ids = (
        await session.scalars(
            select(Request.id)
            .join(RequestCategory, RequestCategory.id == Request.category_id)
            .where(
                Request.state == NEW.value,
                Request.district_id.is_not(None),
                RequestCategory.information_only.is_(False),
            )
            .order_by(Request.priority.desc(), Request.created_at, Request.id)
            .limit(limit)
        )
    ).all()
    done: list[Assignment] = []
    for request_id in ids:
        result = await auto_assign(session=session, request_id=request_id, actor=None, now=now)
        if result.worker_id is not None:
            done.append(result)
    return done


class DispatchTimers:
    """See the module docstring."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        interval: float = 30.0,
        batch: int = 200,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._batch = batch
        self._periodic = Periodic("dispatch-timers", self._pass, interval)

    async def start(self) -> None:
        self._periodic.start()

    async def close(self, grace: float = 5.0) -> None:
        """Let the pass in progress finish (at most `grace` seconds), then stop."""
        await self._periodic.close(grace)

    async def run_once(self) -> TimerPass:
        """One pass (see the module docstring)."""
        now = datetime.fromtimestamp(self._clock.now(), UTC)
        async with self._sessions() as session:
            moved = await reassign_overdue(session=session, now=now, limit=self._batch)
            await session.commit()
        await publish(self._bus, [e for assignment in moved for e in assignment.events])
        async with self._sessions() as session:
            assigned = await assign_waiting(session=session, now=now, limit=self._batch)
            await session.commit()
        await publish(self._bus, [e for assignment in assigned for e in assignment.events])
        async with self._sessions() as session:
            alerts: list[Event] = list(
                await record_sla_breaches(session=session, now=now, limit=self._batch)
            )
            await session.commit()
        await publish(self._bus, alerts)
        done = TimerPass(len(moved), len(assigned), len(alerts))
        if moved or assigned or alerts:
            log.info(
                "dispatch timers: %d task(s) handed on, %d waiting request(s) assigned, "
                "%d SLA breach(es)",
                done.handed_on,
                done.assigned,
                done.breaches,
            )
        return done

    async def _pass(self) -> bool:
        done = await self.run_once()
        return max(done.handed_on, done.breaches) >= self._batch
