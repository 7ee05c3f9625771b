"""Reception statistics as RFC 3550 appendix A defines them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hotline.telephony.media.stats import ReceiveStats


def feed(stats: ReceiveStats, seqs: list[int], *, ssrc: int = 1, gap: float = 0.02) -> None:
    for i, seq in enumerate(seqs):
        stats.update(ssrc, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, 10 + i * gap, 160)


def test_no_loss_when_every_packet_arrives() -> None:
    stats = ReceiveStats()
    feed(stats, list(range(100)))
    assert (stats.expected, stats.received, stats.lost) == (100, 100, 0)


def test_dropped_packets_are_counted_lost() -> None:
    stats = ReceiveStats()
    feed(stats, [s for s in range(100) if s % 10 != 5])
    assert stats.expected == 100
    assert stats.lost == 10


def test_sequence_wrap_keeps_counting() -> None:
    stats = ReceiveStats()
    feed(stats, list(range(65500, 65636)))
    assert stats.expected == 136
    assert stats.lost == 0
    assert stats.extended_max_seq == 65536 + 99


def test_duplicates_are_not_received_twice() -> None:
    stats = ReceiveStats()
    assert stats.update(1, 5, 0, 1.0, 10)
    assert not stats.update(1, 5, 0, 1.0, 10)
    assert (stats.received, stats.duplicates) == (1, 1)


def test_reordered_packets_are_not_lost() -> None:
    stats = ReceiveStats()
    feed(stats, [0, 1, 3, 2, 4, 6, 5, 7])
    assert stats.lost == 0


def test_a_new_stream_adds_to_the_totals() -> None:
    stats = ReceiveStats()
    feed(stats, [0, 1, 2, 4], ssrc=1)
    feed(stats, [100, 101, 103], ssrc=2)
    assert stats.streams == 2
    assert stats.expected == 9
    assert stats.lost == 2


def test_jitter_is_zero_for_perfectly_timed_packets() -> None:
    stats = ReceiveStats()
    feed(stats, list(range(200)))
    assert stats.jitter_ms() < 0.2


def test_jitter_follows_alternating_delay() -> None:
    # every other packet 10 ms late: |D| is 80 units each time, so J converges to 80 (10 ms)
    stats = ReceiveStats()
    for i in range(400):
        stats.update(1, i, i * 160, 10 + i * 0.02 + (0.01 if i % 2 else 0.0), 160)
    assert 9.0 < stats.jitter_ms() < 10.5


def test_interval_report_gives_fraction_lost_since_last_report() -> None:
    stats = ReceiveStats()
    feed(stats, [s for s in range(100) if s % 4 != 1])
    fraction, cumulative = stats.interval_report()
    assert abs(fraction - 0.25) < 0.02
    assert cumulative == 25
    feed(stats, list(range(100, 200)))
    fraction, _ = stats.interval_report()
    assert fraction == 0.0


@given(st.lists(st.integers(0, 1999), unique=True, min_size=1, max_size=300))
def test_loss_is_expected_minus_received_for_any_subset(kept: list[int]) -> None:
    kept.sort()
    stats = ReceiveStats()
    feed(stats, kept)
    assert stats.expected == kept[-1] - kept[0] + 1
    assert stats.lost == stats.expected - len(kept)
