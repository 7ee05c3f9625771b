"""The call layer's small pure parts: what announcements say, how numbers are dialled and
matched to lines, trunk settings with secrets from the environment, the live queue figures
the HTTP API serves, and a caller's place in line."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.calls.audio import QueuePosition, announcement_text
from hotline.calls.call import WaitingLines
from hotline.calls.directory import LineDirectory
from hotline.calls.legs import dialable
from hotline.config.loader import parse_config
from hotline.config.service import import_config
from hotline.core.errors import InvalidConfiguration
from hotline.core.settings import Settings, secret_value
from hotline.routing.engine import RoutingEngine
from hotline.routing.figures import queue_figures
from hotline.routing.types import AgentSkill, QueueSpec, SkillRequirement
from tests.calls.conftest import calls_config
from tests.config.factories import FAST_HASHING


@pytest.mark.parametrize(
    ("kind", "position", "wait", "lang", "said"),
    [
        ("position", 3, 0.0, "ru", "3"),
        ("expected_wait", 1, 30.0, "ru", "менее минуты"),
        ("expected_wait", 1, 61.0, "ru", "около двух минут"),
        ("expected_wait", 1, 600.0, "ru", "около 10 минут"),
        ("expected_wait", 1, 1260.0, "ru", "около 21 минуты"),
        ("expected_wait", 1, 30.0, "en", "less than a minute"),
        ("expected_wait", 1, 170.0, "en", "about 3 minutes"),
    ],
)
def test_announcements_say_the_place_and_a_wait_rounded_up_to_minutes(
    kind: str, position: int, wait: float, lang: str, said: str
) -> None:
    assert announcement_text(kind, QueuePosition(position, wait), lang) == said


def test_numbers_are_dialled_as_digits_with_their_plus() -> None:
    assert dialable("+7 (495) 000-11-22") == "+74950001122"
    assert dialable("8 495 000 11 22") == "84950001122"
    assert dialable("anonymous") == ""


async def test_a_dialled_number_finds_its_line_however_the_carrier_writes_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    config = calls_config(offer_timeout=5)
    async with sessions() as session:
        await import_config(
            session=session, config=parse_config(config), password_cost=FAST_HASHING
        )
    lines = LineDirectory(sessions)
    for dialled in ("+74950001122", "74950001122", "84950001122", "4950001122", "city"):
        found = await lines.match(dialled)
        assert found is not None
        assert found.id == "city", dialled
    assert await lines.match("5550000") is None
    assert (await LineDirectory(sessions, default_line="ministry").match("5550000")) is not None


def test_trunk_passwords_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_CARRIER", "s3cret")
    assert secret_value("${SECRET_CARRIER}") == "s3cret"
    assert secret_value("literal") == "literal"
    with pytest.raises(InvalidConfiguration, match="MISSING_SECRET"):
        secret_value("${MISSING_SECRET}")
    settings = Settings(
        sip_trunks=[{"name": "carrier-a", "proxy": "sip.example:5060", "register": True}]
    )
    assert settings.sip_trunks[0].register_at_carrier


def test_addresses_in_settings_are_never_names() -> None:
    with pytest.raises(ValueError, match="advertised_address"):
        Settings(advertised_address="hotline.example")


def test_queue_figures_count_waiting_contacts_agents_by_state_and_todays_service_level() -> None:
    spec = QueueSpec("help", (SkillRequirement("help"),), sl_target_seconds=20)
    engine = RoutingEngine([spec])
    engine.login("a1", [AgentSkill("help")], 1000.0, ready=True)
    engine.login("a2", [AgentSkill("other")], 1000.0, ready=True)
    engine.arrive("c1", "help", 1000.0)  # offered to a1 at once
    engine.answer("c1", 1010.0)
    engine.arrive("c2", "help", 1020.0)  # waits: a1 is busy
    (figures,) = queue_figures(engine, {"help": spec}, now=1050.0, day_start=0.0)
    assert (figures.waiting, figures.longest_wait_seconds) == (1, 30.0)
    assert figures.agents == {"busy": 1}
    assert (figures.offered_today, figures.answered_today) == (2, 1)
    assert figures.service_level_today == 0.5


def test_a_callers_place_in_line_counts_who_waits_before_them() -> None:
    spec = QueueSpec("help", (SkillRequirement("help"),))
    other = QueueSpec("other", (SkillRequirement("other"),))
    engine = RoutingEngine([spec, other])
    engine.arrive("first", "help", 1000.0)
    engine.arrive("second", "help", 1001.0)
    engine.arrive("elsewhere", "other", 1001.5)
    engine.arrive("urgent", "help", 1002.0, priority=5)
    lines = WaitingLines(max_age=1.0)
    assert {c: lines.ahead(engine, engine.contact(c), 1003.0) for c in engine_ids(engine)} == {
        "urgent": 0,
        "first": 1,
        "second": 2,
        "elsewhere": 0,
    }
    # One listing serves the announcements of the next second; then the line is read again.
    engine.abandon("first", 1003.2)
    assert lines.ahead(engine, engine.contact("second"), 1003.5) == 2
    assert lines.ahead(engine, engine.contact("second"), 1004.0) == 1


def engine_ids(engine: RoutingEngine) -> list[str]:
    return [c.contact_id for c in engine.contacts()]
