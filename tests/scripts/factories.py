"""A small configuration with scripts and forms (SMALL from tests/config/factories.py plus a
triage script and form for the `medical` topic in Russian and English, and a script for the
`overflow` queue), and helpers to make contacts that an agent answered."""

from __future__ import annotations

import textwrap

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.contacts.service import append_event, create_contact
from hotline.routing.events import ContactAnswered, ContactOffered
from tests.config.factories import SMALL

SCRIPTED = SMALL + textwrap.dedent(
    """\
    scripts:
      - id: triage_ru
        name: Сортировка
        language: ru
        topics: [medical]
        steps:
          - {id: greet, say: Здравствуйте}
          - id: danger
            ask: Трудно дышать?
            choices:
              - {value: "yes", label: Да, next: ambulance}
              - {value: "no", label: Нет}
            next: name
          - {id: ambulance, say: Звоните 103, next: end}
          - {id: name, ask: "Как вас зовут?"}
          - {id: bye, say: До свидания}
      - id: triage_en
        name: Triage
        language: en
        topics: [medical]
        steps:
          - {id: greet, say: Hello}
          - {id: name, ask: "Your name?"}
      - id: overflow
        name: Overflow
        language: ru
        queues: [overflow]
        steps:
          - {id: sorry, say: Простите за ожидание}
    forms:
      - id: triage_ru
        name: Анкета
        language: ru
        topics: [medical]
        schema:
          type: object
          required: [age, address]
          properties:
            age: {type: integer, title: Возраст, minimum: 0, maximum: 120}
            address: {type: string, title: Адрес, minLength: 5}
            notes: {type: string, maxLength: 200}
          additionalProperties: false
        ui_schema:
          notes: {ui:widget: textarea}
    """
)


async def answered_contact(
    session: AsyncSession,
    *,
    agent_id: str,
    queue_id: str = "medical",
    attributes: dict[str, str] | None = None,
) -> str:
    """A contact of `queue_id` that `agent_id` (a user id) was offered and answered; its id."""
    async with session.begin():
        contact = await create_contact(
            session=session,
            queue_id=queue_id,
            caller_number="+70000000001",
            attributes={"topic": "medical"} if attributes is None else attributes,
        )
        for event in (
            ContactOffered(queue_id=queue_id, agent_id=agent_id, deadline=0.0),
            ContactAnswered(queue_id=queue_id, agent_id=agent_id, waited=3.0),
        ):
            await append_event(session=session, contact_id=contact.id, event=event)
        return contact.id
