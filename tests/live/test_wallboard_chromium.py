"""The wallboard page in headless Chromium (Debian's, driven by Playwright) on the live API of both
databases: queues shown by topic, the last 30 minutes' figures moving with events and with time
alone, callbacks waiting, a newly logged-in agent shown without a reload, and time in state
counted by the server's clock (the test's router clock is a year behind the browser's). Needs
the built app (`cd web && npm run build`). Loopback only (../shared/TESTING.md)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright, expect
from sqlalchemy import update

from hotline.contacts.service import create_contact
from hotline.users.models import User
from hotline.web import STATIC_DIR, mount_web_app
from tests.api.harness import PASSWORD
from tests.browser import launch, sign_in
from tests.live.test_api import LiveApi, live_api

__all__ = ["live_api"]


async def test_the_wallboard_shows_topics_the_last_30_minutes_and_a_new_agent_live(
    live_api: LiveApi, tmp_path: Path
) -> None:
    assert (STATIC_DIR / "index.html").is_file(), "build the app first: cd web && npm run build"
    harness = live_api.harness
    mount_web_app(harness.api)
    async with harness.sessions() as session, session.begin():
        await session.execute(update(User).where(User.username == "boss").values(language="en"))
    base = f"http://127.0.0.1:{live_api.server.port}"
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            page = await browser.new_page()
            await sign_in(page, base, "boss", PASSWORD, home="/wallboard")

            # By topic: the medical queue under its topic's name, the overflow queue under none.
            medical = page.get_by_role("region", name="Topic: Medical help")
            await expect(
                medical.get_by_role("heading", name="Medical help", level=3)
            ).to_have_count(2)
            tile = medical.get_by_role("article", name="Medical help")
            await expect(
                page.get_by_role("region", name="Topic: No topic").get_by_role(
                    "article", name="Overflow"
                )
            ).to_be_visible()

            def figure(label: str):  # type: ignore[no-untyped-def]
                return tile.locator(".figure").filter(has_text=label).locator("dd")

            await expect(figure("SL last 30 min")).to_have_text("—")

            # An agent logs in after the page's snapshot: their row comes with their name.
            await live_api.login("agent01")
            row = page.get_by_role("row").filter(has_text="Anna Ivanova")
            await expect(row).to_contain_text("Medical help")
            await expect(row.locator("td.num")).to_have_text("0:00")  # not a year

            # A contact answered after 5 s: today's and the last 30 minutes' figures.
            async with harness.sessions() as session, session.begin():
                contact = await create_contact(session=session, caller_number="+79990001122")
            await live_api.routing.arrive(contact.id, "medical")
            harness.clock.advance(5)
            await live_api.routing.answer(contact.id)
            await expect(figure("SL last 30 min")).to_have_text("100%")
            await expect(figure("ASA last 30 min")).to_have_text("0:05")
            await expect(figure("SL today")).to_have_text("100%")

            # Anna is busy; the next caller asks to be called back: a callback waiting.
            async with harness.sessions() as session, session.begin():
                waiting = await create_contact(session=session, caller_number="+79990003344")
            await live_api.routing.arrive(waiting.id, "medical")
            await live_api.routing.request_callback(waiting.id, number="+79990003344")
            await expect(figure("Callbacks waiting")).to_have_text("1")
            await expect(figure("SL today")).to_have_text("50%")  # offered today, not answered
            await page.screenshot(path=str(tmp_path / "wallboard.png"), full_page=True)

            # Half an hour on with no event: the window lets the answer go, today keeps it.
            harness.clock.advance(31 * 60)
            await live_api.feed.settle()
            await expect(figure("SL last 30 min")).to_have_text("—")
            await expect(figure("ASA last 30 min")).to_have_text("—")
            await expect(figure("SL today")).to_have_text("50%")
        finally:
            await browser.close()
