"""DTMF as RTP telephone-events (RFC 4733): receive and send.

A key press arrives as a run of packets sharing one RTP timestamp (the event's start), with a
growing duration, and ends with the end bit set; the end packet is sent three times. Callers'
phones and carriers lose and repeat packets, so the receiver reports each key press exactly once:
on the first packet of a new event, whatever it is (even a lone end packet when the earlier ones
were lost), and ignores repeats and late packets of events it has already seen. Events longer than
the 16-bit duration field are sent as segments that continue one another; they are one press."""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

_EVENT = struct.Struct("!BBH")

#: RFC 4733 event codes 0-15 as the characters used in digit strings; 16 is flash (hook flash).
DIGITS = "0123456789*#ABCD"
FLASH = "!"
_CODE_OF = {digit: code for code, digit in enumerate(DIGITS)} | {FLASH: 16}


def digit_of(event: int) -> str | None:
    """The character for an event code; None for codes that are not keys (tones, etc.)."""
    if event < 16:
        return DIGITS[event]
    if event == 16:
        return FLASH
    return None


def code_of(digit: str) -> int:
    """The event code of a key: '0'-'9', '*', '#', 'A'-'D' or '!' for flash."""
    try:
        return _CODE_OF[digit.upper()]
    except KeyError:
        raise ValueError(f"not a DTMF key: {digit!r}") from None


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int  # dBm0 below 0, 0..63
    duration: int  # timestamp units since the event's start

    @property
    def digit(self) -> str | None:
        return digit_of(self.event)


def parse_event(payload: bytes) -> TelephoneEvent:
    """Decode the 4-byte telephone-event payload (RFC 4733 2.3); raises ValueError if short."""
    if len(payload) < 4:
        raise ValueError("telephone-event payload shorter than 4 bytes")
    event, flags, duration = _EVENT.unpack_from(payload)
    return TelephoneEvent(
        event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration
    )


def build_event(event: int, *, end: bool, duration: int, volume: int = 10) -> bytes:
    return _EVENT.pack(event & 0xFF, (0x80 if end else 0) | (volume & 0x3F), duration & 0xFFFF)


@dataclass(frozen=True, slots=True)
class KeyPress:
    """A key press as reported: the digit and the RTP timestamp at which it started."""

    digit: str
    timestamp: int


class DtmfReceiver:
    """Turns a stream of telephone-event payloads into key presses, each reported once."""

    __slots__ = ("_current", "_current_end", "_current_event", "_seen")

    def __init__(self, memory: int = 16) -> None:
        self._seen: deque[int] = deque(maxlen=memory)  # start timestamps already reported
        self._current: int | None = None  # start timestamp of the latest event
        self._current_event = -1
        self._current_end = 0  # timestamp where the latest event (or segment) ends

    def feed(self, timestamp: int, payload: bytes) -> KeyPress | None:
        """One telephone-event packet in; a KeyPress when it starts a new key press."""
        try:
            event = parse_event(payload)
        except ValueError:
            return None
        if timestamp == self._current:
            if event.event == self._current_event:
                self._current_end = (timestamp + event.duration) & 0xFFFFFFFF
            return None
        if timestamp in self._seen:
            return None  # a late packet of an event already reported
        continues = (
            event.event == self._current_event
            and self._current is not None
            and timestamp == self._current_end
            and self._current_end != self._current
        )
        self._seen.append(timestamp)
        self._current = timestamp
        self._current_event = event.event
        self._current_end = (timestamp + event.duration) & 0xFFFFFFFF
        if continues:
            return None  # the next segment of a long press (RFC 4733 2.5.1.3)
        digit = event.digit
        if digit is None:
            return None
        return KeyPress(digit=digit, timestamp=timestamp)


@dataclass(frozen=True, slots=True)
class EventPacket:
    """One packet to send for a key press: its payload, whether it carries the marker bit (the
    first packet of a press: the sender takes the press's timestamp then), and whether it repeats
    the previous packet (same sequence number)."""

    payload: bytes
    marker: bool
    repeat: bool


def key_press_packets(
    digits: str,
    *,
    duration_ms: int = 100,
    gap_ms: int = 60,
    ptime_ms: int = 20,
    volume: int = 10,
    clock_rate: int = 8000,
) -> list[list[EventPacket]]:
    """The packets of a digit string, one list per packet interval (empty during the gap between
    digits). Each digit: packets every `ptime_ms` with a growing duration, then the end packet
    three times, the repeats with the same sequence number, as common phones do (RFC 4733
    2.5.1.4 asks for the repeats, the pcaps shipped with SIPp show the numbering)."""
    step = clock_rate * ptime_ms // 1000
    schedule: list[list[EventPacket]] = []
    for digit in digits:
        code = code_of(digit)
        total = max(step, clock_rate * duration_ms // 1000)
        duration = step
        first = True
        while duration < total:
            payload = build_event(code, end=False, duration=duration, volume=volume)
            schedule.append([EventPacket(payload, first, False)])
            first = False
            duration += step
        end = build_event(code, end=True, duration=total, volume=volume)
        schedule.append([EventPacket(end, first, False)])
        schedule.append([EventPacket(end, False, True)])
        schedule.append([EventPacket(end, False, True)])
        gap = max(1, gap_ms // ptime_ms)
        schedule.extend([] for _ in range(gap - 1))
    return schedule
