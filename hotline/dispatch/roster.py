"""Field workers as supervisors see them (to assign by hand) and looked up by username."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.core.errors import NotFound
from hotline.dispatch.models import FieldWorker, FieldWorkerDistrict
from hotline.dispatch.schemas import FieldWorkerView
from hotline.users.models import User


async def field_worker_id(*, session: AsyncSession, username: str) -> str:
    """The user id of the field worker `username` (`NotFound`: no such field worker)."""
    found: str | None = await session.scalar(
        select(User.id)
        .join(FieldWorker, FieldWorker.user_id == User.id)
        .where(User.username == username)
    )
    if found is None:
        raise NotFound(f"no field worker {username!r}", worker=username)
    return found


async def roster(
    *,
    session: AsyncSession,
    district_id: str | None = None,
    kind: str | None = None,
    available: bool | None = None,
) -> list[FieldWorkerView]:
    """Active field workers with their load, by username; filtered by district, kind or duty."""
    query = (
        select(FieldWorker, User.username)
        .join(User, User.id == FieldWorker.user_id)
        .where(User.active.is_(True))
        .order_by(User.username)
    )
    if district_id is not None:
        query = query.where(
            FieldWorker.user_id.in_(
                select(FieldWorkerDistrict.user_id).where(
                    FieldWorkerDistrict.district_id == district_id
                )
            )
        )
    if kind is not None:
        query = query.where(FieldWorker.kind_id == kind)
    if available is not None:
        query = query.where(FieldWorker.available.is_(available))
    rows = (await session.execute(query)).all()
    return [field_worker_view(worker, username) for worker, username in rows]


def field_worker_view(worker: FieldWorker, username: str) -> FieldWorkerView:
    """A field worker row (with its districts and categories) as the API shows it."""
    return FieldWorkerView(
        user_id=worker.user_id,
        username=username,
        kind=worker.kind_id,
        districts=[d.district_id for d in worker.districts],
        categories=[c.category_id for c in worker.categories],
        capacity=worker.capacity,
        available=worker.available,
        active_tasks=worker.active_tasks,
        last_assigned_at=worker.last_assigned_at,
    )
