"""The browser softphone's controls during a call, end to end: headless Chromium (Debian's,
driven by Playwright, its fake microphone a 600 Hz tone) on the agent desktop against a whole
running Hotline on 127.0.0.1, answering a SIPp caller (its audio an `RtpPeer` that plays 1000 Hz)
who picked the help topic. What each control does is checked where the caller is, on the wire:

- mute: while muted the caller receives no tone from the agent's microphone (the agent still hears
  the caller); after unmute the tone is back;
- hold: while held the caller hears the music on hold (a 1400 Hz tone the test gives Hotline as
  `music_on_hold`) instead of the agent, and the agent no longer hears the caller; after resume
  they hear each other again, and the contact's events record `call.held` then `call.resumed`;
- keypad: digits pressed on the softphone's keypad reach the caller as RFC 4733 telephone-events,
  in the order pressed.

Needs the built app (`make web`). Chromium runs with the loopback-only WebRTC flags of
shared/TESTING.md."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import Page, expect

from hotline.contacts.models import Contact
from hotline.telephony.media import dtmf, g711
from hotline.telephony.media.g711 import Codec
from hotline.telephony.media.peer import RtpPeer
from tests.calls.conftest import TOPIC_FLOW, Hotline, running_hotline
from tests.telephony.media.support import dominant_frequency, tone, write_wav
from tests.web.softphone import (
    CALLER_HZ,
    HEARD_FREQUENCY,
    KEEP_PEER_CONNECTIONS,
    MICROPHONE_HZ,
    PCMU,
    accepted,
    caller_picks_help,
    chromium,
    heard_next,
    hears_the_browser,
    is_tone,
    packets_in_browser,
    ready_on_the_browser_softphone,
    signed_in,
    users_for_the_browser,
)

HOLD_HZ = 1400  # the music on hold the test gives Hotline: a tone neither party plays
TELEPHONE_EVENT = 101  # the caller's SDP (tests/calls/scenarios.py) offers it as 101


@dataclass
class OnACall:
    h: Hotline
    desk: Page
    caller_audio: RtpPeer
    contact: Contact


@asynccontextmanager
async def _on_a_call(tmp_path: Path, prompt_cache: Path) -> AsyncIterator[OnACall]:
    """agent01 on the desktop's browser softphone, talking with a SIPp caller who keeps sending
    their tone; the agent hangs up at the end and the caller gets Hotline's BYE."""
    music = write_wav(tmp_path / "hold.wav", tone(HOLD_HZ, 2.0))
    async with running_hotline(
        tmp_path,
        prompt_cache,
        http=True,
        http_cookie_secure=False,
        flow=TOPIC_FLOW,
        offer_timeout=30,  # the agent in the browser has time to accept
        wrap_up=120,
        music_on_hold=music,
    ) as h:
        await users_for_the_browser(h, "agent01")
        assert h.platform.http is not None
        base = f"http://127.0.0.1:{h.platform.http.port}"
        microphone = write_wav(tmp_path / "microphone.wav", tone(MICROPHONE_HZ, 3.0))
        caller_audio = await RtpPeer.open()
        try:
            async with chromium(microphone) as browser:
                context = await browser.new_context(locale="en-GB")
                await context.add_init_script(KEEP_PEER_CONNECTIONS)
                desk = await signed_in(context, base, "agent01", "/agent")
                await ready_on_the_browser_softphone(h, desk)
                caller = await caller_picks_help(h, caller_audio, time_limit=120)
                contact = await accepted(h, desk)
                talking = asyncio.create_task(
                    caller_audio.send_audio(g711.encode(tone(CALLER_HZ, 60.0), Codec.PCMU), PCMU)
                )
                try:
                    # Both ways before any control is touched.
                    await hears_the_browser(caller_audio)
                    await packets_in_browser(desk, 50)
                    await _agent_hears_the_caller(desk)
                    yield OnACall(h, desk, caller_audio, contact)
                finally:
                    talking.cancel()
                await desk.get_by_role("button", name="Hang up").click()
                result = await h.finish(caller, "caller")
                assert result.returncode == 0, result.explain()
        finally:
            caller_audio.close()


async def _agent_hears_the_caller(desk: Page) -> None:
    heard: dict[str, Any] = await desk.evaluate(HEARD_FREQUENCY)
    assert abs(heard["hz"] - CALLER_HZ) < 20, heard
    assert heard["db"] > -60, heard  # a tone, not noise


