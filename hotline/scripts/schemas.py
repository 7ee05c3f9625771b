"""Shapes of the scripts and forms domain: a script's steps as written in the configuration and
stored in each version, and the API's answers and bodies (docs/scripts.md).

A script is a list of steps. A `say` step is text the agent reads out; an `ask` step is a question,
answered with one of its `choices` (each may branch with its own `next`) or, without choices, in
free text. After a step comes its `next`, else the step written after it; `next: end` (or the last
step) ends the script. The checks that span steps (unknown or repeated ids, loops, steps never
reached) are `hotline.scripts.runner.script_problems`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

END = "end"
"""The `next` that ends a script; no step may take it as its id."""

MAX_STEPS = 200
MAX_CHOICES = 20
MAX_ANSWER_LENGTH = 2000
MAX_FORM_BYTES = 64 * 1024
"""The largest form data (as compact JSON) a draft or a submission may hold."""

Language = Literal["ru", "en"]

StepId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
"""A step's id, and the value of a choice: lowercase letters, digits, `_`, `.` and `-`."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Strict(BaseModel):
    """Unknown fields are errors (a typo must not be silently ignored); values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Strict):
    """One answer to a question: `value` is what is stored, `label` what the agent's button says,
    `next` where the script goes on that answer (else the question's own `next`)."""

    value: StepId
    label: Label
    next: StepId | None = None


class Step(_Strict):
    id: StepId
    say: Text | None = None
    ask: Text | None = None
    hint: Text | None = None  # for the agent's eyes only: not read out
    choices: list[Choice] = Field(default=[], max_length=MAX_CHOICES)
    next: StepId | None = None

    @model_validator(mode="after")
    def _say_or_ask(self) -> Step:
        if (self.say is None) == (self.ask is None):
            raise ValueError("a step either says something (say) or asks a question (ask)")
        if self.choices and self.ask is None:
            raise ValueError("choices belong to a question (ask), not to a say step")
        return self

    @property
    def is_question(self) -> bool:
        return self.ask is not None


class ScriptBody(_Strict):
    """What a script version runs: its steps and where it starts (else at the first step)."""

    start: StepId | None = None
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)


# ---- the API ----


class ScriptOut(BaseModel):
    id: str
    version: int
    name: str
    language: str
    start: str
    steps: list[Step]


class Visited(BaseModel):
    step: str
    answer: str | None = Field(description="null for a say step, and for the question now asked")


class ScriptStateOut(BaseModel):
    """The contact's way through the script so far, as the runner sees its answers."""

    answers: dict[str, str]
    path: list[Visited]
    current: str | None = Field(description="the question waiting for an answer; null when done")
    done: bool
    updated_at: datetime | None
    updated_by: str | None


class FormOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id: str
    version: int
    name: str
    language: str
    json_schema: dict[str, Any] = Field(alias="schema")
    ui_schema: dict[str, Any]


class DraftOut(BaseModel):
    """The contact's answers to the form. `version` counts saves (0: nothing saved yet) and is
    what the next save must name as its `base_version`."""

    version: int
    form_version: int
    status: Literal["new", "draft", "submitted"]
    data: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None
    submitted_at: datetime | None


class ScriptFormOut(BaseModel):
    contact_id: str
    topic: str | None
    language: str
    script: ScriptOut | None
    script_state: ScriptStateOut | None
    form: FormOut | None
    draft: DraftOut | None


class FormDataIn(BaseModel):
    """A draft to save or a form to submit, based on the draft version the browser last had."""

    model_config = ConfigDict(extra="forbid")

    base_version: int = Field(ge=0, description="the draft's `version` this data was edited from")
    data: dict[str, Any]
    form_id: StepId | None = Field(
        None, description="the form the browser shows; refused (409) if the contact's changed"
    )


class ScriptAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: StepId
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_LENGTH)
    script_id: StepId | None = Field(
        None, description="the script the browser shows; refused (409) if the contact's changed"
    )
