"""TCP transport (RFC 3261 §18.3, RFC 5626 §3.5.1): framing by Content-Length, several
messages per segment and one message over several, keep-alive pings, broken framing."""

from __future__ import annotations

import asyncio

from hotline.telephony.sip.endpoint import Endpoint
from hotline.telephony.sip.message import SipResponse, find_header_end, parse
from tests.telephony.sip.peer import LOOPBACK, request


async def read_message(reader: asyncio.StreamReader, within: float = 2.0) -> SipResponse:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), within)
    end, _ = find_header_end(head)
    length = 0
    for line in head[:end].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await asyncio.wait_for(reader.readexactly(length), within) if length else b""
    message = parse(head + body, stream=True)
    assert isinstance(message, SipResponse)
    return message


def options(port: int, local_port: int, cseq: int) -> bytes:
    return request(
        "OPTIONS", peer_port=local_port, target_port=port, cseq=cseq, call_id="tcp",
        transport="TCP",
    )  # fmt: skip


async def test_messages_are_framed_whatever_the_segments(endpoint: Endpoint) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, endpoint.port)
    local_port = writer.get_extra_info("sockname")[1]
    try:
        one, two, three = (options(endpoint.port, local_port, n) for n in (1, 2, 3))
        writer.write(b"\r\n" + one + two + three[:40])  # two and a half messages
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(three[40:])
        got = [await read_message(reader) for _ in range(3)]
        assert [(r.status, r.cseq.seq) for r in got] == [(200, 1), (200, 2), (200, 3)]
        assert endpoint.transport.connection_count == 1
    finally:
        writer.close()


async def test_double_crlf_ping_gets_a_crlf_pong(endpoint: Endpoint) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, endpoint.port)
    try:
        writer.write(b"\r\n\r\n")
        assert await asyncio.wait_for(reader.readexactly(2), 2) == b"\r\n"
    finally:
        writer.close()


async def test_missing_content_length_is_400_and_the_connection_closes(
    endpoint: Endpoint,
) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, endpoint.port)
    local_port = writer.get_extra_info("sockname")[1]
    try:
        data = options(endpoint.port, local_port, 1).replace(b"Content-Length: 0\r\n", b"")
        writer.write(data)
        response = await read_message(reader)
        assert (response.status, response.reason) == (
            400,
            "Missing Content-Length on a stream transport",
        )
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed
    finally:
        writer.close()
