"""Sign-in, sign-out, password changes and session lookup for the browser API.

A session is a random 256-bit token in the `hotline_session` cookie; the database keeps only its
SHA-256 (`WebSession.id`), with a CSRF token the browser must echo on every change. A session
is valid while it was used within `web_session_idle_minutes`; its `last_seen_at` is written at
most once a minute, so reading pages does not turn every request into a write.

Failed sign-ins are limited per username and per address (`LoginLimiter`). The limiter keeps its
sliding windows in this process's memory: a restart forgets them, and with several nodes each
counts its own; that is enough against guessing at one node (an attacker gets
`login_max_failures_per_user` tries per window per node), and a shared store can replace it behind
the same three methods when the API runs on several nodes."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import secrets
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.auth.models import USER_AGENT_LENGTH, WebSession
from hotline.core.clock import Clock
from hotline.core.errors import BadCredentials, InvalidInput, TooManyAttempts
from hotline.core.settings import Settings
from hotline.users.models import User
from hotline.users.passwords import (
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)

SESSION_COOKIE = "hotline_session"
CSRF_COOKIE = "hotline_csrf"
CSRF_HEADER = "X-CSRF-Token"
TOUCH_SECONDS = 60.0
"""`last_seen_at` is written when it is at least this old."""
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """Who a request comes from: the user as of this request, and their session."""

    id: str
    username: str
    name: str
    roles: frozenset[str]
    department: str | None
    language: str
    must_change_password: bool
    session_id: str
    csrf_token: str

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just made: `token` goes into the cookie and is never stored."""

    token: str
    user: SignedInUser


class LoginLimiter:
    """Sliding windows of failed sign-ins, per username and per address (see the module's note on
    where they live). Only failures count; a refused (429) attempt does not extend the block."""

    def __init__(
        self, *, clock: Clock, max_per_user: int, max_per_address: int, window_seconds: float
    ) -> None:
        self._clock = clock
        self._max = {"user": max_per_user, "address": max_per_address}
        self._window = window_seconds
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._calls = 0

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> LoginLimiter:
        return cls(
            clock=clock,
            max_per_user=settings.login_max_failures_per_user,
            max_per_address=settings.login_max_failures_per_address,
            window_seconds=settings.login_window_seconds,
        )

    def retry_after(self, *, username: str, address: str | None) -> int | None:
        """Seconds until `username` from `address` may try again; None: now."""
        now = self._clock.now()
        waits = [self._wait(key, now) for key in self._keys(username, address)]
        longest = max(waits)
        return math.ceil(longest) if longest > 0 else None

    def refuse_if_blocked(self, *, username: str, address: str | None) -> None:
        """Raise `TooManyAttempts` (with its Retry-After) while either window is full."""
        wait = self.retry_after(username=username, address=address)
        if wait is not None:
            raise TooManyAttempts(
                f"too many failed sign-ins; try again in {wait} seconds", retry_after=wait
            )

    def failed(self, *, username: str, address: str | None) -> None:
        now = self._clock.now()
        for key in self._keys(username, address):
            times = self._failures.setdefault(key, deque(maxlen=self._max[key[0]]))
            times.append(now)
        self._calls += 1
        if self._calls % 1000 == 0:
            self._forget_old(now)

    def succeeded(self, *, username: str) -> None:
        """A right password clears the username's failures (not the address's: one known account
        must not reset an address that is guessing others)."""
        self._failures.pop(("user", _user_key(username)), None)

    def _keys(self, username: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("user", _user_key(username))]
        if address is not None:
            keys.append(("address", address))
        return keys

    def _wait(self, key: tuple[str, str], now: float) -> float:
        times = self._failures.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(times) < self._max[key[0]]:
            return 0.0
        # Full: the oldest of the last `max` failures must leave the window first.
        return times[0] + self._window - now

    def _forget_old(self, now: float) -> None:
        for key in [k for k, times in self._failures.items() if times[-1] <= now - self._window]:
            del self._failures[key]


