"""Who may talk to Hotline's SIP endpoint: banning sources that keep failing authentication,
and admitting inbound calls from trunks (by source address) or authenticated users (by digest).

Part of Hotline's hand-written SIP stack. A public SIP port is scanned and brute-forced within
minutes of going online; RFC 3261 §26 leaves the defence to implementations. `SourceGuard`
counts authentication failures per source address in a sliding window and bans the address for
a while (e.g. 5 failures in 10 minutes: banned for an hour); a banned source's messages are
dropped before they are parsed. Trunk addresses can be exempted so that a carrier is never banned.
`CallAdmission` decides on an inbound INVITE: a trunk's address list admits it as that trunk,
otherwise digest credentials (RFC 3261 §22.2) admit it as a user or trunk account.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotline.telephony.sip.auth import AuthOutcome, DigestAuthenticator
from hotline.telephony.sip.message import SipRequest

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDR blocks (`192.0.2.10`, `198.51.100.0/24`); a bad entry raises
    ValueError naming it."""
    out: list[Network] = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an address or network: {entry!r}") from exc
    return tuple(out)


def in_networks(host: str, networks: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in networks)


@dataclass
class GuardConfig:
    max_failures: int = 5
    window: float = 600.0  # seconds in which max_failures bans
    ban_seconds: float = 3600.0
    exempt: tuple[str, ...] = ()  # addresses/networks never banned (trunks, the office)
    max_tracked: int = 100_000  # bound on remembered addresses


class SourceGuard:
    """Counts authentication failures per source address and bans repeat offenders."""

    def __init__(
        self, config: GuardConfig | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or GuardConfig()
        self.clock = clock
        self._exempt = parse_networks(self.config.exempt)
        self._failures: dict[str, deque[float]] = {}
        self._bans: dict[str, float] = {}

    def allowed(self, host: str) -> bool:
        """False while `host` is banned. Cheap: called for every datagram."""
        if not self._bans:
            return True
        until = self._bans.get(host)
        if until is None:
            return True
        if self.clock() >= until:
            del self._bans[host]
            return True
        return False

    def record_failure(self, host: str) -> bool:
        """Count one failure; True when this one bans the source."""
        if in_networks(host, self._exempt):
            return False
        now = self.clock()
        failures = self._failures.pop(host, None) or deque()
        failures.append(now)
        while failures and failures[0] <= now - self.config.window:
            failures.popleft()
        if len(failures) >= self.config.max_failures:
            self._bans[host] = now + self.config.ban_seconds
            log.warning(
                "SIP source %s banned for %.0f s after %d authentication failures",
                host,
                self.config.ban_seconds,
                len(failures),
            )
            self._trim(self._bans)
            return True
        self._failures[host] = failures  # re-inserted: the dict stays in least-recent order
        self._trim(self._failures)
        return False

    def record_success(self, host: str) -> None:
        self._failures.pop(host, None)

    def _trim(self, table: dict[str, Any]) -> None:
        while len(table) > self.config.max_tracked:
            del table[next(iter(table))]

    def unban(self, host: str) -> None:
        self._bans.pop(host, None)
        self._failures.pop(host, None)

    @property
    def banned(self) -> dict[str, float]:
        """Banned sources and until when (clock time)."""
        now = self.clock()
        return {host: until for host, until in self._bans.items() if until > now}


@dataclass(frozen=True)
class TrunkSource:
    """A trunk as inbound admission sees it: its name and the addresses it calls from."""

    name: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Admission:
    """The decision on an inbound call: admitted (as a trunk or a user), or the response owed."""

    admitted: bool
    trunk: str | None = None
    user: str | None = None
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)


class CallAdmission:
    """Inbound INVITE policy: trunk source address, else digest, else 401 (or admit everyone,
    for a closed lab, with `allow_unauthenticated`)."""

    def __init__(
        self,
        *,
        trunks: Sequence[TrunkSource] = (),
        authenticator: DigestAuthenticator | None = None,
        guard: SourceGuard | None = None,
        allow_unauthenticated: bool = False,
    ) -> None:
        self.trunks = [(t.name, parse_networks(t.addresses)) for t in trunks]
        self.authenticator = authenticator
        self.guard = guard
        self.allow_unauthenticated = allow_unauthenticated

    def trunk_for(self, host: str) -> str | None:
        for name, networks in self.trunks:
            if in_networks(host, networks):
                return name
        return None

    async def admit(self, request: SipRequest, host: str) -> Admission:
        trunk = self.trunk_for(host)
        if trunk is not None:
            return Admission(True, trunk=trunk)
        if self.authenticator is None:
            if self.allow_unauthenticated:
                return Admission(True)
            return Admission(False, status=403)
        result = await self.authenticator.verify(request)
        if result.ok:
            if self.guard is not None:
                self.guard.record_success(host)
            return Admission(True, user=result.username)
        if result.outcome is AuthOutcome.FAILED:
            if self.guard is not None:
                self.guard.record_failure(host)
            return Admission(False, status=403)
        if self.allow_unauthenticated and result.outcome is AuthOutcome.MISSING:
            return Admission(True)
        stale = result.outcome is AuthOutcome.STALE
        return Admission(
            False, status=401, headers=self.authenticator.challenge_headers(stale=stale)
        )
