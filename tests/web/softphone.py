"""The browser softphone in a test, shared by the desktop's call tests: Chromium with a fake
microphone that plays a WAV tone of our choosing, the page's WebRTC statistics and what its
softphone plays (by a WebAudio analyser), an agent made ready on the desktop, a SIPp caller whose
audio is an `RtpPeer` that picks the help topic and whom the desktop answers, and what that caller
hears (the G.711 it receives, by its dominant frequency)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from sqlalchemy import update

from hotline.contacts.models import Contact
from hotline.routing.types import AgentState
from hotline.telephony.media import g711
from hotline.telephony.media.g711 import Codec
from hotline.telephony.media.peer import RtpPeer, read_pcap_rtp
from hotline.users.models import User
from tests.api.harness import PASSWORD, password_hash
from tests.browser import launch, sign_in
from tests.calls import scenarios
from tests.calls.conftest import Hotline, eventually
from tests.telephony.media.support import dominant_frequency

KEY_1 = "/usr/share/sip-tester/dtmf_2833_1.pcap"
PCMU = 0
MICROPHONE_HZ = 600  # the browser's fake microphone plays this tone (a WAV file)
CALLER_HZ = 1000  # and the caller this one

# Every RTCPeerConnection the page makes, for reading its statistics (the app keeps its own).
KEEP_PEER_CONNECTIONS = """
window.__pcs = [];
const Original = window.RTCPeerConnection;
window.RTCPeerConnection = class extends Original {
  constructor(...args) { super(...args); window.__pcs.push(this); }
};
"""

AUDIO_FIGURES = """
async () => {
  const pc = window.__pcs.filter((p) => p.connectionState === "connected").pop();
  if (!pc) return null;
  const figures = { inbound: null, outbound: null };
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio")
      figures.inbound = { packetsReceived: r.packetsReceived, packetsLost: r.packetsLost,
                          jitter: r.jitter, totalSamplesReceived: r.totalSamplesReceived };
    if (r.type === "outbound-rtp" && r.kind === "audio")
      figures.outbound = { packetsSent: r.packetsSent };
  });
  return figures;
}
"""

# The strongest frequency of what the page plays from the softphone (its <audio> element's
# stream), by a WebAudio analyser (headless Chromium's `audioLevel` stays 0).
HEARD_FREQUENCY = """
async () => {
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 4096;
  context.createMediaStreamSource(document.querySelector("audio").srcObject).connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let peak = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[peak]) peak = i;
  await context.close();
  return { hz: (peak * context.sampleRate) / analyser.fftSize, db: bins[peak] };
}
"""


async def users_for_the_browser(h: Hotline, *usernames: str) -> None:
    """Give `usernames` the test password and English pages."""
    async with h.sessions() as session, session.begin():
        await session.execute(
            update(User)
            .where(User.username.in_(usernames))
            .values(password_hash=password_hash(PASSWORD), language="en")
        )


async def signed_in(context: BrowserContext, base: str, username: str, home: str) -> Page:
    page = await context.new_page()
    await sign_in(page, base, username, PASSWORD, home=home)
    return page


@asynccontextmanager
async def chromium(microphone: Path) -> AsyncIterator[Browser]:
    """Chromium whose fake microphone plays the WAV file `microphone`."""
    async with async_playwright() as playwright:
        browser = await launch(
            playwright,
            fake_media=True,
            extra_args=(
                f"--use-file-for-fake-audio-capture={microphone}",
                "--autoplay-policy=no-user-gesture-required",
            ),
        )
        try:
            yield browser
        finally:
            await browser.close()


async def in_state(h: Hotline, state: AgentState, username: str = "agent01") -> bool:
    return (await h.agent_state(username))[0] is state


async def on_the_browser_softphone(desk: Page) -> None:
    """The agent signed in on `desk` takes calls in this browser, its softphone connected."""
    browser_phone = desk.get_by_label("This browser")
    await browser_phone.click()  # checked once the server has the choice
    await expect(browser_phone).to_be_checked()
    await expect(desk.locator(".phone-status")).to_have_text("Connected", timeout=15000)


async def ready_on_the_browser_softphone(h: Hotline, desk: Page) -> None:
    """The agent signed in on `desk` takes calls in this browser and goes ready."""
    await on_the_browser_softphone(desk)
    await desk.get_by_role("button", name="Ready", exact=True).click()
    await expect(desk.locator(".state-now")).to_contain_text("Ready")
    await eventually(lambda: in_state(h, AgentState.READY), 10, "agent01 ready")


async def caller_picks_help(
    h: Hotline, caller_audio: RtpPeer, *, time_limit: float, name: str = "caller"
) -> Any:
    """A SIPp caller (its audio `caller_audio`, its files in folder `name`) who picks the help
    topic with SIPp's recorded key 1 and stays until Hotline hangs up; its SIPp process."""
    caller = await h.call(
        scenarios.caller(h.folder(name), end="await_bye", media_port=caller_audio.address[1]),
        time_limit=time_limit,
    )
    assert await caller_audio.wait_for(lambda: len(caller_audio.received) > 5, 10)
    caller_audio.target = caller_audio.received[0].source
    await caller_audio.replay(read_pcap_rtp(KEY_1))
    return caller


async def accepted(h: Hotline, desk: Page) -> Contact:
    """The agent accepts the offer ringing on `desk`; the contact, once they are on it."""
    offer = desk.get_by_role("alertdialog", name="Incoming call")
    await offer.get_by_role("button", name="Accept the call").click()
    await expect(desk.locator(".state-now")).to_contain_text("On a call")
    await eventually(lambda: in_state(h, AgentState.BUSY), 10, "agent01 on the call")
    (contact,) = await h.contacts()
    return contact


async def heard_next(caller_audio: RtpPeer, packets: int = 100) -> np.ndarray:
    """The samples of the next `packets` packets the caller receives (PCMU)."""
    before = len(caller_audio.received)
    assert await caller_audio.wait_for(
        lambda: len(caller_audio.received) - before >= packets, 15
    ), "the caller received no audio"
    fresh = [r for r in caller_audio.received[before:] if r.packet.payload_type == PCMU]
    return g711.decode(b"".join(r.packet.payload for r in fresh[-packets:]), Codec.PCMU)


def is_tone(samples: np.ndarray, hz: float) -> bool:
    """`samples` are a tone of `hz` (not silence: the browser's gain control turns the tone
    down, by how much varies)."""
    return (
        bool(np.abs(samples.astype(int)).max() > 200) and abs(dominant_frequency(samples) - hz) < 20
    )


async def hears_the_browser(caller_audio: RtpPeer) -> None:
    """The caller receives the browser's fake microphone (its tone, not silence)."""
    samples = await heard_next(caller_audio)
    assert is_tone(samples, MICROPHONE_HZ), (
        np.abs(samples.astype(int)).max(),
        dominant_frequency(samples),
    )


async def packets_in_browser(page: Page, at_least: int) -> None:
    await page.wait_for_function(
        f"({AUDIO_FIGURES})().then(f => f?.inbound?.packetsReceived >= {at_least})",
        timeout=15000,
    )
