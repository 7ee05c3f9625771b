"""Scripts and forms: publishing their versions, and what a contact's agents give to them.

Publishing follows `hotline.db.versions`: each publish or rollback adds a version and makes it
current, one at a time per id, checked first (a script's steps must always lead to an end; a form
must be a JSON Schema of an object with a ui-schema the browser can use; queues named must exist).
A configuration import publishes the scripts and forms it holds (only those that changed) and
retires the ones it no longer holds.

For a contact, the script and the form are chosen by its `topic` attribute (else its queue) and
its caller's language (`hotline.scripts.service.choose`); once answered (or a draft saved) it
keeps that script or form at the version it started on, so a transfer to another queue or line
does not take them from the agent who takes the caller over. A warm transfer's consultation has
no answers of its own: it works on those of the caller's contact it consults about
(`hotline.contacts.service.caller_contact`), so the consulted colleague sees what was given so
far and, once the transfer completes, carries on with it.
Script answers are saved one by one as the agent gives them; form data is saved as a draft while
the agent types and checked against the schema when submitted. Every save names the draft version
it was edited from: one saved meanwhile elsewhere (another tab, the colleague a call was
transferred to) makes it `StaleVersion` (409), never an overwrite. Reads and changes are audited
in the caller's transaction; the caller commits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.config.schemas import FormConfig, ScriptConfig
from hotline.contacts.models import Contact
from hotline.contacts.service import agent_may_see, append_event, caller_contact
from hotline.core.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleVersion
from hotline.db.base import utcnow
from hotline.db.versions import VersionLog, require_actor
from hotline.requests.forms import form_problems, schema_problems
from hotline.routing.models import Queue
from hotline.scripts.events import FormSubmitted
from hotline.scripts.forms import ui_schema_problems
from hotline.scripts.models import ContactForm, ContactScript, FormVersion, ScriptVersion
from hotline.scripts.runner import AnswerRefused, Loc, Progress, Script, script_problems
from hotline.scripts.schemas import MAX_FORM_BYTES, ScriptBody

SCRIPTS = VersionLog(ScriptVersion, "script_id", "script", owner="script")
FORMS = VersionLog(FormVersion, "form_id", "form", owner="form")

LANGUAGES = ("ru", "en")

P = TypeVar("P", ScriptVersion, FormVersion)


class Agent(Protocol):
    """Who works on a contact: a signed-in user (`hotline.auth.service.SignedInUser`)."""

    @property
    def id(self) -> str: ...

    @property
    def username(self) -> str: ...

    def has_role(self, *roles: str) -> bool: ...


# ---------------------------------------------------------------------------- publishing


async def publish_script(
    *, session: AsyncSession, script: ScriptConfig, actor: str, note: str | None = None
) -> ScriptVersion:
    """Make `script` the current version of its id. `InvalidInput` (every problem, by field)
    changes nothing. A transaction of its own, or a savepoint in the caller's."""
    require_actor(actor)
    async with SCRIPTS.publishing(session, script.id):
        await SCRIPTS.take_turn(session, script.id)
        await _refuse_problems(session, "script", script, script_problems(script.body()))
        return await SCRIPTS.add(
            session, script.id, actor=actor, note=note, **_script_content(script)
        )


async def publish_form(
    *, session: AsyncSession, form: FormConfig, actor: str, note: str | None = None
) -> FormVersion:
    """Make `form` the current version of its id; as `publish_script`."""
    require_actor(actor)
    async with FORMS.publishing(session, form.id):
        await FORMS.take_turn(session, form.id)
        problems = [(("schema", *loc), m) for loc, m in schema_problems(form.json_schema)]
        problems += [
            (("ui_schema", *loc), m)
            for loc, m in ui_schema_problems(form.json_schema, form.ui_schema)
        ]
        await _refuse_problems(session, "form", form, problems)
        return await FORMS.add(session, form.id, actor=actor, note=note, **_form_content(form))


