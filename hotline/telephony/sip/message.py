"""SIP messages: parsing, checking and serializing requests and responses.

Hotline's SIP stack is written by hand because no Python SIP library fits both asyncio and
production use; this module is its foundation and follows RFC 3261 closely:
- §7 message format, §7.3.1 header folding and comma-separated multi-values, §7.4 body framing;
- §20 header fields, including the compact forms (§7.3.3) and the name-addr / addr-spec forms of
  From, To, Contact, Route and Record-Route (§20.10, §25.1 grammar);
- §19.1 SIP and SIPS URIs;
- §8.1.1 / §8.2 mandatory headers and the statuses owed to bad requests (400, 413, 416, 505);
- §8.2.6 building a response from its request.

`parse` raises nothing but `SipParseError`, whose `status` is the response the message deserves
(fuzz-tested with hypothesis). Header values are kept as text; typed views (`Via`, `NameAddr`,
`CSeq`, `SipUri`) are parsed on demand, the mandatory ones checked once by `parse`.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hotline.telephony.sip.errors import SipParseError

SIP_VERSION = "SIP/2.0"
MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7: branches that start with it are globally unique
DEFAULT_MAX_MESSAGE_SIZE = 65536

# RFC 3261 §7.3.3 and the registries of later RFCs (3265, 3515, 3892, 4028, 3841, 4474).
COMPACT_FORMS = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

_CANONICAL = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
}

# Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1): split into one value each.
# Authorization / WWW-Authenticate and friends contain commas but are single values.
LIST_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "alert-info",
        "allow",
        "allow-events",
        "call-info",
        "contact",
        "content-encoding",
        "content-language",
        "error-info",
        "in-reply-to",
        "path",
        "proxy-require",
        "record-route",
        "require",
        "route",
        "service-route",
        "supported",
        "unsupported",
        "via",
        "warning",
    }
)

REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

_TOKEN_RE = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-_.]+)$")
_PORT_RE = re.compile(r"^[0-9]{1,5}$")
_STATUS_LINE_RE = re.compile(r"^(SIP/\d+\.\d+) ([0-9]{3}) ?(.*)$")
_T = TypeVar("_T")
_UNPRINTABLE_RE = re.compile(r"[^\x20-\x7e]")
# sent-protocol = name SLASH version SLASH transport, LWS allowed around the slashes (§20.42).
_VIA_RE = re.compile(
    r"^([A-Za-z0-9.\-!%*_+`'~]+)\s*/\s*([0-9.]+)\s*/\s*([A-Za-z0-9\-]+)\s+(.*)$", re.DOTALL
)


def is_digits(text: str) -> bool:
    """ASCII digits only (`str.isdigit` also accepts superscripts and other scripts' digits)."""
    return bool(text) and text.isascii() and text.isdigit()


def reason_phrase(status: int) -> str:
    """The RFC 3261 §21 phrase for a status, or a generic one for its class."""
    return REASON_PHRASES.get(status) or REASON_PHRASES.get(status // 100 * 100, "Unknown")


@functools.lru_cache(maxsize=1024)
def canonical_name(name: str) -> str:
    """The long, conventionally capitalised form of a header name (`i` -> `Call-ID`)."""
    key = name.lower()
    key = COMPACT_FORMS.get(key, key)
    return _CANONICAL.get(key) or "-".join(part.capitalize() for part in key.split("-"))


@functools.lru_cache(maxsize=1024)
def header_key(name: str) -> str:
    """The lookup key of a header name: lower case, compact forms expanded."""
    key = name.lower()
    return COMPACT_FORMS.get(key, key)


def new_tag() -> str:
    """A From/To tag: random, at least 32 bits (RFC 3261 §19.3)."""
    return secrets.token_hex(6)


def new_branch() -> str:
    """A Via branch starting with the magic cookie (RFC 3261 §8.1.1.7)."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


def _clean_reason(text: str) -> str:
    """Make text safe for a reason phrase: printable ASCII, bounded."""
    return _UNPRINTABLE_RE.sub("?", text)[:120]


# --- small grammar helpers -------------------------------------------------------------------


def split_quoted(value: str, separator: str) -> list[str]:
    """Split on `separator` outside quoted strings and <...> (for lists and parameters)."""
    parts: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if in_quotes:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quotes = False
        elif ch == '"':
            in_quotes = True
        elif ch == "<":
            in_angle = True
        elif ch == ">":
            in_angle = False
        elif ch == separator and not in_angle:
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return parts


def unquote(value: str) -> str:
    """The content of a quoted-string (escapes removed), or the value itself if not quoted."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" not in inner:
            return inner
        out: list[str] = []
        i = 0
        while i < len(inner):
            if inner[i] == "\\" and i + 1 < len(inner):
                i += 1
            out.append(inner[i])
            i += 1
        return "".join(out)
    return value


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


Params = dict[str, str | None]


def parse_params(text: str, what: str) -> Params:
    """`;name=value;flag` into an ordered dict with lower-case names (values kept verbatim)."""
    params: Params = {}
    if not text.strip():
        return params
    for raw in split_quoted(text, ";"):
        item = raw.strip()
        if not item:
            continue
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if not name or not _TOKEN_RE.match(name):
            raise SipParseError(400, f"Malformed parameter in {what}")
        params[name] = value.strip() if eq else None
    return params


def format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def _parse_hostport(text: str, what: str) -> tuple[str, int | None]:
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(400, f"Malformed host in {what}")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SipParseError(400, f"Malformed host in {what}")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    if not host or not _HOST_RE.match(host):
        raise SipParseError(400, f"Malformed host in {what}")
    port: int | None = None
    if port_text is not None:
        if not _PORT_RE.match(port_text) or not 0 < int(port_text) < 65536:
            raise SipParseError(400, f"Malformed port in {what}")
        port = int(port_text)
    return host, port


def _format_hostport(host: str, port: int | None) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


# --- URIs --------------------------------------------------------------------------------------


@dataclass
class SipUri:
    """A SIP or SIPS URI (RFC 3261 §19.1): `sip:user:password@host:port;params?headers`."""

    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    password: str | None = None
    params: Params = field(default_factory=dict)
    headers: str = ""

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a SIP/SIPS URI; a URI of another scheme is a 416, a broken one a 400."""
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        scheme = scheme.lower()
        if not colon or not scheme:
            raise SipParseError(400, "Malformed URI")
        if scheme not in ("sip", "sips"):
            raise SipParseError(416, "Unsupported URI Scheme")
        rest, _, headers = rest.partition("?")
        user: str | None = None
        password: str | None = None
        if "@" in rest:
            userinfo, _, rest = rest.rpartition("@")
            user, pcolon, pw = userinfo.partition(":")
            password = pw if pcolon else None
            if (
                not user
                or any(c in user for c in ' \t<>"')
                or (password is not None and any(c in password for c in ' \t<>"'))
            ):
                raise SipParseError(400, "Malformed user part in URI")
        hostport, _, param_text = rest.partition(";")
        host, port = _parse_hostport(hostport, "URI")
        return cls(
            host=host.lower(),
            user=user,
            port=port,
            scheme=scheme,
            password=password,
            params=parse_params(param_text, "URI"),
            headers=headers,
        )

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out.append(":" + self.password)
            out.append("@")
        out.append(_format_hostport(self.host, self.port))
        out.append(format_params(self.params))
        if self.headers:
            out.append("?" + self.headers)
        return "".join(out)

    @property
    def transport(self) -> str:
        """The `transport` parameter in lower case; `udp` when absent (RFC 3261 §19.1.1)."""
        value = self.params.get("transport")
        return value.lower() if value else ("tls" if self.scheme == "sips" else "udp")

    @property
    def loose_route(self) -> bool:
        return "lr" in self.params

    def copy(self) -> SipUri:
        return SipUri(
            host=self.host,
            user=self.user,
            port=self.port,
            scheme=self.scheme,
            password=self.password,
            params=dict(self.params),
            headers=self.headers,
        )

    def same_binding(self, other: SipUri) -> bool:
        """URI equality as RFC 3261 §19.1.4 defines it, for the parts that matter for
        registrations: scheme, user (case-sensitive), host, port and the transport/user/method/
        ttl/maddr parameters."""
        if (self.scheme, self.user, self.password, self.host, self.port) != (
            other.scheme,
            other.user,
            other.password,
            other.host,
            other.port,
        ):
            return False
        for name in ("transport", "user", "method", "ttl", "maddr"):
            a, b = self.params.get(name), other.params.get(name)
            if (a or "").lower() != (b or "").lower():
                return False
        return True


# --- name-addr -------------------------------------------------------------------------------


@dataclass
class NameAddr:
    """The value of From, To, Contact, Route, Record-Route (RFC 3261 §20.10): an optional display
    name, a URI, and header parameters (tag, expires, q...). `uri` is a `SipUri` when the scheme is
    sip/sips; other schemes (tel:, urn:) are kept as text in `raw_uri`."""

    uri: SipUri | None
    display_name: str | None = None
    params: Params = field(default_factory=dict)
    raw_uri: str = ""

    @classmethod
    def parse(cls, text: str, what: str = "header") -> NameAddr:
        text = text.strip()
        if not text:
            raise SipParseError(400, f"Empty {what} header")
        display: str | None = None
        if text.startswith('"'):
            i = 1
            while i < len(text):
                if text[i] == "\\":
                    i += 2
                    continue
                if text[i] == '"':
                    break
                i += 1
            if i >= len(text):
                raise SipParseError(400, f"Unterminated display name in {what}")
            display = unquote(text[: i + 1])
            text = text[i + 1 :].lstrip()
            if not text.startswith("<"):
                raise SipParseError(400, f"Malformed {what}: expected <URI>")
        angle = text.find("<")
        if angle >= 0:
            if display is None and angle > 0:
                display = text[:angle].strip() or None
            end = text.find(">", angle)
            if end < 0:
                raise SipParseError(400, f"Malformed {what}: missing '>'")
            uri_text = text[angle + 1 : end]
            rest = text[end + 1 :].strip()
            if rest and not rest.startswith(";"):
                raise SipParseError(400, f"Malformed {what}: text after URI")
            param_text = rest[1:] if rest else ""
        else:
            # addr-spec: every ;param belongs to the header, not the URI (§20.10).
            uri_text, _, param_text = text.partition(";")
            if " " in uri_text.strip():
                raise SipParseError(400, f"Malformed {what}")
        uri_text = uri_text.strip()
        scheme, colon, _ = uri_text.partition(":")
        if not colon:
            raise SipParseError(400, f"Malformed URI in {what}")
        uri = SipUri.parse(uri_text) if scheme.lower() in ("sip", "sips") else None
        if uri is None and (not _TOKEN_RE.match(scheme) or any(c in uri_text for c in " <>")):
            raise SipParseError(400, f"Malformed URI in {what}")
        return cls(
            uri=uri, display_name=display, params=parse_params(param_text, what), raw_uri=uri_text
        )

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @property
    def uri_text(self) -> str:
        return str(self.uri) if self.uri is not None else self.raw_uri

    def __str__(self) -> str:
        name = f"{quote(self.display_name)} " if self.display_name else ""
        return f"{name}<{self.uri_text}>{format_params(self.params)}"

    def without_tag(self) -> NameAddr:
        params = {k: v for k, v in self.params.items() if k != "tag"}
        uri = self.uri.copy() if self.uri is not None else None
        return NameAddr(
            uri=uri, display_name=self.display_name, params=params, raw_uri=self.raw_uri
        )

    def with_tag(self, tag: str) -> NameAddr:
        params = dict(self.params)
        params["tag"] = tag
        uri = self.uri.copy() if self.uri is not None else None
        return NameAddr(
            uri=uri, display_name=self.display_name, params=params, raw_uri=self.raw_uri
        )


# --- Via, CSeq --------------------------------------------------------------------------------


@dataclass
class Via:
    """One Via value (RFC 3261 §20.42, §18.2.1; `rport` from RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default_factory=dict)
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str) -> Via:
        text = text.strip()
        match = _VIA_RE.match(text)
        if not match:
            raise SipParseError(400, "Malformed Via header")
        name, version, transport, rest = match.groups()
        sent_by, _, param_text = rest.partition(";")
        host, port = _parse_hostport(sent_by, "Via")
        params = parse_params(param_text, "Via")
        rport = params.get("rport")
        if rport is not None and not (_PORT_RE.match(rport) and 0 < int(rport) < 65536):
            raise SipParseError(400, "Malformed rport in Via")
        return cls(
            transport=transport.upper(),
            host=host,
            port=port,
            params=params,
            protocol=f"{name.upper()}/{version}",
        )

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    def __str__(self) -> str:
        return (
            f"{self.protocol}/{self.transport} {_format_hostport(self.host, self.port)}"
            f"{format_params(self.params)}"
        )


@dataclass(frozen=True)
class CSeq:
    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not is_digits(parts[0]) or not _TOKEN_RE.match(parts[1]):
            raise SipParseError(400, "Malformed CSeq header")
        seq = int(parts[0])
        if seq >= 2**31:
            raise SipParseError(400, "CSeq number out of range")
        return cls(seq, parts[1])

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


# --- headers ---------------------------------------------------------------------------------


class Headers:
    """Ordered, case-insensitive, multi-valued header fields. Compact names are expanded;
    list-valued headers hold one entry per value."""

    __slots__ = ("_items", "version")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        # (lookup key, display name, value)
        self._items: list[tuple[str, str, str]] = []
        self.version = 0  # bumped by every change, so that parsed views can be cached
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str, *, first: bool = False) -> None:
        self.version += 1
        entry = (header_key(name), canonical_name(name), value)
        if first:
            self._items.insert(0, entry)
        else:
            self._items.append(entry)

    def get(self, name: str, default: str | None = None) -> str | None:
        key = header_key(name)
        for k, _, v in self._items:
            if k == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        key = header_key(name)
        return [v for k, _, v in self._items if k == key]

    def set(self, name: str, value: str) -> None:
        """Replace every value of `name` by one value, in place of the first one."""
        self.version += 1
        key = header_key(name)
        for i, (k, _, _) in enumerate(self._items):
            if k == key:
                self._items[i] = (key, canonical_name(name), value)
                self._items = [e for j, e in enumerate(self._items) if j <= i or e[0] != key]
                return
        self._items.append((key, canonical_name(name), value))

    def replace_first(self, name: str, value: str) -> None:
        """Replace the first value of `name` (e.g. the top Via), keeping the others."""
        self.version += 1
        key = header_key(name)
        for i, (k, display, _) in enumerate(self._items):
            if k == key:
                self._items[i] = (key, display, value)
                return
        self._items.append((key, canonical_name(name), value))

    def remove(self, name: str) -> None:
        self.version += 1
        key = header_key(name)
        self._items = [e for e in self._items if e[0] != key]

    def pop_first(self, name: str) -> str | None:
        self.version += 1
        key = header_key(name)
        for i, (k, _, v) in enumerate(self._items):
            if k == key:
                del self._items[i]
                return v
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for _, display, value in self._items:
            yield display, value

    def __len__(self) -> int:
        return len(self._items)

    def copy(self) -> Headers:
        new = Headers()
        new._items = list(self._items)
        return new

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"


