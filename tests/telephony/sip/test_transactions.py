"""Transaction timers and retransmissions (RFC 3261 §17, §13.3.1.4) seen from a raw UDP peer
on 127.0.0.1, with T1 = 10 ms so that 64*T1 is 0.64 s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from hotline.telephony.sip.dialog import Dialog, DtmfEvent
from hotline.telephony.sip.endpoint import Endpoint, IncomingCall
from hotline.telephony.sip.errors import CallFailed
from hotline.telephony.sip.message import SipRequest, SipResponse, parse
from hotline.telephony.sip.sdp import Direction, build_answer, build_offer
from hotline.telephony.sip.transaction import Timers
from tests.telephony.sip.conftest import config
from tests.telephony.sip.peer import UdpPeer, request
from tests.telephony.sip.test_endpoint_core import SDP_OFFER

TINY = Timers.scaled(0.02)  # T1 10 ms, T2 80 ms, T4 100 ms, 64*T1 0.64 s
WHOLE = 64 * TINY.t1


@pytest_asyncio.fixture(loop_scope="function")
async def fast() -> AsyncIterator[Endpoint]:
    async with Endpoint(config(timers=TINY)) as endpoint:
        yield endpoint


@pytest_asyncio.fixture(loop_scope="function")
async def peer() -> AsyncIterator[UdpPeer]:
    peer = await UdpPeer.open()
    yield peer
    peer.close()


def invite(peer: UdpPeer, endpoint: Endpoint, **kwargs: object) -> bytes:
    return request(
        "INVITE", peer_port=peer.port, target_port=endpoint.port,
        headers=["Content-Type: application/sdp"], body=SDP_OFFER, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def ack_for(response: SipResponse, peer: UdpPeer, endpoint: Endpoint, **kwargs: object) -> bytes:
    """An ACK in the dialog / transaction of `response` (To tag copied)."""
    return request(
        "ACK", peer_port=peer.port, target_port=endpoint.port, call_id=response.call_id,
        cseq=response.cseq.seq, to_tag=response.to.tag, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


async def count_until_silent(peer: UdpPeer, quiet: float, limit: float) -> list[bytes]:
    """Everything that arrives until `quiet` seconds pass without a message (at most `limit`)."""
    got: list[bytes] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        try:
            got.append(await peer.recv_raw(quiet))
        except TimeoutError:
            break
    return got


class Holder:
    """An INVITE handler that rings and keeps the call for the test to decide."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.calls: list[IncomingCall] = []
        self.arrived = asyncio.Event()
        endpoint.on_invite = self

    def __call__(self, call: IncomingCall) -> None:
        self.calls.append(call)
        call.ring()
        self.arrived.set()


async def test_non_2xx_final_is_resent_until_acked(fast: Endpoint, peer: UdpPeer) -> None:
    holder = Holder(fast)
    peer.send(invite(peer, fast, branch="z9hG4bKg1"), fast.port)
    await asyncio.wait_for(holder.arrived.wait(), 2)
    holder.calls[0].reject(486)
    first = await peer.response(skip_100=True)
    while first.status == 180:
        first = await peer.response()
    assert first.status == 486
    resent = await count_until_silent(peer, quiet=0.15, limit=0.25)
    assert len(resent) >= 2  # timer G: 10, 30, 70, 150 ms...
    peer.send(ack_for(first, peer, fast, branch="z9hG4bKg1"), fast.port)
    await asyncio.sleep(0.1)
    peer.drain()
    assert await peer.silent(0.3)


async def test_non_2xx_final_resending_stops_at_timer_h(fast: Endpoint, peer: UdpPeer) -> None:
    holder = Holder(fast)
    peer.send(invite(peer, fast), fast.port)
    await asyncio.wait_for(holder.arrived.wait(), 2)
    holder.calls[0].reject(603)
    got = await count_until_silent(peer, quiet=0.3, limit=WHOLE + 1.0)
    finals = [m for m in got if m.startswith(b"SIP/2.0 603")]
    # 10, 20, 40, 80, 80, 80... ms: about 9 sends in 0.64 s, then nothing.
    assert 6 <= len(finals) <= 12
    assert fast.transactions.server == {}


