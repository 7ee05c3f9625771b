"""Digest authentication for SIP, both sides (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).

Part of Hotline's hand-written SIP stack (no Python SIP library fits asyncio and production).
- Server side (`DigestAuthenticator`): challenges with one WWW-Authenticate (or
  Proxy-Authenticate) per configured algorithm, in order of preference (RFC 8760 §2.4), always
  with qop=auth. The default offers MD5 only: of the real clients tested, SIPp 3.6 answers only
  the first challenge and only in MD5, and baresip 1.0 refuses to register at all when a SHA-256
  challenge is present. A fleet of RFC 8760 phones can be offered ("SHA-256", "MD5").
  Nonces are stateless (timestamp + random, signed with an HMAC), expire after a configurable
  time and then earn `stale=true` (RFC 7616 §3.3) so a phone retries without asking its user;
  a nonce count that does not grow is treated as stale (no replays).
  An unknown user is checked against a dummy secret, so it fails exactly like a wrong password:
  callers answer both with the same 403, and nothing tells which one it was.
- Credentials come from a `CredentialStore` (`lookup(username, realm=, algorithm=) -> HA1`), so
  the users domain can plug its own store in; `InMemoryCredentialStore` serves tests and the demo
  and keeps only HA1 values, never passwords.
- Client side (`DigestCredentials.authorize`): answers a 401/407 challenge for outgoing INVITE
  and REGISTER (trunks, outbound registration).
Passwords and HA1 values are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from hotline.telephony.sip.errors import SipParseError
from hotline.telephony.sip.message import SipRequest, SipUri, quote, unquote

# Digest algorithm names (RFC 7616 §3.3) and their hashlib names.
ALGORITHMS = {"MD5": "md5", "SHA-256": "sha256"}


def digest_hash(algorithm: str, text: str) -> str:
    return hashlib.new(ALGORITHMS[algorithm], text.encode("utf-8")).hexdigest()


def compute_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """H(username:realm:password), what a credential store keeps instead of the password."""
    return digest_hash(algorithm, f"{username}:{realm}:{password}")


def compute_response(
    *,
    ha1: str,
    algorithm: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None,
    cnonce: str | None,
    qop: str | None,
) -> str:
    ha2 = digest_hash(algorithm, f"{method}:{uri}")
    if qop:
        return digest_hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return digest_hash(algorithm, f"{ha1}:{nonce}:{ha2}")


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """`Digest realm="x", nonce="y", qop="auth"` into ("digest", {...}); names in lower case,
    quoted values unquoted. Raises SipParseError(400) when it is not that shape."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if not scheme or not rest.strip():
        raise SipParseError(400, "Malformed authentication header")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = rest.find("=", i)
        if eq < 0:
            raise SipParseError(400, "Malformed authentication header")
        name = rest[i:eq].strip().lower()
        i = eq + 1
        while i < n and rest[i] in " \t":
            i += 1
        if i < n and rest[i] == '"':
            j = i + 1
            while j < n and rest[j] != '"':
                j += 2 if rest[j] == "\\" else 1
            if j >= n:
                raise SipParseError(400, "Malformed authentication header")
            raw = rest[i : j + 1]
            i = j + 1
        else:
            j = rest.find(",", i)
            j = n if j < 0 else j
            raw = rest[i:j].strip()
            i = j
        if not name or any(c in name for c in ' \t"'):
            raise SipParseError(400, "Malformed authentication header")
        params[name] = unquote(raw)
    return scheme.lower(), params


