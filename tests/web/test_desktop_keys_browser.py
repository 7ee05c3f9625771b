"""The agent desktop without the mouse, and through a reload and a dropped network, in headless
Chromium (Debian's, driven by Playwright) against a whole running Hotline on 127.0.0.1, with SIPp
callers who pick the help topic (SIPp's own RFC 2833 recording of key 1, sent by an `RtpPeer`).

The keyboard: F8 makes the agent ready, F2 answers the offer ringing on the browser softphone, F4
hangs up; the wrap-up timer counts; a reload during wrap-up keeps the caller's contact on screen
(number, topic, script answers, form draft, notes) and the timer goes on from where it was; then,
with "Answer automatically" ticked, the next offer is answered by itself.

The network: it drops while the agent fills the form; what they type meanwhile reaches the
server's draft once it is back, and the live events reconnect by themselves.

Needs the built app (`make web`). Chromium runs with the loopback-only WebRTC flags of
shared/TESTING.md."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Page, Route, expect
from sqlalchemy import select

from hotline.routing.types import AgentState
from hotline.scripts.models import ContactForm
from hotline.telephony.media.peer import RtpPeer
from tests.calls import scenarios
from tests.calls.conftest import TOPIC_FLOW, Hotline, eventually, running_hotline
from tests.telephony.media.support import tone, write_wav
from tests.web.softphone import (
    caller_picks_help,
    chromium,
    in_state,
    on_the_browser_softphone,
    signed_in,
    users_for_the_browser,
)

EXTRA = """\
wrap_up_codes:
  - {id: advice, name: Advice given}
scripts:
  - id: help_en
    name: Help line
    language: en
    topics: [help]
    steps:
      - id: danger
        ask: Is anyone in danger right now?
        choices:
          - {value: "yes", label: "Yes, in danger", next: emergency}
          - {value: "no", label: "Nobody in danger"}
        next: bye
      - {id: emergency, say: Call 112 at once., next: end}
      - {id: bye, say: Thank you for calling.}
forms:
  - id: help_en
    name: Help request
    language: en
    topics: [help]
    schema:
      type: object
      properties:
        age: {type: integer, title: Age, minimum: 0, maximum: 120}
        address: {type: string, title: Address}
      additionalProperties: false
