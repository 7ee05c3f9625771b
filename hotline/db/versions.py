"""Versioned configuration records (IVR flows, agent scripts, forms): one row per published
version, never changed afterwards except for which one is current.

Publishing adds version N+1 under a key (a line's id, a script's id) and makes it current; rolling
back adds a new version too, a copy of an older one (`based_on`), so the table is the audit trail
of who put what live and when. At most one version per key is current: each table declares a
partial unique index for that, which is the last guard against two publishes at once. This module
is the one place that knows how to take turns, number versions and find them; each domain keeps
its own checks of what a version may say."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Boolean, Integer, String, Text, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from hotline.core.errors import Conflict, InvalidInput, NotFound
from hotline.db.base import UTCDateTime, utcnow


class Versioned:
    """The columns every versioned record has besides its key and its content."""

    version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200))
    based_on: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)


V = TypeVar("V", bound=Versioned)


def require_actor(actor: str) -> str:
    """The publisher's name, stripped; refused when blank (the history must say who)."""
    if not actor.strip():
        raise InvalidInput("say who publishes: the audit trail needs a name", field="actor")
    return actor.strip()


class VersionLog(Generic[V]):
    """The versions of one kind of record, by key: `VersionLog(IvrFlowVersion, "line_id", "IVR
    flow")`. Its publishing steps run inside `publishing`, and `take_turn` comes first there."""

    def __init__(self, model: type[V], key: str, noun: str, *, owner: str = "") -> None:
        self.model = model
        self.key_name = key
        self.noun = noun
        self.owner = owner  # what the key names, for messages: "line" -> "line 'city'"
        self._key: InstrumentedAttribute[str] = getattr(model, key)
        self._version: InstrumentedAttribute[int] = getattr(model, "version")  # noqa: B009
        self._current: InstrumentedAttribute[bool] = getattr(model, "is_current")  # noqa: B009

    @asynccontextmanager
    async def publishing(self, session: AsyncSession, key: str) -> AsyncIterator[bool]:
        """One publish: a transaction of its own when the session is not in one (yields True:
        the caller announces the change after it), else a savepoint (yields False: the caller's
        transaction commits and announces). Two publishes under one key at the same moment that
        slipped past `take_turn` end in `Conflict` (try again), never in two current versions."""
        owns = not session.in_transaction()
        try:
            async with session.begin() if owns else session.begin_nested():
                yield owns
        except IntegrityError as exc:
            raise Conflict(
                f"another {self.noun} was published for {self._named(key)} at the same time; "
                "try again",
                **{self.key_name: key},
            ) from exc

    async def take_turn(self, session: AsyncSession, key: str) -> int | None:
        """Make publishes under `key` go one at a time, and return the version that is current
        (None: none yet). Must be the transaction's first statement.

        PostgreSQL: a transaction-scoped advisory lock on the key; a second publish waits here
        until the first commits, then sees its version. SQLite has one writer at a time: a write
        as the first statement takes the lock at once (waiting up to the busy timeout), whereas
        a read first would pin a snapshot that a concurrent publish could make stale, and the
        later write would then fail. That write is one publishing needs anyway: the current
        version stops being current."""
        if session.get_bind().dialect.name == "sqlite":
            current: int | None = await session.scalar(
                update(self.model)
                .where(self._key == key, self._current.is_(True))
                .values(is_current=False)
                .returning(self._version)
            )
            return current
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
            {"lock": f"{self.model.__tablename__}:{key}"},  # type: ignore[attr-defined]
        )
        return await self.current_version(session, key)

    async def add(
        self,
        session: AsyncSession,
        key: str,
        *,
        actor: str,
        based_on: int | None = None,
        note: str | None = None,
        **content: Any,
    ) -> V:
        """Version N+1 under `key`, made current (any other stops being current)."""
        await self.retire(session, key)
        newest = await session.scalar(select(func.max(self._version)).where(self._key == key))
        make: Callable[..., V] = self.model  # a mapped class takes its columns as keywords
        row = make(
            **{self.key_name: key},
            version=(newest or 0) + 1,
            published_by=require_actor(actor),
            based_on=based_on,
            note=note,
            is_current=True,
            **content,
        )
        session.add(row)
        await session.flush()
        return row

    async def retire(self, session: AsyncSession, key: str) -> None:
        """No version under `key` is current any more (the history stays)."""
        await session.execute(
            update(self.model)
            .where(self._key == key, self._current.is_(True))
            .values(is_current=False)
            .execution_options(synchronize_session=False)
        )

    async def current_version(self, session: AsyncSession, key: str) -> int | None:
        version: int | None = await session.scalar(
            select(self._version).where(self._key == key, self._current.is_(True))
        )
        return version

    async def current(self, session: AsyncSession, key: str) -> V | None:
        row: V | None = await session.scalar(
            select(self.model).where(self._key == key, self._current.is_(True))
        )
        return row

    async def every_current(self, session: AsyncSession) -> list[V]:
        """The current version of every key, by key."""
        rows = await session.scalars(
            select(self.model).where(self._current.is_(True)).order_by(self._key)
        )
        return list(rows.all())

    async def get(self, session: AsyncSession, key: str, version: int) -> V | None:
        row: V | None = await session.scalar(
            select(self.model).where(self._key == key, self._version == version)
        )
        return row

    async def history(self, session: AsyncSession, key: str) -> list[V]:
        """Every version under `key`, newest first."""
        rows = await session.scalars(
            select(self.model).where(self._key == key).order_by(self._version.desc())
        )
        return list(rows.all())

    async def rollback_target(
        self, session: AsyncSession, key: str, version: int, current: int | None
    ) -> V:
        """The older version a rollback copies: it must exist and not be the current one."""
        target = await self.get(session, key, version)
        if target is None:
            raise NotFound(
                f"{self._named(key)} has no {self.noun} version {version}",
                **{self.key_name: key, "version": version},
            )
        if version == current:
            raise Conflict(
                f"version {version} is already the current {self.noun} of {self._named(key)}",
                **{self.key_name: key, "version": version},
            )
        return target

    def _named(self, key: str) -> str:
        return f"{self.owner} {key!r}" if self.owner else repr(key)
