"""The field worker's page on a phone (headless Chromium, 390x844, touch) against a whole running
Hotline on each database: a volunteer sees only their own task, accepts it, calls the citizen
through the platform (their SIPp phone rings, then the citizen's, and the two are bridged), and
marks it done with a note (an empty note is refused beside the note's box); another volunteer's
phone shows only their own task and is refused the first one, goes off duty and marks their task
failed with a reason; the citizen's full number is never in the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from hotline.contacts.models import Contact
from hotline.dispatch.service import auto_assign
from hotline.requests.models import Request
from hotline.requests.schemas import RequestCreate
from hotline.requests.service import create_request
from tests.browser import launch, sign_in
from tests.calls.conftest import Hotline, eventually, prompt_cache, web_hotline
from tests.requests.phone_page import (
    DISPATCH,
    PASSWORD,
    artifact,
    fits_the_screen,
    phone,
    sip_account,
    task_card,
    web_passwords,
)
from tests.telephony.sip.sipp import free_port

__all__ = ["prompt_cache"]
CITIZEN = "+7 495 123-45-67"
NEIGHBOUR = "+7 495 765-43-21"
HIDDEN = ("1234567", "123-45-67", "123 45 67", "4951234567")


async def _assigned(h: Hotline, key: str, number: str, postcode: str, worker: str) -> str:
    """A medicine request at `postcode`, assigned automatically (to `worker`, the only
    volunteer of that district)."""
    worker_id = await h.user_id(worker)  # read before the write session: SQLite has one writer
    async with h.sessions() as session, session.begin():
        change = await create_request(
            session=session,
            data=RequestCreate.model_validate(
                {
                    "category": "medicine",
                    "idempotency_key": key,
                    "caller": {"number": number, "name": "Anna Ivanova"},
                    "address": {"postcode": postcode, "street": "Тверская", "house": "5"},
                    "form": {"medicines": "Aspirin, 2 packs", "payment": "caller_cash"},
                }
            ),
            actor=None,
        )
        assigned = await auto_assign(session=session, request_id=change.request.id, actor=None)
        assert assigned.worker_id == worker_id
    return change.request.id


async def _citizen_call(h: Hotline, request_id: str) -> Contact | None:
    async with h.sessions() as session:
        rows = await session.scalars(select(Contact).where(Contact.direction == "outbound"))
        ended = [
            row
            for row in rows
            if row.attributes.get("request_id") == request_id and row.state == "ended"
        ]
    return ended[0] if ended else None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_on_a_phone_a_volunteer_accepts_calls_the_citizen_and_finishes_only_their_own_task(
    backend: str, tmp_path: Path, prompt_cache: Path
) -> None:
    citizen_port = free_port()
    async with (
        web_hotline(
            backend,
            tmp_path,
            prompt_cache,
            callback_route=f"sip:{{number}}@127.0.0.1:{citizen_port}",
            extra_config=DISPATCH,
        ) as h,
        async_playwright() as playwright,
    ):
        mine = await _assigned(h, "phone-page-1", CITIZEN, "125009", "vol01")
        theirs = await _assigned(h, "phone-page-2", NEIGHBOUR, "127006", "vol02")
        await web_passwords(h, "vol01", "vol02")
        await sip_account(h, "vol01")
        worker_phone, citizen = await h.citizen_call_phones("vol01", citizen_port)
        assert h.platform.http is not None
        base = f"http://127.0.0.1:{h.platform.http.port}"
        browser = await launch(playwright)
        try:
            page = await (await phone(browser)).new_page()
            await sign_in(page, base, "vol01", PASSWORD, home="/field")
            card = task_card(page, mine)
            await expect(card).to_contain_text("Waiting for you to accept")
            await expect(card).to_contain_text("Тверская 5 (125009)")
            await expect(card).to_contain_text("***-**-67")
            await expect(card).to_contain_text("Aspirin, 2 packs")
            await expect(task_card(page, theirs)).to_have_count(0)
            accept = card.get_by_role("button", name="Accept")
            box = await accept.bounding_box()
            assert box is not None
            assert box["height"] >= 48  # a thumb's target
            assert await fits_the_screen(page)

            await accept.tap()
            await expect(card).to_contain_text("Accepted")
            await page.screenshot(path=artifact(f"field-phone-page-{backend}.png"), full_page=True)
            await card.get_by_role("button", name="Call the citizen").tap()
            await expect(card.get_by_role("status")).to_contain_text("Your phone will ring")
            assert (await h.finish(citizen, "citizen")).returncode == 0  # answered, hung up
            assert (await h.finish(worker_phone, "vol01")).returncode == 0  # released by Hotline
            call = await eventually(lambda: _citizen_call(h, mine), 10, "the citizen call ended")
            assert (call.caller_number, call.outcome) == (CITIZEN, "handled")
            assert call.attributes["purpose"] == "field_call"

            await card.get_by_role("button", name="Done").tap()
            await card.get_by_role("button", name="Mark done").tap()  # no note yet: refused
            note = card.get_by_label("What was done (the citizen is told)")
            await expect(note).to_have_attribute("aria-invalid", "true")
            await expect(card.locator(".field-problem")).to_be_visible()
            await note.fill("Bought and delivered; the receipt is with the caller.")
            await page.screenshot(
                path=artifact(f"field-phone-page-done-note-{backend}.png"), full_page=True
            )
            await card.get_by_role("button", name="Mark done").tap()
            await expect(card).to_have_count(0)  # no longer among the open tasks
            await expect(page.get_by_text("No tasks for you now.")).to_be_visible()
            await page.get_by_label("Show finished tasks").tap()
            await expect(card).to_contain_text("Bought and delivered")
            await expect(card).to_contain_text("Done")
            html = await page.content()
            assert not [digits for digits in HIDDEN if digits in html]

            other = await (await phone(browser)).new_page()
            await sign_in(other, base, "vol02", PASSWORD, home="/field")
            await expect(task_card(other, theirs)).to_contain_text("***-**-21")
            await expect(task_card(other, mine)).to_have_count(0)
            refused = await other.request.get(f"{base}/api/v1/tasks/{mine}")
            assert refused.status == 403
            assert not [digits for digits in HIDDEN if digits in await other.content()]

            # Off duty (no new tasks), yet the task held stays theirs: it could not be done.
            await other.get_by_role("button", name="On duty").tap()
            await expect(other.get_by_role("button", name="Off duty")).to_have_attribute(
                "aria-pressed", "false"
            )
            duty = await other.request.get(f"{base}/api/v1/field-workers/me")
            assert (await duty.json())["available"] is False
            card = task_card(other, theirs)
            await card.get_by_role("button", name="Accept").tap()
            await card.get_by_role("button", name="Could not do it").tap()
            await card.get_by_label("Why it could not be done").fill("Nobody home, three visits.")
            await card.get_by_role("button", name="Mark failed").tap()
            await expect(card).to_have_count(0)
            async with h.sessions() as session:
                failed = await session.get(Request, theirs)
                assert failed is not None
                assert (failed.state, failed.reason) == ("failed", "Nobody home, three visits.")
        finally:
            await browser.close()
