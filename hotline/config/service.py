"""Operations on a whole hotline configuration: import it into the database (all or nothing), export
it back in the file format, and turn it into the routing engine's specs.

Import is one transaction: it either writes every record or, on any failure (a database constraint
included), leaves the database exactly as it was. Replacing an existing configuration erases it in
that same transaction, so a failed replace keeps the old one. IVR flows for the new lines (those a
template ships with) are published in that transaction too: a flow refused refuses the import. So
are the agents' scripts and forms (those that changed), and the ones the configuration no longer
holds stop being live; their version history stays, as the flows' does."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calendars.hours import WEEKDAYS, BusinessHours, Holiday
from hotline.calendars.models import Calendar, CalendarHoliday, CalendarHours
from hotline.config.schemas import CalendarConfig, HotlineConfig
from hotline.contacts.models import Contact, WrapUpCode
from hotline.core.errors import Conflict, HotlineError, InvalidConfiguration
from hotline.core.events import EventBus
from hotline.core.yamlfile import read_file
from hotline.dispatch.models import (
    District,
    FieldWorker,
    FieldWorkerCategory,
    FieldWorkerDistrict,
    FieldWorkerKind,
)
from hotline.ivr.service import PublishResult, publish_flow
from hotline.lines.models import Line
from hotline.requests.models import Request, RequestCategory, RequestCategoryKind
from hotline.routing.models import Queue, QueueOverflowRule, QueueSkill, Skill
from hotline.routing.types import (
    AgentSkill,
    OverflowAction,
    OverflowRule,
    QueueSpec,
    SkillRequirement,
    Strategy,
)
from hotline.scripts import service as script_service
from hotline.scripts.models import ContactForm, ContactScript, FormVersion, ScriptVersion
from hotline.users import models as users
from hotline.users.models import Role
from hotline.users.passwords import (
    DEFAULT_COST,
    PasswordCost,
    generate_password,
    hash_password,
)
from hotline.users.sip import create_sip_accounts

# Rows `replace=True` erases, children before parents. Deleting a contact takes its event log with
# it (ON DELETE CASCADE); roles are reference data seeded by the migrations and stay.
_ERASE_ORDER: tuple[Any, ...] = (
    Request,  # its event log goes with it, like a contact's
    ContactForm,
    ContactScript,
    Contact,
    FieldWorkerCategory,
    FieldWorkerDistrict,
    FieldWorker,
    users.AgentStateRecord,
    users.user_roles,
    users.AgentSkill,
    users.SipCredential,
    users.User,
    Line,
    QueueOverflowRule,
    QueueSkill,
    Queue,
    CalendarHours,
    CalendarHoliday,
    Calendar,
    Skill,
    WrapUpCode,
    RequestCategoryKind,
    RequestCategory,
    District,
    FieldWorkerKind,
)

# Roles whose holders answer contacts, and so are agents to the router.
ANSWERING_ROLES = frozenset({Role.AGENT, Role.DEPARTMENT_SPECIALIST})


@dataclass(frozen=True, slots=True)
class LineFlow:
    """An IVR flow to publish for one of the configuration's lines, as part of its import."""

    line_id: str
    source: str
    filename: str
    actor: str
    note: str | None = None

    @classmethod
    def from_file(
        cls, line_id: str, path: Path, *, actor: str, note: str | None = None
    ) -> LineFlow:
        """The flow in `path` (`InvalidConfiguration` when it cannot be read)."""
        return cls(line_id, read_file(path), str(path), actor, note)


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote, the sign-in and SIP passwords it generated (shown once, never
    stored), and the IVR flow versions it published."""

    counts: dict[str, int]
    passwords: dict[str, str] = field(default_factory=dict)
    flows: list[PublishResult] = field(default_factory=list)
    sip_passwords: dict[str, str] = field(default_factory=dict)
    scripts_and_forms: script_service.Synced = field(
        default_factory=lambda: script_service.Synced([], [])
    )


class RoutingSpecs(NamedTuple):
    """A configuration in the routing engine's terms. Agents are keyed by username."""

    queues: dict[str, QueueSpec]
    agents: dict[str, dict[str, AgentSkill]]
    calendars: dict[str, BusinessHours]


