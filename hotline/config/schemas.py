"""The hotline configuration file's shape: lines, skills, calendars, queues, wrap-up codes, field
worker kinds, districts, request categories, users, and the agents' scripts and forms.

These pydantic models check each record on its own (types, ranges, required fields); the checks
that span records (unknown or duplicate ids, overlapping rules) are in `hotline.config.loader`,
which also ties every problem to its file and line. `model_dump(mode="json")` writes the same
format back, which is what an export produces."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    model_validator,
)

from hotline.calendars.hours import MINUTES_PER_DAY, WEEKDAYS
from hotline.requests.keys import normalize_postcode
from hotline.routing.types import OverflowAction, Strategy
from hotline.scripts.schemas import MAX_STEPS, Language, ScriptBody, Step, StepId
from hotline.users.models import Role

FORMAT_VERSION: Literal[1] = 1

Key = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64),
]
"""An id: lowercase letters, digits, `_`, `.` and `-`, starting with a letter or digit."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Level = Annotated[int, Field(ge=1, le=10)]


def _no_numbers(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f'write the number in quotes, e.g. "{value}": unquoted, YAML reads it as a number '
            "and drops a leading + or 0"
        )
    return value


def normalize_number(number: str) -> str:
    """'+7 (495) 000-11-22' -> '+74950001122': one spelling per number, so duplicates show."""
    return re.sub(r"[ ()-]", "", number)


PhoneNumber = Annotated[
    str,
    BeforeValidator(_no_numbers),
    StringConstraints(pattern=r"^\+?[0-9][0-9 ()-]{1,30}$", strip_whitespace=True),
    AfterValidator(normalize_number),
]
"""A dialled number (DID); spaces, dashes and parentheses are dropped."""


def _parse_time(value: Any) -> int:
    """'HH:MM' (00:00 .. 24:00) -> minutes since midnight."""
    if isinstance(value, str):
        match = re.fullmatch(r"([01]?[0-9]|2[0-4]):([0-5][0-9])", value.strip())
        if match:
            minutes = int(match[1]) * 60 + int(match[2])
            if minutes <= MINUTES_PER_DAY:
                return minutes
    raise ValueError(f'expected a time "HH:MM" between "00:00" and "24:00", got {value!r}')


def _format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


TimeOfDay = Annotated[int, PlainValidator(_parse_time), PlainSerializer(_format_time)]
"""A wall-clock time written "HH:MM", held as minutes since midnight."""

_DAY_GROUPS = {
    "daily": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
}


def _parse_days(value: Any) -> tuple[int, ...]:
    """[mon, tue, ...], or one of 'mon-fri', 'daily', 'weekdays', 'weekends' -> weekday numbers."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError("expected a list of days such as [mon, tue] or a range such as mon-fri")
    days: set[int] = set()
    for item in items:
        text = str(item).strip().lower()
        if text in _DAY_GROUPS:
            days.update(_DAY_GROUPS[text])
        elif "-" in text and all(part in WEEKDAYS for part in text.split("-", 1)):
            first, last = (WEEKDAYS.index(part) for part in text.split("-", 1))
            if first > last:
                raise ValueError(f"day range {text!r} runs backwards")
            days.update(range(first, last + 1))
        elif text in WEEKDAYS:
            days.add(WEEKDAYS.index(text))
        else:
            raise ValueError(f"unknown day {item!r}; use {', '.join(WEEKDAYS)} or mon-fri")
    return tuple(sorted(days))


Weekdays = Annotated[
    tuple[int, ...],
    PlainValidator(_parse_days),
    PlainSerializer(lambda days: [WEEKDAYS[d] for d in days]),
]


def _parse_holiday_date(value: Any) -> tuple[int | None, int, int]:
    """A date (2025-05-09) -> (2025, 5, 9); 'MM-DD' (every year) -> (None, 5, 9)."""
    if isinstance(value, date):
        return value.year, value.month, value.day
    if isinstance(value, str):
        text = value.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = date.fromisoformat(text)
                return day.year, day.month, day.day
            if re.fullmatch(r"\d{2}-\d{2}", text):
                month, mday = (int(part) for part in text.split("-"))
                date(2000, month, mday)  # a leap year, so 02-29 is accepted
                return None, month, mday
        except ValueError:
            pass
    raise ValueError(f'expected a date YYYY-MM-DD, or "MM-DD" for every year, got {value!r}')


def _format_holiday_date(value: tuple[int | None, int, int]) -> str:
    year, month, day = value
    return f"{month:02d}-{day:02d}" if year is None else f"{year:04d}-{month:02d}-{day:02d}"


HolidayDate = Annotated[
    tuple[int | None, int, int],
    PlainValidator(_parse_holiday_date),
    PlainSerializer(_format_holiday_date),
]


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/Moscow"
        ) from None
    return value


TimeZoneName = Annotated[str, PlainValidator(lambda v: _known_zone(_text(v)))]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


class Record(BaseModel):
    """Base of every record: unknown fields are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SkillConfig(Record):
    id: Key
    name: Name
    kind: Literal["topic", "language", "other"] = "topic"


