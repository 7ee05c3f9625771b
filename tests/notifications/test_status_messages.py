"""Status messages back to the caller, on both databases: queued with the change they report,
delivered by the outbox adapter (the demo's default) and listed for supervisors with the number
masked; templates per category and language from the settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.core.errors import InvalidConfiguration
from hotline.notifications.models import OutboxMessage
from hotline.notifications.templates import StatusMessages
from tests.requests.field_api import CALLER, FieldApi, field_api_on


async def _complete(field_api: FieldApi, **overrides: object) -> dict[str, object]:
    async with field_api.signed_in("agent01") as agent:
        request = await field_api.create(agent, **overrides)
    async with field_api.signed_in(str(request["worker"])) as worker:
        await worker.post(f"/api/v1/tasks/{request['id']}/accept")
        done = await worker.post(f"/api/v1/tasks/{request['id']}/done", json={"note": "brought"})
        assert done.status_code == 200, done.text
    return request


async def _rows(field_api: FieldApi) -> list[OutboxMessage]:
    async with field_api.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.topic)
        return list((await session.scalars(query)).all())


async def test_the_outbox_gets_the_callers_status_message_when_a_volunteer_completes(
    field_api: FieldApi,
) -> None:
    request = await _complete(field_api)
    queued = await _rows(field_api)
    assert [(m.topic, m.status) for m in queued] == [("accepted", "pending"), ("done", "pending")]
    assert await field_api.sender.drain() == 2
    async with field_api.signed_in("boss") as boss:
        outbox = (await boss.get("/api/v1/outbox")).json()
        only_done = (await boss.get("/api/v1/outbox", params={"status": "kept"})).json()
    async with field_api.signed_in("agent01") as agent:
        refused = await agent.get("/api/v1/outbox")
    messages = outbox["messages"]
    assert sorted(m["topic"] for m in messages) == ["accepted", "done"]
    done = next(m for m in messages if m["topic"] == "done")
    ref = str(request["id"])[-6:].upper()
    assert done["text"] == (
        f"Ваша заявка № {ref} «Доставка лекарств» выполнена. Спасибо за обращение на горячую линию."
    )
    assert (done["status"], done["adapter"], done["to"], done["language"]) == (
        "kept",
        "outbox",
        "***-**-22",
        "ru",
    )
    assert len(only_done["messages"]) == 2
    assert refused.status_code == 403
    assert CALLER not in str(outbox)
    assert [m.to_number for m in await _rows(field_api)] == [CALLER, CALLER]
    assert len(await field_api.audit("outbox.read")) == 2


async def test_a_request_without_a_number_sends_nothing(field_api: FieldApi) -> None:
    await _complete(field_api, caller={"name": "No phone"})
    assert await _rows(field_api) == []


async def test_messages_follow_the_categorys_templates_and_the_callers_language(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    messages = StatusMessages(
        {
            "medicine": {
                "accepted": None,
                "done": {"en": "Request {ref}: {category} delivered.", "ru": "Готово: {category}."},
            },
            "*": {"failed": {"ru": "Не вышло ({category})."}},
        }
    )
    async with field_api_on(sessions, messages=messages) as world:
        english = await world.contact("agent01", attributes={"language": "en"})
        request = await _complete(world, contact_id=english)
        (message,) = await _rows(world)
    ref = str(request["id"])[-6:].upper()
    assert (message.topic, message.language) == ("done", "en")
    assert message.text == f"Request {ref}: Medicine delivery delivered."


def test_wrong_template_settings_are_refused_with_each_problem() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        StatusMessages({"medicine": {"delivered": {"ru": "x"}, "done": {"de": "y", "ru": " "}}})
    assert raised.value.details["problems"] == [
        "medicine.delivered: no such status (one of accepted, done, failed)",
        "medicine.done.de: no such language",
        "medicine.done.ru: empty (use null for no message)",
    ]


def test_a_template_falls_back_to_the_built_in_one_and_to_another_language() -> None:
    messages = StatusMessages({"*": {"done": {"ru": "Готово {ref}"}}}, default_language="ru")
    assert messages.template("groceries", "done", "en") == "Готово {ref}"
    assert messages.template("groceries", "accepted", "en") is not None
    assert messages.template("groceries", "cancelled", "ru") is None
