"""Publishing the live configuration while Hotline runs: queues, skills, business hours and
holidays, wrap-up codes and agents' skill levels, edited as one YAML document in the
administration pages, checked, compared with what is live, published and rolled back.

Why a document of its own rather than the whole configuration file: the file also holds lines,
users and dispatch data, which `hotline init` loads into an empty database (or erases and
replaces, contacts included). A publish must change what it changes and nothing else, in place,
while calls are in progress; so it covers the records the router and the call path read, and
it keeps their ids (history and reports point at them).

A publish, in one transaction (the caller's):
1. takes the configuration's turn (an advisory lock on PostgreSQL; SQLite's write lock is held
   by the request's transaction already) and refuses a draft made from an older version than
   the live one (`StaleVersion`), or from a configuration changed since by other means (a
   supervisor's skill change): nothing is overwritten that the author has not seen;
2. checks the draft as a file (every problem with its line) and against the database: agents
   exist; a removed queue, calendar, skill or wrap-up code must not be used by a line, a live IVR
   flow, an agent the draft leaves alone, or the contacts' history;
3. writes the changed records in place and keeps the version (the text as written, the digest
   of the configuration after it); an audit row goes with it.

After the commit, `apply_live` hands the changed queues (with their business hours) and agents'
skills to the running router, and the call path re-reads its calendars on the router's event:
the next contact is routed by them, with no restart."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.audit.service import Actor
from hotline.calendars.models import Calendar, CalendarHoliday, CalendarHours
from hotline.config.loader import check_across, record_fields
from hotline.config.models import ConfigVersion
from hotline.config.schemas import (
    AgentSkillConfig,
    CalendarConfig,
    HotlineConfig,
    Key,
    QueueConfig,
    Record,
    SkillConfig,
    WrapUpCodeConfig,
)
from hotline.config.service import ANSWERING_ROLES, export_config, to_routing_specs
from hotline.contacts.models import Contact, WrapUpCode
from hotline.core.errors import NotFound, StaleVersion
from hotline.core.yamlfile import (
    Loc,
    Report,
    did_you_mean,
    error_message,
    read_yaml,
    unified_diff,
)
from hotline.ivr.models import IvrFlowVersion
from hotline.ivr.schemas import Flow
from hotline.lines.models import Line
from hotline.routing.models import Queue, QueueOverflowRule, QueueSkill, Skill
from hotline.routing.service import RoutingService
from hotline.routing.types import AgentSkill, QueueSpec
from hotline.users import models as users

FILENAME = "configuration.yaml"
SYSTEM = "hotline"
"""Who a version recorded for a change made by other means is published by."""

HEADER = """\
# Hotline's live configuration: skills, business hours (calendars), queues, wrap-up codes and
# agents' skill levels. Publishing applies it to the running router at once: the next contact is
# routed by it. Lines and users are changed elsewhere; agents left out keep their skills.
"""


class AgentSkillsConfig(Record):
    """An agent's skills (levels 1..10, preference: lower is served first)."""

    username: Key
    skills: list[AgentSkillConfig] = []


class LiveConfig(Record):
    """The live configuration document."""

    version: Literal[1] = 1
    skills: list[SkillConfig] = []
    calendars: list[CalendarConfig] = []
    queues: list[QueueConfig] = []
    wrap_up_codes: list[WrapUpCodeConfig] = []
    agents: list[AgentSkillsConfig] = []

    def hotline(self) -> HotlineConfig:
        """The same records as a (partial) hotline configuration, for the routing specs."""
        return HotlineConfig(
            skills=self.skills,
            calendars=self.calendars,
            queues=self.queues,
            wrap_up_codes=self.wrap_up_codes,
        )


SECTIONS: tuple[tuple[str, str], ...] = (
    ("skills", "id"),
    ("calendars", "id"),
    ("queues", "id"),
    ("wrap_up_codes", "id"),
    ("agents", "username"),
)
"""Each section of the document and the field its records are known by."""


@dataclass(frozen=True, slots=True)
class Change:
    section: str
    id: str
    change: Literal["added", "changed", "removed"]


