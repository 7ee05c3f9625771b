"""A real browser's softphone leg: headless Chromium (Debian's) on a page served on 127.0.0.1.

The page takes the fake microphone, offers PCMU over WebRTC and posts its offer to a tiny HTTP
handler here, which asks the media engine for the leg and returns the answer. The leg is bridged
to an RTP peer (the caller): the caller hears the browser, the browser's statistics show the
caller's packets, and the browser's keypad (RFC 4733) reaches the engine. Chromium runs with the
flags of shared/TESTING.md, so that it offers no candidates of its own and nothing leaves
127.0.0.1; the test checks that no other address appears anywhere."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright

from hotline.telephony.media import g711
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.media.engine import DigitReceived, EndpointInfo, LocalMediaEngine
from hotline.telephony.media.g711 import Codec
from tests.browser import launch
from tests.telephony.media.support import TE, Events, phone_leg, tone

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAGE = Path(__file__).with_name("softphone.html")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[LocalMediaEngine]:
    config = MediaConfig(address="127.0.0.1", port_min=45000, port_max=45999, workers=1)
    async with LocalMediaEngine(config) as media:
        yield media


class SignallingServer:
    """GET / serves the page; POST /offer answers a browser's offer with a new WebRTC leg."""

    def __init__(self, engine: LocalMediaEngine) -> None:
        self.engine = engine
        self.legs: list[tuple[EndpointInfo, str, str]] = []  # (endpoint, offer, answer)
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = (await reader.readuntil(b"\r\n\r\n")).decode()
            method, path, _ = request.split("\r\n", 1)[0].split(" ", 2)
            length = 0
            for line in request.split("\r\n")[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await reader.readexactly(length)
            if method == "GET" and path == "/":
                await self._reply(writer, "text/html", PAGE.read_bytes())
            elif method == "POST" and path == "/offer":
                offer = json.loads(body)["sdp"]
                info, answer = await self.engine.allocate_webrtc(offer, group="chromium")
                self.legs.append((info, offer, answer))
                await self._reply(writer, "application/json", json.dumps({"sdp": answer}).encode())
            else:
                await self._reply(writer, "text/plain", b"not found", status="404 Not Found")
        finally:
            writer.close()

    @staticmethod
    async def _reply(
        writer: asyncio.StreamWriter, kind: str, body: bytes, status: str = "200 OK"
    ) -> None:
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()


def candidate_addresses(sdp: str) -> set[str]:
    return {line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def test_chromium_talks_with_a_phone_through_a_webrtc_leg_on_loopback_only(
    engine: LocalMediaEngine, events: Events
) -> None:
    server = SignallingServer(engine)
    await server.start()
    async with async_playwright() as playwright:
        browser = await launch(playwright, fake_media=True)
        try:
            page = await browser.new_page()
            await page.goto(f"http://127.0.0.1:{server.port}/")
            await page.evaluate("start()")
            await page.wait_for_function("window.pc.connectionState === 'connected'", timeout=15000)
            ((leg, offer, answer),) = server.legs
            phone_info, phone = await phone_leg(engine, group="chromium")
            await engine.bridge(leg.endpoint_id, phone_info.endpoint_id)

            # the caller hears the browser's microphone...
            caller = asyncio.create_task(
                phone.send_audio(g711.encode(tone(1000, 2.0), Codec.PCMU), 0)
            )
            assert await phone.wait_for(lambda: len(phone.audio(0)) >= 50 * 160, 5)
            # ... and the browser receives the caller
            await page.wait_for_function(
                "figures().then(f => f.inbound && f.inbound.packetsReceived >= 50)",
                timeout=5000,
            )
            await caller
            heard = g711.decode(phone.audio(0), Codec.PCMU).astype(int)
            assert abs(heard).max() > 1000  # the fake microphone's beeps, not silence

            # the browser's keypad reaches the engine, and the caller as events
            await page.evaluate("window.keypad.insertDTMF('7#', 100, 70)")
            assert await events.wait(lambda: len(events.of(DigitReceived, leg.endpoint_id)) == 2, 5)
            assert [e.digit for e in events.of(DigitReceived, leg.endpoint_id)] == ["7", "#"]
            assert await phone.wait_for(
                lambda: any(r.packet.payload_type == TE for r in phone.received), 3
            )

            figures: dict[str, Any] = await page.evaluate("figures()")
            assert figures["inbound"]["packetsReceived"] >= 50
            assert figures["inboundCodec"] == "audio/PCMU"
            assert figures["outbound"]["packetsSent"] >= 50
            # no address but 127.0.0.1 anywhere: the browser's offer, our answer, its candidates
            assert candidate_addresses(offer) <= {"127.0.0.1"}
            assert candidate_addresses(answer) == {"127.0.0.1"}
            # Chromium lists its wildcard sockets (0.0.0.0 and ::, never signalled) as host
            # candidates; every real address is 127.0.0.1, and so is the pair in use
            by_id = {c["id"]: c["address"] for c in figures["candidates"]}
            real = {a for a in by_id.values() if not ipaddress.ip_address(a).is_unspecified}
            assert real == {"127.0.0.1"}
            (pair,) = [p for p in figures["pairs"] if p["nominated"]]
            assert (by_id[pair["local"]], by_id[pair["remote"]]) == ("127.0.0.1", "127.0.0.1")

            quality = await engine.release(leg.endpoint_id)
            assert quality is not None
            assert quality.packets_received >= 50
            assert quality.packets_lost == 0
        finally:
            await browser.close()
    await engine.release(phone_info.endpoint_id)
    phone.close()
    await server.close()
