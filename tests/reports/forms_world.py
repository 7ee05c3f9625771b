"""A city (tests/requests/city.py) with an agent form for the `medical` and `covid` topics, and
contacts whose agent filled it in through the API, as the desktop does: the form answers report's
test and the reports page's browser test both count these."""

from __future__ import annotations

import textwrap
from typing import Any

from sqlalchemy import update

from hotline.contacts.models import Contact
from tests.requests.city import CITY
from tests.requests.field_api import FieldApi
from tests.scripts.factories import answered_contact

SURVEY = textwrap.dedent(
    """\
    forms:
      - id: survey
        name: Survey
        language: ru
        topics: [medical, covid]
        schema:
          type: object
          required: [help]
          properties:
            age: {type: integer, title: Age, minimum: 0}
            help:
              type: string
              title: Need
              oneOf:
                - {const: doctor, title: Doctor at home}
                - {const: advice, title: Advice}
            symptoms:
              type: array
              title: Symptoms
              uniqueItems: true
              items: {type: string, enum: [fever, cough, none]}
            risk: {type: boolean, title: Risk group}
            notes: {type: string, title: Notes}
            home:
              type: object
              title: Home
              properties:
                street: {type: string, title: Street}
                floor: {type: integer, title: Floor}
        ui_schema:
          ui:order: [age, help, symptoms, risk, notes, home]
          home: {ui:order: [street, floor]}
    """
)
CONFIG = CITY + SURVEY

ANSWERS: list[tuple[str, dict[str, Any]]] = [
    (
        "medical",
        {
            "age": 70,
            "help": "doctor",
            "symptoms": ["fever", "cough"],
            "risk": True,
            "notes": "lives alone",
            "home": {"street": "Tverskaya", "floor": 2},
        },
    ),
    ("medical", {"age": 30, "help": "advice", "symptoms": ["cough"], "risk": False, "notes": ""}),
    ("covid", {"age": 41, "help": "doctor", "symptoms": [], "risk": True}),
]
"""Submitted, one contact each, in this order."""


async def answered(api: FieldApi, topic: str) -> str:
    """A contact of `topic` that agent01 answered, arrived now by the test's clock."""
    agent_id = await api.user_id("agent01")
    async with api.sessions() as session:
        contact_id = await answered_contact(session, agent_id=agent_id, attributes={"topic": topic})
    async with api.sessions() as session, session.begin():
        await session.execute(
            update(Contact).where(Contact.id == contact_id).values(arrived_at=api.now())
        )
    return contact_id


async def fill_forms(api: FieldApi) -> list[str]:
    """agent01 submits ANSWERS, each for a new contact, and saves one more as a draft only (not
    counted); the contacts' ids."""
    contacts = []
    async with api.signed_in("agent01") as agent:
        for topic, data in ANSWERS:
            contact_id = await answered(api, topic)
            answer = await agent.post(
                f"/api/v1/contacts/{contact_id}/form",
                json={"base_version": 0, "data": data, "form_id": "survey"},
            )
            assert answer.status_code == 200, answer.text
            contacts.append(contact_id)
        draft = await answered(api, "medical")
        answer = await agent.put(
            f"/api/v1/contacts/{draft}/form-draft",
            json={"base_version": 0, "data": {"age": 99, "help": "advice"}},
        )
        assert answer.status_code == 200, answer.text
    return contacts