async def configuration_counts(*, session: AsyncSession) -> dict[str, int]:
    """How many records of each kind the database holds (all zero: nothing configured yet)."""
    counts: dict[str, int] = {}
    for name, model in (
        ("skills", Skill),
        ("calendars", Calendar),
        ("queues", Queue),
        ("lines", Line),
        ("wrap_up_codes", WrapUpCode),
        ("field_worker_kinds", FieldWorkerKind),
        ("districts", District),
        ("request_categories", RequestCategory),
        ("users", users.User),
    ):
        counts[name] = (await session.execute(select(func.count()).select_from(model))).scalar_one()
    for name, versions in (("scripts", ScriptVersion), ("forms", FormVersion)):
        live = select(func.count()).select_from(versions).where(versions.is_current.is_(True))
        counts[name] = (await session.execute(live)).scalar_one()
    return counts


async def import_config(
    *,
    session: AsyncSession,
    config: HotlineConfig,
    replace: bool = False,
    passwords: Mapping[str, str] | None = None,
    password_cost: PasswordCost = DEFAULT_COST,
    flows: Sequence[LineFlow] = (),
    bus: EventBus | None = None,
    sip_realm: str | None = None,
    actor: str = "hotline init",
) -> ImportSummary:
    """Write `config` into an empty database, or over the current one with `replace` (which
    erases configuration, users and contacts first). Users get the given `passwords`, or generated
    ones, returned in the summary. Then each of `flows` is published for its line (as the line's
    newest version: flow history outlives a replace); a refused flow fails the whole import.
    One transaction: a savepoint if the session is already in one (the caller then commits and
    publishes the summary's `flows[i].event`), otherwise its own, committed here, after which the
    flows' events go to `bus`. With `sip_realm`, every active user who answers contacts also gets
    a SIP account for their phones (a generated password, returned in `sip_passwords`). The
    configuration's scripts and forms are published by `actor` (those that changed), and the
    live ones it does not hold retired."""
    owns_transaction = not session.in_transaction()
    if not replace:
        # Refuse early, before the slow password hashing; checked again inside the transaction.
        await _refuse_if_configured(session)
        if owns_transaction:
            await session.rollback()  # end the read-only transaction the check began
    given = passwords or {}
    chosen = {u.username: given.get(u.username) or generate_password() for u in config.users}
    hashes = await _hash_all(chosen, password_cost)
    async with session.begin() if owns_transaction else session.begin_nested():
        if replace:
            await _erase(session)
        else:
            await _refuse_if_configured(session)
        await _write(session, config, hashes)
        await session.flush()
        sip_passwords: dict[str, str] = {}
        if sip_realm is not None:
            answering = [
                u.username
                for u in config.users
                if u.active and ANSWERING_ROLES.intersection(u.roles)
            ]
            rows = (
                await session.scalars(
                    select(users.User)
                    .where(users.User.username.in_(answering))
                    .order_by(users.User.username)
                )
            ).all()
            sip_passwords = await create_sip_accounts(session=session, users=rows, realm=sip_realm)
        published = [await _publish(session, flow) for flow in flows]
        synced = await script_service.sync_configured(
            session=session, scripts=config.scripts, forms=config.forms, actor=actor
        )
        counts = await configuration_counts(session=session)
    if owns_transaction and bus is not None:
        for result in published:
            await bus.publish(result.event)
    generated = {name: pw for name, pw in chosen.items() if name not in given}
    return ImportSummary(
        counts=counts,
        passwords=generated,
        flows=published,
        sip_passwords=sip_passwords,
        scripts_and_forms=synced,
    )


