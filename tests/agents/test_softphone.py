"""The browser softphone on a running platform: an agent signs in over loopback HTTP, opens the
softphone with an offer made by aiortc playing the browser, chooses it and goes ready. SIPp
callers pick the help topic; the offer is accepted from the desktop, audio flows both ways
(counted at the caller's RTP peer and at the aiortc peer), the desktop's hang-up ends the call,
and the agent's leg stays up for the next call. When the browser goes away the agent is set not
ready; when it goes away mid-call the caller is held until the page's softphone connects again
(then bridged to it), or until the grace period `agent_rejoin_seconds` ends the call
(`agent_leg_lost`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from hotline.contacts.models import WrapUpCode
from hotline.routing.types import AgentState
from hotline.telephony.media.browser_peer import BrowserPeer
from hotline.telephony.media.peer import RtpPeer
from tests.agents.conftest import signed_in
from tests.calls import scenarios
from tests.calls.conftest import Hotline, eventually, running_hotline

PCMU = 0
EVENTS = 101  # telephone-event, as the test callers offer it


def _heard(peer: RtpPeer | BrowserPeer, payload: bytes) -> int:
    return sum(1 for r in peer.received if r.packet.payload == payload * 160)


async def _reserved(h: Hotline) -> bool:
    return (await h.agent_state("agent01"))[0] is AgentState.RESERVED


@asynccontextmanager
async def _agent_on_the_softphone(
    tmp_path: Path, prompt_cache: Path, **settings: Any
) -> AsyncIterator[tuple[Hotline, httpx.AsyncClient, BrowserPeer]]:
    """A running platform, agent01 signed in and ready on a softphone played by aiortc. The
    platform's own desk serves the page: its softphones are the ones the call layer rings."""
    async with (
        running_hotline(
            tmp_path, prompt_cache, http=True, http_cookie_secure=False, **settings
        ) as h,
        signed_in(h, "agent01") as browser_http,
    ):
        phone = BrowserPeer(codecs=("PCMU", "telephone-event"))
        try:
            await _ready_on_the_softphone(browser_http, phone)
            yield h, browser_http, phone
        finally:
            await phone.close()


async def _ready_on_the_softphone(browser_http: httpx.AsyncClient, phone: BrowserPeer) -> None:
    """The page chooses the softphone, opens it with the browser's offer, and goes ready."""
    chosen = await browser_http.post("/api/v1/agent/phone", json={"phone": "webrtc"})
    assert chosen.json() == {"phone": "webrtc", "reachable": False}
    opened = await browser_http.post("/api/v1/agent/softphone", json={"sdp": await phone.offer()})
    assert opened.status_code == 200, opened.text
    await phone.accept(opened.json()["sdp"])
    assert await phone.connected()
    ready = await browser_http.post("/api/v1/agent/state", json={"state": "ready"})
    assert ready.status_code == 200, ready.text
    me = (await browser_http.get("/api/v1/agent/me")).json()
    assert (me["state"], me["phone"], me["reachable"]) == ("ready", "webrtc", True)


async def _busy(h: Hotline) -> bool:
    return (await h.agent_state("agent01"))[0] is AgentState.BUSY


async def _answered_on_the_softphone(
    h: Hotline, browser_http: httpx.AsyncClient, name: str
) -> tuple[asyncio.subprocess.Process, RtpPeer]:
    """A SIPp caller (heard and speaking through an RTP peer) picks the help topic, and the
    agent accepts the offer from the desktop."""
    caller_audio = await RtpPeer.open()
    caller = await h.call(
        scenarios.caller(
            h.folder(name), end="await_bye", media_port=caller_audio.address[1], name=name
        )
    )
    assert await caller_audio.wait_for(lambda: len(caller_audio.received) > 5, 10)
    caller_audio.target = caller_audio.received[0].source
    await caller_audio.send_digits("1", EVENTS)  # the menu's "1": the help queue

    await eventually(lambda: _reserved(h), 10, "the offer reached agent01")
    accepted = await browser_http.post("/api/v1/agent/offer/accept")
    assert accepted.status_code == 204, accepted.text
    await eventually(lambda: _busy(h), 10, "agent01 on the call")
    return caller, caller_audio


