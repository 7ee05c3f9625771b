"""`hotline init` and the import behind it: the covid template loads on SQLite (command line) and
PostgreSQL (service), with its IVR flow live on the city line, a second init is refused unless
forced, and a failed import, even one that fails late on a database constraint or on a refused IVR
flow, leaves the database exactly as it was."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.cli import cli
from hotline.config.loader import load_config, parse_config, template_flows, template_path
from hotline.config.schemas import AgentSkillConfig, HotlineConfig, OverflowConfig
from hotline.config.service import (
    LineFlow,
    configuration_counts,
    export_config,
    import_config,
    to_routing_specs,
)
from hotline.core.errors import Conflict, InvalidConfiguration
from hotline.core.events import Event, InProcessBus
from hotline.db import migrate
from hotline.db.engine import create_engine, create_sessions
from hotline.ivr.events import IvrFlowPublished
from hotline.ivr.loader import load_flow
from hotline.ivr.models import IvrFlowVersion
from hotline.ivr.service import current_flow
from hotline.routing.models import QueueOverflowRule
from hotline.routing.types import OverflowAction
from hotline.users.models import User
from hotline.users.passwords import verify_password
from tests.config.factories import FAST_HASHING, SMALL

COVID_COUNTS = {
    "skills": 9,
    "calendars": 3,
    "queues": 8,
    "lines": 2,
    "wrap_up_codes": 10,
    "field_worker_kinds": 4,
    "districts": 5,
    "request_categories": 7,
    "users": 29,
    "scripts": 4,
    "forms": 4,
}


def _rows(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        count: int = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return count


def _password_hash(database: Path, username: str) -> str:
    with sqlite3.connect(database) as connection:
        stored: str = connection.execute(
            "SELECT password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()[0]
    return stored


def _printed_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\S+)\s+(\S+)$", output, flags=re.MULTILINE))


def test_init_loads_the_covid_template_and_prints_demo_passwords(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "init", "--template", "covid"])
    assert result.exit_code == 0, result.output
    database = tmp_path / "hotline.db"
    assert _rows(database, "users") == 29
    assert _rows(database, "queues") == 8
    passwords = _printed_passwords(result.output)
    assert set(passwords) >= {f"agent{n:02d}" for n in range(1, 21)} | {"supervisor", "admin"}
    assert "Demo sign-in passwords" in result.output
    stored = _password_hash(database, "agent07")
    assert passwords["agent07"] not in stored
    assert verify_password(passwords["agent07"], stored)


def _flow_versions(database: Path) -> list[tuple[str, int, int, str]]:
    with sqlite3.connect(database) as connection:
        rows: list[tuple[str, int, int, str]] = connection.execute(
            "SELECT line_id, version, is_current, published_by FROM ivr_flow_versions "
            "ORDER BY line_id, version"
        ).fetchall()
    return rows


def test_init_with_the_covid_template_publishes_the_city_lines_ivr_flow(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "init", "--template", "covid"])
    assert result.exit_code == 0, result.output
    assert "Published IVR flow 'City COVID-19 hotline' as version 1 of line 'city'." in (
        result.output
    )
    assert "warning" not in result.output
    assert _flow_versions(tmp_path / "hotline.db") == [("city", 1, 1, "hotline init")]


def test_a_second_init_is_refused_and_force_replaces(tmp_path: Path) -> None:
    database = tmp_path / "hotline.db"
    asyncio.run(_import_small(f"sqlite+aiosqlite:///{database}"))
    hash_before = _password_hash(database, "boss")
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path), "init", "--template", "covid"]

    again = runner.invoke(cli, args)
    assert again.exit_code == 2
    assert "already holds a hotline configuration" in again.stderr
    assert "--force" in again.stderr
    assert _rows(database, "users") == 2
    assert _password_hash(database, "boss") == hash_before

    forced = runner.invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert _rows(database, "users") == 29
    assert _rows(database, "queues") == 8


async def _import_small(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with create_sessions(engine)() as session:
            await import_config(
                session=session, config=parse_config(SMALL), password_cost=FAST_HASHING
            )
    finally:
        await engine.dispose()


def test_init_from_the_installed_command(tmp_path: Path) -> None:
    hotline = Path(sys.executable).parent / "hotline"
    done = subprocess.run(
        [str(hotline), "--data-dir", str(tmp_path), "init", "--template", "covid"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Loaded template 'covid'" in done.stdout
    assert "Published IVR flow 'City COVID-19 hotline' as version 1 of line 'city'." in done.stdout
    assert _rows(tmp_path / "hotline.db", "agent_skills") > 40
    assert _flow_versions(tmp_path / "hotline.db") == [("city", 1, 1, "hotline init")]


def test_init_with_an_invalid_file_touches_no_database(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(SMALL.replace("    strategy: longest_idle\n", ""))
    data = tmp_path / "data"
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "init", "--file", str(path)])
    assert result.exit_code == 2
    assert re.search(r"mine\.yaml:\d+: queues\[1\]\.strategy: field required", result.stderr)
    assert not data.exists()


def test_init_from_a_file_labels_passwords_as_real(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(SMALL)
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "init", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "\nSign-in passwords" in result.output
    assert set(_printed_passwords(result.output)) == {"agent01", "boss"}


def test_init_needs_exactly_one_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "init"])
    assert result.exit_code == 2
    assert "give either --template NAME or --file PATH" in result.output


async def test_the_covid_template_imports_and_exports_unchanged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    config = load_config(template_path("covid"))
    async with sessions() as session:
        summary = await import_config(session=session, config=config, password_cost=FAST_HASHING)
    assert summary.counts == COVID_COUNTS
    async with sessions() as session:
        exported = await export_config(session=session)
        admin = (await session.scalars(select(User).where(User.username == "admin"))).one()
        assert admin.role_names == ["admin"]
        assert verify_password(summary.passwords["admin"], admin.password_hash or "")
    assert to_routing_specs(exported) == to_routing_specs(config)
    assert exported.model_dump()["lines"][0]["number"] == "+74950001122"
    for section in ("field_worker_kinds", "districts", "request_categories"):
        assert getattr(exported, section) == getattr(config, section)
    for section in ("scripts", "forms"):
        assert getattr(exported, section) == sorted(getattr(config, section), key=lambda r: r.id)
    assert [(u.username, u.field_worker) for u in exported.users] == sorted(
        (u.username, u.field_worker) for u in config.users
    )


def _covid_flows() -> list[LineFlow]:
    return [
        LineFlow.from_file(line, path, actor="hotline init")
        for line, path in template_flows("covid").items()
    ]


async def test_the_covid_template_imports_with_its_ivr_flow_current_on_the_city_line(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    bus = InProcessBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    async with sessions() as session:
        summary = await import_config(
            session=session,
            config=load_config(template_path("covid")),
            flows=_covid_flows(),
            bus=bus,
            password_cost=FAST_HASHING,
        )
    assert [(r.version.line_id, r.version.version, r.warnings) for r in summary.flows] == [
        ("city", 1, ())
    ]
    async with sessions() as session:
        current = await current_flow(session=session, line_id="city")
        assert await current_flow(session=session, line_id="health_ministry") is None
    assert current is not None
    assert current.version == 1
    assert current.flow == load_flow(template_flows("covid")["city"]).flow
    assert seen == [summary.flows[0].event]
    assert isinstance(seen[0], IvrFlowPublished)


async def test_a_replacing_import_publishes_the_flow_as_the_lines_next_version(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    config = load_config(template_path("covid"))
    for replace in (False, True):
        async with sessions() as session:
            await import_config(
                session=session,
                config=config,
                replace=replace,
                flows=_covid_flows(),
                password_cost=FAST_HASHING,
            )
    async with sessions() as session:
        current = await current_flow(session=session, line_id="city")
        versions = (await session.scalars(select(IvrFlowVersion.version))).all()
    assert current is not None
    assert (current.version, sorted(versions)) == (2, [1, 2])


async def test_a_refused_ivr_flow_fails_the_whole_import(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    (good,) = _covid_flows()
    assert "    queue: english\n" in good.source
    source = good.source.replace("    queue: english\n", "    queue: englsh\n")
    broken = LineFlow("city", source, "covid.yaml", actor="hotline init")
    async with sessions() as session:
        with pytest.raises(InvalidConfiguration) as caught:
            await import_config(
                session=session,
                config=load_config(template_path("covid")),
                flows=[broken],
                password_cost=FAST_HASHING,
            )
    assert caught.value.message.splitlines()[0] == (
        "the IVR flow covid.yaml for line 'city' was refused, so nothing was imported:"
    )
    assert "steps.to_english.queue: unknown queue 'englsh'; did you mean 'english'?" in (
        caught.value.message
    )
    async with sessions() as session:
        assert set((await configuration_counts(session=session)).values()) == {0}
        assert await session.scalar(select(func.count()).select_from(IvrFlowVersion)) == 0


async def test_import_refuses_a_configured_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    config = parse_config(SMALL)
    async with sessions() as session:
        await import_config(session=session, config=config, password_cost=FAST_HASHING)
    async with sessions() as session:
        with pytest.raises(Conflict, match="already holds a hotline configuration"):
            await import_config(session=session, config=config, password_cost=FAST_HASHING)


def _fails_on_a_unique_constraint(config: HotlineConfig) -> HotlineConfig:
    """The last queue gets two overflow rules at the same moment (the checks are bypassed)."""
    *others, last = config.queues
    rule = OverflowConfig(after=30, action=OverflowAction.CALLBACK)
    return config.model_copy(
        update={"queues": [*others, last.model_copy(update={"overflow": [rule, rule]})]}
    )


def _fails_on_a_foreign_key(config: HotlineConfig) -> HotlineConfig:
    """The last user is given a skill that does not exist (the checks are bypassed)."""
    *others, last = config.users
    ghost = AgentSkillConfig(skill="no_such_skill")
    return config.model_copy(
        update={"users": [*others, last.model_copy(update={"skills": [*last.skills, ghost]})]}
    )


@pytest.mark.parametrize("break_config", [_fails_on_a_unique_constraint, _fails_on_a_foreign_key])
async def test_a_failed_replace_leaves_the_first_configuration_intact(
    sessions: async_sessionmaker[AsyncSession],
    break_config: Callable[[HotlineConfig], HotlineConfig],
) -> None:
    first = parse_config(SMALL)
    async with sessions() as session:
        await import_config(session=session, config=first, password_cost=FAST_HASHING)
        before = await export_config(session=session)
    # A second, larger configuration that fails late: after the first one was erased and most
    # of its own rows were written.
    broken = break_config(load_config(template_path("covid")))
    async with sessions() as session:
        with pytest.raises(IntegrityError):
            await import_config(
                session=session, config=broken, replace=True, password_cost=FAST_HASHING
            )
    async with sessions() as session:
        assert await export_config(session=session) == before
        assert await configuration_counts(session=session) == {
            "skills": 2,
            "calendars": 1,
            "queues": 2,
            "lines": 1,
            "wrap_up_codes": 1,
            "field_worker_kinds": 0,
            "districts": 0,
            "request_categories": 0,
            "users": 2,
            "scripts": 0,
            "forms": 0,
        }
        rules = await session.scalar(select(func.count()).select_from(QueueOverflowRule))
        assert rules == 1


async def test_a_failed_import_into_an_empty_database_writes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broken = _fails_on_a_foreign_key(load_config(template_path("covid")))
    async with sessions() as session:
        with pytest.raises(IntegrityError):
            await import_config(session=session, config=broken, password_cost=FAST_HASHING)
    async with sessions() as session:
        counts = await configuration_counts(session=session)
        assert set(counts.values()) == {0}


async def test_inside_a_callers_transaction_a_failed_import_rolls_back_to_its_savepoint(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broken = _fails_on_a_foreign_key(load_config(template_path("covid")))
    async with sessions() as session, session.begin():
        with pytest.raises(IntegrityError):
            await import_config(session=session, config=broken, password_cost=FAST_HASHING)
        await import_config(session=session, config=parse_config(SMALL), password_cost=FAST_HASHING)
    async with sessions() as session:
        assert (await configuration_counts(session=session))["users"] == 2
