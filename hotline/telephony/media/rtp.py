"""RTP and RTCP packets (RFC 3550): parse and build.

RTP carries the audio; RTCP carries each side's view of the other's stream (loss, jitter, round
trip). The media worker's packet path reads the fixed header with one `struct` call; the full
parser here also serves tests, tools and RTCP. Only what a G.711 call needs is built: SR, RR,
SDES CNAME and BYE. Other RTCP packets are skipped when received."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

RTP_VERSION = 2
RTP_HEADER = struct.Struct("!BBHII")
RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
#: seconds between 1900 (NTP epoch) and 1970 (Unix epoch)
NTP_UNIX_OFFSET = 2_208_988_800

_RTCP_COMMON = struct.Struct("!BBH")
_SR_INFO = struct.Struct("!IIIII")
_REPORT_BLOCK = struct.Struct("!IIIIII")


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP or RTCP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet, header fields decoded; `payload` excludes CSRCs, extension and padding."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()


def looks_like_rtcp(data: bytes) -> bool:
    """True for RTCP (payload type 200-204 in byte 1), which shares ports with RTP in rtcp-mux."""
    return len(data) >= 2 and 200 <= data[1] <= 204


def payload_offset(data: bytes) -> tuple[int, int]:
    """Where the payload of an RTP packet starts and ends, past CSRCs, extension and padding.

    Raises RtpError on a malformed packet. The worker calls this only when the first byte is not
    the plain 0x80, so the common case costs nothing."""
    first = data[0]
    if first >> 6 != RTP_VERSION:
        raise RtpError("not RTP version 2")
    start = 12 + 4 * (first & 0x0F)
    end = len(data)
    if first & 0x10:
        if end < start + 4:
            raise RtpError("truncated header extension")
        (words,) = struct.unpack_from("!H", data, start + 2)
        start += 4 + 4 * words
    if first & 0x20:
        if end <= start:
            raise RtpError("padding without payload")
        end -= data[-1]
    if end < start:
        raise RtpError("truncated packet")
    return start, end


def parse_rtp(data: bytes) -> RtpPacket:
    """Decode an RTP packet; raises RtpError when it is not one."""
    if len(data) < RTP_HEADER.size:
        raise RtpError("shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = RTP_HEADER.unpack_from(data)
    start, end = payload_offset(data)
    count = first & 0x0F
    csrcs = struct.unpack_from(f"!{count}I", data, 12) if count else ()
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[start:end]),
        marker=bool(second & 0x80),
        csrcs=tuple(csrcs),
    )


def build_rtp(
    *,
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool = False,
) -> bytes:
    """Encode an RTP packet with the fixed 12-byte header (no CSRC, no extension)."""
    return (
        RTP_HEADER.pack(
            0x80,
            (0x80 if marker else 0) | (payload_type & 0x7F),
            sequence & 0xFFFF,
            timestamp & 0xFFFFFFFF,
            ssrc & 0xFFFFFFFF,
        )
        + payload
    )


# ---------------------------------------------------------------------------------------- RTCP


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One sender's stream as seen by the reporter (RFC 3550 6.4.1)."""

    ssrc: int
    fraction_lost: float  # 0..1, over the last report interval
    cumulative_lost: int
    highest_sequence: int  # extended: cycles << 16 | highest sequence number
    jitter: int  # in timestamp units
    last_sr: int  # middle 32 bits of the NTP time of the last SR received, 0 if none
    delay_since_last_sr: int  # in 1/65536 s


