"""The script runner: where an agent is in a topic's script, given the answers so far.

Pure: a script and answers in, the path taken and the question now asked out; no I/O, no clock.
The same function serves the server (which stores answers as they are given) and anything that
replays them. Answers are by step id; a step's successor depends only on its own answer, so the
path is found by walking from the start. A script that passed `script_problems` has no loop and
names only its own steps, so every walk ends, whatever the answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hotline.scripts.schemas import END, MAX_ANSWER_LENGTH, ScriptBody, Step

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Visit:
    """A step on the path: with its answer, or None (a say step, or the question now asked)."""

    step: str
    answer: str | None


@dataclass(frozen=True, slots=True)
class Progress:
    """The steps taken, in order; `current` is the question waiting for an answer (the last
    visit), None once the script has ended."""

    path: tuple[Visit, ...]
    current: str | None

    @property
    def done(self) -> bool:
        return self.current is None


class AnswerRefused(ValueError):
    """An answer the script cannot take; `field` is the part of the answer at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Script:
    """A script ready to run. Build it from a body that passed `script_problems`."""

    def __init__(self, body: ScriptBody) -> None:
        self.steps: dict[str, Step] = {step.id: step for step in body.steps}
        order = [step.id for step in body.steps]
        self._following = dict(zip(order, [*order[1:], END], strict=True))
        self.start = body.start or order[0]

    def successor(self, step_id: str, answer: str | None) -> str | None:
        """The step after `step_id` given its answer; None when the script ends there."""
        step = self.steps[step_id]
        chosen = next((c.next for c in step.choices if c.value == answer), None)
        following = chosen or step.next or self._following[step_id]
        return None if following == END else following

    def takes(self, step_id: str, answer: str) -> bool:
        """Whether `answer` answers the question `step_id`: one of its choices' values, or (a
        free-text question) any text that is not blank."""
        step = self.steps[step_id]
        if not step.is_question or len(answer) > MAX_ANSWER_LENGTH:
            return False
        if step.choices:
            return any(c.value == answer for c in step.choices)
        return bool(answer.strip())

    def progress(self, answers: Mapping[str, str]) -> Progress:
        """Walk from the start: say steps pass, answered questions branch on their answer, and
        the first question without a usable answer is where the agent is now."""
        path: list[Visit] = []
        seen: set[str] = set()
        at = self.start if self.start in self.steps else None
        while at is not None and at not in seen:  # `seen`: a guard, should a loop slip through
            seen.add(at)
            step = self.steps[at]
            answer = answers.get(at)
            if step.is_question and (answer is None or not self.takes(at, answer)):
                path.append(Visit(at, None))
                return Progress(tuple(path), at)
            path.append(Visit(at, answer if step.is_question else None))
            at = self.successor(at, answer)
        return Progress(tuple(path), None)

    def answer(self, answers: Mapping[str, str], step_id: str, value: str) -> dict[str, str]:
        """The answers after `value` is given to `step_id`, a question on the path taken (the
        one asked now, or an earlier one, to change it). Changing an earlier answer forgets the
        answers given after it, since the way on may differ; answers off the path are dropped."""
        if step_id not in self.steps:
            raise AnswerRefused("step", f"the script has no step {step_id!r}")
        if not self.steps[step_id].is_question:
            raise AnswerRefused("step", f"step {step_id!r} says something; it takes no answer")
        if not self.takes(step_id, value):
            choices = [c.value for c in self.steps[step_id].choices]
            expected = f"one of: {', '.join(choices)}" if choices else "some text"
            raise AnswerRefused("answer", f"expected {expected}")
        path = [visit.step for visit in self.progress(answers).path]
        if step_id not in path:
            raise AnswerRefused("step", f"step {step_id!r} is not on the way taken so far")
        if answers.get(step_id) == value:
            return {s: answers[s] for s in path if s in answers}
        before = path[: path.index(step_id)]
        kept = {s: answers[s] for s in before if s in answers}
        kept[step_id] = value
        return kept


def script_problems(body: ScriptBody) -> list[tuple[Loc, str]]:
    """What stops a script from always running to its end, each at its path in the body: step
    ids repeated or reserved, `start` and `next` naming no step, choice values repeated, loops,
    steps never reached. Empty: every walk from the start ends."""
    problems: list[tuple[Loc, str]] = []
    index: dict[str, int] = {}
    for i, step in enumerate(body.steps):
        if step.id == END:
            problems.append((("steps", i, "id"), f"{END!r} is reserved: `next: {END}` ends"))
        elif step.id in index:
            problems.append(
                (("steps", i, "id"), f"step {step.id!r} is already steps[{index[step.id]}]")
            )
        else:
            index[step.id] = i

    def known(loc: Loc, target: str | None) -> None:
        if target is not None and target != END and target not in index:
            problems.append((loc, f"unknown step {target!r}"))

    known(("start",), body.start)
    for i, step in enumerate(body.steps):
        known(("steps", i, "next"), step.next)
        values: set[str] = set()
        for j, choice in enumerate(step.choices):
            known(("steps", i, "choices", j, "next"), choice.next)
            if choice.value in values:
                problems.append((("steps", i, "choices", j, "value"), "value listed twice"))
            values.add(choice.value)
    if problems:
        return problems  # the graph below needs sound ids
    script = Script(body)
    edges = {sid: _successors(script, sid) for sid in script.steps}
    problems += _loops(script.start, edges, index)
    reached = _reachable(script.start, edges)
    problems += [
        (("steps", index[sid]), f"step {sid!r} is never reached from the start")
        for sid in script.steps
        if sid not in reached
    ]
    return problems


def _successors(script: Script, step_id: str) -> list[str]:
    """Every step that can follow `step_id`, whatever the answer."""
    step = script.steps[step_id]
    answers: list[str | None] = [c.value for c in step.choices] if step.choices else [None]
    found = [script.successor(step_id, answer) for answer in answers]
    return list(dict.fromkeys(s for s in found if s is not None))


def _reachable(start: str, edges: Mapping[str, list[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for after in edges[stack.pop()]:
            if after not in seen:
                seen.add(after)
                stack.append(after)
    return seen


def _loops(
    start: str, edges: Mapping[str, list[str]], index: Mapping[str, int]
) -> list[tuple[Loc, str]]:
    """A problem for each way back to a step already on the way (depth-first, iteratively)."""
    problems: list[tuple[Loc, str]] = []
    state: dict[str, int] = {}  # 1: on the current way, 2: finished
    for root in [start, *edges]:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, position = stack[-1]
            if position == len(edges[node]):
                state[node] = 2
                stack.pop()
                continue
            stack[-1] = (node, position + 1)
            after = edges[node][position]
            if state.get(after) == 1:
                problems.append(
                    (
                        ("steps", index[node]),
                        f"step {node!r} leads back to {after!r}: a script must always end",
                    )
                )
            elif after not in state:
                state[after] = 1
                stack.append((after, 0))
    return problems
