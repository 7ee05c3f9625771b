"""The browser softphone as an agent's phone, and the choice between it and a SIP phone.

`BrowserDialer` is the `AgentDialer` for agents whose phone is the agent desktop. Ringing a
browser needs no signalling of its own: the router's `ContactOffered` is already on the bus when
the call layer rings, and the live events feed turns it into `contact.offered` for the agent's
page, which rings and answers with `POST /api/v1/agent/offer/accept`. So `ring` only waits for
that accept, then answers the offer on the agent's browser leg.

The browser leg itself is a WebRTC endpoint of a media worker (`MediaEngine.allocate_webrtc`),
offered by the page with `POST /api/v1/agent/softphone` and kept up while the page is open: it
outlives calls. Each answered offer is a `BrowserLeg` on that same endpoint, which the call layer
bridges and, at the call's end, only unbridges (`owns_endpoint` is False); its quality figures
for the call (the endpoint's counters at the end less those at the answer) are saved on the
contact as a SIP leg's are. When the endpoint
ends (the browser's connection failed or closed, or the page closed or replaced it), the agent's
softphone is gone: a call on it sees its agent leg end and holds the caller while the page
reconnects (`rejoin` gives the call a leg on the new endpoint; hotline/calls/rejoin.py), and the
desk is told (`on_lost`) so a ready agent becomes not ready.

`ChosenPhoneDialer` is the dialer the call layer is given: it rings whichever phone each agent
chose on the desktop (`sip` or `webrtc`, a default from the settings until they choose), and
says an agent is reachable only when that phone is (a registered SIP phone, an open softphone).
The choice is kept in memory: it lasts while this process runs, and an agent makes it again
after a restart (the desktop sends it when it loads)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from hotline.calls.legs import AgentDialer, KeyHandler, Leg, LegFailed
from hotline.core.errors import Conflict, HotlineError
from hotline.telephony.media.engine import (
    EndpointEnded,
    EndpointInfo,
    MediaEngine,
    MediaEvent,
    Unsubscribe,
)
from hotline.telephony.media.errors import MediaError, WebRtcOfferRejected
from hotline.telephony.media.g711 import Codec as MediaCodec
from hotline.telephony.media.stats import LegQuality

log = logging.getLogger(__name__)

Phone = Literal["sip", "webrtc"]
PHONES: tuple[Phone, ...] = get_args(Phone)

ACCEPT_WAIT_SECONDS = 3.0
"""How long an accept waits for the ring it answers to begin: the page hears of the offer from
the bus a moment before the call layer starts ringing, and a quick agent may be faster."""


class SoftphoneUnavailable(HotlineError):
    """The browser softphone cannot be connected (no media for it, or its offer was refused)."""

    code = "softphone_unavailable"
    http_status = 503


class NoOfferRinging(Conflict):
    """An accept came, but nothing rings on the agent's softphone."""

    code = "no_offer"


@dataclass
class _Ringing:
    """One offer ringing on an agent's softphone: `accepted` resolves on the page's accept,
    `answered` with the result of answering it (which the accept waits for and reports)."""

    accepted: asyncio.Future[None]
    answered: asyncio.Future[None]
    started: asyncio.Event = field(default_factory=asyncio.Event)


LostHandler = Callable[[], Awaitable[None]]

ENDED_BY_HANGUP = "local-hangup"


class BrowserLeg:
    """One call's use of an agent's softphone: the agent's persistent endpoint, which the call
    layer bridges and unbridges but never releases (`owns_endpoint`)."""

    kind = "webrtc"
    owns_endpoint = False

    def __init__(
        self, endpoint: EndpointInfo, media: MediaEngine, quality_from: LegQuality | None = None
    ) -> None:
        self.endpoint = endpoint
        # The endpoint's figures when this call began: the call's own are the difference.
        self.quality_from = quality_from
        self.codec = endpoint.codec or MediaCodec.PCMU
        self.on_key: KeyHandler | None = None  # the browser's keys come as RTP events
        self._media = media
        self._ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @property
    def ended(self) -> asyncio.Future[str]:
        return self._ended

    @property
    def active(self) -> bool:
        return not self._ended.done()

    def end(self, reason: str) -> None:
        if not self._ended.done():
            self._ended.set_result(reason)

    async def hangup(self) -> None:
        """Stop relaying the call's audio to the agent; the softphone itself stays up."""
        if self._ended.done():
            return
        self.end(ENDED_BY_HANGUP)
        with contextlib.suppress(MediaError):
            await self._media.unbridge(self.endpoint.endpoint_id)

    async def call_quality(self) -> LegQuality | None:
        """What the softphone carried during this call (None when the endpoint is gone, or its
        figures at the start were not read): saved on the contact like a SIP leg's."""
        if self.quality_from is None:
            return None
        try:
            now = await self._media.quality(self.endpoint.endpoint_id)
        except MediaError:
            return None
        return now.since(self.quality_from)

    def __repr__(self) -> str:
        return f"<BrowserLeg endpoint {self.endpoint.endpoint_id}>"


