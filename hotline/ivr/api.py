"""`/api/v1/admin/ivr` (role admin): the IVR flow editor's routes. List the lines and their flow
versions, read a version, check a draft (problems with line numbers), diff it against the live
version, publish it on top of the version it was made from (409 `stale_version` if another was
published since), roll back. Publishes apply to the next call, without a restart; each is
audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.deps import ClientIp, CurrentAdmin, DbSession, Live, LiveState, require_roles
from hotline.api.editing import CheckOut, DiffOut, DraftIn, ProblemOut
from hotline.core.errors import InvalidConfiguration
from hotline.ivr import editor
from hotline.ivr.service import PublishResult, flow_versions
from hotline.prompts.service import files_dir
from hotline.users.models import Role

router = APIRouter(
    prefix="/api/v1/admin/ivr",
    tags=["admin: IVR flows"],
    dependencies=[Depends(require_roles(Role.ADMIN))],
    responses={401: {}, 403: {}},
)

NOTE_LENGTH = 2000


class FlowVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_id: str
    version: int
    name: str
    published_at: datetime
    published_by: str
    based_on: int | None
    note: str | None
    current: bool = Field(validation_alias="is_current")


class FlowVersionDetail(FlowVersionOut):
    yaml: str = Field(validation_alias="source", description="the flow as its author wrote it")
    flow: dict[str, Any] = Field(
        validation_alias="definition", description="the validated flow, as the interpreter runs it"
    )


class LineOut(BaseModel):
    id: str
    name: str
    number: str
    kind: str
    current_version: int | None
    flow_name: str | None
    versions: int


class PublishIn(DraftIn):
    base_version: int | None = Field(
        description="the live version the draft was made from (null: the line has no flow yet)"
    )
    note: str | None = Field(None, max_length=NOTE_LENGTH)


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="the older version to put live again")
    base_version: int | None = Field(description="the live version as the page showed it")
    note: str | None = Field(None, max_length=NOTE_LENGTH)


class PublishOut(BaseModel):
    version: FlowVersionOut
    warnings: list[ProblemOut]

    @classmethod
    def of(cls, result: PublishResult) -> PublishOut:
        return cls(
            version=FlowVersionOut.model_validate(result.version),
            warnings=[ProblemOut.of(w) for w in result.warnings],
        )


@router.get("/lines")
async def lines(db: DbSession) -> list[LineOut]:
    """Every line, the version of its flow new calls run, and how many versions it has had."""
    return [
        LineOut(
            id=item.line.id,
            name=item.line.name,
            number=item.line.number,
            kind=item.line.kind,
            current_version=item.current.version if item.current is not None else None,
            flow_name=item.current.name if item.current is not None else None,
            versions=item.versions,
        )
        for item in await editor.lines_with_flows(session=db)
    ]


@router.get("/lines/{line_id}/versions", responses={404: {}})
async def versions(line_id: str, db: DbSession) -> list[FlowVersionOut]:
    """The line's flow versions, newest first: who published what, when, copying which."""
    await editor.require_line(session=db, line_id=line_id)
    return [
        FlowVersionOut.model_validate(row)
        for row in await flow_versions(session=db, line_id=line_id)
    ]


@router.get("/lines/{line_id}/versions/{version}", responses={404: {}})
async def version(line_id: str, version: int, db: DbSession) -> FlowVersionDetail:
    """One version: its YAML text and the flow it validated to."""
    row = await editor.flow_version(session=db, line_id=line_id, version=version)
    return FlowVersionDetail.model_validate(row)


@router.post("/lines/{line_id}/validate", responses={404: {}, 422: {}})
async def validate(line_id: str, body: DraftIn, db: DbSession, live: Live) -> CheckOut:
    """Check a draft as a publish would: every problem with its line, and the warnings."""
    try:
        loaded = await editor.check_draft(
            session=db,
            line_id=line_id,
            source=body.yaml,
            files=files_dir(live.settings.effective_prompts_dir),
        )
    except InvalidConfiguration as exc:
        return CheckOut.failed(exc)
    return CheckOut.passed(loaded.warnings)


@router.post("/lines/{line_id}/diff", responses={404: {}, 422: {}})
async def diff(line_id: str, body: DraftIn, db: DbSession) -> DiffOut:
    """The draft against the live version, as a unified diff."""
    text, live_version = await editor.draft_diff(session=db, line_id=line_id, source=body.yaml)
    return DiffOut(diff=text, from_version=live_version)


@router.get("/lines/{line_id}/diff", responses={404: {}, 422: {}})
async def versions_diff(
    line_id: str,
    db: DbSession,
    old: Annotated[int, Query(alias="from", ge=1)],
    new: Annotated[int, Query(alias="to", ge=1)],
) -> DiffOut:
    """Two stored versions against each other (`?from=3&to=5`)."""
    text = await editor.versions_diff(session=db, line_id=line_id, old=old, new=new)
    return DiffOut(diff=text, from_version=old)


@router.post("/lines/{line_id}/publish", responses={404: {}, 409: {}, 422: {}})
async def publish(
    line_id: str, body: PublishIn, user: CurrentAdmin, db: DbSession, live: Live, ip: ClientIp
) -> PublishOut:
    """Make the draft the line's live flow, as its newest version: the next call runs it. 409
    `stale_version` when the live version is no longer `base_version`; 422
    `invalid_configuration` with every problem."""
    result = await editor.publish_draft(
        session=db,
        line_id=line_id,
        source=body.yaml,
        base_version=body.base_version,
        files=files_dir(live.settings.effective_prompts_dir),
        actor=user,
        ip=ip,
        note=body.note,
    )
    return await _committed(db, live, result)


@router.post("/lines/{line_id}/rollback", responses={404: {}, 409: {}, 422: {}})
async def rollback(
    line_id: str, body: RollbackIn, user: CurrentAdmin, db: DbSession, live: Live, ip: ClientIp
) -> PublishOut:
    """Put an older version live again, as a new version copying it (checked again: what it
    names must still exist)."""
    result = await editor.rollback_to(
        session=db,
        line_id=line_id,
        version=body.version,
        base_version=body.base_version,
        actor=user,
        ip=ip,
        note=body.note,
    )
    return await _committed(db, live, result)


async def _committed(db: AsyncSession, live: LiveState, result: PublishResult) -> PublishOut:
    """Commit, then announce: the change is durable before anyone hears of it."""
    await db.commit()
    if live.bus is not None:
        await live.bus.publish(result.event)
    return PublishOut.of(result)
