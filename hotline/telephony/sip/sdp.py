"""SDP bodies and the offer/answer model for Hotline's audio calls.

The signalling process only carries SDP; the media workers act on the result of the negotiation
(`AudioSession`): where to send RTP, which codec and payload types, and who may send (hold/resume).
Hand-written like the rest of the SIP stack (no library fits), after:
- RFC 4566 (SDP): the line grammar (§5), `c=` at session or media level (§5.7), `a=rtpmap`,
  `a=fmtp`, `a=ptime` and the direction attributes (§6);
- RFC 3264 (offer/answer): answers keep every m-line in order and reject a stream with port 0
  (§6), directions are mirrored (§6.1), hold/resume by re-offers with sendonly/inactive (§8.4),
  and the old `c=0.0.0.0` hold of RFC 2543 is understood;
- RFC 3551 static payload types PCMU (0) and PCMA (8); RFC 4733 telephone-event (dynamic).

An offer with no audio stream we can take (no common codec, or only SRTP/video) is refused with
status 488 (`SdpError.status`); a body that is not SDP at all is a 400.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from hotline.telephony.sip.errors import SdpError


class Direction(StrEnum):
    """Who sends media, from the point of view of the side that writes the attribute."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def of(cls, sends: bool, receives: bool) -> Direction:
        if sends and receives:
            return cls.SENDRECV
        if sends:
            return cls.SENDONLY
        if receives:
            return cls.RECVONLY
        return cls.INACTIVE


DIRECTIONS = frozenset(d.value for d in Direction)


@dataclass(frozen=True)
class Codec:
    """An RTP payload format. `payload_type` is the number used on the wire in one session."""

    name: str
    payload_type: int
    clock_rate: int = 8000
    channels: int = 1
    fmtp: str | None = None

    def same_format(self, other: Codec) -> bool:
        return (
            self.name.lower() == other.name.lower()
            and self.clock_rate == other.clock_rate
            and self.channels == other.channels
        )

    def rtpmap(self) -> str:
        suffix = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.payload_type} {self.name}/{self.clock_rate}{suffix}"


PCMU = Codec("PCMU", 0)
PCMA = Codec("PCMA", 8)
TELEPHONE_EVENT = Codec("telephone-event", 101, fmtp="0-16")
DEFAULT_CODECS = (PCMU, PCMA)

# RFC 3551 §6 static payload types that may appear without an rtpmap.
STATIC_PAYLOAD_TYPES = {0: PCMU, 8: PCMA, 3: Codec("GSM", 3), 9: Codec("G722", 9)}


@dataclass
class Origin:
    username: str
    session_id: str
    session_version: int
    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} {self.nettype} "
            f"{self.addrtype} {self.address}"
        )


@dataclass
class Connection:
    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"

    @property
    def is_hold_address(self) -> bool:
        """RFC 2543 hold: `c=IN IP4 0.0.0.0`."""
        return self.address in ("0.0.0.0", "::")


Attribute = tuple[str, str | None]


