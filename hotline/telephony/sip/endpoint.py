"""The SIP endpoint: Hotline's user agent core (RFC 3261 §8, §12-§15) and its async API.

Part of Hotline's hand-written SIP stack (no Python SIP library fits asyncio and production).
The live call path sits on this class:
- inbound calls arrive as `IncomingCall`s handed to `on_invite`; the handler rings (180, or
  183 with early-media SDP), answers with an SDP answer (200, giving a `Dialog`), or rejects;
- outbound calls (agents' phones, callbacks, trunks) are `await endpoint.invite(uri, offer)`,
  which returns a `Dialog` or raises `CallFailed` with the final status; digest challenges are
  answered with the given credentials, and a ring timeout or a cancelled task sends CANCEL;
- REGISTER goes to the `Registrar`, OPTIONS is answered with Allow/Accept/Supported (§11).

What the core checks on every request, in the order of §8.2: the source is not banned
(`SourceGuard`), Max-Forwards 0 gets 483 (OPTIONS excepted: we are its final recipient,
§16.3 item 3), an unknown method gets 501 and a known one we do not allow gets 405 with Allow
(§8.2.1), a merged request (same From tag, Call-ID and CSeq as a pending transaction but another
branch) gets 482 (§8.2.2.2), Require with an extension we lack gets 420 (§8.2.2.3), a request for
a dialog we do not know gets 481 (§12.2.2), a body we cannot read gets 415 (§8.2.3). Past
`max_calls` inbound calls in progress, a new INVITE gets 503 with Retry-After (never silence).
Malformed requests get the status their defect deserves (400, 413, 416, 505), sent back to the
address they came from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from hotline.core.settings import Settings
from hotline.telephony.sip.auth import DigestCredentials
from hotline.telephony.sip.dialog import SDP, Dialog, DialogState, Role, authorization_for
from hotline.telephony.sip.errors import CallFailed, SdpError, SipParseError, TransportError
from hotline.telephony.sip.message import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Headers,
    NameAddr,
    SipRequest,
    SipResponse,
    SipUri,
    make_response,
    new_call_id,
    new_tag,
)
from hotline.telephony.sip.registrar import Registrar
from hotline.telephony.sip.sdp import SessionDescription, answerer_session, negotiate
from hotline.telephony.sip.security import CallAdmission, SourceGuard
from hotline.telephony.sip.transaction import (
    InviteClientTransaction,
    InviteServerTransaction,
    ServerTransaction,
    Timers,
    TransactionLayer,
)
from hotline.telephony.sip.transport import (
    UDP,
    Destination,
    Source,
    TransportConfig,
    TransportLayer,
)

log = logging.getLogger(__name__)

BASE_METHODS = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO")
# Methods we know of but do not serve: 405 with Allow rather than 501 (§8.2.1).
KNOWN_METHODS = frozenset(
    {"REGISTER", "SUBSCRIBE", "NOTIFY", "REFER", "UPDATE", "PRACK", "MESSAGE", "PUBLISH"}
)
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset()


def mask_user(user: str | None) -> str:
    """A caller's number for INFO logs: enough to tell calls apart, not the whole number."""
    if not user:
        return "?"
    if len(user) <= 4:
        return "*" * len(user)
    return user[:2] + "*" * (len(user) - 4) + user[-2:]


@dataclass
class EndpointConfig:
    """Settings of one SIP endpoint. `advertised_host` is what peers see (Via, Contact, SDP):
    a setting, never guessed, because behind NAT only the operator knows it."""

    bind_host: str = "127.0.0.1"
    port: int = 5060
    advertised_host: str = "127.0.0.1"
    advertised_port: int | None = None
    udp: bool = True
    tcp: bool = True
    domain: str | None = None  # host part of our From URIs; default: advertised_host
    user_agent: str = "Hotline"
    max_calls: int = 200  # inbound calls ringing or answered; beyond: 503
    retry_after: int = 30  # seconds, in 503s
    ring_timeout: float = 300.0  # an inbound call not answered by then gets 480
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    # Longer than the longest registration: a phone behind NAT is reached only over its own
    # connection, which must outlive the quiet time between its REGISTERs.
    tcp_idle_timeout: float = 3900.0
    timers: Timers = field(default_factory=Timers)
    symmetric: bool = True  # in-dialog requests to a caller go where its INVITE came from
    registrar_enabled: bool = True  # REGISTER served when a Registrar is given

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> EndpointConfig:
        values: dict[str, Any] = {
            "bind_host": "0.0.0.0",
            "port": settings.sip_port,
            "advertised_host": settings.advertised_address,
        }
        values.update(overrides)
        return cls(**values)


