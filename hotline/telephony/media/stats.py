"""Per-leg reception statistics (RFC 3550 appendix A) and the quality figures of a leg.

Loss and jitter are what make a crisis call hard to understand; they are measured here the way
RFC 3550 defines them so that our figures, the phone's RTCP reports and tools such as Wireshark
agree. A leg may see several streams in its life (a phone that restarts its RTP after a re-INVITE
gets a new SSRC): the counters of each stream are added to the leg's totals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

MAX_DROPOUT = 3000
MAX_MISORDER = 100
SEQ_MOD = 1 << 16


@dataclass(frozen=True, slots=True)
class LegQuality:
    """What a leg carried and how well; returned by release and logged with the contact.

    `packets_lost` and `loss_fraction` are about what we received (expected by sequence numbers
    minus received); `jitter_ms` is RFC 3550's interarrival jitter at the end of the leg,
    `max_jitter_ms` its highest value during the leg. The `remote_*` figures are the far end's view
    of what we sent, from its last RTCP receiver report (None when it sent none)."""

    duration_seconds: float
    packets_sent: int
    octets_sent: int
    packets_received: int
    octets_received: int
    packets_expected: int
    packets_lost: int
    loss_fraction: float
    jitter_ms: float
    max_jitter_ms: float
    duplicates: int
    streams: int
    remote_loss_fraction: float | None = None
    remote_packets_lost: int | None = None
    remote_jitter_ms: float | None = None
    round_trip_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LegQuality:
        return cls(**data)

    def since(self, earlier: LegQuality) -> LegQuality:
        """The figures of what the leg carried after `earlier` was read: an agent's browser leg
        lives across calls, so one call's part is the difference of two readings. Counters and
        the loss are differences; the jitter, its highest value, the streams and the far end's
        figures are as they stand at the end (RFC 3550 keeps no history to split them by)."""
        expected = self.packets_expected - earlier.packets_expected
        lost = max(0, self.packets_lost - earlier.packets_lost)
        return replace(
            self,
            duration_seconds=round(self.duration_seconds - earlier.duration_seconds, 3),
            packets_sent=self.packets_sent - earlier.packets_sent,
            octets_sent=self.octets_sent - earlier.octets_sent,
            packets_received=self.packets_received - earlier.packets_received,
            octets_received=self.octets_received - earlier.octets_received,
            packets_expected=expected,
            packets_lost=lost,
            loss_fraction=round(lost / expected, 4) if expected > 0 else 0.0,
            duplicates=self.duplicates - earlier.duplicates,
        )


class ReceiveStats:
    """Sequence tracking (A.1), loss (A.3) and interarrival jitter (A.8) of received RTP.

    `clock_rate` converts arrival times (seconds) to timestamp units. The worker calls `update`
    once per packet, so it is kept to integer arithmetic and attribute access."""

    __slots__ = (
        "_bad_seq",
        "_base_seq",
        "_cycles",
        "_expected_prior",
        "_received_prior",
        "_received_stream",
        "_transit",
        "clock_rate",
        "duplicates",
        "jitter",
        "max_jitter",
        "max_seq",
        "octets",
        "received",
        "ssrc",
        "streams",
        "_expected_done",
        "_lost_done",
    )

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        self.streams = 0
        self.received = 0  # every packet counted, all streams
        self.octets = 0
        self.duplicates = 0
        self.jitter = 0.0  # timestamp units, current stream
        self.max_jitter = 0.0
        self.max_seq = 0
        self._base_seq = 0
        self._cycles = 0
        self._bad_seq = SEQ_MOD + 1
        self._received_stream = 0
        self._transit: int | None = None
        self._expected_prior = 0
        self._received_prior = 0
        self._expected_done = 0  # expected and lost of earlier streams
        self._lost_done = 0

    def _start_stream(self, ssrc: int, seq: int) -> None:
        if self.ssrc is not None:
            self._expected_done += self.expected_stream
            self._lost_done += max(0, self.expected_stream - self._received_stream)
        self.ssrc = ssrc
        self.streams += 1
        self._restart_sequence(seq)
        self._transit = None  # the jitter estimate carries on: it describes the leg's path
        self._expected_prior = 0
        self._received_prior = 0

    def _restart_sequence(self, seq: int) -> None:
        self._base_seq = seq
        self.max_seq = seq
        self._bad_seq = SEQ_MOD + 1
        self._cycles = 0
        self._received_stream = 0

    def update(self, ssrc: int, seq: int, timestamp: int, arrival: float, size: int) -> bool:
        """Count one packet. `timestamp`/`arrival` feed the jitter; pass arrival < 0 for packets
        whose timestamp is not a sampling instant (telephone-events). Returns False for a packet
        that should be dropped: a duplicate, or the first of an unexplained sequence jump."""
        if ssrc != self.ssrc:
            self._start_stream(ssrc, seq)
            self.received += 1
            self._received_stream += 1
            self.octets += size
            if arrival >= 0:
                self._transit = int(arrival * self.clock_rate) - timestamp
            return True
        delta = (seq - self.max_seq) % SEQ_MOD
        if delta == 0:
            self.duplicates += 1
            return False
        if delta < MAX_DROPOUT:
            if seq < self.max_seq:
                self._cycles += SEQ_MOD
            self.max_seq = seq
        elif delta <= SEQ_MOD - MAX_MISORDER:
            if seq != self._bad_seq:
                self._bad_seq = (seq + 1) % SEQ_MOD
                return False
            # Two packets in sequence after a jump: the sender restarted its numbering.
            self._expected_done += self.expected_stream
            self._lost_done += max(0, self.expected_stream - self._received_stream)
            self._restart_sequence(seq)
        self.received += 1
        self._received_stream += 1
        self.octets += size
        if arrival >= 0:
            transit = int(arrival * self.clock_rate) - timestamp
            if self._transit is not None:
                d = (transit - self._transit + (1 << 31)) % (1 << 32) - (1 << 31)
                self.jitter += (abs(d) - self.jitter) / 16
                if self.jitter > self.max_jitter:
                    self.max_jitter = self.jitter
            self._transit = transit
        return True

    @property
    def extended_max_seq(self) -> int:
        return self._cycles + self.max_seq

    @property
    def expected_stream(self) -> int:
        if self.ssrc is None:
            return 0
        return self._cycles + self.max_seq - self._base_seq + 1

    @property
    def expected(self) -> int:
        return self._expected_done + self.expected_stream

    @property
    def lost(self) -> int:
        return self._lost_done + max(0, self.expected_stream - self._received_stream)

    def interval_report(self) -> tuple[float, int]:
        """Fraction lost since the last call and cumulative loss of the current stream, for an
        RTCP report block (A.3)."""
        expected = self.expected_stream
        expected_interval = expected - self._expected_prior
        received_interval = self._received_stream - self._received_prior
        self._expected_prior = expected
        self._received_prior = self._received_stream
        lost_interval = expected_interval - received_interval
        fraction = 0.0
        if expected_interval > 0 and lost_interval > 0:
            fraction = lost_interval / expected_interval
        return fraction, expected - self._received_stream

    def jitter_ms(self) -> float:
        return self.jitter * 1000 / self.clock_rate

    def max_jitter_ms(self) -> float:
        return self.max_jitter * 1000 / self.clock_rate
