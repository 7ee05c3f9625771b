"""Call legs: one party's path through Hotline, signalling plus a media endpoint.

The call layer handles every party the same way through the small `Leg` interface (an endpoint to
play to, bridge and record; a future that says when the party is gone; `hangup`). How a leg is
set up differs, and is behind two more small interfaces:
- `AgentDialer` rings an agent. `SipPhoneDialer` INVITEs the agent's registered SIP phones (every
  phone the agent registered rings; the first to answer takes the call). The browser softphone
  (hotline/calls/browser.py) is another `AgentDialer`: its legs share the agent's persistent
  WebRTC endpoint, so they say `owns_endpoint = False` and the call only unbridges them;
- `NumberDialer` calls a phone number out (callbacks, transfers to external numbers): through a
  carrier trunk, or a SIP URI template in tests and demos.

A leg's media endpoint is allocated in the contact's group, because a bridge relays audio inside
one media worker (docs/media.md). SDP carries `sdp_address` when one is given (the advertised
address: behind 1:1 NAT the workers bind a private address that phones cannot reach), else the
address the endpoint is bound to."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from hotline.core.errors import HotlineError
from hotline.telephony.media.engine import EndpointInfo, MediaEngine
from hotline.telephony.media.errors import MediaError
from hotline.telephony.media.g711 import Codec as MediaCodec
from hotline.telephony.sip.dialog import Dialog, DtmfEvent
from hotline.telephony.sip.endpoint import Endpoint, IncomingCall, mask_user
from hotline.telephony.sip.errors import CallFailed, SdpError
from hotline.telephony.sip.message import SipUri
from hotline.telephony.sip.registrar import Registrar
from hotline.telephony.sip.sdp import AudioSession, SessionDescription, build_answer, build_offer
from hotline.telephony.sip.transport import Destination
from hotline.telephony.sip.trunk import Trunk

log = logging.getLogger(__name__)

KeyHandler = Callable[[str], None]


class LegFailed(HotlineError):
    """A leg could not be set up; `status` is the SIP status that says why (486 busy, 480 not
    registered or no answer, 487 cancelled, 488 no common codec, 503 unreachable)."""

    code = "call_leg_failed"
    http_status = 502

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}", status=status, reason=reason)
        self.status = status
        self.reason = reason


class Leg(Protocol):
    """One party's audio path: a media endpoint and the signalling that holds it up."""

    kind: str  # "sip", or "webrtc" (the browser softphone, hotline/calls/browser.py)
    endpoint: EndpointInfo
    owns_endpoint: bool  # False: the endpoint outlives the call (unbridged, never released)
    codec: MediaCodec  # what the party's audio is encoded in (prompts are played in it)
    on_key: KeyHandler | None  # keys that come by signalling (SIP INFO) rather than RTP

    @property
    def ended(self) -> asyncio.Future[str]:
        """Resolves with the reason when the party is gone (hung up, or lost)."""
        ...

    @property
    def active(self) -> bool: ...

    async def hangup(self) -> None:
        """End the leg from our side, without waiting for the far end; `ended` resolves when it
        is over. The media endpoint is the owner's to release."""
        ...


class AgentDialer(Protocol):
    """How Hotline reaches an agent to offer a contact."""

    def reachable(self, username: str) -> bool:
        """Whether the agent has a device to ring right now."""
        ...

    async def ring(
        self,
        username: str,
        *,
        group: str,
        ring_timeout: float | None,
        caller_id: str | None = None,
        display: str | None = None,
    ) -> Leg:
        """Ring the agent's devices until one answers: the answered leg, or `LegFailed`.
        Cancelling the task stops the ringing (CANCEL) and frees what it took."""
        ...

    async def rejoin(self, username: str, *, group: str) -> Leg:
        """A new leg on the agent's phone for the call they are already on, once their phone
        came back after its leg was lost (a reloaded page's softphone, hotline/calls/rejoin.py);
        `LegFailed` when that phone cannot (a SIP phone is rung, never rejoined)."""
        ...


class NumberDialer(Protocol):
    """How Hotline calls a phone number out (callbacks, external transfers)."""

    async def dial(
        self, number: str, *, group: str, ring_timeout: float, caller_id: str | None = None
    ) -> Leg: ...


