"""The collector's record: every pass counted with its pause, per generation."""

from __future__ import annotations

import gc

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
