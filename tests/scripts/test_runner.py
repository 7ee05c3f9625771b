"""The script runner: paths, branches, changing an answer, the checks that make every walk end; and
properties over random scripts whose steps only lead forward (hypothesis)."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from hotline.scripts.runner import AnswerRefused, Script, Visit, script_problems
from hotline.scripts.schemas import END, Choice, ScriptBody, Step

TRIAGE = ScriptBody(
    steps=[
        Step(id="greet", say="Hello"),
        Step(
            id="danger",
            ask="Trouble breathing?",
            choices=[
                Choice(value="yes", label="Yes", next="ambulance"),
                Choice(value="no", label="No"),
            ],
            next="name",
        ),
        Step(id="ambulance", say="Call 103", next=END),
        Step(id="name", ask="Your name?"),
        Step(id="bye", say="Goodbye"),
    ]
)


def test_say_steps_pass_and_the_first_unanswered_question_is_current() -> None:
    progress = Script(TRIAGE).progress({})
    assert progress.path == (Visit("greet", None), Visit("danger", None))
    assert progress.current == "danger"
    assert not progress.done


def test_a_choice_branches_to_its_own_next() -> None:
    progress = Script(TRIAGE).progress({"danger": "yes"})
    assert [v.step for v in progress.path] == ["greet", "danger", "ambulance"]
    assert progress.done


def test_a_choice_without_next_follows_the_question_and_free_text_is_taken() -> None:
    progress = Script(TRIAGE).progress({"danger": "no", "name": "Anna <b>"})
    assert progress.path == (
        Visit("greet", None),
        Visit("danger", "no"),
        Visit("name", "Anna <b>"),
        Visit("bye", None),
    )
    assert progress.done


def test_an_answer_that_is_not_a_choice_leaves_the_question_asked() -> None:
    progress = Script(TRIAGE).progress({"danger": "maybe", "name": "x"})
    assert progress.current == "danger"


def test_changing_an_earlier_answer_forgets_the_answers_after_it() -> None:
    script = Script(TRIAGE)
    answers = script.answer({"danger": "no", "name": "Anna"}, "danger", "yes")
    assert answers == {"danger": "yes"}
    assert script.progress(answers).done


def test_giving_the_same_answer_again_keeps_the_later_ones() -> None:
    answers = Script(TRIAGE).answer({"danger": "no", "name": "Anna"}, "danger", "no")
    assert answers == {"danger": "no", "name": "Anna"}


@pytest.mark.parametrize(
    ("step", "value", "field", "message"),
    [
        ("nowhere", "x", "step", "no step 'nowhere'"),
        ("greet", "x", "step", "takes no answer"),
        ("danger", "perhaps", "answer", "one of: yes, no"),
        ("name", "   ", "answer", "some text"),
        ("name", "Anna", "step", "not on the way"),
    ],
)
def test_answers_the_script_cannot_take_are_refused(
    step: str, value: str, field: str, message: str
) -> None:
    with pytest.raises(AnswerRefused, match=message) as refused:
        Script(TRIAGE).answer({}, step, value)
    assert refused.value.field == field


def test_a_sound_script_has_no_problems() -> None:
    assert script_problems(TRIAGE) == []


def test_unknown_steps_repeats_and_the_reserved_id_are_problems() -> None:
    body = ScriptBody(
        start="begin",
        steps=[
            Step(id="a", ask="?", choices=[Choice(value="x", label="X", next="zz")] * 2),
            Step(id="a", say="again", next="b"),
            Step(id=END, say="reserved"),
        ],
    )
    assert script_problems(body) == [
        (("steps", 1, "id"), "step 'a' is already steps[0]"),
        (("steps", 2, "id"), "'end' is reserved: `next: end` ends"),
        (("start",), "unknown step 'begin'"),
        (("steps", 0, "choices", 0, "next"), "unknown step 'zz'"),
        (("steps", 0, "choices", 1, "next"), "unknown step 'zz'"),
        (("steps", 0, "choices", 1, "value"), "value listed twice"),
        (("steps", 1, "next"), "unknown step 'b'"),
    ]


def test_a_loop_and_a_step_never_reached_are_problems() -> None:
    body = ScriptBody(
        steps=[
            Step(id="a", say="one"),
            Step(
                id="b",
                ask="again?",
                choices=[Choice(value="y", label="Y", next="a"), Choice(value="n", label="N")],
                next=END,
            ),
            Step(id="orphan", say="never"),
        ]
    )
    assert script_problems(body) == [
        (("steps", 1), "step 'b' leads back to 'a': a script must always end"),
        (("steps", 2), "step 'orphan' is never reached from the start"),
    ]


def test_the_runner_stops_at_a_loop_that_slipped_through() -> None:
    body = ScriptBody(steps=[Step(id="a", say="one"), Step(id="b", say="two", next="a")])
    assert [v.step for v in Script(body).progress({}).path] == ["a", "b"]


# ---- properties over random forward-only scripts ----


@st.composite
def scripts(draw: st.DrawFn) -> ScriptBody:
    """Steps s0..sN-1 whose `next`s (own or a choice's) lead only to later steps or to the end:
    without loops by construction (some steps may be left unreached), with any mix of say steps,
    choices and free-text questions."""
    count = draw(st.integers(1, 9))
    ids = [f"s{i}" for i in range(count)]
    steps = []
    for i, sid in enumerate(ids):
        later = st.sampled_from([*ids[i + 1 :], END]) if i + 1 < count else st.just(END)
        kind = draw(st.sampled_from(["say", "choice", "free"]))
        own_next = draw(st.none() | later)
        if kind == "say":
            steps.append(Step(id=sid, say=f"say {sid}", next=own_next))
            continue
        choices: list[Choice] = []
        if kind == "choice":
            for value in draw(
                st.lists(st.sampled_from("abcd"), min_size=1, max_size=4, unique=True)
            ):
                choices.append(
                    Choice(value=value, label=value.upper(), next=draw(st.none() | later))
                )
        steps.append(Step(id=sid, ask=f"ask {sid}", choices=choices, next=own_next))
    return ScriptBody(steps=steps)


def _answers(body: ScriptBody) -> st.SearchStrategy[dict[str, str]]:
    """Answers for some of the questions: a choice's value, free text, or nonsense."""
    questions = [step for step in body.steps if step.ask is not None]
    return st.fixed_dictionaries(
        {},
        optional={
            step.id: st.sampled_from([c.value for c in step.choices] + ["zz"])
            if step.choices
            else st.sampled_from(["some text", " "])
            for step in questions
        },
    )


@settings(max_examples=300)
@given(data=st.data())
def test_every_walk_ends_and_follows_the_branches_of_its_answers(data: st.DataObject) -> None:
    body = data.draw(scripts())
    answers = data.draw(_answers(body))
    script = Script(body)
    assert all("never reached" in message for _, message in script_problems(body))
    progress = script.progress(answers)
    steps = [visit.step for visit in progress.path]
    assert steps[0] == script.start
    assert len(steps) == len(set(steps)) <= len(body.steps)
    for before, after in zip(progress.path, progress.path[1:], strict=False):
        assert script.successor(before.step, before.answer) == after.step
    last = progress.path[-1]
    if progress.done:
        assert script.successor(last.step, last.answer) is None
    else:
        assert last == Visit(progress.current or "", None)
        assert not script.takes(last.step, answers.get(last.step, ""))


@settings(max_examples=300)
@given(data=st.data())
def test_answering_each_question_as_it_comes_always_reaches_the_end(data: st.DataObject) -> None:
    body = data.draw(scripts())
    script = Script(body)
    answers: dict[str, str] = {}
    for _ in range(len(body.steps) + 1):
        progress = script.progress(answers)
        if progress.done:
            break
        step = script.steps[progress.current or ""]
        value = data.draw(st.sampled_from([c.value for c in step.choices] or ["text"]))
        answers = script.answer(answers, step.id, value)
        after = script.progress(answers)
        assert after.path[: len(progress.path)] == (*progress.path[:-1], Visit(step.id, value))
    assert script.progress(answers).done


@settings(max_examples=200)
@given(data=st.data())
def test_a_step_leading_back_makes_a_problem(data: st.DataObject) -> None:
    body = data.draw(scripts())
    path = Script(body).progress({}).path
    # Send the last step reached (with no answers) back to the first: a loop on the way.
    last = path[-1].step
    steps = [
        s.model_copy(update={"next": body.steps[0].id, "choices": []}) if s.id == last else s
        for s in body.steps
    ]
    problems = script_problems(ScriptBody(steps=steps))
    assert any("leads back" in message for _, message in problems)
