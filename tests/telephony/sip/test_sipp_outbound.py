"""Outbound calls from the Endpoint (UAC) to SIPp, a real peer, acting as UAS."""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

import pytest

from hotline.telephony.sip.auth import DigestCredentials
from hotline.telephony.sip.dialog import Dialog
from hotline.telephony.sip.endpoint import Endpoint
from hotline.telephony.sip.errors import CallFailed
from hotline.telephony.sip.message import SipResponse
from hotline.telephony.sip.sdp import PCMU, Direction, build_offer, with_direction
from tests.telephony.sip.sipp import LOOPBACK, finish_sipp, free_port, start_sipp, wait_bound

OFFER_PORT = 31000


async def sipp_uas(
    tmp_path: Path, scenario: str, *, transport: str = "u1", extra: list[str] | None = None
) -> tuple[asyncio.subprocess.Process, str]:
    """Start SIPp as a UAS on a free port; (process, its URI)."""
    port = free_port()
    process = await start_sipp(
        tmp_path, scenario=scenario, sipp_port=port, time_limit=10, transport=transport,
        extra=extra,
    )  # fmt: skip
    await wait_bound(port, transport, process=process)
    suffix = ";transport=tcp" if transport == "t1" else ""
    return process, f"sip:service@{LOOPBACK}:{port}{suffix}"


async def test_call_to_sipps_builtin_uas_is_answered_then_hung_up(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    process, uri = await sipp_uas(tmp_path, "builtin:uas")
    progress: list[SipResponse] = []
    offer = build_offer(address="127.0.0.1", port=OFFER_PORT)
    dialog = await endpoint.invite(uri, offer, on_progress=progress.append)
    assert [r.status for r in progress] == [180]
    assert dialog.media is not None
    assert dialog.media.codec == PCMU
    assert dialog.media.remote_address == LOOPBACK
    await dialog.bye()
    assert dialog.ended.result() == "local-bye"
    result = await finish_sipp(process, tmp_path, time_limit=15)
    assert result.returncode == 0, result.explain()
    assert result.count("SuccessfulCall") == 1


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_hold_by_re_invite_and_dtmf_by_info_to_sipp(
    endpoint: Endpoint, tmp_path: Path, transport: str
) -> None:
    process, uri = await sipp_uas(tmp_path, "uas_hold.xml", transport=transport)
    offer = build_offer(address="127.0.0.1", port=OFFER_PORT)
    dialog = await endpoint.invite(uri, offer)
    response = await dialog.send_dtmf("7")
    assert response.status == 200
    assert dialog.local_sdp is not None
    held = await dialog.reinvite(with_direction(dialog.local_sdp, Direction.SENDONLY))
    assert held.direction is Direction.SENDONLY
    await dialog.bye()
    result = await finish_sipp(process, tmp_path, time_limit=15)
    assert result.returncode == 0, result.explain()


async def test_invite_is_retransmitted_until_a_slow_uas_answers(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    process, uri = await sipp_uas(tmp_path, "uas_slow.xml", extra=["-trace_msg"])
    dialog = await endpoint.invite(uri, build_offer(address="127.0.0.1", port=OFFER_PORT))
    await dialog.bye()
    result = await finish_sipp(process, tmp_path, time_limit=15)
    assert result.returncode == 0, result.explain()
    # T1 = 50 ms: timer A fires at 50 and 150 ms within SIPp's 300 ms pause.
    received = result.received("INVITE sip:", "INVITE")
    assert 3 <= received <= 4
    assert received == 1 + endpoint.transactions.stats["retransmitted_INVITE"]


async def test_busy_answer_raises_call_failed_486_and_is_acked(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    process, uri = await sipp_uas(tmp_path, "uas_busy.xml")
    with pytest.raises(CallFailed) as info:
        await endpoint.invite(uri, build_offer(address="127.0.0.1", port=OFFER_PORT))
    assert info.value.status == 486
    result = await finish_sipp(process, tmp_path, time_limit=15)
    assert result.returncode == 0, result.explain()  # SIPp received our ACK


async def test_ring_timeout_cancels_the_call(endpoint: Endpoint, tmp_path: Path) -> None:
    process, uri = await sipp_uas(tmp_path, "uas_ring_forever.xml")
    with pytest.raises(CallFailed) as info:
        await endpoint.invite(
            uri, build_offer(address="127.0.0.1", port=OFFER_PORT), ring_timeout=0.3
        )
    assert info.value.status == 487
    result = await finish_sipp(process, tmp_path, time_limit=15)
    assert result.returncode == 0, result.explain()  # CANCEL seen, 487 ACKed
    assert endpoint.dialogs == []


@pytest.mark.parametrize("scenario", ["uas_auth.xml", "uas_proxy_auth.xml"], ids=["401", "407"])
async def test_digest_challenge_from_a_trunk_is_answered(
    endpoint: Endpoint, tmp_path: Path, scenario: str
) -> None:
    process, uri = await sipp_uas(tmp_path, scenario)
    dialog = await endpoint.invite(
        uri,
        build_offer(address="127.0.0.1", port=OFFER_PORT),
        credentials=DigestCredentials("alice", "s3cret"),
    )
    await dialog.bye()
    result = await finish_sipp(process, tmp_path, time_limit=15)
    assert result.returncode == 0, result.explain()


async def test_wrong_trunk_password_fails_with_the_trunks_status(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    process, uri = await sipp_uas(tmp_path, "uas_auth.xml")
    with pytest.raises(CallFailed) as info:
        await endpoint.invite(
            uri,
            build_offer(address="127.0.0.1", port=OFFER_PORT),
            credentials=DigestCredentials("alice", "wrong"),
        )
    assert info.value.status == 403
    await finish_sipp(process, tmp_path, time_limit=15)


async def test_cancelling_the_calling_task_sends_cancel(endpoint: Endpoint, tmp_path: Path) -> None:
    process, uri = await sipp_uas(tmp_path, "uas_ring_forever.xml")
    ringing = asyncio.Event()
    task = asyncio.create_task(
        endpoint.invite(
            uri,
            build_offer(address="127.0.0.1", port=OFFER_PORT),
            on_progress=lambda response: ringing.set(),
        )
    )
    await asyncio.wait_for(ringing.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    result = await finish_sipp(process, tmp_path, time_limit=15)
    assert result.returncode == 0, result.explain()  # CANCEL seen, 487 ACKed


class _Leg:
    """Holds its dialog and handles its events with bound methods, as the call layer's legs do."""

    def __init__(self, dialog: Dialog) -> None:
        self.dialog = dialog
        dialog.on_dtmf = self.digit
        dialog.on_terminated = self.ended

    def digit(self, dialog: Dialog, event: object) -> None:
        pass

    def ended(self, dialog: Dialog, reason: str) -> None:
        pass


async def test_an_ended_dialog_lets_go_of_its_handlers_so_no_cycle_outlives_the_call(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    process, uri = await sipp_uas(tmp_path, "builtin:uas")
    dialog = await endpoint.invite(uri, build_offer(address="127.0.0.1", port=OFFER_PORT))
    leg = _Leg(dialog)
    gc.disable()  # only reference counting may free the leg
    try:
        await dialog.bye()
        assert (dialog.on_dtmf, dialog.on_terminated) == (None, None)
        gone = weakref.ref(leg)
        del leg, dialog
        assert gone() is None
    finally:
        gc.enable()
    result = await finish_sipp(process, tmp_path, time_limit=15)
    assert result.returncode == 0, result.explain()
