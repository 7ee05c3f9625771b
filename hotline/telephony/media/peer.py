"""A plain RTP peer: the RTP side of a phone, for tests, benchmarks and diagnostics.

It sends G.711 frames and RFC 4733 key presses paced in real time from its own UDP socket, records
every packet it receives with its arrival time, and can replay the RTP of a pcap file (such as
the recordings SIPp ships) with the original timing. It knows nothing of the worker's internals:
what it checks is what a real phone would see on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

from hotline.telephony.media import dtmf, rtp

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Received:
    arrival: float  # event loop time
    packet: rtp.RtpPacket
    source: Address


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self._on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass


class PacketLog:
    """What a peer received, with bounded waits: shared by the RTP and the browser peers."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.received: list[Received] = []
        self._arrivals: asyncio.Event = asyncio.Event()

    def log(self, packet: rtp.RtpPacket, source: Address) -> None:
        self.received.append(Received(self.loop.time(), packet, source))
        self._arrivals.set()

    async def wait_for(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Wait until `predicate()` holds, at most `seconds` (bounded, for tests)."""
        deadline = self.loop.time() + seconds
        while not predicate():
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                return False
            self._arrivals.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrivals.wait(), min(remaining, 0.05))
        return True

    def audio(self, payload_type: int) -> bytes:
        """The payloads received with `payload_type`, in sequence order."""
        packets = [r.packet for r in self.received if r.packet.payload_type == payload_type]
        if not packets:
            return b""
        base = packets[0].sequence
        packets.sort(key=lambda p: (p.sequence - base) & 0xFFFF)
        return b"".join(p.payload for p in packets)


class RtpPeer(PacketLog):
    """Open with `await RtpPeer.open()`; `target` is where it sends (the endpoint)."""

    def __init__(self) -> None:
        super().__init__()
        self.rtcp_received: list[list[rtp.RtcpPacket]] = []
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.sent = 0
        self.target: Address | None = None
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self.address: Address = ("", 0)
        self.rtcp_address: Address = ("", 0)

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> RtpPeer:
        peer = cls()
        loop = peer.loop
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(peer._on_rtp), local_addr=(host, 0)
        )
        peer._rtp = transport
        peer.address = transport.get_extra_info("sockname")[:2]
        rtcp_transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(peer._on_rtcp), local_addr=(host, 0)
        )
        peer._rtcp = rtcp_transport
        peer.rtcp_address = rtcp_transport.get_extra_info("sockname")[:2]
        return peer

    def close(self) -> None:
        for transport in (self._rtp, self._rtcp):
            if transport is not None:
                transport.close()

    def _on_rtp(self, data: bytes, addr: Address) -> None:
        try:
            packet = rtp.parse_rtp(data)
        except rtp.RtpError:
            return
        self.log(packet, addr)

    def _on_rtcp(self, data: bytes, addr: Address) -> None:
        with contextlib.suppress(rtp.RtpError):
            self.rtcp_received.append(rtp.parse_rtcp(data))

    # ------------------------------------------------------------------------- sending

    def send_packet(
        self,
        payload: bytes,
        payload_type: int,
        *,
        marker: bool = False,
        timestamp: int | None = None,
        sequence: int | None = None,
    ) -> None:
        """Send one packet now; sequence and timestamp default to the peer's own stream."""
        assert self._rtp is not None, "open the peer first"
        assert self.target is not None, "set the peer's target first"
        if sequence is None:
            self.seq = (self.seq + 1) & 0xFFFF
            sequence = self.seq
        data = rtp.build_rtp(
            payload_type=payload_type,
            sequence=sequence,
            timestamp=self.ts if timestamp is None else timestamp,
            ssrc=self.ssrc,
            payload=payload,
            marker=marker,
        )
        self._rtp.sendto(data, self.target)
        self.sent += 1

    def send_raw(self, data: bytes) -> None:
        assert self._rtp is not None
        assert self.target is not None
        self._rtp.sendto(data, self.target)
        self.sent += 1

    async def send_audio(
        self,
        audio: bytes,
        payload_type: int,
        *,
        ptime_ms: int = 20,
        drop: Callable[[int], bool] | None = None,
        jitter_ms: Callable[[int], float] | None = None,
    ) -> None:
        """Send G.711 codes as ptime frames in real time. `drop(i)` skips frame i (its sequence
        number is used all the same: that is loss); `jitter_ms(i)` delays frame i."""
        frame = 8 * ptime_ms
        start = self.loop.time()
        for index, offset in enumerate(range(0, len(audio), frame)):
            due = start + index * ptime_ms / 1000
            if jitter_ms is not None:
                due += jitter_ms(index) / 1000
            delay = due - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.seq = (self.seq + 1) & 0xFFFF
            if drop is None or not drop(index):
                self.send_packet(
                    audio[offset : offset + frame],
                    payload_type,
                    marker=index == 0,
                    sequence=self.seq,
                )
            self.ts = (self.ts + frame) & 0xFFFFFFFF

    async def send_digits(
        self, digits: str, event_payload_type: int, *, duration_ms: int = 100, ptime_ms: int = 20
    ) -> None:
        """Press keys as RFC 4733 events, in real time."""
        start = self.loop.time()
        event_ts = self.ts
        schedule = dtmf.key_press_packets(digits, duration_ms=duration_ms, ptime_ms=ptime_ms)
        for index, interval in enumerate(schedule):
            delay = start + index * ptime_ms / 1000 - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            for packet in interval:
                if packet.marker:
                    event_ts = self.ts
                if not packet.repeat:
                    self.seq = (self.seq + 1) & 0xFFFF
                self.send_packet(
                    packet.payload,
                    event_payload_type,
                    marker=packet.marker,
                    timestamp=event_ts,
                    sequence=self.seq,
                )
            self.ts = (self.ts + 8 * ptime_ms) & 0xFFFFFFFF

    async def replay(self, packets: list[tuple[float, bytes]], *, limit: int | None = None) -> None:
        """Send captured RTP datagrams as they were captured (same spacing, same headers)."""
        if not packets:
            return
        start = self.loop.time()
        first = packets[0][0]
        for captured, data in packets[:limit]:
            delay = start + (captured - first) - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.send_raw(data)


# ---------------------------------------------------------------------------------- pcap

_LINK_HEADER = {0: 4, 1: 14, 108: 4, 113: 16}  # null, Ethernet, loopback, Linux cooked


def read_pcap_rtp(path: str) -> list[tuple[float, bytes]]:
    """The UDP payloads (RTP) of an IPv4 pcap file with their capture times, in order."""
    with open(path, "rb") as file:
        data = file.read()
    (magic,) = struct.unpack_from("<I", data)
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        order = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        order = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    nanos = magic in (0xA1B23C4D, 0x4D3CB2A1)
    link = struct.unpack_from(order + "I", data, 20)[0]
    if link not in _LINK_HEADER:
        raise ValueError(f"{path}: link type {link} not supported")
    packets: list[tuple[float, bytes]] = []
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, included, _ = struct.unpack_from(order + "IIII", data, offset)
        offset += 16
        frame = data[offset : offset + included]
        offset += included
        ip = frame[_LINK_HEADER[link] :]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        header = (ip[0] & 0x0F) * 4
        (udp_length,) = struct.unpack_from("!H", ip, header + 4)
        payload = ip[header + 8 : header + udp_length]
        packets.append((seconds + fraction / (1e9 if nanos else 1e6), bytes(payload)))
    return packets
