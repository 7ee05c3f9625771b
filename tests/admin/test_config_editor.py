"""The live configuration editor's routes on both databases, with a running router: a draft's
problems come with their lines; a publish changes the records in place, keeps a version, writes
an audit row, and reaches the router at once (new queues, changed business hours, agents'
skills); a draft from an older or otherwise changed configuration is refused; a rollback
publishes an older version again; removing what is still used is refused."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from hotline.audit.models import AuditEntry
from hotline.contacts.models import Contact
from hotline.routing import types as rt
from hotline.routing.models import Queue, Skill
from hotline.routing.service import agent_skills
from hotline.users.models import User
from tests.admin.conftest import ADMIN
from tests.api.harness import START, ApiHarness

CONFIG = "/api/v1/admin/config"

NEW_QUEUE = """\
  - id: psychology
    name: Psychological help
    skills:
      - {skill: psychology, min_level: 3}
    strategy: longest_idle
"""


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def with_psychology(live: str) -> str:
    """The live text plus a skill, a queue needing it, agent01 holding it, a longer offer timeout
    on medical and the city calendar open at weekends only (closed on the test's Tuesday)."""
    draft = live.replace(
        "  - {id: ru, name: Russian, kind: language}\n",
        "  - {id: ru, name: Russian, kind: language}\n"
        "  - {id: psychology, name: Psychological help}\n",
    )
    draft = draft.replace("wrap_up_codes:\n", NEW_QUEUE + "wrap_up_codes:\n")
    draft = draft.replace(
        "      - {skill: ru, level: 10, preference: 1}\n",
        "      - {skill: ru, level: 10, preference: 1}\n      - {skill: psychology, level: 5}\n",
    )
    draft = draft.replace(
        "    strategy: best_skill\n", "    strategy: best_skill\n    offer_timeout_seconds: 30\n"
    )
    return draft.replace("days: [mon, tue, wed, thu, fri]", "days: [sat, sun]")


async def live_config(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get(CONFIG)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def publish(client: httpx.AsyncClient, yaml: str, base: dict[str, Any]) -> httpx.Response:
    return await client.post(
        f"{CONFIG}/publish",
        json={"yaml": yaml, "base_version": base["version"], "base_digest": base["digest"]},
    )


async def agent01(api: ApiHarness) -> str:
    async with api.sessions() as session:
        user_id = await session.scalar(select(User.id).where(User.username == "agent01"))
        assert user_id is not None
        return user_id


async def test_only_administrators_reach_the_configuration(admin_api: ApiHarness) -> None:
    for username in ("agent01", "boss"):
        async with admin_api.signed_in(username) as client:
            assert (await client.get(CONFIG)).status_code == 403
            answer = await client.post(
                f"{CONFIG}/publish", json={"yaml": "version: 1\n", "base_version": 0}
            )
            assert answer.status_code == 403
    async with admin_api.signed_in(ADMIN) as root:
        live = await live_config(root)
    assert live["version"] == 0
    assert len(live["digest"]) == 64
    assert "  - id: medical\n" in live["yaml"]
    assert "  - username: agent01\n" in live["yaml"]


async def test_validation_lists_every_problem_on_its_line(admin_api: ApiHarness) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        live = (await live_config(root))["yaml"]
        draft = (
            live.replace("strategy: best_skill", "strategy: best")
            .replace("{skill: medical, level: 7}", "{skill: medcal, level: 7}")
            .replace("username: agent01", "username: agent99")
            .replace("timezone: Europe/Moscow", "timezone: Europe/Atlantis")
        )
        answer = (await root.post(f"{CONFIG}/validate", json={"yaml": draft})).json()
        valid = (await root.post(f"{CONFIG}/validate", json={"yaml": live})).json()
    assert answer["valid"] is False
    found = {(p["line"], p["path"]) for p in answer["problems"]}
    assert found == {
        (line_of(draft, "Europe/Atlantis"), "calendars[0].timezone"),
        (line_of(draft, "strategy: best"), "queues[0].strategy"),
        (line_of(draft, "medcal"), "agents[0].skills[0].skill"),
        (line_of(draft, "agent99"), "agents[0].username"),
    }
    messages = {p["path"]: p["message"] for p in answer["problems"]}
    assert "did you mean 'medical'" in messages["agents[0].skills[0].skill"]
    assert messages["agents[0].username"] == "no user 'agent99'"
    assert valid == {"valid": True, "problems": [], "warnings": []}


async def test_a_publish_reaches_the_running_router_at_once(admin_api: ApiHarness) -> None:
    routing = admin_api.live.routing
    anna = await agent01(admin_api)
    async with admin_api.sessions() as session:
        await routing.login(anna, await agent_skills(session=session, user_id=anna), ready=True)
    async with admin_api.signed_in(ADMIN) as root:
        base = await live_config(root)
        draft = with_psychology(base["yaml"])
        diff = (await root.post(f"{CONFIG}/diff", json={"yaml": draft})).json()
        answer = await publish(root, draft, base)
        assert answer.status_code == 200, answer.text
        after = await live_config(root)
    published = answer.json()
    assert published["version"]["version"] == 2  # 1 keeps what was live before
    assert published["applied"] == ["medical", "psychology"]
    changes = {(c["section"], c["id"], c["change"]) for c in published["changes"]}
    assert changes == {
        ("skills", "psychology", "added"),
        ("calendars", "city", "changed"),
        ("queues", "medical", "changed"),
        ("queues", "psychology", "added"),
        ("agents", "agent01", "changed"),
    }
    assert {(c["section"], c["id"], c["change"]) for c in diff["changes"]} == changes
    assert "+  - {id: psychology, name: Psychological help}\n" in diff["diff"]
    assert (after["version"], after["yaml"], after["digest"]) == (
        2,
        draft,
        published["digest"],
    )

    # The router: the new queue offers to agent01 by the new skill; the city hours closed
    # medical today; the specs the API and wallboard read follow.
    assert routing.engine.agent(anna).skills["psychology"] == rt.AgentSkill("psychology", 5, 0)
    decisions = routing.engine.arrive("c1", "psychology", START)
    assert [(type(d).__name__, getattr(d, "agent_id", None)) for d in decisions] == [
        ("AgentStateChanged", anna),
        ("Offer", anna),
    ]
    (closed,) = routing.engine.arrive("c2", "medical", START)
    assert isinstance(closed, rt.ContactEnded)
    assert closed.outcome is rt.Outcome.CLOSED
    assert admin_api.live.specs["medical"].offer_timeout_seconds == 30
    assert admin_api.live.queue_names["psychology"] == "Psychological help"
    async with admin_api.signed_in("boss") as boss:
        queues = (await boss.get("/api/v1/queues")).json()["queues"]
    assert [q["queue_id"] for q in queues] == ["medical", "overflow", "psychology"]

    async with admin_api.sessions() as session:
        queue = await session.get(Queue, "psychology")
        assert queue is not None
        assert [(s.skill_id, s.min_level) for s in queue.skills] == [("psychology", 3)]
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "config.publish")
        )
    assert entry is not None
    assert (entry.actor_username, entry.object_id) == (ADMIN, "2")
    assert entry.details["base_version"] == 0
    assert {"section": "queues", "id": "psychology", "change": "added"} in entry.details["changes"]


