"""SIP dialogs (RFC 3261 §12-§15): one call leg between Hotline and a peer.

Part of Hotline's hand-written SIP stack (no Python SIP library fits asyncio and production).
A `Dialog` holds what §12 says identifies and routes it (Call-ID, local and remote tags, route
set, remote target, CSeq numbers) plus the session state (our SDP, theirs, and the negotiated
`AudioSession` for the media workers). It implements:
- requests inside the dialog built per §12.2.1.1, loose and strict routing alike, with digest
  credentials answered when the peer challenges them (trunks do, even for BYE);
- for a UAS: 2xx retransmission (T1 doubling to T2) until the ACK comes, and a BYE if it never
  does within 64*T1 (§13.3.1.4); for a UAC: the ACK for each 2xx, re-sent on every retransmitted
  2xx (§13.2.2.4);
- re-INVITE both ways (§14): hold and resume are re-offers (see `sdp.with_direction`); glare is
  answered with 491, and an INVITE while ours is pending gets 491 as well (§14.2);
- BYE (§15), in-dialog OPTIONS, and INFO carrying DTMF (`application/dtmf-relay` and
  `application/dtmf` bodies, the common SIP INFO DTMF formats) turned into `DtmfEvent`s;
- 481/408 to a request ends the dialog (§12.2.1.2); a lower CSeq from the peer gets 500 (§12.2.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from hotline.telephony.sip.auth import DigestCredentials, pick_challenge
from hotline.telephony.sip.errors import CallFailed, SdpError, SipParseError, TransportError
from hotline.telephony.sip.message import (
    Headers,
    NameAddr,
    SipRequest,
    SipResponse,
    SipUri,
    make_response,
)
from hotline.telephony.sip.sdp import (
    AudioSession,
    SessionDescription,
    answerer_session,
    build_answer,
    negotiate,
)
from hotline.telephony.sip.transaction import ServerTransaction
from hotline.telephony.sip.transport import Destination, Source

if TYPE_CHECKING:
    from hotline.telephony.sip.endpoint import Endpoint

log = logging.getLogger(__name__)

SDP = "application/sdp"
DTMF_TYPES = ("application/dtmf-relay", "application/dtmf")
_DTMF_DIGITS = set("0123456789*#ABCD")
_DTMF_CODES = {"10": "*", "11": "#", "12": "A", "13": "B", "14": "C", "15": "D"}


@dataclass(frozen=True)
class DtmfEvent:
    """A key pressed by the peer, as an INFO reported it."""

    digit: str
    duration_ms: int | None = None


def parse_dtmf_info(content_type: str | None, body: bytes) -> DtmfEvent | None:
    """The digit in an INFO body; None for a body of another type. A DTMF body that makes no
    sense raises SipParseError(400)."""
    if content_type not in DTMF_TYPES:
        return None
    try:
        text = body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise SipParseError(400, "DTMF body is not ASCII") from None
    if content_type == "application/dtmf":
        digit = _DTMF_CODES.get(text, text.upper())
        if digit not in _DTMF_DIGITS:
            raise SipParseError(400, "Malformed application/dtmf body")
        return DtmfEvent(digit)
    fields: dict[str, str] = {}
    for line in re.split(r"[\r\n]+", text):
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    signal = fields.get("signal", "")
    digit = _DTMF_CODES.get(signal, signal.upper())
    if digit not in _DTMF_DIGITS:
        raise SipParseError(400, "Malformed application/dtmf-relay body")
    duration = fields.get("duration")
    ms = int(duration) if duration and duration.isascii() and duration.isdigit() else None
    return DtmfEvent(digit, ms if ms is None or ms < 100_000 else None)


class DialogState(Enum):
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class Role(Enum):
    UAC = "uac"  # we sent the INVITE
    UAS = "uas"  # we answered it


ReinviteHandler = Callable[["Dialog", SessionDescription | None], Awaitable[SessionDescription]]
DtmfHandler = Callable[["Dialog", DtmfEvent], None]
TerminatedHandler = Callable[["Dialog", str], None]


class Dialog:
    """One confirmed call leg. Created by `IncomingCall.answer` or `Endpoint.invite`.

    Events for the layer above are callbacks set on the dialog:
    - `on_reinvite(dialog, offer) -> answer`: the peer re-offers (hold/resume); raise SdpError to
      refuse it (488). Unset, the answer mirrors the offer on our current address and port;
    - `on_dtmf(dialog, event)`: a digit arrived by INFO;
    - `on_terminated(dialog, reason)`: the dialog ended ("remote-bye", "local-bye", "no-ack",
      "timeout", "shutdown"); `ended` is a future with the same reason.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        role: Role,
        call_id: str,
        local: NameAddr,
        remote: NameAddr,
        local_tag: str,
        remote_tag: str,
        remote_target: SipUri,
        route_set: list[NameAddr],
        local_cseq: int,
        remote_cseq: int | None,
        transport: str,
        peer: Destination | None,
        credentials: DigestCredentials | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.role = role
        self.call_id = call_id
        self.local = local
        self.remote = remote
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_cseq = local_cseq
        self.remote_cseq = remote_cseq
        self.transport = transport
        self.peer = peer
        self.credentials = credentials
        self.state = DialogState.CONFIRMED
        self.local_sdp: SessionDescription | None = None
        self.remote_sdp: SessionDescription | None = None
        self.media: AudioSession | None = None
        self.trunk: str | None = None
        self.user: str | None = None
        self.on_reinvite: ReinviteHandler | None = None
        self.on_dtmf: DtmfHandler | None = None
        self.on_terminated: TerminatedHandler | None = None
        loop = asyncio.get_running_loop()
        self.ended: asyncio.Future[str] = loop.create_future()
        self.acked: asyncio.Future[None] = loop.create_future()  # UAS: our 2xx was ACKed
        if role is Role.UAC:
            self.acked.set_result(None)
        self.retransmitted_2xx = 0
        self._pending_2xx: tuple[SipResponse, Source, int] | None = None
        self._2xx_timer: asyncio.TimerHandle | None = None
        self._2xx_started = 0.0
        self._offerless_reinvite = False
        self._acks: dict[int, tuple[bytes, Destination] | None] = {}
        self._ack_tasks: dict[int, asyncio.Task[None]] = {}
        self._outgoing_reinvite = False
        self._incoming_reinvite = False

    # --- identity ----------------------------------------------------------------------------

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @property
    def active(self) -> bool:
        return self.state is DialogState.CONFIRMED

    def __repr__(self) -> str:
        return f"<Dialog {self.role.value} {self.call_id} {self.state.value}>"

    # --- building requests (§12.2.1.1) -----------------------------------------------------

    def _build(
        self,
        method: str,
        *,
        cseq: int | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> SipRequest:
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        route = list(self.route_set)
        if not route or (route[0].uri is not None and route[0].uri.loose_route):
            uri = self.remote_target.copy()
        else:
            # Strict routing: the first route is the Request-URI, the remote target goes last.
            first = route.pop(0)
            assert first.uri is not None
            uri = first.uri.copy()
            uri.params = {k: v for k, v in uri.params.items() if k not in ("method", "maddr")}
            uri.headers = ""
            route.append(NameAddr(uri=self.remote_target.copy()))
        out = Headers()
        for entry in route:
            out.add("Route", str(entry))
        out.add("Max-Forwards", "70")
        out.add("From", str(self.local.with_tag(self.local_tag)))
        out.add("To", str(self.remote.with_tag(self.remote_tag)))
        out.add("Call-ID", self.call_id)
        out.add("CSeq", f"{cseq} {method}")
        if method in ("INVITE", "UPDATE"):
            out.add("Contact", f"<{self.endpoint.contact_uri(self.transport)}>")
        out.add("User-Agent", self.endpoint.config.user_agent)
        for name, value in headers:
            out.add(name, value)
        if body and content_type:
            out.add("Content-Type", content_type)
        return SipRequest(method, uri, out, body)

    async def next_hop(self) -> Destination:
        """Where requests of this dialog go: the fixed peer (NAT, outbound proxy) when there is
        no route set, else the first route, else the remote target."""
        if self.peer is not None and not self.route_set:
            return self.peer
        target = self.route_set[0].uri if self.route_set else self.remote_target
        assert target is not None
        return await self.endpoint.transport.destination_for(target)

    # --- requests we send ------------------------------------------------------------------

    async def request(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> SipResponse:
        """Send a request inside the dialog and return its final response (answering one
        digest challenge with the dialog's credentials). A 481 or 408 ends the dialog."""
        if self.state is DialogState.TERMINATED:
            raise CallFailed(481, "Dialog terminated")
        response = await self._send(method, body=body, content_type=content_type, headers=headers)
        if response.status in (408, 481):
            self._terminate("timeout" if response.status == 408 else "remote-gone")
        return response

    async def _send(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> SipResponse:
        extra = list(headers)
        destination = await self.next_hop()
        response: SipResponse | None = None
        for attempt in range(3):
            request = self._build(method, body=body, content_type=content_type, headers=extra)
            tx = await self.endpoint.transactions.send_request(request, destination)
            response = await tx.final
            auth = self._authorize(response, method, request.uri, attempt)
            if auth is None:
                break
            extra = [h for h in extra if h[0] not in ("Authorization", "Proxy-Authorization")]
            extra.append(auth)
        assert response is not None
        return response

    def _authorize(
        self, response: SipResponse, method: str, uri: SipUri, attempt: int
    ) -> tuple[str, str] | None:
        if response.status not in (401, 407) or self.credentials is None:
            return None
        return authorization_for(response, self.credentials, method, uri, attempt=attempt)

    async def bye(self) -> None:
        """End the call. A UAS waits (up to 64*T1) for the ACK of its 2xx first (§15)."""
        if self.state is DialogState.TERMINATED:
            return
        if not self.acked.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.shield(self.acked), 64 * self.endpoint.config.timers.t1
                )
        if not self.active:  # ended while we waited
            return
        self._stop_2xx()
        self._terminate("local-bye")
        try:
            response = await self._send("BYE")
        except TransportError as exc:
            log.info("BYE for %s not delivered: %s", self.call_id, exc)
            return
        if response.status >= 300:
            log.info("BYE for %s answered %d", self.call_id, response.status)

    async def reinvite(self, offer: SessionDescription) -> AudioSession:
        """Re-offer the session (hold: `with_direction(local_sdp, SENDONLY)`; resume: SENDRECV).
        Returns the new negotiated session; raises CallFailed (491 on glare, 488 if the answer
        is unusable) and then the previous session stays in force."""
        if self.state is DialogState.TERMINATED:
            raise CallFailed(481, "Dialog terminated")
        if self._outgoing_reinvite or self._incoming_reinvite or not self.acked.done():
            raise CallFailed(491, "Request Pending")
        self._outgoing_reinvite = True
        try:
            destination = await self.next_hop()
            extra: list[tuple[str, str]] = []
            for attempt in range(3):
                request = self._build(
                    "INVITE", body=offer.encode(), content_type=SDP, headers=extra
                )
                cseq = self.local_cseq
                tx = await self.endpoint.transactions.send_request(
                    request,
                    destination,
                    on_response=functools.partial(self._reinvite_response, cseq=cseq, auth=extra),
                )
                response = await tx.final
                auth = self._authorize(response, "INVITE", request.uri, attempt)
                if auth is None:
                    break
                extra = [auth]
            if not 200 <= response.status < 300:
                if response.status in (408, 481):
                    self._terminate("timeout" if response.status == 408 else "remote-gone")
                raise CallFailed(response.status, response.reason)
            await self.ack_sent(response.cseq.seq)
            self._target_refresh(response)
            try:
                answer = SessionDescription.parse(response.body)
                media = negotiate(offer, answer)
            except SdpError as exc:
                raise CallFailed(488, f"Unusable SDP answer: {exc.reason}") from exc
            self.local_sdp, self.remote_sdp, self.media = offer, answer, media
            return media
        finally:
            self._outgoing_reinvite = False

    def _reinvite_response(
        self, response: SipResponse, *, cseq: int, auth: list[tuple[str, str]]
    ) -> None:
        if 200 <= response.status < 300:
            self.ack_2xx(response, cseq, auth)

    async def send_dtmf(self, digit: str, duration_ms: int = 160) -> SipResponse:
        """Send a digit by INFO (application/dtmf-relay)."""
        if digit.upper() not in _DTMF_DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        body = f"Signal={digit.upper()}\r\nDuration={duration_ms}\r\n".encode()
        return await self.request("INFO", body=body, content_type="application/dtmf-relay")

    # --- ACK for 2xx (UAC side) ----------------------------------------------------------

    def ack_2xx(self, response: SipResponse, cseq: int, auth: list[tuple[str, str]]) -> None:
        """Send (or re-send) the ACK for a 2xx to our INVITE with CSeq `cseq` (§13.2.2.4)."""
        if cseq in self._acks:
            known = self._acks[cseq]
            if known is not None:  # None: the first ACK is still on its way
                data, destination = known
                with contextlib.suppress(TransportError, OSError):
                    self.endpoint.transport.send_nowait(data, destination)
            return
        self._acks[cseq] = None
        self._ack_tasks[cseq] = self.endpoint.spawn(self._send_ack(cseq, auth))

    async def ack_sent(self, cseq: int) -> None:
        """Wait until the first ACK for the 2xx with `cseq` has left (so that nothing we send
        next can overtake it)."""
        task = self._ack_tasks.pop(cseq, None)
        if task is not None:
            await asyncio.shield(task)

    async def _send_ack(self, cseq: int, auth: list[tuple[str, str]]) -> None:
        ack = self._build("ACK", cseq=cseq, headers=auth)
        try:
            destination = await self.next_hop()
            data = await self.endpoint.transactions.send_ack(ack, destination)
        except TransportError as exc:
            log.info("ACK for %s not sent: %s", self.call_id, exc)
            self._acks.pop(cseq, None)
            return
        self._acks[cseq] = (data, destination)
        while len(self._acks) > 4:
            del self._acks[min(self._acks)]

    # --- UAS side: 2xx retransmission until ACK (§13.3.1.4) -----------------------------

    def start_2xx(self, response: SipResponse, source: Source, cseq: int) -> None:
        if source.transport != "UDP":
            # Reliable transport: one send suffices, but the ACK is still awaited (bounded).
            self._pending_2xx = (response, source, cseq)
            self._2xx_timer = self.endpoint.loop.call_later(
                64 * self.endpoint.config.timers.t1, self._no_ack
            )
            return
        self._pending_2xx = (response, source, cseq)
        self._2xx_started = self.endpoint.loop.time()
        self._schedule_2xx(self.endpoint.config.timers.t1)

    def _schedule_2xx(self, interval: float) -> None:
        self._2xx_timer = self.endpoint.loop.call_later(interval, self._resend_2xx, interval)

    def _resend_2xx(self, interval: float) -> None:
        pending = self._pending_2xx
        if pending is None or self.state is DialogState.TERMINATED:
            return
        timers = self.endpoint.config.timers
        if self.endpoint.loop.time() - self._2xx_started >= 64 * timers.t1:
            self._no_ack()
            return
        response, source, _ = pending
        self.retransmitted_2xx += 1
        self.endpoint.transport.send_response(response, source)
        self._schedule_2xx(min(interval * 2, timers.t2))

    def _no_ack(self) -> None:
        if self._pending_2xx is None:
            return
        log.info("no ACK for the 2xx of %s: ending the call (RFC 3261 §13.3.1.4)", self.call_id)
        self._pending_2xx = None
        if not self.acked.done():
            self.acked.set_result(None)
        self.endpoint.spawn(self._bye_without_ack())

    async def _bye_without_ack(self) -> None:
        self._terminate("no-ack")
        with contextlib.suppress(TransportError):
            await self._send("BYE")

    def _stop_2xx(self) -> None:
        if self._2xx_timer is not None:
            self._2xx_timer.cancel()
            self._2xx_timer = None
        self._pending_2xx = None

    def ack_received(self, ack: SipRequest) -> None:
        pending = self._pending_2xx
        if pending is None or ack.cseq.seq != pending[2]:
            return
        self._stop_2xx()
        if self._offerless_reinvite:
            self._offerless_reinvite = False
            self._take_answer_from_ack(ack)
        if not self.acked.done():
            self.acked.set_result(None)

    def _take_answer_from_ack(self, ack: SipRequest) -> None:
        if not ack.body or self.local_sdp is None:
            return
        try:
            answer = SessionDescription.parse(ack.body)
            self.media = negotiate(self.local_sdp, answer)
            self.remote_sdp = answer
        except SdpError as exc:
            log.info("unusable SDP in ACK for %s (%s): ending the call", self.call_id, exc)
            self.endpoint.spawn(self.bye())

    # --- requests we receive ---------------------------------------------------------------

    def handle_request(self, request: SipRequest, tx: ServerTransaction) -> None:
        """A request of this dialog (not ACK, not CANCEL: those are handled elsewhere)."""
        seq = request.cseq.seq
        if self.remote_cseq is not None and seq <= self.remote_cseq:
            tx.reply(500, "CSeq out of order")
            return
        self.remote_cseq = seq
        method = request.method
        if method == "BYE":
            tx.reply(200)
            self._stop_2xx()
            self._terminate("remote-bye")
        elif method == "INVITE":
            self._incoming_reinvite_request(request, tx)
        elif method == "INFO":
            self._info(request, tx)
        elif method == "OPTIONS":
            tx.reply(200, headers=self.endpoint.capability_headers())
        else:
            tx.reply(405, headers=[("Allow", self.endpoint.allow_header())])

    def _info(self, request: SipRequest, tx: ServerTransaction) -> None:
        if not request.body:
            tx.reply(200)  # an empty INFO is a keep-alive
            return
        try:
            event = parse_dtmf_info(request.content_type, request.body)
        except SipParseError as exc:
            tx.reply(exc.status, exc.reason)
            return
        if event is None:
            tx.reply(415, headers=[("Accept", ", ".join(DTMF_TYPES))])
            return
        tx.reply(200)
        log.debug("DTMF %s on %s", event.digit, self.call_id)
        if self.on_dtmf is not None:
            try:
                self.on_dtmf(self, event)
            except Exception:
                log.exception("DTMF handler failed")

    def _incoming_reinvite_request(self, request: SipRequest, tx: ServerTransaction) -> None:
        if self._outgoing_reinvite:
            tx.reply(491)  # glare (§14.2)
            return
        if self._incoming_reinvite or self._pending_2xx is not None:
            tx.reply(500, headers=[("Retry-After", str(secrets.randbelow(10) + 1))])
            return
        if request.body and request.content_type != SDP:
            tx.reply(415, headers=[("Accept", SDP)])
            return
        self._incoming_reinvite = True
        self.endpoint.spawn(self._answer_reinvite(request, tx))

    async def _answer_reinvite(self, request: SipRequest, tx: ServerTransaction) -> None:
        try:
            offer = SessionDescription.parse(request.body) if request.body else None
            if offer is None:
                # Offerless re-INVITE: our offer goes in the 2xx, the answer comes in the ACK.
                if self.local_sdp is None:
                    tx.reply(488)
                    return
                body = self.local_sdp.next_version()
                self._offerless_reinvite = True
            elif self.on_reinvite is not None:
                body = await self.on_reinvite(self, offer)
            else:
                body = self._default_answer(offer)
            if offer is not None:
                self.media = answerer_session(offer, body)
                self.remote_sdp = offer
            self.local_sdp = body
            self._target_refresh(request)
            response = make_response(
                request,
                200,
                to_tag=self.local_tag,
                headers=[
                    ("Contact", f"<{self.endpoint.contact_uri(self.transport)}>"),
                    *self.endpoint.capability_headers(),
                ],
                body=body.encode(),
                content_type=SDP,
            )
            tx.respond(response)
            self.start_2xx(response, tx.source, request.cseq.seq)
        except SdpError as exc:
            tx.reply(exc.status if exc.status != 400 else 488, exc.reason)
        except Exception:
            log.exception("re-INVITE handler failed on %s", self.call_id)
            if not tx.answered:
                tx.reply(500)
        finally:
            self._incoming_reinvite = False

    def _default_answer(self, offer: SessionDescription) -> SessionDescription:
        """Answer a re-offer on our current address and port (hold/resume just work)."""
        if self.local_sdp is None:
            raise SdpError("No session to re-negotiate", status=488)
        answer, _ = build_answer(
            offer,
            address=_connection_address(self.local_sdp),
            port=_audio_port(self.local_sdp),
            origin=self.local_sdp.origin,
        )
        return answer

    def _target_refresh(self, message: SipRequest | SipResponse) -> None:
        """A re-INVITE or its 2xx may move the remote target (§12.2)."""
        try:
            contacts = message.contacts
        except SipParseError:
            return
        if contacts and contacts[0].uri is not None:
            self.remote_target = contacts[0].uri

    # --- ending ----------------------------------------------------------------------------

    def _terminate(self, reason: str) -> None:
        if self.state is DialogState.TERMINATED:
            return
        self.state = DialogState.TERMINATED
        self._stop_2xx()
        if not self.acked.done():
            self.acked.set_result(None)
        if not self.ended.done():
            self.ended.set_result(reason)
        self.endpoint._dialog_ended(self)
        log.info("call %s ended: %s", self.call_id, reason)
        handler = self.on_terminated
        # The handlers are usually bound methods of the layer above, which holds this dialog:
        # dropped here, an ended call's objects are freed by reference counting at once instead
        # of waiting for the cyclic garbage collector, whose full passes over a busy process's
        # heap stall the event loop (signalling, every call) for 100 ms and more.
        self.on_reinvite = self.on_dtmf = self.on_terminated = None
        if handler is not None:
            try:
                handler(self, reason)
            except Exception:
                log.exception("on_terminated handler failed")


def authorization_for(
    response: SipResponse,
    credentials: DigestCredentials,
    method: str,
    uri: SipUri,
    *,
    attempt: int = 0,
) -> tuple[str, str] | None:
    """The header answering a 401/407 challenge with `credentials`, or None if we should not:
    the first challenge is answered, a later one only if it says our nonce was stale (a second
    plain challenge means the credentials are wrong; retrying would only look like an attack)."""
    if attempt >= 2:
        return None
    proxy = response.status == 407
    name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    challenge = pick_challenge(response.headers.get_all(name))
    if challenge is None or not credentials.matches(challenge):
        return None
    if attempt > 0 and not challenge.stale:
        return None
    try:
        value = credentials.authorize(challenge, method=method, uri=str(uri))
    except SipParseError:
        return None
    return ("Proxy-Authorization" if proxy else "Authorization", value)


def _connection_address(description: SessionDescription) -> str:
    for media in description.media:
        if media.media == "audio" and media.port:
            connection = description.media_connection(media)
            if connection is not None:
                return connection.address
    if description.connection is not None:
        return description.connection.address
    raise SdpError("Our SDP has no connection address", status=500)


def _audio_port(description: SessionDescription) -> int:
    for media in description.media:
        if media.media == "audio" and media.port:
            return media.port
    raise SdpError("Our SDP has no audio stream", status=500)