async def rollback_script(
    *, session: AsyncSession, script_id: str, version: int, actor: str, note: str | None = None
) -> ScriptVersion:
    """Put an older version live again, as a new version copying it (checked again first)."""
    require_actor(actor)
    async with SCRIPTS.publishing(session, script_id):
        current = await SCRIPTS.take_turn(session, script_id)
        target = script_config(await SCRIPTS.rollback_target(session, script_id, version, current))
        await _refuse_problems(session, "script", target, script_problems(target.body()))
        return await SCRIPTS.add(
            session, script_id, actor=actor, based_on=version, note=note, **_script_content(target)
        )


async def rollback_form(
    *, session: AsyncSession, form_id: str, version: int, actor: str, note: str | None = None
) -> FormVersion:
    """Put an older version of a form live again, as `rollback_script` does."""
    require_actor(actor)
    async with FORMS.publishing(session, form_id):
        current = await FORMS.take_turn(session, form_id)
        target = form_config(await FORMS.rollback_target(session, form_id, version, current))
        await _refuse_problems(session, "form", target, [])
        return await FORMS.add(
            session, form_id, actor=actor, based_on=version, note=note, **_form_content(target)
        )


async def script_history(*, session: AsyncSession, script_id: str) -> list[ScriptVersion]:
    """Every version of a script, newest first."""
    return await SCRIPTS.history(session, script_id)


async def form_history(*, session: AsyncSession, form_id: str) -> list[FormVersion]:
    """Every version of a form, newest first."""
    return await FORMS.history(session, form_id)


@dataclass(frozen=True, slots=True)
class Synced:
    """What `sync_configured` changed, by id."""

    published: list[str]
    retired: list[str]


async def sync_configured(
    *,
    session: AsyncSession,
    scripts: Sequence[ScriptConfig],
    forms: Sequence[FormConfig],
    actor: str,
    note: str | None = None,
) -> Synced:
    """Make the configuration's scripts and forms the live ones: publish each that differs from
    its current version (or has none), and retire the current ones it does not hold. Run in the
    caller's transaction (a configuration import)."""
    published: list[str] = []
    retired: list[str] = []
    for script in scripts:
        current = await SCRIPTS.current(session, script.id)
        if current is None or script_config(current) != script:
            await publish_script(session=session, script=script, actor=actor, note=note)
            published.append(f"script {script.id}")
    for form in forms:
        current_form = await FORMS.current(session, form.id)
        if current_form is None or form_config(current_form) != form:
            await publish_form(session=session, form=form, actor=actor, note=note)
            published.append(f"form {form.id}")
    kept_scripts = {s.id for s in scripts}
    for row in await SCRIPTS.every_current(session):
        if row.script_id not in kept_scripts:
            await SCRIPTS.retire(session, row.script_id)
            retired.append(f"script {row.script_id}")
    kept_forms = {f.id for f in forms}
    for form_row in await FORMS.every_current(session):
        if form_row.form_id not in kept_forms:
            await FORMS.retire(session, form_row.form_id)
            retired.append(f"form {form_row.form_id}")
    return Synced(published, retired)


async def configured_scripts(*, session: AsyncSession) -> list[ScriptConfig]:
    """The current scripts in the configuration file's format, by id (for an export)."""
    return [script_config(row) for row in await SCRIPTS.every_current(session)]


async def configured_forms(*, session: AsyncSession) -> list[FormConfig]:
    """The current forms in the configuration file's format, by id."""
    return [form_config(row) for row in await FORMS.every_current(session)]


def script_config(row: ScriptVersion) -> ScriptConfig:
    return ScriptConfig.model_validate(
        {
            "id": row.script_id,
            "name": row.name,
            "language": row.language,
            "topics": row.topics,
            "queues": row.queues,
            **row.definition,
        }
    )


def form_config(row: FormVersion) -> FormConfig:
    return FormConfig.model_validate(
        {
            "id": row.form_id,
            "name": row.name,
            "language": row.language,
            "topics": row.topics,
            "queues": row.queues,
            "schema": row.json_schema,
            "ui_schema": row.ui_schema,
        }
    )


def _script_content(script: ScriptConfig) -> dict[str, Any]:
    return {
        "name": script.name,
        "language": script.language,
        "topics": list(script.topics),
        "queues": list(script.queues),
        "definition": script.body().model_dump(mode="json", exclude_none=True),
    }


