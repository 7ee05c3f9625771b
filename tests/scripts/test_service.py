"""Scripts and forms on both databases: publishing with the configuration, versions and rollback,
the script and form a contact gets, answers saved as given, drafts with optimistic concurrency
(a stale save is refused, never written over), submission checked against the schema, and who
may work on a contact."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.audit.models import AuditEntry
from hotline.config.loader import parse_config
from hotline.config.schemas import FormConfig, ScriptConfig
from hotline.config.service import export_config, import_config
from hotline.contacts.models import Contact
from hotline.contacts.service import agent_may_see, contact_log, create_contact
from hotline.core.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from hotline.scripts import service
from hotline.scripts.events import FormSubmitted
from hotline.scripts.models import ContactForm
from hotline.users.models import User
from tests.config.factories import FAST_HASHING
from tests.scripts.factories import SCRIPTED, answered_contact

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Person:
    """Who acts, as the service sees a signed-in user."""

    id: str
    username: str
    roles: frozenset[str] = field(default=frozenset({"agent"}))

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


@pytest_asyncio.fixture(loop_scope="function")
async def configured(sessions: Sessions) -> Sessions:
    async with sessions() as session:
        await import_config(
            session=session, config=parse_config(SCRIPTED), password_cost=FAST_HASHING
        )
    return sessions


async def _agent(sessions: Sessions, username: str = "agent01") -> Person:
    async with sessions() as session:
        user = (await session.scalars(select(User).where(User.username == username))).one()
        return Person(user.id, user.username, frozenset(user.role_names))


async def _contact(sessions: Sessions, agent: Person, **attributes: str) -> Contact:
    async with sessions() as session:
        contact_id = await answered_contact(
            session, agent_id=agent.id, attributes=attributes or {"topic": "medical"}
        )
    async with sessions() as session:
        found = await session.get(Contact, contact_id)
        assert found is not None
        return found


async def _view(sessions: Sessions, contact: Contact, agent: Person) -> service.ScriptForm:
    async with sessions() as session, session.begin():
        return await service.script_form(
            session=session, contact=contact, user=agent, ip="127.0.0.1", default_language="ru"
        )


async def _answer(
    sessions: Sessions, contact: Contact, agent: Person, step: str, answer: str
) -> service.ScriptState:
    async with sessions() as session, session.begin():
        return await service.record_answer(
            session=session,
            contact=contact,
            user=agent,
            ip=None,
            step=step,
            answer=answer,
            default_language="ru",
        )


async def _save(
    sessions: Sessions,
    contact: Contact,
    agent: Person,
    base: int,
    data: dict[str, Any],
    *,
    submit: bool = False,
) -> ContactForm:
    async with sessions() as session, session.begin():
        return await service.save_form(
            submit=submit,
            session=session,
            contact=contact,
            user=agent,
            ip=None,
            base_version=base,
            data=data,
            default_language="ru",
        )


# ---- publishing ----


async def test_an_import_publishes_the_scripts_and_forms_and_an_export_gives_them_back(
    configured: Sessions,
) -> None:
    async with configured() as session:
        versions = await service.script_history(session=session, script_id="triage_ru")
        exported = await export_config(session=session)
    assert [(v.version, v.is_current, v.published_by) for v in versions] == [
        (1, True, "hotline init")
    ]
    config = parse_config(SCRIPTED)
    assert exported.scripts == sorted(config.scripts, key=lambda s: s.id)
    assert exported.forms == config.forms


async def test_a_replace_publishes_only_what_changed_and_retires_what_is_gone(
    configured: Sessions,
) -> None:
    changed = SCRIPTED.replace("{id: bye, say: До свидания}", "{id: bye, say: Всего доброго}")
    config = parse_config(changed)
    config = config.model_copy(update={"scripts": config.scripts[:2]})  # no `overflow` script
    async with configured() as session:
        summary = await import_config(
            session=session, config=config, replace=True, password_cost=FAST_HASHING
        )
    assert summary.scripts_and_forms == service.Synced(["script triage_ru"], ["script overflow"])
    async with configured() as session:
        ru = await service.script_history(session=session, script_id="triage_ru")
        en = await service.script_history(session=session, script_id="triage_en")
        gone = await service.script_history(session=session, script_id="overflow")
    assert [(v.version, v.is_current) for v in ru] == [(2, True), (1, False)]
    assert [(v.version, v.is_current) for v in en] == [(1, True)]
    assert [(v.version, v.is_current) for v in gone] == [(1, False)]


async def test_a_rollback_publishes_a_copy_and_refuses_the_current_version(
    configured: Sessions,
) -> None:
    script = parse_config(SCRIPTED).scripts[0]
    renamed = script.model_copy(update={"name": "Новая сортировка"})
    async with configured() as session:
        await service.publish_script(session=session, script=renamed, actor="admin")
    async with configured() as session:
        row = await service.rollback_script(
            session=session, script_id="triage_ru", version=1, actor="admin", note="oops"
        )
    assert (row.version, row.based_on, row.name, row.note) == (3, 1, "Сортировка", "oops")
    async with configured() as session:
        with pytest.raises(Conflict, match="already the current script of script 'triage_ru'"):
            await service.rollback_script(
                session=session, script_id="triage_ru", version=3, actor="admin"
            )


async def test_publishing_a_looping_script_or_an_unknown_queue_lists_every_problem(
    configured: Sessions,
) -> None:
    script = ScriptConfig.model_validate(
        {
            "id": "bad",
            "name": "Bad",
            "language": "ru",
            "queues": ["nowhere"],
            "steps": [{"id": "a", "say": "x", "next": "b"}, {"id": "b", "say": "y", "next": "a"}],
        }
    )
    async with configured() as session:
        with pytest.raises(InvalidInput) as refused:
            await service.publish_script(session=session, script=script, actor="admin")
    assert refused.value.details["problems"] == [
        {"loc": ["steps", 1], "message": "step 'b' leads back to 'a': a script must always end"},
        {"loc": ["queues", 0], "message": "unknown queue 'nowhere'"},
    ]
    async with configured() as session:
        assert await service.script_history(session=session, script_id="bad") == []


async def test_a_form_with_a_bad_ui_schema_is_not_published(configured: Sessions) -> None:
    form = FormConfig.model_validate(
        {
            "id": "f",
            "name": "F",
            "language": "ru",
            "topics": ["x"],
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
            "ui_schema": {"a": {"ui:widget": "html"}},
        }
    )
    async with configured() as session:
        with pytest.raises(InvalidInput, match="ui_schema.a.ui:widget: unknown widget 'html'"):
            await service.publish_form(session=session, form=form, actor="admin")


async def test_concurrent_publishes_of_one_script_queue_up(configured: Sessions) -> None:
    script = parse_config(SCRIPTED).scripts[1]

    async def publish(n: int) -> int:
        async with configured() as session:
            renamed = script.model_copy(update={"name": f"Try {n}"})
            row = await service.publish_script(session=session, script=renamed, actor="a")
            return row.version

    assert sorted(await asyncio.gather(*(publish(n) for n in range(4)))) == [2, 3, 4, 5]
    async with configured() as session:
        versions = await service.script_history(session=session, script_id="triage_en")
    assert [v.is_current for v in versions] == [True, False, False, False, False]


# ---- a contact's script ----


async def test_a_contact_gets_its_topics_script_and_form_in_its_callers_language(
    configured: Sessions,
) -> None:
    agent = await _agent(configured)
    russian = await _view(configured, await _contact(configured, agent), agent)
    english = await _view(
        configured, await _contact(configured, agent, topic="medical", language="en"), agent
    )
    assert russian.script is not None
    assert english.script is not None
    assert (russian.script.version.script_id, russian.language) == ("triage_ru", "ru")
    assert (english.script.version.script_id, english.language) == ("triage_en", "en")
    # There is no English form: the Russian one serves.
    assert russian.form is not None
    assert english.form is not None
    assert english.form.form_id == "triage_ru"
    assert russian.script.progress.current == "danger"
    assert russian.draft is None


async def test_without_a_topic_the_queue_chooses_and_otherwise_there_is_none(
    configured: Sessions,
) -> None:
    agent = await _agent(configured)
    async with configured() as session:
        overflow_id = await answered_contact(
            session, agent_id=agent.id, queue_id="overflow", attributes={}
        )
        bare_id = await answered_contact(session, agent_id=agent.id, attributes={"topic": "x"})
    async with configured() as session:
        overflow = await session.get(Contact, overflow_id)
        bare = await session.get(Contact, bare_id)
    assert overflow is not None
    assert bare is not None
    found = await _view(configured, overflow, agent)
    assert found.script is not None
    assert found.script.version.script_id == "overflow"
    assert found.script.progress.done
    assert found.form is None
    nothing = await _view(configured, bare, agent)
    assert (nothing.script, nothing.form) == (None, None)


async def test_answers_are_saved_as_given_and_an_earlier_change_reroutes(
    configured: Sessions,
) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    state = await _answer(configured, contact, agent, "danger", "no")
    assert state.progress.current == "name"
    free_text = "<script>alert(1)</script>"
    state = await _answer(configured, contact, agent, "name", free_text)
    assert state.progress.done
    assert (await _view(configured, contact, agent)).script.answers == {  # type: ignore[union-attr]
        "danger": "no",
        "name": free_text,
    }
    state = await _answer(configured, contact, agent, "danger", "yes")
    assert state.answers == {"danger": "yes"}
    assert [v.step for v in state.progress.path] == ["greet", "danger", "ambulance"]
    async with configured() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.object_id == contact.id)
            )
        ).all()
    assert actions.count("contact_script.answered") == 3


async def test_an_answer_the_script_cannot_take_is_refused_by_field(configured: Sessions) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    with pytest.raises(InvalidInput) as refused:
        await _answer(configured, contact, agent, "danger", "perhaps")
    assert refused.value.details["problems"] == [
        {"loc": ["answer"], "message": "expected one of: yes, no"}
    ]
    with pytest.raises(InvalidInput, match="not on the way"):
        await _answer(configured, contact, agent, "name", "Anna")


async def test_a_contact_keeps_the_script_version_it_started_on(configured: Sessions) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    await _answer(configured, contact, agent, "danger", "no")
    script = parse_config(SCRIPTED).scripts[0]
    shorter = script.model_copy(update={"steps": script.steps[:1]})
    async with configured() as session:
        await service.publish_script(session=session, script=shorter, actor="admin")
    ongoing = await _view(configured, contact, agent)
    fresh = await _view(configured, await _contact(configured, agent), agent)
    assert ongoing.script is not None
    assert fresh.script is not None
    assert (ongoing.script.version.version, ongoing.script.progress.current) == (1, "name")
    assert (fresh.script.version.version, fresh.script.progress.done) == (2, True)


# ---- a contact's form ----


async def test_drafts_count_versions_and_a_stale_save_is_refused_not_written(
    configured: Sessions,
) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    first = await _save(configured, contact, agent, 0, {"age": 70})
    assert (first.version, first.status, first.updated_by) == (1, "draft", "agent01")
    second = await _save(configured, contact, agent, 1, {"age": 71, "address": "Тверская"})
    assert second.version == 2
    with pytest.raises(StaleVersion) as stale:
        await _save(configured, contact, agent, 1, {"age": 99})
    assert stale.value.code == "stale_version"
    assert stale.value.http_status == 409
    assert stale.value.details["current_version"] == 2
    assert stale.value.details["updated_by"] == "agent01"
    with pytest.raises(StaleVersion):
        await _save(configured, contact, agent, 0, {"age": 99})
    draft = (await _view(configured, contact, agent)).draft
    assert draft is not None
    assert (draft.version, draft.data) == (2, {"age": 71, "address": "Тверская"})


async def test_two_saves_from_one_version_at_once_one_wins(configured: Sessions) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    await _save(configured, contact, agent, 0, {"age": 1})
    results = await asyncio.gather(
        *(_save(configured, contact, agent, 1, {"age": n}) for n in (2, 3)),
        return_exceptions=True,
    )
    saved = [r for r in results if isinstance(r, ContactForm)]
    refused = [r for r in results if isinstance(r, StaleVersion)]
    assert (len(saved), len(refused)) == (1, 1)
    assert refused[0].details["current_version"] == 2
    draft = (await _view(configured, contact, agent)).draft
    assert draft is not None
    assert draft.data == saved[0].data


async def test_an_invalid_submission_names_each_field_and_stores_nothing(
    configured: Sessions,
) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    await _save(configured, contact, agent, 0, {"age": 70})
    with pytest.raises(InvalidInput) as refused:
        await _save(configured, contact, agent, 1, {"age": 200, "nick": "x"}, submit=True)
    assert refused.value.details["problems"] == [
        {"loc": ["data", "address"], "message": "field required"},
        {"loc": ["data", "age"], "message": "at most 120"},
        {"loc": ["data", "nick"], "message": "unknown field"},
    ]
    draft = (await _view(configured, contact, agent)).draft
    assert draft is not None
    assert (draft.version, draft.status) == (1, "draft")


async def test_a_valid_submission_is_stored_and_logged_with_the_contact(
    configured: Sessions,
) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    data = {"age": 70, "address": "Тверская, 1", "notes": "<script>alert(1)</script>"}
    row = await _save(configured, contact, agent, 0, data, submit=True)
    assert (row.version, row.status, row.data, row.submitted_by) == (
        1,
        "submitted",
        data,
        "agent01",
    )
    assert row.submitted_at is not None
    async with configured() as session:
        log = await contact_log(session=session, contact_id=contact.id)
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_id == contact.id)
                .order_by(AuditEntry.id)
            )
        ).all()
    submitted = [e.event for e in log if isinstance(e.event, FormSubmitted)]
    assert [(e.form_id, e.form_version, e.version, e.agent_id) for e in submitted] == [
        ("triage_ru", 1, 1, agent.id)
    ]
    assert actions == ["contact_form.submitted"]
    # A later draft save marks it changed since it was submitted.
    again = await _save(configured, contact, agent, 1, {**data, "age": 71})
    assert (again.status, again.submitted_at) == ("draft", row.submitted_at)


async def test_a_draft_keeps_its_form_version_after_a_new_one_is_published(
    configured: Sessions,
) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    await _save(configured, contact, agent, 0, {"age": 70})
    form = parse_config(SCRIPTED).forms[0]
    stricter = form.model_copy(
        update={"json_schema": {**form.json_schema, "required": ["age", "address", "notes"]}}
    )
    async with configured() as session:
        await service.publish_form(session=session, form=stricter, actor="admin")
    found = await _view(configured, contact, agent)
    assert found.form is not None
    assert found.form.version == 1
    row = await _save(
        configured, contact, agent, 1, {"age": 70, "address": "Тверская, 1"}, submit=True
    )
    assert (row.form_version, row.status) == (1, "submitted")


async def test_oversized_form_data_is_refused(configured: Sessions) -> None:
    agent = await _agent(configured)
    contact = await _contact(configured, agent)
    with pytest.raises(InvalidInput, match="too large"):
        await _save(configured, contact, agent, 0, {"notes": "x" * 70_000})


# ---- who may work on a contact ----


async def _stranger(sessions: Sessions) -> Person:
    """Another agent, who had nothing to do with the contacts made here."""
    async with sessions() as session, session.begin():
        user = User(username="agent02", name="Agent Two", password_hash="x")
        session.add(user)
        await session.flush()
        return Person(user.id, user.username)


async def test_only_its_agents_and_supervisors_may_see_a_contact(configured: Sessions) -> None:
    agent = await _agent(configured)
    boss = await _agent(configured, "boss")
    stranger = await _stranger(configured)
    contact = await _contact(configured, agent)
    async with configured() as session, session.begin():
        assert await agent_may_see(session=session, contact=contact, user=agent)
        assert await agent_may_see(session=session, contact=contact, user=boss)
        assert not await agent_may_see(session=session, contact=contact, user=stranger)
        # The agent a contact is offered to now sees it, before anything is in its log.
        ringing = await create_contact(session=session, queue_id="medical")
        assert not await agent_may_see(session=session, contact=ringing, user=stranger)
        ringing.agent_id = stranger.id
        assert await agent_may_see(session=session, contact=ringing, user=stranger)


async def test_opening_another_agents_contact_is_refused_and_audited(
    configured: Sessions,
) -> None:
    agent = await _agent(configured)
    stranger = await _stranger(configured)
    contact = await _contact(configured, agent)
    async with configured() as session:
        with pytest.raises(Forbidden):
            await service.open_contact(
                session=session,
                contact_id=contact.id,
                user=stranger,
                ip="127.0.0.9",
                at=contact.arrived_at,
            )
    async with configured() as session:
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.object_id == contact.id))
        ).one()
    assert (entry.action, entry.actor_username, entry.ip) == (
        "contact.read_denied",
        "agent02",
        "127.0.0.9",
    )
