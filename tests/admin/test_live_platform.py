"""Administration against a whole running Hotline (SIP, media, router, HTTP on 127.0.0.1) with
SIPp callers: what an administrator publishes through the API is what the next call gets, with
no restart. An IVR flow with a new menu option: the next caller pressing that key reaches the new
branch. Business hours: a holiday published for today closes the queue for the next caller."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

from hotline.auth.service import CSRF_HEADER
from hotline.users.models import RoleRecord, User
from hotline.users.passwords import hash_password
from tests.calls import scenarios
from tests.calls.conftest import FLOW, Hotline, running_hotline

PASSWORD = "administrator's own password"

INFO = textwrap.indent(
    textwrap.dedent(
        """\
        to_info:
          type: hangup
          message: [{say: "Opening hours are on the city's site. Goodbye."}]
        """
    ),
    "  ",
)


@asynccontextmanager
async def administrator(h: Hotline) -> AsyncIterator[httpx.AsyncClient]:
    """An administrator signed in to the platform's HTTP API."""
    async with h.sessions() as session, session.begin():
        role = await session.get(RoleRecord, "admin")
        session.add(
            User(
                username="root",
                name="Root",
                password_hash=hash_password(PASSWORD),
                roles=[role],
            )
        )
    http = h.platform.http
    assert http is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}") as client:
        answer = await client.post(
            "/api/v1/auth/login", json={"username": "root", "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        client.headers[CSRF_HEADER] = answer.json()["csrf_token"]
        yield client


async def test_a_published_menu_option_is_what_the_next_caller_reaches(
    tmp_path: Path, prompt_cache: Path
) -> None:
    draft = FLOW.replace('"3": to_outside}', '"3": to_outside, "4": to_info}') + INFO
    async with (
        running_hotline(tmp_path, prompt_cache, http=True, http_cookie_secure=False) as h,
        administrator(h) as admin,
    ):
        lines = (await admin.get("/api/v1/admin/ivr/lines")).json()
        city = next(line for line in lines if line["id"] == "city")
        published = await admin.post(
            "/api/v1/admin/ivr/lines/city/publish",
            json={"yaml": draft, "base_version": city["current_version"], "note": "key 4"},
        )
        assert published.status_code == 200, published.text
        assert published.json()["version"]["version"] == city["current_version"] + 1

        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 4)], end="await_bye"
            )
        )
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()  # Hotline hung up after the message
        contact = await h.ended()
        log = dict(await h.log(contact.id))
        path = log["ivr.completed"]["path"]
        assert [(p["step"], p["input"]) for p in path] == [("menu", "4"), ("to_info", None)]  # type: ignore[index]
        assert log["ivr.completed"]["flow_version"] == city["current_version"] + 1
        assert log["ivr.completed"]["outcome"] == "hangup"
        assert contact.queue_id is None


async def test_a_holiday_published_for_today_closes_the_queue_for_the_next_caller(
    tmp_path: Path, prompt_cache: Path
) -> None:
    today = datetime.now(UTC).date()
    async with (
        running_hotline(tmp_path, prompt_cache, http=True, http_cookie_secure=False) as h,
        administrator(h) as admin,
    ):
        live = (await admin.get("/api/v1/admin/config")).json()
        config = yaml.safe_load(live["yaml"])
        (always,) = [c for c in config["calendars"] if c["id"] == "always"]
        always["holidays"] = [  # today and tomorrow: a run across midnight stays closed
            {"date": day.isoformat(), "name": "Closed for the test"}
            for day in (today, today + timedelta(days=1))
        ]
        (help_queue,) = [q for q in config["queues"] if q["id"] == "help"]
        assert "hours" not in help_queue
        help_queue["hours"] = "always"
        answer = await admin.post(
            "/api/v1/admin/config/publish",
            json={
                "yaml": yaml.safe_dump(config, sort_keys=False),
                "base_version": live["version"],
                "base_digest": live["digest"],
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["applied"] == ["help"]

        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1)], end="await_bye"
            )
        )
        result = await h.finish(caller, "caller")
        assert result.returncode == 0, result.explain()  # told the line is closed, hung up
        contact = await h.ended()
        assert (contact.queue_id, contact.outcome) == ("help", "closed")