@dataclass(frozen=True, slots=True)
class LiveNow:
    """The configuration as it is live: its text (the last version's own, comments included,
    while nothing changed it since; else as exported), its digest and its version (0: never
    published here)."""

    config: LiveConfig
    yaml: str
    digest: str
    version: int
    latest: ConfigVersion | None


@dataclass
class Published:
    """What a publish did, and what `apply_live` hands the running router."""

    version: ConfigVersion
    changes: list[Change]
    specs: dict[str, QueueSpec]
    names: dict[str, str]
    changed_queues: list[str]
    removed_queues: list[str]
    agent_skills: dict[str, list[AgentSkill]] = field(default_factory=dict)  # by user id


# ---------------------------------------------------------------------------- reading


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as people write them; times such as 08:00 quoted, as the
    configuration files write them (unquoted, a YAML 1.1 reader takes some for numbers)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "'" if re.fullmatch(r"\d{1,2}:\d{2}", value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render(config: LiveConfig) -> str:
    """The document as YAML: sections in a fixed order, records sorted by id, defaults left out,
    short lists inline. Two equal configurations render to the same text (the digest's input)."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    body = {"version": 1, **{name: data[name] for name, _ in SECTIONS if data.get(name)}}
    return HEADER + yaml.dump(
        body,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=100,
    )


def digest_of(config: LiveConfig) -> str:
    return hashlib.sha256(render(config).encode("utf-8")).hexdigest()


async def export_live(*, session: AsyncSession) -> LiveConfig:
    """The live configuration from the database: the records the router reads, and the skills
    of every user who answers contacts (or has skills)."""
    full = await export_config(session=session)
    agents = [
        AgentSkillsConfig(username=u.username, skills=list(u.skills))
        for u in full.users
        if u.skills or ANSWERING_ROLES.intersection(u.roles)
    ]
    return LiveConfig(
        skills=full.skills,
        calendars=full.calendars,
        queues=full.queues,
        wrap_up_codes=full.wrap_up_codes,
        agents=agents,
    )


async def live_now(*, session: AsyncSession) -> LiveNow:
    config = await export_live(session=session)
    digest = digest_of(config)
    latest = await session.scalar(
        select(ConfigVersion).order_by(ConfigVersion.version.desc()).limit(1)
    )
    text_ = latest.source if latest is not None and latest.digest == digest else render(config)
    return LiveNow(config, text_, digest, latest.version if latest is not None else 0, latest)


async def versions(*, session: AsyncSession) -> list[ConfigVersion]:
    """Every version, newest first."""
    rows = await session.scalars(select(ConfigVersion).order_by(ConfigVersion.version.desc()))
    return list(rows.all())


async def get_version(*, session: AsyncSession, version: int) -> ConfigVersion:
    row = await session.get(ConfigVersion, version)
    if row is None:
        raise NotFound(f"no configuration version {version}", version=version)
    return row


def parse_live(source: str, *, filename: str = FILENAME) -> LiveConfig:
    """Validate the document's text on its own; `InvalidConfiguration` lists every problem with
    its line."""
    config, _, report = _read(source, filename)
    if report.problems or config is None:
        raise report.error()
    return config


def _read(source: str, filename: str) -> tuple[LiveConfig | None, dict[str, Any], Report]:
    """The document checked on its own: the configuration (None if it has problems), its raw
    data (for checks that go on despite them) and the report of its problems."""
    document = read_yaml(source, filename=filename)
    report = Report(filename, document.lines, document.problems)
    data = document.data
    if not isinstance(data, dict):
        report.add((), "expected a mapping with sections such as skills, queues and agents")
        return None, {}, report
    config: LiveConfig | None = None
    try:
        config = LiveConfig.model_validate(data)
    except ValidationError as exc:
        report.add_pydantic(exc, _describe)
    check_across(report, {k: v for k, v in data.items() if k != "agents"})
    _check_agents(report, data)
    return config, data, report


async def check_draft(
    *, session: AsyncSession, source: str, filename: str = FILENAME
) -> tuple[LiveConfig, LiveConfig]:
    """The draft, validated on its own and against the database, every problem at once: (live
    now, draft)."""
    draft, data, report = _read(source, filename)
    current = await export_live(session=session)
    await _check_against_database(session, report, current, data)
    if report.problems or draft is None:
        raise report.error()
    return current, draft


def changes_between(old: LiveConfig, new: LiveConfig) -> list[Change]:
    """Which records a publish of `new` over `old` adds, changes and removes."""
    found: list[Change] = []
    for section, key in SECTIONS:
        before = {getattr(r, key): r for r in getattr(old, section)}
        after = {getattr(r, key): r for r in getattr(new, section)}
        for ident, record in after.items():
            if ident not in before:
                found.append(Change(section, ident, "added"))
            elif before[ident] != record:
                found.append(Change(section, ident, "changed"))
        if section != "agents":  # an agent left out keeps their skills
            found.extend(Change(section, i, "removed") for i in before if i not in after)
    return found


def draft_diff(live: LiveNow, source: str) -> str:
    return unified_diff(
        live.yaml,
        source,
        old_name=f"configuration version {live.version}" if live.version else "configuration",
        new_name="draft",
    )


# ---------------------------------------------------------------------------- publishing


async def publish(
    *,
    session: AsyncSession,
    source: str,
    base_version: int,
    base_digest: str | None,
    actor: Actor,
    ip: str | None,
    note: str | None = None,
    based_on: int | None = None,
    action: str = "config.publish",
) -> Published:
    """Publish the document `source` over the live configuration (see the module docstring).
    The caller commits, then calls `apply_live`."""
    await _take_turn(session)
    live = await live_now(session=session)
    if base_version != live.version or (base_digest is not None and base_digest != live.digest):
        changed = base_version == live.version
        raise StaleVersion(
            "the configuration was changed by other means (a supervisor's skill change, an "
            "import) since you loaded it"
            if changed
            else f"the configuration is at version {live.version}, not {base_version} as your "
            "draft",
            current_version=live.version,
            base_version=base_version,
        )
    current, draft = await check_draft(session=session, source=source)
    number = live.version
    if live.latest is None or live.latest.digest != live.digest:
        # Keep what was live before this publish, so that it can be rolled back to.
        number += 1
        session.add(
            ConfigVersion(
                version=number,
                source=live.yaml,
                digest=live.digest,
                published_by=SYSTEM,
                note="as found: before the first publish"
                if live.latest is None
                else "as found: changed by other means since the last publish",
            )
        )
    changes = changes_between(current, draft)
    agent_ids = await _write(session, current, draft, changes)
    session.expire_all()  # the rows changed beneath the ORM's copies
    after = await export_live(session=session)
    row = ConfigVersion(
        version=number + 1,
        source=source,
        digest=digest_of(after),
        published_by=actor.username,
        based_on=based_on,
        note=note,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        object_type="configuration",
        object_id=str(row.version),
        ip=ip,
        details={
            "version": row.version,
            "base_version": base_version,
            "based_on": based_on,
            "changes": [{"section": c.section, "id": c.id, "change": c.change} for c in changes],
        },
    )
    return _published(row, changes, after, agent_ids)


async def rollback(
    *,
    session: AsyncSession,
    version: int,
    base_version: int,
    base_digest: str | None,
    actor: Actor,
    ip: str | None,
    note: str | None = None,
) -> Published:
    """Publish an older version's text again, as a new version copying it (checked against the
    database as it is now)."""
    old = await get_version(session=session, version=version)
    return await publish(
        session=session,
        source=old.source,
        base_version=base_version,
        base_digest=base_digest,
        actor=actor,
        ip=ip,
        note=note,
        based_on=version,
        action="config.rollback",
    )


async def apply_live(
    published: Published,
    *,
    routing: RoutingService,
    specs: MutableMapping[str, QueueSpec],
    names: MutableMapping[str, str],
) -> None:
    """Hand a committed publish to the running parts: the router takes the changed queues (with
    their business hours; contacts waiting in them are matched anew) and agents' skills at once,
    and the maps the API and the wallboard read queues from are updated in place. A removed queue
    leaves the maps; the router keeps its empty shell until the next start (nothing can send a
    contact to it: no line, live flow or overflow rule names it)."""
    for queue_id in published.removed_queues:
        specs.pop(queue_id, None)
        names.pop(queue_id, None)
    for queue_id, spec in published.specs.items():
        specs[queue_id] = spec
    names.update(published.names)
    await routing.configure_queues(
        [published.specs[q] for q in published.changed_queues],
        removed=published.removed_queues,
    )
    for user_id, skills in published.agent_skills.items():
        await routing.set_skills(user_id, skills)


# ---------------------------------------------------------------------------- checks


def _describe(error: ErrorDetails) -> tuple[Loc, str]:
    path = tuple(error["loc"])
    return path, error_message(error["type"], error["msg"], path, _fields_at)


def _fields_at(path: Loc) -> list[str]:
    """The field names of the record at `path`: the document's own sections are the file's,
    but for the document itself and its agents."""
    names = [part for part in path if isinstance(part, str)]
    if not names:
        return list(LiveConfig.model_fields)
    if names[0] != "agents":
        return record_fields(path)
    return list(AgentSkillConfig.model_fields if names[1:] else AgentSkillsConfig.model_fields)


def _check_agents(report: Report, data: dict[str, Any]) -> None:
    """Each agent once, each skill of theirs once and declared in `skills`."""
    agents = data.get("agents")
    raw_skills = data.get("skills")
    declared = {
        s["id"]
        for s in (raw_skills if isinstance(raw_skills, list) else [])
        if isinstance(s, dict) and isinstance(s.get("id"), str)
    }
    seen: dict[str, int] = {}
    for index, agent in enumerate(agents if isinstance(agents, list) else []):
        if not isinstance(agent, dict):
            continue
        name = agent.get("username")
        if isinstance(name, str):
            if name in seen:
                report.add(
                    ("agents", index, "username"),
                    f"agent {name!r} listed twice (first at agents[{seen[name]}])",
                )
            seen.setdefault(name, index)
        skills = agent.get("skills")
        listed: set[str] = set()
        for position, entry in enumerate(skills if isinstance(skills, list) else []):
            skill = entry.get("skill") if isinstance(entry, dict) else None
            if not isinstance(skill, str):
                continue
            where = ("agents", index, "skills", position, "skill")
            if skill not in declared:
                report.add(where, f"unknown skill {skill!r}{did_you_mean(skill, declared)}")
            if skill in listed:
                report.add(where, f"skill {skill!r} listed twice")
            listed.add(skill)


async def _check_against_database(
    session: AsyncSession, report: Report, current: LiveConfig, data: dict[str, Any]
) -> None:
    """What the document alone cannot say: the agents exist, and nothing removed is in use.
    Read from the raw data, so that these are reported with the document's own problems."""

    def keys(section: str, key: str = "id") -> list[str | None]:
        items = data.get(section)
        return [
            item.get(key) if isinstance(item, dict) and isinstance(item.get(key), str) else None
            for item in (items if isinstance(items, list) else [])
        ]

    usernames = keys("agents", "username")
    known = set(
        (
            await session.scalars(
                select(users.User.username).where(
                    users.User.username.in_([u for u in usernames if u is not None])
                )
            )
        ).all()
    )
    for index, username in enumerate(usernames):
        if username is not None and username not in known:
            report.add(("agents", index, "username"), f"no user {username!r}")

    def removed(section: str) -> list[str]:
        after = set(keys(section))
        return [r.id for r in getattr(current, section) if r.id not in after]

    flows = [
        (line_id, Flow.model_validate(definition))
        for line_id, definition in (
            await session.execute(
                select(IvrFlowVersion.line_id, IvrFlowVersion.definition).where(
                    IvrFlowVersion.is_current.is_(True)
                )
            )
        ).all()
    ]
    lines = (await session.scalars(select(Line).order_by(Line.id))).all()
    named: tuple[tuple[str, Literal["queue", "calendar"], str], ...] = (
        ("queues", "queue", "queue_id"),
        ("calendars", "calendar", "calendar_id"),
    )
    for section, what, column in named:
        for ident in removed(section):
            users_of = [f"line {line.id!r}" for line in lines if getattr(line, column) == ident]
            users_of += [
                f"the live IVR flow of line {line_id!r}"
                for line_id, flow in flows
                if ident in flow.referenced(what)
            ]
            contacts = await _count(session, Contact.queue_id == ident) if what == "queue" else 0
            if contacts:
                users_of.append(f"{contacts} contact(s) in its history (reports need it)")
            _in_use(report, section, what, ident, users_of)
    for code in removed("wrap_up_codes"):
        contacts = await _count(session, Contact.wrap_up_code_id == code)
        found = [f"{contacts} contact(s) in its history"] if contacts else []
        _in_use(report, "wrap_up_codes", "wrap-up code", code, found)
    gone = removed("skills")
    if gone:
        listed = set(usernames)
        held = (
            await session.execute(
                select(users.AgentSkill.skill_id, users.User.username)
                .join(users.User, users.User.id == users.AgentSkill.user_id)
                .where(users.AgentSkill.skill_id.in_(gone))
                .order_by(users.User.username)
            )
        ).all()
        for skill in gone:
            holders = [f"agent {u!r}" for s, u in held if s == skill and u not in listed]
            _in_use(report, "skills", "skill", skill, holders)


