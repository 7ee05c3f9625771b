"""Inbound calls from SIPp, a real peer, to the Endpoint acting as UAS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotline.telephony.sip.dialog import Dialog, DtmfEvent
from hotline.telephony.sip.endpoint import Endpoint, IncomingCall
from hotline.telephony.sip.sdp import PCMA, Direction, build_answer
from tests.telephony.sip.conftest import config
from tests.telephony.sip.sipp import run_sipp


class Answering:
    """An `on_invite` handler that rings, answers with an SDP answer and records what happens."""

    def __init__(self, endpoint: Endpoint, *, answer: bool = True) -> None:
        self.endpoint = endpoint
        self.answer = answer
        self.calls: list[IncomingCall] = []
        self.dialogs: list[Dialog] = []
        self.digits: list[DtmfEvent] = []
        self.ended: list[str] = []
        endpoint.on_invite = self

    async def __call__(self, call: IncomingCall) -> None:
        self.calls.append(call)
        call.ring()
        if not self.answer:
            return
        assert call.offer is not None
        answer, _ = build_answer(call.offer, address="127.0.0.1", port=30000)
        dialog = call.answer(answer)
        dialog.on_dtmf = lambda d, event: self.digits.append(event)
        dialog.on_terminated = lambda d, reason: self.ended.append(reason)
        self.dialogs.append(dialog)


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_sipp_call_is_answered_gets_dtmf_and_hold_then_bye(
    endpoint: Endpoint, tmp_path: Path, transport: str
) -> None:
    handler = Answering(endpoint)
    result = await run_sipp(
        tmp_path, scenario="uac_call.xml", remote_port=endpoint.port, transport=transport,
        time_limit=10,
    )  # fmt: skip
    assert result.returncode == 0, result.explain()
    assert result.count("SuccessfulCall") == 1
    (dialog,) = handler.dialogs
    assert handler.ended == ["remote-bye"]
    assert handler.digits == [DtmfEvent("5", 160)]
    assert dialog.media is not None
    assert dialog.media.codec == PCMA  # SIPp's first choice, offerer's order kept
    assert dialog.media.telephone_event == 101
    assert dialog.media.direction is Direction.RECVONLY  # SIPp put us on hold
    assert endpoint.dialogs == []
    assert endpoint.inbound_calls == 0


async def test_sipp_cancel_before_answer_gets_200_and_487(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    handler = Answering(endpoint, answer=False)
    result = await run_sipp(
        tmp_path, scenario="uac_cancel.xml", remote_port=endpoint.port, time_limit=10
    )
    assert result.returncode == 0, result.explain()
    assert result.count("SuccessfulCall") == 1
    (call,) = handler.calls
    assert call.cancelled.is_set()
    assert call.final_status == 487
    assert endpoint.inbound_calls == 0


async def test_invites_past_the_call_limit_get_503_with_retry_after(tmp_path: Path) -> None:
    async with Endpoint(config(max_calls=2, retry_after=7)) as endpoint:
        handler = Answering(endpoint, answer=False)
        result = await run_sipp(
            tmp_path, scenario="uac_overload.xml", remote_port=endpoint.port, calls=4,
            rate=100, time_limit=10, extra=["-l", "4"],
        )  # fmt: skip
        assert result.returncode == 0, result.explain()
        assert result.count("SuccessfulCall") == 4
        assert len(handler.calls) == 2
        assert endpoint.stats["overload_503"] == 2
        assert endpoint.inbound_calls == 0


async def test_late_ack_makes_the_endpoint_resend_its_200_until_acked(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    handler = Answering(endpoint)
    result = await run_sipp(
        tmp_path, scenario="uac_slow_ack.xml", remote_port=endpoint.port, time_limit=10,
        extra=["-trace_msg"],
    )  # fmt: skip
    assert result.returncode == 0, result.explain()
    (dialog,) = handler.dialogs
    # T1 = 50 ms: re-sent at 50, 150 and 350 ms before the ACK at 400 ms, and not after it.
    received = result.received("SIP/2.0 200", "INVITE")
    assert 3 <= received <= 5
    assert received == 1 + dialog.retransmitted_2xx
    assert dialog.acked.done()
    assert handler.ended == ["remote-bye"]


async def test_a_call_nobody_answers_gets_480_after_the_ring_timeout(tmp_path: Path) -> None:
    async with Endpoint(config(ring_timeout=0.3)) as endpoint:
        handler = Answering(endpoint, answer=False)
        result = await run_sipp(
            tmp_path, scenario="uac_call.xml", remote_port=endpoint.port, time_limit=5
        )
        assert result.returncode != 0  # SIPp expected a 200
        assert "480" in result.errors
        (call,) = handler.calls
        assert call.final_status == 480
        await asyncio.sleep(0)
        assert endpoint.inbound_calls == 0
