"""RTP and RTCP packets: round trips, optional header parts, and malformed input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.telephony.media import rtp


@given(
    pt=st.integers(0, 127),
    seq=st.integers(0, 0xFFFF),
    ts=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=400),
    marker=st.booleans(),
)
def test_built_packets_parse_back(
    pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool
) -> None:
    data = rtp.build_rtp(
        payload_type=pt, sequence=seq, timestamp=ts, ssrc=ssrc, payload=payload, marker=marker
    )
    packet = rtp.parse_rtp(data)
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc) == (
        pt,
        seq,
        ts,
        ssrc,
    )
    assert packet.payload == payload
    assert packet.marker is marker


def test_csrcs_extension_and_padding_are_stepped_over() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 8, 1, 2, 3)
    csrcs = struct.pack("!II", 10, 11)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x00" * 4
    data = header + csrcs + extension + b"audio" + b"\x00\x00\x03"
    packet = rtp.parse_rtp(data)
    assert packet.csrcs == (10, 11)
    assert packet.payload == b"audio"


@pytest.mark.parametrize(
    "data",
    [b"\x80\x00", b"\x40" + b"\x00" * 11, b"\x8f" + b"\x00" * 11, b"\x90" + b"\x00" * 13],
)
def test_malformed_rtp_is_rejected(data: bytes) -> None:
    with pytest.raises(rtp.RtpError):
        rtp.parse_rtp(data)


def test_sender_report_with_a_block_round_trips_in_a_compound_packet() -> None:
    block = rtp.ReportBlock(
        ssrc=7,
        fraction_lost=0.25,
        cumulative_lost=12,
        highest_sequence=70000,
        jitter=40,
        last_sr=123456,
        delay_since_last_sr=65536,
    )
    sender = rtp.SenderInfo(rtp.ntp_time(1_700_000_000.5), 1234, 50, 8000)
    data = rtp.build_compound(rtp.RtcpReport(99, sender, (block,)), "hotline@test", bye=True)
    report, bye = rtp.parse_rtcp(data)
    assert report == rtp.RtcpReport(99, sender, (block,))
    assert bye == rtp.RtcpBye((99,))


def test_receiver_report_keeps_negative_cumulative_loss() -> None:
    block = rtp.ReportBlock(1, 0.0, -3, 10, 0, 0, 0)
    (report,) = rtp.parse_rtcp(rtp.build_report(rtp.RtcpReport(5, None, (block,))))
    assert isinstance(report, rtp.RtcpReport)
    assert report.sender is None
    assert report.blocks[0].cumulative_lost == -3


def test_truncated_rtcp_is_rejected() -> None:
    data = rtp.build_report(rtp.RtcpReport(5, None, (rtp.ReportBlock(1, 0, 0, 0, 0, 0, 0),)))
    with pytest.raises(rtp.RtpError):
        rtp.parse_rtcp(data[:-4])


def test_rtcp_is_told_apart_from_rtp() -> None:
    assert rtp.looks_like_rtcp(rtp.build_bye(1))
    assert not rtp.looks_like_rtcp(
        rtp.build_rtp(payload_type=0, sequence=1, timestamp=1, ssrc=1, payload=b"")
    )