class OpeningHours(Record):
    """Open from `open` to `close` (excluded) on each of `days`."""

    days: Weekdays
    open: TimeOfDay
    close: TimeOfDay

    @model_validator(mode="after")
    def _opens_before_closing(self) -> OpeningHours:
        if self.open >= self.close:
            raise ValueError(
                f"open ({_format_time(self.open)}) must be before close "
                f"({_format_time(self.close)}); split a range that passes midnight in two"
            )
        return self


class HolidayConfig(Record):
    date: HolidayDate
    name: str = ""


class CalendarConfig(Record):
    id: Key
    name: Name
    timezone: TimeZoneName
    hours: list[OpeningHours] = Field(min_length=1)
    holidays: list[HolidayConfig] = []


class SkillRequirementConfig(Record):
    skill: Key
    min_level: Level = 1


class OverflowConfig(Record):
    """After `after` seconds of waiting: widen (also offer to agents with `skills`), move (to
    `queue`), callback (offer one, prompt `message`) or message (play `message` and end)."""

    after: float = Field(ge=0)
    action: OverflowAction
    skills: list[SkillRequirementConfig] = []
    queue: Key | None = None
    message: str | None = None  # a prompt's name (prompts come with the IVR)


class QueueConfig(Record):
    id: Key
    name: Name
    skills: list[SkillRequirementConfig] = []
    strategy: Strategy
    priority: int = 0
    wrap_up_seconds: float = Field(default=0.0, ge=0)
    offer_timeout_seconds: float = Field(default=20.0, gt=0)
    sl_target_seconds: float = Field(default=20.0, gt=0)
    overflow: list[OverflowConfig] = []
    hours: Key | None = None
    closed_message: str | None = None
    record: bool = False  # record the queue's calls (a stereo WAV per contact)


class LineConfig(Record):
    id: Key
    name: Name
    number: PhoneNumber
    kind: Literal["public", "department"] = "public"
    department: Key | None = None
    queue: Key | None = None
    hours: Key | None = None
    closed_message: str | None = None


class WrapUpCodeConfig(Record):
    id: Key
    name: Name
    description: str | None = None


def _postcode(value: str) -> str:
    return normalize_postcode(value) or value


Postcode = Annotated[
    str,
    BeforeValidator(_no_numbers),
    StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z -]{0,11}$", strip_whitespace=True),
    AfterValidator(_postcode),
]
"""A postcode or the start of one ("125", "125009"); spaces and dashes are dropped."""


class LocalizedName(Record):
    """A name in each language of the user interface."""

    en: Name
    ru: Name


