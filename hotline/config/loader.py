"""Reading and validating a hotline configuration file, with every problem tied to its line.

People edit these files by hand, so a bad one must say exactly where it is wrong, and all at once:
`covid.yaml:42: queues[3].strategy: field required`, one line per problem. The file is read with
`hotline.core.yamlfile` (YAML 1.2 core scalars, a line for every path); pydantic then checks each
record's shape, and the checks across records (unknown and duplicate ids, overlapping rules) run
too, on whatever parts are sound, so one run reports everything."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hotline.calendars.hours import WEEKDAYS
from hotline.config.schemas import (
    SECTIONS,
    HolidayConfig,
    HotlineConfig,
    OpeningHours,
    OverflowConfig,
    Record,
    normalize_number,
)
from hotline.core.yamlfile import (
    Loc,
    Problem,
    Report,
    did_you_mean,
    error_message,
    read_file,
    read_yaml,
    shipped_names,
    shipped_path,
)
from hotline.ivr.loader import template_path as flow_template
from hotline.requests.forms import schema_problems
from hotline.requests.keys import normalize_postcode, street_key
from hotline.routing.types import OverflowAction
from hotline.scripts.forms import ui_schema_problems
from hotline.scripts.runner import script_problems
from hotline.scripts.schemas import ScriptBody
from hotline.users.models import Role

R = TypeVar("R", bound=Record)


def load_config(path: Path | str) -> HotlineConfig:
    """Read and validate a configuration file; `InvalidConfiguration` lists every problem."""
    path = Path(path)
    return parse_config(read_file(path), filename=str(path))


def parse_config(text: str, *, filename: str = "<config>") -> HotlineConfig:
    """Validate configuration text; `filename` is only used in messages."""
    document = read_yaml(text, filename=filename)
    return validate_config(
        document.data, filename=filename, lines=document.lines, problems=document.problems
    )


def validate_config(
    data: Any,
    *,
    filename: str = "<config>",
    lines: dict[Loc, int] | None = None,
    problems: Sequence[Problem] = (),
) -> HotlineConfig:
    """Validate already-parsed configuration data (with its line map, when it came from a file)."""
    report = Report(filename, lines or {}, problems)
    if not isinstance(data, dict):
        report.add((), "expected a mapping with sections such as skills, queues and users")
        raise report.error()
    # Top-level `x-...` keys belong to the file (anchors for `<<:` merges), as in Compose files.
    data = {key: value for key, value in data.items() if not str(key).startswith("x-")}
    config: HotlineConfig | None = None
    try:
        config = HotlineConfig.model_validate(data)
    except ValidationError as exc:
        report.add_pydantic(exc, _describe)
    _CrossChecks(report, data).run()
    if report.problems or config is None:
        raise report.error()
    return config


def template_names() -> list[str]:
    """The configurations shipped with Hotline (`hotline init --template NAME`)."""
    return shipped_names(_templates())


def template_path(name: str) -> Path:
    """A configuration shipped with Hotline (`covid`)."""
    return shipped_path(_templates(), name)


def template_flows(name: str) -> dict[str, Path]:
    """The IVR flows a shipped configuration comes with, by the id of the line each is for: files
    of `hotline/ivr/templates`, published by `hotline init --template NAME`."""
    return {line: flow_template(flow) for line, flow in _TEMPLATE_FLOWS.get(name, {}).items()}


_TEMPLATE_FLOWS: dict[str, dict[str, str]] = {"covid": {"city": "covid"}}
"""Configuration template -> {line id: IVR template}. The covid flow is the city line's only: the
health ministry's line is a target it transfers to, with no menu of its own."""


def _templates() -> Traversable:
    return resources.files("hotline.config").joinpath("templates")


def _describe(error: ErrorDetails) -> tuple[Loc, str]:
    path = tuple(error["loc"])
    return path, error_message(error["type"], error["msg"], path, _fields_at)


def _fields_at(path: Loc) -> list[str]:
    """The field names of the record type found at `path` in the file's structure."""
    model: Any = HotlineConfig
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next(
            (f for name, f in model.model_fields.items() if (f.alias or name) == part), None
        )
        if field is None:
            return []
        model = field.annotation
        while get_origin(model) is not None and get_args(model):
            model = next(
                (a for a in get_args(model) if isinstance(a, type) and issubclass(a, BaseModel)),
                get_args(model)[0],
            )
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


