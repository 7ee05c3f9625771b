"""A media worker: one process that carries the audio of many calls.

The control process never touches packets; it sends commands over the control channel and gets
events back. Here, on uvloop, each endpoint owns an RTP and an RTCP socket bound to the configured
media address; one 5 ms pacer sends the frames of every prompt being played, received packets
are relayed between bridged endpoints as they arrive, and a half-second housekeeping pass sends
RTCP, detects RTP timeouts and flushes recordings. File reads and writes run in one file thread,
so the packet loop never blocks. Browser (WebRTC) legs are answered here too, by aiortc, loaded
with the first of them; webrtc.py says how their packets join the same path, and its `install`
is the one place where aioice's host-address gathering is replaced (candidates on the media
address only).

Run by the engine as `python -m hotline.telephony.media.worker --control-fd N --index I --config
JSON`; the process ends when the control channel closes, so a worker never outlives its engine."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import ipaddress
import json
import logging
import os
import random
import signal
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hotline.telephony.media import dtmf, g711, rtp
from hotline.telephony.media.channel import Channel, Message
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.media.errors import (
    EndpointNotFound,
    MediaError,
    NoMediaPorts,
    PromptUnavailable,
)
from hotline.telephony.media.prompts import PromptCache, load_prompts
from hotline.telephony.media.recorder import LEFT, RIGHT, Recorder
from hotline.telephony.media.stats import LegQuality, ReceiveStats

log = logging.getLogger("hotline.media.worker")

TICK = 0.005  # pacer period: a divisor of every ptime we send (10 to 60 ms)
HOUSEKEEPING = 0.5
RATE = 8000
WHEEL = 120  # pacer slots: 600 ms, a multiple of every ptime's tick count
MAX_CATCH_UP = 8  # ticks (40 ms) a late pacer still sends; beyond that it skips
_HEADER = struct.Struct("!BBHII")
Address = tuple[Any, ...]


class _RtpProtocol(asyncio.DatagramProtocol):
    """Hands datagrams to the endpoint; errors such as ICMP port unreachable are not ours to fix."""

    def __init__(self, receive: Callable[[bytes, Address], None]) -> None:
        self.datagram_received = receive  # type: ignore[method-assign,assignment]

    def error_received(self, exc: Exception) -> None:
        pass


def _unsent(data: bytes, addr: Address) -> None:
    """Where packets go before a leg has a way out."""


class Player:
    """The frames of one play command: the prompts concatenated, cut into ptime frames."""

    __slots__ = ("audio", "barge_in", "frame_bytes", "loop", "play_id", "position", "silence")

    def __init__(
        self,
        play_id: str,
        audio: bytes,
        frame_bytes: int,
        silence: int,
        *,
        loop: bool,
        barge_in: bool,
    ) -> None:
        self.play_id = play_id
        self.audio = audio
        self.frame_bytes = frame_bytes
        self.silence = silence
        self.loop = loop
        self.barge_in = barge_in
        self.position = 0

    def next_frame(self) -> bytes | None:
        audio = self.audio
        if self.position >= len(audio):
            if not self.loop or not audio:
                return None
            self.position = 0
        frame = audio[self.position : self.position + self.frame_bytes]
        self.position += self.frame_bytes
        if len(frame) < self.frame_bytes:
            frame += bytes([self.silence]) * (self.frame_bytes - len(frame))
        return frame


class Collector:
    """One collect-digits command: ends on max digits, a terminator key or a timeout."""

    __slots__ = (
        "collect_id",
        "digits",
        "first_timeout",
        "inter_timeout",
        "max_digits",
        "terminators",
        "timer",
    )

    def __init__(
        self,
        collect_id: str,
        max_digits: int,
        terminators: str,
        first_timeout: float,
        inter_timeout: float,
    ) -> None:
        self.collect_id = collect_id
        self.max_digits = max_digits
        self.terminators = terminators
        self.first_timeout = first_timeout
        self.inter_timeout = inter_timeout
        self.digits = ""
        self.timer: asyncio.TimerHandle | None = None


class Endpoint:
    """One RTP leg: its sockets, its outgoing stream, what it receives, and what it is doing.
    A browser's leg (webrtc.WebRtcEndpoint) is a subclass: aiortc sets it up, and its packets
    take the same path, SRTP-protected on the ICE socket instead of the leg's own sockets."""

    kind = "rtp"

    __slots__ = (
        "_time",
        "allocated_at",
        "codec",
        "collector",
        "digits_out",
        "endpoint_id",
        "event_ts",
        "frame_bytes",
        "frame_samples",
        "gen_ts",
        "last_rtcp_sr",
        "last_rtcp_sr_at",
        "last_rx",
        "last_tx",
        "latched",
        "slot",
        "slots",
        "next_rtcp",
        "paced",
        "peer",
        "player",
        "port",
        "pt",
        "ptime",
        "receiver",
        "recorder",
        "relay_src",
        "relay_table",
        "remote",
        "remote_rtcp",
        "remote_report",
        "round_trip",
        "rtcp",
        "rtcp_latched",
        "rtp",
        "rtp_timeout",
        "seq",
        "send_to",
        "seq_off",
        "ssrc",
        "stats",
        "te_pt",
        "timed_out",
        "ts",
        "ts_off",
        "tx_octets",
        "tx_packets",
        "worker",
    )

    def __init__(self, worker: Worker, endpoint_id: str, port: int, rtp_timeout: float) -> None:
        self.worker = worker
        self.endpoint_id = endpoint_id
        self.port = port
        self._time = worker.loop.time
        now = self._time()
        self.allocated_at = now
        self.rtp: asyncio.DatagramTransport | None = None
        self.rtcp: asyncio.DatagramTransport | None = None
        # How a packet goes out: the RTP socket's sendto; a WebRTC leg protects it first.
        self.send_to: Callable[[bytes, Address], None] = _unsent
        self.remote: Address | None = None
        self.remote_rtcp: Address | None = None
        self.latched = False
        self.rtcp_latched = False
        self.codec = g711.Codec.PCMU
        self.pt = -1  # no audio accepted until the remote's codec is known
        self.te_pt = -1
        self.ptime = 20
        self.frame_samples = 160
        self.frame_bytes = 160
        # outgoing stream: one SSRC for the leg's life, whatever feeds it
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.last_tx = -1.0
        self.tx_packets = 0
        self.tx_octets = 0
        self.gen_ts = 0
        self.event_ts = 0
        self.relay_src: int | None = None
        self.seq_off = 0
        self.ts_off = 0
        self.relay_table: bytes | None = None  # transcoding toward the peer
        # incoming
        self.stats = ReceiveStats(RATE)
        self.receiver = dtmf.DtmfReceiver()
        self.last_rx = now
        self.rtp_timeout = rtp_timeout
        self.timed_out = False
        self.last_rtcp_sr = 0
        self.last_rtcp_sr_at = 0.0
        self.remote_report: rtp.ReportBlock | None = None
        self.round_trip: float | None = None
        self.next_rtcp = now + worker.rtcp_delay()
        # what it does
        self.peer: Endpoint | None = None
        self.player: Player | None = None
        self.digits_out: deque[list[dtmf.EventPacket]] | None = None
        self.paced = False
        self.slot = 0  # where on the pacer's wheel, while paced
        self.slots = 4  # ticks per frame
        self.collector: Collector | None = None
        self.recorder: Recorder | None = None

    # ----------------------------------------------------------------------- packet path

    def on_rtp(self, data: bytes, addr: Address) -> None:
        if addr != self.remote:
            if self.latched or len(data) < 12 or data[0] >> 6 != 2:
                return  # not from the latched source: another party or a stray packet
            self._latch(addr)
        if not self.receive(data):
            self.on_rtcp(data, addr)  # RTCP multiplexed on the RTP port (RFC 5761)

    def receive(self, data: bytes) -> bool:
        """One packet from the far end: counted, recorded, its key presses reported, relayed to
        the bridged leg. False when it is RTCP, which the caller handles. Every kind of leg
        feeds its packets here, once they are plain RTP."""
        try:
            first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        except struct.error:
            return True
        if first == 0x80:
            payload = data[12:]
        else:
            try:
                start, end = rtp.payload_offset(data)
            except (rtp.RtpError, IndexError, struct.error):
                return True
            payload = data[start:end]
        now = self._time()
        self.last_rx = now
        self.timed_out = False
        pt = second & 0x7F
        if pt == self.pt:
            if not self.stats.update(ssrc, seq, ts, now, len(payload)):
                return True
            recorder = self.recorder
            if recorder is not None:
                recorder.add(LEFT, ssrc, ts, payload, self.codec, now)
            peer = self.peer
            if peer is not None and not peer.paced:
                if self.relay_table is not None:
                    payload = payload.translate(self.relay_table)
                peer.relay(ssrc, seq, ts, second & 0x80, payload, peer.pt, now)
        elif pt == self.te_pt:
            self.stats.update(ssrc, seq, ts, -1.0, len(payload))
            press = self.receiver.feed(ts, payload)
            if press is not None:
                self.on_digit(press.digit)
            peer = self.peer
            if peer is not None and not peer.paced and peer.te_pt >= 0:
                peer.relay(ssrc, seq, ts, second & 0x80, payload, peer.te_pt, now)
        elif 200 <= second <= 204:
            return False
        else:
            # comfort noise and codecs we did not agree on: counted, never relayed
            self.stats.update(ssrc, seq, ts, -1.0, len(payload))
        return True

    def _latch(self, addr: Address) -> None:
        """Symmetric RTP: answer where the far end sends from (it may sit behind NAT)."""
        self.remote = addr
        self.latched = True
        if not self.rtcp_latched:
            self.remote_rtcp = (addr[0], addr[1] + 1, *addr[2:])

    def relay(
        self, ssrc: int, seq: int, ts: int, marker: int, payload: bytes, pt: int, now: float
    ) -> None:
        """Send a packet received on the peer: re-stamped so this leg sees one stream."""
        remote = self.remote
        if remote is None or pt < 0:
            return
        if ssrc != self.relay_src:
            base = self.continue_ts(now)
            self.relay_src = ssrc
            self.ts_off = base - ts
            self.seq_off = self.seq + 1 - seq
            marker = 0x80
        out_seq = (seq + self.seq_off) & 0xFFFF
        out_ts = (ts + self.ts_off) & 0xFFFFFFFF
        self.send_to(_HEADER.pack(0x80, marker | pt, out_seq, out_ts, self.ssrc) + payload, remote)
        self.tx_packets += 1
        self.tx_octets += len(payload)
        if (out_seq - self.seq) & 0xFFFF < 0x8000:
            self.seq = out_seq
            self.ts = out_ts
            self.last_tx = now
        recorder = self.recorder
        if recorder is not None and pt == self.pt:
            recorder.add(RIGHT, self.ssrc, out_ts, payload, self.codec, now)

    def continue_ts(self, now: float) -> int:
        """The timestamp that continues our stream at `now`, whoever fed it last."""
        if self.last_tx < 0:
            return self.ts
        return (self.ts + round((now - self.last_tx) * RATE)) & 0xFFFFFFFF

    def send_paced(self, due: float) -> None:
        """One interval of the pacer: a digit packet or a prompt frame."""
        remote = self.remote
        digits = self.digits_out
        if digits is not None:
            for packet in digits.popleft() if digits else ():
                if packet.marker:
                    self.event_ts = self.gen_ts
                if not packet.repeat:
                    self.seq = (self.seq + 1) & 0xFFFF
                if remote is not None and self.te_pt >= 0:
                    marker = 0x80 if packet.marker else 0
                    header = _HEADER.pack(
                        0x80, marker | self.te_pt, self.seq, self.event_ts, self.ssrc
                    )
                    self.send_to(header + packet.payload, remote)
                    self.tx_packets += 1
                    self.tx_octets += len(packet.payload)
            self.ts = self.gen_ts
            self.last_tx = due
            self.gen_ts = (self.gen_ts + self.frame_samples) & 0xFFFFFFFF
            if not digits:
                self.digits_out = None
                self.worker.update_pacing(self)
            return
        player = self.player
        if player is None:
            return
        frame = player.next_frame()
        if frame is None:
            self.worker.finish_play(self, "finished")
            return
        first = self.relay_src == -1
        self.relay_src = None
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = self.gen_ts
        self.last_tx = due
        self.gen_ts = (self.gen_ts + self.frame_samples) & 0xFFFFFFFF
        if remote is not None:
            marker = 0x80 if first else 0
            self.send_to(
                _HEADER.pack(0x80, marker | self.pt, self.seq, self.ts, self.ssrc) + frame, remote
            )
            self.tx_packets += 1
            self.tx_octets += len(frame)
        recorder = self.recorder
        if recorder is not None:
            recorder.add(RIGHT, self.ssrc, self.ts, frame, self.codec, due)

    def on_digit(self, digit: str) -> None:
        worker = self.worker
        worker.emit("digit", self.endpoint_id, {"digit": digit})
        player = self.player
        if player is not None and player.barge_in:
            worker.finish_play(self, "barge_in", digit)
        collector = self.collector
        if collector is not None:
            worker.collect_digit(self, collector, digit)

    # ----------------------------------------------------------------------------- RTCP

    def on_rtcp(self, data: bytes, addr: Address) -> None:
        if not self.rtcp_latched:
            if self.remote is None or addr[0] != self.remote[0]:
                return
            self.remote_rtcp = addr
            self.rtcp_latched = True
        elif addr != self.remote_rtcp:
            return
        self.read_rtcp(data)

    def read_rtcp(self, data: bytes) -> None:
        """The far end's reports: the last sender report (echoed in ours), its view of our
        stream, and the round trip."""
        try:
            packets = rtp.parse_rtcp(data)
        except (rtp.RtpError, struct.error):
            return
        for packet in packets:
            if not isinstance(packet, rtp.RtcpReport):
                continue
            if packet.sender is not None:
                self.last_rtcp_sr = packet.sender.ntp_middle
                self.last_rtcp_sr_at = self._time()
            for block in packet.blocks:
                if block.ssrc != self.ssrc:
                    continue
                self.remote_report = block
                if block.last_sr:
                    arrival = (rtp.ntp_time(time.time()) >> 16) & 0xFFFFFFFF
                    rtt = (arrival - block.last_sr - block.delay_since_last_sr) & 0xFFFFFFFF
                    if rtt < 0x80000000:
                        self.round_trip = rtt / 65536

    def rtcp_report(self, now: float, *, bye: bool = False) -> bytes:
        return rtp.build_compound(self.report(now), self.worker.cname, bye=bye)

    def report(self, now: float) -> rtp.RtcpReport:
        """Our sender report (once we have sent), with what we received since the last one."""
        sender = None
        if self.tx_packets:
            sender = rtp.SenderInfo(
                ntp_timestamp=rtp.ntp_time(time.time()),
                rtp_timestamp=self.continue_ts(now),
                packet_count=self.tx_packets,
                octet_count=self.tx_octets,
            )
        blocks: tuple[rtp.ReportBlock, ...] = ()
        stats = self.stats
        if stats.ssrc is not None:
            fraction, cumulative = stats.interval_report()
            delay = 0
            if self.last_rtcp_sr:
                delay = int((now - self.last_rtcp_sr_at) * 65536)
            blocks = (
                rtp.ReportBlock(
                    ssrc=stats.ssrc,
                    fraction_lost=fraction,
                    cumulative_lost=cumulative,
                    highest_sequence=stats.extended_max_seq,
                    jitter=int(stats.jitter),
                    last_sr=self.last_rtcp_sr,
                    delay_since_last_sr=delay,
                ),
            )
        return rtp.RtcpReport(ssrc=self.ssrc, sender=sender, blocks=blocks)

    def send_rtcp(self, now: float, *, bye: bool = False) -> None:
        if self.remote_rtcp is None or self.rtcp is None:
            return
        self.rtcp.sendto(self.rtcp_report(now, bye=bye), self.remote_rtcp)

    async def close(self, now: float) -> LegQuality:
        """Stop carrying audio and free what the leg holds (an RTCP BYE, the sockets, the
        port); the leg's figures."""
        quality = self.quality(now)
        with contextlib.suppress(OSError):
            self.send_rtcp(now, bye=True)
        for transport in (self.rtp, self.rtcp):
            if transport is not None:
                transport.close()
        self.worker.ports.give_back(self.port)
        return quality

    def quality(self, now: float) -> LegQuality:
        stats = self.stats
        expected = stats.expected
        lost = stats.lost
        block = self.remote_report
        return LegQuality(
            duration_seconds=round(now - self.allocated_at, 3),
            packets_sent=self.tx_packets,
            octets_sent=self.tx_octets,
            packets_received=stats.received,
            octets_received=stats.octets,
            packets_expected=expected,
            packets_lost=lost,
            loss_fraction=round(lost / expected, 4) if expected else 0.0,
            jitter_ms=round(stats.jitter_ms(), 2),
            max_jitter_ms=round(stats.max_jitter_ms(), 2),
            duplicates=stats.duplicates,
            streams=stats.streams,
            remote_loss_fraction=None if block is None else round(block.fraction_lost, 4),
            remote_packets_lost=None if block is None else block.cumulative_lost,
            remote_jitter_ms=None if block is None else round(block.jitter * 1000 / RATE, 2),
            round_trip_ms=None if self.round_trip is None else round(self.round_trip * 1000, 2),
        )


