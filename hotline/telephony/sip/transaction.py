"""The SIP transaction layer (RFC 3261 §17, with the RFC 6026 "Accepted" states).

Part of Hotline's hand-written SIP stack (no Python SIP library fits asyncio and production).
Four state machines, driven by received messages and `loop.call_later` timers (no task per
transaction, so thousands cost little):
- INVITE client (§17.1.1): timers A (retransmit, T1 doubling), B (64*T1 timeout), D (wait for
  final retransmissions), M (RFC 6026: absorb 2xx retransmissions, handed to the dialog so it
  re-sends its ACK); the ACK for a non-2xx final response is built here (§17.1.1.3); CANCEL
  (§9.1) is sent only after a provisional response, and the INVITE is given up 64*T1 later;
- non-INVITE client (§17.1.2): timers E (T1 doubling to T2), F (64*T1), K (T4);
- INVITE server (§17.2.1): 100 Trying at once, retransmitted INVITEs absorbed or answered with
  the last response, timers G (retransmit non-2xx final), H (wait for ACK), I, L (RFC 6026);
- non-INVITE server (§17.2.2): timer J, retransmissions answered with the last response.
Matching follows §17.1.3 and §17.2.3 (branch + sent-by + method; ACK matches its INVITE; the
RFC 2543 fallback for branches without the magic cookie). A CANCEL (§9.2) is answered here: 481
when it matches no INVITE, else 200, and 487 to the INVITE if it is still pending.

Timer defaults T1 = 0.5 s, T2 = 4 s, T4 = 5 s (§17.1.1.1); `Timers` makes them smaller for tests.
Over TCP there are no retransmissions and the waiting timers D, I, J, K are zero (§17.1.1.2).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from hotline.telephony.sip.errors import SipParseError, TransportError
from hotline.telephony.sip.message import (
    MAGIC_COOKIE,
    Headers,
    SipRequest,
    SipResponse,
    make_response,
    new_branch,
    new_tag,
)
from hotline.telephony.sip.transport import (
    UDP,
    Destination,
    Source,
    TcpConnection,
    TransportLayer,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timers:
    """RFC 3261 timer values, in seconds (§17.1.1.1, table 4). B, F, H, J, L and M are 64*T1."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0  # "at least 32 s" for unreliable transports

    @property
    def b(self) -> float:
        return 64 * self.t1

    @classmethod
    def scaled(cls, factor: float) -> Timers:
        """Every timer multiplied by `factor` (< 1 for tests)."""
        return cls(t1=0.5 * factor, t2=4.0 * factor, t4=5.0 * factor, d=32.0 * factor)