class _CrossChecks:
    """Checks that span records. They run on the raw data, validating the smallest records
    (a skill requirement, an overflow rule, an opening range) one by one, so that one broken field
    does not hide the other problems of its queue. Ids are collected from every record, valid or
    not, so that a broken queue does not also make every reference to it "unknown"."""

    def __init__(self, report: Report, data: dict[str, Any]) -> None:
        self.report = report
        self.data = data
        self.ids = {section: self._declared(section) for section in SECTIONS}
        self.departments = {
            item["department"]
            for item in self._records("lines")
            if item.get("kind") == "department" and isinstance(item.get("department"), str)
        }
        # Category id -> the kinds of field worker who may fulfil it (as written).
        self.fulfilled_by: dict[str, set[str]] = {
            item["id"]: {k for k in item.get("fulfilled_by") or [] if isinstance(k, str)}
            for item in self._records("request_categories")
            if isinstance(item.get("id"), str) and isinstance(item.get("fulfilled_by", []), list)
        }

    def run(self) -> None:
        for section in SECTIONS:
            self._unique(section, "username" if section == "users" else "id")
        self._unique("lines", "number")
        for section, check in (
            ("calendars", self._calendar),
            ("queues", self._queue),
            ("lines", self._line),
            ("request_categories", self._category),
            ("users", self._user),
            ("scripts", self._script),
            ("forms", self._form),
        ):
            for index, item in enumerate(self._raw(section)):
                if isinstance(item, dict):
                    check((section, index), item)
        self._district_areas()
        for section in ("scripts", "forms"):
            self._one_per_topic(section)

    # -- helpers --

    def _raw(self, section: str) -> list[Any]:
        items = self.data.get(section)
        return items if isinstance(items, list) else []

    def _records(self, section: str) -> list[dict[str, Any]]:
        return [item for item in self._raw(section) if isinstance(item, dict)]

    def _declared(self, section: str) -> set[str]:
        key = "username" if section == "users" else "id"
        return {item[key] for item in self._records(section) if isinstance(item.get(key), str)}

    @staticmethod
    def _valid(items: Any, model: type[R]) -> Iterator[tuple[int, R]]:
        """The items of a list that pass `model` on their own (the others were reported)."""
        if not isinstance(items, list):
            return
        for index, item in enumerate(items):
            try:
                yield index, model.model_validate(item)
            except ValidationError:
                continue

    @staticmethod
    def _text(record: dict[str, Any], key: str) -> str | None:
        value = record.get(key)
        return value if isinstance(value, str) else None

    def _unique(self, section: str, key: str) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(self._raw(section)):
            if not isinstance(item, dict) or not isinstance(item.get(key), str):
                continue
            value = normalize_number(item[key]) if key == "number" else item[key]
            if value in seen:
                first = self.report.line_of((section, seen[value], key))
                self.report.add(
                    (section, index, key),
                    f"duplicate {key} {value!r} (first at {section}[{seen[value]}], line {first})",
                )
            else:
                seen[value] = index

    def _reference(self, path: Loc, value: str | None, section: str, what: str) -> None:
        if value is None or value in self.ids[section]:
            return
        hint = did_you_mean(value, self.ids[section])
        self.report.add(path, f"unknown {what} {value!r}{hint}")

    def _skills(self, path: Loc, raw: Any) -> None:
        """Skill references in a list of `{skill: ...}` entries, valid or not otherwise."""
        seen: set[str] = set()
        for index, entry in enumerate(raw if isinstance(raw, list) else []):
            skill = entry.get("skill") if isinstance(entry, dict) else None
            if not isinstance(skill, str):
                continue
            self._reference((*path, index, "skill"), skill, "skills", "skill")
            if skill in seen:
                self.report.add((*path, index, "skill"), f"skill {skill!r} listed twice")
            seen.add(skill)

    # -- per record --

    def _calendar(self, path: Loc, calendar: dict[str, Any]) -> None:
        taken: dict[int, list[tuple[int, int, int]]] = {}
        for index, hours in self._valid(calendar.get("hours"), OpeningHours):
            for day in hours.days:
                for opens, closes, other in taken.get(day, []):
                    if hours.open < closes and opens < hours.close:
                        self.report.add(
                            (*path, "hours", index),
                            f"overlaps hours[{other}] on {WEEKDAYS[day]} "
                            f"({_hhmm(opens)}-{_hhmm(closes)})",
                        )
                taken.setdefault(day, []).append((hours.open, hours.close, index))
        dates: dict[tuple[int | None, int, int], int] = {}
        for index, holiday in self._valid(calendar.get("holidays"), HolidayConfig):
            if holiday.date in dates:
                self.report.add(
                    (*path, "holidays", index, "date"),
                    f"the same date as holidays[{dates[holiday.date]}]",
                )
            dates.setdefault(holiday.date, index)

    def _queue(self, path: Loc, queue: dict[str, Any]) -> None:
        self._skills((*path, "skills"), queue.get("skills"))
        self._reference((*path, "hours"), self._text(queue, "hours"), "calendars", "calendar")
        at: dict[float, int] = {}
        for index, rule in self._valid(queue.get("overflow"), OverflowConfig):
            rule_path = (*path, "overflow", index)
            if rule.after in at:
                self.report.add(
                    (*rule_path, "after"),
                    f"two overflow rules at after={rule.after:g} "
                    f"(the other is overflow[{at[rule.after]}])",
                )
            at.setdefault(rule.after, index)
            self._overflow(rule_path, rule, self._text(queue, "id"))

    def _overflow(self, path: Loc, rule: OverflowConfig, queue_id: str | None) -> None:
        action = rule.action
        needs = {
            OverflowAction.WIDEN: "skills",
            OverflowAction.MOVE: "queue",
            OverflowAction.MESSAGE: "message",
        }.get(action)
        if needs is not None and not getattr(rule, needs):
            self.report.add((*path, needs), f"field required for action {action.value!r}")
        if rule.skills and action is not OverflowAction.WIDEN:
            self.report.add((*path, "skills"), "only used by action 'widen'")
        if rule.queue is not None and action is not OverflowAction.MOVE:
            self.report.add((*path, "queue"), "only used by action 'move'")
        if rule.message is not None and action not in (
            OverflowAction.MESSAGE,
            OverflowAction.CALLBACK,
        ):
            self.report.add((*path, "message"), "only used by actions 'message' and 'callback'")
        self._skills((*path, "skills"), [entry.model_dump() for entry in rule.skills])
        self._reference((*path, "queue"), rule.queue, "queues", "queue")
        if rule.queue is not None and rule.queue == queue_id:
            self.report.add((*path, "queue"), "a queue cannot overflow into itself")

    def _line(self, path: Loc, line: dict[str, Any]) -> None:
        self._reference((*path, "queue"), self._text(line, "queue"), "queues", "queue")
        self._reference((*path, "hours"), self._text(line, "hours"), "calendars", "calendar")
        if line.get("kind") == "department" and line.get("department") is None:
            self.report.add((*path, "department"), "field required for a department line")

    def _keys(self, path: Loc, raw: Any, section: str, what: str) -> list[str]:
        """References to `section` in a list of ids: unknown ones and repeats are problems. The
        ids listed, valid or not."""
        seen: list[str] = []
        for index, value in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(value, str):
                continue
            self._reference((*path, index), value, section, what)
            if value in seen:
                self.report.add((*path, index), f"{what} {value!r} listed twice")
            seen.append(value)
        return seen

    def _category(self, path: Loc, category: dict[str, Any]) -> None:
        kinds = self._keys(
            (*path, "fulfilled_by"),
            category.get("fulfilled_by"),
            "field_worker_kinds",
            "field worker kind",
        )
        if category.get("information_only") is True:
            if kinds:
                self.report.add(
                    (*path, "fulfilled_by"),
                    "an information-only category is fulfilled by nobody in the field",
                )
        elif not kinds and isinstance(category.get("fulfilled_by", []), list):
            self.report.add(
                (*path, "fulfilled_by"),
                "field required: the kinds of field worker who fulfil this category "
                "(or set information_only: true)",
            )
        form = category.get("form")
        if form is not None:
            for where, message in schema_problems(form):
                self.report.add((*path, "form", *where), message)

    def _topic_record(self, path: Loc, record: dict[str, Any]) -> None:
        """What a script or a form is for: known queues, no repeats, and something at all."""
        self._keys((*path, "queues"), record.get("queues"), "queues", "queue")
        topics = record.get("topics")
        seen: set[str] = set()
        for index, topic in enumerate(topics if isinstance(topics, list) else []):
            if topic in seen:
                self.report.add((*path, "topics", index), f"topic {topic!r} listed twice")
            seen.add(str(topic))
        if not record.get("topics") and not record.get("queues"):
            self.report.add(
                (*path, "topics"),
                "field required: the topics (or queues) this is for; it would never be shown",
            )

    def _script(self, path: Loc, script: dict[str, Any]) -> None:
        self._topic_record(path, script)
        try:
            body = ScriptBody.model_validate(
                {"start": script.get("start"), "steps": script.get("steps")}
            )
        except ValidationError:
            return  # reported with the record's own shape
        for where, message in script_problems(body):
            self.report.add((*path, *where), message)

    def _form(self, path: Loc, form: dict[str, Any]) -> None:
        self._topic_record(path, form)
        schema = form.get("schema")
        if schema is None:
            return  # "field required", from the record's shape
        for where, message in schema_problems(schema):
            self.report.add((*path, "schema", *where), message)
        if isinstance(schema, dict) and "ui_schema" in form:
            for where, message in ui_schema_problems(schema, form["ui_schema"]):
                self.report.add((*path, "ui_schema", *where), message)

    def _one_per_topic(self, section: str) -> None:
        """Two scripts (or forms) for one topic or queue in one language: which would a contact
        get? Refused."""
        taken: dict[tuple[str, str, str], int] = {}
        for index, record in enumerate(self._raw(section)):
            if not isinstance(record, dict) or not isinstance(record.get("language"), str):
                continue
            for field in ("topics", "queues"):
                values = record.get(field)
                for position, value in enumerate(values if isinstance(values, list) else []):
                    claim = (field, str(value), record["language"])
                    if claim in taken and taken[claim] != index:
                        self.report.add(
                            (section, index, field, position),
                            f"{section}[{taken[claim]}] is already for {field[:-1]} {value!r} "
                            f"in language {record['language']!r}",
                        )
                    taken.setdefault(claim, index)

    def _district_areas(self) -> None:
        """A postcode prefix or a street belongs to one district only (a longer prefix inside a
        shorter one of another district is fine: the longest match wins)."""
        prefixes: dict[str, str] = {}
        streets: dict[str, str] = {}
        for index, district in enumerate(self._raw("districts")):
            if not isinstance(district, dict):
                continue
            name = district.get("id")
            for field, seen, normalize in (
                ("postcodes", prefixes, normalize_postcode),
                ("streets", streets, street_key),
            ):
                items = district.get(field)
                for position, value in enumerate(items if isinstance(items, list) else []):
                    key = normalize(value) if isinstance(value, str) else None
                    if key is None:
                        continue
                    if key in seen:
                        self.report.add(
                            ("districts", index, field, position),
                            f"{value!r} is already in district {seen[key]!r}",
                        )
                    else:
                        seen[key] = str(name)

    def _field_worker(self, path: Loc, profile: dict[str, Any]) -> None:
        kind = self._text(profile, "kind")
        self._reference((*path, "kind"), kind, "field_worker_kinds", "field worker kind")
        self._keys((*path, "districts"), profile.get("districts"), "districts", "district")
        categories = self._keys(
            (*path, "categories"), profile.get("categories"), "request_categories", "category"
        )
        if kind is None or kind not in self.ids["field_worker_kinds"]:
            return
        for index, category in enumerate(categories):
            if category in self.fulfilled_by and kind not in self.fulfilled_by[category]:
                self.report.add(
                    (*path, "categories", index),
                    f"category {category!r} is not fulfilled by kind {kind!r} "
                    "(see its fulfilled_by)",
                )

    def _user(self, path: Loc, user: dict[str, Any]) -> None:
        self._skills((*path, "skills"), user.get("skills"))
        roles = user.get("roles")
        roles = roles if isinstance(roles, list) else []
        profile = user.get("field_worker")
        if Role.FIELD_WORKER.value in roles and profile is None:
            self.report.add(
                (*path, "field_worker"),
                "field required for a field_worker (their kind and districts)",
            )
        if profile is not None and Role.FIELD_WORKER.value not in roles:
            self.report.add((*path, "field_worker"), "only for a user with the role field_worker")
        if isinstance(profile, dict):
            self._field_worker((*path, "field_worker"), profile)
        if len({str(r) for r in roles}) != len(roles):
            self.report.add((*path, "roles"), "a role is listed twice")
        department = user.get("department")
        if Role.DEPARTMENT_SPECIALIST.value in roles and department is None:
            self.report.add((*path, "department"), "field required for a department_specialist")
        if isinstance(department, str) and department not in self.departments:
            hint = did_you_mean(department, self.departments)
            self.report.add(
                (*path, "department"),
                f"unknown department {department!r} (no department line names it){hint}",
            )


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_across(report: Report, data: dict[str, Any]) -> None:
    """The checks across records (unknown and duplicate ids, overlapping hours...) on raw data
    that holds some of the file's sections only, such as the live configuration the
    administration pages edit (`hotline.config.publish`)."""
    _CrossChecks(report, data).run()


def record_fields(path: Loc) -> list[str]:
    """The field names of the file's record type at `path` (`("queues", 0)`: a queue's), for
    messages about documents made of some of its sections."""
    return _fields_at(path)