class SipLeg:
    """A leg whose signalling is a SIP dialog. A re-INVITE (hold, resume, a phone that moves its
    RTP) is answered from our endpoint and the media worker told the new far end; keys sent by
    SIP INFO are handed to `on_key` like RTP keys."""

    kind = "sip"
    owns_endpoint = True

    def __init__(
        self,
        dialog: Dialog,
        endpoint: EndpointInfo,
        media: MediaEngine,
        codec: MediaCodec,
        *,
        sdp_address: str | None = None,
    ) -> None:
        self.dialog = dialog
        self.endpoint = endpoint
        self.codec = codec
        self.sdp_address = sdp_address or endpoint.address
        self.on_key: KeyHandler | None = None
        self._media = media
        dialog.on_reinvite = self._reinvite
        dialog.on_dtmf = self._dtmf

    @property
    def ended(self) -> asyncio.Future[str]:
        return self.dialog.ended

    @property
    def active(self) -> bool:
        return self.dialog.active

    async def hangup(self) -> None:
        """Send BYE without waiting for its answer: the call (an actor with a mailbox) must not
        stall on a peer that answers slowly. The SIP layer owns the task and its retransmissions."""
        if self.dialog.active:
            self.dialog.endpoint.spawn(self.dialog.bye())

    def _dtmf(self, dialog: Dialog, event: DtmfEvent) -> None:
        if self.on_key is not None:
            self.on_key(event.digit)

    async def _reinvite(
        self, dialog: Dialog, offer: SessionDescription | None
    ) -> SessionDescription:
        if offer is None:  # the dialog answers offerless re-INVITEs itself
            raise SdpError("An SDP offer is required", status=488)
        origin = dialog.local_sdp.origin if dialog.local_sdp is not None else None
        answer, session = build_answer(
            offer, address=self.sdp_address, port=self.endpoint.port, origin=origin
        )
        await apply_session(self._media, self.endpoint, session)
        return answer

    def __repr__(self) -> str:
        return f"<SipLeg {self.dialog.call_id} endpoint {self.endpoint.endpoint_id}>"


async def apply_session(media: MediaEngine, endpoint: EndpointInfo, session: AudioSession) -> None:
    """Tell the media worker where the far end listens and in which codec. A hold address
    (0.0.0.0) leaves the old far end in place: nobody listens there anyway."""
    if session.remote_address in ("0.0.0.0", "::") or session.remote_port == 0:
        return
    try:
        await media.set_remote(
            endpoint.endpoint_id,
            address=session.remote_address,
            port=session.remote_port,
            codec=MediaCodec(session.codec.name.upper()),
            payload_type=session.codec.payload_type,
            telephone_event_pt=session.telephone_event,
            ptime=session.ptime,
        )
    except (MediaError, ValueError) as exc:
        raise SdpError(f"Media refused the session: {exc}", status=488) from exc


async def answer_incoming(
    call: IncomingCall, media: MediaEngine, *, group: str, sdp_address: str | None = None
) -> SipLeg:
    """Answer an inbound INVITE on a new media endpoint of `group`. Raises `SdpError` (488) when
    the offer has no codec we take, `CallFailed` when the caller cancelled meanwhile, `MediaError`
    when no endpoint could be had; the endpoint is released on any failure."""
    if call.offer is None:
        # An offerless INVITE would need our offer in the 200 and the answer in the ACK; phones
        # and carriers offer in the INVITE, so this is refused plainly.
        raise SdpError("An SDP offer is required", status=488)
    endpoint = await media.allocate(group=group)
    try:
        address = sdp_address or endpoint.address
        answer, session = build_answer(call.offer, address=address, port=endpoint.port)
        await apply_session(media, endpoint, session)
        dialog = call.answer(answer)
    except BaseException:
        await _release_quietly(media, endpoint)
        raise
    codec = MediaCodec(session.codec.name.upper())
    return SipLeg(dialog, endpoint, media, codec, sdp_address=sdp_address)


async def _release_quietly(media: MediaEngine, endpoint: EndpointInfo) -> None:
    with contextlib.suppress(MediaError):
        await asyncio.shield(media.release(endpoint.endpoint_id))


InviteFactory = Callable[[SessionDescription], Awaitable[Dialog]]


async def _connect(
    media: MediaEngine,
    *,
    group: str,
    invites: Sequence[InviteFactory],
    sdp_address: str | None,
) -> SipLeg:
    """Allocate an endpoint, send every INVITE with its offer at once, keep the first answer and
    cancel the rest (one media endpoint serves whichever phone answers)."""
    endpoint = await media.allocate(group=group)
    offer = build_offer(address=sdp_address or endpoint.address, port=endpoint.port)
    try:
        dialog = await _first_answer([invite(offer) for invite in invites])
        if dialog.media is None:
            raise LegFailed(488, "No audio agreed")
        try:
            await apply_session(media, endpoint, dialog.media)
        except SdpError as exc:
            await dialog.bye()
            raise LegFailed(488, exc.reason) from exc
    except BaseException:
        await _release_quietly(media, endpoint)
        raise
    codec = MediaCodec(dialog.media.codec.name.upper())
    return SipLeg(dialog, endpoint, media, codec, sdp_address=sdp_address)


