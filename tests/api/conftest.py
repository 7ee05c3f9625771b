"""The `api` fixture: the browser API on each database (see tests/api/harness.py)."""

from __future__ import annotations

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.harness import ApiHarness, build_harness


@pytest_asyncio.fixture(loop_scope="function")
async def api(sessions: async_sessionmaker[AsyncSession]) -> ApiHarness:
    return await build_harness(sessions)