def _in_use(report: Report, section: str, what: str, ident: str, users_of: Sequence[str]) -> None:
    if users_of:
        report.add(
            (section,),
            f"{what} {ident!r} cannot be removed: used by {', '.join(users_of)}",
        )


async def _count(session: AsyncSession, condition: Any) -> int:
    found = await session.scalar(select(func.count()).select_from(Contact).where(condition))
    return int(found or 0)


# ---------------------------------------------------------------------------- writing


async def _take_turn(session: AsyncSession) -> None:
    """One configuration publish at a time. PostgreSQL: a transaction-scoped advisory lock (a
    second publish waits here, then sees the first one's version). SQLite: the request's
    transaction holds the database's write lock already (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('config_versions', 0))")
        )


async def _write(
    session: AsyncSession, current: LiveConfig, draft: LiveConfig, changes: Iterable[Change]
) -> dict[str, list[AgentSkill]]:
    """Write the changes in place: additions and changes first (a queue may name a new calendar),
    overflow rules once every queue exists, removals last (children before what they name).
    Returns the changed agents' skills by user id."""
    todo: dict[tuple[str, str], str] = {(c.section, c.id): c.change for c in changes}

    def wanted(section: str) -> list[Any]:
        key = "username" if section == "agents" else "id"
        return [
            r for r in getattr(draft, section) if todo.get((section, getattr(r, key))) is not None
        ]

    for skill in wanted("skills"):
        values = {"name": skill.name, "kind": skill.kind}
        await _upsert(session, Skill, Skill.id, skill.id, todo[("skills", skill.id)], values)
    for calendar in wanted("calendars"):
        await _write_calendar(session, calendar, todo[("calendars", calendar.id)])
    queues: list[QueueConfig] = wanted("queues")
    for queue in queues:
        await _write_queue(session, queue, todo[("queues", queue.id)])
    rules = [
        {
            "queue_id": queue.id,
            "after_seconds": rule.after,
            "action": rule.action.value,
            "target_queue_id": rule.queue,
            "message": rule.message,
            "skills": [s.model_dump() for s in rule.skills],
        }
        for queue in queues
        for rule in queue.overflow
    ]
    if rules:
        await session.execute(insert(QueueOverflowRule), rules)
    for code in wanted("wrap_up_codes"):
        values = {"name": code.name, "description": code.description}
        change = todo[("wrap_up_codes", code.id)]
        await _upsert(session, WrapUpCode, WrapUpCode.id, code.id, change, values)
    agents: list[AgentSkillsConfig] = wanted("agents")
    found = await session.execute(
        select(users.User.username, users.User.id).where(
            users.User.username.in_([a.username for a in agents])
        )
    )
    ids: dict[str, str] = {row.username: row.id for row in found}
    skills_by_user: dict[str, list[AgentSkill]] = {}
    for agent in agents:
        user_id = ids[agent.username]
        await session.execute(delete(users.AgentSkill).where(users.AgentSkill.user_id == user_id))
        if agent.skills:
            await session.execute(
                insert(users.AgentSkill),
                [
                    {
                        "user_id": user_id,
                        "skill_id": s.skill,
                        "level": s.level,
                        "preference": s.preference,
                    }
                    for s in agent.skills
                ],
            )
        skills_by_user[user_id] = [AgentSkill(s.skill, s.level, s.preference) for s in agent.skills]
    for model, column, section in (
        (Queue, Queue.id, "queues"),
        (Calendar, Calendar.id, "calendars"),
        (WrapUpCode, WrapUpCode.id, "wrap_up_codes"),
        (Skill, Skill.id, "skills"),
    ):
        gone = [i for (s, i), change in todo.items() if s == section and change == "removed"]
        if gone:
            await session.execute(delete(model).where(column.in_(gone)))
    return skills_by_user


