"""The IVR flow editor's routes on both databases: only administrators; a draft's problems come
with their lines; publishing needs the version the draft was made from (a stale one is refused
and nothing is overwritten); every publish and rollback writes an audit row; rollback copies an
older version; diffs compare the draft with what is live."""

from __future__ import annotations

import textwrap

from sqlalchemy import select

from hotline.audit.models import AuditEntry
from hotline.ivr.service import FlowDirectory
from tests.admin.conftest import ADMIN
from tests.api.harness import ApiHarness

FLOW = textwrap.dedent(
    """\
    name: City line
    language: ru
    start: menu
    steps:
      menu:
        type: menu
        prompts: [{say: "Press one for medical help."}]
        options: {"1": medical}
        fallback: medical
      medical:
        type: enqueue
        queue: medical
    """
)

WITH_INFO = FLOW.replace(
    'options: {"1": medical}', 'options: {"1": medical, "2": info}'
) + textwrap.indent(
    textwrap.dedent(
        """\
        info:
          type: hangup
          message: [{say: "Information is on the city's site."}]
        """
    ),
    "  ",
)

BROKEN = FLOW.replace("queue: medical", "queue: medcal").replace(
    "fallback: medical", "fallback: nowhere"
)

LINES = "/api/v1/admin/ivr/lines"


async def test_only_administrators_reach_the_flow_editor(admin_api: ApiHarness) -> None:
    await admin_api.add_user("super", roles=["supervisor"])
    async with admin_api.client() as anonymous:
        assert (await anonymous.get(LINES)).status_code == 401
    for username in ("agent01", "super"):
        async with admin_api.signed_in(username) as client:
            listed = await client.get(LINES)
            assert (listed.status_code, listed.json()["code"]) == (403, "forbidden")
            published = await client.post(
                f"{LINES}/city/publish", json={"yaml": FLOW, "base_version": None}
            )
            assert published.status_code == 403
    async with admin_api.signed_in(ADMIN) as root:
        answer = await root.get(LINES)
    assert answer.status_code == 200
    assert [(line["id"], line["current_version"]) for line in answer.json()] == [("city", None)]


async def test_validation_lists_every_problem_on_its_line(admin_api: ApiHarness) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        bad = (await root.post(f"{LINES}/city/validate", json={"yaml": BROKEN})).json()
        good = (await root.post(f"{LINES}/city/validate", json={"yaml": WITH_INFO})).json()
        unknown_line = await root.post(f"{LINES}/nowhere/validate", json={"yaml": FLOW})
    assert bad["valid"] is False
    assert {(p["line"], p["path"]) for p in bad["problems"]} == {
        (9, "steps.menu.fallback"),
        (12, "steps.medical.queue"),
    }
    queue = next(p for p in bad["problems"] if p["path"] == "steps.medical.queue")
    assert "did you mean 'medical'" in queue["message"]
    assert good == {"valid": True, "problems": [], "warnings": []}
    assert unknown_line.status_code == 404


async def test_a_publish_goes_live_for_the_next_call_and_is_audited(
    admin_api: ApiHarness,
) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        answer = await root.post(
            f"{LINES}/city/publish", json={"yaml": FLOW, "base_version": None, "note": "first"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["version"]["version"] == 1
        second = await root.post(
            f"{LINES}/city/publish", json={"yaml": WITH_INFO, "base_version": 1}
        )
        assert second.json()["version"]["version"] == 2
        detail = (await root.get(f"{LINES}/city/versions/2")).json()
    assert detail["yaml"] == WITH_INFO
    assert set(detail["flow"]["steps"]) == {"menu", "medical", "info"}
    published = await FlowDirectory(admin_api.sessions).for_new_call("city")
    assert published is not None
    assert published.version == 2
    assert "info" in published.flow.steps
    async with admin_api.sessions() as session:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "ivr_flow.publish")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [(r.actor_username, r.object_id, r.details["version"]) for r in rows] == [
        (ADMIN, "city", 1),
        (ADMIN, "city", 2),
    ]


async def test_a_draft_made_from_an_older_version_is_refused_and_nothing_is_overwritten(
    admin_api: ApiHarness,
) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        await root.post(f"{LINES}/city/publish", json={"yaml": FLOW, "base_version": None})
        await root.post(f"{LINES}/city/publish", json={"yaml": WITH_INFO, "base_version": 1})
        stale = await root.post(
            f"{LINES}/city/publish", json={"yaml": FLOW + "# mine\n", "base_version": 1}
        )
        never = await root.post(f"{LINES}/city/publish", json={"yaml": FLOW, "base_version": None})
        history = (await root.get(f"{LINES}/city/versions")).json()
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert stale.json()["details"] == {"line_id": "city", "current_version": 2, "base_version": 1}
    assert never.status_code == 409
    assert [(v["version"], v["current"]) for v in history] == [(2, True), (1, False)]


async def test_a_publish_of_an_invalid_draft_answers_its_problems_and_changes_nothing(
    admin_api: ApiHarness,
) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        answer = await root.post(
            f"{LINES}/city/publish", json={"yaml": BROKEN, "base_version": None}
        )
        history = (await root.get(f"{LINES}/city/versions")).json()
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_configuration"
    assert [p["line"] for p in answer.json()["details"]["problems"]] == [9, 12]
    assert history == []


async def test_a_rollback_puts_an_older_version_live_as_a_new_one_and_is_audited(
    admin_api: ApiHarness,
) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        await root.post(f"{LINES}/city/publish", json={"yaml": FLOW, "base_version": None})
        await root.post(f"{LINES}/city/publish", json={"yaml": WITH_INFO, "base_version": 1})
        stale = await root.post(f"{LINES}/city/rollback", json={"version": 1, "base_version": 1})
        answer = await root.post(f"{LINES}/city/rollback", json={"version": 1, "base_version": 2})
        detail = (await root.get(f"{LINES}/city/versions/3")).json()
        between = (await root.get(f"{LINES}/city/diff", params={"from": 2, "to": 3})).json()
    assert stale.status_code == 409
    assert answer.status_code == 200, answer.text
    assert (answer.json()["version"]["version"], answer.json()["version"]["based_on"]) == (3, 1)
    assert (detail["yaml"], detail["current"]) == (FLOW, True)
    assert "-  info:\n" in between["diff"]
    async with admin_api.sessions() as session:
        row = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "ivr_flow.rollback")
        )
    assert row is not None
    assert row.details == {"version": 3, "base_version": 2, "based_on": 1}


async def test_the_diff_shows_what_the_draft_changes_in_the_live_flow(
    admin_api: ApiHarness,
) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        first = (await root.post(f"{LINES}/city/diff", json={"yaml": FLOW})).json()
        await root.post(f"{LINES}/city/publish", json={"yaml": FLOW, "base_version": None})
        answer = (await root.post(f"{LINES}/city/diff", json={"yaml": WITH_INFO})).json()
        same = (await root.post(f"{LINES}/city/diff", json={"yaml": FLOW})).json()
    assert first["from_version"] is None
    assert first["diff"].splitlines()[3:] == [f"+{line}" for line in FLOW.splitlines()]
    assert answer["from_version"] == 1
    assert answer["diff"].startswith("--- city version 1\n+++ city draft\n")
    assert (
        '-    options: {"1": medical}\n+    options: {"1": medical, "2": info}\n' in answer["diff"]
    )
    assert "+  info:\n" in answer["diff"]
    assert same["diff"] == ""
