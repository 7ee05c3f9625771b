"""The operations behind the IVR flow editor (`/api/v1/admin/ivr`): the lines and their flow
versions, a draft checked against what the database holds (queues, lines, calendars and
prompts), its diff against the live version, and publish and rollback guarded against a stale
base: an administrator who edited version 3 while a colleague published version 4 is told so,
and nothing is overwritten.

Publishing itself is `hotline.ivr.service` (one version history, whoever publishes): this module
adds what an editor needs around it, and the audit row, written in the publish's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.audit.service import Actor
from hotline.core.errors import NotFound, StaleVersion
from hotline.core.yamlfile import unified_diff
from hotline.ivr.loader import KnownTargets, LoadedFlow, parse_flow
from hotline.ivr.models import IvrFlowVersion
from hotline.ivr.service import PublishResult, known_targets, publish_flow, rollback_flow
from hotline.lines.models import Line
from hotline.prompts.service import prompt_names


@dataclass(frozen=True, slots=True)
class LineFlows:
    """A line, the version of its flow new calls run (None: none yet) and how many it has had."""

    line: Line
    current: IvrFlowVersion | None
    versions: int


async def lines_with_flows(*, session: AsyncSession) -> list[LineFlows]:
    lines = (await session.scalars(select(Line).order_by(Line.id))).all()
    current = {
        row.line_id: row
        for row in (
            await session.scalars(select(IvrFlowVersion).where(IvrFlowVersion.is_current.is_(True)))
        ).all()
    }
    counted = await session.execute(
        select(IvrFlowVersion.line_id, func.count()).group_by(IvrFlowVersion.line_id)
    )
    counts: dict[str, int] = {row[0]: row[1] for row in counted}
    return [LineFlows(line, current.get(line.id), counts.get(line.id, 0)) for line in lines]


async def require_line(*, session: AsyncSession, line_id: str) -> Line:
    line = await session.get(Line, line_id)
    if line is None:
        raise NotFound(f"no line {line_id!r}", line_id=line_id)
    return line


async def flow_version(*, session: AsyncSession, line_id: str, version: int) -> IvrFlowVersion:
    row = await session.scalar(
        select(IvrFlowVersion).where(
            IvrFlowVersion.line_id == line_id, IvrFlowVersion.version == version
        )
    )
    if row is None:
        raise NotFound(
            f"line {line_id!r} has no IVR flow version {version}", line_id=line_id, version=version
        )
    return row


async def live_version(*, session: AsyncSession, line_id: str) -> IvrFlowVersion | None:
    row: IvrFlowVersion | None = await session.scalar(
        select(IvrFlowVersion).where(
            IvrFlowVersion.line_id == line_id, IvrFlowVersion.is_current.is_(True)
        )
    )
    return row


async def editing_targets(*, session: AsyncSession, files: Path) -> KnownTargets:
    """What a flow may name, prompts included: a draft naming a recording nobody uploaded is
    refused before it reaches a caller."""
    known = await known_targets(session=session)
    return KnownTargets(
        queues=known.queues,
        lines=known.lines,
        calendars=known.calendars,
        files=await prompt_names(session=session, files=files),
    )


async def check_draft(
    *, session: AsyncSession, line_id: str, source: str, files: Path
) -> LoadedFlow:
    """The draft, validated as a publish would (`InvalidConfiguration` lists every problem)."""
    await require_line(session=session, line_id=line_id)
    known = await editing_targets(session=session, files=files)
    return parse_flow(source, filename=f"{line_id}.yaml", known=known)


async def draft_diff(*, session: AsyncSession, line_id: str, source: str) -> tuple[str, int | None]:
    """The unified diff from the live version's text to the draft, and the live version."""
    await require_line(session=session, line_id=line_id)
    live = await live_version(session=session, line_id=line_id)
    old = live.source if live is not None else ""
    name = f"{line_id} version {live.version}" if live is not None else f"{line_id} (no flow)"
    diff = unified_diff(old, source, old_name=name, new_name=f"{line_id} draft")
    return diff, live.version if live is not None else None


async def versions_diff(*, session: AsyncSession, line_id: str, old: int, new: int) -> str:
    """The unified diff between two stored versions of a line's flow."""
    before = await flow_version(session=session, line_id=line_id, version=old)
    after = await flow_version(session=session, line_id=line_id, version=new)
    return unified_diff(
        before.source,
        after.source,
        old_name=f"{line_id} version {old}",
        new_name=f"{line_id} version {new}",
    )


async def publish_draft(
    *,
    session: AsyncSession,
    line_id: str,
    source: str,
    base_version: int | None,
    files: Path,
    actor: Actor,
    ip: str | None,
    note: str | None = None,
) -> PublishResult:
    """Publish the draft as the line's newest version, if `base_version` (the version the draft
    was made from; None for a line with no flow yet) is still the live one: else `StaleVersion`.
    Audited in the same transaction; the caller commits, then announces `result.event`."""
    await check_draft(session=session, line_id=line_id, source=source, files=files)
    await _require_base(session, line_id, base_version)
    result = await publish_flow(
        session=session,
        line_id=line_id,
        source=source,
        actor=actor.username,
        filename=f"{line_id}.yaml",
        note=note,
    )
    await _audit(session, result, actor, ip, "ivr_flow.publish", base_version)
    return result


async def rollback_to(
    *,
    session: AsyncSession,
    line_id: str,
    version: int,
    base_version: int | None,
    actor: Actor,
    ip: str | None,
    note: str | None = None,
) -> PublishResult:
    """Put an older version live again (as a new version copying it), guarded and audited as
    `publish_draft`."""
    await _require_base(session, line_id, base_version)
    result = await rollback_flow(
        session=session, line_id=line_id, version=version, actor=actor.username, note=note
    )
    await _audit(session, result, actor, ip, "ivr_flow.rollback", base_version)
    return result


async def _require_base(session: AsyncSession, line_id: str, base_version: int | None) -> None:
    """Refuse a change made to another version than the live one. The line's row is locked
    first (PostgreSQL; on SQLite the request's transaction already holds the write lock), so no
    other publish comes between this check and the new version."""
    found = await session.scalar(select(Line.id).where(Line.id == line_id).with_for_update())
    if found is None:
        raise NotFound(f"no line {line_id!r}", line_id=line_id)
    live = await live_version(session=session, line_id=line_id)
    current = live.version if live is not None else None
    if current != base_version:
        by = f" (published by {live.published_by})" if live is not None else ""
        raise StaleVersion(
            f"the IVR flow of line {line_id!r} is at version {current}{by}, not {base_version} "
            "as your draft: look at the differences, then publish again",
            line_id=line_id,
            current_version=current,
            base_version=base_version,
        )


async def _audit(
    session: AsyncSession,
    result: PublishResult,
    actor: Actor,
    ip: str | None,
    action: str,
    base_version: int | None,
) -> None:
    row = result.version
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        object_type="ivr_flow",
        object_id=row.line_id,
        ip=ip,
        details={"version": row.version, "base_version": base_version, "based_on": row.based_on},
    )