def _form_content(form: FormConfig) -> dict[str, Any]:
    return {
        "name": form.name,
        "language": form.language,
        "topics": list(form.topics),
        "queues": list(form.queues),
        "json_schema": form.json_schema,
        "ui_schema": form.ui_schema,
    }


async def _refuse_problems(
    session: AsyncSession,
    noun: str,
    record: ScriptConfig | FormConfig,
    problems: list[tuple[Loc, str]],
) -> None:
    known = set((await session.scalars(select(Queue.id))).all())
    problems = problems + [
        (("queues", index), f"unknown queue {queue!r}")
        for index, queue in enumerate(record.queues)
        if queue not in known
    ]
    if problems:
        listed = [{"loc": list(loc), "message": message} for loc, message in problems]
        raise InvalidInput(
            f"the {noun} {record.id!r} cannot be published: "
            + "; ".join(f"{_where(p['loc'])}: {p['message']}" for p in listed),
            problems=listed,
        )


def _where(loc: Sequence[object]) -> str:
    return ".".join(map(str, loc)) or "(whole)"


# ---------------------------------------------------------------------------- a contact's


def choose(rows: Iterable[P], *, topic: str | None, queue: str | None, language: str) -> P | None:
    """The script (or form) for a contact: one for its topic before one for its queue; of those,
    one in the caller's language before one in another; then the one published first."""
    ranked: list[tuple[tuple[int, bool, datetime], P]] = []
    for row in rows:
        if topic is not None and topic in row.topics:
            how = 0
        elif queue is not None and queue in row.queues:
            how = 1
        else:
            continue
        ranked.append(((how, row.language != language, row.published_at), row))
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


@dataclass(frozen=True, slots=True)
class ScriptState:
    """A contact's way through its script: the stored answers and what the runner makes of them."""

    version: ScriptVersion
    answers: dict[str, str]
    progress: Progress
    row: ContactScript | None


@dataclass(frozen=True, slots=True)
class ScriptForm:
    """What the agent desktop shows beside the screen pop."""

    contact: Contact
    topic: str | None
    language: str
    script: ScriptState | None
    form: FormVersion | None
    draft: ContactForm | None


async def open_contact(
    *, session: AsyncSession, contact_id: str, user: Agent, ip: str | None, at: datetime
) -> Contact:
    """The contact, if `user` may work on it (`agent_may_see`); a refusal is audited and that
    row committed at once, since the refusal rolls the request's transaction back."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
    if not await agent_may_see(session=session, contact=contact, user=user):
        await audit.record(
            session=session,
            actor=user,
            action="contact.read_denied",
            object_type="contact",
            object_id=contact.id,
            ip=ip,
            details={"via": "script_form"},
            at=at,
        )
        await session.commit()
        raise Forbidden("this contact was neither offered to you nor handled by you")
    return contact


async def script_form(
    *,
    session: AsyncSession,
    contact: Contact,
    user: Agent,
    ip: str | None,
    default_language: str,
    at: datetime | None = None,
) -> ScriptForm:
    """The contact's script with the answers so far, and its form with the draft; audited."""
    found = await _chosen(session, contact, default_language)
    draft = None
    if found.form is not None:
        draft = await session.get(ContactForm, (found.owner.id, found.form.form_id))
    await audit.record(
        session=session,
        actor=user,
        action="contact.read",
        object_type="contact",
        object_id=contact.id,
        ip=ip,
        details={
            "via": "script_form",
            "script": found.script.version.script_id if found.script else None,
            "form": found.form.form_id if found.form else None,
            **_kept_on(found, contact),
        },
        at=at or utcnow(),
    )
    return ScriptForm(contact, found.topic, found.language, found.script, found.form, draft)


