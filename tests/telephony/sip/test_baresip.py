"""An agent's SIP phone, for real: baresip registers with digest to the registrar, and the
Endpoint calls it at its registered contact; baresip answers by itself, Hotline hangs up."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from hotline.telephony.sip.auth import DigestAuthenticator, InMemoryCredentialStore
from hotline.telephony.sip.endpoint import Endpoint
from hotline.telephony.sip.registrar import Registrar
from hotline.telephony.sip.sdp import build_offer
from tests.telephony.sip.conftest import config
from tests.telephony.sip.sipp import free_port

BARESIP = shutil.which("baresip")
pytestmark = pytest.mark.skipif(
    BARESIP is None, reason="baresip is not installed (make test installs it)"
)


def baresip_config(directory: Path, *, sip_port: int, rtp_port: int, registrar_port: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config").write_text(
        "poll_method epoll\n"
        f"sip_listen 127.0.0.1:{sip_port}\n"
        "net_interface 127.0.0.1\n"
        "dns_server 127.0.0.1:53\n"
        "audio_player aubridge,x\n"
        "audio_source aubridge,x\n"
        "audio_alert aubridge,x\n"
        f"rtp_ports {rtp_port}-{rtp_port + 9}\n"
        "module_path /usr/lib/baresip/modules\n"
        "module g711.so\nmodule aubridge.so\n"
        "module_app account.so\nmodule_app menu.so\n"
    )
    (directory / "accounts").write_text(
        f"<sip:agent7@127.0.0.1:{registrar_port};transport=udp>"
        ";auth_pass=ph0ne;answermode=auto;regint=60\n"
    )


async def test_registered_baresip_phone_is_called_and_answers(tmp_path: Path) -> None:
    store = InMemoryCredentialStore("hotline.test", {"agent7": "ph0ne"})
    registrar = Registrar(authenticator=DigestAuthenticator(realm="hotline.test", store=store))
    async with Endpoint(config(), registrar=registrar) as endpoint:
        phone_port = free_port()
        baresip_config(
            tmp_path, sip_port=phone_port, rtp_port=free_port(10), registrar_port=endpoint.port
        )
        process = await asyncio.create_subprocess_exec(
            BARESIP or "baresip", "-f", str(tmp_path), "-t", "20",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(100):  # up to 5 s for the phone to register
                if registrar.lookup("agent7"):
                    break
                await asyncio.sleep(0.05)
            (binding,) = registrar.lookup("agent7")
            assert binding.destination.port == phone_port
            dialog = await endpoint.invite(
                binding.uri,
                build_offer(address="127.0.0.1", port=31000),
                destination=binding.destination,
                ring_timeout=5,
            )
            assert dialog.media is not None
            assert dialog.media.codec.name in ("PCMU", "PCMA")
            assert dialog.media.remote_address == "127.0.0.1"
            await dialog.bye()
            assert dialog.ended.result() == "local-bye"
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 5)