async def _upsert(
    session: AsyncSession,
    model: Any,
    key: Any,
    ident: str,
    change: str,
    values: dict[str, Any],
) -> None:
    if change == "added":
        await session.execute(insert(model).values(id=ident, **values))
    else:
        await session.execute(update(model).where(key == ident).values(**values))


async def _write_calendar(session: AsyncSession, calendar: CalendarConfig, change: str) -> None:
    values = {"name": calendar.name, "timezone": calendar.timezone}
    await _upsert(session, Calendar, Calendar.id, calendar.id, change, values)
    await session.execute(delete(CalendarHours).where(CalendarHours.calendar_id == calendar.id))
    await session.execute(delete(CalendarHoliday).where(CalendarHoliday.calendar_id == calendar.id))
    hours = [
        {"calendar_id": calendar.id, "weekday": day, "opens": h.open, "closes": h.close}
        for h in calendar.hours
        for day in h.days
    ]
    await session.execute(insert(CalendarHours), hours)
    holidays = [
        {
            "calendar_id": calendar.id,
            "year": h.date[0],
            "month": h.date[1],
            "day": h.date[2],
            "name": h.name,
        }
        for h in calendar.holidays
    ]
    if holidays:
        await session.execute(insert(CalendarHoliday), holidays)


async def _write_queue(session: AsyncSession, queue: QueueConfig, change: str) -> None:
    values = {
        "name": queue.name,
        "strategy": queue.strategy.value,
        "priority": queue.priority,
        "wrap_up_seconds": queue.wrap_up_seconds,
        "offer_timeout_seconds": queue.offer_timeout_seconds,
        "sl_target_seconds": queue.sl_target_seconds,
        "calendar_id": queue.hours,
        "closed_message": queue.closed_message,
        "record": queue.record,
    }
    await _upsert(session, Queue, Queue.id, queue.id, change, values)
    await session.execute(delete(QueueSkill).where(QueueSkill.queue_id == queue.id))
    await session.execute(delete(QueueOverflowRule).where(QueueOverflowRule.queue_id == queue.id))
    if queue.skills:
        await session.execute(
            insert(QueueSkill),
            [
                {"queue_id": queue.id, "skill_id": s.skill, "min_level": s.min_level, "position": n}
                for n, s in enumerate(queue.skills)
            ],
        )


def _published(
    row: ConfigVersion,
    changes: list[Change],
    after: LiveConfig,
    agent_skills: dict[str, list[AgentSkill]],
) -> Published:
    specs = to_routing_specs(after.hotline()).queues
    touched = {c.id for c in changes if c.section == "queues" and c.change != "removed"}
    # A queue whose calendar changed is a changed queue to the router (its hours are in its spec).
    calendars = {c.id for c in changes if c.section == "calendars"}
    touched |= {q.id for q in after.queues if q.hours in calendars}
    return Published(
        version=row,
        changes=changes,
        specs=specs,
        names={q.id: q.name for q in after.queues},
        changed_queues=sorted(touched),
        removed_queues=sorted(
            c.id for c in changes if c.section == "queues" and c.change == "removed"
        ),
        agent_skills=agent_skills,
    )
