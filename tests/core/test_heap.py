"""The collector's record: every pass counted with its pause, per generation."""

from __future__ import annotations

import gc

import pytest

from hotline.core.heap import GcPauses


def test_each_collector_pass_is_counted_with_its_pause() -> None:
    pauses = GcPauses()
    pauses.install()
    try:
        gc.collect(0)
        gc.collect(2)
    finally:
        pauses.remove()
    figures = pauses.as_dict()
    assert figures["passes"][0] >= 1
    assert figures["passes"][2] >= 1
    assert figures["longest_pause_ms"][2] > 0
    assert figures["total_pause_ms"] >= figures["longest_pause_ms"][2]
    assert not pauses.installed
    before = list(pauses.passes)
    gc.collect()
    assert pauses.passes == before  # removed: no longer counting


def test_the_report_does_not_walk_the_frozen_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    """`gc.get_freeze_count()` walks every frozen object (about 20 ms in the control process):
    /api/v1/health, polled twice a second, must not stall the event loop with it."""
    pauses = GcPauses(frozen_objects=876_952)  # as `settle` counts them, once

    def walk() -> int:
        raise AssertionError("the report walked the frozen generation")

    monkeypatch.setattr(gc, "get_freeze_count", walk)
    assert pauses.as_dict()["frozen_objects"] == 876_952