async def export_config(*, session: AsyncSession) -> HotlineConfig:
    """The database's configuration in the file format (without passwords). Records come sorted by
    id, and opening ranges are grouped by their times, so an export is canonical."""
    data: dict[str, Any] = {"version": 1}
    skills = (await session.scalars(select(Skill).order_by(Skill.id))).all()
    data["skills"] = [{"id": s.id, "name": s.name, "kind": s.kind} for s in skills]
    calendars = (await session.scalars(select(Calendar).order_by(Calendar.id))).all()
    data["calendars"] = [_export_calendar(c) for c in calendars]
    queues = (await session.scalars(select(Queue).order_by(Queue.id))).all()
    data["queues"] = [_export_queue(q) for q in queues]
    lines = (await session.scalars(select(Line).order_by(Line.id))).all()
    data["lines"] = [
        _without_none(
            {
                "id": line.id,
                "name": line.name,
                "number": line.number,
                "kind": line.kind,
                "department": line.department,
                "queue": line.queue_id,
                "hours": line.calendar_id,
                "closed_message": line.closed_message,
            }
        )
        for line in lines
    ]
    codes = (await session.scalars(select(WrapUpCode).order_by(WrapUpCode.id))).all()
    data["wrap_up_codes"] = [
        _without_none({"id": c.id, "name": c.name, "description": c.description}) for c in codes
    ]
    kinds = (
        await session.scalars(select(FieldWorkerKind).order_by(FieldWorkerKind.position))
    ).all()
    data["field_worker_kinds"] = [{"id": k.id, "name": _names(k)} for k in kinds]
    districts = (await session.scalars(select(District).order_by(District.position))).all()
    data["districts"] = [
        {"id": d.id, "name": _names(d), "postcodes": d.postcodes, "streets": d.streets}
        for d in districts
    ]
    categories = (
        await session.scalars(select(RequestCategory).order_by(RequestCategory.position))
    ).all()
    data["request_categories"] = [
        {
            "id": c.id,
            "name": _names(c),
            "sla_hours": c.sla_hours,
            "accept_minutes": c.accept_minutes,
            "fulfilled_by": c.kind_ids,
            "information_only": c.information_only,
            "form": c.form,
        }
        for c in categories
    ]
    workers = {w.user_id: w for w in (await session.scalars(select(FieldWorker))).all()}
    people = (await session.scalars(select(users.User).order_by(users.User.username))).all()
    data["users"] = [
        _without_none(
            {
                "username": u.username,
                "name": u.name,
                "roles": u.role_names,
                "skills": [
                    {"skill": s.skill_id, "level": s.level, "preference": s.preference}
                    for s in u.skills
                ],
                "department": u.department,
                "active": u.active,
                "field_worker": _export_field_worker(workers[u.id]) if u.id in workers else None,
            }
        )
        for u in people
    ]
    data["scripts"] = [
        s.model_dump(mode="json", exclude_none=True)
        for s in await script_service.configured_scripts(session=session)
    ]
    data["forms"] = [
        f.model_dump(mode="json") for f in await script_service.configured_forms(session=session)
    ]
    return HotlineConfig.model_validate(data)


def to_routing_specs(config: HotlineConfig) -> RoutingSpecs:
    """The routing engine's specs for a validated configuration: queues (with their business
    hours), every active user who answers contacts with their skills, and the calendars."""
    calendars = {c.id: business_hours(c) for c in config.calendars}
    topics = {s.id: s.name for s in config.skills if s.kind == "topic"}
    queues: dict[str, QueueSpec] = {}
    for queue in config.queues:
        topic = next((s.skill for s in queue.skills if s.skill in topics), None)
        queues[queue.id] = QueueSpec(
            id=queue.id,
            skills=tuple(SkillRequirement(s.skill, s.min_level) for s in queue.skills),
            strategy=Strategy(queue.strategy),
            priority=queue.priority,
            wrap_up_seconds=queue.wrap_up_seconds,
            offer_timeout_seconds=queue.offer_timeout_seconds,
            sl_target_seconds=queue.sl_target_seconds,
            overflow=tuple(
                OverflowRule(
                    after=rule.after,
                    action=OverflowAction(rule.action),
                    skills=tuple(SkillRequirement(s.skill, s.min_level) for s in rule.skills),
                    queue=rule.queue,
                    message=rule.message,
                )
                for rule in sorted(queue.overflow, key=lambda r: r.after)
            ),
            hours=calendars[queue.hours] if queue.hours is not None else None,
            closed_message=queue.closed_message,
            topic=topic,
            topic_name=topics.get(topic) if topic is not None else None,
        )
    agents = {
        user.username: {
            s.skill: AgentSkill(s.skill, level=s.level, preference=s.preference)
            for s in user.skills
        }
        for user in config.users
        if user.active and ANSWERING_ROLES.intersection(user.roles)
    }
    return RoutingSpecs(queues=queues, agents=agents, calendars=calendars)


def business_hours(calendar: CalendarConfig) -> BusinessHours:
    """The pure business-hours object for a configured calendar."""
    weekly: dict[int, list[tuple[int, int]]] = {}
    for hours in calendar.hours:
        for day in hours.days:
            weekly.setdefault(day, []).append((hours.open, hours.close))
    holidays = [
        Holiday(year=h.date[0], month=h.date[1], day=h.date[2], name=h.name)
        for h in calendar.holidays
    ]
    return BusinessHours(timezone=calendar.timezone, weekly=weekly, holidays=holidays)


