"""`GET /api/v1/outbox` (supervisors and administrators): messages to callers, newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from hotline.api.deps import ClientIp, DbSession, require_roles
from hotline.auth.service import SignedInUser
from hotline.notifications.schemas import OutboxPage
from hotline.notifications.service import outbox_page
from hotline.users.models import Role

router = APIRouter(prefix="/api/v1", tags=["notifications"])

Overseer = Annotated[SignedInUser, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


@router.get("/outbox", responses={401: {}, 403: {}})
async def outbox(
    user: Overseer,
    db: DbSession,
    ip: ClientIp,
    request_id: Annotated[str | None, Query(max_length=32)] = None,
    status: Literal["pending", "sending", "sent", "kept", "failed"] | None = None,
    before: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OutboxPage:
    """What was sent to callers (with the demo's outbox: what would have been), with each
    message's delivery status; numbers masked. Audited."""
    return await outbox_page(
        session=db,
        actor=user,
        ip=ip,
        request_id=request_id,
        status=status,
        before=before,
        limit=limit,
    )
