"""The IVR flow format: steps, prompts and the flow that holds them.

A flow is data, written as YAML by people and stored as JSON in the database, so these pydantic
models are both the file format and the interpreter's input. Each record is checked on its own here
(types, ranges, required fields); the checks across records (unknown steps and queues, steps no
call can reach, loops a silent caller never leaves) are in `hotline.ivr.loader`, which also ties
every problem to its file and line. `Flow.model_dump(mode="json")` gives the stored form back, and
`Flow.model_validate` of that form gives an equal flow.

Prompt references are plain frozen dataclasses (`Say`, `AudioFile`, `Announcement`): the
interpreter puts them in its `Play` actions, and a driver turns them into audio. Nothing here does
I/O, so the pure interpreter may import it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    field_validator,
    model_validator,
)

FORMAT_VERSION: Literal[1] = 1

LANGUAGES = ("ru", "en")
"""Languages text prompts may be spoken in (espeak-ng voices `ru` and `en`)."""

DTMF_DIGITS = "0123456789*#ABCD"

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
"""An id (a step, a queue, a calendar, a line, a named prompt): lowercase letters, digits, `_`,
`.` and `-`, starting with a letter or digit. The same spelling as configuration ids."""

AttributeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""A contact attribute's name: `topic`, `district`, `language`."""

AttributeValue: TypeAlias = str | int | bool
"""What an attribute holds. Collected digits are text ("007" keeps its zeros)."""

Language = Literal["ru", "en"]

Digit = Annotated[str, StringConstraints(pattern=r"^[0-9*#A-D]$")]
"""One DTMF key. In YAML, quote `"*"` and `"#"` (they start an alias and a comment)."""

Seconds = Annotated[float, Field(gt=0, le=120)]


# ---- prompt references ----


@dataclass(frozen=True, slots=True)
class Say:
    """Text spoken by the text-to-speech engine; `lang` None means the flow's language."""

    text: str
    lang: Language | None = None
    voice: str | None = None


@dataclass(frozen=True, slots=True)
class AudioFile:
    """An uploaded recording, by the name it was uploaded under."""

    name: str


@dataclass(frozen=True, slots=True)
class Announcement:
    """A built-in announcement whose number only the driver knows when it plays: the caller's
    position in the queue, or the expected wait."""

    kind: Literal["position", "expected_wait"]
    lang: Language | None = None


@dataclass(frozen=True, slots=True)
class PromptName:
    """A reference to one of the flow's named prompts (the `prompts:` section). Only found in
    flows: the interpreter replaces it with the prompt it names before a driver sees it."""

    name: str


PromptRef: TypeAlias = Say | AudioFile | Announcement
"""A prompt as a driver receives it in a `Play` action."""

PromptSpec: TypeAlias = Say | AudioFile | Announcement | PromptName
"""A prompt as written in a flow."""

_PROMPT_HELP = (
    "expected a prompt: a prompt name, {say: text, lang: ru}, {file: name} "
    "or {announce: position | expected_wait}"
)
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_VOICE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})?(\+[a-z0-9]{1,16})?$")


def _language(value: Any) -> Language | None:
    if value is None:
        return None
    if value == "ru":
        return "ru"
    if value == "en":
        return "en"
    raise ValueError(f"lang: expected one of {', '.join(LANGUAGES)}, got {value!r}")


def parse_prompt(value: Any, *, names: bool = True) -> PromptSpec:
    """A prompt as written in a flow (a name, or a say, file or announce mapping)."""
    if isinstance(value, Say | AudioFile | Announcement | PromptName):
        return value
    if isinstance(value, str) and names:
        if not _KEY.match(value):
            raise ValueError(f"{value!r} is not a prompt name; {_PROMPT_HELP}")
        return PromptName(value)
    if not isinstance(value, Mapping):
        raise ValueError(_PROMPT_HELP)
    kinds = [k for k in ("say", "file", "announce") if k in value]
    if len(kinds) != 1:
        raise ValueError(_PROMPT_HELP)
    kind = kinds[0]
    allowed = {"say": {"say", "lang", "voice"}, "file": {"file"}, "announce": {"announce", "lang"}}
    extra = sorted(set(map(str, value)) - allowed[kind])
    if extra:
        raise ValueError(
            f"unknown field {extra[0]!r} in a {kind} prompt (fields: {', '.join(allowed[kind])})"
        )
    if kind == "say":
        text = value["say"]
        if not isinstance(text, str) or not text.strip():
            raise ValueError("say: expected the text to speak")
        if len(text) > 2000:
            raise ValueError("say: longer than 2000 characters; split it or upload a recording")
        voice = value.get("voice")
        if voice is not None and not (isinstance(voice, str) and _VOICE.match(voice)):
            raise ValueError(
                f"voice: expected an espeak-ng voice such as ru or en+f3, got {voice!r}"
            )
        return Say(text.strip(), _language(value.get("lang")), voice)
    if kind == "file":
        name = value["file"]
        if not isinstance(name, str) or not _KEY.match(name):
            raise ValueError(f"file: expected the name of an uploaded prompt, got {name!r}")
        return AudioFile(name)
    announce = value["announce"]
    if announce == "position":
        return Announcement("position", _language(value.get("lang")))
    if announce == "expected_wait":
        return Announcement("expected_wait", _language(value.get("lang")))
    raise ValueError(f"announce: expected position or expected_wait, got {announce!r}")


