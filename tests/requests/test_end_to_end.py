"""Issue 5's whole loop on a running Hotline, on each database: a SIPp caller dials the city line
and presses 1 (the help topic); agent01's SIPp phone answers; on the agent desktop in headless
Chromium the agent creates a medicine-delivery request from the call (a missing field is shown
beside its input; the form submitted twice makes one request); it is assigned at once to the
volunteer of the address's district, whose open phone page (a 390x844 touch screen) shows it by
itself; the volunteer accepts it and marks it done there, and the agent's panel shows it done
while the call is still on; the caller's status messages are in the outbox (GET /api/v1/outbox)
and the requests report counts it as done within its SLA. Screenshots of both screens go to
`artifacts/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import APIRequestContext, async_playwright, expect
from sqlalchemy import select

from hotline.contacts.models import Contact
from hotline.notifications.templates import reference
from hotline.requests.models import Request
from tests.browser import launch, sign_in
from tests.calls import scenarios
from tests.calls.conftest import Hotline, eventually, prompt_cache, web_hotline
from tests.calls.scenarios import CALLER_NUMBER
from tests.requests.phone_page import (
    DISPATCH,
    PASSWORD,
    artifact,
    phone,
    task_card,
    web_passwords,
)
from tests.telephony.sip.sipp import free_port

__all__ = ["prompt_cache"]
DESKTOP: dict[str, Any] = {"viewport": {"width": 1400, "height": 1000}, "locale": "en-GB"}


async def _answered(h: Hotline) -> Contact | None:
    """The caller's contact once agent01 is talking to them."""
    agent_id = await h.user_id("agent01")
    for row in await h.contacts():
        if row.state == "connected" and row.agent_id == agent_id and row.direction == "inbound":
            return row
    return None


async def _requests(h: Hotline) -> list[Request]:
    async with h.sessions() as session:
        return list((await session.scalars(select(Request))).all())


async def _supervisor(api: APIRequestContext, base: str) -> None:
    answer = await api.post(
        f"{base}/api/v1/auth/login", data={"username": "boss", "password": PASSWORD}
    )
    assert answer.status == 200, await answer.text()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_call_becomes_a_medicine_delivery_a_volunteer_completes_on_their_phone(
    backend: str, tmp_path: Path, prompt_cache: Path
) -> None:
    async with (
        web_hotline(
            backend,
            tmp_path,
            prompt_cache,
            offer_timeout=8,
            extra_config=DISPATCH,
        ) as h,
        async_playwright() as playwright,
    ):
        await web_passwords(h, "agent01", "vol01", "boss")
        assert h.platform.http is not None
        base = f"http://127.0.0.1:{h.platform.http.port}"
        phone_port = free_port()
        await h.logged_in("agent01", phone_port)
        agent_phone = await h.phone(
            scenarios.answering_phone(h.folder("agent01")), phone_port, time_limit=150
        )
        browser = await launch(playwright)
        try:
            desk = await (await browser.new_context(**DESKTOP)).new_page()
            await sign_in(desk, base, "agent01", PASSWORD, home="/agent")
            field = await (await phone(browser)).new_page()  # the volunteer, waiting for work
            await sign_in(field, base, "vol01", PASSWORD, home="/field")
            await expect(field.get_by_text("No tasks for you now.")).to_be_visible()
            caller = await h.call(
                scenarios.caller(
                    h.folder("caller"), steps=[("pause", 1200), ("key", 1)], end="await_bye"
                ),
                time_limit=150,
            )
            contact = await eventually(lambda: _answered(h), 20, "agent01 answered the caller")

            # The agent: a request from the call's form.
            panel = desk.get_by_role("region", name="Requests")
            await expect(panel).to_contain_text("This caller has no requests yet.")
            await panel.get_by_role("button", name="Create request").click()
            await panel.get_by_label("Category").select_option("medicine")
            await panel.get_by_label("Postcode").fill("125009")
            await panel.get_by_label("Street").fill("ул. Тверская")
            await panel.get_by_label("House").fill("5")
            await panel.get_by_role("button", name="Create the request").click()
            medicines = panel.get_by_label("Medicines and amounts")
            await expect(medicines).to_have_attribute("aria-invalid", "true")
            await expect(panel.locator("#rq-form-medicines-problem")).to_be_visible()
            assert await _requests(h) == []
            await medicines.fill("Aspirin, 2 packs")
            await panel.get_by_label("Who pays").select_option("caller_cash")
            # Submitted twice before the first answer: one request.
            await panel.locator("form.request-form").evaluate(
                "form => { form.requestSubmit(); form.requestSubmit(); }"
            )
            await expect(panel.get_by_role("status")).to_contain_text("Assigned to vol01.")
            rows = panel.locator("table.caller-requests tbody tr")
            await expect(rows).to_have_count(1)
            await expect(rows).to_contain_text("Assigned, not accepted yet")
            (request,) = await _requests(h)
            assert (request.contact_id, request.district_id, request.category_id) == (
                contact.id,
                "centre",
                "medicine",
            )
            assert request.worker_id == await h.user_id("vol01")
            # "created", not "already created": the first answer is the one that made it
            ref = reference(request.id)
            await expect(panel.get_by_role("status")).to_contain_text(f"Request #{ref} created.")
            await desk.screenshot(path=artifact(f"e2e-agent-desktop-{backend}.png"), full_page=True)

            # The volunteer's phone shows the new task by itself (the live connection).
            card = task_card(field, request.id)
            await expect(card).to_contain_text("ул. Тверская 5 (125009)")
            await expect(card).to_contain_text("***-**-22")
            await card.get_by_role("button", name="Accept").tap()
            await expect(card).to_contain_text("Accepted")
            await field.screenshot(path=artifact(f"e2e-field-phone-task-{backend}.png"))
            await card.get_by_role("button", name="Done").tap()
            await card.get_by_label("What was done (the citizen is told)").fill(
                "Bought and delivered."
            )
            await card.get_by_role("button", name="Mark done").tap()
            await expect(field.get_by_text("No tasks for you now.")).to_be_visible()
            await field.screenshot(path=artifact(f"e2e-field-phone-done-{backend}.png"))
            assert CALLER_NUMBER[-7:] not in await field.content()

            # Back on the desktop, live, while the caller is still on the line.
            await expect(rows).to_contain_text("Done")
            await desk.get_by_role("button", name="Hang up").click()
            assert (await h.finish(caller, "caller")).returncode == 0  # Hotline's BYE
            assert (await h.finish(agent_phone, "agent01")).returncode == 0

            # The caller is told; the report counts it.
            boss = (await browser.new_context()).request
            await _supervisor(boss, base)

            async def told() -> list[dict[str, Any]] | None:
                answer = await boss.get(f"{base}/api/v1/outbox?request_id={request.id}")
                messages: list[dict[str, Any]] = (await answer.json())["messages"]
                kept = [m for m in messages if m["status"] == "kept"]
                return kept if len(kept) == 2 else None

            messages = await eventually(told, 10, "both status messages in the outbox")
            assert {m["to"] for m in messages} == {"***-**-22"}
            assert all(reference(request.id) in m["text"] for m in messages)
            report = await boss.get(f"{base}/api/v1/reports/requests?by=category")
            assert report.status == 200, await report.text()
            (table,) = (await report.json())["tables"]
            counts = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
            (medicine,) = [c for c in counts if c["category"] == "medicine"]
            assert (medicine["created"], medicine["done"], medicine["done_within_sla"]) == (1, 1, 1)
        finally:
            await browser.close()