async def test_retransmitted_invite_gets_the_last_provisional_and_reaches_the_handler_once(
    fast: Endpoint, peer: UdpPeer
) -> None:
    holder = Holder(fast)
    data = invite(peer, fast)
    peer.send(data, fast.port)
    await asyncio.wait_for(holder.arrived.wait(), 2)
    await asyncio.sleep(0.05)
    peer.drain()
    peer.send(data, fast.port)
    again = await peer.response()
    assert again.status == 180
    assert len(holder.calls) == 1
    holder.calls[0].reject(480)


async def test_cancel_gets_200_and_the_invite_487(fast: Endpoint, peer: UdpPeer) -> None:
    holder = Holder(fast)
    peer.send(invite(peer, fast, branch="z9hG4bKc1", call_id="c1"), fast.port)
    await asyncio.wait_for(holder.arrived.wait(), 2)
    cancel = request(
        "CANCEL", peer_port=peer.port, target_port=fast.port, branch="z9hG4bKc1", call_id="c1"
    )
    peer.send(cancel, fast.port)
    statuses = set()
    for _ in range(3):
        response = await peer.response()
        statuses.add((response.status, response.cseq.method))
    assert {(200, "CANCEL"), (487, "INVITE")} <= statuses
    assert holder.calls[0].cancelled.is_set()
    with pytest.raises(CallFailed):
        holder.calls[0].answer(build_offer(address="127.0.0.1", port=1000))


async def test_options_to_a_silent_peer_is_retransmitted_then_408(
    fast: Endpoint, peer: UdpPeer
) -> None:
    response = await fast.options(f"sip:x@127.0.0.1:{peer.port}")
    assert response.status == 408
    sent = peer.drain()
    # timer E: 10, 20, 40, 80, 80, ... ms until timer F at 0.64 s: about 10 copies.
    assert 7 <= len(sent) <= 13
    assert all(parse(m).cseq.method == "OPTIONS" for m in sent)


async def test_invite_to_a_silent_peer_fails_408_after_timer_b(
    fast: Endpoint, peer: UdpPeer
) -> None:
    with pytest.raises(CallFailed) as info:
        await fast.invite(f"sip:x@127.0.0.1:{peer.port}", build_offer(address="127.0.0.1", port=2))
    assert info.value.status == 408
    sent = peer.drain()
    # timer A doubles without a cap: 10, 20, 40, 80, 160, 320 ms before 0.64 s.
    assert 5 <= len(sent) <= 8


async def test_non_2xx_to_our_invite_is_acked_in_the_same_transaction(
    fast: Endpoint, peer: UdpPeer
) -> None:
    task = asyncio.create_task(
        fast.invite(f"sip:x@127.0.0.1:{peer.port}", build_offer(address="127.0.0.1", port=2))
    )
    got = await peer.recv()
    assert isinstance(got, SipRequest)
    busy = SipResponse(486, headers=got.headers.copy())
    busy.headers.set("To", str(got.to.with_tag("busy1")))
    peer.send(busy.encode(), fast.port)
    with pytest.raises(CallFailed):
        await asyncio.wait_for(task, 2)
    acks = [m for m in (await count_until_silent(peer, 0.1, 1)) if m.startswith(b"ACK")]
    assert acks
    ack = parse(acks[0])
    assert ack.top_via.branch == got.top_via.branch  # §17.1.1.3
    assert ack.to.tag == "busy1"
    assert ack.cseq.seq == got.cseq.seq
    peer.send(busy.encode(), fast.port)  # a retransmitted 486 gets the ACK again
    again = await peer.recv()
    assert isinstance(again, SipRequest)
    assert again.method == "ACK"


class Answerer:
    def __init__(self, endpoint: Endpoint) -> None:
        self.dialogs: list[Dialog] = []
        self.answered = asyncio.Event()
        self.digits: list[DtmfEvent] = []
        endpoint.on_invite = self

    def __call__(self, call: IncomingCall) -> None:
        assert call.offer is not None
        answer, _ = build_answer(call.offer, address="127.0.0.1", port=30000)
        dialog = call.answer(answer)
        dialog.on_dtmf = lambda d, e: self.digits.append(e)
        self.dialogs.append(dialog)
        self.answered.set()


async def answered_call(endpoint: Endpoint, peer: UdpPeer) -> tuple[Dialog, SipResponse, Answerer]:
    answerer = Answerer(endpoint)
    peer.send(invite(peer, endpoint, call_id="d1"), endpoint.port)
    await asyncio.wait_for(answerer.answered.wait(), 2)
    ok = await peer.response()
    assert ok.status == 200
    return answerer.dialogs[0], ok, answerer