class PortPool:
    """Even RTP ports of this worker's slice (RTCP on the next odd port), least recently used
    first, so a released port is not reused while late packets of its last call may arrive."""

    def __init__(self, first: int, last: int) -> None:
        self._free: deque[int] = deque(range(first + first % 2, last, 2))

    def __len__(self) -> int:
        return len(self._free)

    def take(self) -> int:
        if not self._free:
            raise NoMediaPorts("no free RTP port in this worker's range")
        return self._free.popleft()

    def give_back(self, port: int) -> None:
        self._free.append(port)


class Worker:
    """The worker's state and its command handlers."""

    def __init__(self, config: MediaConfig, index: int, control: socket.socket) -> None:
        self.config = config
        self.index = index
        self.cname = f"{config.cname}-media-{index}@{config.address}"
        self._control_socket = control
        self.loop: asyncio.AbstractEventLoop = asyncio.get_running_loop()
        first, last = config.port_slice(index)
        self.ports = PortPool(first, last)
        self.family = (
            socket.AF_INET6 if ipaddress.ip_address(config.address).version == 6 else socket.AF_INET
        )
        self.endpoints: dict[str, Endpoint] = {}
        # The pacer's timing wheel: slot i holds the legs whose next frame is due i ticks on.
        self.wheel: list[dict[Endpoint, None]] = [{} for _ in range(WHEEL)]
        self.wheel_position = 0  # the slot of `next_tick`
        self.prompts = PromptCache()
        # The one documented thread: blocking file work (prompts, recordings) happens here.
        self.files = ThreadPoolExecutor(max_workers=1, thread_name_prefix="media-files")
        self.tasks: set[asyncio.Task[None]] = set()
        self.locks: dict[str, asyncio.Lock] = {}
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.next_tick = 0.0
        self._phase = 0
        self._tick_handle: asyncio.TimerHandle | None = None
        self._housekeeping_handle: asyncio.TimerHandle | None = None
        self.channel = Channel(control, self.loop, self.on_command, self.on_control_closed)
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "allocate": self.allocate,
            "allocate_webrtc": self.allocate_webrtc,
            "remote": self.set_remote,
            "play": self.play,
            "stop": self.stop,
            "collect": self.collect,
            "cancel_collect": self.cancel_collect,
            "digits": self.send_digits,
            "press": self.press_digits,
            "bridge": self.bridge,
            "unbridge": self.unbridge,
            "record_start": self.record_start,
            "record_stop": self.record_stop,
            "release": self.release,
            "quality": self.quality,
            "stats": self.stats,
            "ping": self.ping,
            "shutdown": self.shutdown,
        }

    def rtcp_delay(self) -> float:
        return self.config.rtcp_interval * random.uniform(0.5, 1.5)

    # ------------------------------------------------------------------------------ life

    async def run(self) -> None:
        # What exists now (modules, tables) lives as long as the process: keep it out of the
        # collector's scans so that its pauses on the packet loop stay short.
        gc.collect()
        gc.freeze()
        now = self.loop.time()
        self.next_tick = now + TICK
        self._tick_handle = self.loop.call_at(self.next_tick, self._tick)
        self._housekeeping_handle = self.loop.call_later(HOUSEKEEPING, self._housekeeping)
        self.emit(
            "ready", None, {"pid": os.getpid(), "ports": list(self.config.port_slice(self.index))}
        )
        try:
            await self.done
        finally:
            await self._release_all()
            for handle in (self._tick_handle, self._housekeeping_handle):
                if handle is not None:
                    handle.cancel()
            for task in list(self.tasks):
                task.cancel()
            self.channel.close()
            self.files.shutdown(wait=False)

    def stop_running(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def on_control_closed(self) -> None:
        """The control process is gone: finish recordings and leave."""
        self.stop_running()

    def emit(self, kind: str, endpoint_id: str | None, data: dict[str, Any]) -> None:
        self.channel.send(["e", kind, endpoint_id, data])

    # ------------------------------------------------------------------------- commands

    def on_command(self, message: Message) -> None:
        if len(message) != 3 or not isinstance(message[2], dict):
            log.warning("malformed command dropped")
            return
        request_id, op, args = message
        task = self.loop.create_task(self._run_command(request_id, op, args))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run_command(self, request_id: Any, op: str, args: dict[str, Any]) -> None:
        handler = self.handlers.get(op)
        if handler is None:
            self.channel.send(["x", request_id, "media_error", f"unknown command {op!r}"])
            return
        # Commands on one endpoint run in the order they were sent, even when one waits for a
        # file: a stop sent after a play must find that play started.
        ids = sorted({str(args[key]) for key in ("endpoint", "other") if key in args})
        locks = [self.locks.setdefault(endpoint_id, asyncio.Lock()) for endpoint_id in ids]
        try:
            for lock in locks:
                await lock.acquire()
            try:
                result = await handler(args)
            finally:
                for lock in locks:
                    lock.release()
        except MediaError as exc:
            self.channel.send(["x", request_id, exc.code, exc.message])
        except (KeyError, TypeError, ValueError) as exc:
            self.channel.send(["x", request_id, "media_error", f"bad {op} command: {exc!r}"])
        except Exception as exc:  # a bug must not take every call of this worker down with it
            log.exception("command %s failed", op)
            self.channel.send(["x", request_id, "media_error", f"{op} failed: {exc!r}"])
        else:
            self.channel.send(["r", request_id, result])

    def _endpoint(self, args: dict[str, Any], key: str = "endpoint") -> Endpoint:
        endpoint = self.endpoints.get(str(args[key]))
        if endpoint is None:
            raise EndpointNotFound(f"no endpoint {args[key]} on media worker {self.index}")
        return endpoint

    async def allocate(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint_id = str(args["endpoint"])
        if endpoint_id in self.endpoints:
            raise MediaError(f"endpoint {endpoint_id} exists already")
        timeout = float(args.get("rtp_timeout", self.config.rtp_timeout))
        for _ in range(min(len(self.ports), 64)):
            port = self.ports.take()
            try:
                rtp_sock = self._bind(port)
            except OSError:
                self.ports.give_back(port)  # used by another program: try the next one
                continue
            try:
                rtcp_sock = self._bind(port + 1)
            except OSError:
                rtp_sock.close()
                self.ports.give_back(port)
                continue
            break
        else:
            raise NoMediaPorts(f"no bindable RTP port left on media worker {self.index}")
        endpoint = Endpoint(self, endpoint_id, port, timeout)
        try:
            rtp_transport, _ = await self.loop.create_datagram_endpoint(
                lambda: _RtpProtocol(endpoint.on_rtp), sock=rtp_sock
            )
            rtcp_transport, _ = await self.loop.create_datagram_endpoint(
                lambda: _RtpProtocol(endpoint.on_rtcp), sock=rtcp_sock
            )
        except OSError:
            rtp_sock.close()
            rtcp_sock.close()
            self.ports.give_back(port)
            raise
        endpoint.rtp = rtp_transport
        endpoint.rtcp = rtcp_transport
        endpoint.send_to = rtp_transport.sendto
        self.endpoints[endpoint_id] = endpoint
        return {"address": self.config.address, "port": port, "rtcp_port": port + 1}

    async def allocate_webrtc(self, args: dict[str, Any]) -> dict[str, Any]:
        """A browser's leg from its SDP offer: the answer, and the leg's address and port."""
        endpoint_id = str(args["endpoint"])
        if endpoint_id in self.endpoints:
            raise MediaError(f"endpoint {endpoint_id} exists already")
        # Imported on the first browser leg: a worker that carries none never loads aiortc.
        from hotline.telephony.media import webrtc

        timeout = float(args.get("rtp_timeout", self.config.rtp_timeout))
        endpoint, answer = await webrtc.WebRtcEndpoint.open(
            self, endpoint_id, str(args["offer"]), timeout
        )
        self.endpoints[endpoint_id] = endpoint
        return {
            "address": self.config.address,
            "port": endpoint.port,
            "rtcp_port": endpoint.port,  # RTCP multiplexed (RFC 5761), as WebRTC requires
            "answer": answer,
            "codec": str(endpoint.codec),
            "telephone_event": endpoint.te_pt >= 0,
        }

    def _bind(self, port: int) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self.config.address, port))
        except OSError:
            sock.close()
            raise
        return sock

    async def set_remote(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        if endpoint.kind != "rtp":
            raise MediaError("a WebRTC leg's far end is set by its SDP offer, not by set_remote")
        codec = g711.Codec(args.get("codec", "PCMU"))
        ptime = int(args.get("ptime", 20))
        if ptime % 10 or not 10 <= ptime <= 60:
            raise MediaError(f"ptime {ptime} ms is not supported (10 to 60, by 10)")
        address = str(args["address"])
        try:
            version = ipaddress.ip_address(address).version
        except ValueError:
            raise MediaError(f"remote address {address!r} is not an IP address") from None
        if (version == 6) != (self.family == socket.AF_INET6):
            raise MediaError(
                f"remote {address} is not reachable from media address {self.config.address}"
            )
        port = int(args["port"])
        rtcp_port = int(args.get("rtcp_port") or port + 1)
        endpoint.codec = codec
        endpoint.pt = int(args.get("payload_type", codec.static_payload_type))
        te_pt = args.get("telephone_event_pt")
        endpoint.te_pt = -1 if te_pt is None else int(te_pt)
        endpoint.ptime = ptime
        endpoint.frame_samples = RATE * ptime // 1000
        endpoint.frame_bytes = endpoint.frame_samples
        endpoint.remote = (address, port)
        endpoint.remote_rtcp = (address, rtcp_port)
        endpoint.latched = False  # latch again onto where the (new) stream comes from
        endpoint.rtcp_latched = False
        if args.get("rtp_timeout") is not None:
            endpoint.rtp_timeout = float(args["rtp_timeout"])
        endpoint.last_rx = self.loop.time()
        endpoint.timed_out = False
        self._update_relay_tables(endpoint)
        return {}

    def _update_relay_tables(self, endpoint: Endpoint) -> None:
        peer = endpoint.peer
        if peer is None:
            endpoint.relay_table = None
            return
        endpoint.relay_table = g711.transcode_table(endpoint.codec, peer.codec)
        peer.relay_table = g711.transcode_table(peer.codec, endpoint.codec)

    async def play(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        if endpoint.pt < 0:
            raise MediaError("cannot play before the endpoint's remote codec is set")
        files = [str(path) for path in args["files"]]
        if not files:
            raise PromptUnavailable("nothing to play")
        codec = endpoint.codec
        loaded = await self.loop.run_in_executor(
            self.files, load_prompts, files, codec, self.prompts.keys()
        )
        parts: list[bytes] = []
        for key, data in loaded:
            if data is not None:
                self.prompts.put(key, data)
            else:
                data = self.prompts.get(key) or b""
            parts.append(data)
        if self.endpoints.get(endpoint.endpoint_id) is not endpoint:
            raise EndpointNotFound("endpoint released while its prompts were read")
        if endpoint.player is not None:
            self.finish_play(endpoint, "replaced")
        endpoint.player = Player(
            str(args["play_id"]),
            b"".join(parts),
            endpoint.frame_bytes,
            codec.silence,
            loop=bool(args.get("loop", False)),
            barge_in=bool(args.get("barge_in", False)),
        )
        self.update_pacing(endpoint)
        return {"seconds": round(sum(len(p) for p in parts) / RATE, 3)}

    async def stop(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        if endpoint.player is None:
            return {"stopped": False}
        self.finish_play(endpoint, "stopped")
        return {"stopped": True}

    def update_pacing(self, endpoint: Endpoint) -> None:
        """Put the endpoint on the pacer's wheel while it has something of its own to send."""
        paced = endpoint.player is not None or endpoint.digits_out is not None
        if paced and not endpoint.paced:
            endpoint.paced = True
            # Legs are spread over the ticks of one ptime, so no tick sends every frame at once.
            endpoint.slots = max(1, round(endpoint.ptime / 1000 / TICK))
            offset = self._phase % endpoint.slots
            self._phase += 1
            endpoint.slot = (self.wheel_position + offset) % WHEEL
            self.wheel[endpoint.slot][endpoint] = None
            endpoint.gen_ts = endpoint.continue_ts(self.next_tick + offset * TICK)
            endpoint.relay_src = -1  # marks the first generated frame (marker bit)
        elif not paced and endpoint.paced:
            endpoint.paced = False
            endpoint.relay_src = None  # a relay that resumes re-anchors its timestamps
            self.wheel[endpoint.slot].pop(endpoint, None)

    def finish_play(self, endpoint: Endpoint, reason: str, digit: str | None = None) -> None:
        player = endpoint.player
        if player is None:
            return
        endpoint.player = None
        self.update_pacing(endpoint)
        data: dict[str, Any] = {"play_id": player.play_id, "reason": reason}
        if digit is not None:
            data["digit"] = digit
        self.emit("play_done", endpoint.endpoint_id, data)
        collector = endpoint.collector
        if collector is not None and collector.timer is None and reason != "replaced":
            self._arm(endpoint, collector, collector.first_timeout)

    async def collect(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        if endpoint.collector is not None:
            self._end_collect(endpoint, "replaced")
        max_digits = int(args.get("max_digits", 1))
        if max_digits < 1:
            raise MediaError("max_digits must be at least 1")
        collector = Collector(
            str(args["collect_id"]),
            max_digits,
            str(args.get("terminators", "")),
            float(args.get("first_digit_timeout", 5.0)),
            float(args.get("inter_digit_timeout", 3.0)),
        )
        endpoint.collector = collector
        if endpoint.player is None:  # otherwise the clock starts when the prompt ends
            self._arm(endpoint, collector, collector.first_timeout)
        return {}

    def _arm(self, endpoint: Endpoint, collector: Collector, seconds: float) -> None:
        if collector.timer is not None:
            collector.timer.cancel()
        collector.timer = self.loop.call_later(seconds, self._collect_timeout, endpoint, collector)

    def _collect_timeout(self, endpoint: Endpoint, collector: Collector) -> None:
        if endpoint.collector is collector:
            collector.timer = None
            self._end_collect(endpoint, "timeout")

    def collect_digit(self, endpoint: Endpoint, collector: Collector, digit: str) -> None:
        if digit in collector.terminators:
            self._end_collect(endpoint, "terminator", digit)
            return
        collector.digits += digit
        if len(collector.digits) >= collector.max_digits:
            self._end_collect(endpoint, "max_digits")
        else:
            self._arm(endpoint, collector, collector.inter_timeout)

    def _end_collect(self, endpoint: Endpoint, reason: str, terminator: str | None = None) -> None:
        collector = endpoint.collector
        if collector is None:
            return
        endpoint.collector = None
        if collector.timer is not None:
            collector.timer.cancel()
            collector.timer = None
        self.emit(
            "collect_done",
            endpoint.endpoint_id,
            {
                "collect_id": collector.collect_id,
                "digits": collector.digits,
                "reason": reason,
                "terminator": terminator,
            },
        )

    async def cancel_collect(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        active = endpoint.collector is not None
        self._end_collect(endpoint, "stopped")
        return {"stopped": active}

    async def send_digits(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        if endpoint.te_pt < 0:
            raise MediaError("the far end did not agree on telephone-events")
        self._send_key_presses(endpoint, str(args["digits"]), int(args.get("duration_ms", 100)))
        return {}

    def _send_key_presses(self, endpoint: Endpoint, digits: str, duration_ms: int) -> None:
        schedule = dtmf.key_press_packets(digits, duration_ms=duration_ms, ptime_ms=endpoint.ptime)
        if endpoint.digits_out is None:
            endpoint.digits_out = deque(schedule)
        else:
            endpoint.digits_out.extend(schedule)
        self.update_pacing(endpoint)

    async def press_digits(self, args: dict[str, Any]) -> dict[str, Any]:
        """Keys pressed at the far end but reported out of band (the browser's keypad through
        the API, SIP INFO): handled as if they had come as RFC 4733 events on the leg, and
        sent on as events to the bridged leg."""
        endpoint = self._endpoint(args)
        digits = str(args["digits"])
        for digit in digits:
            dtmf.code_of(digit)  # refuse the whole string before acting on any of it
        peer = endpoint.peer
        for digit in digits:
            endpoint.on_digit(digit)
        if peer is not None and peer.te_pt >= 0:
            self._send_key_presses(peer, digits, int(args.get("duration_ms", 100)))
        return {}

    async def bridge(self, args: dict[str, Any]) -> dict[str, Any]:
        first = self._endpoint(args)
        second = self._endpoint(args, "other")
        if first is second:
            raise MediaError("an endpoint cannot be bridged to itself")
        for endpoint in (first, second):
            if endpoint.peer is not None and endpoint.peer not in (first, second):
                self._unlink(endpoint)
        first.peer = second
        second.peer = first
        first.relay_src = None if not first.paced else first.relay_src
        second.relay_src = None if not second.paced else second.relay_src
        self._update_relay_tables(first)
        return {}

    def _unlink(self, endpoint: Endpoint) -> None:
        peer = endpoint.peer
        endpoint.peer = None
        endpoint.relay_table = None
        if not endpoint.paced:
            endpoint.relay_src = None
        if peer is not None and peer.peer is endpoint:
            peer.peer = None
            peer.relay_table = None
            if not peer.paced:
                peer.relay_src = None

    async def unbridge(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        bridged = endpoint.peer is not None
        self._unlink(endpoint)
        return {"unbridged": bridged}

    async def record_start(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        if endpoint.recorder is not None:
            raise MediaError(f"endpoint {endpoint.endpoint_id} is recording already")
        path = str(args["path"])

        def failed(exc: BaseException) -> None:
            log.error("recording %s failed: %s", path, exc)
            self.emit("record_failed", endpoint.endpoint_id, {"path": path, "error": str(exc)})

        try:
            recorder = await Recorder.open(path, self.loop.time(), self.files, self.loop, failed)
        except OSError as exc:
            raise MediaError(f"cannot record to {path}: {exc.strerror}", path=path) from exc
        if self.endpoints.get(endpoint.endpoint_id) is not endpoint:
            await recorder.close(self.loop.time())
            raise EndpointNotFound("endpoint released while its recording was opened")
        endpoint.recorder = recorder
        return {"path": path}

    async def record_stop(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        recorder = endpoint.recorder
        if recorder is None:
            raise MediaError(f"endpoint {endpoint.endpoint_id} is not recording")
        endpoint.recorder = None
        seconds = await recorder.close(self.loop.time())
        return {"path": recorder.path, "seconds": seconds}

    async def release(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        quality = await self._release(endpoint)
        return {"quality": quality.as_dict()}

    async def quality(self, args: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(args)
        return {"quality": endpoint.quality(self.loop.time()).as_dict()}

    async def _release(self, endpoint: Endpoint) -> LegQuality:
        now = self.loop.time()
        self.endpoints.pop(endpoint.endpoint_id, None)
        self.locks.pop(endpoint.endpoint_id, None)
        self._unlink(endpoint)
        endpoint.player = None
        endpoint.digits_out = None
        self.update_pacing(endpoint)
        collector = endpoint.collector
        if collector is not None and collector.timer is not None:
            collector.timer.cancel()
        endpoint.collector = None
        quality = await endpoint.close(now)
        recorder = endpoint.recorder
        endpoint.recorder = None
        if recorder is not None:
            await recorder.close(now)
        return quality

    async def _release_all(self) -> None:
        for endpoint in list(self.endpoints.values()):
            try:
                await self._release(endpoint)
            except Exception:
                log.exception("releasing endpoint %s at shutdown failed", endpoint.endpoint_id)

    async def stats(self, args: dict[str, Any]) -> dict[str, Any]:
        times = os.times()
        return {
            "endpoints": len(self.endpoints),
            "playing": sum(1 for e in self.endpoints.values() if e.player is not None),
            "bridged": sum(1 for e in self.endpoints.values() if e.peer is not None),
            "recording": sum(1 for e in self.endpoints.values() if e.recorder is not None),
            "webrtc": sum(1 for e in self.endpoints.values() if e.kind == "webrtc"),
            "cpu_seconds": times.user + times.system,
            "free_ports": len(self.ports),
        }

    async def ping(self, args: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def shutdown(self, args: dict[str, Any]) -> dict[str, Any]:
        await self._release_all()
        self.loop.call_soon(self.stop_running)
        return {}

    # ----------------------------------------------------------------------------- timers

    def _tick(self) -> None:
        """Run every wheel slot that is due. A pacer that fell far behind (a stalled machine)
        sends at most MAX_CATCH_UP ticks' worth at once and skips the rest rather than burst."""
        now = self.loop.time()
        ran = 0
        while self.next_tick <= now + 0.002:
            self._run_slot(self.next_tick, send=ran < MAX_CATCH_UP)
            self.next_tick += TICK
            ran += 1
        self._tick_handle = self.loop.call_at(self.next_tick, self._tick)

    def _run_slot(self, due: float, *, send: bool) -> None:
        position = self.wheel_position
        self.wheel_position = (position + 1) % WHEEL
        bucket = self.wheel[position]
        if not bucket:
            return
        self.wheel[position] = {}
        for endpoint in bucket:
            if send:
                endpoint.send_paced(due)
            else:  # skipped: the stream's clock moves on all the same
                endpoint.gen_ts = (endpoint.gen_ts + endpoint.frame_samples) & 0xFFFFFFFF
            if endpoint.paced:
                slot = (position + endpoint.slots) % WHEEL
                endpoint.slot = slot
                self.wheel[slot][endpoint] = None

    def _housekeeping(self) -> None:
        now = self.loop.time()
        try:
            for endpoint in list(self.endpoints.values()):
                timeout = endpoint.rtp_timeout
                if timeout > 0 and not endpoint.timed_out and now - endpoint.last_rx > timeout:
                    endpoint.timed_out = True
                    self.emit(
                        "rtp_timeout",
                        endpoint.endpoint_id,
                        {"seconds": round(now - endpoint.last_rx, 3)},
                    )
                if now >= endpoint.next_rtcp:
                    endpoint.next_rtcp = now + self.rtcp_delay()
                    with contextlib.suppress(OSError):
                        endpoint.send_rtcp(now)
                recorder = endpoint.recorder
                if recorder is not None:
                    recorder.flush(now)
        finally:
            self._housekeeping_handle = self.loop.call_later(HOUSEKEEPING, self._housekeeping)


async def _main(config: MediaConfig, index: int, control_fd: int) -> None:
    control = socket.socket(fileno=control_fd)
    worker = Worker(config, index, control)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, worker.stop_running)
    await worker.run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Hotline media worker (started by the engine)")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--config", required=True, help="MediaConfig as JSON")
    parser.add_argument("--log-level", default="INFO")
    options = parser.parse_args(argv)
    logging.basicConfig(
        level=options.log_level,
        format=f"%(asctime)s media-worker-{options.index} %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    # Ctrl-C reaches the whole process group; the control process decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config = MediaConfig(**json.loads(options.config))
    import uvloop

    uvloop.run(_main(config, options.index, options.control_fd))


if __name__ == "__main__":
    # Run as the package's module, not as __main__: the WebRTC leg (webrtc.py) subclasses this
    # module's Endpoint, and one process must not hold two copies of the class.
    from hotline.telephony.media.worker import main as package_main

    package_main()
