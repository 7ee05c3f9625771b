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