InviteHandler = Callable[["IncomingCall"], Awaitable[None] | None]
ProgressHandler = Callable[[SipResponse], None]


class IncomingCall:
    """An inbound INVITE waiting for the layer above to ring, answer or reject it."""

    def __init__(
        self,
        endpoint: Endpoint,
        tx: InviteServerTransaction,
        request: SipRequest,
        source: Source,
        offer: SessionDescription | None,
    ) -> None:
        self.endpoint = endpoint
        self.tx = tx
        self.request = request
        self.source = source
        self.offer = offer
        self.local_tag = new_tag()
        tx.to_tag = self.local_tag
        self.trunk: str | None = None  # the trunk it came from, if admitted by address
        self.user: str | None = None  # the authenticated user, if admitted by digest
        self.cancelled = asyncio.Event()
        self.dialog: Dialog | None = None
        self.final_status: int | None = None
        self._ring_timer: asyncio.TimerHandle | None = None

    @property
    def call_id(self) -> str:
        return self.request.call_id

    @property
    def caller(self) -> NameAddr:
        return self.request.from_

    @property
    def called(self) -> SipUri:
        """The Request-URI: the number or line that was dialled."""
        return self.request.uri

    @property
    def pending(self) -> bool:
        return self.final_status is None

    def _check_pending(self) -> None:
        if self.cancelled.is_set():
            raise CallFailed(487, "Request Terminated")
        if self.final_status is not None:
            raise CallFailed(500, "Call already answered or rejected")

    def _dialog_headers(self) -> list[tuple[str, str]]:
        headers = [("Contact", f"<{self.endpoint.contact_uri(self.source.transport)}>")]
        headers.extend(("Record-Route", rr) for rr in self.request.headers.get_all("record-route"))
        return headers

    def ring(self, *, early_media: SessionDescription | None = None) -> None:
        """180 Ringing, or 183 Session Progress carrying an SDP answer for early media (prompts
        before the answer); that answer is final for the offer, so `answer()` must repeat it."""
        self._check_pending()
        if early_media is None:
            self.tx.reply(180, headers=self._dialog_headers())
        else:
            self.tx.reply(
                183,
                headers=self._dialog_headers(),
                body=early_media.encode(),
                content_type=SDP,
            )

    def answer(self, answer: SessionDescription) -> Dialog:
        """200 OK with our SDP answer: the dialog starts (its 2xx is re-sent until ACKed)."""
        self._check_pending()
        media = answerer_session(self.offer, answer) if self.offer is not None else None
        request = self.request
        contact = request.contacts
        if not contact or contact[0].uri is None:
            raise CallFailed(400, "INVITE has no usable Contact")
        endpoint = self.endpoint
        dialog = Dialog(
            endpoint,
            role=Role.UAS,
            call_id=request.call_id,
            local=request.to.without_tag(),
            remote=request.from_.without_tag(),
            local_tag=self.local_tag,
            remote_tag=request.from_.tag or "",
            remote_target=contact[0].uri,
            route_set=list(request.record_routes),
            local_cseq=0,
            remote_cseq=request.cseq.seq,
            transport=self.source.transport,
            peer=self.source.destination if endpoint.config.symmetric else None,
        )
        dialog.local_sdp = answer
        dialog.remote_sdp = self.offer
        dialog.media = media
        dialog.trunk, dialog.user = self.trunk, self.user
        response = make_response(
            request,
            200,
            to_tag=self.local_tag,
            headers=[*self._dialog_headers(), *endpoint.capability_headers()],
            body=answer.encode(),
            content_type=SDP,
        )
        self._finish(200)
        endpoint._add_dialog(dialog)
        self.tx.respond(response)
        dialog.start_2xx(response, self.source, request.cseq.seq)
        self.dialog = dialog
        return dialog

    def reject(
        self,
        status: int = 486,
        reason: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """A final non-2xx answer (486 busy, 480 unavailable, 603 decline, 488 no codec...)."""
        if not 300 <= status <= 699:
            raise ValueError("reject needs a 3xx-6xx status")
        if self.final_status is not None or self.cancelled.is_set():
            return
        self._finish(status)
        self.tx.reply(status, reason, headers=list(headers))

    async def wait_cancelled(self) -> None:
        await self.cancelled.wait()

    def _finish(self, status: int) -> None:
        self.final_status = status
        if self._ring_timer is not None:
            self._ring_timer.cancel()
        self.endpoint._incoming.pop(self.tx.key, None)

    def _on_cancel(self) -> None:
        self.cancelled.set()
        self._finish(487)
        log.info("call %s cancelled by the caller", self.call_id)

    def _ring_timeout(self) -> None:
        if self.pending:
            log.info("call %s not answered in time", self.call_id)
            self.reject(480, "No Answer")


class _OutgoingCall:
    """State of one outgoing INVITE while it is pending (2xx handling may fork)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        target: SipUri,
        local: NameAddr,
        destination: Destination,
        credentials: DigestCredentials | None,
        on_progress: ProgressHandler | None,
        explicit_destination: bool,
    ) -> None:
        self.endpoint = endpoint
        self.target = target
        self.local = local
        self.local_tag = new_tag()
        self.call_id = new_call_id(endpoint.domain)
        self.destination = destination
        self.credentials = credentials
        self.on_progress = on_progress
        self.explicit_destination = explicit_destination
        self.cseq = 1
        self.auth: list[tuple[str, str]] = []
        self.dialog: Dialog | None = None
        self.abandoned = False

    def on_response(self, response: SipResponse) -> None:
        if response.status < 200:
            if self.on_progress is not None and response.status > 100:
                try:
                    self.on_progress(response)
                except Exception:
                    log.exception("progress handler failed")
            return
        if response.status >= 300:
            return
        tag = response.to.tag or ""
        if self.dialog is None:
            self.dialog = self._dialog_from(response)
            self.endpoint._add_dialog(self.dialog)
            self.dialog.ack_2xx(response, response.cseq.seq, self.auth)
            if self.abandoned:
                self.endpoint.spawn(self.dialog.bye())
        elif tag == self.dialog.remote_tag:
            self.dialog.ack_2xx(response, response.cseq.seq, self.auth)
        else:
            # A second 2xx from a fork (§13.2.2.4): confirm it, then hang it up.
            extra = self._dialog_from(response)
            extra.ack_2xx(response, response.cseq.seq, self.auth)
            self.endpoint._add_dialog(extra)
            self.endpoint.spawn(extra.bye())

    def _dialog_from(self, response: SipResponse) -> Dialog:
        try:
            contacts = response.contacts
        except SipParseError:
            contacts = []
        target = contacts[0].uri if contacts and contacts[0].uri is not None else self.target
        remote_tag = response.to.tag or ""
        remote = response.to.without_tag()
        local = NameAddr(uri=self.local.uri, display_name=self.local.display_name)
        return Dialog(
            self.endpoint,
            role=Role.UAC,
            call_id=self.call_id,
            local=local,
            remote=remote,
            local_tag=self.local_tag,
            remote_tag=remote_tag,
            remote_target=target,
            route_set=list(reversed(response.record_routes)),
            local_cseq=response.cseq.seq,
            remote_cseq=None,
            transport=self.destination.transport,
            peer=self.destination if self.explicit_destination else None,
            credentials=self.credentials,
        )


class Endpoint:
    """One SIP endpoint: transport, transactions, dialogs, and the handlers of the layer above."""

    def __init__(
        self,
        config: EndpointConfig | None = None,
        *,
        registrar: Registrar | None = None,
        admission: CallAdmission | None = None,
        guard: SourceGuard | None = None,
    ) -> None:
        self.config = config or EndpointConfig()
        self.registrar = registrar
        self.admission = admission
        self.guard = guard
        self.on_invite: InviteHandler | None = None
        self.stats: dict[str, int] = {}
        self._dialogs: dict[tuple[str, str, str], Dialog] = {}
        self._answered = 0  # dialogs of ours as UAS: answered inbound calls
        self._incoming: dict[tuple[str, ...], IncomingCall] = {}
        self._recent: OrderedDict[tuple[str, str, int], tuple[tuple[str, ...], str, float]] = (
            OrderedDict()
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._housekeeping: asyncio.Task[None] | None = None
        self._transport: TransportLayer | None = None
        self._transactions: TransactionLayer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        self._loop = asyncio.get_running_loop()
        transport = TransportLayer(
            TransportConfig(
                bind_host=config.bind_host,
                port=config.port,
                advertised_host=config.advertised_host,
                advertised_port=config.advertised_port,
                udp=config.udp,
                tcp=config.tcp,
                max_message_size=config.max_message_size,
                tcp_idle_timeout=config.tcp_idle_timeout,
            )
        )
        if self.guard is not None:
            transport.accept_source = self.guard.allowed
        self._transactions = TransactionLayer(transport, self, config.timers)
        self._transport = transport
        await transport.start()
        if self.admission is None and config.bind_host not in ("127.0.0.1", "::1", "localhost"):
            log.warning(
                "SIP endpoint on %s admits every inbound INVITE: give it a CallAdmission "
                "(trunk addresses, digest) before exposing it",
                config.bind_host,
            )
        self._housekeeping = asyncio.create_task(self._housekeep())

    async def close(self, *, hangup_timeout: float = 2.0) -> None:
        """Hang up calls still up (bounded wait), then close sockets and timers."""
        live = [d for d in self._dialogs.values() if d.state is DialogState.CONFIRMED]
        if live:
            byes = [asyncio.create_task(d.bye()) for d in live]
            await asyncio.wait(byes, timeout=hangup_timeout)
            for task in byes:
                task.cancel()
        for dialog in list(self._dialogs.values()):
            dialog._terminate("shutdown")
        for call in list(self._incoming.values()):
            call.reject(503, headers=[("Retry-After", str(self.config.retry_after))])
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        if self._transactions is not None:
            await self._transactions.close()
        if self._transport is not None:
            await self._transport.close()

    async def __aenter__(self) -> Endpoint:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise TransportError("endpoint not started")
        return self._loop

    @property
    def transport(self) -> TransportLayer:
        if self._transport is None:
            raise TransportError("endpoint not started")
        return self._transport

    @property
    def transactions(self) -> TransactionLayer:
        if self._transactions is None:
            raise TransportError("endpoint not started")
        return self._transactions

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return self.transport.port

    @property
    def domain(self) -> str:
        return self.config.domain or self.config.advertised_host

    def contact_uri(self, transport: str = UDP, user: str | None = "hotline") -> SipUri:
        return self.transport.contact_uri(user, transport)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a coroutine we own a reference to (cancelled on close)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SIP task failed", exc_info=task.exception())

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.registrar is not None:
                self.registrar.expire()
            self._purge_recent()

    def _count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    # --- capability ------------------------------------------------------------------------

    def allowed_methods(self) -> tuple[str, ...]:
        if self.registrar is not None and self.config.registrar_enabled:
            return (*BASE_METHODS, "REGISTER")
        return BASE_METHODS

    def allow_header(self) -> str:
        return ", ".join(self.allowed_methods())

    def capability_headers(self) -> list[tuple[str, str]]:
        """Allow, Accept and Supported: what OPTIONS answers advertise (§11.2)."""
        return [
            ("Allow", self.allow_header()),
            ("Accept", "application/sdp, application/dtmf-relay, application/dtmf"),
            ("Supported", ", ".join(sorted(SUPPORTED_EXTENSIONS))),
            ("User-Agent", self.config.user_agent),
        ]

    # --- calls -----------------------------------------------------------------------------

    @property
    def dialogs(self) -> list[Dialog]:
        return list(self._dialogs.values())

    @property
    def inbound_calls(self) -> int:
        """Inbound calls in progress: ringing plus answered (what `max_calls` bounds). Counted
        as dialogs come and go: every INVITE asks, with hundreds of calls up."""
        return len(self._incoming) + self._answered

    def _add_dialog(self, dialog: Dialog) -> None:
        replaced = self._dialogs.get(dialog.id)
        if replaced is not None and replaced.role is Role.UAS:
            self._answered -= 1
        self._dialogs[dialog.id] = dialog
        if dialog.role is Role.UAS:
            self._answered += 1

    def _dialog_ended(self, dialog: Dialog) -> None:
        if self._dialogs.get(dialog.id) is dialog:
            del self._dialogs[dialog.id]
            if dialog.role is Role.UAS:
                self._answered -= 1

    def find_dialog(self, call_id: str, local_tag: str, remote_tag: str) -> Dialog | None:
        return self._dialogs.get((call_id, local_tag, remote_tag))

    # --- from the transaction layer ----------------------------------------------------------

    def request_rejected(self, error: SipParseError, source: Source) -> None:
        """A malformed request: answer it at the address it came from."""
        request = error.partial
        if not isinstance(request, SipRequest) or request.method == "ACK":
            return
        self._count(f"rejected_{error.status}")
        log.debug("malformed %s from %s: %s", request.method, source.host, error.reason)
        response = make_response(request, error.status, error.reason)
        if error.status == 416:
            response.headers.add("Accept", "sip, sips")
        with contextlib.suppress(TransportError, OSError):
            data = response.encode()
            if source.connection is not None and not source.connection.closed:
                source.connection.write(data)
            else:
                self.transport.send_nowait(data, source.destination)

    def stray_response(self, response: SipResponse, source: Source) -> None:
        """A 2xx to INVITE re-sent after its transaction ended: ACK it again."""
        if not 200 <= response.status < 300 or response.cseq.method != "INVITE":
            return
        dialog = self._dialogs.get(
            (response.call_id, response.from_.tag or "", response.to.tag or "")
        )
        if dialog is not None:
            dialog.ack_2xx(response, response.cseq.seq, [])

    def invite_cancelled(self, transaction: InviteServerTransaction, cancel: SipRequest) -> None:
        call = self._incoming.get(transaction.key)
        if call is not None:
            call._on_cancel()

    def request_received(
        self, request: SipRequest, transaction: ServerTransaction | None, source: Source
    ) -> None:
        try:
            self._route(request, transaction, source)
        except SipParseError as exc:
            if transaction is not None and not transaction.answered:
                transaction.reply(exc.status, exc.reason)

    def _route(self, request: SipRequest, tx: ServerTransaction | None, source: Source) -> None:
        method = request.method
        if tx is None:  # an ACK for a 2xx
            to_tag = request.to.tag or ""
            dialog = self._dialogs.get((request.call_id, to_tag, request.from_.tag or ""))
            if dialog is not None:
                dialog.ack_received(request)
            return
        self._count(f"request_{method}")
        if request.max_forwards == 0 and method != "OPTIONS":
            tx.reply(483)
            return
        if method not in self.allowed_methods():
            if method in KNOWN_METHODS:
                tx.reply(405, headers=[("Allow", self.allow_header())])
            else:
                tx.reply(501)
            return
        unsupported = [r for r in request.header_tokens("require") if r not in SUPPORTED_EXTENSIONS]
        if unsupported:
            tx.reply(420, headers=[("Unsupported", ", ".join(unsupported))])
            return
        in_dialog_tag = request.to.tag
        if in_dialog_tag is not None:
            dialog = self._dialogs.get((request.call_id, in_dialog_tag, request.from_.tag or ""))
            if dialog is None:
                tx.reply(481)
                return
            dialog.handle_request(request, tx)
            return
        if self._merged(request, tx):
            tx.reply(482)
            return
        if method == "OPTIONS":
            tx.reply(200, headers=self.capability_headers())
        elif method == "INVITE":
            assert isinstance(tx, InviteServerTransaction)
            self._incoming_invite(request, tx, source)
        elif method == "REGISTER":
            assert self.registrar is not None
            self.spawn(self._register(request, tx, source))
        else:  # BYE, INFO outside any dialog
            tx.reply(481)

    def _merged(self, request: SipRequest, tx: ServerTransaction) -> bool:
        """§8.2.2.2: same From tag, Call-ID and CSeq as a transaction still in progress, but
        another transaction (the same request reached us twice, by two paths)."""
        key = (request.from_.tag or "", request.call_id, request.cseq.seq)
        seen = self._recent.get(key)
        if (
            seen is not None
            and seen[0] != tx.key
            and seen[0] in self.transactions.server
            and seen[1] == request.method
        ):
            return True
        self._recent[key] = (tx.key, request.method, time.monotonic())
        if len(self._recent) > 10_000:
            self._recent.popitem(last=False)
        return False

    def _purge_recent(self) -> None:
        cutoff = time.monotonic() - 64 * self.config.timers.t1
        while self._recent:
            key, (_, _, when) = next(iter(self._recent.items()))
            if when > cutoff:
                break
            del self._recent[key]

    async def _register(self, request: SipRequest, tx: ServerTransaction, source: Source) -> None:
        assert self.registrar is not None
        response = await self.registrar.handle(request, source)
        tx.respond(response)

    def _incoming_invite(
        self, request: SipRequest, tx: InviteServerTransaction, source: Source
    ) -> None:
        if self.inbound_calls >= self.config.max_calls:
            self._count("overload_503")
            tx.reply(503, "Too many calls", headers=[("Retry-After", str(self.config.retry_after))])
            return
        if request.body and request.content_type != SDP:
            tx.reply(415, headers=[("Accept", SDP)])
            return
        offer = None
        if request.body:
            try:
                offer = SessionDescription.parse(request.body)
            except SdpError as exc:
                tx.reply(400, f"Malformed SDP: {exc.reason}")
                return
        if not request.contacts:
            tx.reply(400, "Missing Contact header")
            return
        call = IncomingCall(self, tx, request, source, offer)
        self._incoming[tx.key] = call
        call._ring_timer = self.loop.call_later(self.config.ring_timeout, call._ring_timeout)
        self.spawn(self._run_invite(call))

    async def _run_invite(self, call: IncomingCall) -> None:
        try:
            if self.admission is not None:
                decision = await self.admission.admit(call.request, call.source.host)
                if not decision.admitted:
                    call.reject(decision.status, headers=decision.headers)
                    return
                call.trunk, call.user = decision.trunk, decision.user
            # DEBUG: the handler logs the call once it knows more (its line, its contact).
            log.debug(
                "incoming call %s from %s to %s (trunk %s, user %s)",
                call.call_id,
                mask_user(call.caller.uri.user if call.caller.uri else None),
                mask_user(call.called.user),
                call.trunk or "-",
                call.user or "-",
            )
            if self.on_invite is None:
                call.reject(480, "No handler")
                return
            result = self.on_invite(call)
            if result is not None:
                await result
        except SdpError as exc:
            call.reject(exc.status if exc.status >= 400 else 488, exc.reason)
        except CallFailed as exc:
            if call.pending and not call.cancelled.is_set():
                call.reject(exc.status if exc.status >= 300 else 500, exc.reason)
        except Exception:
            log.exception("INVITE handler failed for %s", call.call_id)
            call.reject(500)

    # --- outgoing --------------------------------------------------------------------------

    async def invite(
        self,
        target: SipUri | str,
        offer: SessionDescription,
        *,
        from_user: str = "hotline",
        from_display: str | None = None,
        destination: Destination | None = None,
        credentials: DigestCredentials | None = None,
        headers: Iterable[tuple[str, str]] = (),
        ring_timeout: float | None = None,
        on_progress: ProgressHandler | None = None,
    ) -> Dialog:
        """Call `target` with an SDP offer; the answered `Dialog` (with `media` negotiated).

        `destination` fixes the next hop (a registered phone's source address, a trunk's
        proxy); otherwise the target URI is resolved. Raises `CallFailed(status)` for any final
        non-2xx (487 after a ring timeout, 408 for no response, 503 for a transport failure,
        488 when the answer is unusable). Cancelling the awaiting task sends CANCEL."""
        target_uri = SipUri.parse(target) if isinstance(target, str) else target
        explicit = destination is not None
        if destination is None:
            destination = await self.transport.destination_for(target_uri)
        local = NameAddr(uri=SipUri(host=self.domain, user=from_user), display_name=from_display)
        call = _OutgoingCall(
            self,
            target=target_uri,
            local=local,
            destination=destination,
            credentials=credentials,
            on_progress=on_progress,
            explicit_destination=explicit,
        )
        try:
            return await self._invite(call, offer, list(headers), ring_timeout)
        except asyncio.CancelledError:
            # The caller gave up: a 2xx already in hangs up at once, a later one when it comes.
            call.abandoned = True
            if call.dialog is not None:
                self.spawn(call.dialog.bye())
            raise

    async def _invite(
        self,
        call: _OutgoingCall,
        offer: SessionDescription,
        extra: list[tuple[str, str]],
        ring_timeout: float | None,
    ) -> Dialog:
        deadline = None if ring_timeout is None else self.loop.time() + ring_timeout
        final: SipResponse | None = None
        for attempt in range(3):
            request = self._build_invite(call, offer, extra)
            tx = await self.transactions.send_request(
                request, call.destination, on_response=call.on_response
            )
            assert isinstance(tx, InviteClientTransaction)
            final = await self._await_final(tx, deadline)
            auth = (
                authorization_for(final, call.credentials, "INVITE", call.target, attempt=attempt)
                if call.credentials is not None and final.status in (401, 407)
                else None
            )
            if auth is None:
                break
            call.auth = [auth]
            call.cseq += 1
        assert final is not None
        if not 200 <= final.status < 300:
            raise CallFailed(final.status, final.reason)
        dialog = call.dialog
        assert dialog is not None
        await dialog.ack_sent(final.cseq.seq)
        try:
            answer = SessionDescription.parse(final.body)
            dialog.media = negotiate(offer, answer)
        except SdpError as exc:
            self.spawn(dialog.bye())
            raise CallFailed(488, f"Unusable SDP answer: {exc.reason}") from exc
        dialog.local_sdp, dialog.remote_sdp = offer, answer
        return dialog

    def _build_invite(
        self, call: _OutgoingCall, offer: SessionDescription, extra: list[tuple[str, str]]
    ) -> SipRequest:
        headers = Headers()
        headers.add("Max-Forwards", "70")
        headers.add("From", str(call.local.with_tag(call.local_tag)))
        headers.add("To", str(NameAddr(uri=call.target.copy())))
        headers.add("Call-ID", call.call_id)
        headers.add("CSeq", f"{call.cseq} INVITE")
        headers.add("Contact", f"<{self.contact_uri(call.destination.transport)}>")
        headers.add("Allow", self.allow_header())
        headers.add("User-Agent", self.config.user_agent)
        for name, value in [*extra, *call.auth]:
            headers.add(name, value)
        headers.add("Content-Type", SDP)
        return SipRequest("INVITE", call.target.copy(), headers, offer.encode())

    async def _await_final(
        self, tx: InviteClientTransaction, deadline: float | None
    ) -> SipResponse:
        try:
            if deadline is None:
                return await asyncio.shield(tx.final)
            remaining = max(0.0, deadline - self.loop.time())
            try:
                return await asyncio.wait_for(asyncio.shield(tx.final), remaining)
            except TimeoutError:
                tx.cancel()  # ring timeout: CANCEL (§9.1), then the 487 (or a racing 2xx)
                return await asyncio.shield(tx.final)
        except asyncio.CancelledError:
            tx.cancel()
            raise

    async def options(
        self, target: SipUri | str, *, destination: Destination | None = None
    ) -> SipResponse:
        """Send an OPTIONS ping (trunk health) and return the final response."""
        uri = SipUri.parse(target) if isinstance(target, str) else target
        if destination is None:
            destination = await self.transport.destination_for(uri)
        headers = Headers()
        headers.add("Max-Forwards", "70")
        local = NameAddr(uri=SipUri(host=self.domain, user="hotline"), params={"tag": new_tag()})
        headers.add("From", str(local))
        headers.add("To", str(NameAddr(uri=uri.copy())))
        headers.add("Call-ID", new_call_id(self.domain))
        headers.add("CSeq", "1 OPTIONS")
        headers.add("Accept", SDP)
        headers.add("User-Agent", self.config.user_agent)
        request = SipRequest("OPTIONS", uri.copy(), headers)
        tx = await self.transactions.send_request(request, destination)
        return await tx.final

    async def send_request(
        self,
        request: SipRequest,
        destination: Destination,
        *,
        credentials: DigestCredentials | None = None,
    ) -> SipResponse:
        """Send an out-of-dialog request (REGISTER to a provider...) and return its final
        response, answering digest challenges once (twice if the nonce was stale)."""
        response: SipResponse | None = None
        for attempt in range(3):
            copy = SipRequest(
                request.method, request.uri.copy(), request.headers.copy(), request.body
            )
            tx = await self.transactions.send_request(copy, destination)
            response = await tx.final
            if credentials is None or response.status not in (401, 407):
                break
            auth = authorization_for(
                response, credentials, request.method, request.uri, attempt=attempt
            )
            if auth is None:
                break
            request.headers.remove("Authorization")
            request.headers.remove("Proxy-Authorization")
            request.headers.add(*auth)
            cseq = request.cseq
            request.headers.set("CSeq", f"{cseq.seq + 1} {cseq.method}")
        assert response is not None
        return response