# --- messages --------------------------------------------------------------------------------


class SipMessage:
    """Common part of requests and responses: headers, body, and typed views of the headers
    every message must carry."""

    headers: Headers
    body: bytes

    def __init__(self, headers: Headers | None = None, body: bytes = b"") -> None:
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self._views: dict[str, tuple[Headers, int, Any]] = {}

    def _view(self, name: str, build: Callable[[], _T]) -> _T:
        """A parsed header view, cached until the headers change. Views are shared: treat
        them as read-only (copy before changing, e.g. `NameAddr.without_tag`)."""
        headers = self.headers
        cached = self._views.get(name)
        if cached is not None and cached[0] is headers and cached[1] == headers.version:
            value: _T = cached[2]
            return value
        value = build()
        self._views[name] = (headers, headers.version, value)
        return value

    # Typed views. Each parses on demand and raises SipParseError(400) when the header is broken.

    @property
    def call_id(self) -> str:
        value = self.headers.get("call-id")
        if not value:
            raise SipParseError(400, "Missing Call-ID header")
        return value

    @property
    def cseq(self) -> CSeq:
        return self._view("cseq", self._cseq)

    def _cseq(self) -> CSeq:
        value = self.headers.get("cseq")
        if value is None:
            raise SipParseError(400, "Missing CSeq header")
        return CSeq.parse(value)

    @property
    def from_(self) -> NameAddr:
        return self._view("from", self._from)

    def _from(self) -> NameAddr:
        value = self.headers.get("from")
        if value is None:
            raise SipParseError(400, "Missing From header")
        return NameAddr.parse(value, "From")

    @property
    def to(self) -> NameAddr:
        return self._view("to", self._to)

    def _to(self) -> NameAddr:
        value = self.headers.get("to")
        if value is None:
            raise SipParseError(400, "Missing To header")
        return NameAddr.parse(value, "To")

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("via")]

    @property
    def top_via(self) -> Via:
        return self._view("top_via", self._top_via)

    def _top_via(self) -> Via:
        value = self.headers.get("via")
        if value is None:
            raise SipParseError(400, "Missing Via header")
        return Via.parse(value)

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values; empty for none. A `*` Contact is reported by `contact_is_star`."""
        return self._view(
            "contacts",
            lambda: [
                NameAddr.parse(v, "Contact") for v in self.headers.get_all("contact") if v != "*"
            ],
        )

    @property
    def contact_is_star(self) -> bool:
        return any(v.strip() == "*" for v in self.headers.get_all("contact"))

    @property
    def record_routes(self) -> list[NameAddr]:
        return [NameAddr.parse(v, "Record-Route") for v in self.headers.get_all("record-route")]

    @property
    def routes(self) -> list[NameAddr]:
        return [NameAddr.parse(v, "Route") for v in self.headers.get_all("route")]

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("max-forwards")
        if value is None:
            return None
        value = value.strip()
        if not is_digits(value) or len(value) > 9 or int(value) > 255:
            raise SipParseError(400, "Malformed Max-Forwards header")
        return int(value)

    @property
    def expires(self) -> int | None:
        value = self.headers.get("expires")
        if value is None:
            return None
        value = value.strip()
        if not is_digits(value) or len(value) > 10:
            raise SipParseError(400, "Malformed Expires header")
        return int(value)

    @property
    def content_type(self) -> str | None:
        """The media type in lower case, without parameters."""
        value = self.headers.get("content-type")
        if value is None:
            return None
        return value.split(";", 1)[0].strip().lower()

    def header_tokens(self, name: str) -> list[str]:
        """Values of a list header of tokens (Require, Supported, Allow) in lower case."""
        out: list[str] = []
        for value in self.headers.get_all(name):
            out.extend(t.strip().lower() for t in value.split(",") if t.strip())
        return out

    def start_line(self) -> str:
        raise NotImplementedError

    def encode(self) -> bytes:
        """The wire form; Content-Length is always written from the body (§20.14)."""
        lines = [self.start_line()]
        for name, value in self.headers:
            if name == "Content-Length":
                continue
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def __bytes__(self) -> bytes:
        return self.encode()


class SipRequest(SipMessage):
    """A request. `uri` is the Request-URI as a `SipUri` (other schemes are refused with 416)."""

    def __init__(
        self,
        method: str,
        uri: SipUri,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        super().__init__(headers, body)
        self.method = method
        self.uri = uri
        self.version = version

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __repr__(self) -> str:
        return f"<SipRequest {self.method} {self.uri}>"


class SipResponse(SipMessage):
    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        super().__init__(headers, body)
        self.status = status
        self.reason = reason if reason is not None else reason_phrase(status)
        self.version = version

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    @property
    def method(self) -> str:
        """The method of the request this answers, from CSeq."""
        return self.cseq.method

    def __repr__(self) -> str:
        return f"<SipResponse {self.status} {self.reason}>"


# --- parsing ---------------------------------------------------------------------------------


def find_header_end(data: bytes) -> tuple[int, int]:
    """Index of the blank line ending the header section and its length (CRLFCRLF or LFLF);
    (-1, 0) when not present yet."""
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf <= lf):
        return crlf, 4
    if lf >= 0:
        return lf, 2
    return -1, 0


def _unfold(head: str) -> list[str]:
    """Header lines with folded continuation lines joined (§7.3.1)."""
    lines: list[str] = []
    for line in head.split("\n"):
        line = line.removesuffix("\r")
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip() + " " + line.strip()
        else:
            lines.append(line)
    return lines


def parse_content_length(value: str) -> int:
    value = value.strip()
    if not is_digits(value) or len(value) > 9:
        raise SipParseError(400, "Malformed Content-Length header")
    return int(value)


def parse(
    data: bytes,
    *,
    stream: bool = False,
    max_size: int = DEFAULT_MAX_MESSAGE_SIZE,
) -> SipRequest | SipResponse:
    """Parse and check one SIP message.

    `stream` is for messages framed by a stream transport (TCP), where Content-Length is
    mandatory and the framer already cut the body to it. On a datagram (RFC 3261 §18.3) bytes past
    Content-Length are discarded and a body shorter than Content-Length is a 400; a message longer
    than `max_size` is a 413 (or dropped if its header section cannot even be read).
    Raises only `SipParseError`.
    """
    try:
        return _parse(data, stream=stream, max_size=max_size)
    except SipParseError:
        raise
    except Exception as exc:  # a defect: keep the promise, but say what broke
        raise SipParseError(400, "Malformed message", error=repr(exc)) from exc


def _parse(data: bytes, *, stream: bool, max_size: int) -> SipRequest | SipResponse:
    # Tolerate leading CRLFs (keep-alives, §7.5).
    data = data.lstrip(b"\r\n")
    end, sep_len = find_header_end(data)
    if end < 0:
        if len(data) > max_size:
            raise SipParseError(513, "Message Too Large")
        if b"\n" not in data:
            raise SipParseError(400, "Malformed start line")
        # No blank line: tolerate a message ending with its last header line on a datagram.
        end, sep_len = len(data), 0
    if end > max_size:
        raise SipParseError(513, "Message Too Large")
    try:
        head = data[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError(400, "Header section is not valid UTF-8") from None
    if "\x00" in head:
        raise SipParseError(400, "NUL character in header section")
    body = data[end + sep_len :]
    lines = _unfold(head)
    start = lines[0]
    message: SipRequest | SipResponse
    if start.startswith("SIP/"):
        match = _STATUS_LINE_RE.match(start)
        if not match:
            raise SipParseError(400, "Malformed status line")
        version, status_text, reason = match.groups()
        status = int(status_text)
        if not 100 <= status <= 699:
            raise SipParseError(400, "Status code out of range")
        message = SipResponse(status, reason.strip(), version=version)
    else:
        parts = start.split(" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise SipParseError(400, "Malformed request line")
        method, uri_text, version = parts
        if not _TOKEN_RE.match(method):
            raise SipParseError(400, "Malformed method in request line")
        if not version.upper().startswith("SIP/"):
            raise SipParseError(400, "Malformed request line")
        # Parse the URI later, so that a 416 / 400 can carry the headers to answer with.
        message = SipRequest(method, SipUri(host="invalid"), version=version.upper())
    headers = message.headers
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or not _TOKEN_RE.match(name):
            raise SipParseError(400, "Malformed header line", message=message)
        value = value.strip()
        key = header_key(name)
        if key in LIST_HEADERS and "," in value:
            for item in split_quoted(value, ","):
                item = item.strip()
                if item:
                    headers.add(name, item)
        else:
            headers.add(name, value)
    if message.version != SIP_VERSION:
        raise SipParseError(505, "Version Not Supported", message=message)
    if isinstance(message, SipRequest):
        try:
            message.uri = SipUri.parse(uri_text)
        except SipParseError as exc:
            reason = exc.reason + " (Request-URI)"
            raise SipParseError(exc.status, reason, message=message) from None
    _check_length(message, body, stream=stream, max_size=max_size - end - sep_len)
    _check_mandatory(message)
    return message


def _check_length(message: SipMessage, body: bytes, *, stream: bool, max_size: int) -> None:
    values = message.headers.get_all("content-length")
    if len(values) > 1 and len({v.strip() for v in values}) > 1:
        raise SipParseError(400, "Conflicting Content-Length headers", message=message)
    if values:
        try:
            length = parse_content_length(values[0])
        except SipParseError as exc:
            raise SipParseError(400, exc.reason, message=message) from None
    elif stream:
        raise SipParseError(400, "Missing Content-Length on a stream transport", message=message)
    else:
        length = len(body)
    if length > max_size:
        raise SipParseError(413, "Request Entity Too Large", message=message)  # body past the limit
    if len(body) < length:
        raise SipParseError(400, "Content-Length larger than message body", message=message)
    message.body = body[:length]


def _check_mandatory(message: SipMessage) -> None:
    """Mandatory headers present and well formed (§8.1.1, §20); for requests, CSeq's method
    matches the request line."""
    try:
        if not message.headers.get("via"):
            raise SipParseError(400, "Missing Via header")
        for via in message.headers.get_all("via"):
            Via.parse(via)
        _ = (message.from_, message.to, message.call_id)  # parsed for their checks
        cseq = message.cseq
        if isinstance(message, SipRequest):
            if cseq.method != message.method:
                raise SipParseError(400, "CSeq method does not match request method")
            if message.headers.get("max-forwards") is None:
                raise SipParseError(400, "Missing Max-Forwards header")
            _ = message.max_forwards
        if message.headers.get("contact") is not None:
            _ = message.contacts
    except SipParseError as exc:
        raise SipParseError(exc.status, exc.reason, message=message) from None


# --- building ---------------------------------------------------------------------------------


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> SipResponse:
    """A response to `request` per RFC 3261 §8.2.6: Via (all, in order), From, To, Call-ID and
    CSeq copied; a To tag added when the request had none (except on 100), `to_tag` if given."""
    out = Headers()
    for via in request.headers.get_all("via"):
        out.add("Via", via)
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.headers.get(name)
        if value is not None:
            out.add(name, value)
    to_value = out.get("to")
    if to_value is not None and status != 100:
        try:
            to: NameAddr | None = request.to
        except SipParseError:
            to = None
        if to is not None and to.tag is None:
            out.set("To", str(to.with_tag(to_tag or new_tag())))
    if status == 100 and (timestamp := request.headers.get("timestamp")) is not None:
        out.add("Timestamp", timestamp)  # §8.2.6.1
    for name, value in headers:
        out.add(name, value)
    if body and content_type:
        out.set("Content-Type", content_type)
    return SipResponse(status, _clean_reason(reason) if reason else None, out, body)
