"""Publishing, rolling back and running versioned IVR flows, on SQLite and PostgreSQL.

The database holds the COVID configuration (its lines, queues and calendars), so the flows are
checked against real records."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hotline.core.errors import Conflict, InvalidConfiguration, InvalidInput, NotFound
from hotline.core.events import Event, InProcessBus
from hotline.ivr.events import IvrFlowPublished
from hotline.ivr.interpreter import Enqueue, IvrSession
from hotline.ivr.loader import template_path
from hotline.ivr.models import IvrFlowVersion
from hotline.ivr.schemas import Flow
from hotline.ivr.service import (
    FlowDirectory,
    current_flow,
    flow_versions,
    publish_flow,
    rollback_flow,
)
from hotline.routing.models import Queue
from tests.ivr.conftest import Sessions, small_flow
from tests.ivr.driver import Call, Hours


async def publish(
    sessions: Sessions, source: str, *, actor: str = "admin", filename: str | None = None
) -> int:
    async with sessions() as session:
        result = await publish_flow(
            session=session, line_id="city", source=source, actor=actor, filename=filename
        )
        return result.version.version


async def test_a_published_flow_is_the_current_flow_of_its_line(configured: Sessions) -> None:
    source = template_path("covid").read_text(encoding="utf-8")
    bus = InProcessBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    async with configured() as session:
        result = await publish_flow(
            session=session,
            line_id="city",
            source=source,
            actor="admin",
            bus=bus,
            note="first",
        )
    assert result.warnings == ()
    async with configured() as session:
        current = await current_flow(session=session, line_id="city")
        stored = await session.scalar(select(IvrFlowVersion))
    assert current is not None
    assert current.version == 1
    assert current.flow.name == "City COVID-19 hotline"
    assert current.published_by == "admin"
    assert stored is not None
    assert stored.source == source  # comments and all, as written
    assert stored.is_current
    assert seen == [result.event]
    assert result.event == IvrFlowPublished(
        id=result.event.id,
        at=result.event.at,
        line_id="city",
        version=1,
        flow_name="City COVID-19 hotline",
        published_by="admin",
        note="first",
    )


async def test_a_new_publish_becomes_current_and_the_history_keeps_every_version(
    configured: Sessions,
) -> None:
    assert await publish(configured, small_flow(name="One")) == 1
    assert await publish(configured, small_flow(name="Two"), actor="supervisor") == 2
    async with configured() as session:
        versions = await flow_versions(session=session, line_id="city")
        current = await current_flow(session=session, line_id="city")
    assert [(v.version, v.name, v.is_current, v.published_by) for v in versions] == [
        (2, "Two", True, "supervisor"),
        (1, "One", False, "admin"),
    ]
    assert current is not None
    assert current.flow.name == "Two"


async def test_an_invalid_flow_is_refused_with_every_problem_and_nothing_changes(
    configured: Sessions,
) -> None:
    await publish(configured, small_flow())
    with pytest.raises(InvalidConfiguration) as caught:
        await publish(configured, small_flow(queue="medicl"), filename="city.yaml")
    assert str(caught.value) == (
        "city.yaml:11: steps.queue.queue: unknown queue 'medicl'; did you mean 'medical'?"
    )
    async with configured() as session:
        versions = await flow_versions(session=session, line_id="city")
    assert [v.version for v in versions] == [1]


async def test_publishing_for_an_unknown_line_or_without_a_name_is_refused(
    configured: Sessions,
) -> None:
    async with configured() as session:
        with pytest.raises(NotFound, match="no line 'town'"):
            await publish_flow(session=session, line_id="town", source=small_flow(), actor="a")
    with pytest.raises(InvalidInput, match="audit"):
        await publish(configured, small_flow(), actor="  ")


async def test_a_rollback_publishes_a_copy_of_the_older_version(configured: Sessions) -> None:
    await publish(configured, small_flow(name="One"))
    await publish(configured, small_flow(name="Two"))
    bus = InProcessBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    async with configured() as session:
        result = await rollback_flow(
            session=session, line_id="city", version=1, actor="supervisor", bus=bus
        )
    assert (result.version.version, result.version.based_on) == (3, 1)
    async with configured() as session:
        versions = await flow_versions(session=session, line_id="city")
        current = await current_flow(session=session, line_id="city")
    assert [(v.version, v.name, v.is_current, v.based_on) for v in versions] == [
        (3, "One", True, 1),
        (2, "Two", False, None),
        (1, "One", False, None),
    ]
    assert current is not None
    assert current.flow == (await _flow_of(configured, 1))
    assert [e.based_on for e in seen if isinstance(e, IvrFlowPublished)] == [1]


async def _flow_of(sessions: Sessions, version: int) -> Flow:
    async with sessions() as session:
        row = await session.scalar(select(IvrFlowVersion).where(IvrFlowVersion.version == version))
        assert row is not None
        return Flow.model_validate(row.definition)


async def test_a_rollback_to_the_current_or_a_missing_version_is_refused(
    configured: Sessions,
) -> None:
    await publish(configured, small_flow())
    async with configured() as session:
        with pytest.raises(Conflict, match="already the current"):
            await rollback_flow(session=session, line_id="city", version=1, actor="a")
    async with configured() as session:
        with pytest.raises(NotFound, match="no IVR flow version 7"):
            await rollback_flow(session=session, line_id="city", version=7, actor="a")


async def test_a_rollback_to_a_version_naming_a_queue_since_removed_is_refused(
    configured: Sessions,
) -> None:
    await publish(configured, small_flow(queue="employment"))
    await publish(configured, small_flow())
    async with configured() as session, session.begin():
        await session.execute(delete(Queue).where(Queue.id == "employment"))
    async with configured() as session:
        with pytest.raises(InvalidConfiguration, match="unknown queue 'employment'"):
            await rollback_flow(session=session, line_id="city", version=1, actor="a")


async def test_new_calls_run_a_new_version_at_once_and_calls_in_progress_keep_theirs(
    configured: Sessions,
) -> None:
    directory = FlowDirectory(configured)
    assert await directory.for_new_call("city") is None
    await publish(configured, small_flow(queue="medical", name="One"))
    first = await directory.for_new_call("city")
    assert first is not None
    assert first.version == 1
    in_progress = Call(first.flow)
    in_progress.start()

    await publish(configured, small_flow(queue="psychological", name="Two"))
    second = await directory.for_new_call("city")
    assert second is not None
    assert (second.version, second.flow.name) == (2, "Two")
    new_call = Call(second.flow)
    new_call.start()

    assert in_progress.press("1")[-1] == Enqueue("medical", 0, {})
    assert new_call.press("1")[-1] == Enqueue("psychological", 0, {})


async def test_the_directory_reuses_the_parsed_flow_of_a_version(configured: Sessions) -> None:
    directory = FlowDirectory(configured)
    await publish(configured, small_flow())
    first = await directory.for_new_call("city")
    again = await directory.for_new_call("city")
    assert first is not None
    assert again is not None
    assert again.flow is first.flow


async def test_the_published_covid_flow_runs_with_the_configured_calendars(
    configured: Sessions,
) -> None:
    await publish(configured, template_path("covid").read_text(encoding="utf-8"))
    directory = FlowDirectory(configured)
    published = await directory.for_new_call("city")
    assert published is not None
    calendars = {name: Hours(True) for name in published.flow.referenced("calendar")}
    session = IvrSession(published.flow, calendars=calendars)
    assert session.start(0.0)


async def test_the_database_allows_one_current_version_per_line(configured: Sessions) -> None:
    await publish(configured, small_flow())
    async with configured() as session:
        session.add(
            IvrFlowVersion(
                line_id="city",
                version=2,
                name="Sneaky",
                source="",
                definition={},
                published_by="x",
                is_current=True,
            )
        )
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_concurrent_publishes_to_one_line_queue_up_and_all_succeed(
    configured: Sessions,
) -> None:
    results = await asyncio.gather(
        *(publish(configured, small_flow(name=f"Try {n}")) for n in range(4))
    )
    async with configured() as session:
        versions = await flow_versions(session=session, line_id="city")
    assert sorted(results) == [1, 2, 3, 4]
    assert [(v.version, v.is_current) for v in versions] == [
        (4, True),
        (3, False),
        (2, False),
        (1, False),
    ]
