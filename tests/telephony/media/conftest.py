"""The media tests' event log: each test module provides its own `engine` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from hotline.telephony.media.engine import LocalMediaEngine
from tests.telephony.media.support import Events


@pytest_asyncio.fixture(loop_scope="module")
async def events(engine: LocalMediaEngine) -> AsyncIterator[Events]:
    log = Events()
    unsubscribe = engine.subscribe(log)
    yield log
    unsubscribe()
