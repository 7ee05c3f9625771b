"""The control process's garbage collector, tuned for a long-running server with one event loop.

Why: CPython's cyclic collector stops the whole process while it runs, and a full (oldest
generation) pass walks every tracked object in the heap. After start-up the control process
holds hundreds of thousands of long-lived objects (SQLAlchemy's mappers and compiled caches,
pydantic models, FastAPI's routes, the configuration), so each full pass took 100-300 ms under
call load (measured with bench/sip_load.py): every SIP transaction, every call and every
WebSocket waited meanwhile, which showed up as REGISTER/OPTIONS p99 and call-setup tails.

What `settle` does, once the platform has started:
- one collection, then `gc.freeze()`: everything alive at start-up moves to the permanent
  generation, which no later pass walks (the objects stay alive, as they would anyway);
- a larger threshold for the youngest generation, so short bursts of allocation (a call's
  messages, an HTTP request) are mostly freed by reference counting before a pass is due.

Ended calls do not need the collector at all: the SIP dialog and the call drop the handlers that
tied them into reference cycles (hotline/telephony/sip/dialog.py, hotline/calls/call.py).

`GcPauses` records how long each pass took, for /api/v1/health, so an operator (and the load
bench) sees whether the collector still stalls the loop. No library does this; it is a few lines
over the standard `gc.callbacks`."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

YOUNG_THRESHOLD = 10_000
"""Allocations (net of frees) before a youngest-generation pass: CPython's default is 700."""


def settle() -> None:
    """Freeze what start-up left alive, space out the young passes (see the module's text) and
    start recording the collector's pauses for `report`. Called once by `hotline serve`."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    _PROCESS.frozen_objects = gc.get_freeze_count()
    _PROCESS.install()


def report() -> dict[str, Any] | None:
    """The process's collector pauses since `settle`, or None when it was not called (tests)."""
    return _PROCESS.as_dict() if _PROCESS.installed else None


@dataclass
class GcPauses:
    """Collector passes since start, and the longest pause per generation, in milliseconds."""

    passes: list[int] = field(default_factory=lambda: [0, 0, 0])
    longest_ms: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    total_ms: float = 0.0
    frozen_objects: int = 0
    """Counted once, at `settle`: `gc.get_freeze_count()` walks the whole permanent generation
    (about 20 ms for the control process's 900,000 objects), and /api/v1/health, which
    monitors and the load benches poll twice a second, stalled the event loop that long each
    time, and SIP, calls and WebSockets waited (found with py-spy under bench/web_load.py)."""
    _started: float = 0.0

    @property
    def installed(self) -> bool:
        return self._callback in gc.callbacks

    def install(self) -> None:
        if not self.installed:
            gc.callbacks.append(self._callback)

    def remove(self) -> None:
        if self.installed:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = int(info.get("generation", 0))
        pause = (time.perf_counter() - self._started) * 1000
        self.passes[generation] += 1
        self.total_ms += pause
        if pause > self.longest_ms[generation]:
            self.longest_ms[generation] = pause

    def as_dict(self) -> dict[str, Any]:
        return {
            "passes": list(self.passes),
            "longest_pause_ms": [round(ms, 1) for ms in self.longest_ms],
            "total_pause_ms": round(self.total_ms, 1),
            "frozen_objects": self.frozen_objects,
        }


_PROCESS = GcPauses()
"""The collector is one per process, and so is its record."""