@dataclass(frozen=True)
class DigestChallenge:
    """A WWW-Authenticate / Proxy-Authenticate value, as a client reads it."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, value: str) -> DigestChallenge:
        scheme, params = parse_auth_header(value)
        if scheme != "digest" or "nonce" not in params or "realm" not in params:
            raise SipParseError(400, "Not a digest challenge")
        qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
        return cls(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=params.get("algorithm", "MD5").upper(),
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
        )

    def __str__(self) -> str:
        parts = [f"realm={quote(self.realm)}", f"nonce={quote(self.nonce)}"]
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        parts.append(f"algorithm={self.algorithm}")
        if self.qop:
            parts.append(f'qop="{",".join(self.qop)}"')
        if self.stale:
            parts.append("stale=TRUE")
        return "Digest " + ", ".join(parts)


@dataclass
class DigestCredentials:
    """What we answer challenges with (a trunk's account). `realm` None: any realm."""

    username: str
    password: str = field(repr=False)
    realm: str | None = None

    def authorize(self, challenge: DigestChallenge, *, method: str, uri: str) -> str:
        """The Authorization / Proxy-Authorization value answering `challenge`."""
        if challenge.algorithm not in ALGORITHMS:
            raise SipParseError(400, f"Unsupported digest algorithm {challenge.algorithm}")
        ha1 = compute_ha1(self.username, challenge.realm, self.password, challenge.algorithm)
        qop = "auth" if "auth" in challenge.qop else None
        cnonce = secrets.token_hex(8) if qop else None
        nc = "00000001" if qop else None
        response = compute_response(
            ha1=ha1,
            algorithm=challenge.algorithm,
            method=method,
            uri=uri,
            nonce=challenge.nonce,
            nc=nc,
            cnonce=cnonce,
            qop=qop,
        )
        parts = [
            f"username={quote(self.username)}",
            f"realm={quote(challenge.realm)}",
            f"nonce={quote(challenge.nonce)}",
            f"uri={quote(uri)}",
            f"response={quote(response)}",
            f"algorithm={challenge.algorithm}",
        ]
        if challenge.opaque is not None:
            parts.append(f"opaque={quote(challenge.opaque)}")
        if qop:
            parts.extend([f"qop={qop}", f"nc={nc}", f"cnonce={quote(cnonce or '')}"])
        return "Digest " + ", ".join(parts)

    def matches(self, challenge: DigestChallenge) -> bool:
        return self.realm is None or self.realm == challenge.realm


def pick_challenge(values: Iterable[str]) -> DigestChallenge | None:
    """The first challenge (in the server's order of preference) we can answer."""
    for value in values:
        try:
            challenge = DigestChallenge.parse(value)
        except SipParseError:
            continue
        if challenge.algorithm in ALGORITHMS and (not challenge.qop or "auth" in challenge.qop):
            return challenge
    return None


# --- credential stores ----------------------------------------------------------------------


class CredentialStore(Protocol):
    """Where the server side finds a user's secret: HA1 = H(username:realm:password) for the
    given algorithm, or None for an unknown user. The users domain implements it later."""

    async def lookup(self, username: str, *, realm: str, algorithm: str) -> str | None: ...


class InMemoryCredentialStore:
    """Users and passwords held in memory as HA1 values (tests, the demo, trunk accounts)."""

    def __init__(self, realm: str, users: Mapping[str, str] | None = None) -> None:
        self.realm = realm
        self._ha1: dict[tuple[str, str], str] = {}
        for username, password in (users or {}).items():
            self.set_password(username, password)

    def set_password(self, username: str, password: str) -> None:
        for algorithm in ALGORITHMS:
            self._ha1[(username, algorithm)] = compute_ha1(
                username, self.realm, password, algorithm
            )

    def remove(self, username: str) -> None:
        for algorithm in ALGORITHMS:
            self._ha1.pop((username, algorithm), None)

    async def lookup(self, username: str, *, realm: str, algorithm: str) -> str | None:
        if realm != self.realm:
            return None
        return self._ha1.get((username, algorithm))


class CombinedCredentialStore:
    """Asks each store in turn (e.g. agents' accounts, then trunks' inbound accounts)."""

    def __init__(self, *stores: CredentialStore) -> None:
        self.stores = stores

    async def lookup(self, username: str, *, realm: str, algorithm: str) -> str | None:
        for store in self.stores:
            found = await store.lookup(username, realm=realm, algorithm=algorithm)
            if found is not None:
                return found
        return None


# --- the server side --------------------------------------------------------------------------


class AuthOutcome(Enum):
    OK = "ok"
    MISSING = "missing"  # no credentials for our realm: challenge (401/407)
    STALE = "stale"  # expired, unknown or replayed nonce: challenge again with stale=true
    FAILED = "failed"  # wrong password, unknown user, bad digest: 403 and count the failure


@dataclass(frozen=True)
class AuthResult:
    outcome: AuthOutcome
    username: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is AuthOutcome.OK


class DigestAuthenticator:
    """Verifies digest credentials in requests and makes challenges, for one realm."""

    NONCE_RECORDS = 50_000

    def __init__(
        self,
        *,
        realm: str,
        store: CredentialStore,
        algorithms: Iterable[str] = ("MD5",),
        nonce_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
        secret: bytes | None = None,
    ) -> None:
        self.realm = realm
        self.store = store
        self.algorithms = tuple(a.upper() for a in algorithms)
        unknown = [a for a in self.algorithms if a not in ALGORITHMS]
        if unknown or not self.algorithms:
            raise ValueError(f"unsupported digest algorithms: {unknown}")
        self.nonce_ttl = nonce_ttl
        self.clock = clock
        self._secret = secret or secrets.token_bytes(32)
        self._dummy_ha1 = {a: digest_hash(a, secrets.token_hex(16)) for a in ALGORITHMS}
        self._nonce_counts: OrderedDict[str, int] = OrderedDict()

    def new_nonce(self) -> str:
        stamp = struct.pack(">d", self.clock()) + secrets.token_bytes(8)
        mac = hmac.new(self._secret, stamp, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(stamp + mac).decode("ascii").rstrip("=")

    def _nonce_state(self, nonce: str) -> str:
        """ "ok", "stale" (expired) or "bad" (not ours)."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            return "bad"
        if len(raw) != 32:
            return "bad"
        stamp, mac = raw[:16], raw[16:]
        expected = hmac.new(self._secret, stamp, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, expected):
            return "bad"
        issued = struct.unpack(">d", stamp[:8])[0]
        age = self.clock() - issued
        if age < -1.0 or age > self.nonce_ttl:
            return "stale"
        return "ok"

    def challenge_headers(
        self, *, stale: bool = False, proxy: bool = False
    ) -> list[tuple[str, str]]:
        """One challenge per algorithm, the strongest first, all with the same nonce."""
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        nonce = self.new_nonce()
        opaque = secrets.token_hex(8)
        return [
            (
                name,
                str(
                    DigestChallenge(
                        realm=self.realm,
                        nonce=nonce,
                        algorithm=algorithm,
                        qop=("auth",),
                        opaque=opaque,
                        stale=stale,
                    )
                ),
            )
            for algorithm in self.algorithms
        ]

    async def verify(self, request: SipRequest, *, proxy: bool = False) -> AuthResult:
        """Check the request's credentials for our realm."""
        header = "proxy-authorization" if proxy else "authorization"
        params: dict[str, str] | None = None
        for value in request.headers.get_all(header):
            try:
                scheme, candidate = parse_auth_header(value)
            except SipParseError:
                return AuthResult(AuthOutcome.FAILED)
            if scheme == "digest" and candidate.get("realm") == self.realm:
                params = candidate
                break
        if params is None:
            return AuthResult(AuthOutcome.MISSING)
        username = params.get("username")
        nonce = params.get("nonce")
        uri = params.get("uri")
        response = params.get("response")
        algorithm = params.get("algorithm", "MD5").upper()
        qop = params.get("qop")
        nc = params.get("nc")
        cnonce = params.get("cnonce")
        if not username or not nonce or not uri or not response:
            return AuthResult(AuthOutcome.FAILED, username)
        if algorithm not in self.algorithms or qop != "auth" or not nc or not cnonce:
            return AuthResult(AuthOutcome.FAILED, username)
        if not _same_uri(uri, request.uri):
            return AuthResult(AuthOutcome.FAILED, username)
        state = self._nonce_state(nonce)
        if state != "ok":
            return AuthResult(AuthOutcome.STALE, username)
        ha1 = await self.store.lookup(username, realm=self.realm, algorithm=algorithm)
        expected = compute_response(
            ha1=ha1 or self._dummy_ha1[algorithm],
            algorithm=algorithm,
            method=request.method,
            uri=uri,
            nonce=nonce,
            nc=nc,
            cnonce=cnonce,
            qop=qop,
        )
        if not hmac.compare_digest(expected.encode(), response.lower().encode()) or ha1 is None:
            return AuthResult(AuthOutcome.FAILED, username)
        try:
            count = int(nc, 16)
        except ValueError:
            return AuthResult(AuthOutcome.FAILED, username)
        if count <= self._nonce_counts.get(nonce, 0):
            return AuthResult(AuthOutcome.STALE, username)  # replayed
        self._nonce_counts[nonce] = count
        self._nonce_counts.move_to_end(nonce)
        while len(self._nonce_counts) > self.NONCE_RECORDS:
            self._nonce_counts.popitem(last=False)
        return AuthResult(AuthOutcome.OK, username)


def _same_uri(digest_uri: str, request_uri: SipUri) -> bool:
    """The digest-uri names the request's target. Phones differ in what they put there (the
    Request-URI, or just `sip:host[:port]`), so the host must match, not the whole URI; a
    captured answer still cannot be reused, because the nonce count must grow (see `verify`)."""
    if digest_uri == str(request_uri):
        return True
    try:
        parsed = SipUri.parse(digest_uri)
    except SipParseError:
        return False
    return parsed.host == request_uri.host and parsed.user in (None, request_uri.user)
