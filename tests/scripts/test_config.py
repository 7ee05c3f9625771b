"""Scripts and forms in the configuration file: bad ones are reported as `file:line: field:
problem` like the rest of the file, and the COVID template's are sound."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config.loader import load_config, parse_config, template_path
from hotline.requests.forms import form_problems
from hotline.scripts.forms import ui_schema_problems
from hotline.scripts.runner import Script, script_problems
from tests.config.test_loader import line, problems_in
from tests.scripts.factories import SCRIPTED


def edit(old: str, new: str) -> str:
    assert old in SCRIPTED
    return SCRIPTED.replace(old, new)


def test_the_scripted_factory_config_is_valid() -> None:
    config = parse_config(SCRIPTED)
    assert [s.id for s in config.scripts] == ["triage_ru", "triage_en", "overflow"]
    assert config.forms[0].json_schema["required"] == ["age", "address"]
    assert config.forms[0].ui_schema == {"notes": {"ui:widget": "textarea"}}


def test_the_covid_template_has_sound_scripts_and_forms_in_both_languages() -> None:
    config = load_config(template_path("covid"))
    by_topic = {(s.topics[0], s.language) for s in config.scripts}
    assert by_topic == {(t, lang) for t in ("medical", "psychological") for lang in ("ru", "en")}
    assert {(f.topics[0], f.language) for f in config.forms} == by_topic
    for script in config.scripts:
        assert script_problems(script.body()) == [], script.id
        # The two languages of a topic ask the same questions with the same answers.
        twin = next(s for s in config.scripts if s.topics == script.topics and s != script)
        assert [(s.id, [c.value for c in s.choices]) for s in script.steps] == [
            (s.id, [c.value for c in s.choices]) for s in twin.steps
        ]
    for form in config.forms:
        assert ui_schema_problems(form.json_schema, form.ui_schema) == [], form.id
    medical = next(f for f in config.forms if f.id == "medical_ru")
    filled = {
        "full_name": "Анна Иванова",
        "age": 70,
        "address": "Тверская, 1, кв. 2",
        "symptoms": ["fever", "cough"],
        "consent": True,
    }
    assert form_problems(medical.json_schema, filled) == []
    assert [p["loc"] for p in form_problems(medical.json_schema, {**filled, "age": -1})] == [
        ["age"]
    ]


def test_a_script_never_ending_is_refused_at_its_line(tmp_path: Path) -> None:
    text = edit("{id: bye, say: До свидания}", "{id: bye, say: До свидания, next: greet}")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'next: greet')}: scripts[0].steps[4]: "
        "step 'bye' leads back to 'greet': a script must always end"
    ]


def test_unknown_steps_and_queues_are_named(tmp_path: Path) -> None:
    text = edit("next: ambulance}", "next: ambulanse}").replace(
        "queues: [overflow]", "queues: [overfow]"
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'ambulanse')}: scripts[0].steps[1].choices[0].next: unknown step 'ambulanse'",
        f"{line(text, 'overfow')}: scripts[2].queues[0]: unknown queue 'overfow'; "
        "did you mean 'overflow'?",
    ]


def test_a_step_that_both_says_and_asks_is_refused(tmp_path: Path) -> None:
    text = edit("{id: greet, say: Hello}", "{id: greet, say: Hello, ask: Why}")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'ask: Why')}: scripts[1].steps[0]: "
        "a step either says something (say) or asks a question (ask)"
    ]


def test_two_scripts_for_one_topic_and_language_are_refused(tmp_path: Path) -> None:
    text = edit("language: en\n    topics: [medical]", "language: ru\n    topics: [medical]")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'topics: [medical]', 2)}: scripts[1].topics[0]: "
        "scripts[0] is already for topic 'medical' in language 'ru'"
    ]


def test_a_script_for_nothing_is_refused(tmp_path: Path) -> None:
    text = edit("    queues: [overflow]\n", "")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'id: overflow', 2)}: scripts[2].topics: "
        "field required: the topics (or queues) this is for; it would never be shown"
    ]


def test_a_bad_form_schema_and_ui_schema_are_refused(tmp_path: Path) -> None:
    text = edit("{type: integer, title: Возраст", "{type: integr, title: Возраст").replace(
        "notes: {ui:widget: textarea}", "note: {ui:widget: textarea}\n      ui:field: Evil"
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'integr')}: forms[0].schema.properties.age.type: unknown type 'integr'; "
        "did you mean 'integer'? (types: array, boolean, integer, null, number, object, string)",
        f"{line(text, 'note: {')}: forms[0].ui_schema.note: the form has no field 'note'; "
        "did you mean 'notes'?",
        f"{line(text, 'ui:field')}: forms[0].ui_schema.ui:field: unknown ui-schema key "
        "(keys: ui:autofocus, ui:description, ui:disabled, ui:enumNames, ui:help, ui:label, "
        "ui:options, ui:order, ui:placeholder, ui:readonly, ui:title, ui:widget)",
    ]


def test_a_misspelt_form_field_suggests_schema(tmp_path: Path) -> None:
    text = edit("    schema:\n      type: object", "    shema:\n      type: object")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'id: triage_ru', 2)}: forms[0].schema: field required",
        f"{line(text, 'shema')}: forms[0].shema: unknown field; did you mean 'schema'?",
    ]


@pytest.mark.parametrize(
    ("ui", "problem"),
    [
        ({"notes": {"ui:widget": "markdown"}}, "unknown widget 'markdown'"),
        ({"ui:order": ["age", "agee", "*"]}, "the form has no field 'agee'; did you mean 'age'?"),
        ({"notes": {"ui:options": {"rows": "3"}}}, "expected int"),
        ({"notes": {"ui:options": {"enableMarkdownInDescription": True}}}, "unknown option"),
        ({"ui:description": 5}, "expected text"),
        ({"notes": "textarea"}, "expected a mapping of ui: keys for this field"),
    ],
)
def test_ui_schema_problems_name_the_key(ui: dict[str, object], problem: str) -> None:
    schema = parse_config(SCRIPTED).forms[0].json_schema
    found = ui_schema_problems(schema, ui)
    assert len(found) == 1
    assert found[0][1].startswith(problem)


def test_the_runner_follows_the_covid_medical_script_to_an_ambulance() -> None:
    config = load_config(template_path("covid"))
    script = Script(next(s for s in config.scripts if s.id == "medical_ru").body())
    progress = script.progress({"emergency": "yes"})
    assert [v.step for v in progress.path] == ["greet", "emergency", "ambulance"]
    assert progress.done