async def record_answer(
    *,
    session: AsyncSession,
    contact: Contact,
    user: Agent,
    ip: str | None,
    step: str,
    answer: str,
    default_language: str,
    script_id: str | None = None,
    at: datetime | None = None,
) -> ScriptState:
    """Save `answer` to the script's question `step` (the one asked now, or an earlier one to
    change it: the answers after it are then forgotten); the script's state after it."""
    at = at or utcnow()
    found = await _chosen(session, contact, default_language)
    state = found.script
    if state is None:
        raise NotFound("no script is configured for this contact's topic", contact_id=contact.id)
    version = state.version
    if script_id is not None and script_id != version.script_id:
        raise Conflict(
            f"this contact's script is now {version.script_id!r}: reload it",
            script_id=version.script_id,
        )
    script = Script(ScriptBody.model_validate(version.definition))
    try:
        answers = script.answer(state.answers, step, answer)
    except AnswerRefused as exc:
        problems = [{"loc": [exc.field], "message": exc.message}]
        raise InvalidInput(exc.message, problems=problems) from None
    row = state.row
    if row is None:
        row = ContactScript(
            contact_id=found.owner.id,
            script_id=version.script_id,
            script_version=version.version,
            answers=answers,
            updated_at=at,
            updated_by=user.username,
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError as exc:
            raise Conflict("the script was answered elsewhere at the same moment: reload") from exc
    else:
        row.answers = answers
        row.updated_at = at
        row.updated_by = user.username
    await audit.record(
        session=session,
        actor=user,
        action="contact_script.answered",
        object_type="contact",
        object_id=contact.id,
        ip=ip,
        details={
            "script": version.script_id,
            "version": version.version,
            "step": step,
            **_kept_on(found, contact),
        },
        at=at,
    )
    await session.flush()
    return ScriptState(version, answers, script.progress(answers), row)


async def save_form(
    *,
    session: AsyncSession,
    contact: Contact,
    user: Agent,
    ip: str | None,
    base_version: int,
    data: dict[str, Any],
    default_language: str,
    submit: bool = False,
    form_id: str | None = None,
    at: datetime | None = None,
) -> ContactForm:
    """Save the contact's form data if it was edited from the draft version stored now
    (`base_version`, 0 before the first save); otherwise `StaleVersion`, naming the version
    stored. A draft is saved unchecked (the agent saves as they type); with `submit` the data is
    first checked against the form's schema (`InvalidInput`, a problem per field), and the log
    of the contact the data is stored on records the submission (a consultation's: its caller's
    contact, naming the consultation; the consultation keeps the audit record)."""
    at = at or utcnow()
    if len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()) > MAX_FORM_BYTES:
        message = f"the form's data is too large (at most {MAX_FORM_BYTES // 1024} KiB)"
        raise InvalidInput(message, problems=[{"loc": ["data"], "message": message}])
    found = await _chosen(session, contact, default_language)
    form, owner_id = found.form, found.owner.id
    if form is None:
        raise NotFound("no form is configured for this contact's topic", contact_id=contact.id)
    if form_id is not None and form_id != form.form_id:
        raise Conflict(
            f"this contact's form is now {form.form_id!r}: reload it", form_id=form.form_id
        )
    stored = await _stored_form(session, owner_id, form.form_id)
    if submit:
        problems = [
            {"loc": ["data", *p["loc"]], "message": p["message"]}
            for p in form_problems(form.json_schema, data)
        ]
        if problems:
            raise InvalidInput(
                "the form has invalid fields: " + ", ".join(_where(p["loc"][1:]) for p in problems),
                problems=problems,
            )
    values: dict[str, Any] = {
        "data": data,
        "status": "submitted" if submit else "draft",
        "updated_at": at,
        "updated_by": user.username,
    }
    if submit:
        values.update(submitted_at=at, submitted_by=user.username)
    if base_version == 0:
        if stored is not None:
            raise _stale(stored)
        try:
            async with session.begin_nested():
                session.add(
                    ContactForm(
                        contact_id=owner_id,
                        form_id=form.form_id,
                        form_version=form.version,
                        version=1,
                        **values,
                    )
                )
        except IntegrityError:
            stored = await _stored_form(session, owner_id, form.form_id)
            raise _stale(stored) from None
    else:
        changed = await session.execute(
            update(ContactForm)
            .where(
                ContactForm.contact_id == owner_id,
                ContactForm.form_id == form.form_id,
                ContactForm.version == base_version,
            )
            .values(version=ContactForm.version + 1, **values)
            .returning(ContactForm.version)
            .execution_options(synchronize_session=False)
        )
        if changed.one_or_none() is None:
            raise _stale(await _stored_form(session, owner_id, form.form_id))
    saved = await _stored_form(session, owner_id, form.form_id)
    assert saved is not None  # written just now, in this transaction
    if submit:
        # Logged where the data is: the caller's contact, which reports count forms by.
        await append_event(
            session=session,
            contact_id=owner_id,
            event=FormSubmitted(
                form_id=form.form_id,
                form_version=form.version,
                version=saved.version,
                agent_id=user.id,
                consultation=contact.id if owner_id != contact.id else None,
                at=at,
            ),
        )
    await audit.record(
        session=session,
        actor=user,
        action="contact_form.submitted" if submit else "contact_form.draft_saved",
        object_type="contact",
        object_id=contact.id,
        ip=ip,
        details={
            "form": form.form_id,
            "form_version": form.version,
            "version": saved.version,
            **_kept_on(found, contact),
        },
        at=at,
    )
    return saved


