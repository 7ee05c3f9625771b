"""A whole shift's call in headless Chromium (Debian's, driven by Playwright) against a whole
running Hotline on 127.0.0.1: an agent signs in on the agent desktop, chooses the browser
softphone and goes ready, while a supervisor watches the wallboard in a second browser context. A
SIPp caller (its audio an `RtpPeer`, its key SIPp's own RFC 2833 recording) picks the help topic;
the offer rings on the desktop, the agent accepts, and the browser softphone carries the call:
the caller hears the browser's fake microphone (a WAV tone of our choosing, recognised by its
frequency) and the browser receives the caller (its WebRTC statistics), the media worker's figures
for the browser leg agree. The wallboard shows the agent on the contact; the agent answers the
topic's script, submits its form, hangs up and wraps up with a code, and is ready again; the
contact's record has the answers, the form and the code.

A reload of the desktop mid-call loses nothing: the caller is held (never hung up) while the page
loads again, the desktop shows the call again, its softphone connects anew and the call takes it
up, and audio flows both ways again.

Screenshots of the desktop (ringing, in the call with script and form, wrap-up, after a reload
mid-call) and of the wallboard during the call are kept in the repository's `artifacts/` folder.
Publishing a new IVR menu option and the next call reaching it is
tests/admin/test_admin_browser.py (in the browser) and tests/admin/test_live_platform.py (over the
API). Needs the built app (`make web`). Chromium runs with the loopback-only WebRTC flags of
shared/TESTING.md."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import expect
from sqlalchemy import select

from hotline.contacts.models import Contact
from hotline.routing.types import AgentState
from hotline.scripts.models import ContactForm, ContactScript
from hotline.telephony.media import g711
from hotline.telephony.media.g711 import Codec
from hotline.telephony.media.peer import RtpPeer, read_pcap_rtp
from tests.calls import scenarios
from tests.calls.conftest import TOPIC_FLOW, Hotline, eventually, running_hotline, web_hotline
from tests.telephony.media.support import dominant_frequency, tone, write_wav
from tests.web.softphone import (
    AUDIO_FIGURES,
    CALLER_HZ,
    HEARD_FREQUENCY,
    KEEP_PEER_CONNECTIONS,
    KEY_1,
    MICROPHONE_HZ,
    PCMU,
    accepted,
    caller_picks_help,
    chromium,
    hears_the_browser,
    in_state,
    packets_in_browser,
    ready_on_the_browser_softphone,
    signed_in,
    users_for_the_browser,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

SUPERVISOR = "super01"
EXTRA = """\
  - username: super01
    name: Sofia Orlova
    roles: [supervisor]
wrap_up_codes:
  - {id: advice, name: Advice given}
scripts:
  - id: help_en
    name: Help line
    language: en
    topics: [help]
    steps:
      - {id: greet, say: "Hello, this is the help line."}
      - id: danger
        ask: Is anyone in danger right now?
        choices:
          - {value: "yes", label: "Yes, in danger", next: emergency}
          - {value: "no", label: "Nobody in danger"}
        next: name
      - {id: emergency, say: Call 112 at once., next: end}
      - {id: name, ask: "What is your name?"}
      - {id: bye, say: Thank you for calling.}
forms:
  - id: help_en
    name: Help request
    language: en
    topics: [help]
    schema:
      type: object
      required: [age, address]
      properties:
        age: {type: integer, title: Age, minimum: 0, maximum: 120}
        address: {type: string, title: Address, minLength: 5}
      additionalProperties: false
