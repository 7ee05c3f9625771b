"""A warm transfer on two agent desktops in headless Chromium (Debian's, driven by Playwright)
against a whole running Hotline on 127.0.0.1, with SIPp as the caller and as both agents' SIP
phones: the agent answers the help topic's script and starts its form, consults the ministry's
specialist from the transfer dialog, and hands the caller over once the specialist has answered.
The specialist's desktop pops the consultation with the caller's topic and IVR path, shows the
answers and the draft given so far, and the specialist carries on with them to the end.

A screenshot of the specialist's desktop during the consultation is kept in `artifacts/`.
Needs the built app (`make web`)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import BrowserContext, Page, async_playwright, expect
from sqlalchemy import select, update

from hotline.contacts.models import Contact
from hotline.scripts.models import ContactForm, ContactScript
from hotline.users.models import User
from tests.api.harness import PASSWORD, password_hash
from tests.browser import launch, sign_in
from tests.calls import scenarios
from tests.calls.conftest import (
    SCRIPTS_AND_FORMS,
    TOPIC_FLOW,
    Hotline,
    eventually,
    running_hotline,
)
from tests.telephony.sip.sipp import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


async def _desk(context: BrowserContext, base: str, username: str) -> Page:
    page = await context.new_page()
    await sign_in(page, base, username, PASSWORD, home="/agent")
    return page


async def _on_the_call(h: Hotline, username: str, direction: str) -> Contact | None:
    agent_id = await h.user_id(username)
    for row in await h.contacts():
        if row.state == "connected" and row.agent_id == agent_id and row.direction == direction:
            return row
    return None


async def test_a_warm_transfer_on_the_desktops_brings_the_callers_answers_to_the_specialist(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(
        tmp_path,
        prompt_cache,
        http=True,
        http_cookie_secure=False,
        flow=TOPIC_FLOW,
        extra_config=SCRIPTS_AND_FORMS,
        wrap_up=120,
    ) as h:
        async with h.sessions() as session, session.begin():
            await session.execute(
                update(User)
                .where(User.username.in_(("agent01", "health01")))
                .values(password_hash=password_hash(PASSWORD), language="en")
            )
        assert h.platform.http is not None
        base = f"http://127.0.0.1:{h.platform.http.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        agent_port, specialist_port = free_port(), free_port()
        await h.logged_in("agent01", agent_port)
        await h.logged_in("health01", specialist_port)
        agent_phone = await h.phone(
            scenarios.answering_phone(h.folder("agent"), name="agent"), agent_port
        )
        specialist_phone = await h.phone(
            scenarios.answering_phone(h.folder("specialist"), name="specialist"),
            specialist_port,
            time_limit=60,
        )
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            try:
                anna = await _desk(await browser.new_context(locale="en-GB"), base, "agent01")
                frolov = await _desk(await browser.new_context(locale="en-GB"), base, "health01")
                caller = await h.call(
                    scenarios.caller(
                        h.folder("caller"), steps=[("pause", 1200), ("key", 1)], end="await_bye"
                    ),
                    time_limit=60,
                )
                row = await eventually(
                    lambda: _on_the_call(h, "agent01", "inbound"), 10, "agent01 answered"
                )
                await expect(anna.locator(".state-now")).to_contain_text("On a call")

                # The agent answers the script's first question and starts the form.
                script = anna.locator(".script-panel")
                nobody = script.get_by_role("button", name="Nobody in danger")
                await nobody.click()
                await expect(nobody).to_have_attribute("aria-pressed", "true")
                form = anna.locator(".form-panel")
                await form.get_by_label("Age").fill("34")
                await expect(form.get_by_role("status")).to_have_text("Draft saved")

                # A warm transfer to the ministry's queue, from the transfer dialog.
                await anna.get_by_role("button", name="Transfer", exact=True).click()
                dialog = anna.get_by_role("dialog", name="Transfer the call")
                await dialog.get_by_label("Warm: speak to them first").check()
                await dialog.get_by_label("Queue", exact=True).select_option(label="Ministry")
                await dialog.get_by_role("button", name="Transfer", exact=True).click()
                consult = await eventually(
                    lambda: _on_the_call(h, "health01", "consult"), 10, "health01 answered"
                )

                # The specialist's screen pop: who consults, the caller's topic and IVR path.
                pop = frolov.locator(".pop")
                await expect(pop).to_contain_text("Warm transfer", timeout=10000)
                await expect(pop).to_contain_text("From Anna Ivanova")
                await expect(pop.locator(".facts")).to_contain_text("help")
                await expect(pop.locator(".ivr-path")).to_contain_text("menu=1")
                # ... and the answers and the draft given so far.
                their_script = frolov.locator(".script-panel")
                await expect(
                    their_script.get_by_role("button", name="Nobody in danger")
                ).to_have_attribute("aria-pressed", "true")
                their_form = frolov.locator(".form-panel")
                await expect(their_form.get_by_label("Age")).to_have_value("34")
                await frolov.screenshot(
                    path=str(ARTIFACTS / "desktop-consultation.png"), full_page=True
                )

                # The agent hands the caller over once the specialist is on the line.
                progress = anna.locator(".transfer-progress")
                await expect(progress).to_contain_text("Consulting: Ministry")
                complete = progress.get_by_role("button", name="Complete the transfer")
                await expect(complete).to_be_enabled(timeout=10000)
                await complete.click()
                await expect(anna.locator(".state-now")).to_contain_text("Wrap-up")
                assert (await h.finish(agent_phone, "agent")).returncode == 0

                # The specialist carries on with the same script and form, and ends the call.
                name_box = their_script.get_by_role("textbox", name="What is your name?")
                await name_box.fill("Maria")
                await their_script.get_by_role("button", name="Save the answer").click()
                await expect(their_script.locator(".script-answer")).to_contain_text("Maria")
                await their_form.get_by_label("Address").fill("12 Lenin Street")
                await their_form.get_by_role("button", name="Submit the form").click()
                await expect(their_form.get_by_role("status")).to_have_text("Submitted")
                await frolov.get_by_role("button", name="Hang up").click()
                caller_result = await h.finish(caller, "caller")
                assert caller_result.returncode == 0, caller_result.explain()
                assert (await h.finish(specialist_phone, "specialist")).returncode == 0
            finally:
                await browser.close()

        async with h.sessions() as session:
            answers = (await session.scalars(select(ContactScript))).one()
            form_row = (await session.scalars(select(ContactForm))).one()
        assert (answers.contact_id, answers.answers) == (row.id, {"danger": "no", "name": "Maria"})
        assert (form_row.contact_id, form_row.status, form_row.submitted_by) == (
            row.id,
            "submitted",
            "health01",
        )
        assert form_row.data == {"age": 34, "address": "12 Lenin Street"}
        assert (await h.contact(consult.id)).agent_id == await h.user_id("health01")
