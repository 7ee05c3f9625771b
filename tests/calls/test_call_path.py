"""The live call path end to end, with real peers on 127.0.0.1: SIPp callers press keys with
SIPp's RFC 4733 recordings, SIPp agents' phones register with digest and answer, and test RTP
peers count what each side heard. Assertions are on what the peers saw and on the contact's
record and log."""

from __future__ import annotations

import asyncio
import gc
import wave
import weakref
from pathlib import Path

from sqlalchemy import select

from hotline.routing.types import AgentState
from hotline.telephony.media.peer import RtpPeer, read_pcap_rtp
from hotline.users.models import AgentStateRecord
from tests.calls import scenarios
from tests.calls.conftest import TOPIC_FLOW, eventually, running_hotline
from tests.conftest import scratch_database
from tests.telephony.sip.sipp import free_port

KEY_1 = "/usr/share/sip-tester/dtmf_2833_1.pcap"
PCMU = 0


def types(log: list[tuple[str, dict[str, object]]]) -> list[str]:
    return [kind for kind, _ in log]


async def test_a_caller_reaches_an_agent_through_the_ivr_and_both_hear_each_other(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        phone_port = free_port()
        await h.logged_in("agent01", phone_port)
        caller_audio, agent_audio = await RtpPeer.open(), await RtpPeer.open()
        agent = await h.phone(
            scenarios.answering_phone(h.folder("agent"), media_port=agent_audio.address[1]),
            phone_port,
        )
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 7000)], media_port=caller_audio.address[1]
            )
        )
        # The menu prompt reaches the caller; the caller answers it with SIPp's recorded key 1.
        assert await caller_audio.wait_for(lambda: len(caller_audio.received) > 5, 10)
        caller_audio.target = caller_audio.received[0].source
        await caller_audio.replay(read_pcap_rtp(KEY_1))
        (row,) = await eventually(
            lambda: _connected(h), 10, "the agent answered and the call is bridged"
        )
        # Both talk: the caller's audio reaches the agent's phone and the agent's the caller.
        heard_before = len(caller_audio.received)
        talking = asyncio.create_task(caller_audio.send_audio(b"\x11" * 8000, PCMU))
        assert await agent_audio.wait_for(lambda: bool(agent_audio.received), 5)
        agent_audio.target = agent_audio.received[0].source
        await agent_audio.send_audio(b"\x22" * 8000, PCMU)
        await talking

        caller_result = await h.finish(caller, "caller")
        agent_result = await h.finish(agent, "agent")
        assert caller_result.returncode == 0, caller_result.explain()
        assert agent_result.returncode == 0, agent_result.explain()  # it got Hotline's BYE

        from_caller = [r for r in agent_audio.received if r.packet.payload == b"\x11" * 160]
        from_agent = [
            r for r in caller_audio.received[heard_before:] if r.packet.payload == b"\x22" * 160
        ]
        assert len(from_caller) > 30
        assert len(from_agent) > 30

        contact = await h.ended()
        agent_id = await h.user_id("agent01")
        assert contact.id == row.id
        assert (contact.outcome, contact.queue_id, contact.agent_id) == (
            "handled",
            "help",
            agent_id,
        )
        assert contact.answered_at is not None
        assert contact.caller_number == scenarios.CALLER_NUMBER
        log = await h.log(contact.id)
        kinds = types(log)
        for kind in (
            "contact.arrived",
            "ivr.completed",
            "contact.queued",
            "contact.offered",
            "contact.answered",
            "call.ended",
            "contact.ended",
            "call.recording",
        ):
            assert kind in kinds, kinds
        assert kinds.index("contact.arrived") == 0
        assert kinds.index("ivr.completed") < kinds.index("contact.queued")
        ivr = dict(log)["ivr.completed"]
        assert [(p["step"], p["outcome"], p["input"]) for p in ivr["path"]] == [  # type: ignore[index, union-attr]
            ("menu", "chosen", "1"),
            ("to_help", "enqueued", None),
        ]
        assert dict(log)["call.ended"]["by"] == "caller"
        qualities = {p["leg"]: p["figures"] for kind, p in log if kind == "call.quality"}
        assert qualities["caller"]["packets_received"] > 30  # type: ignore[index]
        assert qualities["agent"]["packets_received"] > 30  # type: ignore[index]

        recording = dict(log)["call.recording"]
        with wave.open(str(recording["path"])) as wav:
            assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
            assert wav.getnframes() > 8000

        # Wrap-up after the call (the queue's 1 s), then ready again: in the router, and in the
        # agent's state history once the router has written it.
        async def history() -> list[str]:
            async with h.sessions() as session:
                states = await session.scalars(
                    select(AgentStateRecord.state)
                    .where(AgentStateRecord.user_id == agent_id)
                    .order_by(AgentStateRecord.id)
                )
                return list(states.all())

        async def ready_again() -> bool:
            state, _ = await h.agent_state("agent01")
            return state is AgentState.READY and (await history())[-1] == "ready"

        await eventually(ready_again, 5, "agent01 ready after wrap-up")
        assert (await history())[-4:] == ["reserved", "busy", "wrap_up", "ready"]
        caller_audio.close()
        agent_audio.close()


