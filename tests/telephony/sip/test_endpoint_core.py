"""What the UA core owes every request (RFC 3261 §8.2, §12.2.2, §18.2): statuses for malformed
or unwanted requests, sent over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from hotline.telephony.sip.endpoint import Endpoint, IncomingCall
from hotline.telephony.sip.message import SipResponse
from hotline.telephony.sip.sdp import build_answer
from tests.telephony.sip.conftest import config
from tests.telephony.sip.peer import UdpPeer, request

SDP_OFFER = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


@pytest_asyncio.fixture(loop_scope="function")
async def peer() -> AsyncIterator[UdpPeer]:
    peer = await UdpPeer.open()
    yield peer
    peer.close()


async def ask(peer: UdpPeer, endpoint: Endpoint, data: bytes) -> SipResponse:
    peer.send(data, endpoint.port)
    return await peer.response()


async def status_line(peer: UdpPeer, endpoint: Endpoint, data: bytes) -> tuple[int, str]:
    """Status and reason of the answer, read from the raw bytes: a response to a request that
    lacked a mandatory header lacks it too, so it need not parse."""
    peer.send(data, endpoint.port)
    while True:
        raw = await peer.recv_raw()
        version, status, reason = raw.split(b"\r\n", 1)[0].decode().split(" ", 2)
        assert version == "SIP/2.0"
        if status != "100":
            return int(status), reason


def req(peer: UdpPeer, endpoint: Endpoint, method: str = "OPTIONS", **kwargs: object) -> bytes:
    return request(method, peer_port=peer.port, target_port=endpoint.port, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        (["Call-ID:"], 400, "Missing Call-ID header"),
        (["CSeq: 1 INVITE"], 400, "CSeq method does not match request method"),
        (["Max-Forwards: many"], 400, "Malformed Max-Forwards header"),
        (["Content-Length: 50"], 400, "Content-Length larger than message body"),
        (["Max-Forwards: 0"], 200, "OK"),  # OPTIONS: we are its final recipient
    ],
)
async def test_options_with_a_defect_gets_the_status_naming_it(
    endpoint: Endpoint, peer: UdpPeer, headers: list[str], status: int, reason: str
) -> None:
    answer = await status_line(peer, endpoint, req(peer, endpoint, headers=headers))
    assert answer == (status, reason)


async def test_unsupported_version_is_505(endpoint: Endpoint, peer: UdpPeer) -> None:
    data = req(peer, endpoint).replace(b" SIP/2.0\r\n", b" SIP/3.0\r\n", 1)
    assert (await ask(peer, endpoint, data)).status == 505


async def test_tel_request_uri_is_416(endpoint: Endpoint, peer: UdpPeer) -> None:
    data = req(peer, endpoint).replace(b"OPTIONS sip:", b"OPTIONS tel:", 1)
    assert (await ask(peer, endpoint, data)).status == 416


async def test_message_over_the_size_limit_is_413(peer: UdpPeer) -> None:
    async with Endpoint(config(max_message_size=1500)) as endpoint:
        data = req(peer, endpoint, "INFO", body=b"x" * 2000)
        assert (await ask(peer, endpoint, data)).status == 413


async def test_garbage_gets_no_answer(endpoint: Endpoint, peer: UdpPeer) -> None:
    peer.send(b"\x16\x03\x01 hello, is this TLS?\r\n\r\n", endpoint.port)
    assert await peer.silent(0.3)


async def test_invite_with_max_forwards_zero_is_483(endpoint: Endpoint, peer: UdpPeer) -> None:
    data = req(peer, endpoint, "INVITE", headers=["Max-Forwards: 0"])
    assert (await ask(peer, endpoint, data)).status == 483


async def test_unknown_method_is_501_and_known_unserved_one_is_405(
    endpoint: Endpoint, peer: UdpPeer
) -> None:
    assert (await ask(peer, endpoint, req(peer, endpoint, "FROB"))).status == 501
    response = await ask(peer, endpoint, req(peer, endpoint, "SUBSCRIBE"))
    assert response.status == 405
    assert response.header_tokens("allow") == ["invite", "ack", "cancel", "bye", "options", "info"]


async def test_requests_for_unknown_dialogs_are_481(endpoint: Endpoint, peer: UdpPeer) -> None:
    assert (await ask(peer, endpoint, req(peer, endpoint, "BYE"))).status == 481
    data = req(peer, endpoint, "INFO", to_tag="nosuchdialog")
    assert (await ask(peer, endpoint, data)).status == 481
    assert (await ask(peer, endpoint, req(peer, endpoint, "CANCEL"))).status == 481


async def test_required_extension_we_lack_is_420_with_unsupported(
    endpoint: Endpoint, peer: UdpPeer
) -> None:
    response = await ask(peer, endpoint, req(peer, endpoint, headers=["Require: 100rel, foo"]))
    assert response.status == 420
    assert response.header_tokens("unsupported") == ["100rel", "foo"]


async def test_merged_request_with_another_branch_is_482(endpoint: Endpoint, peer: UdpPeer) -> None:
    first = req(peer, endpoint, call_id="merged", cseq=7)
    assert (await ask(peer, endpoint, first)).status == 200
    second = req(peer, endpoint, call_id="merged", cseq=7)  # same From tag, new branch
    assert (await ask(peer, endpoint, second)).status == 482


async def test_invite_with_a_body_that_is_not_sdp_is_415(endpoint: Endpoint, peer: UdpPeer) -> None:
    data = req(peer, endpoint, "INVITE", headers=["Content-Type: text/plain"], body=b"hi")
    response = await ask(peer, endpoint, data)
    assert response.status == 415
    assert response.headers.get("accept") == "application/sdp"


async def test_offer_without_a_common_codec_is_488(endpoint: Endpoint, peer: UdpPeer) -> None:
    async def handler(call: IncomingCall) -> None:
        assert call.offer is not None
        answer, _ = build_answer(call.offer, address="127.0.0.1", port=30000)
        call.answer(answer)

    endpoint.on_invite = handler
    offer = SDP_OFFER.replace(b"RTP/AVP 0", b"RTP/AVP 18").replace(b"0 PCMU", b"18 G729")
    data = req(peer, endpoint, "INVITE", headers=["Content-Type: application/sdp"], body=offer)
    assert (await ask(peer, endpoint, data)).status == 488


async def test_response_goes_to_rport_with_received_when_via_lies(
    endpoint: Endpoint, peer: UdpPeer
) -> None:
    """RFC 3581: a peer behind NAT writes its private address; the answer still reaches it."""
    data = req(peer, endpoint, via_host="10.9.8.7").replace(b";branch=", b";rport;branch=", 1)
    response = await ask(peer, endpoint, data)
    via = response.top_via
    assert via.params["received"] == "127.0.0.1"
    assert via.params["rport"] == str(peer.port)


async def test_without_rport_the_response_goes_to_the_sent_by_port(
    endpoint: Endpoint, peer: UdpPeer
) -> None:
    """§18.2.2: no rport, so received address and the port in Via's sent-by."""
    other = await UdpPeer.open()
    try:
        data = req(peer, endpoint).replace(
            f"127.0.0.1:{peer.port};branch".encode(), f"127.0.0.1:{other.port};branch".encode(), 1
        )
        peer.send(data, endpoint.port)
        response = await other.response()
        assert response.status == 200
        assert await peer.silent(0.1)
    finally:
        other.close()


async def test_retransmitted_request_is_answered_again_but_handled_once(
    endpoint: Endpoint, peer: UdpPeer
) -> None:
    data = req(peer, endpoint)
    first = await ask(peer, endpoint, data)
    again = await ask(peer, endpoint, data)
    assert first.encode() == again.encode()
    assert endpoint.stats["request_OPTIONS"] == 1
