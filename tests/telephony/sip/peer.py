"""A raw UDP/TCP peer on 127.0.0.1 for tests that need exact bytes on the wire: malformed
messages, retransmissions, silence. Every wait is bounded."""

from __future__ import annotations

import asyncio
import secrets

from hotline.telephony.sip.message import SipRequest, SipResponse, parse

LOOPBACK = "127.0.0.1"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait(data)


class UdpPeer:
    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Protocol) -> None:
        self.transport = transport
        self.protocol = protocol
        self.port: int = transport.get_extra_info("sockname")[1]

    @classmethod
    async def open(cls) -> UdpPeer:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            _Protocol, local_addr=(LOOPBACK, 0)
        )
        return cls(transport, protocol)

    def send(self, data: bytes, port: int) -> None:
        self.transport.sendto(data, (LOOPBACK, port))

    async def recv_raw(self, within: float = 2.0) -> bytes:
        return await asyncio.wait_for(self.protocol.queue.get(), within)

    async def recv(self, within: float = 2.0) -> SipRequest | SipResponse:
        return parse(await self.recv_raw(within))

    async def response(self, within: float = 2.0, *, skip_100: bool = True) -> SipResponse:
        while True:
            message = await self.recv(within)
            if isinstance(message, SipResponse) and not (skip_100 and message.status == 100):
                return message

    async def silent(self, within: float) -> bool:
        """True if nothing arrives within `within` seconds."""
        try:
            await asyncio.wait_for(self.protocol.queue.get(), within)
        except TimeoutError:
            return True
        return False

    def drain(self) -> list[bytes]:
        out = []
        while not self.protocol.queue.empty():
            out.append(self.protocol.queue.get_nowait())
        return out

    def close(self) -> None:
        self.transport.close()


def request(
    method: str,
    *,
    peer_port: int,
    target_port: int,
    branch: str | None = None,
    call_id: str | None = None,
    cseq: int = 1,
    from_tag: str = "peer1",
    to_tag: str | None = None,
    user: str = "service",
    headers: list[str] | None = None,
    body: bytes = b"",
    transport: str = "UDP",
    via_host: str = LOOPBACK,
) -> bytes:
    """A well-formed request from the raw peer; `headers` are added (or replace by name)."""
    branch = branch or "z9hG4bK" + secrets.token_hex(6)
    call_id = call_id or secrets.token_hex(8)
    to = f"<sip:{user}@{LOOPBACK}:{target_port}>" + (f";tag={to_tag}" if to_tag else "")
    base = {
        "Via": f"SIP/2.0/{transport} {via_host}:{peer_port};branch={branch}",
        "Max-Forwards": "70",
        "From": f"<sip:peer@{LOOPBACK}:{peer_port}>;tag={from_tag}",
        "To": to,
        "Call-ID": call_id,
        "CSeq": f"{cseq} {method}",
        "Contact": f"<sip:peer@{LOOPBACK}:{peer_port}>",
    }
    extra: list[str] = []
    for line in headers or []:
        name, _, value = line.partition(":")
        if name in base:
            if value.strip() == "":
                del base[name]
            else:
                base[name] = value.strip()
        else:
            extra.append(line)
    lines = [f"{method} sip:{user}@{LOOPBACK}:{target_port} SIP/2.0"]
    lines += [f"{k}: {v}" for k, v in base.items()] + extra
    if not any(line.lower().startswith("content-length") for line in extra):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
