"""A field worker calls the citizen through the platform, on a running Hotline (`hotline serve`'s
platform on 127.0.0.1, its HTTP API through uvicorn) with SIPp as the field worker's registered
phone and as the citizen's phone behind the outbound route: the worker's phone rings first, then
the citizen's, the two are bridged until the citizen hangs up, and the call is on record as a
contact of its own. The citizen's number never reaches the field worker. Without a phone of their
own, the call becomes a callback for an agent."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from hotline.auth.service import CSRF_HEADER
from hotline.contacts.models import Contact
from hotline.dispatch.service import auto_assign
from hotline.requests.schemas import RequestCreate
from hotline.requests.service import create_request
from hotline.users.models import User
from hotline.users.passwords import ScryptCost, hash_password
from hotline.users.sip import set_sip_password
from tests.calls.conftest import REALM, Hotline, eventually, prompt_cache, running_hotline
from tests.telephony.sip.sipp import free_port

CITIZEN = "+7 495 123-45-67"
PASSWORD = "field worker password"
__all__ = ["prompt_cache"]  # the call tests' fixture: prompts made once per session
DISPATCH = """\
  - username: vol01
    name: Mikhail Gusev
    roles: [field_worker]
    field_worker: {kind: volunteer, districts: [centre], capacity: 2}
field_worker_kinds:
  - {id: volunteer, name: {en: Volunteer, ru: Волонтёр}}
districts:
  - {id: centre, name: {en: Centre, ru: Центр}, postcodes: ["125"]}
request_categories:
  - id: medicine
    name: {en: Medicine delivery, ru: Доставка лекарств}
    sla_hours: 24
    fulfilled_by: [volunteer]
"""


async def _task_for_vol01(h: Hotline) -> str:
    """A request assigned to vol01, who also gets a web password and a SIP account."""
    async with h.sessions() as session, session.begin():
        vol01 = (await session.scalars(select(User).where(User.username == "vol01"))).one()
        vol01.password_hash = hash_password(PASSWORD, cost=ScryptCost(n=2**8))
        await set_sip_password(session=session, user=vol01, realm=REALM, password=PASSWORD)
        change = await create_request(
            session=session,
            data=RequestCreate.model_validate(
                {
                    "category": "medicine",
                    "idempotency_key": "citizen-call-1",
                    "caller": {"number": CITIZEN},
                    "address": {"postcode": "125009", "street": "Тверская", "house": "5"},
                }
            ),
            actor=None,
        )
        assigned = await auto_assign(session=session, request_id=change.request.id, actor=None)
        assert assigned.worker_id == vol01.id
    h.sip_passwords["vol01"] = PASSWORD
    return change.request.id


async def _call(h: Hotline, request_id: str) -> httpx.Response:
    assert h.platform.http is not None
    base = f"http://127.0.0.1:{h.platform.http.port}"
    async with httpx.AsyncClient(base_url=base) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "vol01", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        client.headers[CSRF_HEADER] = login.json()["csrf_token"]
        return await client.post(f"/api/v1/tasks/{request_id}/call")


async def _contact(h: Hotline, contact_id: str) -> Contact | None:
    async with h.sessions() as session:
        return await session.get(Contact, contact_id)


async def test_the_field_workers_phone_and_the_citizens_are_bridged(
    tmp_path: Path, prompt_cache: Path
) -> None:
    citizen_port = free_port()
    async with running_hotline(
        tmp_path,
        prompt_cache,
        http=True,
        http_cookie_secure=False,
        callback_route=f"sip:{{number}}@127.0.0.1:{citizen_port}",
        extra_config=DISPATCH,
    ) as h:
        request_id = await _task_for_vol01(h)
        worker_phone, citizen = await h.citizen_call_phones("vol01", citizen_port)
        answer = await _call(h, request_id)
        assert answer.status_code == 202, answer.text
        assert answer.json()["mode"] == "bridge"
        assert "4567" not in answer.text
        call_id = answer.json()["call_id"]

        citizen_result = await h.finish(citizen, "citizen")
        worker_result = await h.finish(worker_phone, "vol01")
        assert citizen_result.returncode == 0, citizen_result.explain()  # answered, then hung up
        assert worker_result.returncode == 0, worker_result.explain()  # hung up by Hotline

        async def ended() -> Contact | None:
            row = await _contact(h, call_id)
            return row if row is not None and row.state == "ended" else None

        contact = await eventually(ended, 10, "the citizen call ended")
        assert (contact.direction, contact.outcome, contact.caller_number) == (
            "outbound",
            "handled",
            CITIZEN,
        )
        assert contact.attributes == {"purpose": "field_call", "request_id": request_id}
        assert [kind for kind, _ in await h.log(call_id)] == [
            "field_call.started",
            "field_call.connected",
            "contact.ended",
        ]
        assert dict(await h.log(call_id))["contact.ended"]["message"] == "the citizen hung up"


async def test_without_a_phone_of_their_own_an_agent_calls_the_citizen_for_them(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with running_hotline(
        tmp_path,
        prompt_cache,
        http=True,
        http_cookie_secure=False,
        callback_route=f"sip:{{number}}@127.0.0.1:{free_port()}",
        citizen_call_queue="help",
        extra_config=DISPATCH,
    ) as h:
        request_id = await _task_for_vol01(h)  # vol01 registers no phone
        answer = await _call(h, request_id)
        assert answer.status_code == 202, answer.text
        assert answer.json()["mode"] == "agent_callback"
        waiting = h.platform.routing.engine.contact(answer.json()["call_id"])
        assert (waiting.queue_id, waiting.is_callback) == ("help", True)
        contact = await _contact(h, answer.json()["call_id"])
        assert contact is not None
        assert (contact.direction, contact.attributes["callback"]["number"]) == (
            "callback",
            CITIZEN,
        )
