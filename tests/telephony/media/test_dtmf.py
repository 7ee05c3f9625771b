"""RFC 4733 key presses: SIPp's recordings, repeats, losses, long presses, and our own sender."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.telephony.media import dtmf, rtp
from hotline.telephony.media.peer import read_pcap_rtp

PCAPS = Path("/usr/share/sip-tester")
KEYS = {**{str(d): str(d) for d in range(10)}, "star": "*", "pound": "#"}


def presses(packets: list[rtp.RtpPacket]) -> list[str]:
    receiver = dtmf.DtmfReceiver()
    found = []
    for packet in packets:
        press = receiver.feed(packet.timestamp, packet.payload)
        if press is not None:
            found.append(press.digit)
    return found


@pytest.mark.parametrize("name", sorted(KEYS))
def test_each_sipp_recording_is_one_key_press(name: str) -> None:
    packets = [rtp.parse_rtp(d) for _, d in read_pcap_rtp(str(PCAPS / f"dtmf_2833_{name}.pcap"))]
    assert presses(packets) == [KEYS[name]]


def test_repeated_end_packets_and_late_packets_are_not_new_presses() -> None:
    packets = [rtp.parse_rtp(d) for _, d in read_pcap_rtp(str(PCAPS / "dtmf_2833_5.pcap"))]
    assert presses(packets + packets[-3:] + packets[:2]) == ["5"]


def test_a_press_whose_first_packets_were_lost_is_still_reported() -> None:
    packets = [rtp.parse_rtp(d) for _, d in read_pcap_rtp(str(PCAPS / "dtmf_2833_5.pcap"))]
    assert presses(packets[-2:]) == ["5"]


def test_the_same_key_twice_is_two_presses() -> None:
    receiver = dtmf.DtmfReceiver()
    end = dtmf.build_event(1, end=True, duration=800)
    assert receiver.feed(1000, end) is not None
    assert receiver.feed(1000, end) is None
    assert receiver.feed(3000, end) is not None


def test_a_long_press_sent_in_segments_is_one_press() -> None:
    receiver = dtmf.DtmfReceiver()
    first = receiver.feed(0, dtmf.build_event(4, end=False, duration=0xFFFF))
    second = receiver.feed(0xFFFF, dtmf.build_event(4, end=False, duration=800))
    assert first is not None
    assert second is None


@given(st.text(alphabet=dtmf.DIGITS, min_size=1, max_size=12))
def test_what_the_sender_sends_the_receiver_reports(digits: str) -> None:
    receiver = dtmf.DtmfReceiver()
    ts = 0
    event_ts = 0
    found = []
    for interval in dtmf.key_press_packets(digits):
        for packet in interval:
            if packet.marker:
                event_ts = ts
            press = receiver.feed(event_ts, packet.payload)
            if press is not None:
                found.append(press.digit)
        ts += 160
    assert "".join(found) == digits


def test_every_press_ends_with_three_end_packets_the_repeats_marked() -> None:
    schedule = [p for interval in dtmf.key_press_packets("7") for p in interval]
    ends = [p for p in schedule if dtmf.parse_event(p.payload).end]
    assert len(ends) == 3
    assert [p.repeat for p in ends] == [False, True, True]
    assert schedule[0].marker
    assert dtmf.parse_event(ends[0].payload).duration == 800


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="not a DTMF key"):
        dtmf.code_of("x")
