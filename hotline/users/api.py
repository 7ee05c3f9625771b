"""`/api/v1/admin/users` (role admin): bulk creation of agents and volunteers from CSV, all or
nothing, with first-login credentials returned once (as JSON, or as a printable sheet in CSV or
HTML with `?format=`). Every row's problems come back at once, with row number and column, as
422 `invalid_input` (`details.problems`: `{loc, row, field, message}`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from hotline.api.deps import ClientIp, CurrentAdmin, DbSession, Live, require_roles
from hotline.core.errors import InvalidInput
from hotline.users import service
from hotline.users.models import Role
from hotline.users.schemas import CredentialsOut, CsvCheckOut, CsvIn, ImportOut, RowProblemOut

router = APIRouter(
    prefix="/api/v1/admin/users",
    tags=["admin: users"],
    dependencies=[Depends(require_roles(Role.ADMIN))],
    responses={401: {}, 403: {}},
)


@router.post("/import/check", responses={422: {}})
async def check(body: CsvIn, db: DbSession) -> CsvCheckOut:
    """Check a file without creating anyone: every problem, and how many rows have none."""
    rows, problems = await service.check_csv(session=db, text=body.csv)
    clean = {r.row for r in rows} - {p.row for p in problems}
    return CsvCheckOut(users=len(clean), problems=[RowProblemOut.of(p) for p in problems])


@router.post(
    "/import",
    response_model=ImportOut,
    responses={
        200: {"content": {"text/csv": {}, "text/html": {}}},
        422: {},
    },
)
async def import_users(
    body: CsvIn,
    user: CurrentAdmin,
    db: DbSession,
    live: Live,
    ip: ClientIp,
    format: Annotated[Literal["json", "csv", "html"], Query()] = "json",
) -> ImportOut | Response:
    """Create every user of the file, or none: each gets a generated password to change at first
    sign-in (and a SIP password when they answer contacts). The passwords are in this answer
    only: keep the sheet (`?format=html` prints one card per user)."""
    rows, problems = await service.check_csv(session=db, text=body.csv)
    try:
        if problems:
            raise service.ImportRefusedError(problems)
        created = await service.create_users(
            session=db, rows=rows, actor=user, ip=ip, sip_realm=live.settings.sip_realm
        )
    except service.ImportRefusedError as refused:
        raise InvalidInput(
            f"the file has {len(refused.problems)} problem(s); nobody was created",
            problems=[p.as_dict() for p in refused.problems],
        ) from None
    await db.commit()
    no_store = {"Cache-Control": "no-store"}
    if format == "csv":
        return Response(
            service.credentials_csv(created),
            media_type="text/csv; charset=utf-8",
            headers={**no_store, "Content-Disposition": 'attachment; filename="credentials.csv"'},
        )
    if format == "html":
        return HTMLResponse(
            service.credentials_html(created, language=user.language), headers=no_store
        )
    return ImportOut(created=[CredentialsOut.model_validate(c) for c in created])