@dataclass
class _Softphone:
    """An agent's open softphone: its endpoint, the call leg on it now, who to tell it is lost."""

    endpoint: EndpointInfo
    on_lost: LostHandler | None = None
    leg: BrowserLeg | None = None


class BrowserDialer:
    """See the module docstring. One offer at a time rings per agent (the router offers an agent
    one contact at a time)."""

    def __init__(self, media: MediaEngine) -> None:
        self._media = media
        self._softphones: dict[str, _Softphone] = {}  # username -> its browser leg
        self._ringing: dict[str, _Ringing] = {}
        self._unsubscribe: Unsubscribe | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ AgentDialer

    def reachable(self, username: str) -> bool:
        return username in self._softphones

    async def ring(
        self,
        username: str,
        *,
        group: str,
        ring_timeout: float | None,
        caller_id: str | None = None,
        display: str | None = None,
    ) -> Leg:
        if not self.reachable(username):
            raise LegFailed(480, "No softphone open")
        ringing = self._ringing.get(username)
        if ringing is None or ringing.started.is_set():
            if ringing is not None:
                raise LegFailed(486, "Busy")
            loop = asyncio.get_running_loop()
            ringing = _Ringing(loop.create_future(), loop.create_future())
            self._ringing[username] = ringing
        ringing.started.set()  # an accept that came first answers this ring at once
        try:
            try:
                async with asyncio.timeout(ring_timeout):
                    await asyncio.shield(ringing.accepted)
            except TimeoutError:
                raise LegFailed(480, "No answer") from None
            try:
                leg = await self._answer_on_softphone(username, group=group)
            except HotlineError as exc:
                ringing.answered.set_exception(exc)
                raise LegFailed(503, exc.message) from exc
            ringing.answered.set_result(None)
            return leg
        finally:
            if self._ringing.get(username) is ringing:
                del self._ringing[username]
            if ringing.answered.done():
                pass
            elif ringing.accepted.done():  # an accept waits for this answer: tell it why not
                ringing.answered.set_exception(NoOfferRinging("the offer is no longer ringing"))
            else:
                ringing.answered.cancel()

    async def rejoin(self, username: str, *, group: str) -> Leg:
        """The agent's reopened softphone as the new agent leg of the call it lost (the call
        layer bridges it to the caller again); `LegFailed` when no softphone is open."""
        try:
            return await self._answer_on_softphone(username, group=group)
        except HotlineError as exc:
            raise LegFailed(480, exc.message) from exc

    # ------------------------------------------------------------------ the desktop

    async def accept(self, username: str, *, wait: float = ACCEPT_WAIT_SECONDS) -> None:
        """Answer the offer ringing on the agent's softphone; returns once it is answered there,
        or raises why it could not be (`NoOfferRinging`, `SoftphoneUnavailable`)."""
        if not self.reachable(username):
            raise SoftphoneUnavailable("open the softphone first (POST /api/v1/agent/softphone)")
        ringing = self._ringing.get(username)
        if ringing is None:
            loop = asyncio.get_running_loop()
            ringing = _Ringing(loop.create_future(), loop.create_future())
            self._ringing[username] = ringing
        if not ringing.accepted.done():
            ringing.accepted.set_result(None)
        try:
            async with asyncio.timeout(wait):
                await ringing.started.wait()
        except TimeoutError:
            if self._ringing.get(username) is ringing:
                del self._ringing[username]
            raise NoOfferRinging("nothing is ringing for you", username=username) from None
        await asyncio.shield(ringing.answered)

    async def open_softphone(
        self, username: str, *, sdp: str, on_lost: LostHandler | None = None
    ) -> str:
        """Connect the agent's browser leg from the page's SDP offer; returns the SDP answer.
        A page that opens again replaces its earlier leg. `on_lost` is awaited when the leg
        ends by itself (the browser's connection failed or closed)."""
        answer = await self._connect_browser(username, sdp=sdp)
        self._softphones[username].on_lost = on_lost
        return answer

    async def close_softphone(self, username: str) -> bool:
        """The page closed its softphone (or went away); False when none was open."""
        if username not in self._softphones:
            return False
        self._stop_ringing(username)
        with contextlib.suppress(HotlineError):
            await self._disconnect_browser(username)
        return True

    def _stop_ringing(self, username: str) -> None:
        ringing = self._ringing.pop(username, None)
        if ringing is not None and not ringing.accepted.done():
            ringing.accepted.set_exception(LegFailed(480, "The softphone closed"))

    async def close(self) -> None:
        """Release every softphone (the server stops)."""
        for username in list(self._softphones):
            await self.close_softphone(username)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # ------------------------------------------------------------------ the media

    async def _connect_browser(self, username: str, *, sdp: str) -> str:
        """Allocate the agent's WebRTC endpoint on a media worker and answer the page's offer
        (the agent's earlier endpoint, if any, is released first)."""
        if self._unsubscribe is None:
            self._unsubscribe = self._media.subscribe(self._on_media)
        await self._disconnect_browser(username)
        try:
            info, answer = await self._media.allocate_webrtc(sdp, group=f"agent:{username}")
        except WebRtcOfferRejected:
            raise  # the page's offer is at fault, not the server
        except MediaError as exc:
            raise SoftphoneUnavailable(exc.message, phone="webrtc") from exc
        self._softphones[username] = _Softphone(info)
        return answer

    async def _answer_on_softphone(self, username: str, *, group: str) -> Leg:
        """The agent's browser leg as the call's agent leg (bridged by the call layer)."""
        softphone = self._softphones.get(username)
        if softphone is None:
            raise SoftphoneUnavailable("the softphone closed", phone="webrtc")
        if softphone.leg is not None and softphone.leg.active:
            raise SoftphoneUnavailable("the softphone is on another call", phone="webrtc")
        try:
            start: LegQuality | None = await self._media.quality(softphone.endpoint.endpoint_id)
        except MediaError:
            start = None
        softphone.leg = BrowserLeg(softphone.endpoint, self._media, start)
        return softphone.leg

    async def _disconnect_browser(self, username: str) -> None:
        """Release the agent's WebRTC endpoint (a call on it sees its agent leg end)."""
        softphone = self._softphones.pop(username, None)
        if softphone is None:
            return
        if softphone.leg is not None:
            softphone.leg.end("softphone closed")
        with contextlib.suppress(MediaError):
            await self._media.release(softphone.endpoint.endpoint_id)

    def _on_media(self, event: MediaEvent) -> None:
        if not isinstance(event, EndpointEnded):
            return
        for username, softphone in list(self._softphones.items()):
            if softphone.endpoint.endpoint_id == event.endpoint_id:
                log.info("softphone of %s ended: %s", username, event.reason)
                self._spawn(self._lost(username, softphone, event.reason))

    async def _lost(self, username: str, softphone: _Softphone, reason: str) -> None:
        """The browser is gone: drop its endpoint and tell the desk."""
        if self._softphones.get(username) is not softphone:
            return  # replaced or closed meanwhile
        self._stop_ringing(username)
        del self._softphones[username]
        if softphone.leg is not None:
            softphone.leg.end(reason)
        with contextlib.suppress(MediaError):
            await self._media.release(softphone.endpoint.endpoint_id)
        if softphone.on_lost is not None:
            try:
                await softphone.on_lost()
            except Exception:
                log.exception("telling the desk the softphone of %s ended", username)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ChosenPhoneDialer:
    """The `AgentDialer` of the call layer: rings the phone each agent chose (see the module
    docstring)."""

    def __init__(self, *, sip: AgentDialer, browser: BrowserDialer, default: Phone = "sip") -> None:
        if default not in PHONES:
            raise ValueError(f"unknown phone {default!r}")
        self.sip = sip
        self.browser = browser
        self.default: Phone = default
        self._chosen: dict[str, Phone] = {}

    def phone(self, username: str) -> Phone:
        return self._chosen.get(username, self.default)

    def choose(self, username: str, phone: Phone) -> None:
        if phone not in PHONES:
            raise ValueError(f"unknown phone {phone!r}")
        self._chosen[username] = phone

    def _dialer(self, username: str) -> AgentDialer:
        return self.browser if self.phone(username) == "webrtc" else self.sip

    def reachable(self, username: str) -> bool:
        return self._dialer(username).reachable(username)

    async def ring(
        self,
        username: str,
        *,
        group: str,
        ring_timeout: float | None,
        caller_id: str | None = None,
        display: str | None = None,
    ) -> Leg:
        return await self._dialer(username).ring(
            username,
            group=group,
            ring_timeout=ring_timeout,
            caller_id=caller_id,
            display=display,
        )

    async def rejoin(self, username: str, *, group: str) -> Leg:
        return await self._dialer(username).rejoin(username, group=group)
