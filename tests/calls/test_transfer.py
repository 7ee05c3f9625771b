"""Transfers, driven through `CallService` (the agent desktop will call the same methods) while
real phones are on the call: blind to a department line, and warm (consultative) to a queue."""

from __future__ import annotations

from pathlib import Path

from hotline.routing.types import AgentState
from tests.calls import scenarios
from tests.calls.conftest import Hotline, eventually, running_hotline
from tests.telephony.sip.sipp import free_port


async def _connected_to(h: Hotline, contact_id: str, username: str) -> bool:
    row = await h.contact(contact_id)
    return row.state == "connected" and row.agent_id == await h.user_id(username)


async def test_a_blind_transfer_to_a_department_line_reaches_its_specialist(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        agent_port, specialist_port = free_port(), free_port()
        await h.logged_in("agent01", agent_port)
        await h.logged_in("health01", specialist_port)
        agent = await h.phone(
            scenarios.answering_phone(h.folder("agent"), name="agent"), agent_port
        )
        specialist = await h.phone(
            scenarios.answering_phone(h.folder("specialist"), name="specialist"), specialist_port
        )
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 6000)]
            )
        )
        (contact,) = await eventually(h.contacts, 5, "the call arrived")
        await eventually(lambda: _connected_to(h, contact.id, "agent01"), 10, "agent01 answered")

        assert await h.platform.calls.transfer(contact.id, line="ministry") is None

        agent_result = await h.finish(agent, "agent")
        assert agent_result.returncode == 0, agent_result.explain()  # Hotline hung it up
        state, _ = await h.agent_state("agent01")
        assert state in (AgentState.WRAP_UP, AgentState.READY)
        await eventually(lambda: _connected_to(h, contact.id, "health01"), 10, "health01 answered")

        caller_result = await h.finish(caller, "caller")
        specialist_result = await h.finish(specialist, "specialist")
        assert caller_result.returncode == 0, caller_result.explain()
        assert specialist_result.returncode == 0, specialist_result.explain()
        contact = await h.ended()
        assert (contact.outcome, contact.queue_id) == ("handled", "ministry")
        assert contact.agent_id == await h.user_id("health01")
        log = await h.log(contact.id)
        kinds = [kind for kind, _ in log]
        transferred = dict(log)["call.transferred"]
        assert (transferred["kind"], transferred["target"], transferred["warm"]) == (
            "line",
            "ministry",
            False,
        )
        assert transferred["from_agent"] == await h.user_id("agent01")
        moved = dict(log)["contact.moved"]
        assert (moved["from_queue"], moved["to_queue"]) == ("help", "ministry")
        assert kinds.count("contact.answered") == 2
        legs = sorted(p["leg"] for kind, p in log if kind == "call.quality")
        assert legs == ["agent", "agent", "caller"]


async def test_a_warm_transfer_lets_the_agent_consult_then_hands_the_caller_over(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        agent_port, specialist_port = free_port(), free_port()
        await h.logged_in("agent01", agent_port)
        await h.logged_in("health01", specialist_port)
        agent = await h.phone(
            scenarios.answering_phone(h.folder("agent"), name="agent"), agent_port
        )
        specialist = await h.phone(
            scenarios.answering_phone(h.folder("specialist"), name="specialist"), specialist_port
        )
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 6000)]
            )
        )
        (contact,) = await eventually(h.contacts, 5, "the call arrived")
        await eventually(lambda: _connected_to(h, contact.id, "agent01"), 10, "agent01 answered")

        consult_id = await h.platform.calls.transfer(contact.id, queue="ministry", warm=True)
        assert consult_id is not None
        await eventually(lambda: _connected_to(h, consult_id, "health01"), 10, "consult answered")
        assert (await h.contact(contact.id)).state == "connected"  # agent01 still on the call

        await h.platform.calls.complete_transfer(contact.id)
        agent_result = await h.finish(agent, "agent")
        assert agent_result.returncode == 0, agent_result.explain()
        caller_result = await h.finish(caller, "caller")
        specialist_result = await h.finish(specialist, "specialist")
        assert caller_result.returncode == 0, caller_result.explain()
        assert specialist_result.returncode == 0, specialist_result.explain()

        first = await h.contact(contact.id)
        assert (first.outcome, first.agent_id) == ("handled", await h.user_id("agent01"))

        async def consult_ended() -> bool:
            return (await h.contact(consult_id)).state == "ended"

        await eventually(consult_ended, 10, "the consultation's contact ended")
        consult = await h.contact(consult_id)
        assert (consult.direction, consult.outcome, consult.queue_id) == (
            "consult",
            "handled",
            "ministry",
        )
        assert consult.agent_id == await h.user_id("health01")
        assert consult.attributes["consult_for"] == contact.id
        stages = [p["stage"] for kind, p in await h.log(contact.id) if kind == "call.transferred"]
        assert stages == ["started", "completed"]
        consult_log = [kind for kind, _ in await h.log(consult_id)]
        assert "call.ended" in consult_log  # the caller hung up on the specialist


async def test_the_ivr_transfers_a_caller_to_an_external_number_through_the_outbound_route(
    tmp_path: Path, prompt_cache: Path
) -> None:
    outside_port = free_port()
    async with running_hotline(
        tmp_path, prompt_cache, callback_route=f"sip:{{number}}@127.0.0.1:{outside_port}"
    ) as h:
        outside = await h.phone(
            scenarios.answering_phone(h.folder("outside"), end="bye", hold_ms=1000, name="outside"),
            outside_port,
        )
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 3)], end="await_bye"
            )
        )
        outside_result = await h.finish(outside, "outside")
        caller_result = await h.finish(caller, "caller")
        assert outside_result.returncode == 0, outside_result.explain()
        assert caller_result.returncode == 0, caller_result.explain()  # hung up after the far end
        contact = await h.ended()
        assert (contact.outcome, contact.queue_id) == ("transferred", None)
        log = dict(await h.log(contact.id))
        assert log["call.transferred"]["kind"] == "external"
        assert log["call.transferred"]["target"] == "+7********66"  # masked in the log
        assert log["call.ended"]["by"] == "external"