async def _a_call_through_the_softphone(
    h: Hotline, browser_http: httpx.AsyncClient, phone: BrowserPeer, mark: bytes, name: str
) -> dict[str, Any]:
    """One caller picks the help topic, the agent accepts on the softphone, both hear each
    other, and the agent hangs up from the desktop; the browser leg's figures of the call."""
    caller, caller_audio = await _answered_on_the_softphone(h, browser_http, name)

    # Both ways: the caller's audio reaches the browser, the browser's reaches the caller.
    await caller_audio.send_audio(mark * 8000, PCMU)
    assert await phone.wait_for(lambda: _heard(phone, mark) > 20, 5)
    back = bytes([mark[0] + 1])
    await phone.send_audio(back * 8000)
    assert await caller_audio.wait_for(lambda: _heard(caller_audio, back) > 20, 5)

    hung_up = await browser_http.post("/api/v1/agent/call/hangup")
    assert hung_up.status_code == 204, hung_up.text
    result = await h.finish(caller, name)
    assert result.returncode == 0, result.explain()  # it got Hotline's BYE
    contact = await h.ended()
    assert contact.outcome == "handled"
    assert dict(await h.log(contact.id))["call.ended"] == {
        "by": "agent",
        "reason": "hung up from the agent desktop",
    }
    # The browser leg's figures for this call are on its contact, as a SIP leg's are: the
    # audio went both ways through it, and nothing was lost on loopback.
    this_call = (await h.contacts())[-1]
    figures = [
        p["figures"]
        for kind, p in await h.log(this_call.id)
        if kind == "call.quality" and p["leg"] == "agent"
    ]
    assert len(figures) == 1
    assert figures[0]["packets_sent"] >= 20  # the caller's words, to the browser
    assert figures[0]["packets_received"] >= 20  # the agent's, from it
    assert figures[0]["packets_lost"] == 0
    caller_audio.close()
    return figures[0]


