"""`/api/v1/admin/config` (role admin): the live configuration editor's routes. Read the live
configuration as YAML (with its version and digest), check a draft (problems with line numbers),
diff it against what is live, publish it on top of the version it was made from (409
`stale_version` otherwise), list versions and roll back. A publish reaches the running router
at once (`hotline.config.publish`); each is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.deps import ClientIp, CurrentAdmin, DbSession, Live, LiveState, require_roles
from hotline.api.editing import CheckOut, DiffOut, DraftIn
from hotline.config import publish as live_config
from hotline.core.errors import InvalidConfiguration
from hotline.core.yamlfile import unified_diff
from hotline.users.models import Role

router = APIRouter(
    prefix="/api/v1/admin/config",
    tags=["admin: configuration"],
    dependencies=[Depends(require_roles(Role.ADMIN))],
    responses={401: {}, 403: {}},
)

NOTE_LENGTH = 2000


class LiveConfigOut(BaseModel):
    """The live configuration. Publish a draft of it with `base_version` and `base_digest` as
    given here: they say which configuration the draft was made from."""

    version: int = Field(description="the last version published here (0: none yet)")
    digest: str = Field(description="SHA-256 of the configuration as it is live now")
    yaml: str


class ConfigVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    published_at: datetime
    published_by: str
    based_on: int | None
    note: str | None


class ConfigVersionDetail(ConfigVersionOut):
    yaml: str = Field(validation_alias="source")


class ChangeOut(BaseModel):
    section: str
    id: str
    change: Literal["added", "changed", "removed"]


class ConfigDiffOut(DiffOut):
    changes: list[ChangeOut] = Field(description="the records the draft adds, changes, removes")


class BaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_version: int = Field(ge=0, description="`version` of the configuration loaded")
    base_digest: str | None = Field(
        None, max_length=64, description="`digest` of the configuration loaded"
    )
    note: str | None = Field(None, max_length=NOTE_LENGTH)


class PublishIn(DraftIn, BaseIn):
    pass


class RollbackIn(BaseIn):
    version: int = Field(ge=1, description="the version to put live again")


class PublishOut(BaseModel):
    version: ConfigVersionOut
    digest: str
    changes: list[ChangeOut]
    applied: list[str] = Field(description="queues the running router took anew")


@router.get("")
async def current(db: DbSession) -> LiveConfigOut:
    """The live configuration as YAML: the last version's own text (comments included) while
    nothing else changed it, otherwise as exported from the database."""
    now = await live_config.live_now(session=db)
    return LiveConfigOut(version=now.version, digest=now.digest, yaml=now.yaml)


@router.post("/validate", responses={422: {}})
async def validate(body: DraftIn, db: DbSession) -> CheckOut:
    """Check a draft as a publish would: every problem with its line."""
    try:
        await live_config.check_draft(session=db, source=body.yaml)
    except InvalidConfiguration as exc:
        return CheckOut.failed(exc)
    return CheckOut.passed()


@router.post("/diff", responses={422: {}})
async def diff(body: DraftIn, db: DbSession) -> ConfigDiffOut:
    """The draft against the live configuration: a unified diff, and (when the draft is valid on
    its own) the records it adds, changes and removes."""
    now = await live_config.live_now(session=db)
    try:
        draft = live_config.parse_live(body.yaml)
    except InvalidConfiguration:
        changes: list[ChangeOut] = []
    else:
        changes = [
            ChangeOut(section=c.section, id=c.id, change=c.change)
            for c in live_config.changes_between(now.config, draft)
        ]
    return ConfigDiffOut(
        diff=live_config.draft_diff(now, body.yaml), from_version=now.version, changes=changes
    )


@router.post("/publish", responses={409: {}, 422: {}})
async def publish(
    body: PublishIn, user: CurrentAdmin, db: DbSession, live: Live, ip: ClientIp
) -> PublishOut:
    """Publish the draft: written, audited, committed, then applied to the running router (the
    next contact is routed by it). 409 `stale_version` when the configuration changed since
    `base_version`/`base_digest`; 422 `invalid_configuration` with every problem."""
    published = await live_config.publish(
        session=db,
        source=body.yaml,
        base_version=body.base_version,
        base_digest=body.base_digest,
        actor=user,
        ip=ip,
        note=body.note,
    )
    return await _commit_and_apply(db, live, published)


@router.post("/rollback", responses={404: {}, 409: {}, 422: {}})
async def rollback(
    body: RollbackIn, user: CurrentAdmin, db: DbSession, live: Live, ip: ClientIp
) -> PublishOut:
    """Publish an older version again (as a new version copying it), checked against the
    database as it is now."""
    published = await live_config.rollback(
        session=db,
        version=body.version,
        base_version=body.base_version,
        base_digest=body.base_digest,
        actor=user,
        ip=ip,
        note=body.note,
    )
    return await _commit_and_apply(db, live, published)


@router.get("/versions")
async def versions(db: DbSession) -> list[ConfigVersionOut]:
    """Every version, newest first."""
    return [ConfigVersionOut.model_validate(row) for row in await live_config.versions(session=db)]


@router.get("/versions/{version}", responses={404: {}})
async def version(version: int, db: DbSession) -> ConfigVersionDetail:
    row = await live_config.get_version(session=db, version=version)
    return ConfigVersionDetail.model_validate(row)


@router.get("/diff", responses={404: {}, 422: {}})
async def versions_diff(
    db: DbSession,
    old: Annotated[int, Query(alias="from", ge=1)],
    new: Annotated[int, Query(alias="to", ge=1)],
) -> DiffOut:
    """Two stored versions against each other (`?from=3&to=5`)."""
    before = await live_config.get_version(session=db, version=old)
    after = await live_config.get_version(session=db, version=new)
    text = unified_diff(
        before.source,
        after.source,
        old_name=f"configuration version {old}",
        new_name=f"configuration version {new}",
    )
    return DiffOut(diff=text, from_version=old)


async def _commit_and_apply(
    db: AsyncSession, live: LiveState, published: live_config.Published
) -> PublishOut:
    await db.commit()  # durable before the router (or anyone) acts on it
    await live_config.apply_live(
        published, routing=live.routing, specs=live.specs, names=live.queue_names
    )
    return PublishOut(
        version=ConfigVersionOut.model_validate(published.version),
        digest=published.version.digest,
        changes=[ChangeOut(section=c.section, id=c.id, change=c.change) for c in published.changes],
        applied=published.changed_queues,
    )
