"""What the field worker's page tests share (tests/requests/test_field_browser.py and
test_end_to_end.py): a running Hotline's dispatch configuration with two volunteers in two
districts and a supervisor, web passwords for people of the configuration, and headless
Chromium (Debian's, driven by Playwright) holding a phone: a 390x844 touch screen. Screenshots go
to the repository's `artifacts/` folder (ignored by git) for CI to keep. Loopback only
(TESTING.md). Needs the built app (`make web`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page
from sqlalchemy import select

from hotline.users.models import User
from hotline.users.sip import set_sip_password
from tests.api.harness import PASSWORD, password_hash
from tests.calls.conftest import REALM, Hotline

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
}

# Appended to tests/calls/conftest.py's CONFIG: more users, then the dispatch sections.
DISPATCH = """\
  - username: vol01
    name: Mikhail Gusev
    roles: [field_worker]
    field_worker: {kind: volunteer, districts: [centre], capacity: 2}
  - username: vol02
    name: Olga Smirnova
    roles: [field_worker]
    field_worker: {kind: volunteer, districts: [north], capacity: 2}
  - username: boss
    name: Vera Sokolova
    roles: [supervisor]
field_worker_kinds:
  - {id: volunteer, name: {en: Volunteer, ru: Волонтёр}}
districts:
  - {id: centre, name: {en: Centre, ru: Центр}, postcodes: ["125"], streets: [Тверская]}
  - {id: north, name: {en: North, ru: Север}, postcodes: ["127"]}
request_categories:
  - id: medicine
    name: {en: Medicine delivery, ru: Доставка лекарств}
    sla_hours: 24
    fulfilled_by: [volunteer]
    form:
      type: object
      required: [medicines, payment]
      properties:
        medicines: {type: string, title: Medicines and amounts, minLength: 2, maxLength: 2000}
        payment: {type: string, title: Who pays, enum: [caller_cash, caller_transfer]}
      additionalProperties: false
"""


def artifact(name: str) -> str:
    """Where a screenshot goes: `artifacts/<name>` of the repository."""
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / name)


async def web_passwords(h: Hotline, *usernames: str) -> None:
    """`PASSWORD` for these people, already chosen (no forced change) and the page in English."""
    async with h.sessions() as session, session.begin():
        users = await session.scalars(select(User).where(User.username.in_(usernames)))
        for user in users:
            user.password_hash = password_hash(PASSWORD)
            user.must_change_password = False
            user.language = "en"


async def sip_account(h: Hotline, username: str) -> None:
    """A SIP account for a field worker's phone (`hotline init` makes them only for agents and
    specialists), so that Hotline can ring it to call a citizen."""
    async with h.sessions() as session, session.begin():
        user = (await session.scalars(select(User).where(User.username == username))).one()
        await set_sip_password(session=session, user=user, realm=REALM, password=PASSWORD)
    h.sip_passwords[username] = PASSWORD


async def phone(browser: Browser) -> BrowserContext:
    """A new phone (its own cookies: its own session)."""
    return await browser.new_context(**PHONE)


def task_card(page: Page, request_id: str) -> Any:
    """The card of one task on the field worker's page."""
    return page.locator(f"article[data-task='{request_id}']")


async def fits_the_screen(page: Page) -> bool:
    """Nothing wider than the phone's screen: no sideways scrolling."""
    return bool(
        await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    )