@dataclass
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[str]
    port_count: int | None = None
    connection: Connection | None = None
    attributes: list[Attribute] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # i=, b=, k= lines, kept verbatim

    def attribute(self, name: str) -> str | None:
        for key, value in self.attributes:
            if key == name:
                return value if value is not None else ""
        return None

    def attributes_named(self, name: str) -> list[str]:
        return [value or "" for key, value in self.attributes if key == name]

    @property
    def direction(self) -> Direction | None:
        """The media-level direction attribute, if any (the session level is the default)."""
        for key, _ in self.attributes:
            if key in DIRECTIONS:
                return Direction(key)
        return None

    @property
    def ptime(self) -> int | None:
        value = self.attribute("ptime")
        if value is None:
            return None
        try:
            ms = int(float(value))
        except (ValueError, OverflowError):
            return None
        return ms if 0 < ms <= 1000 else None

    def codecs(self) -> list[Codec]:
        """The formats as codecs, in the order offered (unknown dynamic types left out)."""
        maps: dict[int, Codec] = {}
        for value in self.attributes_named("rtpmap"):
            pt_text, _, encoding = value.partition(" ")
            parts = encoding.strip().split("/")
            if not _digits(pt_text) or len(parts) < 2 or not _digits(parts[1]):
                continue
            channels = int(parts[2]) if len(parts) > 2 and _digits(parts[2]) else 1
            maps[int(pt_text)] = Codec(parts[0], int(pt_text), int(parts[1]), channels)
        fmtps: dict[int, str] = {}
        for value in self.attributes_named("fmtp"):
            pt_text, _, params = value.partition(" ")
            if _digits(pt_text):
                fmtps[int(pt_text)] = params.strip()
        out: list[Codec] = []
        for fmt in self.formats:
            if not _digits(fmt):
                continue
            pt = int(fmt)
            codec = maps.get(pt) or STATIC_PAYLOAD_TYPES.get(pt)
            if codec is None:
                continue
            out.append(replace(codec, payload_type=pt, fmtp=fmtps.get(pt)))
        return out

    def lines(self) -> list[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count else str(self.port)
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        out.extend(line for line in self.other if not line.startswith(("b=", "k=")))
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out.extend(line for line in self.other if line.startswith(("b=", "k=")))
        out.extend(f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes)
        return out


@dataclass
class SessionDescription:
    """A parsed SDP body (RFC 4566). Unknown lines are kept so that re-encoding loses nothing."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    media: list[MediaDescription] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    times: list[str] = field(default_factory=lambda: ["0 0"])
    other: list[str] = field(default_factory=list)  # i=, u=, e=, p=, b=, z=, k= and r= lines
    version: int = 0

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse an SDP body; a broken one raises `SdpError` with status 400."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            raise SdpError("SDP is not valid UTF-8") from None
        lines = [line.rstrip("\r") for line in text.split("\n")]
        lines = [line for line in lines if line.strip()]
        if not lines or not lines[0].startswith("v="):
            raise SdpError("SDP must start with v=")
        version_text = lines[0][2:].strip()
        if version_text != "0":
            raise SdpError("Unsupported SDP version")
        origin: Origin | None = None
        session_name: str | None = None
        session = cls(origin=Origin("-", "0", 0, "0.0.0.0"), times=[])
        current: MediaDescription | None = None
        for line in lines[1:]:
            if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
                raise SdpError("Malformed SDP line")
            kind, value = line[0], line[2:]
            if kind == "m":
                current = _parse_media(value)
                session.media.append(current)
            elif kind == "c":
                connection = _parse_connection(value)
                if current is None:
                    session.connection = connection
                else:
                    current.connection = connection
            elif kind == "a":
                name, colon, attr_value = value.partition(":")
                attribute: Attribute = (name.strip(), attr_value if colon else None)
                (session.attributes if current is None else current.attributes).append(attribute)
            elif current is not None:
                current.other.append(line)
            elif kind == "o":
                origin = _parse_origin(value)
            elif kind == "s":
                session_name = value
            elif kind == "t":
                session.times.append(value)
            else:
                session.other.append(line)
        if origin is None:
            raise SdpError("SDP has no o= line")
        session.origin = origin
        session.session_name = session_name if session_name is not None else "-"
        session.times = session.times or ["0 0"]
        return session

    def encode(self) -> bytes:
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name or '-'}"]
        before_c = [line for line in self.other if line[0] in "iuep"]
        after_c = [line for line in self.other if line[0] not in "iuepzkr"]
        lines.extend(before_c)
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines.extend(after_c)
        for times in self.times:
            lines.append(f"t={times}")
        lines.extend(line for line in self.other if line[0] in "rzk")
        lines.extend(f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes)
        for media in self.media:
            lines.extend(media.lines())
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def __bytes__(self) -> bytes:
        return self.encode()

    @property
    def direction(self) -> Direction:
        """The session-level direction (sendrecv when absent)."""
        for key, _ in self.attributes:
            if key in DIRECTIONS:
                return Direction(key)
        return Direction.SENDRECV

    def media_direction(self, media: MediaDescription) -> Direction:
        return media.direction or self.direction

    def media_connection(self, media: MediaDescription) -> Connection | None:
        return media.connection or self.connection

    def next_version(self) -> SessionDescription:
        """A copy with the origin's version incremented: for a changed re-offer (§8)."""
        copy = SessionDescription.parse(self.encode())
        copy.origin.session_version += 1
        return copy


def _parse_origin(value: str) -> Origin:
    parts = value.split()
    if len(parts) != 6 or not _digits(parts[2]):
        raise SdpError("Malformed SDP o= line")
    return Origin(parts[0], parts[1], int(parts[2]), parts[5], parts[3], parts[4])


def _parse_connection(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise SdpError("Malformed SDP c= line")
    # Multicast TTL / count suffixes (`/127/3`) are dropped: audio calls are unicast.
    return Connection(parts[2].split("/")[0], parts[0], parts[1])


def _parse_media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError("Malformed SDP m= line")
    port_text, slash, count_text = parts[1].partition("/")
    if (
        not _digits(port_text)
        or len(port_text) > 5
        or int(port_text) > 65535
        or (slash and not _digits(count_text))
    ):
        raise SdpError("Malformed port in SDP m= line")
    return MediaDescription(
        media=parts[0],
        port=int(port_text),
        proto=parts[2],
        formats=parts[3:],
        port_count=int(count_text) if slash else None,
    )


def _digits(text: str) -> bool:
    return bool(text) and text.isascii() and text.isdigit()


# --- offer / answer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioSession:
    """The outcome of one offer/answer for the audio stream: what the media worker needs."""

    remote_address: str
    remote_port: int
    codec: Codec  # the codec to send, with the payload type agreed on
    codecs: tuple[Codec, ...]  # every common codec, in preference order
    telephone_event: int | None  # RFC 4733 payload type, if both sides use it
    ptime: int
    direction: Direction  # ours: whether we send and/or receive
    media_index: int  # which m-line carries the audio

    @property
    def on_hold(self) -> bool:
        """The remote side has stopped listening (it put us on hold)."""
        return not self.direction.sends


def _new_origin(address: str, username: str) -> Origin:
    # Session id and version: NTP-ish timestamp, unique per session (RFC 4566 §5.2).
    session_id = str(int(time.time()) * 1000 + secrets.randbelow(1000))
    return Origin(username, session_id, 1, address, addrtype=_addrtype(address))


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def _audio_media(
    *,
    port: int,
    codecs: Sequence[Codec],
    telephone_event: Codec | None,
    ptime: int,
    direction: Direction,
) -> MediaDescription:
    all_codecs = [*codecs, *([telephone_event] if telephone_event else [])]
    attributes: list[Attribute] = []
    for codec in all_codecs:
        attributes.append(("rtpmap", codec.rtpmap()))
        if codec.fmtp:
            attributes.append(("fmtp", f"{codec.payload_type} {codec.fmtp}"))
    attributes.append(("ptime", str(ptime)))
    attributes.append((direction.value, None))
    return MediaDescription(
        media="audio",
        port=port,
        proto="RTP/AVP",
        formats=[str(c.payload_type) for c in all_codecs],
        attributes=attributes,
    )


def build_offer(
    *,
    address: str,
    port: int,
    codecs: Sequence[Codec] = DEFAULT_CODECS,
    telephone_event: Codec | None = TELEPHONE_EVENT,
    ptime: int = 20,
    direction: Direction = Direction.SENDRECV,
    username: str = "hotline",
    origin: Origin | None = None,
) -> SessionDescription:
    """An audio offer. Pass the previous `origin` (its version is then incremented) for a
    re-offer in the same session, e.g. to hold (sendonly) or resume (sendrecv)."""
    if origin is not None:
        origin = replace(origin, session_version=origin.session_version + 1, address=address)
    else:
        origin = _new_origin(address, username)
    media = _audio_media(
        port=port, codecs=codecs, telephone_event=telephone_event, ptime=ptime, direction=direction
    )
    return SessionDescription(
        origin=origin,
        connection=Connection(address, addrtype=_addrtype(address)),
        media=[media],
    )


def _answer_direction(offered: Direction, hold_address: bool, wanted: Direction) -> Direction:
    # The offerer sends if it says sendrecv/sendonly; it receives unless it says sendonly/inactive
    # or uses the old 0.0.0.0 hold. We receive only what it sends and send only what it receives.
    they_send = offered.sends
    they_receive = offered.receives and not hold_address
    return Direction.of(wanted.sends and they_receive, wanted.receives and they_send)


def build_answer(
    offer: SessionDescription,
    *,
    address: str,
    port: int,
    codecs: Sequence[Codec] = DEFAULT_CODECS,
    telephone_event: bool = True,
    ptime: int = 20,
    direction: Direction = Direction.SENDRECV,
    username: str = "hotline",
    origin: Origin | None = None,
) -> tuple[SessionDescription, AudioSession]:
    """Answer an offer (RFC 3264 §6): the first audio stream with a codec in common is accepted
    with the offerer's payload types; every other m-line is rejected with port 0. Raises
    `SdpError(status=488)` when no audio stream can be accepted."""
    if origin is not None:
        origin = replace(origin, session_version=origin.session_version + 1, address=address)
    else:
        origin = _new_origin(address, username)
    answer = SessionDescription(
        origin=origin, connection=Connection(address, addrtype=_addrtype(address))
    )
    session: AudioSession | None = None
    for index, media in enumerate(offer.media):
        accepted = None
        if session is None and media.media == "audio" and media.port != 0:
            accepted = _accept_audio(offer, media, codecs, telephone_event)
        if accepted is None:
            answer.media.append(
                MediaDescription(media.media, 0, media.proto, list(media.formats) or ["0"])
            )
            continue
        common, event, remote = accepted
        ours = _answer_direction(offer.media_direction(media), remote.is_hold_address, direction)
        answer.media.append(
            _audio_media(
                port=port, codecs=common, telephone_event=event, ptime=ptime, direction=ours
            )
        )
        session = AudioSession(
            remote_address=remote.address,
            remote_port=media.port,
            codec=common[0],
            codecs=tuple(common),
            telephone_event=event.payload_type if event else None,
            ptime=media.ptime or ptime,
            direction=ours,
            media_index=index,
        )
    if session is None:
        raise SdpError("No common audio codec", status=488)
    return answer, session


def _accept_audio(
    offer: SessionDescription,
    media: MediaDescription,
    codecs: Sequence[Codec],
    telephone_event: bool,
) -> tuple[list[Codec], Codec | None, Connection] | None:
    if media.proto.upper() != "RTP/AVP":
        return None
    remote = offer.media_connection(media)
    if remote is None:
        return None
    offered = media.codecs()
    common = [c for c in offered if any(c.same_format(ours) for ours in codecs)]
    if not common:
        return None
    event = None
    if telephone_event:
        event = next((c for c in offered if c.same_format(TELEPHONE_EVENT)), None)
        if event is not None and event.fmtp is None:
            event = replace(event, fmtp=TELEPHONE_EVENT.fmtp)
    return common, event, remote


def negotiate(offer: SessionDescription, answer: SessionDescription) -> AudioSession:
    """What an answer to our offer agreed on (we were the offerer). Raises `SdpError(488)` when
    the answer rejected the audio stream or names no codec we offered."""
    for index, (ours, theirs) in enumerate(zip(offer.media, answer.media, strict=False)):
        if ours.media != "audio" or theirs.media != "audio" or theirs.port == 0:
            continue
        remote = answer.media_connection(theirs)
        if remote is None:
            raise SdpError("SDP answer has no connection address")
        offered = ours.codecs()
        common = [c for c in theirs.codecs() if any(c.same_format(o) for o in offered)]
        audio = [c for c in common if not c.same_format(TELEPHONE_EVENT)]
        if not audio:
            raise SdpError("SDP answer names no codec we offered", status=488)
        event = next((c for c in common if c.same_format(TELEPHONE_EVENT)), None)
        our_direction = ours.direction or offer.direction
        their_direction = answer.media_direction(theirs)
        direction = Direction.of(
            our_direction.sends and their_direction.receives and not remote.is_hold_address,
            our_direction.receives and their_direction.sends,
        )
        return AudioSession(
            remote_address=remote.address,
            remote_port=theirs.port,
            codec=audio[0],
            codecs=tuple(audio),
            telephone_event=event.payload_type if event else None,
            ptime=theirs.ptime or ours.ptime or 20,
            direction=direction,
            media_index=index,
        )
    raise SdpError("SDP answer rejected the audio stream", status=488)


def answerer_session(offer: SessionDescription, answer: SessionDescription) -> AudioSession:
    """What we agreed on when we answered `offer` with `answer` (which may come from the layer
    above rather than `build_answer`). Raises `SdpError(488)` if the answer takes no audio."""
    for index, (theirs, ours) in enumerate(zip(offer.media, answer.media, strict=False)):
        if theirs.media != "audio" or ours.media != "audio" or ours.port == 0:
            continue
        remote = offer.media_connection(theirs)
        if remote is None:
            raise SdpError("SDP offer has no connection address")
        offered = theirs.codecs()
        common = [c for c in ours.codecs() if any(c.same_format(o) for o in offered)]
        audio = [c for c in common if not c.same_format(TELEPHONE_EVENT)]
        if not audio:
            raise SdpError("SDP answer names no offered codec", status=488)
        event = next((c for c in common if c.same_format(TELEPHONE_EVENT)), None)
        ours_direction = answer.media_direction(ours)
        direction = Direction.of(
            ours_direction.sends and not remote.is_hold_address, ours_direction.receives
        )
        return AudioSession(
            remote_address=remote.address,
            remote_port=theirs.port,
            codec=audio[0],
            codecs=tuple(audio),
            telephone_event=event.payload_type if event else None,
            ptime=theirs.ptime or ours.ptime or 20,
            direction=direction,
            media_index=index,
        )
    raise SdpError("SDP answer takes no audio stream", status=488)


def with_direction(description: SessionDescription, direction: Direction) -> SessionDescription:
    """A re-offer of the same session with every audio stream set to `direction` and the
    origin version incremented: sendonly to put the other side on hold, sendrecv to resume."""
    copy = description.next_version()
    for media in copy.media:
        if media.media == "audio" and media.port != 0:
            media.attributes = [(k, v) for k, v in media.attributes if k not in DIRECTIONS]
            media.attributes.append((direction.value, None))
    copy.attributes = [(k, v) for k, v in copy.attributes if k not in DIRECTIONS]
    return copy


def parse_codecs(names: Iterable[str]) -> tuple[Codec, ...]:
    """Codecs by name (`PCMU`, `PCMA`), for settings."""
    known = {c.name.upper(): c for c in DEFAULT_CODECS}
    out = []
    for name in names:
        codec = known.get(name.strip().upper())
        if codec is None:
            raise SdpError(f"Unknown codec {name!r}; known: {', '.join(known)}")
        out.append(codec)
    return tuple(out)
