"""Bulk creation of users from CSV on both databases: only administrators; a file with a bad row
creates nobody and says what is wrong with each row and column; hundreds of users in one
request; each gets a first-login password that works once and must be changed; the printable
sheet escapes what it prints; the import is audited."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.audit.models import AuditEntry
from hotline.config.loader import parse_config
from hotline.config.service import import_config
from hotline.dispatch.models import FieldWorker
from hotline.routing.service import agent_skills
from hotline.routing.types import AgentSkill
from hotline.users.models import SipCredential, User
from tests.admin.conftest import ADMIN
from tests.api.harness import CHEAP, PASSWORD, ApiHarness, build_harness
from tests.config.factories import WITH_DISPATCH

IMPORT = "/api/v1/admin/users/import"

GOOD = """\
username,name,roles,skills,department,language
op001,Irina Sokolova,agent,medical:3;ru:8,,ru
op002,John Smith,agent,medical,,en
sv001,Olga Lebedeva,supervisor,,,
"""

BAD = """\
username,name,roles,skills,department,language
op001,Irina Sokolova,agent,medical:3;ru:8,,ru
op002,John Smith,agent,medcal:3,,en
Op 3,,agent;pilot,medical:11;psychology:2,,de
op001,Irina again,agent,,,
agent01,Anna Again,agent,,,
op005,Spec,department_specialist,,,
"""


async def users(api: ApiHarness) -> int:
    async with api.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_only_administrators_import_users(admin_api: ApiHarness) -> None:
    async with admin_api.signed_in("boss") as boss:
        answer = await boss.post(IMPORT, json={"csv": GOOD})
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")


async def test_a_file_with_bad_rows_creates_nobody_and_says_why_row_by_row(
    admin_api: ApiHarness,
) -> None:
    before = await users(admin_api)
    async with admin_api.signed_in(ADMIN) as root:
        answer = await root.post(IMPORT, json={"csv": BAD})
        checked = (await root.post(f"{IMPORT}/check", json={"csv": BAD})).json()
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_input"
    problems = [(p["row"], p["field"], p["message"]) for p in answer.json()["details"]["problems"]]
    assert problems == [
        (3, "skills", "no skill 'medcal'"),
        (
            4,
            "username",
            "lowercase letters, digits, '_', '.' and '-', starting with a letter or digit, "
            "at most 64",
        ),
        (4, "name", "required"),
        (
            4,
            "roles",
            "unknown role 'pilot'; roles: agent, supervisor, admin, field_worker, "
            "department_specialist",
        ),
        (4, "skills", "'medical:11': the level is a whole number 1..10"),
        (4, "skills", "no skill 'psychology'"),
        (4, "language", "one of ru, en"),
        (5, "username", "also in row 2"),
        (6, "username", "already taken"),
        (7, "department", "required for a department_specialist"),
    ]
    assert answer.json()["details"]["problems"][0]["loc"] == ["csv", 3, "skills"]
    assert checked["users"] == 1  # row 2 alone is right
    assert [(p["row"], p["field"]) for p in checked["problems"]] == [
        (row, column) for row, column, _ in problems
    ]
    assert await users(admin_api) == before


async def test_three_hundred_agents_in_one_request_with_first_login_passwords(
    admin_api: ApiHarness,
) -> None:
    rows = ["username,name,roles,skills,language"] + [
        f"op{n:03d},Operator {n},agent,medical:{1 + n % 10};ru:5,{'en' if n % 2 else 'ru'}"
        for n in range(300)
    ]
    before = await users(admin_api)
    async with admin_api.signed_in(ADMIN) as root:
        answer = await root.post(IMPORT, json={"csv": "\n".join(rows) + "\n"})
    assert answer.status_code == 200, answer.text
    created = answer.json()["created"]
    assert len(created) == 300
    assert await users(admin_api) == before + 300
    first = created[7]
    assert (first["username"], first["name"], first["roles"]) == ("op007", "Operator 7", ["agent"])
    assert len(first["password"]) == 12
    assert first["sip_password"]
    async with admin_api.sessions() as session:
        row = await session.scalar(select(User).where(User.username == "op007"))
        assert row is not None
        assert (row.must_change_password, row.language) == (True, "en")
        assert await agent_skills(session=session, user_id=row.id) == [
            AgentSkill("medical", 8, 0),
            AgentSkill("ru", 5, 0),
        ]
        sip = await session.scalar(select(func.count()).select_from(SipCredential))
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "users.bulk_create")
        )
    assert sip == 300
    assert entry is not None
    assert (entry.actor_username, entry.details["count"]) == (ADMIN, 300)
    # The first sign-in works, and nothing but a new password does until it is chosen.
    async with admin_api.client() as browser:
        login = await browser.post(
            "/api/v1/auth/login", json={"username": "op007", "password": first["password"]}
        )
        assert login.status_code == 200
        assert login.json()["user"]["must_change_password"] is True
        browser.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        blocked = await browser.get("/api/v1/queues")
        assert blocked.json()["code"] == "password_change_required"


async def test_the_credentials_sheet_prints_names_harmlessly(admin_api: ApiHarness) -> None:
    text = (
        "username;name;roles\n"
        'vol01;"<script>alert(1)</script> Petrova";agent\n'
        "vol02;Sidorov & Sons;supervisor\n"
    )
    async with admin_api.signed_in(ADMIN) as root:
        sheet = await root.post(IMPORT, params={"format": "html"}, json={"csv": text})
        again = text.replace("vol01", "vol03").replace("vol02", "vol04")
        table = await root.post(IMPORT, params={"format": "csv"}, json={"csv": again})
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["cache-control"] == "no-store"
    assert "<script>" not in sheet.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Petrova" in sheet.text
    assert "Sidorov &amp; Sons" in sheet.text
    assert sheet.text.count('class="card"') == 2
    assert table.headers["content-type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(table.text)))
    assert [(r["username"], r["roles"], bool(r["password"])) for r in records] == [
        ("vol03", "agent", True),
        ("vol04", "supervisor", True),
    ]
    assert records[1]["sip_password"] == ""  # supervisors answer no contacts


async def test_volunteers_come_with_their_field_worker_profile(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await import_config(
            session=session,
            config=parse_config(WITH_DISPATCH, filename="dispatch.yaml"),
            passwords={"agent01": PASSWORD, "boss": PASSWORD, "vol01": PASSWORD},
            password_cost=CHEAP,
        )
    api = await build_harness(sessions, configure=False)
    await api.add_user(ADMIN, roles=["admin"])
    text = (
        "username,name,roles,kind,districts,capacity\n"
        "vol10,Vera Orlova,field_worker,volunteer,centre;north,2\n"
        "vol11,Ivan Popov,field_worker,plumber,south,\n"
        "vol12,Petr Volkov,agent,volunteer,,\n"
    )
    async with api.signed_in(ADMIN) as root:
        refused = await root.post(IMPORT, json={"csv": text})
        good = "\n".join(text.splitlines()[:2]) + "\n"
        answer = await root.post(IMPORT, json={"csv": good})
    assert [(p["row"], p["field"]) for p in refused.json()["details"]["problems"]] == [
        (3, "kind"),
        (3, "districts"),
        (4, "kind"),
    ]
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"][0]["sip_password"] is None
    async with api.sessions() as session:
        user = await session.scalar(select(User).where(User.username == "vol10"))
        assert user is not None
        worker = await session.get(FieldWorker, user.id)
        assert worker is not None
        assert (worker.kind_id, worker.capacity) == ("volunteer", 2)
        assert [d.district_id for d in worker.districts] == ["centre", "north"]