def _loudest(samples: np.ndarray) -> int:
    return int(np.abs(samples.astype(int)).max()) if samples.size else 0


async def test_while_muted_the_caller_hears_nothing_of_the_agents_microphone_and_again_after(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _on_a_call(tmp_path, prompt_cache) as call:
        desk, caller_audio = call.desk, call.caller_audio
        mute = desk.locator(".call-controls").get_by_role("button", name="Mute")
        await mute.click()
        await expect(mute).to_have_attribute("aria-pressed", "true")
        await expect(desk.locator(".call-flags")).to_contain_text("Microphone off")
        await asyncio.sleep(0.5)  # what the browser sent before the click has arrived
        muted = await heard_next(caller_audio, 75)
        assert not is_tone(muted, MICROPHONE_HZ)
        assert _loudest(muted) < 50, (_loudest(muted), dominant_frequency(muted))  # silence
        await _agent_hears_the_caller(desk)  # mute is one way: the agent still hears the caller

        await mute.click()
        await expect(mute).to_have_attribute("aria-pressed", "false")
        await expect(desk.locator(".call-flags")).to_have_count(0)
        await hears_the_browser(caller_audio)


async def test_while_held_the_caller_hears_music_not_the_agent_and_the_contact_records_it(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _on_a_call(tmp_path, prompt_cache) as call:
        h, desk, caller_audio = call.h, call.desk, call.caller_audio
        hold = desk.locator(".call-controls").get_by_role("button", name="Hold")
        await hold.click()
        await expect(hold).to_have_attribute("aria-pressed", "true")
        await expect(desk.locator(".call-flags")).to_contain_text("On hold")
        await asyncio.sleep(0.3)  # the bridge's last packets have arrived
        held = await heard_next(caller_audio)
        assert is_tone(held, HOLD_HZ), (_loudest(held), dominant_frequency(held))
        # Nor does the agent hear the caller while the caller is held.
        heard: dict[str, Any] = await desk.evaluate(HEARD_FREQUENCY)
        assert abs(heard["hz"] - CALLER_HZ) >= 20 or heard["db"] < -60, heard

        await hold.click()
        await expect(hold).to_have_attribute("aria-pressed", "false")
        await asyncio.sleep(0.3)
        await hears_the_browser(caller_audio)
        await _agent_hears_the_caller(desk)

        agent_id = await h.user_id("agent01")
        events = [(kind, p) for kind, p in await h.log(call.contact.id) if kind.startswith("call.")]
        kinds = [kind for kind, _ in events]
        assert kinds.index("call.held") < kinds.index("call.resumed"), kinds
        assert dict(events)["call.held"]["agent_id"] == agent_id
        assert dict(events)["call.resumed"]["agent_id"] == agent_id


def _keys_heard(caller_audio: RtpPeer) -> str:
    """The key presses the caller received as telephone-events, in order."""
    receiver = dtmf.DtmfReceiver()
    keys = ""
    for r in caller_audio.received:
        if r.packet.payload_type == TELEPHONE_EVENT:
            press = receiver.feed(r.packet.timestamp, r.packet.payload)
            keys += press.digit if press is not None else ""
    return keys


def _heard_keys(caller_audio: RtpPeer, keys: str) -> Callable[[], bool]:
    return lambda: _keys_heard(caller_audio) == keys


async def test_keys_pressed_on_the_softphone_keypad_reach_the_caller_as_telephone_events(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _on_a_call(tmp_path, prompt_cache) as call:
        desk, caller_audio = call.desk, call.caller_audio
        assert _keys_heard(caller_audio) == ""
        keypad_button = desk.locator(".call-controls").get_by_role("button", name="Keypad")
        await keypad_button.click()
        await expect(keypad_button).to_have_attribute("aria-expanded", "true")
        keypad = desk.locator(".keypad")
        for pressed in ("4", "40", "40*", "40*#"):  # each key reaches the caller in turn
            await keypad.get_by_role("button", name=f"Digit {pressed[-1]}", exact=True).click()
            assert await caller_audio.wait_for(_heard_keys(caller_audio, pressed), 5), (
                _keys_heard(caller_audio),
                pressed,
            )
        # The keys go to the caller as events, and the call's audio carries on around them.
        await hears_the_browser(caller_audio)