class State(Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class TransactionUser(Protocol):
    """The UA core above the transaction layer."""

    def request_received(
        self, request: SipRequest, transaction: ServerTransaction | None, source: Source
    ) -> None:
        """A new request (with its server transaction), or an ACK that matches none (for 2xx)."""

    def stray_response(self, response: SipResponse, source: Source) -> None:
        """A response that matches no client transaction (a late 2xx retransmission)."""

    def invite_cancelled(self, transaction: InviteServerTransaction, cancel: SipRequest) -> None:
        """A CANCEL matched a pending INVITE; the layer answers 487 to the INVITE right after."""

    def request_rejected(self, error: SipParseError, source: Source) -> None:
        """A malformed request arrived; the error names the status it deserves."""


ResponseCallback = Callable[[SipResponse], None]


def _server_key(request: SipRequest) -> tuple[str, ...]:
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return (branch, via.host.lower(), str(via.port or ""), method)
    # RFC 2543 peers (§17.2.3): match on the request's identifying fields instead.
    to_tag = request.to.tag if request.method != "ACK" else None
    return (
        "2543",
        str(request.uri),
        request.call_id,
        request.from_.tag or "",
        str(request.cseq.seq),
        to_tag or "",
        str(via),
        method,
    )


def _client_key(branch: str, method: str) -> tuple[str, str]:
    return (branch, "INVITE" if method == "ACK" else method)


# --- client transactions ------------------------------------------------------------------------


class ClientTransaction:
    """Common part of the client transactions. `final` resolves with the final response; on a
    timeout or a transport failure it resolves with a locally made 408 or 503 (§8.1.3.1)."""

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipRequest,
        destination: Destination,
        on_response: ResponseCallback | None,
    ) -> None:
        self.layer = layer
        self.request = request
        self.destination = destination
        self.on_response = on_response
        self.branch = request.top_via.branch or ""
        self.key = _client_key(self.branch, request.method)
        self.state = State.CALLING
        self.final: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self.last_response: SipResponse | None = None
        self.retransmissions = 0
        self._data = request.encode()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    @property
    def reliable(self) -> bool:
        return self.destination.transport != UDP

    def _start_timer(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer(name)
        self._timers[name] = self.layer.loop.call_later(delay, callback)

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _retransmit(self) -> None:
        self.retransmissions += 1
        self.layer.count(f"retransmitted_{self.request.method}")
        try:
            self.layer.transport.send_nowait(self._data, self.destination)
        except (TransportError, OSError) as exc:
            log.debug("retransmission failed: %s", exc)

    async def start(self) -> None:
        try:
            await self.layer.transport.send(self.request, self.destination)
        except (TransportError, OSError) as exc:
            log.info("cannot send %s to %s: %s", self.request.method, self.destination, exc)
            self._fail(503, "Service Unavailable (transport error)")
            return
        self._started()

    def _started(self) -> None:
        raise NotImplementedError

    def _fail(self, status: int, reason: str) -> None:
        """Timeout or transport error: give the TU a locally made final response."""
        response = make_response(self.request, status, reason)
        self._terminate()
        self._deliver(response)

    def _deliver(self, response: SipResponse) -> None:
        if response.status >= 200 and not self.final.done():
            self.final.set_result(response)
        if self.on_response is not None:
            try:
                self.on_response(response)
            except Exception:
                log.exception("response callback failed")

    def _terminate(self) -> None:
        self.state = State.TERMINATED
        for name in list(self._timers):
            self._cancel_timer(name)
        self.layer._remove_client(self)

    def receive(self, response: SipResponse) -> None:
        raise NotImplementedError


class InviteClientTransaction(ClientTransaction):
    """§17.1.1 plus RFC 6026's Accepted state."""

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipRequest,
        destination: Destination,
        on_response: ResponseCallback | None,
    ) -> None:
        super().__init__(layer, request, destination, on_response)
        self._cancel_wanted = False
        self._cancel_sent = False
        self._ack_data: bytes | None = None

    def _started(self) -> None:
        if self.state is not State.CALLING:
            return
        t = self.layer.timers
        if not self.reliable:
            self._schedule_a(t.t1)
        self._start_timer("B", t.b, self._timer_b)

    def _schedule_a(self, interval: float) -> None:
        def fire() -> None:
            if self.state is State.CALLING:
                self._retransmit()
                self._schedule_a(interval * 2)

        self._start_timer("A", interval, fire)

    def _timer_b(self) -> None:
        if self.state in (State.CALLING, State.PROCEEDING):
            self._fail(408, "Request Timeout")

    def receive(self, response: SipResponse) -> None:
        status = response.status
        if self.state in (State.CALLING, State.PROCEEDING):
            self.last_response = response
            if status < 200:
                self.state = State.PROCEEDING
                self._cancel_timer("A")
                self._deliver(response)
                if self._cancel_wanted and not self._cancel_sent:
                    self._send_cancel()
            elif status < 300:
                self.state = State.ACCEPTED
                self._cancel_timer("A")
                self._cancel_timer("B")
                self._cancel_timer("cancel")
                self._start_timer("M", 64 * self.layer.timers.t1, self._terminate)
                self._deliver(response)
            else:
                self.state = State.COMPLETED
                self._cancel_timer("A")
                self._cancel_timer("B")
                self._cancel_timer("cancel")
                self._send_ack(response)
                delay = 0.0 if self.reliable else self.layer.timers.d
                self._start_timer("D", delay, self._terminate)
                self._deliver(response)
        elif self.state is State.ACCEPTED:
            if 200 <= status < 300:
                self._deliver(response)  # the dialog re-sends its ACK
        elif self.state is State.COMPLETED and status >= 300 and self._ack_data is not None:
            self.layer.transport.send_nowait(self._ack_data, self.destination)

    def _send_ack(self, response: SipResponse) -> None:
        """The ACK for a non-2xx final response, part of this transaction (§17.1.1.3)."""
        original = self.request
        headers = Headers()
        headers.add("Via", original.headers.get("via") or "")
        for route in original.headers.get_all("route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", original.headers.get("from") or "")
        headers.add("To", response.headers.get("to") or "")
        headers.add("Call-ID", original.call_id)
        headers.add("CSeq", f"{original.cseq.seq} ACK")
        ack = SipRequest("ACK", original.uri.copy(), headers)
        self._ack_data = ack.encode()
        try:
            self.layer.transport.send_nowait(self._ack_data, self.destination)
        except (TransportError, OSError) as exc:
            log.debug("cannot send ACK: %s", exc)

    def cancel(self) -> None:
        """Ask to cancel (§9.1): sent once a provisional response has come; if the INVITE gets
        no final response within 64*T1 after that, it ends with a local 487."""
        if self.state in (State.ACCEPTED, State.COMPLETED, State.TERMINATED):
            return
        self._cancel_wanted = True
        if self.state is State.PROCEEDING and not self._cancel_sent:
            self._send_cancel()

    def _send_cancel(self) -> None:
        self._cancel_sent = True
        original = self.request
        headers = Headers()
        headers.add("Via", original.headers.get("via") or "")
        for route in original.headers.get_all("route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            headers.add(name, original.headers.get(name) or "")
        headers.add("CSeq", f"{original.cseq.seq} CANCEL")
        cancel = SipRequest("CANCEL", original.uri.copy(), headers)
        self.layer.spawn(self.layer.send_request(cancel, self.destination, add_via=False))
        self._start_timer("cancel", 64 * self.layer.timers.t1, self._cancel_expired)

    def _cancel_expired(self) -> None:
        if self.state in (State.CALLING, State.PROCEEDING):
            self._fail(487, "Request Terminated")


class NonInviteClientTransaction(ClientTransaction):
    """§17.1.2."""

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipRequest,
        destination: Destination,
        on_response: ResponseCallback | None,
    ) -> None:
        super().__init__(layer, request, destination, on_response)
        self.state = State.TRYING

    def _started(self) -> None:
        if self.state is not State.TRYING:
            return
        t = self.layer.timers
        if not self.reliable:
            self._schedule_e(t.t1)
        self._start_timer("F", t.b, self._timer_f)

    def _schedule_e(self, interval: float) -> None:
        def fire() -> None:
            if self.state in (State.TRYING, State.PROCEEDING):
                self._retransmit()
                nxt = self.layer.timers.t2 if self.state is State.PROCEEDING else interval * 2
                self._schedule_e(min(nxt, self.layer.timers.t2))

        self._start_timer("E", interval, fire)

    def _timer_f(self) -> None:
        if self.state in (State.TRYING, State.PROCEEDING):
            self._fail(408, "Request Timeout")

    def receive(self, response: SipResponse) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return  # Completed: retransmitted finals are absorbed
        self.last_response = response
        if response.status < 200:
            self.state = State.PROCEEDING
            self._deliver(response)
            return
        self.state = State.COMPLETED
        self._cancel_timer("E")
        self._cancel_timer("F")
        self._start_timer("K", 0.0 if self.reliable else self.layer.timers.t4, self._terminate)
        self._deliver(response)


