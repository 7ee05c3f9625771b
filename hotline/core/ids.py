"""Identifiers: time-ordered UUIDs (version 7 layout, RFC 9562) so that ids sort by creation.

Python 3.11's `uuid` has no uuid7, hence these few lines."""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> str:
    """A new time-ordered id as 32 hex digits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand >> 68 & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value).hex