"""


@asynccontextmanager
async def _hotline(tmp_path: Path, prompt_cache: Path) -> AsyncIterator[Hotline]:
    async with running_hotline(
        tmp_path,
        prompt_cache,
        http=True,
        http_cookie_secure=False,
        extra_config=EXTRA,
        flow=TOPIC_FLOW,
        offer_timeout=30,  # the agent in the browser has time to answer
        wrap_up=300,  # wrap-up ends by the agent's code, not by the timer
    ) as h:
        await users_for_the_browser(h, "agent01")
        yield h


@asynccontextmanager
async def _desk(h: Hotline, tmp_path: Path) -> AsyncIterator[Page]:
    """agent01 signed in on the desktop in Chromium, taking calls in this browser."""
    assert h.platform.http is not None
    base = f"http://127.0.0.1:{h.platform.http.port}"
    async with chromium(write_wav(tmp_path / "microphone.wav", tone(600, 3.0))) as browser:
        context = await browser.new_context(locale="en-GB")
        desk = await signed_in(context, base, "agent01", home="/agent")
        await on_the_browser_softphone(desk)
        yield desk


@asynccontextmanager
async def _caller(h: Hotline, name: str) -> AsyncIterator[Any]:
    """A SIPp caller who picks the help topic (key 1) and stays until Hotline hangs up."""
    audio = await RtpPeer.open()
    try:
        yield await caller_picks_help(h, audio, time_limit=120, name=name)
    finally:
        audio.close()


async def _timer_seconds(desk: Page) -> int:
    text = await desk.get_by_role("timer").inner_text()
    minutes, seconds = text.split(":")[-2:]
    return int(minutes) * 60 + int(seconds)


async def _later(route: Route) -> None:
    """Let a request through after a while."""
    await asyncio.sleep(2)
    await route.continue_()


async def _form_data(h: Hotline, contact_id: str) -> dict[str, Any] | None:
    async with h.sessions() as session:
        row = await session.scalar(select(ContactForm).where(ContactForm.contact_id == contact_id))
    return None if row is None else dict(row.data)


async def test_keys_answer_hang_up_and_make_ready_and_a_reload_in_wrap_up_keeps_the_contact(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _hotline(tmp_path, prompt_cache) as h, _desk(h, tmp_path) as desk:
        state_now = desk.locator(".state-now")
        # F8: ready.
        await desk.keyboard.press("F8")
        await expect(state_now).to_contain_text("Ready")
        await eventually(lambda: in_state(h, AgentState.READY), 10, "agent01 ready")

        async with _caller(h, "caller") as caller:
            offer = desk.get_by_role("alertdialog", name="Incoming call")
            await expect(offer).to_contain_text(scenarios.CALLER_NUMBER, timeout=10000)
            # F2: answer.
            await desk.keyboard.press("F2")
            await expect(state_now).to_contain_text("On a call")
            await eventually(lambda: in_state(h, AgentState.BUSY), 10, "agent01 on the call")
            (contact,) = await h.contacts()

            # The script's answer, a form draft and notes, during the call.
            script = desk.locator(".script-panel")
            await script.get_by_role("button", name="Nobody in danger").click()
            form = desk.locator(".form-panel")
            await form.get_by_label("Age").fill("71")
            await form.get_by_label("Address").fill("5 Tverskaya Street")
            await expect(form.get_by_role("status")).to_have_text("Draft saved")
            await desk.get_by_role("textbox", name="Notes").fill("Needs medicine on Monday")
            await desk.evaluate("document.activeElement.blur()")

            # F4: hang up; the caller gets Hotline's BYE.
            await desk.keyboard.press("F4")
            result = await h.finish(caller, "caller")
            assert result.returncode == 0, result.explain()

        # Wrap-up, and its timer counts.
        await expect(state_now).to_contain_text("Wrap-up")
        timer = desk.get_by_role("timer")
        await expect(timer).not_to_have_text(_showing(await _timer_seconds(desk)))
        before_reload, read_at = await _timer_seconds(desk), time.monotonic()

        # A reload in wrap-up: the contact stays on screen, the timer goes on. The live
        # snapshot (which has no contact for an agent in wrap-up) arrives before the agent's own
        # view (which has it), as it may on a slow network.
        await desk.route("**/api/v1/agent/me", _later)
        await desk.reload()
        await expect(state_now).to_contain_text("Wrap-up")
        pop = desk.locator(".pop")
        await expect(pop.locator(".caller-number")).to_have_text(scenarios.CALLER_NUMBER)
        topic = pop.locator(".facts > div").filter(has=desk.get_by_text("Topic", exact=True))
        await expect(topic.locator("dd")).to_have_text("help")
        await expect(desk.locator(".script-panel")).to_contain_text("Nobody in danger")
        form = desk.locator(".form-panel")
        await expect(form.get_by_label("Age")).to_have_value("71")
        await expect(form.get_by_label("Address")).to_have_value("5 Tverskaya Street")
        await expect(desk.get_by_role("textbox", name="Notes")).to_have_value(
            "Needs medicine on Monday"
        )
        await desk.unroute("**/api/v1/agent/me", _later)
        # Counted from the start of wrap-up (the server's), not from the reload.
        waited = time.monotonic() - read_at
        after_reload = await _timer_seconds(desk)
        assert after_reload >= before_reload + int(waited) - 1, (before_reload, waited)
        await expect(timer).not_to_have_text(_showing(after_reload))

        wrap_up = desk.locator(".wrapup")
        await wrap_up.get_by_role("combobox", name="Disposition code").select_option(
            label="Advice given"
        )
        await wrap_up.get_by_role("button", name="Finish wrap-up").click()
        await expect(state_now).to_contain_text("Ready")
        record = await h.contact(contact.id)
        assert (record.wrap_up_code_id, record.wrap_up_note) == (
            "advice",
            "Needs medicine on Monday",
        )

        # F8 again: not ready; and again: ready.
        await desk.keyboard.press("F8")
        await expect(state_now).to_contain_text("Not ready")
        await eventually(lambda: in_state(h, AgentState.NOT_READY), 10, "agent01 not ready")
        await desk.keyboard.press("F8")
        await expect(state_now).to_contain_text("Ready")

        # Answer automatically: the next offer is answered without a key or a click.
        await desk.get_by_label("Answer automatically").check()
        async with _caller(h, "second") as second:
            await expect(state_now).to_contain_text("On a call", timeout=15000)
            await eventually(lambda: in_state(h, AgentState.BUSY), 10, "the second call answered")
            await desk.keyboard.press("F4")
            result = await h.finish(second, "second")
            assert result.returncode == 0, result.explain()
        await expect(state_now).to_contain_text("Wrap-up")


def _showing(seconds: int) -> re.Pattern[str]:
    """The timer's text at exactly `seconds`."""
    return re.compile(rf"^{seconds // 60}:{seconds % 60:02d}$")


async def test_edits_made_while_the_network_is_down_reach_the_server_and_events_reconnect(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _hotline(tmp_path, prompt_cache) as h, _desk(h, tmp_path) as desk:
        live = desk.get_by_role("status", name=re.compile("Live updates"))
        await expect(live).to_contain_text("Live")
        await desk.get_by_role("button", name="Ready", exact=True).click()
        await eventually(lambda: in_state(h, AgentState.READY), 10, "agent01 ready")
        async with _caller(h, "caller") as caller:
            offer = desk.get_by_role("alertdialog", name="Incoming call")
            await expect(offer).to_contain_text(scenarios.CALLER_NUMBER, timeout=10000)
            await offer.get_by_role("button", name="Accept the call").click()
            await eventually(lambda: in_state(h, AgentState.BUSY), 10, "agent01 on the call")
            (contact,) = await h.contacts()
            form = desk.locator(".form-panel")
            status = form.get_by_role("status")
            await form.get_by_label("Age").fill("34")
            await expect(status).to_have_text("Draft saved")
            assert await _form_data(h, contact.id) == {"age": 34}

            # The network drops while the agent types the address.
            await desk.context.set_offline(True)
            await expect(live).to_contain_text("reconnecting")
            await form.get_by_label("Address").fill("12 Lenin Street")
            await expect(status).to_have_text(re.compile("no connection"), timeout=10000)
            assert await _form_data(h, contact.id) == {"age": 34}
            await expect(live).to_contain_text("reconnecting")  # still: it cannot get through

            # Back: the draft reaches the server and the live events resume by themselves.
            await desk.context.set_offline(False)
            await expect(status).to_have_text("Draft saved", timeout=15000)
            assert await _form_data(h, contact.id) == {"age": 34, "address": "12 Lenin Street"}
            await expect(live).to_contain_text("Live", timeout=15000)
            await expect(live).not_to_contain_text("reconnecting")

            # Live events flow again: the caller hangs up and the desk shows wrap-up.
            await desk.get_by_role("button", name="Hang up").click()
            result = await h.finish(caller, "caller")
            assert result.returncode == 0, result.explain()
        await expect(desk.locator(".state-now")).to_contain_text("Wrap-up")
