"""Agents' SIP accounts: the credentials their phones register with.

The SIP user name is the agent's username, so a registration says who is at the phone without a
mapping table. The password is generated (long and random: phones store it, people never type it)
and shown once; only its digest HA1 values are stored, for MD5 and SHA-256, which is all a
registrar needs (RFC 7616 §3.4.2) and cannot be turned back into the password. HA1 binds the
realm, so the realm is stored too and a lookup for another realm finds nothing.

`SipAccountStore` is the registrar's `CredentialStore` on the database: one indexed query per
authentication, and an inactive user's account stops working at once."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
    """The SIP registrar's credential store, on the database (`CredentialStore` protocol)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def lookup(self, username: str, *, realm: str, algorithm: str) -> str | None:
        column = {"MD5": SipCredential.ha1_md5, "SHA-256": SipCredential.ha1_sha256}.get(algorithm)
        if column is None:
            return None
        async with self._sessions() as session:
            return await session.scalar(
                select(column)
                .join(User, User.id == SipCredential.user_id)
                .where(User.username == username, User.active, SipCredential.realm == realm)
            )
