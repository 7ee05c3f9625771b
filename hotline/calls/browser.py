"""The browser softphone as an agent's phone, and the choice between it and a SIP phone.

`BrowserDialer` is the `AgentDialer` for agents whose phone is the agent desktop. Ringing a
browser needs no signalling of its own: the router's `ContactOffered` is already on the bus when
the call layer rings, and the live events feed turns it into `contact.offered` for the agent's
page, which rings and answers with `POST /api/v1/agent/offer/accept`. So `ring` only waits for
that accept, then answers the offer on the agent's browser leg.

The browser leg itself (a WebRTC endpoint of a media worker, offered by the page with
`POST /api/v1/agent/softphone` and kept up while the page is open) is media work that is not
here yet: `_connect_browser` and `_answer_on_softphone` are the seam where it plugs in. Until it
does they raise `SoftphoneUnavailable`, so no browser agent is ever reachable and none is offered
a contact: audio is never pretended.

`ChosenPhoneDialer` is the dialer the call layer is given: it rings whichever phone each agent
chose on the desktop (`sip` or `webrtc`, a default from the settings until they choose), and
says an agent is reachable only when that phone is (a registered SIP phone, an open softphone).
The choice is kept in memory: it lasts while this process runs, and an agent makes it again
after a restart (the desktop sends it when it loads)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Literal, get_args

from hotline.calls.legs import AgentDialer, Leg, LegFailed
from hotline.core.errors import Conflict, HotlineError

log = logging.getLogger(__name__)

Phone = Literal["sip", "webrtc"]
PHONES: tuple[Phone, ...] = get_args(Phone)

ACCEPT_WAIT_SECONDS = 3.0
"""How long an accept waits for the ring it answers to begin: the page hears of the offer from
the bus a moment before the call layer starts ringing, and a quick agent may be faster."""


class SoftphoneUnavailable(HotlineError):
    """The browser softphone cannot be connected (its media part is not available yet)."""

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


class BrowserDialer:
    """See the module docstring. One offer at a time rings per agent (the router offers an agent
    one contact at a time)."""

    def __init__(self) -> None:
        self._softphones: set[str] = set()  # usernames with a browser leg up
        self._ringing: dict[str, _Ringing] = {}

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

    async def open_softphone(self, username: str, *, sdp: str) -> str:
        """Connect the agent's browser leg from the page's SDP offer; returns the SDP answer.
        A page that opens again replaces its earlier leg."""
        answer = await self._connect_browser(username, sdp=sdp)
        self._softphones.add(username)
        return answer

    async def close_softphone(self, username: str) -> bool:
        """The page closed its softphone (or went away); False when none was open."""
        if username not in self._softphones:
            return False
        self._softphones.discard(username)
        ringing = self._ringing.pop(username, None)
        if ringing is not None and not ringing.accepted.done():
            ringing.accepted.set_exception(LegFailed(480, "The softphone closed"))
        with contextlib.suppress(HotlineError):
            await self._disconnect_browser(username)
        return True

    # ------------------------------------------------------------------ the media seam

    async def _connect_browser(self, username: str, *, sdp: str) -> str:
        """Allocate the agent's WebRTC endpoint on a media worker and answer the page's offer."""
        raise SoftphoneUnavailable(
            "the browser softphone is not available on this server yet; use a SIP phone",
            phone="webrtc",
        )

    async def _answer_on_softphone(self, username: str, *, group: str) -> Leg:
        """The agent's browser leg as the call's agent leg (bridged by the call layer)."""
        raise SoftphoneUnavailable(
            "the browser softphone is not available on this server yet", phone="webrtc"
        )

    async def _disconnect_browser(self, username: str) -> None:
        """Release the agent's WebRTC endpoint."""


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
