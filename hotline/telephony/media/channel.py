"""The control channel between the control process and a media worker.

A Unix `SOCK_SEQPACKET` socket pair: each message is one datagram, so a message is never read half
way and neither side ever blocks on the other (both sockets are non-blocking and served by the
event loop's reader). Messages are compact JSON arrays: safe to decode (unlike pickle), cheap for
the few hundred messages a second a busy worker exchanges, and readable in a trace.

- command, control -> worker: `[request_id, op, {args}]`
- reply, worker -> control: `["r", request_id, {result}]` or `["x", request_id, code, message]`
- event, worker -> control: `["e", kind, endpoint_id, {data}]`"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Message = list[Any]

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
MAX_MESSAGE = 1 << 17


def encode(message: Message) -> bytes:
    return _encoder.encode(message).encode()


def decode(data: bytes) -> Message:
    value = json.loads(data)
    if not isinstance(value, list) or not value:
        raise ValueError("a control message is a non-empty JSON array")
    return value


def socket_pair() -> tuple[socket.socket, socket.socket]:
    """The two ends of a new control channel (control's end first)."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


class Channel:
    """One end of the control channel on an event loop: `send` never blocks (messages wait in a
    queue while the peer is slow), `on_message` is called for each message received, `on_closed`
    once when the peer has gone."""

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[Message], None],
        on_closed: Callable[[], None],
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._loop = loop
        self._on_message = on_message
        self._on_closed = on_closed
        self._backlog: deque[bytes] = deque()
        self._closed = False
        loop.add_reader(sock.fileno(), self._readable)

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, message: Message) -> None:
        if self._closed:
            return
        data = encode(message)
        if len(data) > MAX_MESSAGE:
            raise ValueError(f"control message too large ({len(data)} bytes)")
        if self._backlog:
            self._backlog.append(data)
            return
        try:
            self._sock.send(data)
        except BlockingIOError:
            self._backlog.append(data)
            self._loop.add_writer(self._sock.fileno(), self._writable)
        except OSError:
            self._close()

    def _writable(self) -> None:
        while self._backlog:
            try:
                self._sock.send(self._backlog[0])
            except BlockingIOError:
                return
            except OSError:
                self._close()
                return
            self._backlog.popleft()
        self._loop.remove_writer(self._sock.fileno())

    def _readable(self) -> None:
        for _ in range(256):  # bounded, so a chatty peer cannot starve the packet loop
            try:
                data = self._sock.recv(MAX_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                self._close()
                return
            if not data:
                self._close()
                return
            try:
                message = decode(data)
            except ValueError:
                log.warning("dropping a malformed control message (%d bytes)", len(data))
                continue
            self._on_message(message)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        if self._backlog:
            self._loop.remove_writer(self._sock.fileno())
            self._backlog.clear()
        self._sock.close()
        self._on_closed()

    def close(self) -> None:
        """Close this end; `on_closed` is called as for a peer that went away."""
        self._close()