"""


async def _a_call_from_the_browser_desktop(h: Hotline, tmp_path: Path) -> None:
    await users_for_the_browser(h, "agent01", SUPERVISOR)
    assert h.platform.http is not None
    base = f"http://127.0.0.1:{h.platform.http.port}"
    ARTIFACTS.mkdir(exist_ok=True)
    microphone = write_wav(tmp_path / "microphone.wav", tone(MICROPHONE_HZ, 3.0))
    caller_audio = await RtpPeer.open()
    try:
        contact = await _the_call(h, base, microphone, caller_audio)
    finally:
        caller_audio.close()
    await _the_record(h, contact)


async def _the_call(h: Hotline, base: str, microphone: Path, caller_audio: RtpPeer) -> Contact:
    """The call, as the two browsers and the caller see it; the contact it was."""
    async with chromium(microphone) as browser:
        agent_context = await browser.new_context(locale="en-GB")
        await agent_context.add_init_script(KEEP_PEER_CONNECTIONS)
        desk = await signed_in(agent_context, base, "agent01", "/agent")
        board_context = await browser.new_context(locale="en-GB")
        board = await signed_in(board_context, base, SUPERVISOR, "/wallboard")

        # The agent takes calls in this browser, and goes ready.
        await ready_on_the_browser_softphone(h, desk)
        agent_row = board.get_by_role("row").filter(has_text="Anna Ivanova")
        await expect(agent_row).to_contain_text("Ready")

        # A caller picks the help topic with SIPp's recorded key 1.
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), end="await_bye", media_port=caller_audio.address[1]
            ),
            time_limit=90,
        )
        assert await caller_audio.wait_for(lambda: len(caller_audio.received) > 5, 10)
        caller_audio.target = caller_audio.received[0].source
        await caller_audio.replay(read_pcap_rtp(KEY_1))

        # It rings on the desktop; the agent accepts.
        offer = desk.get_by_role("alertdialog", name="Incoming call")
        await expect(offer).to_contain_text(scenarios.CALLER_NUMBER, timeout=10000)
        await desk.screenshot(path=str(ARTIFACTS / "desktop-ringing.png"), full_page=True)
        await offer.get_by_role("button", name="Accept the call").click()
        await expect(desk.locator(".state-now")).to_contain_text("On a call")
        await eventually(lambda: in_state(h, AgentState.BUSY), 10, "agent01 on the call")
        (contact,) = await h.contacts()
        live = h.platform.calls.call_for(contact.id)
        assert live is not None
        assert live.agent is not None
        assert live.agent.leg.kind == "webrtc"
        browser_leg = live.agent.leg.endpoint.endpoint_id

        # Both ways: the caller hears the browser's microphone, the browser hears the caller.
        heard_before = len(caller_audio.received)
        talking = asyncio.create_task(
            caller_audio.send_audio(g711.encode(tone(CALLER_HZ, 8.0), Codec.PCMU), PCMU)
        )
        try:
            assert await caller_audio.wait_for(
                lambda: len(caller_audio.received) - heard_before > 100, 10
            )
            heard = b"".join(r.packet.payload for r in caller_audio.received[heard_before:][-100:])
            samples = g711.decode(heard, Codec.PCMU)
            # Not silence (the browser's gain control turns the tone down, by how much varies).
            assert np.abs(samples.astype(int)).max() > 200
            assert abs(dominant_frequency(samples) - MICROPHONE_HZ) < 20
            await desk.wait_for_function(
                f"({AUDIO_FIGURES})().then(f => f?.inbound?.packetsReceived >= 100)",
                timeout=10000,
            )
            heard_in_browser = await desk.evaluate(HEARD_FREQUENCY)
            assert abs(heard_in_browser["hz"] - CALLER_HZ) < 20, heard_in_browser
            assert heard_in_browser["db"] > -60, heard_in_browser  # a tone, not noise
            await talking
        finally:
            talking.cancel()
        figures: dict[str, Any] = await desk.evaluate(AUDIO_FIGURES)
        assert figures["outbound"]["packetsSent"] >= 100
        assert figures["inbound"]["packetsLost"] == 0
        # The media worker's figures for the browser leg (its own RTCP-style statistics).
        quality = await h.platform.media.quality(browser_leg)
        assert quality.packets_received >= 100
        assert quality.packets_lost == 0

        # The wallboard shows the agent on this contact, and the help queue with nobody waiting.
        await expect(agent_row).to_contain_text("On a call")
        await expect(agent_row).to_contain_text(contact.id)
        help_tile = board.get_by_role("article", name="Help", exact=True)

        def figure(label: str) -> Any:
            return help_tile.locator(".figure").filter(has=board.get_by_text(label, exact=True))

        await expect(figure("Waiting").locator("dd")).to_have_text("0")
        await expect(figure("SL today").locator("dd")).to_have_text("100%")  # answered in time
        await board.screenshot(path=str(ARTIFACTS / "wallboard-during-call.png"), full_page=True)

        # The topic's script and form, while the call is up.
        script = desk.locator(".script-panel")
        await script.get_by_role("button", name="Nobody in danger").click()
        name_box = script.get_by_role("textbox", name="What is your name?")
        await name_box.fill("Maria")
        await script.get_by_role("button", name="Save the answer").click()
        await expect(script.locator(".script-answer")).to_contain_text("Maria")
        form = desk.locator(".form-panel")
        await form.get_by_label("Age").fill("34")
        await form.get_by_label("Address").fill("12 Lenin Street")
        await form.get_by_role("button", name="Submit the form").click()
        await expect(form.get_by_role("status")).to_have_text("Submitted")
        await desk.screenshot(path=str(ARTIFACTS / "desktop-in-call.png"), full_page=True)

        # The agent hangs up; the caller gets Hotline's BYE; wrap-up with a code; ready again.
        await desk.get_by_role("button", name="Hang up").click()
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()
        await expect(desk.locator(".state-now")).to_contain_text("Wrap-up")
        wrap_up = desk.locator(".wrapup")
        # The codes by name, once the desktop has them (GET /agent/options at wrap-up).
        code = wrap_up.get_by_role("combobox", name="Disposition code")
        await code.select_option(label="Advice given")
        await desk.screenshot(path=str(ARTIFACTS / "desktop-wrap-up.png"), full_page=True)
        await wrap_up.get_by_role("button", name="Finish wrap-up").click()
        await expect(desk.locator(".state-now")).to_contain_text("Ready")
        await expect(agent_row).to_contain_text("Ready")
        assert (await h.agent_state("agent01"))[0] is AgentState.READY
    return contact


async def _the_record(h: Hotline, contact: Contact) -> None:
    """The contact's record: handled by the agent, with the wrap-up code, the leg's figures,
    the script's answers and the submitted form."""
    ended = await h.ended()
    assert ended.id == contact.id
    assert (ended.outcome, ended.queue_id, ended.wrap_up_code_id) == ("handled", "help", "advice")
    log = await h.log(contact.id)
    assert dict(log)["call.ended"]["by"] == "agent"
    # What the server received from each leg, on the contact (the browser leg's: the call's part).
    qualities = {p["leg"]: p["figures"] for kind, p in log if kind == "call.quality"}
    assert qualities["caller"]["packets_received"] > 100  # type: ignore[index]
    assert qualities["caller"]["packets_lost"] == 0  # type: ignore[index]
    assert qualities["agent"]["packets_received"] > 100  # type: ignore[index]
    assert qualities["agent"]["packets_lost"] == 0  # type: ignore[index]
    assert "form.submitted" in [kind for kind, _ in log]
    async with h.sessions() as session:
        answers = (await session.scalars(select(ContactScript))).one()
        form_row = (await session.scalars(select(ContactForm))).one()
        record = await session.get(Contact, contact.id)
    assert record is not None
    assert record.attributes["topic"] == "help"
    assert (answers.contact_id, answers.answers) == (
        contact.id,
        {"danger": "no", "name": "Maria"},
    )
    assert (form_row.contact_id, form_row.status, form_row.data) == (
        contact.id,
        "submitted",
        {"age": 34, "address": "12 Lenin Street"},
    )


