"""Agents' SIP accounts as the registrar reads them, on both databases: the HA1 the digest check
needs, for the account's realm only, none for an inactive user; cached for a while (a REGISTER
costs no database round trip), a change seen once the cache entry is older than its time to live
or forgotten."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.core.clock import ManualClock
from hotline.telephony.sip.auth import compute_ha1
from hotline.users.models import User
from hotline.users.sip import SipAccountStore, set_sip_password

REALM = "hotline.test"


async def _agent(sessions: async_sessionmaker[AsyncSession], password: str) -> User:
    async with sessions() as session, session.begin():
        user = User(username="agent01", name="Anna Ivanova")
        session.add(user)
        await session.flush()
        await set_sip_password(session=session, user=user, realm=REALM, password=password)
    return user


async def _set_password(
    sessions: async_sessionmaker[AsyncSession], user: User, password: str
) -> None:
    async with sessions() as session, session.begin():
        await set_sip_password(session=session, user=user, realm=REALM, password=password)


async def test_an_account_gives_its_ha1_for_its_realm_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _agent(sessions, "first-secret")
    store = SipAccountStore(sessions)
    for algorithm in ("MD5", "SHA-256"):
        assert await store.lookup("agent01", realm=REALM, algorithm=algorithm) == compute_ha1(
            "agent01", REALM, "first-secret", algorithm
        )
    assert await store.lookup("agent01", realm="other.realm", algorithm="MD5") is None
    assert await store.lookup("nobody", realm=REALM, algorithm="MD5") is None
    assert await store.lookup("agent01", realm=REALM, algorithm="SHA-512-256") is None


async def test_a_new_password_is_read_once_the_cached_one_is_too_old(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    user = await _agent(sessions, "first-secret")
    clock = ManualClock(1000.0)
    store = SipAccountStore(sessions, ttl=10.0, now=clock.now)
    first = compute_ha1("agent01", REALM, "first-secret", "MD5")
    second = compute_ha1("agent01", REALM, "second-secret", "MD5")
    assert await store.lookup("agent01", realm=REALM, algorithm="MD5") == first

    await _set_password(sessions, user, "second-secret")
    clock.advance(9.0)
    assert await store.lookup("agent01", realm=REALM, algorithm="MD5") == first  # cached
    clock.advance(2.0)
    assert await store.lookup("agent01", realm=REALM, algorithm="MD5") == second


async def test_a_forgotten_account_is_read_again_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    user = await _agent(sessions, "first-secret")
    store = SipAccountStore(sessions, now=ManualClock(1000.0).now)
    assert await store.lookup("agent01", realm=REALM, algorithm="MD5") is not None

    async with sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == user.id).values(active=False))
    assert await store.lookup("agent01", realm=REALM, algorithm="MD5") is not None  # cached
    store.forget("agent01")
    assert await store.lookup("agent01", realm=REALM, algorithm="MD5") is None


async def test_an_unknown_user_is_not_cached(sessions: async_sessionmaker[AsyncSession]) -> None:
    store = SipAccountStore(sessions, now=ManualClock(1000.0).now)
    assert await store.lookup("agent01", realm=REALM, algorithm="MD5") is None
    await _agent(sessions, "first-secret")
    assert await store.lookup("agent01", realm=REALM, algorithm="MD5") == compute_ha1(
        "agent01", REALM, "first-secret", "MD5"
    )
