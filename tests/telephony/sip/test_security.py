"""Banning sources that keep failing authentication, and admitting inbound calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from hotline.telephony.sip.auth import (
    DigestAuthenticator,
    DigestChallenge,
    DigestCredentials,
    InMemoryCredentialStore,
)
from hotline.telephony.sip.endpoint import Endpoint
from hotline.telephony.sip.message import Headers, SipRequest, SipUri
from hotline.telephony.sip.registrar import Registrar
from hotline.telephony.sip.security import CallAdmission, GuardConfig, SourceGuard, TrunkSource
from tests.telephony.sip.conftest import config
from tests.telephony.sip.peer import UdpPeer, request

REALM = "hotline.test"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_in_the_window_ban_for_the_ban_time() -> None:
    clock = Clock()
    guard = SourceGuard(GuardConfig(max_failures=5, window=600, ban_seconds=3600), clock=clock)
    for _ in range(4):
        assert not guard.record_failure("198.51.100.7")
        clock.now += 100
    assert guard.allowed("198.51.100.7")
    assert guard.record_failure("198.51.100.7")
    assert not guard.allowed("198.51.100.7")
    assert guard.allowed("198.51.100.8")
    clock.now += 3600
    assert guard.allowed("198.51.100.7")


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = Clock()
    guard = SourceGuard(GuardConfig(max_failures=3, window=60), clock=clock)
    for _ in range(10):
        assert not guard.record_failure("198.51.100.7")
        clock.now += 31


def test_exempt_networks_are_never_banned() -> None:
    guard = SourceGuard(GuardConfig(max_failures=1, exempt=("203.0.113.0/24",)))
    assert not guard.record_failure("203.0.113.9")
    assert guard.allowed("203.0.113.9")


def invite(authorization: str | None = None) -> SipRequest:
    headers = Headers([("Call-ID", "x"), ("CSeq", "1 INVITE")])
    if authorization:
        headers.add("Authorization", authorization)
    return SipRequest("INVITE", SipUri(host="hotline.test", user="line1"), headers)


async def test_trunk_addresses_are_admitted_as_that_trunk_and_others_challenged() -> None:
    store = InMemoryCredentialStore(REALM, {"carrier-b": "pw"})
    admission = CallAdmission(
        trunks=[TrunkSource("carrier-a", ("192.0.2.0/28",))],
        authenticator=DigestAuthenticator(realm=REALM, store=store),
    )
    by_address = await admission.admit(invite(), "192.0.2.5")
    assert (by_address.admitted, by_address.trunk) == (True, "carrier-a")
    challenged = await admission.admit(invite(), "192.0.2.99")
    assert (challenged.admitted, challenged.status) == (False, 401)
    challenge = DigestChallenge.parse(challenged.headers[0][1])
    credentials = DigestCredentials("carrier-b", "pw").authorize(
        challenge, method="INVITE", uri="sip:line1@hotline.test"
    )
    by_digest = await admission.admit(invite(credentials), "192.0.2.99")
    assert (by_digest.admitted, by_digest.user) == (True, "carrier-b")


async def test_without_trunk_or_authenticator_calls_are_refused() -> None:
    decision = await CallAdmission().admit(invite(), "192.0.2.1")
    assert (decision.admitted, decision.status) == (False, 403)


@pytest_asyncio.fixture(loop_scope="function")
async def guarded() -> AsyncIterator[tuple[Endpoint, SourceGuard]]:
    guard = SourceGuard(GuardConfig(max_failures=3, window=60, ban_seconds=0.5))
    store = InMemoryCredentialStore(REALM, {"alice": "s3cret"})
    registrar = Registrar(authenticator=DigestAuthenticator(realm=REALM, store=store), guard=guard)
    async with Endpoint(config(), registrar=registrar, guard=guard) as endpoint:
        yield endpoint, guard


async def test_repeated_bad_passwords_get_the_source_banned_then_released(
    guarded: tuple[Endpoint, SourceGuard],
) -> None:
    endpoint, guard = guarded
    peer = await UdpPeer.open()
    try:

        async def attempt(cseq: int, password: str) -> int | None:
            first = request("REGISTER", peer_port=peer.port, target_port=endpoint.port,
                            user="alice", call_id="ban", cseq=cseq * 2)  # fmt: skip
            peer.send(first, endpoint.port)
            try:
                challenge_response = await peer.response(within=0.3)
            except TimeoutError:
                return None
            assert challenge_response.status == 401
            challenge = DigestChallenge.parse(
                challenge_response.headers.get_all("www-authenticate")[0]
            )
            auth = DigestCredentials("alice", password).authorize(
                challenge, method="REGISTER", uri=f"sip:alice@127.0.0.1:{endpoint.port}"
            )
            second = request("REGISTER", peer_port=peer.port, target_port=endpoint.port,
                             user="alice", call_id="ban", cseq=cseq * 2 + 1,
                             headers=[f"Authorization: {auth}"])  # fmt: skip
            peer.send(second, endpoint.port)
            try:
                return (await peer.response(within=0.3)).status
            except TimeoutError:
                return None

        assert [await attempt(n, "guess") for n in range(1, 4)] == [403, 403, 403]
        assert not guard.allowed("127.0.0.1")
        assert await attempt(4, "s3cret") is None  # dropped while banned, even the right one
        await asyncio.sleep(0.6)
        assert await attempt(5, "s3cret") == 200
    finally:
        peer.close()
