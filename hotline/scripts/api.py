"""The agent desktop's script and form of a contact (docs/scripts.md): read them with the answers
so far, answer the script step by step, save the form's draft as the agent types, submit it.

For the agent the contact was offered to or who handled it, or a supervisor
(`hotline.contacts.service.agent_may_see`); each read and change is audited. Thin: the service
does the work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.deps import ClientIp, DbSession, Live, LiveState, require_roles
from hotline.auth.service import SignedInUser
from hotline.contacts.models import Contact
from hotline.db.base import ID_LENGTH
from hotline.scripts import service
from hotline.scripts.models import ContactForm
from hotline.scripts.schemas import (
    DraftOut,
    FormDataIn,
    FormOut,
    ScriptAnswerIn,
    ScriptFormOut,
    ScriptOut,
    ScriptStateOut,
    Visited,
)
from hotline.users.models import Role

router = APIRouter(prefix="/api/v1/contacts", tags=["scripts"])

Worker = Annotated[
    SignedInUser,
    Depends(require_roles(Role.AGENT, Role.DEPARTMENT_SPECIALIST, Role.SUPERVISOR)),
]
ContactId = Annotated[str, Path(min_length=1, max_length=ID_LENGTH)]
ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 409: {}, 422: {}}


def _now(live: Live) -> datetime:
    return datetime.fromtimestamp(live.clock.now(), UTC)


async def _contact(
    contact_id: ContactId, user: Worker, db: DbSession, live: Live, ip: ClientIp
) -> Contact:
    return await service.open_contact(
        session=db, contact_id=contact_id, user=user, ip=ip, at=_now(live)
    )


WorkedContact = Annotated[Contact, Depends(_contact)]
"""The contact in the path, if the signed-in user may work on it (403, audited, if not)."""


@router.get("/{contact_id}/script-form", responses=ERRORS)
async def script_form(
    contact: WorkedContact, user: Worker, db: DbSession, live: Live, ip: ClientIp
) -> ScriptFormOut:
    """The contact's script (steps, answers so far, the question now asked) and its form (JSON
    Schema, ui-schema, the draft saved so far); null where its topic has none. Audited."""
    found = await service.script_form(
        session=db,
        contact=contact,
        user=user,
        ip=ip,
        default_language=live.settings.prompt_language,
        at=_now(live),
    )
    form = found.form
    return ScriptFormOut(
        contact_id=contact.id,
        topic=found.topic,
        language=found.language,
        script=None if found.script is None else _script(found.script),
        script_state=None if found.script is None else _state(found.script),
        form=None
        if form is None
        else FormOut.model_validate(
            {
                "id": form.form_id,
                "version": form.version,
                "name": form.name,
                "language": form.language,
                "schema": form.json_schema,
                "ui_schema": form.ui_schema,
            }
        ),
        draft=None if form is None else _draft(found.draft, form.version),
    )


@router.put("/{contact_id}/script-answers", responses=ERRORS)
async def answer_script(
    contact: WorkedContact,
    body: ScriptAnswerIn,
    user: Worker,
    db: DbSession,
    live: Live,
    ip: ClientIp,
) -> ScriptStateOut:
    """Save the answer to one of the script's questions (the one asked now, or an earlier one to
    change it, which forgets the answers after it); the script's state after it."""
    state = await service.record_answer(
        session=db,
        contact=contact,
        user=user,
        ip=ip,
        step=body.step,
        answer=body.answer,
        script_id=body.script_id,
        default_language=live.settings.prompt_language,
        at=_now(live),
    )
    return _state(state)


@router.put("/{contact_id}/form-draft", responses=ERRORS)
async def save_draft(
    contact: WorkedContact,
    body: FormDataIn,
    user: Worker,
    db: DbSession,
    live: Live,
    ip: ClientIp,
) -> DraftOut:
    """Save the form's data as a draft (not checked yet). `base_version` is the draft version
    the data was edited from; a newer one saved elsewhere answers 409 `stale_version` with
    `details.current_version`."""
    return await _save(contact, body, user, db, live, ip, submit=False)


@router.post("/{contact_id}/form", responses=ERRORS)
async def submit_form(
    contact: WorkedContact,
    body: FormDataIn,
    user: Worker,
    db: DbSession,
    live: Live,
    ip: ClientIp,
) -> DraftOut:
    """Submit the form: checked against its JSON Schema (422 `invalid_input` with a problem per
    field, `loc` = ["data", field...]), then stored; versions as for the draft."""
    return await _save(contact, body, user, db, live, ip, submit=True)


async def _save(
    contact: Contact,
    body: FormDataIn,
    user: SignedInUser,
    db: AsyncSession,
    live: LiveState,
    ip: str | None,
    *,
    submit: bool,
) -> DraftOut:
    row = await service.save_form(
        session=db,
        contact=contact,
        user=user,
        ip=ip,
        base_version=body.base_version,
        data=body.data,
        form_id=body.form_id,
        submit=submit,
        default_language=live.settings.prompt_language,
        at=_now(live),
    )
    return _draft(row, row.form_version)


def _script(state: service.ScriptState) -> ScriptOut:
    version = state.version
    body = service.script_config(version)
    return ScriptOut(
        id=version.script_id,
        version=version.version,
        name=version.name,
        language=version.language,
        start=body.start or body.steps[0].id,
        steps=list(body.steps),
    )


def _state(state: service.ScriptState) -> ScriptStateOut:
    progress = state.progress
    return ScriptStateOut(
        answers=state.answers,
        path=[Visited(step=v.step, answer=v.answer) for v in progress.path],
        current=progress.current,
        done=progress.done,
        updated_at=state.row.updated_at if state.row is not None else None,
        updated_by=state.row.updated_by if state.row is not None else None,
    )


def _draft(row: ContactForm | None, form_version: int) -> DraftOut:
    if row is None:
        return DraftOut(
            version=0,
            form_version=form_version,
            status="new",
            data={},
            updated_at=None,
            updated_by=None,
            submitted_at=None,
        )
    return DraftOut(
        version=row.version,
        form_version=row.form_version,
        status="submitted" if row.status == "submitted" else "draft",
        data=row.data,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        submitted_at=row.submitted_at,
    )
