"""Agents' SIP accounts: the credentials their phones register with.

The SIP user name is the agent's username, so a registration says who is at the phone without a
mapping table. The password is generated (long and random: phones store it, people never type it)
and shown once; only its digest HA1 values are stored, for MD5 and SHA-256, which is all a
registrar needs (RFC 7616 §3.4.2) and cannot be turned back into the password. HA1 binds the
realm, so the realm is stored too and a lookup for another realm finds nothing.

`SipAccountStore` is the registrar's `CredentialStore` on the database, with a small cache: a
user's HA1 values are kept for `ttl` seconds (10 by default) after they are read, so a phone's
REGISTER every minute or so, and a burst of them after a restart, costs a dictionary lookup, not
a database round trip that waits its turn behind the calls' writes. A new password, a removed
account or a deactivated user therefore take effect within `ttl` (at once for changes made
through `forget`). Unknown users are not cached: guessing names fills no memory, and a new
account works at once."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.engine import read_sessions
from hotline.telephony.sip.auth import compute_ha1
from hotline.users.models import SipCredential, User

SIP_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_sip_password(length: int = 20) -> str:
    """A random SIP password (about 117 bits), without look-alike characters for the few people
    who copy one by hand into a desk phone."""
    return "".join(secrets.choice(SIP_PASSWORD_ALPHABET) for _ in range(length))


async def set_sip_password(
    *, session: AsyncSession, user: User, realm: str, password: str
) -> SipCredential:
    """Give `user` a SIP account (or a new password for it). The caller commits."""
    row = await session.get(SipCredential, user.id)
    if row is None:
        row = SipCredential(user_id=user.id)
        session.add(row)
    row.realm = realm
    row.ha1_md5 = compute_ha1(user.username, realm, password, "MD5")
    row.ha1_sha256 = compute_ha1(user.username, realm, password, "SHA-256")
    await session.flush()
    return row


async def create_sip_accounts(
    *, session: AsyncSession, users: Iterable[User], realm: str
) -> dict[str, str]:
    """Generate a SIP password for each of `users`; returns username -> password, to be shown
    once and never stored. The caller commits."""
    passwords: dict[str, str] = {}
    for user in users:
        password = generate_sip_password()
        await set_sip_password(session=session, user=user, realm=realm, password=password)
        passwords[user.username] = password
    return passwords


async def remove_sip_account(*, session: AsyncSession, user_id: str) -> None:
    await session.execute(delete(SipCredential).where(SipCredential.user_id == user_id))


class SipAccountStore:
    """The SIP registrar's credential store, on the database (`CredentialStore` protocol), with
    the cache the module docstring describes. `now` is the monotonic clock (tests pass theirs)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl: float = 10.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = read_sessions(sessions)
        self._ttl = ttl
        self._now = now
        # (username, realm) -> (read at, {algorithm: HA1})
        self._cache: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}

    async def lookup(self, username: str, *, realm: str, algorithm: str) -> str | None:
        if algorithm not in _ALGORITHMS:
            return None
        key = (username, realm)
        cached = self._cache.get(key)
        if cached is not None and self._now() - cached[0] < self._ttl:
            return cached[1].get(algorithm)
        read_at = self._now()
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(SipCredential.ha1_md5, SipCredential.ha1_sha256)
                    .join(User, User.id == SipCredential.user_id)
                    .where(User.username == username, User.active, SipCredential.realm == realm)
                )
            ).one_or_none()
        if row is None:
            self._cache.pop(key, None)
            return None
        values: dict[str, str] = {"MD5": row.ha1_md5, "SHA-256": row.ha1_sha256}
        self._cache[key] = (read_at, values)
        return values[algorithm]

    def forget(self, username: str | None = None) -> None:
        """Drop the cached credentials of `username` (everyone's when None): the next
        authentication reads the database."""
        if username is None:
            self._cache.clear()
            return
        for key in [k for k in self._cache if k[0] == username]:
            del self._cache[key]


_ALGORITHMS = ("MD5", "SHA-256")
