"""What the call path looks up while a call is set up: which line a dialled number is, and who an
agent is (router id, SIP user name, skills).

Lines only change with a new configuration: they are read again when the copy is older than a
couple of seconds (a new call must not cost a database round trip for them). The agents'
id/username pairs are re-read when a name is missing."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config.service import ANSWERING_ROLES
from hotline.lines.models import Line
from hotline.routing.service import agent_skills
from hotline.routing.types import AgentSkill
from hotline.users.models import User

log = logging.getLogger(__name__)

# Numbers written differently by carriers (+7 495..., 8 495..., 495...) share their last digits:
# the national significant number, ten digits in Russia and most of the world.
SIGNIFICANT_DIGITS = 10


@dataclass(frozen=True, slots=True)
class LineInfo:
    id: str
    name: str
    number: str
    kind: str
    queue_id: str | None
    department: str | None


def digits(text: str | None) -> str:
    return "".join(c for c in text or "" if c.isdigit())


class LineDirectory:
    """Finds the line for a dialled Request-URI user: a line's id, or its number compared by
    digits (exactly, else by the last ten digits when both have that many), else the default
    line. None: no line, the call is refused (404)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        default_line: str | None = None,
        ttl: float = 2.0,
    ) -> None:
        self._sessions = sessions
        self._default = default_line
        self._ttl = ttl
        self._lines: tuple[float, list[LineInfo]] | None = None  # (read at, lines)

    async def match(self, dialled: str | None) -> LineInfo | None:
        lines = await self.all()
        wanted = (dialled or "").strip()
        by_id = {line.id: line for line in lines}
        if wanted in by_id:
            return by_id[wanted]
        number = digits(wanted)
        if number:
            for line in lines:
                if digits(line.number) == number:
                    return line
            if len(number) >= SIGNIFICANT_DIGITS:
                tail = number[-SIGNIFICANT_DIGITS:]
                for line in lines:
                    if digits(line.number)[-SIGNIFICANT_DIGITS:] == tail:
                        return line
        if self._default is not None:
            return by_id.get(self._default)
        return None

    async def get(self, line_id: str) -> LineInfo | None:
        return next((line for line in await self.all() if line.id == line_id), None)

    async def all(self) -> list[LineInfo]:
        now = time.monotonic()
        if self._lines is not None and now - self._lines[0] < self._ttl:
            return self._lines[1]
        async with self._sessions() as session:
            lines = [_info(row) for row in (await session.scalars(select(Line))).all()]
        self._lines = (now, lines)
        return lines


def _info(row: Line) -> LineInfo:
    return LineInfo(row.id, row.name, row.number, row.kind, row.queue_id, row.department)


class AgentDirectory:
    """Agents by router id (the user's id) and by username, which is also their SIP user."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._by_id: dict[str, str] = {}
        self._by_name: dict[str, str] = {}

    async def load(self) -> None:
        async with self._sessions() as session:
            users = (await session.scalars(select(User).where(User.active))).all()
        pairs = [(u.id, u.username) for u in users if ANSWERING_ROLES.intersection(u.role_names)]
        self._by_id = dict(pairs)
        self._by_name = {name: user_id for user_id, name in pairs}

    async def username(self, agent_id: str) -> str | None:
        if agent_id not in self._by_id:
            await self.load()
        return self._by_id.get(agent_id)

    async def agent_id(self, username: str) -> str | None:
        if username not in self._by_name:
            await self.load()
        return self._by_name.get(username)

    async def skills(self, agent_id: str) -> list[AgentSkill]:
        async with self._sessions() as session:
            return await agent_skills(session=session, user_id=agent_id)
