"""Digest authentication (RFC 2617 / RFC 7616): known answers, and the server side's verdicts."""

from __future__ import annotations

import pytest

from hotline.telephony.sip.auth import (
    AuthOutcome,
    DigestAuthenticator,
    DigestChallenge,
    DigestCredentials,
    InMemoryCredentialStore,
    compute_ha1,
    compute_response,
    parse_auth_header,
    pick_challenge,
)
from hotline.telephony.sip.message import Headers, SipRequest, SipUri

REALM = "hotline.test"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc_7616_example_responses(algorithm: str, expected: str) -> None:
    ha1 = compute_ha1("Mufasa", "http-auth@example.org", "Circle of Life", algorithm)
    response = compute_response(
        ha1=ha1,
        algorithm=algorithm,
        method="GET",
        uri="/dir/index.html",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        qop="auth",
    )
    assert response == expected


def test_auth_header_with_quoted_commas_parses() -> None:
    scheme, params = parse_auth_header(
        'Digest realm="a, b", nonce="n\\"x", qop="auth,auth-int", algorithm=SHA-256, stale=TRUE'
    )
    assert scheme == "digest"
    assert params == {
        "realm": "a, b",
        "nonce": 'n"x',
        "qop": "auth,auth-int",
        "algorithm": "SHA-256",
        "stale": "TRUE",
    }


def test_client_picks_the_first_challenge_it_can_answer() -> None:
    challenge = pick_challenge(
        ['Digest realm="r", nonce="1", algorithm=SHA-512-256, qop="auth"',
         'Digest realm="r", nonce="2", algorithm=SHA-256, qop="auth"',
         'Digest realm="r", nonce="3", algorithm=MD5, qop="auth"']
    )  # fmt: skip
    assert challenge is not None
    assert (challenge.algorithm, challenge.nonce) == ("SHA-256", "2")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def register(authorization: str | None = None) -> SipRequest:
    headers = Headers([("Call-ID", "x"), ("CSeq", "1 REGISTER")])
    if authorization:
        headers.add("Authorization", authorization)
    return SipRequest("REGISTER", SipUri(host="hotline.test"), headers)


def authenticator(clock: Clock, algorithms: tuple[str, ...] = ("SHA-256", "MD5")):
    store = InMemoryCredentialStore(REALM, {"alice": "s3cret"})
    return DigestAuthenticator(
        realm=REALM, store=store, algorithms=algorithms, nonce_ttl=60, clock=clock
    )


def answer(server: DigestAuthenticator, user: str, password: str, *, index: int = 0) -> str:
    challenge = DigestChallenge.parse(server.challenge_headers()[index][1])
    return DigestCredentials(user, password).authorize(
        challenge, method="REGISTER", uri="sip:hotline.test"
    )


@pytest.mark.parametrize("index", [0, 1], ids=["SHA-256", "MD5"])
async def test_right_password_is_accepted_with_either_algorithm(index: int) -> None:
    server = authenticator(Clock())
    result = await server.verify(register(answer(server, "alice", "s3cret", index=index)))
    assert result.outcome is AuthOutcome.OK
    assert result.username == "alice"


async def test_wrong_password_and_unknown_user_fail_alike() -> None:
    server = authenticator(Clock())
    wrong = await server.verify(register(answer(server, "alice", "guess")))
    unknown = await server.verify(register(answer(server, "mallory", "s3cret")))
    assert wrong.outcome is unknown.outcome is AuthOutcome.FAILED


async def test_no_credentials_or_another_realm_is_missing() -> None:
    server = authenticator(Clock())
    assert (await server.verify(register())).outcome is AuthOutcome.MISSING
    other = answer(server, "alice", "s3cret").replace(f'realm="{REALM}"', 'realm="elsewhere"')
    assert (await server.verify(register(other))).outcome is AuthOutcome.MISSING


async def test_expired_nonce_is_stale_and_the_new_challenge_says_so() -> None:
    clock = Clock()
    server = authenticator(clock)
    credentials = answer(server, "alice", "s3cret")
    clock.now += 61
    assert (await server.verify(register(credentials))).outcome is AuthOutcome.STALE
    assert "stale=TRUE" in server.challenge_headers(stale=True)[0][1]


async def test_replayed_nonce_count_is_stale() -> None:
    server = authenticator(Clock())
    credentials = answer(server, "alice", "s3cret")
    assert (await server.verify(register(credentials))).ok
    assert (await server.verify(register(credentials))).outcome is AuthOutcome.STALE


async def test_nonce_not_made_by_us_is_stale() -> None:
    server = authenticator(Clock())
    other = authenticator(Clock())  # another secret, e.g. before a restart
    assert (await server.verify(register(answer(other, "alice", "s3cret")))).outcome is (
        AuthOutcome.STALE
    )


async def test_credentials_for_another_uri_fail() -> None:
    server = authenticator(Clock())
    credentials = answer(server, "alice", "s3cret").replace(
        'uri="sip:hotline.test"', 'uri="sip:elsewhere.test"'
    )
    assert (await server.verify(register(credentials))).outcome is AuthOutcome.FAILED


async def test_an_algorithm_we_did_not_offer_fails() -> None:
    server = authenticator(Clock(), algorithms=("SHA-256",))
    md5_only = authenticator(Clock(), algorithms=("MD5",))
    credentials = answer(md5_only, "alice", "s3cret")
    assert (await server.verify(register(credentials))).outcome is not AuthOutcome.OK


def test_store_keeps_ha1_not_passwords() -> None:
    store = InMemoryCredentialStore(REALM, {"alice": "s3cret"})
    assert "s3cret" not in repr(vars(store))