# --- server transactions ------------------------------------------------------------------------


class ServerTransaction:
    """Common part of the server transactions. The TU answers with `respond` / `reply`.

    Once a transaction has answered for good, it keeps only what re-sending needs (the bytes and
    where they go): at 1,000 requests a second, 64*T1 = 32 s of finished transactions must stay
    small."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, source: Source) -> None:
        self.layer = layer
        self._request: SipRequest | None = request
        self.source = source
        self.key = _server_key(request)
        self.method = request.method
        self.state = State.TRYING
        self.last_status: int | None = None
        self.to_tag: str | None = None  # the tag the TU answers with (CANCEL's 200 reuses it)
        self.retransmissions = 0
        self._data: bytes | None = None
        self._route: TcpConnection | Destination | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}

    @property
    def request(self) -> SipRequest:
        if self._request is None:
            raise RuntimeError("the transaction has finished; its request was released")
        return self._request

    @property
    def reliable(self) -> bool:
        return self.source.transport != UDP

    @property
    def answered(self) -> bool:
        """A final response has been sent."""
        return self.last_status is not None and self.last_status >= 200

    def _start_timer(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer(name)
        self._timers[name] = self.layer.loop.call_later(delay, callback)

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _send(self, response: SipResponse) -> None:
        transport = self.layer.transport
        self.last_status = response.status
        try:
            self._route = transport.response_route(response, self.source)
        except SipParseError as exc:  # our own response: not expected
            log.error("cannot route a %d response: %s", response.status, exc)
            return
        self._data = response.encode()
        transport.send_routed(self._data, self._route)

    def _resend(self) -> None:
        if self._data is not None and self._route is not None:
            self.retransmissions += 1
            self.layer.count(f"resent_{self.last_status}")
            self.layer.transport.send_routed(self._data, self._route)

    def _release(self) -> None:
        self._request = None

    def _terminate(self) -> None:
        self.state = State.TERMINATED
        for name in list(self._timers):
            self._cancel_timer(name)
        self._release()
        self.layer._remove_server(self)

    def respond(self, response: SipResponse) -> None:
        raise NotImplementedError

    def reply(
        self,
        status: int,
        reason: str | None = None,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipResponse:
        """Build a response to this transaction's request (with its To tag) and send it."""
        request = self.request
        if self.to_tag is None and status > 100 and request.to.tag is None:
            self.to_tag = new_tag()
        response = make_response(
            request,
            status,
            reason,
            to_tag=self.to_tag,
            headers=headers or [],
            body=body,
            content_type=content_type,
        )
        self.respond(response)
        return response

    def receive(self, request: SipRequest) -> None:
        raise NotImplementedError