async def _stored_form(session: AsyncSession, contact_id: str, form_id: str) -> ContactForm | None:
    row: ContactForm | None = await session.scalar(
        select(ContactForm)
        .where(ContactForm.contact_id == contact_id, ContactForm.form_id == form_id)
        .execution_options(populate_existing=True)
    )
    return row


def _stale(stored: ContactForm | None) -> StaleVersion:
    if stored is None:
        return StaleVersion(
            "this form's draft is gone (the contact ended elsewhere?): reload it",
            current_version=0,
        )
    return StaleVersion(
        f"this form was changed by {stored.updated_by} after you loaded it (now version "
        f"{stored.version}): reload theirs, or save yours over it",
        current_version=stored.version,
        updated_by=stored.updated_by,
        updated_at=stored.updated_at.isoformat(),
        status=stored.status,
    )


@dataclass(frozen=True, slots=True)
class _Chosen:
    owner: Contact  # the contact the answers and the draft are stored on
    topic: str | None
    language: str
    script: ScriptState | None
    form: FormVersion | None


def _kept_on(found: _Chosen, contact: Contact) -> dict[str, str]:
    """The audit detail of a consultation's read or change: whose answers they are."""
    return {} if found.owner.id == contact.id else {"caller_contact": found.owner.id}


async def _chosen(session: AsyncSession, contact: Contact, default_language: str) -> _Chosen:
    """The contact's script (with its answers) and form: those already answered or drafted, at
    the version they started on; else those `choose` picks now. A consultation's are its caller
    contact's (the module docstring)."""
    owner = await caller_contact(session=session, contact=contact)
    attributes = owner.attributes or {}
    topic = attributes.get("topic")
    topic = str(topic) if topic is not None else None
    language = attributes.get("language")
    language = language if language in LANGUAGES else default_language
    queue = owner.queue_id
    row = await session.scalar(
        select(ContactScript)
        .where(ContactScript.contact_id == owner.id)
        .order_by(ContactScript.updated_at.desc(), ContactScript.script_id)
        .limit(1)
    )
    script = await SCRIPTS.get(session, row.script_id, row.script_version) if row else None
    if script is None:
        script = choose(
            await SCRIPTS.every_current(session), topic=topic, queue=queue, language=language
        )
        row = None
    stored = await session.scalar(
        select(ContactForm)
        .where(ContactForm.contact_id == owner.id)
        .order_by(ContactForm.updated_at.desc(), ContactForm.form_id)
        .limit(1)
    )
    form = await FORMS.get(session, stored.form_id, stored.form_version) if stored else None
    if form is None:
        form = choose(
            await FORMS.every_current(session), topic=topic, queue=queue, language=language
        )
    state = None
    if script is not None:
        answers = dict(row.answers) if row is not None else {}
        runner = Script(ScriptBody.model_validate(script.definition))
        state = ScriptState(script, answers, runner.progress(answers), row)
    return _Chosen(owner, topic, language, state, form)
