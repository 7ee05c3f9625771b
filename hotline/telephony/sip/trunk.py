"""SIP trunks: the connections to carriers that bring callers in and take callbacks out.

Part of Hotline's hand-written SIP stack (no Python SIP library fits asyncio and production).
A trunk is configured, not discovered (docs/sip.md shows how):
- inbound, a carrier is recognised by its source addresses (an IP list / CIDR blocks: the
  usual arrangement with a carrier) and/or by digest credentials it presents (RFC 3261 §22);
- outbound, INVITEs go to the carrier's proxy with our account's credentials, answering its
  401/407 challenges (§22.2, §22.3);
- when the carrier wants it, Hotline registers its contact there (§10.2) and refreshes the
  registration before it expires, keeping Call-ID and raising CSeq (§10.2.4), backing off on
  failure and honouring 423 Min-Expires; `stop()` unregisters (Expires: 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotline.telephony.sip.auth import DigestCredentials, InMemoryCredentialStore
from hotline.telephony.sip.dialog import Dialog
from hotline.telephony.sip.endpoint import Endpoint, ProgressHandler
from hotline.telephony.sip.errors import SipParseError, TransportError
from hotline.telephony.sip.message import (
    Headers,
    NameAddr,
    SipRequest,
    SipResponse,
    SipUri,
    new_call_id,
    new_tag,
)
from hotline.telephony.sip.sdp import SessionDescription
from hotline.telephony.sip.security import TrunkSource
from hotline.telephony.sip.transport import TCP, UDP, Destination

log = logging.getLogger(__name__)


@dataclass
class TrunkConfig:
    """One carrier connection. Secrets come from the secrets source, never from logs."""

    name: str
    # Inbound: calls from these addresses/networks are this trunk's; and/or the carrier
    # authenticates with this account (digest, realm of the endpoint).
    inbound_addresses: tuple[str, ...] = ()
    inbound_username: str | None = None
    inbound_password: str | None = field(default=None, repr=False)
    # Outbound: where INVITEs (and REGISTERs) go, and our account there.
    proxy: str | None = None  # "host" or "host:port"
    transport: str = "udp"
    domain: str | None = None  # the carrier's SIP domain (Request-URI host); default: proxy host
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    realm: str | None = None  # None: answer any realm the carrier names
    caller_id: str | None = None  # user part of our From for outbound calls
    register: bool = False
    register_expires: int = 600

    @property
    def credentials(self) -> DigestCredentials | None:
        if self.username is None or self.password is None:
            return None
        return DigestCredentials(self.username, self.password, self.realm)

    @property
    def proxy_host_port(self) -> tuple[str, int | None]:
        if not self.proxy:
            raise ValueError(f"trunk {self.name}: no proxy configured")
        host, _, port = self.proxy.rpartition(":") if ":" in self.proxy else (self.proxy, "", "")
        return (host, int(port)) if port else (self.proxy, None)

    @property
    def sip_domain(self) -> str:
        return self.domain or self.proxy_host_port[0]


def trunk_sources(trunks: Iterable[TrunkConfig]) -> list[TrunkSource]:
    """What inbound admission needs to know of the trunks."""
    return [TrunkSource(t.name, t.inbound_addresses) for t in trunks if t.inbound_addresses]


def trunk_credential_store(realm: str, trunks: Iterable[TrunkConfig]) -> InMemoryCredentialStore:
    """The inbound digest accounts of the trunks (combine it with the users' store)."""
    store = InMemoryCredentialStore(realm)
    for trunk in trunks:
        if trunk.inbound_username and trunk.inbound_password:
            store.set_password(trunk.inbound_username, trunk.inbound_password)
    return store


class Trunk:
    """A configured carrier on an endpoint: outbound calls and, if asked, registration."""

    def __init__(self, endpoint: Endpoint, config: TrunkConfig) -> None:
        self.endpoint = endpoint
        self.config = config
        self.registration: OutboundRegistration | None = None

    async def destination(self) -> Destination:
        host, port = self.config.proxy_host_port
        transport = TCP if self.config.transport.lower() == "tcp" else UDP
        return await self.endpoint.transport.resolve(host, port, transport)

    def uri_for(self, number: str) -> SipUri:
        params: dict[str, str | None] = {}
        if self.config.transport.lower() == "tcp":
            params["transport"] = "tcp"
        return SipUri(host=self.config.sip_domain, user=number, params=params)

    async def call(
        self,
        number: str,
        offer: SessionDescription,
        *,
        ring_timeout: float | None = None,
        on_progress: ProgressHandler | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> Dialog:
        """Call `number` out through this trunk (callbacks); see `Endpoint.invite`."""
        dialog = await self.endpoint.invite(
            self.uri_for(number),
            offer,
            from_user=self.config.caller_id or self.config.username or "hotline",
            destination=await self.destination(),
            credentials=self.config.credentials,
            ring_timeout=ring_timeout,
            on_progress=on_progress,
            headers=headers,
        )
        dialog.trunk = self.config.name
        return dialog

    async def start(self) -> None:
        if self.config.register:
            if self.config.username is None:
                raise ValueError(f"trunk {self.config.name}: registration needs a username")
            self.registration = OutboundRegistration(
                self.endpoint,
                registrar=SipUri(host=self.config.sip_domain),
                user=self.config.username,
                credentials=self.config.credentials,
                destination=await self.destination(),
                expires=self.config.register_expires,
                name=self.config.name,
            )
            await self.registration.start()

    async def stop(self) -> None:
        if self.registration is not None:
            await self.registration.stop()


class OutboundRegistration:
    """Keeps our contact registered at a provider's registrar (RFC 3261 §10.2)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        registrar: SipUri,
        user: str,
        credentials: DigestCredentials | None,
        destination: Destination,
        expires: int = 600,
        refresh_ratio: float = 0.8,
        retry_seconds: Sequence[float] = (5.0, 15.0, 30.0, 60.0, 300.0),
        name: str = "trunk",
    ) -> None:
        self.endpoint = endpoint
        self.registrar = registrar
        self.aor = SipUri(host=registrar.host, user=user)
        self.credentials = credentials
        self.destination = destination
        self.expires = expires
        self.refresh_ratio = refresh_ratio
        self.retry_seconds = tuple(retry_seconds)
        self.name = name
        self.call_id = new_call_id(endpoint.domain)
        self.tag = new_tag()
        self.cseq = 0
        self.granted: int | None = None  # seconds the registrar gave us last time
        self.last_status: int | None = None
        self.registrations = 0  # successful REGISTERs (first one and refreshes)
        self.registered = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _request(self, expires: int) -> SipRequest:
        self.cseq += 1
        contact = self.endpoint.contact_uri(self.destination.transport, user=self.aor.user)
        headers = Headers()
        headers.add("Max-Forwards", "70")
        headers.add("From", str(NameAddr(uri=self.aor.copy(), params={"tag": self.tag})))
        headers.add("To", str(NameAddr(uri=self.aor.copy())))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{self.cseq} REGISTER")
        headers.add("Contact", f"<{contact}>")
        headers.add("Expires", str(expires))
        headers.add("User-Agent", self.endpoint.config.user_agent)
        return SipRequest("REGISTER", self.registrar.copy(), headers)

    async def register_once(self, expires: int | None = None) -> SipResponse:
        """One REGISTER (with its challenge round trip); updates `granted` on 200."""
        wanted = self.expires if expires is None else expires
        request = self._request(wanted)
        response = await self.endpoint.send_request(
            request, self.destination, credentials=self.credentials
        )
        # send_request raised CSeq for the authenticated retry; keep counting from there.
        self.cseq = request.cseq.seq
        self.last_status = response.status
        if response.status == 423:
            with contextlib.suppress(ValueError, TypeError):
                self.expires = max(self.expires, int(response.headers.get("min-expires") or 0))
        if 200 <= response.status < 300 and wanted > 0:
            self.granted = self._granted(response, wanted)
            self.registrations += 1
            self.registered.set()
        return response

    def _granted(self, response: SipResponse, wanted: int) -> int:
        contact = self.endpoint.contact_uri(self.destination.transport, user=self.aor.user)
        try:
            for value in response.contacts:
                if value.uri is not None and value.uri.same_binding(contact):
                    raw = value.params.get("expires")
                    if raw and raw.isascii() and raw.isdigit():
                        return int(raw)
            header = response.expires
        except SipParseError:
            header = None
        return header if header is not None else wanted

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                response = await self.register_once()
                ok = 200 <= response.status < 300
            except (TransportError, OSError) as exc:
                log.warning("registration of trunk %s failed: %s", self.name, exc)
                ok, response = False, None
            if ok and self.granted is not None:
                failures = 0
                delay = max(1.0, self.granted * self.refresh_ratio)
            elif response is not None and response.status == 423:
                delay = 0.0
            else:
                self.registered.clear()
                status = response.status if response is not None else "no answer"
                log.warning("trunk %s: registration refused (%s)", self.name, status)
                delay = self.retry_seconds[min(failures, len(self.retry_seconds) - 1)]
                failures += 1
            await asyncio.sleep(delay)

    async def stop(self, *, unregister: bool = True, time_limit: float = 5.0) -> None:
        """Stop refreshing and (by default) remove our binding with Expires: 0."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if unregister and self.registered.is_set():
            self.registered.clear()
            with contextlib.suppress(TransportError, OSError, TimeoutError):
                await asyncio.wait_for(self.register_once(0), time_limit)

    def describe(self) -> dict[str, Any]:
        return {
            "trunk": self.name,
            "registered": self.registered.is_set(),
            "granted": self.granted,
            "last_status": self.last_status,
        }
