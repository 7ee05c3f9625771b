"""The composition root: the one place that builds Hotline's parts from the settings and hands each
the typed dependencies it needs. Only command-line commands (and tests) call `build_app`; nothing
imports this module back. It grows as parts arrive (router, SIP, API)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hotline.core.clock import Clock, SystemClock
from hotline.core.events import InProcessBus
from hotline.core.settings import Settings
from hotline.db.engine import create_engine, create_sessions


@dataclass
class App:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: InProcessBus = field(default_factory=InProcessBus)

    async def close(self) -> None:
        """Release the database connections."""
        await self.engine.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None) -> App:
    """Wire the parts. Opens no connection yet; creates the data directory when the database is
    the default SQLite file inside it."""
    if settings.database_url is None or make_url(settings.database_url).get_backend_name() == (
        "sqlite"
    ):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings)
    return App(
        settings=settings,
        clock=clock or SystemClock(),
        engine=engine,
        sessions=create_sessions(engine),
    )