def _dump_prompt(prompt: PromptSpec) -> str | dict[str, Any]:
    if isinstance(prompt, PromptName):
        return prompt.name
    if isinstance(prompt, AudioFile):
        return {"file": prompt.name}
    if isinstance(prompt, Announcement):
        return _without_none({"announce": prompt.kind, "lang": prompt.lang})
    return _without_none({"say": prompt.text, "lang": prompt.lang, "voice": prompt.voice})


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _listify(value: Any) -> Any:
    """A single prompt may be written without the list around it."""
    if value is None:
        return ()
    return value if isinstance(value, list | tuple) else [value]


Prompt = Annotated[
    PromptSpec, PlainValidator(parse_prompt), PlainSerializer(_dump_prompt, return_type=Any)
]
Prompts = Annotated[tuple[Prompt, ...], BeforeValidator(_listify)]
"""One prompt or a list of them, played one after the other."""

ConcretePrompt = Annotated[
    PromptRef,
    PlainValidator(lambda value: parse_prompt(value, names=False)),
    PlainSerializer(_dump_prompt, return_type=Any),
]
"""A prompt that is not a name: what the `prompts:` section defines."""


def attribute_text(value: AttributeValue) -> str:
    """How an attribute reads when compared with text: booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---- steps ----


class Record(BaseModel):
    """Base of every record: unknown fields are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PlayStep(Record):
    """Play prompts, then go on. With `barge_in`, a key pressed during the prompts cuts them short
    and is kept for the next menu or collect step (callers who know the menu dial ahead)."""

    type: Literal["play"]
    prompts: Annotated[Prompts, Field(min_length=1)]
    barge_in: bool = False
    next: Key
    description: str = ""


