"""The WebRTC leg: a browser softphone's audio, carried inside a media worker.

The browser's SDP offer comes through the call layer; the worker answers it with aiortc, and
from then on the leg is an endpoint like any other: bridged to a phone leg, played to, recorded,
its key presses collected, its quality reported. Only G.711 is answered (PCMU preferred, PCMA
accepted, telephone-event when the browser offers it), so audio between a browser and a G.711
phone is never decoded nor encoded: a payload is relayed as it came, or translated code by code
by table when the two legs use different laws.

aiortc sets the leg up and the worker carries its packets. aiortc does ICE (aioice), the DTLS
handshake that keys SRTP, ICE consent freshness and the closing; it never sees a media packet:

- its RTCRtpSender and RTCRtpReceiver are never started (their `send`/`receive` do nothing), so
  there is no sender task, receiver jitter buffer, decoder thread, codec, or per-packet objects;
- `SrtpPath` takes the connection's datagrams at the aioice `Connection` (`data_received`, per
  connection): SRTP and SRTCP are decrypted with the session aiortc keyed and handed to the
  endpoint (`Endpoint.receive` and `read_rtcp`, the path a phone's packets take); anything else
  (DTLS records, SRTP before the handshake ended) goes on to aiortc as before;
- the endpoint's packets (relay, prompts, key presses, RTCP) are built by the worker's usual code
  with the SSRC announced in the answer, protected, and sent on the socket of the ICE pair the
  browser nominated.
Measured on the (busy, shared) 2-core development machine with bench/webrtc_legs.py, a browser
call bridged to a phone cost the worker 1.9-2.8% of a core when aiortc's RTCRtpSender sent
pre-encoded `av.Packet`s (its encoder only packing them) and its DTLS transport handed decrypted
packets to the endpoint: no codec, but a task switch, several coroutine layers and a few objects
per packet. Carried as above it costs about 0.6% (0.44% for the browser leg itself, the rest is
the phone leg); plain aiortc, decoding and encoding, about 4% per browser leg. docs/media.md has
the figures.

aiortc and aioice are also changed process-wide in ONE place, `install`, run by a worker before
its first browser leg: ICE host candidates come only from the configured media address (the
setting SIP and RTP use; aioice otherwise gathers every address of the machine and leaves out
127.0.0.1), and telephone-event/8000 joins the audio codecs aiortc may answer. The browser's
candidates of other addresses are dropped from its offer, so the worker never sends a check
anywhere else: the browser's own checks reach the media address and are answered where they
came from (peer-reflexive candidates). The ICE socket takes a free port from the kernel's
ephemeral range, not from the worker's RTP range.

The hooks rely on internals of aiortc 1.16 and aioice 0.13 (`RTCDtlsTransport._rx_srtp` and
`_tx_srtp`, `RTCIceTransport._connection`, `Connection._nominated`, `RTCRtpSender._ssrc`);
`install` refuses to run where they are missing, and the tests exercise every one."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import aioice.ice
import pylibsrtp
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.codecs import CODECS
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import SessionDescription

from hotline.telephony.media import g711, rtp
from hotline.telephony.media.errors import MediaError, WebRtcOfferRejected
from hotline.telephony.media.stats import LegQuality
from hotline.telephony.media.worker import Address, Endpoint

if TYPE_CHECKING:
    from hotline.telephony.media.worker import Worker

log = logging.getLogger("hotline.media.webrtc")

TELEPHONE_EVENT = "audio/telephone-event"
CLOSE_TIMEOUT = 5.0

_installed: str | None = None


def install(address: str) -> None:
    """The process-wide changes to aioice and aiortc, made once, before the first browser leg
    (the one place where they are made; see the module's docstring)."""
    global _installed
    if _installed == address:
        return
    if _installed is not None:
        raise MediaError(f"WebRTC legs are bound to {_installed} already, not {address}")
    restrict_host_addresses(address)
    add_telephone_event()
    logging.getLogger("aioice").setLevel(logging.WARNING)  # a line per ICE check otherwise
    _installed = address


def restrict_host_addresses(address: str) -> None:
    """Make aioice gather host candidates on `address` only. Also what a test's or benchmark's
    own aiortc peer needs to stay on loopback."""

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [address]

    aioice.ice.get_host_addresses = host_addresses


def add_telephone_event() -> None:
    """Let aiortc answer (and offer) telephone-event/8000, so a browser may send RFC 4733 keys."""
    if not any(c.mimeType.lower() == TELEPHONE_EVENT for c in CODECS["audio"]):
        CODECS["audio"].append(
            RTCRtpCodecParameters(mimeType=TELEPHONE_EVENT, clockRate=8000, payloadType=101)
        )


def keep_candidates(sdp: str, address: str) -> str:
    """The SDP without the candidates of any other address than `address` (host names such as
    mDNS `.local` ones included, and TCP candidates, which aioice does not use)."""
    wanted = ipaddress.ip_address(address)
    lines = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if len(fields) < 8 or fields[2].lower() != "udp" or not _is(fields[4], wanted):
                continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _is(text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False


def _choose_codecs(offer: SessionDescription) -> tuple[g711.Codec, bool]:
    """The law to answer (PCMU when offered, else PCMA) and whether telephone-event is."""
    media = offer.media
    if len(media) != 1 or media[0].kind != "audio":
        raise WebRtcOfferRejected("a browser leg's offer must carry one audio stream, no more")
    offered = {c.mimeType.lower() for c in media[0].rtp.codecs if c.clockRate == 8000}
    for codec in (g711.Codec.PCMU, g711.Codec.PCMA):
        if f"audio/{codec}".lower() in offered:
            return codec, TELEPHONE_EVENT in offered
    raise WebRtcOfferRejected("the offer has no G.711 audio (PCMU or PCMA)")


def codec_preferences(names: list[str]) -> list[RTCRtpCodecCapability]:
    """aiortc's audio capabilities for the codec names given ("PCMU", "telephone-event"...)."""
    capabilities = RTCRtpSender.getCapabilities("audio").codecs
    wanted = [f"audio/{name}".lower() for name in names]
    return [c for name in wanted for c in capabilities if c.mimeType.lower() == name]


async def _idle(parameters: object) -> None:
    """In place of RTCRtpSender.send and RTCRtpReceiver.receive: aiortc carries no media."""


class SrtpPath:
    """A connection's media plane, taken over from aiortc: decrypted packets in through the
    callbacks, packets out protected on the nominated ICE pair. Made before the connection
    starts; `start` once DTLS has keyed SRTP (the connection is "connected")."""

    def __init__(
        self,
        transceiver: RTCRtpTransceiver,
        on_rtp: Callable[[bytes], object],
        on_rtcp: Callable[[bytes], None],
    ) -> None:
        try:
            self.ssrc: int = transceiver.sender._ssrc  # the SSRC the SDP announces for our stream
            self.dtls: RTCDtlsTransport = transceiver.receiver.transport
            self.connection = self.dtls.transport._connection
            self.aioice_data_received = self.connection.data_received
            if not hasattr(self.dtls, "_rx_srtp") or not hasattr(self.connection, "_nominated"):
                raise AttributeError("_rx_srtp or _nominated")
        except AttributeError as exc:
            raise MediaError(f"WebRTC legs need aiortc 1.16 and aioice 0.13 ({exc})") from None
        transceiver.sender.send = _idle  # type: ignore[method-assign]
        transceiver.receiver.receive = _idle  # type: ignore[method-assign]
        self.connection.data_received = self._datagram  # type: ignore[method-assign]
        self.on_rtp = on_rtp
        self.on_rtcp = on_rtcp
        self.rx: pylibsrtp.Session | None = None
        self.tx: pylibsrtp.Session | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: Address | None = None
        self.rejected = 0  # packets that failed SRTP authentication or replay checks

    def start(self) -> Address:
        """Begin carrying packets; where they go (the nominated pair's far end)."""
        pair = self.connection._nominated[1]
        self.transport = pair.protocol.transport
        self.remote = pair.remote_addr
        self.tx = self.dtls._tx_srtp
        self.rx = self.dtls._rx_srtp
        return pair.remote_addr

    def stop(self) -> None:
        self.rx = self.tx = None
        self.transport = None

    def send_rtp(self, data: bytes, remote: Address) -> None:
        tx, transport = self.tx, self.transport
        if tx is not None and transport is not None:
            transport.sendto(tx.protect(data), remote)

    def send_rtcp(self, data: bytes) -> None:
        tx, transport = self.tx, self.transport
        if tx is not None and transport is not None:
            transport.sendto(tx.protect_rtcp(data), self.remote)

    def _datagram(self, data: bytes, component: int) -> None:
        rx = self.rx
        if rx is None or len(data) < 12 or not 127 < data[0] < 192:
            self.aioice_data_received(data, component)  # DTLS, or media before we started
            return
        try:
            if 192 <= data[1] <= 223:  # RTCP packet types (RFC 5761)
                self.on_rtcp(rx.unprotect_rtcp(data))
            else:
                self.on_rtp(rx.unprotect(data))
        except pylibsrtp.Error:
            self.rejected += 1


class WebRtcEndpoint(Endpoint):
    """A browser's leg. Made by `open` from the browser's offer; ended (an `ended` event) when the
    peer connection fails, closes or never connects, and freed by the worker's release."""

    kind = "webrtc"

    __slots__ = ("cname", "closing", "connected", "ended", "path", "pc", "timer")

    def __init__(self, worker: Worker, endpoint_id: str, rtp_timeout: float) -> None:
        super().__init__(worker, endpoint_id, 0, rtp_timeout)
        # The first sequence number in the lower half: a stream whose numbers wrap before the
        # browser's SRTP has its rollover counter can fail to decrypt (as aiortc's sender notes).
        self.seq = random.getrandbits(15)
        self.pc: RTCPeerConnection | None = None
        self.path: SrtpPath | None = None
        self.cname = worker.cname
        self.connected = False
        self.ended = False
        self.closing = False
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    async def open(
        cls, worker: Worker, endpoint_id: str, offer_sdp: str, rtp_timeout: float
    ) -> tuple[WebRtcEndpoint, str]:
        """The leg for a browser's offer, and the SDP answer to send back."""
        install(worker.config.address)
        offer = keep_candidates(offer_sdp, worker.config.address)
        try:
            parsed = SessionDescription.parse(offer)
        except (ValueError, KeyError, IndexError, AssertionError) as exc:  # aiortc asserts too
            raise WebRtcOfferRejected(f"the offer is not valid SDP: {exc!r}") from None
        codec, telephone_event = _choose_codecs(parsed)
        endpoint = cls(worker, endpoint_id, rtp_timeout)
        try:
            answer = await endpoint._answer(offer, codec, telephone_event)
        except BaseException:
            await endpoint._close_connection()
            raise
        return endpoint, answer

    async def _answer(self, offer: str, codec: g711.Codec, telephone_event: bool) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc = pc
        # A transceiver made before the offer is applied takes the offer's audio with our
        # codec preferences (aiortc negotiates codecs when the remote description is set).
        transceiver = pc.addTransceiver("audio", direction="sendrecv")
        names = [str(codec)] + (["telephone-event"] if telephone_event else [])
        transceiver.setCodecPreferences(codec_preferences(names))
        pc.on("connectionstatechange", self._on_state)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            self.path = SrtpPath(transceiver, self.receive, self.read_rtcp)
            await pc.setLocalDescription(await pc.createAnswer())
        except (
            ValueError,
            InternalError,
            InvalidAccessError,
            InvalidStateError,
            OperationError,
        ) as exc:
            raise WebRtcOfferRejected(f"the offer cannot be answered: {exc}") from None
        answer = pc.localDescription.sdp
        media = SessionDescription.parse(answer).media[0]
        for negotiated in media.rtp.codecs:
            name, pt = negotiated.mimeType.lower(), negotiated.payloadType
            if pt is None:
                continue
            if name == TELEPHONE_EVENT:
                self.te_pt = pt
            elif name == f"audio/{codec}".lower():
                self.pt = pt
        if self.pt < 0:
            raise WebRtcOfferRejected(f"aiortc did not answer {codec}")
        self.codec = codec
        self.ssrc = self.path.ssrc
        if media.ssrc and media.ssrc[0].cname:
            self.cname = media.ssrc[0].cname  # our RTCP says what the SDP said
        candidates = self.path.dtls.transport.iceGatherer.getLocalCandidates()
        if not candidates:
            raise MediaError(f"no ICE candidate on {self.worker.config.address}")
        self.port = candidates[0].port
        self.timer = self.worker.loop.call_later(
            self.worker.config.webrtc_connect_timeout, self._connect_timed_out
        )
        return answer

    # ------------------------------------------------------------------------- life

    def _on_state(self) -> None:
        pc, path = self.pc, self.path
        if pc is None or path is None:
            return
        state = pc.connectionState
        if state == "connected" and not self.connected and not self.closing:
            try:
                self.remote = self.remote_rtcp = path.start()
            except (KeyError, AttributeError):  # connected, yet no nominated pair: not usable
                self._end("webrtc connection failed")
                return
            self.connected = True
            self.send_to = path.send_rtp
            self.last_rx = self._time()  # the silence limit counts from here
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
        elif state in ("failed", "closed"):
            self._end(f"webrtc connection {state}")

    def _connect_timed_out(self) -> None:
        self.timer = None
        if not self.connected:
            self._end("webrtc connect timeout")

    def _end(self, reason: str) -> None:
        """The browser is gone: say so once, and let go of the connection (the endpoint stays
        until it is released, so that its figures can be collected)."""
        self._stop_carrying()
        if self.ended or self.closing:
            return
        self.ended = True
        self.worker.emit("ended", self.endpoint_id, {"reason": reason})
        task = self.worker.loop.create_task(self._close_connection())
        self.worker.tasks.add(task)
        task.add_done_callback(self.worker.tasks.discard)

    def _stop_carrying(self) -> None:
        self.connected = False
        self.remote = None
        if self.path is not None:
            self.path.stop()

    async def close(self, now: float) -> LegQuality:
        self.closing = True
        quality = self.quality(now)
        with contextlib.suppress(OSError):
            self.send_rtcp(now, bye=True)
        await self._close_connection()
        return quality

    async def _close_connection(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._stop_carrying()
        pc = self.pc
        if pc is None:
            return
        try:
            await asyncio.wait_for(pc.close(), CLOSE_TIMEOUT)
        except Exception:  # a connection that will not close cleanly is dropped all the same
            log.warning("closing the peer connection of %s failed", self.endpoint_id, exc_info=True)

    # ----------------------------------------------------------------------------- RTCP

    def rtcp_report(self, now: float, *, bye: bool = False) -> bytes:
        return rtp.build_compound(self.report(now), self.cname, bye=bye)

    def send_rtcp(self, now: float, *, bye: bool = False) -> None:
        if self.connected and self.path is not None:
            self.path.send_rtcp(self.rtcp_report(now, bye=bye))
