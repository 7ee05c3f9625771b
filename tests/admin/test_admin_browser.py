"""The administration pages in headless Chromium (Debian's, driven by Playwright) against a whole
running Hotline: an administrator signs in, edits the line's IVR flow in the browser, checks it
(a problem is shown on its line), publishes it, and the next SIPp caller pressing the new key
reaches the new branch. Needs the built app (`make web`). Loopback only (docs: TESTING.md)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright, expect
from sqlalchemy import update

from hotline.users.models import User
from tests.admin.test_live_platform import INFO, PASSWORD, administrator
from tests.browser import launch, sign_in
from tests.calls import scenarios
from tests.calls.conftest import FLOW, running_hotline


async def test_an_administrator_publishes_a_menu_option_in_the_browser_and_the_next_call_takes_it(
    tmp_path: Path, prompt_cache: Path
) -> None:
    draft = FLOW.replace('"3": to_outside}', '"3": to_outside, "4": to_info}') + INFO
    broken = draft.replace("queue: help", "queue: helpp")
    bad_line = next(n for n, text in enumerate(broken.splitlines(), 1) if "helpp" in text)
    async with (
        running_hotline(tmp_path, prompt_cache, http=True, http_cookie_secure=False) as h,
        administrator(h),  # makes the account; the browser signs in on its own
        async_playwright() as playwright,
    ):
        async with h.sessions() as session, session.begin():
            await session.execute(update(User).where(User.username == "root").values(language="en"))
        http = h.platform.http
        assert http is not None
        base = f"http://127.0.0.1:{http.port}"
        browser = await launch(playwright)
        try:
            page = await browser.new_page()
            await sign_in(page, base, "root", PASSWORD, home="/admin")
            await page.get_by_role("tab", name="IVR flows").click()
            editor = page.locator("#flow-text")
            await expect(editor).to_have_value(FLOW)

            await editor.fill(broken)
            await page.get_by_role("button", name="Check").click()
            problem = page.get_by_role("alert").filter(has_text="unknown queue 'helpp'")
            await expect(problem).to_contain_text(f"Line {bad_line}")
            await expect(page.locator(".yaml-gutter .bad")).to_have_text(str(bad_line))
            await problem.get_by_role("button", name=f"Line {bad_line}").click()
            selected = await editor.evaluate("e => e.value.slice(e.selectionStart, e.selectionEnd)")
            assert selected.strip() == "queue: helpp"

            await editor.fill(draft)
            await page.get_by_role("button", name="Check").click()
            await expect(page.get_by_text("No problems found.")).to_be_visible()
            await page.get_by_role("button", name="Show differences").click()
            await expect(page.locator(".diff tr.diff-add").first).to_contain_text('"4": to_info')
            await page.get_by_label("Note for the history").fill("key 4: information")
            await page.get_by_role("button", name="Publish").click()
            await expect(page.get_by_text("Published as version 2")).to_be_visible()
            await expect(page.locator("table.versions tr.current")).to_contain_text("key 4")
            await page.screenshot(path=str(tmp_path / "admin-flows.png"), full_page=True)
        finally:
            await browser.close()

        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 4)], end="await_bye"
            )
        )
        assert (await h.finish(caller, "caller")).returncode == 0
        contact = await h.ended()
        log = dict(await h.log(contact.id))
        path = log["ivr.completed"]["path"]
        assert [(p["step"], p["input"]) for p in path] == [("menu", "4"), ("to_info", None)]  # type: ignore[index]
        assert log["ivr.completed"]["flow_version"] == 2
