"""`prompt_cache` for the browser tests that run a whole Hotline (tests/calls)."""

from __future__ import annotations

from tests.calls.conftest import prompt_cache

__all__ = ["prompt_cache"]