async def test_a_draft_from_an_older_or_otherwise_changed_configuration_is_refused(
    admin_api: ApiHarness,
) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        base = await live_config(root)
        first = await publish(root, with_psychology(base["yaml"]), base)
        assert first.status_code == 200, first.text
        older = await publish(root, base["yaml"], base)
        loaded = await live_config(root)
        # A supervisor's skill change is a change of the live configuration too.
        changed = await root.put(
            "/api/v1/agents/agent01/skills", json=[{"skill": "medical", "level": 2}]
        )
        assert changed.status_code == 204
        elsewhere = await publish(root, loaded["yaml"], loaded)
        reloaded = await live_config(root)
        again = await publish(root, reloaded["yaml"].replace("Overflow", "Spill-over"), reloaded)
        history = (await root.get(f"{CONFIG}/versions")).json()
    assert (older.status_code, older.json()["code"]) == (409, "stale_version")
    assert older.json()["details"] == {"current_version": 2, "base_version": 0}
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "stale_version")
    assert "other means" in elsewhere.json()["message"]
    assert "{skill: medical, level: 2}" in reloaded["yaml"]
    assert again.status_code == 200, again.text
    assert [(v["version"], v["published_by"]) for v in history] == [
        (4, ADMIN),
        (3, "hotline"),  # as found: the supervisor's change, kept to roll back to
        (2, ADMIN),
        (1, "hotline"),
    ]


async def test_a_rollback_publishes_an_older_version_again(admin_api: ApiHarness) -> None:
    anna = await agent01(admin_api)
    async with admin_api.signed_in(ADMIN) as root:
        base = await live_config(root)
        await publish(root, with_psychology(base["yaml"]), base)
        now = await live_config(root)
        answer = await root.post(
            f"{CONFIG}/rollback",
            json={"version": 1, "base_version": now["version"], "base_digest": now["digest"]},
        )
        assert answer.status_code == 200, answer.text
        after = await live_config(root)
        between = (await root.get(f"{CONFIG}/diff", params={"from": 2, "to": 3})).json()
    assert (answer.json()["version"]["version"], answer.json()["version"]["based_on"]) == (3, 1)
    assert after["yaml"] == base["yaml"]
    assert after["digest"] == base["digest"]
    assert "-      - {skill: psychology, level: 5}\n" in between["diff"]
    assert "psychology" not in admin_api.live.specs
    async with admin_api.sessions() as session:
        assert await session.get(Queue, "psychology") is None
        assert await session.get(Skill, "psychology") is None
        assert [s.skill for s in await agent_skills(session=session, user_id=anna)] == [
            "medical",
            "ru",
        ]
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "config.rollback")
        )
    assert entry is not None
    assert entry.details["based_on"] == 1


async def test_removing_what_is_still_used_is_refused(admin_api: ApiHarness) -> None:
    async with admin_api.sessions() as session, session.begin():
        session.add(
            Contact(
                correlation_id="c-1",
                queue_id="overflow",
                state="ended",
                outcome="handled",
                wrap_up_code_id="consultation",
            )
        )
    async with admin_api.signed_in(ADMIN) as root:
        base = await live_config(root)
        text = base["yaml"]
        # Every calendar, queue and wrap-up code gone; skills and agents as they are.
        draft = text[: text.index("calendars:\n")] + "calendars: []\nqueues: []\n"
        answer = await publish(root, draft, base)
    assert answer.status_code == 422
    messages = sorted(p["message"] for p in answer.json()["details"]["problems"])
    assert messages == [
        "calendar 'city' cannot be removed: used by line 'city'",
        "queue 'medical' cannot be removed: used by line 'city'",
        "queue 'overflow' cannot be removed: used by 1 contact(s) in its history (reports need it)",
        "wrap-up code 'consultation' cannot be removed: used by 1 contact(s) in its history",
    ]
    async with admin_api.sessions() as session:
        assert await session.get(Queue, "medical") is not None