def _user_key(username: str) -> str:
    return username.strip().casefold()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _at(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


@functools.cache
def _decoy_hash() -> str:
    """A hash to check unknown usernames against, so they take as long as a wrong password."""
    return hash_password(generate_password(20))


async def _end_reading(session: AsyncSession) -> None:
    """Hashing takes a fifth of a second: end the transaction that read the hash first, so that
    no lock (on SQLite, the database's write lock) is held meanwhile. What is written next goes
    in a new transaction."""
    if session.in_transaction():
        await session.commit()


def _signed_in(user: User, row: WebSession) -> SignedInUser:
    return SignedInUser(
        id=user.id,
        username=user.username,
        name=user.name,
        roles=frozenset(user.role_names),
        department=user.department,
        language=user.language,
        must_change_password=user.must_change_password,
        session_id=row.id,
        csrf_token=row.csrf_token,
    )


async def login(
    *,
    session: AsyncSession,
    limiter: LoginLimiter,
    clock: Clock,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    idle_seconds: float,
) -> NewSession:
    """Check the password and open a session. Raises `TooManyAttempts` while the username or
    address is blocked (before the password is even looked at), `BadCredentials` for an unknown,
    inactive or passwordless user and for a wrong password alike. A scrypt hash (or an argon2
    hash of another cost) is replaced by today's while the password is at hand."""
    limiter.refuse_if_blocked(username=username, address=ip)
    found = await session.scalar(select(User).where(User.username == username, User.active))
    user_id, stored = (found.id, found.password_hash) if found is not None else (None, None)
    await _end_reading(session)
    good = await asyncio.to_thread(verify_password, password, stored or _decoy_hash())
    if user_id is None or stored is None or not good:
        limiter.failed(username=username, address=ip)
        raise BadCredentials("wrong username or password")
    limiter.succeeded(username=username)
    rehashed = await asyncio.to_thread(hash_password, password) if needs_rehash(stored) else None
    user = await session.get(User, user_id)
    if user is None or not user.active:  # removed while the password was checked
        raise BadCredentials("wrong username or password")
    if rehashed is not None:
        user.password_hash = rehashed
    now = clock.now()
    await session.execute(
        delete(WebSession).where(WebSession.last_seen_at < _at(now - idle_seconds))
    )
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=_at(now),
        last_seen_at=_at(now),
        ip=ip,
        user_agent=user_agent[:USER_AGENT_LENGTH] if user_agent else None,
    )
    session.add(row)
    signed_in = _signed_in(user, row)
    await audit.record(
        session=session,
        actor=signed_in,
        action="auth.login",
        object_type="user",
        object_id=user.id,
        ip=ip,
        at=_at(now),
    )
    return NewSession(token=token, user=signed_in)


async def session_user(
    *, session: AsyncSession, token: str, now: float, idle_seconds: float
) -> SignedInUser | None:
    """The signed-in user of the session `token` opens, or None when there is no such session,
    it was idle too long, or its user was deactivated. Touches `last_seen_at` (at most once a
    minute)."""
    row = await session.get(WebSession, token_hash(token))
    if row is None:
        return None
    idle = now - row.last_seen_at.timestamp()
    if idle > idle_seconds:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if idle >= TOUCH_SECONDS:
        row.last_seen_at = _at(now)
    return _signed_in(user, row)


async def logout(
    *, session: AsyncSession, clock: Clock, user: SignedInUser, ip: str | None
) -> None:
    """End the session `user` came with."""
    await session.execute(delete(WebSession).where(WebSession.id == user.session_id))
    await audit.record(
        session=session,
        actor=user,
        action="auth.logout",
        object_type="user",
        object_id=user.id,
        ip=ip,
        at=_at(clock.now()),
    )


async def set_language(*, session: AsyncSession, user: SignedInUser, language: str) -> SignedInUser:
    """Keep the user's choice of the browser app's language (on their row: every device of theirs
    opens in it); the user as they read now. Not audited: no personal data, no configuration."""
    await session.execute(update(User).where(User.id == user.id).values(language=language))
    await session.commit()
    return replace(user, language=language)


async def change_password(
    *,
    session: AsyncSession,
    limiter: LoginLimiter,
    clock: Clock,
    user: SignedInUser,
    current_password: str,
    new_password: str,
    ip: str | None,
) -> None:
    """Set a new password (checked against the current one, which counts as a sign-in attempt
    for the rate limit), clear `must_change_password`, and end the user's other sessions."""
    limiter.refuse_if_blocked(username=user.username, address=ip)
    row = await session.get(User, user.id)
    stored = row.password_hash if row is not None else None
    await _end_reading(session)
    if stored is None:
        raise BadCredentials("wrong username or password")
    if not await asyncio.to_thread(verify_password, current_password, stored):
        limiter.failed(username=user.username, address=ip)
        raise InvalidInput(
            "the current password is not right",
            problems=[{"loc": ["body", "current_password"], "message": "not the current password"}],
        )
    problem = _weak_password(new_password, current=current_password, username=user.username)
    if problem is not None:
        raise InvalidInput(
            f"the new password {problem}",
            problems=[{"loc": ["body", "new_password"], "message": problem}],
        )
    new_hash = await asyncio.to_thread(hash_password, new_password)
    row = await session.get(User, user.id)
    if row is None:
        raise BadCredentials("wrong username or password")
    row.password_hash = new_hash
    row.must_change_password = False
    await session.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.id != user.session_id)
    )
    await audit.record(
        session=session,
        actor=user,
        action="auth.password_change",
        object_type="user",
        object_id=user.id,
        ip=ip,
        at=_at(clock.now()),
    )


def _weak_password(password: str, *, current: str, username: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must have at least {MIN_PASSWORD_LENGTH} characters"
    if password == current:
        return "must differ from the current one"
    if password.casefold() == username.casefold():
        return "must not be the username"
    return None
