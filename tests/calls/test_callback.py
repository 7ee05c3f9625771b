"""Callbacks: a waiting caller is offered one (the queue's overflow rule), presses the key, hears
the confirmation and is hung up, keeping their place; when an agent is free Hotline rings the
agent, then dials the caller and bridges them. A caller who does not answer is tried again.

SIPp presses keys by replaying one recording per key, with the same RTP timestamps each time; a
receiver rightly takes a second replay of one key for a repeat of the first press, so the
callback key here is 2 (the menu's key is 1)."""

from __future__ import annotations

from pathlib import Path

from tests.calls import scenarios
from tests.calls.conftest import eventually, running_hotline
from tests.telephony.sip.sipp import free_port


async def test_a_caller_asks_for_a_callback_keeps_their_place_and_is_called_back(
    tmp_path: Path, prompt_cache: Path
) -> None:
    callee_port = free_port()
    async with running_hotline(
        tmp_path,
        prompt_cache,
        callback_after=1,
        callback_key="2",
        callback_route=f"sip:{{number}}@127.0.0.1:{callee_port}",
    ) as h:
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"),
                steps=[("pause", 1200), ("key", 1), ("pause", 3000), ("key", 2)],
                end="await_bye",
            )
        )
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()  # confirmed, then hung up by Hotline
        (contact,) = await h.contacts()
        assert contact.state == "waiting"
        assert contact.attributes["callback"]["number"] == scenarios.CALLER_NUMBER
        assert h.platform.routing.engine.contact(contact.id).is_callback

        # An agent becomes ready: their phone rings, then the caller's.
        callee = await h.phone(
            scenarios.answering_phone(h.folder("callee"), end="bye", hold_ms=1500, name="callee"),
            callee_port,
        )
        phone_port = free_port()
        await h.register("agent01", phone_port)  # ready: the callback is offered at once
        phone = await h.phone(scenarios.answering_phone(h.folder("agent")), phone_port)

        callee_result = await h.finish(callee, "callee")
        phone_result = await h.finish(phone, "agent")
        assert callee_result.returncode == 0, callee_result.explain()
        assert phone_result.returncode == 0, phone_result.explain()

        contact = await h.ended()
        assert (contact.outcome, contact.agent_id) == ("handled", await h.user_id("agent01"))
        log = await h.log(contact.id)
        kinds = [kind for kind, _ in log]
        order = [
            "contact.queued",
            "contact.callback_suggested",
            "contact.callback_requested",
            "contact.offered",
            "contact.answered",
            "callback.dialling",
            "contact.ended",
        ]
        assert [k for k in kinds if k in order] == order
        offered = dict(log)["contact.offered"]
        assert offered["is_callback"] is True
        assert dict(log)["callback.dialling"]["attempt"] == 1
        assert contact.attributes["callback"]["attempts"] == 1


async def test_a_callback_the_caller_does_not_answer_is_tried_again_later(
    tmp_path: Path, prompt_cache: Path
) -> None:
    callee_port = free_port()
    async with running_hotline(
        tmp_path,
        prompt_cache,
        callback_after=1,
        callback_key="2",
        callback_route=f"sip:{{number}}@127.0.0.1:{callee_port}",
        callback_ring_seconds=1.0,
        callback_retry_seconds=30.0,
    ) as h:
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"),
                steps=[("pause", 1200), ("key", 1), ("pause", 3000), ("key", 2)],
                end="await_bye",
            )
        )
        assert (await h.finish(caller, "caller")).returncode == 0
        phone_port = free_port()
        await h.register("agent01", phone_port)
        phone = await h.phone(scenarios.answering_phone(h.folder("agent")), phone_port)
        # Nobody answers at the caller's number (nothing listens there): the agent is let go,
        # and the callback waits for its retry, keeping its place.
        phone_result = await h.finish(phone, "agent")
        assert phone_result.returncode == 0, phone_result.explain()
        (contact,) = await h.contacts()

        async def failed_once() -> list[dict[str, object]]:
            return [p for kind, p in await h.log(contact.id) if kind == "callback.dial_failed"]

        (failure,) = await eventually(failed_once, 10, "the callback attempt failed")
        assert failure["attempt"] == 1
        assert failure["retry_in"] == 30.0
        assert (await h.contact(contact.id)).state == "waiting"
        assert h.platform.routing.engine.contact(contact.id).is_callback