class FieldWorkerKindConfig(Record):
    """A kind of field worker: volunteer, courier, social worker, polyclinic staff..."""

    id: Key
    name: LocalizedName


class DistrictConfig(Record):
    """A district of the city: an address is in it when its postcode starts with one of
    `postcodes`, or (without a matching postcode) when its street is one of `streets`."""

    id: Key
    name: LocalizedName
    postcodes: list[Postcode] = []
    streets: list[Name] = []


class RequestCategoryConfig(Record):
    """What a caller may ask for (medicine delivery, groceries...): its form (a JSON Schema of an
    object, one property per field), its SLA, and the kinds of field worker who may fulfil it.
    An information-only category (a question answered by the hotline) is fulfilled by nobody in
    the field and needs no address."""

    id: Key
    name: LocalizedName
    sla_hours: float = Field(gt=0, le=24 * 366)
    accept_minutes: float = Field(default=30.0, gt=0, le=24 * 60 * 7)
    fulfilled_by: list[Key] = []
    information_only: bool = False
    form: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class FieldWorkerConfig(Record):
    """A field worker's profile (for a user with the role field_worker): their kind, the districts
    they serve, optionally only some of the categories their kind fulfils, and how many open tasks
    they can hold at once."""

    kind: Key
    districts: list[Key] = Field(min_length=1)
    categories: list[Key] = []
    capacity: int = Field(default=3, ge=1, le=1000)
    available: bool = True


class AgentSkillConfig(Record):
    skill: Key
    level: Level = 1
    preference: int = Field(default=0, ge=0)


class UserConfig(Record):
    username: Key
    name: Name
    roles: list[Role] = Field(min_length=1)
    skills: list[AgentSkillConfig] = []
    department: Key | None = None
    active: bool = True
    field_worker: FieldWorkerConfig | None = None


class _TopicRecord(Record):
    """A script or a form: what it is for. A contact gets the one whose `topics` has its
    `topic` attribute (set by the IVR), else one whose `queues` has its queue; of those, the one
    in the caller's language when there is one."""

    id: Key
    name: Name
    language: Language
    topics: list[Key] = []
    queues: list[Key] = []


class ScriptConfig(_TopicRecord):
    """An agent script: steps the agent follows, with branches on the caller's answers
    (`hotline.scripts.schemas`)."""

    start: StepId | None = None
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    def body(self) -> ScriptBody:
        return ScriptBody(start=self.start, steps=self.steps)


class FormConfig(_TopicRecord):
    """A form: a JSON Schema of an object (one property per field, checked in the browser and on
    the server) and a ui-schema saying how the browser shows each field."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    json_schema: dict[str, Any] = Field(alias="schema")
    ui_schema: dict[str, Any] = {}


class HotlineConfig(Record):
    """A whole hotline: what `hotline init` loads and `hotline check` validates."""

    version: Literal[1] = FORMAT_VERSION
    skills: list[SkillConfig] = []
    calendars: list[CalendarConfig] = []
    queues: list[QueueConfig] = []
    lines: list[LineConfig] = []
    wrap_up_codes: list[WrapUpCodeConfig] = []
    field_worker_kinds: list[FieldWorkerKindConfig] = []
    districts: list[DistrictConfig] = []
    request_categories: list[RequestCategoryConfig] = []
    users: list[UserConfig] = []
    scripts: list[ScriptConfig] = []
    forms: list[FormConfig] = []


SECTIONS: dict[str, type[Record]] = {
    "skills": SkillConfig,
    "calendars": CalendarConfig,
    "queues": QueueConfig,
    "lines": LineConfig,
    "wrap_up_codes": WrapUpCodeConfig,
    "field_worker_kinds": FieldWorkerKindConfig,
    "districts": DistrictConfig,
    "request_categories": RequestCategoryConfig,
    "users": UserConfig,
    "scripts": ScriptConfig,
    "forms": FormConfig,
}
"""Each list section of the file and the record type of its items."""
