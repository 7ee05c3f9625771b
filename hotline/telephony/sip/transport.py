"""SIP transports: UDP and TCP on asyncio (RFC 3261 §18, RFC 3581).

Part of Hotline's hand-written SIP stack (no Python SIP library fits asyncio and production).
What this layer does:
- binds UDP and TCP on one configured address and port (tests: 127.0.0.1, port 0 = any free one);
- puts the *advertised* address, a setting, in Via (never guessed from interfaces: behind NAT the
  operator states the public address);
- on a received request, adds `received` to the top Via when the source differs from sent-by and
  fills `rport` (§18.2.1, RFC 3581 §4); drops responses whose top Via is not ours (§18.1.2);
- sends responses where §18.2.2 says: on the request's TCP connection while it is open, otherwise
  to `received`:`rport` / `received`:sent-by-port / sent-by (RFC 3581 §4);
- frames TCP by Content-Length (§18.3), answers RFC 5626 CRLF keep-alive pings, reuses
  connections to the same peer for later requests, and closes idle ones;
- hands malformed requests (with the status they deserve) up so that a 400/413/505 goes back,
  and drops what cannot be answered.

Not implemented: TLS and SIPS, RFC 3263 DNS SRV/NAPTR (a host name is resolved with A/AAAA and
port 5060 by default), and the switch to TCP for UDP requests over 1300 bytes (§18.1.1): Hotline's
messages are small; Kamailio in front is the answer for TLS (see docs/sip.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from hotline.telephony.sip.errors import SipParseError, TransportError
from hotline.telephony.sip.message import (
    DEFAULT_MAX_MESSAGE_SIZE,
    SipMessage,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    find_header_end,
    parse,
    parse_content_length,
)

log = logging.getLogger(__name__)

UDP = "UDP"
TCP = "TCP"
DEFAULT_PORT = 5060
UDP_BUFFER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Destination:
    """Where to send: transport and IP address/port (already resolved)."""

    transport: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport.lower()}:{self.host}:{self.port}"


@dataclass(frozen=True)
class Source:
    """Where a message came from; for TCP, the connection it arrived on."""

    transport: str
    host: str
    port: int
    connection: TcpConnection | None = field(default=None, compare=False, hash=False)

    @property
    def destination(self) -> Destination:
        return Destination(self.transport, self.host, self.port)


class TransportUser(Protocol):
    """The layer above (transactions): receives parsed messages and rejected requests."""

    def message_received(self, message: SipRequest | SipResponse, source: Source) -> None: ...

    def message_rejected(self, error: SipParseError, source: Source) -> None: ...


@dataclass
class TransportConfig:
    bind_host: str = "127.0.0.1"
    port: int = DEFAULT_PORT  # 0: any free port, the same number for UDP and TCP
    advertised_host: str = "127.0.0.1"
    advertised_port: int | None = None  # default: the bound port
    udp: bool = True
    tcp: bool = True
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    # Longer than the longest registration: a phone behind NAT is reached only over its own
    # connection, which must outlive the quiet time between its REGISTERs.
    tcp_idle_timeout: float = 3900.0
    tcp_connect_timeout: float = 5.0
    max_tcp_connections: int = 2048


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class TcpConnection:
    """One TCP connection, inbound or outbound, with its framing read loop."""

    def __init__(
        self,
        layer: TransportLayer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        remote: tuple[str, int],
    ) -> None:
        self.layer = layer
        self.reader = reader
        self.writer = writer
        self.remote = remote
        self.last_used = time.monotonic()
        self.closed = False
        self.task: asyncio.Task[None] | None = None

    def write(self, data: bytes) -> None:
        if self.closed or self.writer.is_closing():
            raise TransportError("TCP connection closed", remote=f"{self.remote[0]}")
        self.last_used = time.monotonic()
        self.writer.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()
            self.layer._forget(self)

    async def read_loop(self) -> None:
        source = Source(TCP, self.remote[0], self.remote[1], self)
        limit = self.layer.config.max_message_size
        buffer = b""
        try:
            while not self.closed:
                chunk = await self.reader.read(65536)
                if not chunk:
                    break
                self.last_used = time.monotonic()
                buffer += chunk
                while True:
                    # RFC 5626 §3.5.1: a double-CRLF ping gets a CRLF pong; stray CRLFs are skipped.
                    stripped = buffer.lstrip(b"\r\n")
                    if stripped is not buffer and len(buffer) - len(stripped) >= 4:
                        self.write(b"\r\n")
                    buffer = stripped
                    end, sep = find_header_end(buffer)
                    if end < 0:
                        if len(buffer) > limit:
                            log.info("TCP peer %s sent an oversized header, closing", source.host)
                            self.close()
                        break
                    length = _content_length(buffer[:end])
                    if length is None:
                        # Missing or broken Content-Length: the stream cannot be framed. Answer
                        # the request (the parser says why) and close.
                        self.layer._deliver(buffer[: end + sep], source, stream=True)
                        self.close()
                        return
                    total = end + sep + length
                    if total > limit:
                        self.layer._deliver(buffer[: end + sep], source, stream=False)
                        self.close()
                        return
                    if len(buffer) < total:
                        break
                    self.layer._deliver(buffer[:total], source, stream=True)
                    buffer = buffer[total:]
        except (ConnectionError, OSError, TransportError):
            pass
        finally:
            self.close()


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            try:
                return parse_content_length(value.decode("ascii", "replace"))
            except SipParseError:
                return None
    return None


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, layer: TransportLayer) -> None:
        self.layer = layer

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.layer._deliver(data, Source(UDP, addr[0], addr[1]), stream=False)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the transaction's timers deal with the silence.
        log.debug("UDP error: %s", exc)


class TransportLayer:
    """UDP and TCP sockets of one SIP endpoint."""

    def __init__(self, config: TransportConfig, user: TransportUser | None = None) -> None:
        self.config = config
        self.user = user
        self.port = config.port
        self.accept_source: Callable[[str], bool] = lambda host: True
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], TcpConnection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        attempts = 20 if self.config.port == 0 else 1
        for attempt in range(attempts):
            try:
                await self._bind(loop)
                break
            except OSError as exc:
                await self._close_sockets()
                if attempt == attempts - 1:
                    raise TransportError(
                        f"cannot bind SIP port {self.config.bind_host}:{self.config.port}: {exc}"
                    ) from exc
        if self.config.tcp:
            self._sweeper = asyncio.create_task(self._sweep_idle())
        log.info(
            "SIP listening on %s:%d (%s), advertising %s:%d",
            self.config.bind_host,
            self.port,
            "+".join(t for t, on in ((UDP, self.config.udp), (TCP, self.config.tcp)) if on),
            self.config.advertised_host,
            self.advertised_port,
        )

    async def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        port = self.config.port
        if self.config.udp:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.config.bind_host, port)
            )
            self._udp = transport
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # Room for bursts (the kernel caps it at net.core.rmem_max / wmem_max): a full
                # buffer drops datagrams, which then cost a 500 ms retransmission.
                for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER_BYTES)
            port = transport.get_extra_info("sockname")[1]
        if self.config.tcp:
            self._server = await asyncio.start_server(
                self._accepted, self.config.bind_host, port, reuse_address=True
            )
            port = self._server.sockets[0].getsockname()[1]
        self.port = port

    async def _close_sockets(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in list(self._connections.values()):
            connection.close()
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        if self._server is not None:
            self._server.close()
        await self._close_sockets()

    @property
    def advertised_port(self) -> int:
        return self.config.advertised_port or self.port

    def via(self, transport: str, branch: str) -> Via:
        """Our Via for a request we send: advertised sent-by, a branch, and `rport` asked for."""
        return Via(
            transport=transport,
            host=self.config.advertised_host,
            port=self.advertised_port,
            params={"branch": branch, "rport": None},
        )

    def contact_uri(self, user: str | None = None, transport: str = UDP) -> SipUri:
        params: dict[str, str | None] = {}
        if transport != UDP:
            params["transport"] = transport.lower()
        return SipUri(
            host=self.config.advertised_host, user=user, port=self.advertised_port, params=params
        )

    # --- receiving -------------------------------------------------------------------------

    def _deliver(self, data: bytes, source: Source, *, stream: bool) -> None:
        if not self.accept_source(source.host):
            return
        if not data.strip(b"\r\n \t\x00"):
            return  # keep-alive
        try:
            message = parse(data, stream=stream, max_size=self.config.max_message_size)
        except SipParseError as exc:
            partial = exc.partial
            if isinstance(partial, SipRequest) and partial.method != "ACK" and self.user:
                self.user.message_rejected(exc, source)
            else:
                log.debug("dropped a malformed message from %s: %s", source.host, exc.reason)
            return
        if isinstance(message, SipRequest):
            self._stamp_via(message, source)
        elif not self._via_is_ours(message):
            log.debug("dropped a response whose Via is not ours, from %s", source.host)
            return
        if self.user is not None:
            self.user.message_received(message, source)

    def _stamp_via(self, request: SipRequest, source: Source) -> None:
        via = request.top_via
        changed = False
        if via.host.strip("[]") != source.host or "rport" in via.params:
            via.params["received"] = source.host
            changed = True
        if "rport" in via.params:
            via.params["rport"] = str(source.port)
            changed = True
        if changed:
            request.headers.replace_first("via", str(via))

    def _via_is_ours(self, response: SipResponse) -> bool:
        via = response.top_via
        return via.host == self.config.advertised_host and (via.port or DEFAULT_PORT) == (
            self.advertised_port
        )

    # --- sending ---------------------------------------------------------------------------

    async def send(self, message: SipMessage, destination: Destination) -> None:
        """Send a request (or a response to a fixed place); opens a TCP connection if needed."""
        data = message.encode()
        if destination.transport == UDP:
            self._sendto(data, destination)
            return
        connection = self._connections.get((destination.host, destination.port))
        if connection is None or connection.closed:
            connection = await self._connect(destination)
        connection.write(data)

    def send_nowait(self, data: bytes, destination: Destination) -> None:
        """Send now if a path exists (UDP, or an open TCP connection): for retransmissions."""
        if destination.transport == UDP:
            self._sendto(data, destination)
            return
        connection = self._connections.get((destination.host, destination.port))
        if connection is not None and not connection.closed:
            connection.write(data)

    def _sendto(self, data: bytes, destination: Destination) -> None:
        if self._udp is None or self._udp.is_closing():
            raise TransportError("UDP transport is not running")
        self._udp.sendto(data, (destination.host, destination.port))

    def send_response(self, response: SipResponse, source: Source | None = None) -> None:
        """Send a response where RFC 3261 §18.2.2 / RFC 3581 §4 say; never raises (a response
        that cannot be delivered is logged: the transaction's timers handle the rest)."""
        try:
            route = self.response_route(response, source)
            self.send_routed(response.encode(), route)
        except (TransportError, OSError, SipParseError) as exc:
            log.info("cannot send %d response: %s", response.status, exc)

    def response_route(
        self, response: SipResponse, source: Source | None
    ) -> TcpConnection | Destination:
        """Where a response goes: the request's TCP connection while it is open, else the
        address §18.2.2 / RFC 3581 derive from the top Via. Worked out once per transaction."""
        via = response.top_via
        if via.transport == TCP:
            connection = source.connection if source is not None else None
            if connection is not None and not connection.closed:
                return connection
        return self.response_destination(via)

    def send_routed(self, data: bytes, route: TcpConnection | Destination) -> None:
        """Send response bytes along a route from `response_route`; never raises."""
        try:
            if isinstance(route, TcpConnection):
                if not route.closed:
                    route.write(data)
                    return
                route = Destination(TCP, route.remote[0], route.remote[1])
            if route.transport == TCP:
                existing = self._connections.get((route.host, route.port))
                if existing is not None and not existing.closed:
                    existing.write(data)
                else:
                    self._spawn(self._connect_and_send(data, route))
            elif not is_ip(route.host):
                self._spawn(self._resolve_and_send(data, route))
            else:
                self._sendto(data, route)
        except (TransportError, OSError) as exc:
            log.info("cannot send a response to %s: %s", route, exc)

    def response_destination(self, via: Via) -> Destination:
        received = via.params.get("received")
        rport = via.params.get("rport")
        host = received or via.host
        if via.transport == UDP and rport:
            port = int(rport)
        else:
            port = via.port or DEFAULT_PORT
        return Destination(via.transport, host.strip("[]"), port)

    async def _connect_and_send(self, data: bytes, destination: Destination) -> None:
        try:
            connection = await self._connect(destination)
            connection.write(data)
        except TransportError as exc:
            log.info("cannot send a response to %s: %s", destination.host, exc)

    async def _resolve_and_send(self, data: bytes, destination: Destination) -> None:
        try:
            resolved = await self.resolve(destination.host, destination.port, destination.transport)
            self._sendto(data, resolved)
        except TransportError as exc:
            log.info("cannot send a response to %s: %s", destination.host, exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, destination: Destination) -> TcpConnection:
        if len(self._connections) >= self.config.max_tcp_connections:
            raise TransportError("too many TCP connections")
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(destination.host, destination.port),
                self.config.tcp_connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot connect to {destination}: {exc}") from exc
        key = (destination.host, destination.port)
        existing = self._connections.get(key)
        if existing is not None and not existing.closed:
            writer.close()  # another send connected meanwhile
            return existing
        return self._adopt(reader, writer, key)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if len(self._connections) >= self.config.max_tcp_connections or not self.accept_source(
            peer[0]
        ):
            writer.close()
            return
        self._adopt(reader, writer, (peer[0], peer[1]))

    def _adopt(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: tuple[str, int]
    ) -> TcpConnection:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = TcpConnection(self, reader, writer, key)
        self._connections[key] = connection
        connection.task = asyncio.create_task(connection.read_loop())
        self._tasks.add(connection.task)
        connection.task.add_done_callback(self._tasks.discard)
        return connection

    def _forget(self, connection: TcpConnection) -> None:
        if self._connections.get(connection.remote) is connection:
            del self._connections[connection.remote]

    async def _sweep_idle(self) -> None:
        period = max(0.05, min(30.0, self.config.tcp_idle_timeout / 2))
        while True:
            await asyncio.sleep(period)
            cutoff = time.monotonic() - self.config.tcp_idle_timeout
            for connection in list(self._connections.values()):
                if connection.last_used < cutoff:
                    connection.close()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # --- resolving -------------------------------------------------------------------------

    async def resolve(self, host: str, port: int | None, transport: str) -> Destination:
        """An IP destination for a host; names are looked up without blocking the loop (A/AAAA
        only: no SRV/NAPTR, see the module note)."""
        host = host.strip("[]")
        port = port or DEFAULT_PORT
        if is_ip(host):
            return Destination(transport, host, port)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            raise TransportError(f"cannot resolve {host}: {exc}") from exc
        if not infos:
            raise TransportError(f"cannot resolve {host}")
        return Destination(transport, str(infos[0][4][0]), port)

    async def destination_for(self, uri: SipUri) -> Destination:
        """The next hop for a request sent to `uri` (its `maddr` is not honoured)."""
        transport = TCP if uri.transport == "tcp" else UDP
        if transport == TCP and not self.config.tcp:
            raise TransportError("TCP is disabled")
        return await self.resolve(uri.host, uri.port, transport)
