"""`admin_api`: the browser API with a running router (its writer started: publishes reach it),
on both databases, the SMALL configuration, an administrator `root`, and prompts in the test's
folder; `prompt_cache` for tests with a whole running Hotline (tests/calls)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.harness import ApiHarness, build_harness
from tests.calls.conftest import prompt_cache

__all__ = ["prompt_cache"]

ADMIN = "root"


@pytest_asyncio.fixture(loop_scope="function")
async def admin_api(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[ApiHarness]:
    harness = await build_harness(
        sessions,
        data_dir=tmp_path,
        prompts_dir=tmp_path / "prompts",
        prompt_upload_max_bytes=64 * 1024,
    )
    await harness.add_user(ADMIN, roles=["admin"])
    await harness.live.routing.start(run_timers=False)
    try:
        yield harness
    finally:
        await harness.live.routing.close()
