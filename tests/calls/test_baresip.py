"""baresip as an agent's softphone, as an operator would set one up: it registers with the
agent's SIP account, answers by itself, and carries the call's audio both ways (its audio bridge
module plays back what it receives, so the caller hears the agent's side)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from hotline.routing.types import AgentState
from hotline.telephony.media.peer import RtpPeer, read_pcap_rtp
from tests.calls import scenarios
from tests.calls.conftest import Hotline, eventually, running_hotline
from tests.telephony.sip.sipp import free_port

BARESIP = shutil.which("baresip")
pytestmark = pytest.mark.skipif(
    BARESIP is None, reason="baresip is not installed (make test installs it)"
)
KEY_1 = "/usr/share/sip-tester/dtmf_2833_1.pcap"


def baresip_config(directory: Path, *, username: str, password: str, registrar: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rtp = free_port(10)
    (directory / "config").write_text(
        "poll_method epoll\n"
        f"sip_listen 127.0.0.1:{free_port()}\n"
        "net_interface 127.0.0.1\n"
        "dns_server 127.0.0.1:53\n"
        "audio_player aubridge,x\n"
        "audio_source aubridge,x\n"
        "audio_alert aubridge,x\n"
        f"rtp_ports {rtp}-{rtp + 9}\n"
        "module_path /usr/lib/baresip/modules\n"
        "module g711.so\nmodule aubridge.so\n"
        "module_app account.so\nmodule_app menu.so\n"
    )
    (directory / "accounts").write_text(
        f"<sip:{username}@127.0.0.1:{registrar};transport=udp>"
        f";auth_pass={password};answermode=auto;regint=60\n"
    )


async def test_baresip_registers_as_an_agent_answers_an_offer_and_carries_the_audio(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        folder = h.folder("baresip")
        baresip_config(
            folder, username="agent01", password=h.sip_passwords["agent01"], registrar=h.sip_port
        )
        phone = await asyncio.create_subprocess_exec(
            BARESIP or "baresip", "-f", str(folder), "-t", "30",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await _ready(h)
            caller_audio = await RtpPeer.open()
            caller = await h.call(
                scenarios.caller(
                    h.folder("caller"), steps=[("pause", 6000)], media_port=caller_audio.address[1]
                )
            )
            assert await caller_audio.wait_for(lambda: len(caller_audio.received) > 5, 10)
            caller_audio.target = caller_audio.received[0].source
            await caller_audio.replay(read_pcap_rtp(KEY_1))

            async def connected() -> bool:
                rows = await h.contacts()
                return bool(rows) and rows[0].state == "connected"

            await eventually(connected, 10, "baresip answered")
            heard_before = len(caller_audio.received)
            await caller_audio.send_audio(b"\x11" * 16000, 0)  # two seconds of the caller
            result = await h.finish(caller, "caller")
            assert result.returncode == 0, result.explain()
            heard_from_agent = len(caller_audio.received) - heard_before
            caller_audio.close()
        finally:
            phone.terminate()
            await asyncio.wait_for(phone.wait(), 10)
        contact = await h.ended()
        assert (contact.outcome, contact.agent_id) == ("handled", await h.user_id("agent01"))
        qualities = {
            p["leg"]: p["figures"] for kind, p in await h.log(contact.id) if kind == "call.quality"
        }
        assert qualities["agent"]["packets_received"] > 50  # baresip's audio reached Hotline
        assert heard_from_agent > 50  # ... and went on to the caller


async def _ready(h: Hotline) -> None:
    async def registered_and_ready() -> bool:
        await h.platform.calls.presence.settled()
        if not h.platform.registrar.lookup("agent01"):
            return False
        state, _ = await h.agent_state("agent01")
        return state is AgentState.READY

    await eventually(registered_and_ready, 10, "baresip registered and agent01 is ready")
