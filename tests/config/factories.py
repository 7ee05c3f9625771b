"""Small hotline configurations for tests, built as YAML text so that line numbers are known."""

from __future__ import annotations

import textwrap

from hotline.users.passwords import ScryptCost

# Cheap hashing for tests that import configurations; the real cost is exercised by `init`.
FAST_HASHING = ScryptCost(n=2**8)

SMALL = textwrap.dedent(
    """\
    version: 1
    skills:
      - {id: medical, name: Medical help}
      - {id: ru, name: Russian, kind: language}
    calendars:
      - id: city
        name: City hours
        timezone: Europe/Moscow
        hours:
          - {days: mon-fri, open: "08:00", close: "22:00"}
    queues:
      - id: medical
        name: Medical help
        skills: [{skill: medical}, {skill: ru}]
        strategy: best_skill
        hours: city
        overflow:
          - {after: 60, action: callback}
      - id: overflow
        name: Overflow
        strategy: longest_idle
    lines:
      - {id: city, name: City line, number: "+7 495 000-11-22", queue: medical, hours: city}
    wrap_up_codes:
      - {id: consultation, name: Consultation given}
    users:
      - username: agent01
        name: Anna Ivanova
        roles: [agent]
        skills: [{skill: medical, level: 7}, {skill: ru, level: 10, preference: 1}]
      - {username: boss, name: Boris Petrov, roles: [supervisor]}
    """
)

# Request categories, districts and field workers: appended to SMALL (after its users).
DISPATCH = textwrap.dedent(
    """\
      - username: vol01
        name: Mikhail Gusev
        roles: [field_worker]
        field_worker: {kind: volunteer, districts: [centre], capacity: 2}
    field_worker_kinds:
      - {id: volunteer, name: {en: Volunteer, ru: Волонтёр}}
      - {id: courier, name: {en: Courier, ru: Курьер}}
    districts:
      - id: centre
        name: {en: Centre, ru: Центр}
        postcodes: ["125"]
        streets: [Тверская]
      - id: north
        name: {en: North, ru: Север}
        postcodes: ["127"]
    request_categories:
      - id: medicine
        name: {en: Medicine delivery, ru: Доставка лекарств}
        sla_hours: 24
        fulfilled_by: [volunteer, courier]
        form:
          type: object
          required: [medicines]
          properties:
            medicines: {type: string, minLength: 2}
            budget: {type: integer, minimum: 0}
          additionalProperties: false
      - id: payments
        name: {en: Payments question, ru: Вопрос о выплатах}
        sla_hours: 72
        information_only: true
    """
)

WITH_DISPATCH = SMALL + DISPATCH
"""SMALL with a field worker, two kinds, two districts and two request categories."""
