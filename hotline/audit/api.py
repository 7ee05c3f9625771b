"""`GET /api/v1/audit`: the audit log for administrators, filtered by object or actor, newest
first, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hotline.api.deps import CurrentAdmin, DbSession
from hotline.audit import service
from hotline.audit.schemas import AuditEntryOut, AuditPage

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", responses={401: {}, 403: {}, 422: {}})
async def audit_log(
    user: CurrentAdmin,
    db: DbSession,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=128)] = None,
    actor: Annotated[str | None, Query(max_length=64, description="a username")] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    before: Annotated[int | None, Query(ge=1, description="`next_before` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Who read or changed what, and from where."""
    rows = await service.entries(
        session=db,
        object_type=object_type,
        object_id=object_id,
        actor=actor,
        action=action,
        before=before,
        limit=limit + 1,
    )
    items = [AuditEntryOut.model_validate(row) for row in rows[:limit]]
    return AuditPage(items=items, next_before=items[-1].id if len(rows) > limit else None)
