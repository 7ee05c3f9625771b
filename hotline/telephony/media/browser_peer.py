"""A browser's side of a WebRTC leg, played by aiortc: for tests, benchmarks and diagnostics.

It offers audio like a browser softphone (ICE, DTLS-SRTP, the codecs it is told to offer),
sends G.711 frames paced in real time, presses keys as RFC 4733 events, and logs every RTP
packet it receives after decryption. Two ways to carry the media:

- by default aiortc's own media stack does it, as a real WebRTC peer would: its RTCRtpSender
  sends the frames (pre-encoded, handed over as `av.Packet`s), and its RTCRtpReceiver gets what
  arrives and decodes it (`samples`), so a test sees what a real stack makes of the worker's
  stream. aiortc's sender numbers its packets privately, so keys go out on an SSRC of their
  own, through the connection's SRTP;
- `light` carries them as the worker does (webrtc.SrtpPath), keys on the audio stream as a
  browser sends them: a benchmark with many peers then measures the worker, not this side."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import random
import struct
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

from hotline.telephony.media import dtmf, rtp
from hotline.telephony.media.peer import PacketLog
from hotline.telephony.media.webrtc import (
    SrtpPath,
    add_telephone_event,
    codec_preferences,
    restrict_host_addresses,
)

TIME_BASE = fractions.Fraction(1, 8000)
_HEADER = struct.Struct("!BBHII")


class PacketTrack(MediaStreamTrack):
    """An audio track of ready G.711 payloads: `push` them with their RTP timestamp, and the
    RTCRtpSender reading it only packs them (no encoding). Holds a few frames at most."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._frames: deque[tuple[bytes, int]] = deque(maxlen=5)
        self._waiter: asyncio.Future[None] | None = None

    def push(self, payload: bytes, timestamp: int) -> None:
        self._frames.append((payload, timestamp))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def recv(self) -> av.Packet[Any]:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        payload, timestamp = self._frames.popleft()
        packet = av.Packet(payload)
        packet.pts = timestamp
        packet.time_base = TIME_BASE
        return packet

    def stop(self) -> None:
        super().stop()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class BrowserPeer(PacketLog):
    """Make with `BrowserPeer(...)`, then `offer()` -> the worker -> `accept(answer)`."""

    def __init__(
        self,
        *,
        codecs: Sequence[str] = ("PCMU", "PCMA", "telephone-event"),
        address: str = "127.0.0.1",
        light: bool = False,
    ) -> None:
        super().__init__()
        restrict_host_addresses(address)
        add_telephone_event()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.track = PacketTrack()
        self.transceiver = self.pc.addTransceiver(self.track, direction="sendrecv")
        self.transceiver.setCodecPreferences(codec_preferences(list(codecs)))
        self.light = light
        self.path: SrtpPath | None = None
        self.samples = bytearray()  # what aiortc's receiver decoded (16-bit), unless light
        self.sent = 0
        self.answer: SessionDescription | None = None
        self.ts = random.getrandbits(32)
        self._seq = random.getrandbits(15)
        self._event_ssrc = random.getrandbits(32)
        self._event_seq = random.getrandbits(15)
        self._tasks: set[asyncio.Task[None]] = set()
        self._connected = asyncio.Event()
        self.pc.on("connectionstatechange", self._on_state)
        self.pc.on("track", self._on_track)

    # --------------------------------------------------------------------- signalling

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: str) -> None:
        self.answer = SessionDescription.parse(answer)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        if self.light:
            self.path = SrtpPath(self.transceiver, self._record, lambda data: None)
            return
        dtls = self.transceiver.receiver.transport
        handle = dtls._handle_rtp_data

        async def tap(data: bytes, arrival_time_ms: int) -> None:
            self._record(data)
            await handle(data, arrival_time_ms)

        dtls._handle_rtp_data = tap  # type: ignore[method-assign]

    def _record(self, data: bytes) -> None:
        with contextlib.suppress(rtp.RtpError):
            self.log(rtp.parse_rtp(data), ("", 0))

    def payload_type(self, name: str) -> int | None:
        """The payload type the answer gave `name` (e.g. "PCMU", "telephone-event")."""
        assert self.answer is not None, "accept the answer first"
        for codec in self.answer.media[0].rtp.codecs:
            if codec.mimeType.lower() == f"audio/{name}".lower():
                return codec.payloadType
        return None

    async def connected(self, seconds: float = 10.0) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), seconds)
        return self._connected.is_set()

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            if self.path is not None:
                self.path.start()
            self._connected.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if not self.light:
            self._start(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                self.samples += bytes(frame.planes[0])[: frame.samples * 2]

    def _start(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()

    # ------------------------------------------------------------------------- sending

    def _send(self, payload_type: int, payload: bytes, timestamp: int, marker: bool) -> None:
        assert self.path is not None
        assert self.path.remote is not None
        self._seq = (self._seq + 1) & 0xFFFF
        header = _HEADER.pack(
            0x80, (0x80 if marker else 0) | payload_type, self._seq, timestamp, self.path.ssrc
        )
        self.path.send_rtp(header + payload, self.path.remote)

    async def send_audio(self, audio: bytes, *, ptime_ms: int = 20, loop: bool = False) -> None:
        """Send G.711 codes (in the answer's law) as ptime frames in real time; with `loop`,
        again and again until cancelled."""
        frame = 8 * ptime_ms
        start = self.loop.time()
        index = 0
        payload_type = None
        if self.light:
            codec = self.answer.media[0].rtp.codecs[0] if self.answer else None
            payload_type = None if codec is None else codec.payloadType
        while True:
            for offset in range(0, len(audio), frame):
                delay = start + index * ptime_ms / 1000 - self.loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                chunk = audio[offset : offset + frame]
                if payload_type is not None:
                    self._send(payload_type, chunk, self.ts, index == 0)
                else:
                    self.track.push(chunk, self.ts)
                self.ts = (self.ts + frame) & 0xFFFFFFFF
                self.sent += 1
                index += 1
            if not loop:
                return

    async def send_digits(self, digits: str, *, duration_ms: int = 100) -> None:
        """Press keys as RFC 4733 events, in real time, through the connection's SRTP. Every
        packet has a sequence number of its own: SRTP drops a repeated one as a replay."""
        pt = self.payload_type("telephone-event")
        assert pt is not None, "the answer has no telephone-event"
        dtls = self.transceiver.receiver.transport
        start = self.loop.time()
        event_ts = self.ts
        for index, interval in enumerate(dtmf.key_press_packets(digits, duration_ms=duration_ms)):
            delay = start + index * 0.02 - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            for packet in interval:
                if packet.marker:
                    event_ts = self.ts
                if self.light:
                    self._send(pt, packet.payload, event_ts, packet.marker)
                    continue
                self._event_seq = (self._event_seq + 1) & 0xFFFF
                data = rtp.build_rtp(
                    payload_type=pt,
                    sequence=self._event_seq,
                    timestamp=event_ts,
                    ssrc=self._event_ssrc,
                    payload=packet.payload,
                    marker=packet.marker,
                )
                await dtls._send_rtp(data)
            self.ts = (self.ts + 160) & 0xFFFFFFFF