class MenuStep(Record):
    """Play `prompts` and wait for one key; each option sends the call to a step. A key not in
    `options` plays `invalid`, silence for `timeout` seconds plays `no_input`; either way the menu
    is offered again, up to `retries` more times, then the call goes to `fallback`."""

    type: Literal["menu"]
    prompts: Annotated[Prompts, Field(min_length=1)]
    options: dict[Digit, Key]
    timeout: Seconds = 5.0
    retries: int = Field(2, ge=0, le=5)
    invalid: Prompts = ()
    no_input: Prompts = ()
    fallback: Key
    barge_in: bool = True
    description: str = ""

    @field_validator("options", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1: medical` with an integer key; a digit is text.
        if isinstance(value, Mapping):
            return {str(key): item for key, item in value.items()}
        return value

    @field_validator("options")
    @classmethod
    def _some_options(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a menu needs at least one option")
        return value


class CollectStep(Record):
    """Play `prompts` and collect up to `max_digits` keys into the attribute `attribute` (e.g. a
    district code). Input ends at `max_digits`, at the `terminator` key, or when the caller pauses
    for `inter_digit_timeout` seconds; `timeout` is the wait for the first key. Input shorter than
    `min_digits`, or not matching `pattern`, counts as invalid; retries and fallback as in a menu.
    With `private`, the IVR path records only how many digits were entered."""

    type: Literal["collect"]
    prompts: Annotated[Prompts, Field(min_length=1)]
    attribute: AttributeName
    max_digits: int = Field(ge=1, le=32)
    min_digits: int = Field(1, ge=1, le=32)
    terminator: Digit | None = "#"
    pattern: str | None = None
    timeout: Seconds = 5.0
    inter_digit_timeout: Seconds = 3.0
    retries: int = Field(2, ge=0, le=5)
    invalid: Prompts = ()
    no_input: Prompts = ()
    next: Key
    fallback: Key
    barge_in: bool = True
    private: bool = False
    description: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _lengths(self) -> CollectStep:
        if self.min_digits > self.max_digits:
            raise ValueError(
                f"min_digits ({self.min_digits}) is more than max_digits ({self.max_digits})"
            )
        return self


class SetStep(Record):
    """Set contact attributes (topic, language, priority hints), then go on."""

    type: Literal["set"]
    attributes: dict[AttributeName, AttributeValue] = Field(min_length=1)
    next: Key
    description: str = ""


class Rule(Record):
    """One test of a branch: exactly one of `equals`, `one_of`, `above`, `below`, `present`.
    Values compare as text (true/false for booleans); `above` and `below` compare numbers, and
    an attribute that is not a number matches neither."""

    attribute: AttributeName
    equals: AttributeValue | None = None
    one_of: list[AttributeValue] | None = None
    above: float | None = None
    below: float | None = None
    present: bool | None = None
    next: Key

    @model_validator(mode="after")
    def _one_test(self) -> Rule:
        given = [
            name
            for name in ("equals", "one_of", "above", "below", "present")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "a rule needs exactly one of equals, one_of, above, below, present"
                + (f" (has {', '.join(given)})" if given else "")
            )
        return self

    def matches(self, attributes: Mapping[str, AttributeValue]) -> bool:
        """Whether the attributes pass this rule's test."""
        value = attributes.get(self.attribute)
        if self.present is not None:
            return (value is not None and attribute_text(value) != "") is self.present
        if value is None:
            return False
        if self.equals is not None:
            return attribute_text(value) == attribute_text(self.equals)
        if self.one_of is not None:
            return attribute_text(value) in {attribute_text(v) for v in self.one_of}
        number = _number(value)
        if number is None:
            return False
        if self.above is not None:
            return number > self.above
        assert self.below is not None
        return number < self.below


def _number(value: AttributeValue) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except ValueError:
        return None


class BranchStep(Record):
    """Go to the `next` of the first rule the contact's attributes pass, else to `default`."""

    type: Literal["branch"]
    rules: list[Rule] = Field(min_length=1)
    default: Key
    description: str = ""


class HoursStep(Record):
    """Go to `open` or `closed` by the business hours (holidays included) of `calendar`."""

    type: Literal["hours"]
    calendar: Key
    open: Key
    closed: Key
    description: str = ""


class EnqueueStep(Record):
    """End the IVR by putting the contact in `queue` with `priority` and the contact's attributes
    (plus `attributes`). While it waits, the caller hears `announce` every `announce_every`
    seconds (position and expected wait are built-in prompts)."""

    type: Literal["enqueue"]
    queue: Key
    priority: int = Field(0, ge=-100, le=100)
    attributes: dict[AttributeName, AttributeValue] = {}
    announce: Prompts = ()
    announce_every: float | None = Field(None, ge=10, le=3600)
    description: str = ""

    @model_validator(mode="after")
    def _announce_together(self) -> EnqueueStep:
        if bool(self.announce) != (self.announce_every is not None):
            raise ValueError("announce and announce_every go together")
        return self


class CallbackStep(Record):
    """End the IVR with a callback request: the caller (number in the attribute `number`) will be
    called back by an agent of `queue`. `message` (a confirmation) is played before the call
    ends. Offering the callback ("press 1 to be called back") is a menu before this step."""

    type: Literal["callback"]
    queue: Key
    priority: int = Field(0, ge=-100, le=100)
    attributes: dict[AttributeName, AttributeValue] = {}
    number: AttributeName = "caller_number"
    message: Prompts = ()
    description: str = ""


_EXTERNAL = re.compile(r"^\+?[0-9]{2,15}$")


class TransferStep(Record):
    """End the IVR by sending the call elsewhere: to a `queue`, to another `line` of the hotline
    (a departmental line, whose own IVR flow then runs) or to an `external` number."""

    type: Literal["transfer"]
    kind: Literal["queue", "line", "external"]
    target: str
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _plain_number(cls, data: Any) -> Any:
        # An external number is kept in one spelling, without spaces, dashes or parentheses.
        if isinstance(data, Mapping) and data.get("kind") == "external":
            target = data.get("target")
            if isinstance(target, int) and not isinstance(target, bool):
                raise ValueError(f'target: write the number in quotes, e.g. "{target}"')
            number = re.sub(r"[ ()-]", "", target) if isinstance(target, str) else None
            if number is not None and _EXTERNAL.match(number):
                return {**data, "target": number}
        return data

    @model_validator(mode="after")
    def _target_shape(self) -> TransferStep:
        if self.kind == "external":
            if not _EXTERNAL.match(self.target):
                raise ValueError(f"target: {self.target!r} is not a phone number")
        elif not _KEY.match(self.target) or len(self.target) > 64:
            raise ValueError(f"target: {self.target!r} is not a {self.kind} id")
        return self


class HangupStep(Record):
    """End the call, after playing `message` if there is one."""

    type: Literal["hangup"]
    message: Prompts = ()
    description: str = ""


AnyStep: TypeAlias = (
    PlayStep
    | MenuStep
    | CollectStep
    | SetStep
    | BranchStep
    | HoursStep
    | EnqueueStep
    | CallbackStep
    | TransferStep
    | HangupStep
)
Step = Annotated[AnyStep, Field(discriminator="type")]

STEP_TYPES: dict[str, type[Record]] = {
    "play": PlayStep,
    "menu": MenuStep,
    "collect": CollectStep,
    "set": SetStep,
    "branch": BranchStep,
    "hours": HoursStep,
    "enqueue": EnqueueStep,
    "callback": CallbackStep,
    "transfer": TransferStep,
    "hangup": HangupStep,
}

TERMINAL_TYPES = frozenset({"enqueue", "callback", "transfer", "hangup"})
INPUT_TYPES = frozenset({"menu", "collect"})


class Flow(Record):
    """A whole IVR flow: where it starts, its named prompts and its steps (by id).

    `max_steps` bounds how many steps one call may pass through (a caller who keeps pressing
    "repeat the menu"); past it the call goes to `fallback`, or is hung up without one."""

    version: Literal[1] = FORMAT_VERSION
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    description: str = ""
    language: Language = "ru"
    start: Key
    fallback: Key | None = None
    max_steps: int = Field(100, ge=1, le=1000)
    prompts: dict[Key, ConcretePrompt] = {}
    steps: dict[Key, Step] = Field(min_length=1)

    def resolve(self, prompt: PromptSpec) -> PromptRef:
        """A prompt as a driver gets it: names replaced by the prompt they name, and text in the
        flow's language unless it says otherwise."""
        if isinstance(prompt, PromptName):
            prompt = self.prompts[prompt.name]
        if isinstance(prompt, Say) and prompt.lang is None:
            return Say(prompt.text, self.language, prompt.voice)
        if isinstance(prompt, Announcement) and prompt.lang is None:
            return Announcement(prompt.kind, self.language)
        assert not isinstance(prompt, PromptName)
        return prompt

    def broken_references(self) -> list[str]:
        """Steps and named prompts the flow refers to but does not define. The loader reports
        these with their lines; this is for a flow built some other way, so that a call never
        meets one half-way."""
        broken: list[str] = []
        targets = [("start", self.start)]
        if self.fallback is not None:
            targets.append(("fallback", self.fallback))
        for step_id, step in self.steps.items():
            for field in PROMPT_FIELDS:
                for prompt in getattr(step, field, ()):
                    if isinstance(prompt, PromptName) and prompt.name not in self.prompts:
                        broken.append(f"steps.{step_id}.{field}: unknown prompt {prompt.name!r}")
            targets.extend((f"steps.{step_id}", target) for target in step_targets(step))
        broken.extend(
            f"{where}: unknown step {target!r}"
            for where, target in targets
            if target not in self.steps
        )
        return broken

    def referenced(
        self, kind: Literal["queue", "line", "external", "calendar", "file"]
    ) -> set[str]:
        """Every queue, line, external number, calendar or recording the flow names (for checks
        before publishing, and for a driver that must have the calendars at hand)."""
        found: set[str] = set()
        for step in self.steps.values():
            if kind == "calendar" and isinstance(step, HoursStep):
                found.add(step.calendar)
            elif kind == "queue" and isinstance(step, EnqueueStep | CallbackStep):
                found.add(step.queue)
            elif isinstance(step, TransferStep) and step.kind == kind:
                found.add(step.target)
        if kind == "file":
            for prompt in all_prompts(self):
                if isinstance(prompt, AudioFile):
                    found.add(prompt.name)
        return found


PROMPT_FIELDS = ("prompts", "invalid", "no_input", "announce", "message")
"""The step fields that hold prompts."""


def step_targets(step: AnyStep) -> list[str]:
    """The ids of the steps a step can lead to."""
    if isinstance(step, MenuStep):
        return [*step.options.values(), step.fallback]
    if isinstance(step, CollectStep):
        return [step.next, step.fallback]
    if isinstance(step, PlayStep | SetStep):
        return [step.next]
    if isinstance(step, BranchStep):
        return [*(rule.next for rule in step.rules), step.default]
    if isinstance(step, HoursStep):
        return [step.open, step.closed]
    return []


def all_prompts(flow: Flow) -> list[PromptSpec]:
    """Every prompt a flow defines or plays."""
    prompts: list[PromptSpec] = list(flow.prompts.values())
    for step in flow.steps.values():
        for field in PROMPT_FIELDS:
            prompts.extend(getattr(step, field, ()))
    return prompts