async def _first_answer(coroutines: list[Awaitable[Dialog]]) -> Dialog:
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    failures: list[LegFailed] = []
    winner: Dialog | None = None
    try:
        pending = set(tasks)
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                try:
                    dialog = task.result()
                except CallFailed as exc:
                    failures.append(LegFailed(exc.status, exc.reason))
                except (OSError, HotlineError) as exc:
                    failures.append(LegFailed(503, str(exc)))
                else:
                    if winner is None:
                        winner = dialog
        if winner is not None:
            return winner
    finally:
        # Whatever is still ringing stops (CANCEL); a phone that answers late is hung up by
        # the SIP layer (Endpoint.invite), and one that answered at the same time here.
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if task.cancelled() or task.exception() is not None:
                continue
            extra = task.result()
            if extra is not winner:
                with contextlib.suppress(TimeoutError, CallFailed, OSError):
                    await asyncio.wait_for(extra.bye(), 5.0)
    # The most telling failure: busy or refused says more than silence.
    for wanted in (486, 600, 603):
        for failure in failures:
            if failure.status == wanted:
                raise failure
    raise failures[-1] if failures else LegFailed(480, "Nobody answered")


class SipPhoneDialer:
    """Rings the SIP phones an agent registered (their username is the SIP user), each at the
    address its REGISTER came from (NAT-safe, see docs/sip.md)."""

    def __init__(
        self,
        endpoint: Endpoint,
        registrar: Registrar,
        media: MediaEngine,
        *,
        sdp_address: str | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._registrar = registrar
        self._media = media
        self._sdp_address = sdp_address

    def reachable(self, username: str) -> bool:
        return bool(self._registrar.lookup(username))

    async def ring(
        self,
        username: str,
        *,
        group: str,
        ring_timeout: float | None,
        caller_id: str | None = None,
        display: str | None = None,
    ) -> Leg:
        bindings = self._registrar.lookup(username)
        if not bindings:
            raise LegFailed(480, "No registered phone")
        endpoint = self._endpoint

        def invite(uri: SipUri, destination: Destination) -> InviteFactory:
            async def send(offer: SessionDescription) -> Dialog:
                return await endpoint.invite(
                    uri,
                    offer,
                    from_user=caller_id or "hotline",
                    from_display=display,
                    destination=destination,
                    ring_timeout=ring_timeout,
                )

            return send

        log.debug("ringing %s on %d phone(s)", username, len(bindings))
        return await _connect(
            self._media,
            group=group,
            invites=[invite(b.uri, b.destination) for b in bindings],
            sdp_address=self._sdp_address,
        )

    async def rejoin(self, username: str, *, group: str) -> Leg:
        raise LegFailed(480, "A SIP phone is rung again, not rejoined")


class SipNumberDialer:
    """Dials numbers through a trunk (`trunk:NAME`) or a SIP URI template with `{number}`
    (`sip:{number}@192.0.2.7:5060`: a PBX or a test peer)."""

    def __init__(
        self,
        endpoint: Endpoint,
        media: MediaEngine,
        *,
        trunk: Trunk | None = None,
        uri_template: str | None = None,
        sdp_address: str | None = None,
    ) -> None:
        if (trunk is None) == (uri_template is None):
            raise ValueError("a number dialler needs either a trunk or a URI template")
        if uri_template is not None and "{number}" not in uri_template:
            raise ValueError("the callback route URI needs {number}")
        self._endpoint = endpoint
        self._media = media
        self._trunk = trunk
        self._template = uri_template
        self._sdp_address = sdp_address

    async def dial(
        self, number: str, *, group: str, ring_timeout: float, caller_id: str | None = None
    ) -> Leg:
        digits = dialable(number)
        if not digits:
            raise LegFailed(484, "No number to dial")
        log.info("dialling %s", mask_user(digits))
        trunk, template, endpoint = self._trunk, self._template, self._endpoint

        async def send(offer: SessionDescription) -> Dialog:
            if trunk is not None:
                return await trunk.call(digits, offer, ring_timeout=ring_timeout)
            assert template is not None
            return await endpoint.invite(
                template.format(number=digits),
                offer,
                from_user=caller_id or "hotline",
                ring_timeout=ring_timeout,
            )

        return await _connect(
            self._media, group=group, invites=[send], sdp_address=self._sdp_address
        )


def dialable(number: str) -> str:
    """A number as it is dialled: a leading + and the digits ('+7 (495) 000-11-22' ->
    '+74950001122')."""
    text = number.strip()
    digits = "".join(c for c in text if c.isdigit())
    return f"+{digits}" if text.startswith("+") and digits else digits