@dataclass(frozen=True, slots=True)
class SenderInfo:
    ntp_timestamp: int  # 64-bit NTP time
    rtp_timestamp: int
    packet_count: int
    octet_count: int

    @property
    def ntp_middle(self) -> int:
        """The middle 32 bits, which a receiver echoes back as LSR."""
        return (self.ntp_timestamp >> 16) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class RtcpReport:
    """A sender report (`sender` set) or a receiver report (`sender` None)."""

    ssrc: int
    sender: SenderInfo | None
    blocks: tuple[ReportBlock, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class RtcpBye:
    ssrcs: tuple[int, ...]


RtcpPacket = RtcpReport | RtcpBye


def ntp_time(unix_seconds: float) -> int:
    """The 64-bit NTP timestamp of a Unix time."""
    whole = int(unix_seconds)
    fraction = int((unix_seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return ((whole + NTP_UNIX_OFFSET) & 0xFFFFFFFF) << 32 | fraction


def _block_bytes(block: ReportBlock) -> bytes:
    fraction = max(0, min(255, int(block.fraction_lost * 256)))
    cumulative = max(-(1 << 23), min((1 << 23) - 1, block.cumulative_lost)) & 0xFFFFFF
    return _REPORT_BLOCK.pack(
        block.ssrc,
        fraction << 24 | cumulative,
        block.highest_sequence & 0xFFFFFFFF,
        block.jitter & 0xFFFFFFFF,
        block.last_sr & 0xFFFFFFFF,
        block.delay_since_last_sr & 0xFFFFFFFF,
    )


def _header(count: int, packet_type: int, body_length: int) -> bytes:
    return _RTCP_COMMON.pack(0x80 | count, packet_type, (body_length + 4) // 4 - 1)


def build_report(report: RtcpReport) -> bytes:
    """An SR or RR packet (up to 31 report blocks)."""
    blocks = b"".join(_block_bytes(b) for b in report.blocks[:31])
    body = struct.pack("!I", report.ssrc)
    if report.sender is not None:
        info = report.sender
        body += _SR_INFO.pack(
            info.ntp_timestamp >> 32,
            info.ntp_timestamp & 0xFFFFFFFF,
            info.rtp_timestamp & 0xFFFFFFFF,
            info.packet_count & 0xFFFFFFFF,
            info.octet_count & 0xFFFFFFFF,
        )
    body += blocks
    packet_type = RTCP_SR if report.sender is not None else RTCP_RR
    return _header(len(report.blocks[:31]), packet_type, len(body)) + body


def build_sdes_cname(ssrc: int, cname: str) -> bytes:
    """An SDES packet with one CNAME item: RFC 3550 requires it in every compound packet."""
    text = cname.encode()[:255]
    chunk = struct.pack("!IBB", ssrc, 1, len(text)) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return _header(1, RTCP_SDES, len(chunk)) + chunk


def build_bye(ssrc: int) -> bytes:
    return _header(1, RTCP_BYE, 4) + struct.pack("!I", ssrc)


def build_compound(report: RtcpReport, cname: str, *, bye: bool = False) -> bytes:
    """A compound RTCP packet: the report, SDES CNAME, and BYE when the stream ends."""
    data = build_report(report) + build_sdes_cname(report.ssrc, cname)
    if bye:
        data += build_bye(report.ssrc)
    return data


def _parse_block(data: bytes, offset: int) -> ReportBlock:
    ssrc, lost, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, offset)
    cumulative = lost & 0xFFFFFF
    if cumulative & 0x800000:
        cumulative -= 1 << 24
    return ReportBlock(
        ssrc=ssrc,
        fraction_lost=(lost >> 24) / 256,
        cumulative_lost=cumulative,
        highest_sequence=highest,
        jitter=jitter,
        last_sr=lsr,
        delay_since_last_sr=dlsr,
    )


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """The SR, RR and BYE packets of a compound RTCP packet; other types are skipped.

    Raises RtpError when the compound packet is malformed."""
    packets: list[RtcpPacket] = []
    offset = 0
    while offset + 4 <= len(data):
        first, packet_type, length = _RTCP_COMMON.unpack_from(data, offset)
        if first >> 6 != RTP_VERSION:
            raise RtpError("not RTCP version 2")
        end = offset + 4 * (length + 1)
        if end > len(data):
            raise RtpError("truncated RTCP packet")
        count = first & 0x1F
        if packet_type in (RTCP_SR, RTCP_RR):
            body = offset + 4
            (ssrc,) = struct.unpack_from("!I", data, body)
            body += 4
            sender = None
            if packet_type == RTCP_SR:
                ntp_hi, ntp_lo, rtp_ts, packets_sent, octets = _SR_INFO.unpack_from(data, body)
                sender = SenderInfo(ntp_hi << 32 | ntp_lo, rtp_ts, packets_sent, octets)
                body += _SR_INFO.size
            if body + count * _REPORT_BLOCK.size > end:
                raise RtpError("report blocks overrun the packet")
            blocks = tuple(_parse_block(data, body + i * _REPORT_BLOCK.size) for i in range(count))
            packets.append(RtcpReport(ssrc=ssrc, sender=sender, blocks=blocks))
        elif packet_type == RTCP_BYE:
            if offset + 4 + 4 * count > end:
                raise RtpError("BYE overruns the packet")
            packets.append(RtcpBye(struct.unpack_from(f"!{count}I", data, offset + 4)))
        offset = end
    if offset != len(data):
        raise RtpError("trailing bytes after RTCP packets")
    return packets
