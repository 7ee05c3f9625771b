"""Fixtures of the IVR tests that need a database: the COVID configuration loaded into it."""

from __future__ import annotations

import textwrap

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config.loader import load_config
from hotline.config.loader import template_path as config_template
from hotline.config.service import import_config
from tests.config.factories import FAST_HASHING

Sessions = async_sessionmaker[AsyncSession]


def small_flow(queue: str = "medical", name: str = "Small") -> str:
    return textwrap.dedent(
        f"""\
        name: {name}
        start: menu
        steps:
          menu:
            type: menu
            prompts: {{say: "Нажмите один"}}
            options: {{"1": queue}}
            fallback: queue
          queue:
            type: enqueue
            queue: {queue}
        """
    )


@pytest_asyncio.fixture(loop_scope="function")
async def configured(sessions: Sessions) -> Sessions:
    """The database with the COVID configuration in it."""
    async with sessions() as session:
        await import_config(
            session=session,
            config=load_config(config_template("covid")),
            password_cost=FAST_HASHING,
        )
    return sessions