async def test_an_agent_takes_two_calls_on_one_browser_softphone_leg(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _agent_on_the_softphone(tmp_path, prompt_cache) as (h, browser_http, phone):
        async with h.sessions() as session, session.begin():
            session.add(WrapUpCode(id="advice", name="Advice given"))
        routing = h.platform.routing
        routing.engine.set_queue(  # wrap-up ends by the desktop, not by its timer
            replace(h.platform.specs["help"], wrap_up_seconds=120), h.platform.app.clock.now()
        )
        opened = asyncio.get_running_loop().time()
        first = await _a_call_through_the_softphone(h, browser_http, phone, b"\x44", "first")
        assert (await h.agent_state("agent01"))[0] is AgentState.WRAP_UP
        me = (await browser_http.get("/api/v1/agent/me")).json()
        assert me["reachable"] is True  # the leg outlived the call
        wrapped = await browser_http.post("/api/v1/agent/wrapup", json={"code": "advice"})
        assert wrapped.status_code == 204, wrapped.text
        assert (await h.agent_state("agent01"))[0] is AgentState.READY

        # The second call is answered on the same leg: no new offer from the page.
        second = await _a_call_through_the_softphone(h, browser_http, phone, b"\x54", "second")
        # Each call's figures are its own, not the leg's since it opened (before `opened`): the
        # two calls, one after the other, fit in the time both took.
        both = asyncio.get_running_loop().time() - opened
        assert first["duration_seconds"] + second["duration_seconds"] <= both
        wrapped = await browser_http.post("/api/v1/agent/wrapup", json={"code": "advice"})
        assert wrapped.status_code == 204, wrapped.text
        assert (await h.agent_state("agent01"))[0] is AgentState.READY

        # The browser goes away: its leg ends, and the ready agent is set not ready.
        await phone.close()
        assert await eventually(lambda: _not_ready_unreachable(h), 40, "agent01 set not ready")
        me = (await browser_http.get("/api/v1/agent/me")).json()
        assert me["reachable"] is False


async def _not_ready_unreachable(h: Hotline) -> bool:
    return await h.agent_state("agent01") == (AgentState.NOT_READY, "phone_unreachable")


async def _logged(h: Hotline, contact_id: str, kind: str) -> dict[str, Any] | None:
    return dict(await h.log(contact_id)).get(kind)


GRACE = 3.0


async def test_a_call_whose_softphone_does_not_come_back_ends_after_the_grace_period(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _agent_on_the_softphone(tmp_path, prompt_cache, agent_rejoin_seconds=GRACE) as (
        h,
        browser_http,
        phone,
    ):
        caller, caller_audio = await _answered_on_the_softphone(h, browser_http, "caller")
        (contact,) = await h.contacts()

        await phone.close()  # the tab is closed mid-call, and not opened again
        lost = await eventually(
            lambda: _logged(h, contact.id, "call.agent_lost"), 30, "the agent's leg lost"
        )
        noticed = asyncio.get_running_loop().time()
        assert lost["grace"] == GRACE
        # The caller is held, not hung up: music on hold reaches them; the agent stays on the
        # contact.
        heard = len(caller_audio.received)
        assert await caller_audio.wait_for(lambda: len(caller_audio.received) - heard > 25, 3)
        assert (await h.agent_state("agent01"))[0] is AgentState.BUSY
        await asyncio.sleep(max(0.0, noticed + GRACE - 1.0 - asyncio.get_running_loop().time()))
        assert caller.returncode is None  # no BYE yet, a second before the grace period ends
        assert "call.ended" not in dict(await h.log(contact.id))

        # The grace period is over: Hotline ends the call, says why, and hangs up the caller.
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()  # it got Hotline's BYE
        ended = await h.ended()
        assert ended.outcome == "handled"  # answered and talked; the reason is in the log
        assert dict(await h.log(contact.id))["call.ended"] == {
            "by": "hotline",
            "reason": "agent_leg_lost",
        }
        assert "call.agent_rejoined" not in dict(await h.log(contact.id))
        me = (await browser_http.get("/api/v1/agent/me")).json()
        assert me["reachable"] is False
        caller_audio.close()


async def test_a_softphone_that_connects_anew_mid_call_takes_the_caller_back(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _agent_on_the_softphone(tmp_path, prompt_cache) as (h, browser_http, phone):
        caller, caller_audio = await _answered_on_the_softphone(h, browser_http, "caller")
        (contact,) = await h.contacts()

        # The network drops and the page connects anew: a new offer replaces the dead leg, and
        # the call takes the new one up.
        again = BrowserPeer(codecs=("PCMU", "telephone-event"))
        try:
            opened = await browser_http.post(
                "/api/v1/agent/softphone", json={"sdp": await again.offer()}
            )
            assert opened.status_code == 200, opened.text
            await again.accept(opened.json()["sdp"])
            assert await again.connected()
            log = dict(await h.log(contact.id))
            assert log["call.agent_lost"]["reason"] == "leg ended (softphone closed)"
            assert log["call.agent_rejoined"]["agent_id"] == await h.user_id("agent01")
            assert (await h.agent_state("agent01"))[0] is AgentState.BUSY

            # Both ways again, through the new leg.
            await caller_audio.send_audio(b"\x44" * 8000, PCMU)
            assert await again.wait_for(lambda: _heard(again, b"\x44") > 20, 5)
            await again.send_audio(b"\x45" * 8000)
            assert await caller_audio.wait_for(lambda: _heard(caller_audio, b"\x45") > 20, 5)
            assert caller.returncode is None

            hung_up = await browser_http.post("/api/v1/agent/call/hangup")
            assert hung_up.status_code == 204, hung_up.text
            result = await h.finish(caller, "caller")
            assert result.returncode == 0, result.explain()
            ended = await h.ended()
            assert ended.outcome == "handled"
            assert dict(await h.log(contact.id))["call.ended"] == {
                "by": "agent",
                "reason": "hung up from the agent desktop",
            }
        finally:
            await again.close()
        caller_audio.close()


async def test_an_agent_whose_softphone_is_away_hangs_up_from_the_desktop(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with _agent_on_the_softphone(tmp_path, prompt_cache) as (h, browser_http, phone):
        caller, caller_audio = await _answered_on_the_softphone(h, browser_http, "caller")
        (contact,) = await h.contacts()
        closed = await browser_http.delete("/api/v1/agent/softphone")  # the page is left
        assert closed.status_code == 204, closed.text
        await eventually(lambda: _logged(h, contact.id, "call.agent_lost"), 10, "held")

        # Back on the desktop without a softphone yet, the agent ends the call: at once.
        hung_up = await browser_http.post("/api/v1/agent/call/hangup")
        assert hung_up.status_code == 204, hung_up.text
        result = await h.finish(caller, "caller", limit=10)
        assert result.returncode == 0, result.explain()
        ended = await h.ended()
        assert ended.outcome == "handled"
        assert dict(await h.log(contact.id))["call.ended"] == {
            "by": "agent",
            "reason": "hung up from the agent desktop",
        }
        caller_audio.close()