# ---- import ----


async def _refuse_if_configured(session: AsyncSession) -> None:
    counts = await configuration_counts(session=session)
    if any(counts.values()):
        held = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if n)
        raise Conflict(
            f"the database already holds a hotline configuration ({held}); "
            "use --force to replace it (this erases its configuration, users and contacts)",
            counts=counts,
        )


async def _publish(session: AsyncSession, flow: LineFlow) -> PublishResult:
    try:
        return await publish_flow(
            session=session,
            line_id=flow.line_id,
            source=flow.source,
            actor=flow.actor,
            filename=flow.filename,
            note=flow.note,
        )
    except HotlineError as exc:
        # Same kind of error, saying what was refused and that the import went with it.
        raise type(exc)(
            f"the IVR flow {flow.filename} for line {flow.line_id!r} was refused, so nothing was "
            f"imported:\n{exc.message}",
            **{**exc.details, "line_id": flow.line_id, "flow": flow.filename},
        ) from exc


async def _hash_all(passwords: Mapping[str, str], cost: PasswordCost) -> dict[str, str]:
    # Hashing is deliberately slow CPU work: run it in threads so the event loop is not blocked
    # (argon2 and scrypt release the GIL, so idle cores share the work). Done before the
    # transaction opens, so the database's write lock is held only for the writes.
    names = list(passwords)
    hashes = await asyncio.gather(
        *(asyncio.to_thread(hash_password, passwords[name], cost=cost) for name in names)
    )
    return dict(zip(names, hashes, strict=True))


async def _erase(session: AsyncSession) -> None:
    for target in _ERASE_ORDER:
        table = getattr(target, "__table__", target)
        await session.execute(delete(table))


async def _write(session: AsyncSession, config: HotlineConfig, hashes: Mapping[str, str]) -> None:
    for skill in config.skills:
        session.add(Skill(id=skill.id, name=skill.name, kind=skill.kind))
    for calendar in config.calendars:
        session.add(
            Calendar(
                id=calendar.id,
                name=calendar.name,
                timezone=calendar.timezone,
                hours=[
                    CalendarHours(weekday=day, opens=hours.open, closes=hours.close)
                    for hours in calendar.hours
                    for day in hours.days
                ],
                holidays=[
                    CalendarHoliday(year=h.date[0], month=h.date[1], day=h.date[2], name=h.name)
                    for h in calendar.holidays
                ],
            )
        )
    for queue in config.queues:
        session.add(
            Queue(
                id=queue.id,
                name=queue.name,
                strategy=queue.strategy.value,
                priority=queue.priority,
                wrap_up_seconds=queue.wrap_up_seconds,
                offer_timeout_seconds=queue.offer_timeout_seconds,
                sl_target_seconds=queue.sl_target_seconds,
                calendar_id=queue.hours,
                closed_message=queue.closed_message,
                record=queue.record,
                skills=[
                    QueueSkill(skill_id=s.skill, min_level=s.min_level, position=position)
                    for position, s in enumerate(queue.skills)
                ],
                overflow=[
                    QueueOverflowRule(
                        after_seconds=rule.after,
                        action=rule.action.value,
                        target_queue_id=rule.queue,
                        message=rule.message,
                        skills=[s.model_dump() for s in rule.skills],
                    )
                    for rule in queue.overflow
                ],
            )
        )
    # Lines and agent skills point at queues, calendars and skills by plain foreign keys, which
    # the unit of work does not order by: write those first.
    await session.flush()
    for line in config.lines:
        session.add(
            Line(
                id=line.id,
                name=line.name,
                number=line.number,
                kind=line.kind,
                department=line.department,
                queue_id=line.queue,
                calendar_id=line.hours,
                closed_message=line.closed_message,
            )
        )
    for code in config.wrap_up_codes:
        session.add(WrapUpCode(id=code.id, name=code.name, description=code.description))
    _write_dispatch(session, config)
    await session.flush()
    roles = {r.id: r for r in (await session.scalars(select(users.RoleRecord))).all()}
    missing = {role.value for user in config.users for role in user.roles} - set(roles)
    if missing:
        raise InvalidConfiguration(
            f"roles {sorted(missing)} are not in the database; run `hotline db upgrade`",
            roles=sorted(missing),
        )
    for user in config.users:
        row = users.User(
            username=user.username,
            name=user.name,
            password_hash=hashes[user.username],
            department=user.department,
            active=user.active,
            roles=[roles[role.value] for role in user.roles],
            skills=[
                users.AgentSkill(skill_id=s.skill, level=s.level, preference=s.preference)
                for s in user.skills
            ],
        )
        session.add(row)
        if user.field_worker is not None:
            await session.flush()  # the user's id, for the profile's key
            profile = user.field_worker
            session.add(
                FieldWorker(
                    user_id=row.id,
                    kind_id=profile.kind,
                    capacity=profile.capacity,
                    available=profile.available,
                    districts=[
                        FieldWorkerDistrict(district_id=d, position=n)
                        for n, d in enumerate(profile.districts)
                    ],
                    categories=[
                        FieldWorkerCategory(category_id=c, position=n)
                        for n, c in enumerate(profile.categories)
                    ],
                )
            )


