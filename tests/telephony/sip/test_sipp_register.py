"""Agent phones registering with digest authentication: SIPp as the phone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from hotline.telephony.sip.auth import DigestAuthenticator, InMemoryCredentialStore
from hotline.telephony.sip.endpoint import Endpoint
from hotline.telephony.sip.registrar import Registrar
from hotline.telephony.sip.security import SourceGuard
from tests.telephony.sip.conftest import config
from tests.telephony.sip.sipp import free_port, run_sipp

REALM = "hotline.test"


def registrar(algorithms: tuple[str, ...]) -> Registrar:
    store = InMemoryCredentialStore(REALM, {"alice": "s3cret", "bob": "hunter2"})
    authenticator = DigestAuthenticator(realm=REALM, store=store, algorithms=algorithms)
    return Registrar(authenticator=authenticator, guard=SourceGuard())


@pytest_asyncio.fixture(loop_scope="function")
async def md5_registrar_endpoint() -> AsyncIterator[Endpoint]:
    # SIPp 3.6 computes MD5 digests only; SHA-256 is covered by the Python-client tests.
    async with Endpoint(config(), registrar=registrar(("MD5",))) as endpoint:
        yield endpoint


async def test_phone_registers_with_digest_and_unregisters_with_star(
    md5_registrar_endpoint: Endpoint, tmp_path: Path
) -> None:
    endpoint = md5_registrar_endpoint
    assert endpoint.registrar is not None
    phone_port = free_port()
    result = await run_sipp(
        tmp_path / "register", scenario="register_digest.xml", remote_port=endpoint.port,
        sipp_port=phone_port, extra=["-s", "alice", "-au", "alice", "-ap", "s3cret"], time_limit=10,
    )  # fmt: skip
    assert result.returncode == 0, result.explain()
    (binding,) = endpoint.registrar.lookup("alice")
    assert str(binding.uri) == f"sip:alice@127.0.0.1:{phone_port}"
    assert (binding.source.host, binding.source.port) == ("127.0.0.1", phone_port)
    assert binding.user_agent == "SIPp"
    result = await run_sipp(
        tmp_path / "unregister", scenario="unregister_digest.xml", remote_port=endpoint.port,
        sipp_port=phone_port, extra=["-s", "alice", "-au", "alice", "-ap", "s3cret"], time_limit=10,
    )  # fmt: skip
    assert result.returncode == 0, result.explain()
    assert endpoint.registrar.lookup("alice") == []


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "wrong"), ("mallory", "s3cret")], ids=["wrong", "unknown"]
)
async def test_wrong_password_and_unknown_user_both_get_403(
    md5_registrar_endpoint: Endpoint, tmp_path: Path, user: str, password: str
) -> None:
    result = await run_sipp(
        tmp_path, scenario="register_refused.xml", remote_port=md5_registrar_endpoint.port,
        extra=["-s", user, "-au", user, "-ap", password], time_limit=10,
    )  # fmt: skip
    assert result.returncode == 0, result.explain()
    assert md5_registrar_endpoint.registrar is not None
    assert md5_registrar_endpoint.registrar.lookup(user) == []


async def test_sipp_answers_the_first_of_several_challenges_when_it_knows_the_algorithm(
    tmp_path: Path,
) -> None:
    """With MD5 offered first and SHA-256 second, an MD5-only phone registers."""
    async with Endpoint(config(), registrar=registrar(("MD5", "SHA-256"))) as endpoint:
        result = await run_sipp(
            tmp_path, scenario="register_digest.xml", remote_port=endpoint.port,
            extra=["-s", "bob", "-au", "bob", "-ap", "hunter2"], time_limit=10,
        )  # fmt: skip
        assert result.returncode == 0, result.explain()