async def test_an_ended_call_is_freed_without_the_cyclic_garbage_collector(
    tmp_path: Path, prompt_cache: Path
) -> None:
    """The call, its legs and their SIP dialogs hold each other while the call runs; once it has
    ended they must let go, so that reference counting frees them (hotline/core/heap.py)."""
    async with running_hotline(tmp_path, prompt_cache) as h:
        phone_port = free_port()
        await h.logged_in("agent01", phone_port)
        gc.collect()
        gc.disable()
        try:
            agent = await h.phone(scenarios.answering_phone(h.folder("agent")), phone_port)
            caller = await h.call(
                scenarios.caller(
                    h.folder("caller"), steps=[("pause", 800), ("key", 1), ("pause", 1500)]
                )
            )
            calls = h.platform.calls._calls
            call = weakref.ref(await eventually(lambda: next(iter(calls), None), 10, "a call"))
            assert (await h.finish(caller, "caller")).returncode == 0
            assert (await h.finish(agent, "agent")).returncode == 0
            assert (await h.ended()).outcome == "handled"
            await eventually(lambda: not calls, 5, "the call has left the service")
            await eventually(lambda: call() is None, 5, "the ended call freed")
        finally:
            gc.enable()


async def _connected(h: object) -> list[object] | None:
    from tests.calls.conftest import Hotline

    assert isinstance(h, Hotline)
    rows = await h.contacts()
    return rows if rows and rows[0].state == "connected" else None


async def test_the_call_path_writes_the_same_record_on_postgresql(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with (
        scratch_database("postgresql", tmp_path) as url,
        running_hotline(tmp_path, prompt_cache, database_url=url) as h,
    ):
        phone_port = free_port()
        await h.logged_in("agent01", phone_port)
        agent = await h.phone(scenarios.answering_phone(h.folder("agent")), phone_port)
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 1500)]
            )
        )
        assert (await h.finish(caller, "caller")).returncode == 0
        assert (await h.finish(agent, "agent")).returncode == 0
        contact = await h.ended()
        assert (contact.outcome, contact.queue_id) == ("handled", "help")
        assert types(await h.log(contact.id)) == [
            "contact.arrived",
            "ivr.completed",
            "contact.queued",
            "contact.offered",
            "contact.answered",
            "call.ended",
            "contact.ended",
            "call.recording",
            "call.quality",
            "call.quality",
        ]


async def test_the_attributes_of_the_enqueue_step_are_the_contacts(
    tmp_path: Path, prompt_cache: Path
) -> None:
    """An enqueue step's own `attributes` (here the topic, which picks the agent's script and
    form) are written to the contact with the IVR's record."""
    async with running_hotline(tmp_path, prompt_cache, flow=TOPIC_FLOW) as h:
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 1000)]
            )
        )
        assert (await h.finish(caller, "caller")).returncode == 0
        contact = await h.ended()
        assert contact.queue_id == "help"
        assert contact.attributes["topic"] == "help"
        ivr = dict(await h.log(contact.id))["ivr.completed"]
        assert ivr["attributes"] == {
            "caller_number": scenarios.CALLER_NUMBER,
            "line": "city",
            "topic": "help",
        }
