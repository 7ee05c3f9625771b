"""The registrar where agents' SIP phones register (RFC 3261 §10.3).

Part of Hotline's hand-written SIP stack (no Python SIP library fits asyncio and production).
A REGISTER is authenticated by digest (see `auth`), the authenticated user must own the
address-of-record (the To URI's user part), and then its Contacts are applied atomically:
- the expiry of each contact is its `expires` parameter, else the Expires header, else the
  default; below the minimum it is a 423 with Min-Expires (§10.3 step 7), above the maximum it is
  shortened; 0 removes the binding; `Contact: *` with `Expires: 0` removes them all (§10.2.2);
- a binding refreshed from the same Call-ID must carry a higher CSeq, or the request fails (§10.3
  step 7); from another Call-ID it replaces the old one;
- a user may hold several contacts (several phones), up to a bound, the oldest going first;
- the 200 lists every live binding with its remaining time, and a Date (§10.3 step 8).
Each binding remembers where the REGISTER came from (address, port, transport and, for TCP, the
connection), because a phone behind NAT is reachable only there. `lookup(user)` gives the live
contacts for the call path; `on_change` tells it when a user's set changes (including expiry).
Unknown user and wrong password are answered alike (403); failures feed the `SourceGuard`.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate

from hotline.telephony.sip.auth import AuthOutcome, DigestAuthenticator
from hotline.telephony.sip.errors import SipParseError
from hotline.telephony.sip.message import NameAddr, SipRequest, SipResponse, SipUri, make_response
from hotline.telephony.sip.security import SourceGuard
from hotline.telephony.sip.transport import Destination, Source

log = logging.getLogger(__name__)


@dataclass
class RegistrarConfig:
    domains: tuple[str, ...] = ()  # domains we keep bindings for; empty: any
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts_per_user: int = 10
    require_auth: bool = True


@dataclass
class Binding:
    """One registered contact of a user."""

    user: str
    contact: NameAddr
    expires_at: float
    call_id: str
    cseq: int
    source: Source
    registered_at: float
    user_agent: str | None = None
    q: float = 1.0
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def uri(self) -> SipUri:
        assert self.contact.uri is not None
        return self.contact.uri

    @property
    def destination(self) -> Destination:
        """Where to send requests for this contact: where its REGISTER came from (NAT-safe)."""
        return self.source.destination

    def remaining(self, now: float) -> int:
        return max(0, int(self.expires_at - now + 0.5))


class Registrar:
    """Bindings of users to contacts, kept in memory (phones re-register after a restart)."""

    def __init__(
        self,
        config: RegistrarConfig | None = None,
        *,
        authenticator: DigestAuthenticator | None,
        guard: SourceGuard | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or RegistrarConfig()
        if self.config.require_auth and authenticator is None:
            raise ValueError("a registrar that requires authentication needs an authenticator")
        self.authenticator = authenticator
        self.guard = guard
        self.clock = clock
        self.on_change: Callable[[str, list[Binding]], None] | None = None
        self._bindings: dict[str, list[Binding]] = {}
        self._expiry: list[tuple[float, str]] = []

    # --- for the call path -----------------------------------------------------------------

    def lookup(self, user: str) -> list[Binding]:
        """The live contacts of `user`, best first (highest q, then most recent)."""
        self.expire()
        bindings = self._bindings.get(user, [])
        return sorted(bindings, key=lambda b: (-b.q, -b.registered_at))

    def users(self) -> list[str]:
        self.expire()
        return sorted(self._bindings)

    def expire(self) -> int:
        """Drop bindings past their time; returns how many went."""
        now = self.clock()
        removed = 0
        while self._expiry and self._expiry[0][0] <= now:
            _, user = heapq.heappop(self._expiry)
            bindings = self._bindings.get(user)
            if not bindings:
                continue
            live = [b for b in bindings if b.expires_at > now]
            if len(live) != len(bindings):
                removed += len(bindings) - len(live)
                self._store(user, live)
        return removed

    def _store(self, user: str, bindings: list[Binding]) -> None:
        if bindings:
            self._bindings[user] = bindings
        else:
            self._bindings.pop(user, None)
        if self.on_change is not None:
            try:
                self.on_change(user, list(bindings))
            except Exception:
                log.exception("registrar on_change callback failed")

    # --- REGISTER ------------------------------------------------------------------------------

    async def handle(self, request: SipRequest, source: Source) -> SipResponse:
        """Process one REGISTER and return the response to send."""
        try:
            return await self._handle(request, source)
        except SipParseError as exc:
            return make_response(request, exc.status, exc.reason)

    async def _handle(self, request: SipRequest, source: Source) -> SipResponse:
        config = self.config
        if config.domains and request.uri.host not in config.domains:
            return make_response(request, 404, "Domain not served here")
        to = request.to
        if to.uri is None or not to.uri.user:
            return make_response(request, 404, "No user in address-of-record")
        user = to.uri.user
        if config.require_auth and self.authenticator is not None:
            result = await self.authenticator.verify(request)
            if result.outcome is AuthOutcome.FAILED:
                self._failed(source)
                return make_response(request, 403)
            if result.outcome is not AuthOutcome.OK:
                stale = result.outcome is AuthOutcome.STALE
                return make_response(
                    request, 401, headers=self.authenticator.challenge_headers(stale=stale)
                )
            if result.username != user:
                # Authenticated, but not as the owner of this address-of-record.
                self._failed(source)
                return make_response(request, 403)
            if self.guard is not None:
                self.guard.record_success(source.host)
        self.expire()
        header_expires = request.expires
        if request.contact_is_star:
            if header_expires != 0 or len(request.headers.get_all("contact")) != 1:
                return make_response(request, 400, "Contact * needs Expires: 0 and no others")
            current = self._bindings.get(user, [])
            cseq, call_id = request.cseq.seq, request.call_id
            if any(b.call_id == call_id and cseq <= b.cseq for b in current):
                return make_response(request, 500, "Out of order CSeq")
            self._store(user, [])
            log.info("all contacts of %s unregistered", user)
            return self._ok(request, user)
        contacts = request.contacts
        if contacts:
            problem = self._apply(request, user, contacts, header_expires, source)
            if problem is not None:
                return problem
        return self._ok(request, user)

    def _failed(self, source: Source) -> None:
        if self.guard is not None:
            self.guard.record_failure(source.host)

    def _apply(
        self,
        request: SipRequest,
        user: str,
        contacts: list[NameAddr],
        header_expires: int | None,
        source: Source,
    ) -> SipResponse | None:
        """Apply every contact or none (§10.3 steps 6-7); a response when the request fails."""
        config = self.config
        now = self.clock()
        call_id, cseq = request.call_id, request.cseq.seq
        updated = list(self._bindings.get(user, []))
        changed: list[tuple[NameAddr, int]] = []
        for contact in contacts:
            if contact.uri is None:
                return make_response(request, 400, "Contact must be a SIP URI")
            raw = contact.params.get("expires")
            if raw is not None:
                if not raw.isascii() or not raw.isdigit():
                    return make_response(request, 400, "Malformed expires parameter")
                expires = int(raw)
            elif header_expires is not None:
                expires = header_expires
            else:
                expires = config.default_expires
            if 0 < expires < config.min_expires:
                return make_response(
                    request, 423, headers=[("Min-Expires", str(config.min_expires))]
                )
            changed.append((contact, min(expires, config.max_expires)))
        for contact, expires in changed:
            assert contact.uri is not None
            existing = next((b for b in updated if b.uri.same_binding(contact.uri)), None)
            if existing is not None:
                if existing.call_id == call_id and cseq <= existing.cseq:
                    return make_response(request, 500, "Out of order CSeq")
                updated.remove(existing)
            if expires == 0:
                continue
            params = {k: v for k, v in contact.params.items() if k != "expires"}
            q = _q_value(params.get("q"))
            updated.append(
                Binding(
                    user=user,
                    contact=NameAddr(uri=contact.uri, params=params),
                    expires_at=now + expires,
                    call_id=call_id,
                    cseq=cseq,
                    source=source,
                    registered_at=now,
                    user_agent=request.headers.get("user-agent"),
                    q=q,
                    params=params,
                )
            )
            heapq.heappush(self._expiry, (now + expires, user))
        while len(updated) > config.max_contacts_per_user:
            oldest = min(updated, key=lambda b: b.registered_at)
            updated.remove(oldest)
        self._store(user, updated)
        log.info("%s has %d registered contact(s)", user, len(updated))
        return None

    def _ok(self, request: SipRequest, user: str) -> SipResponse:
        now = self.clock()
        headers = [
            ("Contact", f"{b.contact};expires={b.remaining(now)}")
            for b in self._bindings.get(user, [])
        ]
        headers.append(("Date", formatdate(usegmt=True)))
        return make_response(request, 200, headers=headers)


def _q_value(text: str | None) -> float:
    if text is None:
        return 1.0
    try:
        q = float(text)
    except ValueError:
        return 1.0
    return min(1.0, max(0.0, q)) if q == q else 1.0
