"""IVR flow files: every kind of bad input is reported as `file:line: field: problem`, all
problems at once, and the shipped COVID flow is valid against the COVID configuration."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hotline.config.loader import load_config
from hotline.config.loader import template_path as config_template
from hotline.core.errors import InvalidConfiguration
from hotline.ivr.loader import KnownTargets, load_flow, parse_flow, template_path
from hotline.ivr.schemas import Flow, MenuStep, PromptName, Say

GOOD = textwrap.dedent(
    """\
    version: 1
    name: Small
    start: hours
    prompts:
      menu: {say: "Медицинская помощь: один. Психологическая: два."}
      closed: {file: closed_city}
    steps:
      hours:
        type: hours
        calendar: city
        open: menu
        closed: closed
      menu:
        type: menu
        prompts: menu
        options:
          1: medical
          "2": psychology
        fallback: medical
      medical:
        type: enqueue
        queue: medical
      psychology:
        type: enqueue
        queue: psychology
      closed:
        type: hangup
        message: closed
    """
)

KNOWN = KnownTargets(
    queues={"medical", "psychology"},
    lines={"city", "health_ministry"},
    calendars={"city"},
    files={"closed_city"},
)


def problems_in(text: str, tmp_path: Path, known: KnownTargets = KNOWN) -> list[str]:
    path = tmp_path / "flow.yaml"
    path.write_text(text)
    with pytest.raises(InvalidConfiguration) as caught:
        load_flow(path, known=known)
    lines = caught.value.message.splitlines()
    assert len(lines) == len(caught.value.details["problems"])
    assert caught.value.details["file"] == str(path)
    return [line.removeprefix(f"{path}:") for line in lines]


def edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def line(text: str, snippet: str, occurrence: int = 1) -> int:
    found = [n for n, content in enumerate(text.splitlines(), 1) if snippet in content]
    return found[occurrence - 1]


def test_the_covid_flow_is_valid_against_the_covid_configuration() -> None:
    config = load_config(config_template("covid"))
    known = KnownTargets(
        queues={q.id for q in config.queues},
        lines={line.id for line in config.lines},
        calendars={c.id for c in config.calendars},
    )
    loaded = load_flow(template_path("covid"), known=known)
    flow = loaded.flow
    assert loaded.warnings == ()
    assert flow.referenced("queue") == {
        "medical",
        "psychological",
        "volunteering",
        "employment",
        "plasma_donation",
        "social_payments",
        "english",
    }
    assert flow.referenced("line") == {"health_ministry"}
    assert flow.referenced("external") == {"+74950005566"}
    main = flow.steps["main_menu"]
    assert isinstance(main, MenuStep)
    assert sorted(main.options) == list("0123456789")
    # The messages the configuration's queues name are prompts of the flow.
    messages = {q.closed_message for q in config.queues} | {
        rule.message for q in config.queues for rule in q.overflow if rule.message
    }
    assert messages - {None} <= set(flow.prompts)


def test_the_example_in_the_documentation_is_a_valid_flow() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "ivr.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = load_config(config_template("covid"))
    known = KnownTargets(
        queues={q.id for q in config.queues},
        lines={line.id for line in config.lines},
        calendars={c.id for c in config.calendars},
        files={"closed_city"},
    )
    loaded = parse_flow(example, filename="docs/ivr.md", known=known)
    assert loaded.warnings == ()
    types = {step.type for step in loaded.flow.steps.values()}
    assert types == {
        "play", "menu", "collect", "set", "branch", "hours", "enqueue", "callback", "transfer",
        "hangup",
    }  # fmt: skip


def test_a_good_flow_loads_with_digits_as_text() -> None:
    loaded = parse_flow(GOOD, known=KNOWN)
    menu = loaded.flow.steps["menu"]
    assert isinstance(menu, MenuStep)
    assert menu.options == {"1": "medical", "2": "psychology"}
    assert menu.prompts == (PromptName("menu"),)


def test_the_stored_json_form_gives_the_same_flow_back() -> None:
    flow = load_flow(template_path("covid")).flow
    stored = flow.model_dump(mode="json")
    assert Flow.model_validate(stored) == flow


def test_an_unknown_step_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    text = edit('"2": psychology', '"2": psychologi')
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'psychologi')}: steps.menu.options.2: unknown step 'psychologi'; "
        "did you mean 'psychology'?"
    ]


def test_a_digit_given_twice_is_refused(tmp_path: Path) -> None:
    text = edit('"2": psychology', '"1": psychology')
    second = line(text, "psychology")
    assert problems_in(text, tmp_path) == [
        f"{second}: steps.menu.options.1: duplicate digit '1' "
        f"(first at line {line(text, '1: medical')})"
    ]


def test_a_menu_without_options_is_refused(tmp_path: Path) -> None:
    text = edit('      1: medical\n      "2": psychology\n', "").replace("options:", "options: {}")
    problems = problems_in(text, tmp_path)
    assert f"{line(text, 'options')}: steps.menu.options: a menu needs at least one option" in (
        problems
    )


def test_an_unknown_queue_line_calendar_and_recording_are_refused(tmp_path: Path) -> None:
    text = (
        edit("queue: psychology", "queue: psycho")
        .replace("calendar: city", "calendar: town")
        .replace("file: closed_city", "file: closed_cty")
        .replace(
            "  closed:\n    type: hangup",
            "  ministry:\n    type: transfer\n    kind: line\n"
            "    target: ministry\n  closed:\n    type: hangup",
        )
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'file: closed_cty')}: prompts.closed.file: "
        "no uploaded prompt named 'closed_cty'; did you mean 'closed_city'?",
        f"{line(text, 'calendar: town')}: steps.hours.calendar: unknown calendar 'town'",
        f"{line(text, 'queue: psycho')}: steps.psychology.queue: unknown queue 'psycho'; "
        "did you mean 'psychology'?",
        f"{line(text, 'target: ministry')}: steps.ministry.target: unknown line 'ministry'",
    ]


def test_targets_are_not_checked_when_not_known() -> None:
    text = edit("queue: psychology", "queue: anything")
    assert parse_flow(text, known=KnownTargets()).flow.steps["psychology"]


def test_an_unknown_prompt_name_is_refused(tmp_path: Path) -> None:
    text = edit("prompts: menu\n", "prompts: [menu, menuu]\n")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'menuu')}: steps.menu.prompts[1]: unknown prompt 'menuu'; "
        "did you mean 'menu'?"
    ]


def test_a_step_no_call_reaches_is_a_warning_not_an_error() -> None:
    text = GOOD + "  spare:\n    type: hangup\n"
    loaded = parse_flow(text, filename="flow.yaml", known=KNOWN)
    assert [str(w) for w in loaded.warnings] == [
        f"flow.yaml:{line(text, 'spare:')}: steps.spare: no call can reach this step"
    ]


def test_a_loop_a_silent_caller_never_leaves_is_refused(tmp_path: Path) -> None:
    text = edit("fallback: medical", "fallback: again") + (
        "  again:\n    type: play\n    prompts: {say: Ещё раз}\n    next: menu\n"
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, '  menu:', 2)}: steps.menu: a caller who presses nothing goes round "
        "menu -> again -> menu forever"
    ]


def test_a_loop_through_a_menu_option_is_the_callers_choice_and_allowed() -> None:
    text = edit('"2": psychology', '"2": psychology\n      "0": menu')
    assert parse_flow(text, known=KNOWN).warnings == ()


def test_steps_that_can_never_end_the_call_are_refused(tmp_path: Path) -> None:
    text = edit("    fallback: medical\n", "    fallback: spin\n")
    text = text.replace("1: medical", "1: spin").replace('"2": psychology', '"2": spin')
    text += (
        "  spin:\n    type: menu\n    prompts: menu\n    options: {1: menu}\n    fallback: menu\n"
    )
    problems = problems_in(text, tmp_path)
    never = (
        "the call can never end from here: no way leads to enqueue, callback, transfer or hangup"
    )
    assert f"{line(text, '  menu:', 2)}: steps.menu: {never}" in problems
    assert f"{line(text, '  spin:')}: steps.spin: {never}" in problems


def test_unknown_fields_and_step_types_are_named(tmp_path: Path) -> None:
    text = edit("fallback: medical", "fallback: medical\n    retrys: 3").replace(
        "type: hangup", "type: hang_up"
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'retrys')}: steps.menu.retrys: unknown field; did you mean 'retries'?",
        f"{line(text, 'hang_up')}: steps.closed.type: step type must be one of: play, menu, "
        "collect, set, branch, hours, enqueue, callback, transfer, hangup",
    ]


def test_a_missing_field_points_at_its_step(tmp_path: Path) -> None:
    text = edit("    fallback: medical\n", "")
    assert problems_in(text, tmp_path) == [
        f"{line(text, '  menu:', 2)}: steps.menu.fallback: field required"
    ]


def test_a_bad_prompt_language_and_external_number_name_their_fields(tmp_path: Path) -> None:
    text = edit('{say: "Медицинская', '{lang: de, say: "Медицинская').replace(
        "  closed:\n    type: hangup",
        "  out:\n    type: transfer\n    kind: external\n    target: call-me\n"
        "  closed:\n    type: hangup",
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'lang: de')}: prompts.menu.lang: expected one of ru, en, got 'de'",
        f"{line(text, 'call-me')}: steps.out.target: 'call-me' is not a phone number",
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        edit("queue: medical", "queue: medicl")
        .replace('"2": psychology', '"2": psychologi')
        .replace("start: hours", "start: hour")
    )
    problems = problems_in(text, tmp_path)
    assert [p.split(":", 2)[1].strip() for p in problems] == [
        "start",
        "steps.menu.options.2",
        "steps.medical.queue",
    ]


def test_broken_yaml_names_its_line(tmp_path: Path) -> None:
    text = edit("    options:\n", "    options: [\n")
    (problem,) = problems_in(text, tmp_path)
    # The parser notices on the line after the unclosed list's first entry.
    assert problem.startswith(f"{line(text, 'psychology')}: not valid YAML")


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    assert problems_in("- a\n- b\n", tmp_path) == [
        "1: expected a mapping with name, start and steps"
    ]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfiguration, match="cannot read"):
        load_flow(tmp_path / "nowhere.yaml")


def test_yaml_1_2_scalars_keep_text_as_text() -> None:
    text = edit('{say: "Медицинская помощь: один. Психологическая: два."}', "{say: no}")
    loaded = parse_flow(text, known=KNOWN)
    assert loaded.flow.prompts["menu"] == Say("no")


def test_there_is_no_template_by_an_unknown_name() -> None:
    with pytest.raises(InvalidConfiguration, match="covid"):
        template_path("flu")
