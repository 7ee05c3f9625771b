"""Configuration files: every kind of bad input is reported as `file:line: field: problem`, all
problems at once, and the shipped template is valid."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.calendars.hours import BusinessHours
from hotline.cli import cli
from hotline.config.loader import load_config, parse_config, template_names, template_path
from hotline.config.service import to_routing_specs
from hotline.core.errors import InvalidConfiguration
from hotline.routing.types import OverflowAction, OverflowRule, SkillRequirement, Strategy
from tests.config.factories import SMALL


def problems_in(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "hotline.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(InvalidConfiguration) as caught:
        load_config(path)
    lines = caught.value.message.splitlines()
    assert len(lines) == len(caught.value.details["problems"])
    return [line.removeprefix(f"{path}:") for line in lines]


def edit(old: str, new: str) -> str:
    assert old in SMALL
    return SMALL.replace(old, new)


def line(text: str, snippet: str, occurrence: int = 1) -> int:
    """The number of the line holding the `occurrence`-th `snippet` in `text`."""
    found = [n for n, content in enumerate(text.splitlines(), 1) if snippet in content]
    return found[occurrence - 1]


def test_the_covid_template_is_valid() -> None:
    config = load_config(template_path("covid"))
    assert "covid" in template_names()
    topics = {s.id for s in config.skills if s.kind == "topic"}
    assert {"medical", "psychological", "volunteering", "employment", "plasma"} <= topics
    assert {"social_payments"} <= topics
    assert {s.id for s in config.skills if s.kind == "language"} == {"ru", "en"}
    assert [line.kind for line in config.lines] == ["public", "department"]
    agents = [u for u in config.users if u.roles == ["agent"]]
    assert len(agents) == 20
    assert all(len(agent.skills) >= 2 for agent in agents)
    roles = {role for user in config.users for role in user.roles}
    assert roles == {"agent", "supervisor", "admin", "field_worker", "department_specialist"}


def test_the_small_factory_config_is_valid() -> None:
    assert len(parse_config(SMALL).queues) == 2


def test_a_queue_without_strategy_names_file_line_and_field(tmp_path: Path) -> None:
    text = edit("    strategy: longest_idle\n", "")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'id: overflow')}: queues[1].strategy: field required"
    ]


def test_an_unknown_skill_is_named_with_a_suggestion(tmp_path: Path) -> None:
    text = edit("[{skill: medical}, {skill: ru}]", "[{skill: medcal}, {skill: ru}]")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'medcal')}: queues[0].skills[0].skill: unknown skill 'medcal'; "
        "did you mean 'medical'?"
    ]


def test_two_overflow_rules_at_the_same_after_are_refused(tmp_path: Path) -> None:
    rule = "      - {after: 60, action: callback}\n"
    text = edit(rule, f"{rule}      - {{after: 60, action: move, queue: overflow}}\n")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'action: move')}: queues[0].overflow[1].after: "
        "two overflow rules at after=60 (the other is overflow[0])"
    ]


def test_overlapping_business_hours_on_one_day_are_refused(tmp_path: Path) -> None:
    text = edit(
        '      - {days: mon-fri, open: "08:00", close: "22:00"}\n',
        '      - {days: mon-fri, open: "08:00", close: "22:00"}\n'
        '      - {days: [fri, sat], open: "21:00", close: "23:00"}\n',
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, '[fri, sat]')}: calendars[0].hours[1]: overlaps hours[0] on fri (08:00-22:00)"
    ]


def test_duplicate_ids_name_both_places(tmp_path: Path) -> None:
    ru = "  - {id: ru, name: Russian, kind: language}"
    text = edit(ru, f"{ru}\n  - {{id: medical, name: Again}}")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'Again')}: skills[2].id: duplicate id 'medical' "
        f"(first at skills[0], line {line(text, 'id: medical')})"
    ]


def test_an_unknown_queue_in_a_move_rule_is_named(tmp_path: Path) -> None:
    text = edit("{after: 60, action: callback}", "{after: 60, action: move, queue: nowhere}")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'nowhere')}: queues[0].overflow[0].queue: unknown queue 'nowhere'"
    ]


def test_an_overflow_rule_lacking_what_its_action_needs_is_refused(tmp_path: Path) -> None:
    text = edit("{after: 60, action: callback}", "{after: 60, action: widen, queue: overflow}")
    at = line(text, "action: widen")
    assert problems_in(text, tmp_path) == [
        f"{at}: queues[0].overflow[0].queue: only used by action 'move'",
        f"{at}: queues[0].overflow[0].skills: field required for action 'widen'",
    ]


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    text = edit("    name: Overflow\n", "    name: [Overflow\n")
    (problem,) = problems_in(text, tmp_path)
    assert problem.startswith(f"{line(text, '[Overflow') + 1}: not valid YAML: expected ',' or ']'")


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    text = edit("    hours: city\n    overflow:", "    hours: city\n    hours: city\n    overflow:")
    first, second = line(text, "hours: city"), line(text, "hours: city", 2)
    assert problems_in(text, tmp_path) == [
        f"{second}: queues[0].hours: duplicate key (first at line {first})"
    ]


def test_an_unknown_field_suggests_the_right_one(tmp_path: Path) -> None:
    text = edit("    strategy: longest_idle\n", "    strateg: longest_idle\n")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'id: overflow')}: queues[1].strategy: field required",
        f"{line(text, 'strateg:')}: queues[1].strateg: unknown field; did you mean 'strategy'?",
    ]


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    text = (
        SMALL.replace("kind: language", "kind: tongue")
        .replace("timezone: Europe/Moscow", "timezone: Europe/Moscov")
        .replace("{skill: medical, level: 7}", "{skill: plasma, level: 11}")
        .replace("strategy: best_skill", "strategy: fastest")
        .replace("queue: medical, hours: city", "queue: medical, hours: town")
        .replace("roles: [supervisor]", "roles: []")
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'tongue')}: skills[1].kind: input should be 'topic', 'language' or 'other'",
        f"{line(text, 'Moscov')}: calendars[0].timezone: unknown time zone 'Europe/Moscov'; "
        "use an IANA name such as Europe/Moscow",
        f"{line(text, 'fastest')}: queues[0].strategy: input should be 'longest_idle', "
        "'least_occupied', 'round_robin' or 'best_skill'",
        f"{line(text, 'town')}: lines[0].hours: unknown calendar 'town'",
        f"{line(text, 'plasma')}: users[0].skills[0].level: "
        "input should be less than or equal to 10",
        f"{line(text, 'plasma')}: users[0].skills[0].skill: unknown skill 'plasma'",
        f"{line(text, 'roles: []')}: users[1].roles: "
        "list should have at least 1 item after validation, not 0",
    ]


def test_times_are_text_even_unquoted(tmp_path: Path) -> None:
    config = parse_config(SMALL.replace('close: "22:00"', "close: 22:00"))
    assert config.calendars[0].hours[0].close == 22 * 60


def test_an_unquoted_phone_number_is_refused_with_advice(tmp_path: Path) -> None:
    text = edit('number: "+7 495 000-11-22"', "number: +74950001122")
    (problem,) = problems_in(text, tmp_path)
    assert problem.startswith(
        f'{line(text, "+7495")}: lines[0].number: write the number in quotes, e.g. "74950001122"'
    )


def test_a_department_specialist_needs_a_known_department(tmp_path: Path) -> None:
    text = edit(
        "roles: [supervisor]}", "roles: [department_specialist], department: health_ministry}"
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'username: boss')}: users[1].department: "
        "unknown department 'health_ministry' (no department line names it)"
    ]


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    assert problems_in("- just\n- a list\n", tmp_path) == [
        "1: expected a mapping with sections such as skills, queues and users"
    ]


def test_a_missing_file_is_reported_without_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfiguration, match="nope.yaml: cannot read: No such file"):
        load_config(tmp_path / "nope.yaml")


def test_check_lists_problems_and_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    text = edit("    strategy: longest_idle\n", "")
    path.write_text(text)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 2
    at = line(text, "id: overflow")
    assert result.stderr == f"error: {path}:{at}: queues[1].strategy: field required\n"


def test_check_accepts_a_valid_file_without_a_database(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text(SMALL)
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid (2 skills, 1 calendars, 2 queues, 1 lines, 1 wrap up codes, 2 users)" in (
        result.output
    )
    assert not (tmp_path / "data").exists()


def test_routing_specs_follow_the_configuration() -> None:
    specs = to_routing_specs(load_config(template_path("covid")))
    medical = specs.queues["medical"]
    assert medical.strategy is Strategy.BEST_SKILL
    assert medical.skills == (SkillRequirement("medical", 1), SkillRequirement("ru", 1))
    assert medical.overflow[0] == OverflowRule(
        after=60, action=OverflowAction.WIDEN, skills=(SkillRequirement("plasma", 4),)
    )
    assert [rule.after for rule in medical.overflow] == [60, 180, 900]
    assert isinstance(medical.hours, BusinessHours)
    assert medical.hours is specs.calendars["city"]
    assert specs.queues["plasma_donation"].overflow[0].queue == "medical"
    # 20 agents, the supervisor (also an agent) and two ministry specialists answer contacts.
    assert len(specs.agents) == 23
    assert "admin" not in specs.agents
    assert specs.agents["agent01"]["plasma"].preference == 1
    assert specs.agents["health01"]["health_ministry"].level == 8


def test_shared_settings_can_be_merged_from_an_x_key(tmp_path: Path) -> None:
    text = SMALL.replace(
        "queues:\n", "x-queue: &queue {strategy: round_robin, wrap_up_seconds: 15}\nqueues:\n"
    ).replace("  - id: overflow\n", "  - <<: *queue\n    id: overflow\n")
    overflow = parse_config(text).queues[1]
    assert (overflow.strategy, overflow.wrap_up_seconds) == (Strategy.LONGEST_IDLE, 15)
