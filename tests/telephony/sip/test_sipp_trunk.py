"""Trunks against SIPp: registering at a carrier's registrar and keeping it fresh, calling out
through a carrier that challenges, and admitting inbound calls by address or by digest."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotline.telephony.sip.auth import CombinedCredentialStore, DigestAuthenticator
from hotline.telephony.sip.endpoint import Endpoint, IncomingCall
from hotline.telephony.sip.sdp import build_answer, build_offer
from hotline.telephony.sip.security import CallAdmission, TrunkSource
from hotline.telephony.sip.trunk import Trunk, TrunkConfig, trunk_credential_store
from tests.telephony.sip.conftest import config
from tests.telephony.sip.sipp import (
    LOOPBACK,
    finish_sipp,
    free_port,
    run_sipp,
    start_sipp,
    wait_bound,
)


async def sipp_carrier(tmp_path: Path, scenario: str) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    process = await start_sipp(tmp_path, scenario=scenario, sipp_port=port, time_limit=15)
    await wait_bound(port, process=process)
    return process, port


async def test_registration_at_the_carrier_is_refreshed_then_removed(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    process, port = await sipp_carrier(tmp_path, "provider_registrar.xml")
    trunk = Trunk(
        endpoint,
        TrunkConfig(
            name="carrier", proxy=f"{LOOPBACK}:{port}", domain="provider.example",
            username="hotline-acct", password="pr0vider", register=True, register_expires=600,
        ),
    )  # fmt: skip
    await trunk.start()
    registration = trunk.registration
    assert registration is not None
    await asyncio.wait_for(registration.registered.wait(), 3)
    assert registration.granted == 2  # the carrier's choice, not our 600
    for _ in range(60):  # the refresh is due after 0.8 * 2 s
        if registration.registrations >= 2:
            break
        await asyncio.sleep(0.1)
    assert registration.registrations == 2
    await trunk.stop()
    result = await finish_sipp(process, tmp_path, time_limit=10)
    assert result.returncode == 0, result.explain()
    assert not registration.registered.is_set()


async def test_outbound_call_through_a_challenging_carrier(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    process, port = await sipp_carrier(tmp_path, "uas_auth.xml")
    trunk = Trunk(
        endpoint,
        TrunkConfig(name="carrier", proxy=f"{LOOPBACK}:{port}", domain="provider.example",
                    username="alice", password="s3cret", caller_id="7000"),
    )  # fmt: skip
    dialog = await trunk.call("15550100", build_offer(address="127.0.0.1", port=31000))
    assert dialog.trunk == "carrier"
    assert dialog.remote_target.port == port
    await dialog.bye()
    result = await finish_sipp(process, tmp_path, time_limit=10)
    assert result.returncode == 0, result.explain()


class Recorder:
    def __init__(self, endpoint: Endpoint) -> None:
        self.calls: list[IncomingCall] = []
        endpoint.on_invite = self

    def __call__(self, call: IncomingCall) -> None:
        self.calls.append(call)
        assert call.offer is not None
        call.ring()
        call.answer(build_answer(call.offer, address="127.0.0.1", port=30000)[0])


async def test_inbound_call_from_a_trunk_address_is_admitted_as_that_trunk(
    tmp_path: Path,
) -> None:
    admission = CallAdmission(trunks=[TrunkSource("lab-carrier", ("127.0.0.0/8",))])
    async with Endpoint(config(), admission=admission) as endpoint:
        recorder = Recorder(endpoint)
        result = await run_sipp(
            tmp_path, scenario="uac_slow_ack.xml", remote_port=endpoint.port, time_limit=10
        )
        assert result.returncode == 0, result.explain()
        assert [c.trunk for c in recorder.calls] == ["lab-carrier"]


async def test_inbound_call_with_digest_is_challenged_then_admitted(tmp_path: Path) -> None:
    realm = "hotline.test"
    trunks = [TrunkConfig(name="digest-carrier", inbound_username="carrier", inbound_password="pw")]
    store = CombinedCredentialStore(trunk_credential_store(realm, trunks))
    admission = CallAdmission(authenticator=DigestAuthenticator(realm=realm, store=store))
    async with Endpoint(config(), admission=admission) as endpoint:
        recorder = Recorder(endpoint)
        result = await run_sipp(
            tmp_path, scenario="uac_digest_call.xml", remote_port=endpoint.port, time_limit=10,
            extra=["-au", "carrier", "-ap", "pw"],
        )  # fmt: skip
        assert result.returncode == 0, result.explain()
        assert [(c.user, c.trunk) for c in recorder.calls] == [("carrier", None)]


async def test_inbound_call_with_a_wrong_password_is_refused(tmp_path: Path) -> None:
    realm = "hotline.test"
    trunks = [TrunkConfig(name="digest-carrier", inbound_username="carrier", inbound_password="pw")]
    admission = CallAdmission(
        authenticator=DigestAuthenticator(realm=realm, store=trunk_credential_store(realm, trunks))
    )
    async with Endpoint(config(), admission=admission) as endpoint:
        recorder = Recorder(endpoint)
        result = await run_sipp(
            tmp_path, scenario="uac_digest_call.xml", remote_port=endpoint.port, time_limit=5,
            extra=["-au", "carrier", "-ap", "nope"],
        )  # fmt: skip
        assert result.returncode != 0
        assert "403" in result.errors
        assert recorder.calls == []