def _write_dispatch(session: AsyncSession, config: HotlineConfig) -> None:
    """Field worker kinds, districts and request categories (with the kinds that fulfil them)."""
    for n, kind in enumerate(config.field_worker_kinds):
        session.add(
            FieldWorkerKind(id=kind.id, name_en=kind.name.en, name_ru=kind.name.ru, position=n)
        )
    for n, district in enumerate(config.districts):
        session.add(
            District(
                id=district.id,
                name_en=district.name.en,
                name_ru=district.name.ru,
                postcodes=list(district.postcodes),
                streets=list(district.streets),
                position=n,
            )
        )
    for n, category in enumerate(config.request_categories):
        session.add(
            RequestCategory(
                id=category.id,
                name_en=category.name.en,
                name_ru=category.name.ru,
                sla_hours=category.sla_hours,
                accept_minutes=category.accept_minutes,
                information_only=category.information_only,
                form=category.form,
                position=n,
                kinds=[
                    RequestCategoryKind(kind_id=kind, position=k)
                    for k, kind in enumerate(category.fulfilled_by)
                ],
            )
        )


# ---- export ----


def _export_calendar(calendar: Calendar) -> dict[str, Any]:
    days_by_range: dict[tuple[int, int], list[int]] = {}
    for row in calendar.hours:
        days_by_range.setdefault((row.opens, row.closes), []).append(row.weekday)
    hours = [
        {"days": [WEEKDAYS[d] for d in sorted(days)], "open": _hhmm(opens), "close": _hhmm(closes)}
        for (opens, closes), days in sorted(days_by_range.items(), key=lambda kv: (kv[1], kv[0]))
    ]
    holidays = [
        {
            "date": f"{h.month:02d}-{h.day:02d}"
            if h.year is None
            else f"{h.year:04d}-{h.month:02d}-{h.day:02d}",
            "name": h.name,
        }
        for h in sorted(calendar.holidays, key=lambda h: (h.month, h.day, h.year or 0))
    ]
    return {
        "id": calendar.id,
        "name": calendar.name,
        "timezone": calendar.timezone,
        "hours": hours,
        "holidays": holidays,
    }


def _export_queue(queue: Queue) -> dict[str, Any]:
    return _without_none(
        {
            "id": queue.id,
            "name": queue.name,
            "skills": [{"skill": s.skill_id, "min_level": s.min_level} for s in queue.skills],
            "strategy": queue.strategy,
            "priority": queue.priority,
            "wrap_up_seconds": queue.wrap_up_seconds,
            "offer_timeout_seconds": queue.offer_timeout_seconds,
            "sl_target_seconds": queue.sl_target_seconds,
            "overflow": [
                _without_none(
                    {
                        "after": rule.after_seconds,
                        "action": rule.action,
                        "skills": rule.skills or None,
                        "queue": rule.target_queue_id,
                        "message": rule.message,
                    }
                )
                for rule in queue.overflow
            ],
            "hours": queue.calendar_id,
            "closed_message": queue.closed_message,
            "record": True if queue.record else None,  # the default stays out of exports
        }
    )


def _names(record: FieldWorkerKind | District | RequestCategory) -> dict[str, str]:
    return {"en": record.name_en, "ru": record.name_ru}


def _export_field_worker(worker: FieldWorker) -> dict[str, Any]:
    return {
        "kind": worker.kind_id,
        "districts": [d.district_id for d in worker.districts],
        "categories": [c.category_id for c in worker.categories],
        "capacity": worker.capacity,
        "available": worker.available,
    }


def _without_none(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if value is not None}


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