async def test_unacked_2xx_ends_in_a_bye_after_64_t1(fast: Endpoint, peer: UdpPeer) -> None:
    dialog, _, _ = await answered_call(fast, peer)
    got = await count_until_silent(peer, quiet=0.3, limit=WHOLE + 1.0)
    oks = [m for m in got if m.startswith(b"SIP/2.0 200")]
    byes = [m for m in got if m.startswith(b"BYE ")]
    assert len(oks) >= 6
    assert len(byes) >= 1
    assert dialog.ended.result() == "no-ack"


async def test_in_dialog_info_dtmf_and_cseq_order(fast: Endpoint, peer: UdpPeer) -> None:
    dialog, ok, answerer = await answered_call(fast, peer)
    peer.send(ack_for(ok, peer, fast), fast.port)
    await asyncio.wait_for(dialog.acked, 1)

    def info(cseq: int, content_type: str, body: bytes) -> bytes:
        return request(
            "INFO", peer_port=peer.port, target_port=fast.port, call_id=ok.call_id, cseq=cseq,
            to_tag=ok.to.tag, headers=[f"Content-Type: {content_type}"], body=body,
        )  # fmt: skip

    peer.send(info(2, "application/dtmf", b"#"), fast.port)
    assert (await peer.response()).status == 200
    peer.send(info(3, "application/dtmf-relay", b"Signal=11\r\nDuration=250\r\n"), fast.port)
    assert (await peer.response()).status == 200
    peer.send(info(4, "text/plain", b"hello"), fast.port)
    assert (await peer.response()).status == 415
    peer.send(info(3, "application/dtmf", b"1"), fast.port)
    assert (await peer.response()).status == 500  # CSeq went backwards (§12.2.2)
    assert answerer.digits == [DtmfEvent("#"), DtmfEvent("#", 250)]
    assert dialog.active


async def test_dtmf_digits_reach_the_dialog_handler(fast: Endpoint, peer: UdpPeer) -> None:
    answerer = Answerer(fast)
    peer.send(invite(peer, fast, call_id="d2"), fast.port)
    await asyncio.wait_for(answerer.answered.wait(), 2)
    ok = await peer.response()
    peer.send(ack_for(ok, peer, fast), fast.port)
    for cseq, body in ((2, b"Signal=5\r\nDuration=160\r\n"), (3, b"Signal=*\r\n")):
        peer.send(
            request(
                "INFO", peer_port=peer.port, target_port=fast.port, call_id="d2", cseq=cseq,
                to_tag=ok.to.tag, headers=["Content-Type: application/dtmf-relay"], body=body,
            ),
            fast.port,
        )  # fmt: skip
        assert (await peer.response()).status == 200
    assert answerer.digits == [DtmfEvent("5", 160), DtmfEvent("*", None)]


async def test_offerless_re_invite_offers_in_200_and_takes_the_answer_from_ack(
    fast: Endpoint, peer: UdpPeer
) -> None:
    dialog, ok, _ = await answered_call(fast, peer)
    peer.send(ack_for(ok, peer, fast), fast.port)
    await asyncio.wait_for(dialog.acked, 1)
    reinvite = request(
        "INVITE", peer_port=peer.port, target_port=fast.port, call_id=ok.call_id, cseq=2,
        to_tag=ok.to.tag,
    )  # fmt: skip
    peer.send(reinvite, fast.port)
    offer_ok = await peer.response()
    assert offer_ok.status == 200
    assert dialog.local_sdp is not None
    assert b"m=audio 30000" in offer_ok.body
    hold_answer = SDP_OFFER.replace(
        b"a=rtpmap:0 PCMU/8000\r\n", b"a=rtpmap:0 PCMU/8000\r\na=recvonly\r\n"
    )
    ack = request(
        "ACK", peer_port=peer.port, target_port=fast.port, call_id=ok.call_id, cseq=2,
        to_tag=ok.to.tag, headers=["Content-Type: application/sdp"], body=hold_answer,
    )  # fmt: skip
    peer.send(ack, fast.port)
    for _ in range(50):
        if dialog.media is not None and dialog.media.direction is Direction.SENDONLY:
            break
        await asyncio.sleep(0.01)
    assert dialog.media is not None
    assert dialog.media.direction is Direction.SENDONLY
