"""A department specialist in headless Chromium (Debian's, driven by Playwright) against a whole
running Hotline on 127.0.0.1: signing in takes them to the agent desktop; between calls they take
a request from a citizen with no call behind it (category, the citizen's number, address, the
category's form), which becomes their department's request; then, in the browser softphone, they
answer a SIPp caller who dialled their department line straight, as an agent answers theirs.
Needs the built app (`make web`); Chromium runs with the loopback-only WebRTC flags of
shared/TESTING.md. A screenshot of the specialist's desktop goes to `artifacts/`."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import select, update

from hotline.contacts.models import Contact
from hotline.requests.models import Request
from hotline.routing.types import AgentState
from hotline.telephony.media.peer import RtpPeer
from hotline.users.models import User
from tests.api.harness import PASSWORD, password_hash
from tests.browser import launch, sign_in
from tests.calls import scenarios
from tests.calls.conftest import MINISTRY, Hotline, eventually, running_hotline

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SPECIALIST = "health01"  # department_specialist of `ministry` (tests/calls/conftest.py)
CITIZEN = "+7 495 000-77-88"

EXTRA = """\
  - username: vol_a
    name: Volunteer A
    roles: [field_worker]
    field_worker: {kind: volunteer, districts: [centre], capacity: 2}
field_worker_kinds:
  - {id: volunteer, name: {en: Volunteer, ru: Волонтёр}}
districts:
  - id: centre
    name: {en: Centre, ru: Центр}
    postcodes: ["125"]
    streets: [Тверская]
request_categories:
  - id: medicine
    name: {en: Medicine delivery, ru: Доставка лекарств}
    sla_hours: 24
    fulfilled_by: [volunteer]
    form:
      type: object
      required: [medicines]
      properties:
        medicines: {type: string, title: Medicines, minLength: 2}
      additionalProperties: false
"""


async def _state(h: Hotline, state: AgentState) -> bool:
    return (await h.agent_state(SPECIALIST))[0] is state


async def _connected_call(h: Hotline) -> Contact | None:
    specialist = await h.user_id(SPECIALIST)
    for row in await h.contacts():
        if row.state == "connected" and row.agent_id == specialist:
            return row
    return None


async def test_a_department_specialist_works_on_the_agent_desktop_with_and_without_calls(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(
        tmp_path,
        prompt_cache,
        http=True,
        http_cookie_secure=False,
        extra_config=EXTRA,
        offer_timeout=30,
    ) as h:
        async with h.sessions() as session, session.begin():
            await session.execute(
                update(User)
                .where(User.username == SPECIALIST)
                .values(password_hash=password_hash(PASSWORD), language="en")
            )
        assert h.platform.http is not None
        base = f"http://127.0.0.1:{h.platform.http.port}"
        caller_audio = await RtpPeer.open()
        try:
            async with async_playwright() as playwright:
                browser = await launch(playwright, fake_media=True)
                try:
                    page = await (await browser.new_context(locale="en-GB")).new_page()
                    await sign_in(page, base, SPECIALIST, PASSWORD, home="/agent")
                    await _a_request_with_no_call(h, page)
                    await _a_call_on_the_department_line(h, page, caller_audio)
                finally:
                    await browser.close()
        finally:
            caller_audio.close()


async def _a_request_with_no_call(h: Hotline, page: Page) -> None:
    panel = page.locator(".request-panel")
    await expect(panel.get_by_role("heading", name="Request without a call")).to_be_visible()
    await panel.get_by_role("button", name="New request").click()
    await panel.get_by_label("Category").select_option(label="Medicine delivery")
    await panel.get_by_label("Street").fill("ул. Тверская")
    await panel.get_by_label("House").fill("5")
    await panel.get_by_label("Medicines").fill("insulin")
    submit = panel.get_by_role("button", name="Create the request")
    await submit.click()  # no number yet: said beside its box, nothing sent
    number = panel.get_by_label("Citizen's phone number")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await expect(panel.get_by_role("alert").filter(has_text="phone number")).to_be_visible()
    await number.fill(CITIZEN)
    await panel.get_by_label("Caller's name").fill("Olga Sidorova")
    await submit.click()
    created = panel.get_by_role("status")
    await expect(created).to_contain_text("created")
    await expect(created).to_contain_text("Assigned to vol_a")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "specialist-request-no-call.png"), full_page=True)
    async with h.sessions() as session:
        (request,) = (await session.scalars(select(Request))).all()
        creator = await session.get(User, request.created_by_id)
    assert creator is not None
    assert (request.contact_id, request.source, request.department) == (
        None,
        "specialist",
        "ministry",
    )
    assert (request.caller_number, request.caller_name, request.form_data) == (
        CITIZEN,
        "Olga Sidorova",
        {"medicines": "insulin"},
    )
    assert (creator.username, request.district_id, request.state) == (
        SPECIALIST,
        "centre",
        "assigned",
    )


async def _a_call_on_the_department_line(h: Hotline, page: Page, caller_audio: RtpPeer) -> None:
    browser_phone = page.get_by_label("This browser")
    await browser_phone.click()
    await expect(browser_phone).to_be_checked()
    await expect(page.locator(".phone-status")).to_have_text("Connected", timeout=15000)
    await page.get_by_role("button", name="Ready", exact=True).click()
    await expect(page.locator(".state-now")).to_contain_text("Ready")
    await eventually(lambda: _state(h, AgentState.READY), 10, "the specialist ready")

    # A caller dials the department line itself (no IVR menu: its queue at once).
    caller = await h.call(
        scenarios.caller(h.folder("caller"), end="await_bye", media_port=caller_audio.address[1]),
        dialled=MINISTRY,
        time_limit=60,
    )
    offer = page.get_by_role("alertdialog", name="Incoming call")
    await expect(offer).to_contain_text(scenarios.CALLER_NUMBER, timeout=15000)
    await offer.get_by_role("button", name="Accept the call").click()
    await expect(page.locator(".state-now")).to_contain_text("On a call")
    contact: Contact = await eventually(
        lambda: _connected_call(h), 10, "the specialist on the call"
    )
    assert (contact.queue_id, contact.line_id) == ("ministry", "ministry")
    live = h.platform.calls.call_for(contact.id)
    assert live is not None
    assert live.agent is not None
    assert live.agent.leg.kind == "webrtc"
    # The caller hears the browser's microphone.
    heard = len(caller_audio.received)
    assert await caller_audio.wait_for(lambda: len(caller_audio.received) - heard > 50, 10)
    # The call's own request panel now, not the one for requests with no call.
    await expect(page.get_by_role("heading", name="Request without a call")).to_have_count(0)

    await page.get_by_role("button", name="Hang up").click()
    result = await h.finish(caller, "caller")
    assert result.returncode == 0, result.explain()
    ended = await h.ended()
    assert (ended.outcome, ended.agent_id) == ("handled", await h.user_id(SPECIALIST))