async def test_an_agent_takes_a_call_on_the_browser_desktop_while_the_wallboard_shows_it(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(
        tmp_path,
        prompt_cache,
        http=True,
        http_cookie_secure=False,
        extra_config=EXTRA,
        flow=TOPIC_FLOW,
        offer_timeout=30,  # the agent in the browser has time to accept
        wrap_up=120,  # wrap-up ends by the agent's code, not by the timer
    ) as h:
        await _a_call_from_the_browser_desktop(h, tmp_path)


async def test_the_browser_desktop_call_on_postgresql(tmp_path: Path, prompt_cache: Path) -> None:
    async with (
        web_hotline(
            "postgresql",
            tmp_path,
            prompt_cache,
            extra_config=EXTRA,
            flow=TOPIC_FLOW,
            offer_timeout=30,
            wrap_up=120,
        ) as h,
    ):
        await _a_call_from_the_browser_desktop(h, tmp_path)


async def _a_reload_mid_call(h: Hotline, tmp_path: Path) -> None:
    await users_for_the_browser(h, "agent01")
    assert h.platform.http is not None
    base = f"http://127.0.0.1:{h.platform.http.port}"
    ARTIFACTS.mkdir(exist_ok=True)
    microphone = write_wav(tmp_path / "microphone.wav", tone(MICROPHONE_HZ, 3.0))
    caller_audio = await RtpPeer.open()
    try:
        async with chromium(microphone) as browser:
            context = await browser.new_context(locale="en-GB")
            await context.add_init_script(KEEP_PEER_CONNECTIONS)  # again after the reload
            desk = await signed_in(context, base, "agent01", "/agent")
            await ready_on_the_browser_softphone(h, desk)
            caller = await caller_picks_help(h, caller_audio, time_limit=120)
            contact = await accepted(h, desk)
            live = h.platform.calls.call_for(contact.id)
            assert live is not None
            assert live.agent is not None
            first_leg = live.agent.leg.endpoint.endpoint_id
            talking = asyncio.create_task(
                caller_audio.send_audio(g711.encode(tone(CALLER_HZ, 30.0), Codec.PCMU), PCMU)
            )
            try:
                await hears_the_browser(caller_audio)
                await packets_in_browser(desk, 50)

                # The agent reloads the page mid-call (and confirms leaving it).
                desk.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
                await desk.reload()

                # The desktop shows the call again, its softphone connects anew, and the call
                # takes the new leg up: the caller was held, never hung up.
                await expect(desk.locator(".state-now")).to_contain_text("On a call")
                await expect(desk.locator(".phone-status")).to_have_text("Connected", timeout=15000)
                await expect(desk.get_by_text(scenarios.CALLER_NUMBER).first).to_be_visible()
                log = dict(await h.log(contact.id))
                assert log["call.agent_lost"]["agent_id"] == await h.user_id("agent01")
                assert "call.agent_rejoined" in log
                assert "call.ended" not in log
                assert caller.returncode is None  # no BYE reached the caller
                assert (await h.agent_state("agent01"))[0] is AgentState.BUSY
                assert live.agent is not None
                second_leg = live.agent.leg.endpoint.endpoint_id
                assert second_leg != first_leg

                # Audio both ways through the new leg: the caller hears the microphone, the
                # reloaded page receives the caller, and the new leg's figures count it.
                await hears_the_browser(caller_audio)
                await packets_in_browser(desk, 100)
                heard_in_browser = await desk.evaluate(HEARD_FREQUENCY)
                assert abs(heard_in_browser["hz"] - CALLER_HZ) < 20, heard_in_browser
                before = await h.platform.media.quality(second_leg)
                await asyncio.sleep(1.0)
                after = await h.platform.media.quality(second_leg)
                assert after.packets_received - before.packets_received >= 25
                assert after.packets_sent - before.packets_sent >= 25
                await desk.screenshot(
                    path=str(ARTIFACTS / "desktop-after-reload.png"), full_page=True
                )
            finally:
                talking.cancel()

            await desk.get_by_role("button", name="Hang up").click()
            result = await h.finish(caller, "caller")
            assert result.returncode == 0, result.explain()
            ended = await h.ended()
            assert ended.outcome == "handled"
            assert dict(await h.log(contact.id))["call.ended"]["by"] == "agent"
    finally:
        caller_audio.close()


async def test_a_reload_mid_call_keeps_the_call_and_the_new_softphone_takes_it_back(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(
        tmp_path,
        prompt_cache,
        http=True,
        http_cookie_secure=False,
        extra_config=EXTRA,
        flow=TOPIC_FLOW,
        offer_timeout=30,
        wrap_up=120,
    ) as h:
        await _a_reload_mid_call(h, tmp_path)
