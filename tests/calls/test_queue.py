"""Waiting for an agent: an offer nobody answers goes back to the queue and leaves the agent not
ready; a caller who hangs up while waiting is an abandon with its wait; one who hangs up in the
IVR is an IVR abandon; a number no line has is refused, and recorded, and so is a call that fails
inside Hotline once its contact exists."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import update

from hotline.cli import cli
from hotline.ivr.models import IvrFlowVersion
from hotline.routing.types import AgentState, ContactState
from tests.calls import scenarios
from tests.calls.conftest import SCENARIO_DIR, eventually, running_hotline
from tests.telephony.sip.sipp import free_port


async def test_an_offer_nobody_answers_goes_back_to_the_queue_and_the_agent_is_not_ready(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache, offer_timeout=2) as h:
        phone_port = free_port()
        await h.logged_in("agent01", phone_port)
        phone = await h.phone(SCENARIO_DIR / "uas_ring_forever.xml", phone_port)
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 5000)]
            )
        )

        async def missed() -> bool:
            state, reason = await h.agent_state("agent01")
            return state is AgentState.NOT_READY and reason == "missed"

        await eventually(missed, 10, "agent01 not ready after the missed offer")
        (contact,) = await h.contacts()
        assert h.platform.routing.engine.contact(contact.id).state is ContactState.WAITING
        phone_result = await h.finish(phone, "phone")
        assert phone_result.returncode == 0, phone_result.explain()  # it was CANCELled

        caller_result = await h.finish(caller, "caller")
        assert caller_result.returncode == 0, caller_result.explain()
        contact = await h.ended()
        assert (contact.outcome, contact.queue_id, contact.agent_id) == ("abandoned", "help", None)
        log = await h.log(contact.id)
        kinds = [kind for kind, _ in log]
        withdrawn = [p for kind, p in log if kind == "contact.offer_withdrawn"]
        assert [w["reason"] for w in withdrawn] == ["missed"]
        assert kinds.index("contact.offer_withdrawn") < kinds.index("contact.ended")
        assert dict(log)["contact.ended"]["waited"] > 3.0


async def test_a_caller_who_hangs_up_in_the_queue_is_an_abandon_with_its_wait(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 2500)]
            )
        )
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()
        contact = await h.ended()
        assert (contact.outcome, contact.queue_id) == ("abandoned", "help")
        log = await h.log(contact.id)
        ended = dict(log)["contact.ended"]
        assert ended["outcome"] == "abandoned"
        assert 1.5 < ended["waited"] < 6.0
        assert ("call.ended", {"by": "caller", "reason": "hung up"}) in log
        qualities = [p for kind, p in log if kind == "call.quality"]
        assert qualities[0]["leg"] == "caller"
        assert qualities[0]["figures"]["packets_sent"] > 50  # prompts and music reached it

        # What operators and scripts see of it.
        args = ["--database-url", h.settings.effective_database_url, "contacts", "--json"]
        listed = await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--limit", "5"])
        assert listed.exit_code == 0, listed.output
        (item,) = json.loads(listed.output)["contacts"]
        assert item["id"] == contact.id
        assert item["caller"] == "79*******22"  # masked unless --show-numbers
        assert (item["line"], item["queue"], item["outcome"]) == ("city", "help", "abandoned")
        assert 1.5 < item["wait_seconds"] < 6.0
        assert [p["step"] for p in item["ivr_path"]] == ["menu", "to_help"]
        assert item["events"][0]["type"] == "contact.arrived"
        text = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["--database-url", h.settings.effective_database_url, "contacts"],
        )
        assert "IVR: menu:chosen[1] > to_help:enqueued" in text.output


async def test_a_caller_who_hangs_up_in_the_ivr_ends_with_an_ivr_abandon(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        caller = await h.call(scenarios.caller(h.folder("caller"), steps=[("pause", 500)]))
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()
        contact = await h.ended()
        assert (contact.outcome, contact.queue_id) == ("ivr_abandoned", None)
        log = dict(await h.log(contact.id))
        assert log["ivr.completed"]["ended_by"] == "caller"
        assert log["contact.ended"]["outcome"] == "ivr_abandoned"


async def test_a_number_no_line_has_is_refused_and_still_recorded(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        caller = await h.call(
            scenarios.refused_caller(h.folder("caller"), status=404), dialled="5550000"
        )
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()
        contact = await h.ended()
        assert (contact.outcome, contact.line_id) == ("rejected", None)
        log = dict(await h.log(contact.id))
        assert log["call.rejected"]["status"] == 404
        assert log["contact.arrived"]["dialled"] == "5550000"


async def test_a_call_that_fails_once_its_contact_exists_is_refused_and_ends_rejected(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(tmp_path, prompt_cache) as h:
        # The line's current flow is one this Hotline cannot read (say, written by a newer
        # version): looking it up fails after the contact was created.
        async with h.sessions() as session, session.begin():
            await session.execute(
                update(IvrFlowVersion)
                .where(IvrFlowVersion.line_id == "city")
                .values(is_current=False)
            )
            session.add(
                IvrFlowVersion(
                    line_id="city",
                    version=99,
                    name="From the future",
                    source="",
                    definition={"steps": "not a flow"},
                    published_by="tests",
                    is_current=True,
                )
            )
        caller = await h.call(scenarios.refused_caller(h.folder("caller"), status=500))
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()
        contact = await h.ended()
        assert (contact.outcome, contact.line_id) == ("rejected", "city")
        log = await h.log(contact.id)
        assert [kind for kind, _ in log] == ["contact.arrived", "call.rejected", "contact.ended"]
        assert dict(log)["call.rejected"]["status"] == 500