class InviteServerTransaction(ServerTransaction):
    """§17.2.1 plus RFC 6026's Accepted state."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, source: Source) -> None:
        super().__init__(layer, request, source)
        self.state = State.PROCEEDING
        self.cancelled = False

    def start(self) -> None:
        self.reply(100)  # §17.2.1: at once rather than after 200 ms; cheap and stops A

    def respond(self, response: SipResponse) -> None:
        if self.state is not State.PROCEEDING:
            if self.state is State.ACCEPTED and 200 <= response.status < 300:
                self.layer.transport.send_response(response, self.source)  # a 2xx re-send
            return
        if self._request is None:
            return
        self._send(response)
        if response.status < 200:
            return
        self._release()
        t = self.layer.timers
        if response.status < 300:
            self.state = State.ACCEPTED
            self._start_timer("L", 64 * t.t1, self._terminate)
            return
        self.state = State.COMPLETED
        if not self.reliable:
            self._schedule_g(t.t1)
        self._start_timer("H", 64 * t.t1, self._timer_h)

    def _schedule_g(self, interval: float) -> None:
        def fire() -> None:
            if self.state is State.COMPLETED:
                self._resend()
                self._schedule_g(min(interval * 2, self.layer.timers.t2))

        self._start_timer("G", interval, fire)

    def _timer_h(self) -> None:
        if self.state is State.COMPLETED:
            log.info("no ACK for the final response to an INVITE (key %s)", self.key[0])
            self._terminate()

    def receive(self, request: SipRequest) -> None:
        if request.method == "ACK":
            if self.state is State.COMPLETED:
                self.state = State.CONFIRMED
                self._cancel_timer("G")
                self._cancel_timer("H")
                self._start_timer(
                    "I", 0.0 if self.reliable else self.layer.timers.t4, self._terminate
                )
            elif self.state is State.ACCEPTED:
                # An ACK for the 2xx that reused the INVITE's branch: it belongs to the dialog.
                self.layer.user.request_received(request, None, self.source)
            return
        # A retransmitted INVITE.
        if self.state in (State.PROCEEDING, State.COMPLETED):
            self._resend()


class NonInviteServerTransaction(ServerTransaction):
    """§17.2.2."""

    def respond(self, response: SipResponse) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return
        self._send(response)
        if response.status < 200:
            self.state = State.PROCEEDING
            return
        self.state = State.COMPLETED
        self._release()
        self._start_timer("J", 0.0 if self.reliable else 64 * self.layer.timers.t1, self._terminate)

    def receive(self, request: SipRequest) -> None:
        if self.state in (State.PROCEEDING, State.COMPLETED):
            self._resend()


# --- the layer ---------------------------------------------------------------------------------


class TransactionLayer:
    """Matches messages to transactions and creates them; sits on a `TransportLayer`."""

    def __init__(
        self, transport: TransportLayer, user: TransactionUser, timers: Timers | None = None
    ) -> None:
        self.transport = transport
        self.user = user
        self.timers = timers or Timers()
        self.loop = asyncio.get_running_loop()
        self.client: dict[tuple[str, str], ClientTransaction] = {}
        self.server: dict[tuple[str, ...], ServerTransaction] = {}
        self._tasks: set[asyncio.Task[object]] = set()
        self.stats: dict[str, int] = {}
        transport.user = self

    def count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    def spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for tx in list(self.client.values()):
            tx._terminate()
        for stx in list(self.server.values()):
            stx._terminate()
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    # --- from the transport --------------------------------------------------------------

    def message_received(self, message: SipRequest | SipResponse, source: Source) -> None:
        try:
            if isinstance(message, SipRequest):
                self._request(message, source)
            else:
                self._response(message, source)
        except SipParseError as exc:
            # A header the parser let through but a typed view refused (e.g. a To tag read for
            # RFC 2543 matching): answer it like any malformed request.
            if isinstance(message, SipRequest) and message.method != "ACK":
                self.user.request_rejected(
                    SipParseError(exc.status, exc.reason, message=message), source
                )

    def message_rejected(self, error: SipParseError, source: Source) -> None:
        self.user.request_rejected(error, source)

    def _request(self, request: SipRequest, source: Source) -> None:
        key = _server_key(request)
        existing = self.server.get(key)
        if existing is not None:
            existing.receive(request)
            return
        if request.method == "ACK":
            self.user.request_received(request, None, source)
            return
        if request.method == "CANCEL":
            self._cancel(request, source)
            return
        tx: ServerTransaction
        if request.method == "INVITE":
            invite = InviteServerTransaction(self, request, source)
            self.server[key] = invite
            invite.start()
            tx = invite
        else:
            tx = NonInviteServerTransaction(self, request, source)
            self.server[key] = tx
        self.user.request_received(request, tx, source)

    def _cancel(self, cancel: SipRequest, source: Source) -> None:
        """§9.2: 481 if the CANCEL matches no INVITE; else 200 to it, then 487 to the INVITE
        unless it was already answered (the TU hears of it first)."""
        tx = NonInviteServerTransaction(self, cancel, source)
        self.server[tx.key] = tx
        invite_key = (*tx.key[:-1], "INVITE")
        invite = self.server.get(invite_key)
        if not isinstance(invite, InviteServerTransaction):
            tx.reply(481)
            return
        tx.to_tag = invite.to_tag
        tx.reply(200)
        if invite.state is State.PROCEEDING and not invite.cancelled:
            invite.cancelled = True
            try:
                self.user.invite_cancelled(invite, cancel)
            finally:
                if invite.state is State.PROCEEDING:
                    invite.reply(487)

    def _response(self, response: SipResponse, source: Source) -> None:
        branch = response.top_via.branch or ""
        tx = self.client.get(_client_key(branch, response.cseq.method))
        if tx is None:
            self.user.stray_response(response, source)
            return
        tx.receive(response)

    # --- for the TU ----------------------------------------------------------------------

    async def send_request(
        self,
        request: SipRequest,
        destination: Destination,
        *,
        on_response: ResponseCallback | None = None,
        add_via: bool = True,
    ) -> ClientTransaction:
        """Start a client transaction: adds our Via (with a new branch) unless told not to
        (CANCEL reuses the INVITE's), sends, and returns the transaction. ACK is not a
        transaction: use `send_ack`."""
        if add_via:
            request.headers.add(
                "Via", str(self.transport.via(destination.transport, new_branch())), first=True
            )
        tx: ClientTransaction
        if request.method == "INVITE":
            tx = InviteClientTransaction(self, request, destination, on_response)
        else:
            tx = NonInviteClientTransaction(self, request, destination, on_response)
        self.client[tx.key] = tx
        await tx.start()
        return tx

    async def send_ack(self, ack: SipRequest, destination: Destination) -> bytes:
        """Send an ACK for a 2xx (a transaction of its own, §17.1.1.3 / §13.2.2.4); returns the
        bytes so the dialog can re-send them on each 2xx retransmission."""
        ack.headers.add(
            "Via", str(self.transport.via(destination.transport, new_branch())), first=True
        )
        await self.transport.send(ack, destination)
        return ack.encode()

    def _remove_client(self, tx: ClientTransaction) -> None:
        if self.client.get(tx.key) is tx:
            del self.client[tx.key]

    def _remove_server(self, tx: ServerTransaction) -> None:
        if self.server.get(tx.key) is tx:
            del self.server[tx.key]
