"""Reading and validating a hotline configuration file, with every problem tied to its line.

People edit these files by hand, so a bad one must say exactly where it is wrong, and all at once:
`covid.yaml:42: queues[3].strategy: field required`, one line per problem. PyYAML's composer keeps
each node's position; the file is turned into plain data while a map from each path
(`("queues", 3, "strategy")`) to its line is kept. Pydantic then checks each record's shape, and
the checks across records (unknown and duplicate ids, overlapping rules) run too, on whatever parts
are sound, so one run reports everything. The YAML dialect is YAML 1.2's core schema for scalars:
`22:00` is text, not the YAML 1.1 base-60 number 1320, and `no` is text, not false."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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
from hotline.core.errors import InvalidConfiguration
from hotline.routing.types import OverflowAction
from hotline.users.models import Role

Loc = tuple[str | int, ...]

R = TypeVar("R", bound=Record)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


def load_config(path: Path | str) -> HotlineConfig:
    """Read and validate a configuration file; `InvalidConfiguration` lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise _invalid(str(path), [Problem(str(path), None, "", f"cannot read: {reason}")]) from exc
    return parse_config(text, filename=str(path))


def parse_config(text: str, *, filename: str = "<config>") -> HotlineConfig:
    """Validate configuration text; `filename` is only used in messages."""
    problems: list[Problem] = []
    try:
        data, lines = _read_yaml(text, filename, problems)
    except yaml.YAMLError as exc:
        raise _invalid(filename, [_yaml_problem(filename, exc)]) from exc
    return validate_config(data, filename=filename, lines=lines, problems=problems)


def validate_config(
    data: Any,
    *,
    filename: str = "<config>",
    lines: dict[Loc, int] | None = None,
    problems: Sequence[Problem] = (),
) -> HotlineConfig:
    """Validate already-parsed configuration data (with its line map, when it came from a file)."""
    report = _Report(filename, lines or {}, list(problems))
    if not isinstance(data, dict):
        report.add((), "expected a mapping with sections such as skills, queues and users")
        raise report.error()
    # Top-level `x-...` keys belong to the file (anchors for `<<:` merges), as in Compose files.
    data = {key: value for key, value in data.items() if not str(key).startswith("x-")}
    config: HotlineConfig | None = None
    try:
        config = HotlineConfig.model_validate(data)
    except ValidationError as exc:
        report.add_pydantic(exc)
    _CrossChecks(report, data).run()
    if report.problems or config is None:
        raise report.error()
    return config


def template_names() -> list[str]:
    """The configurations shipped with Hotline (`hotline init --template NAME`)."""
    return sorted(
        Path(entry.name).stem for entry in _templates().iterdir() if entry.name.endswith(".yaml")
    )


def template_path(name: str) -> Path:
    if name not in template_names():
        raise InvalidConfiguration(
            f"no template {name!r}; templates: {', '.join(template_names())}", template=name
        )
    return Path(str(_templates().joinpath(f"{name}.yaml")))


def _templates() -> Traversable:
    return resources.files("hotline.config").joinpath("templates")


def format_path(path: Iterable[str | int]) -> str:
    """("queues", 3, "strategy") -> "queues[3].strategy"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _yaml_problem(filename: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem += f" ({context} at line {context_mark.line + 1})"
    elif context:
        problem += f" ({context})"
    line = mark.line + 1 if mark is not None else None
    return Problem(filename, line, "", f"not valid YAML: {problem}")


def _invalid(filename: str, problems: list[Problem]) -> InvalidConfiguration:
    return InvalidConfiguration(
        "\n".join(str(p) for p in problems),
        file=filename,
        problems=[asdict(p) for p in problems],
    )


# ---- YAML with positions ----


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars: no base-60 numbers, only true/false as booleans."""


_BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float"))
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


_Loader.add_constructor(_INT, _construct_int)


def _read_yaml(text: str, filename: str, problems: list[Problem]) -> tuple[Any, dict[Loc, int]]:
    """The document as plain data, and the line where each path of it starts."""
    loader = _Loader(text)
    lines: dict[Loc, int] = {(): 1}
    inside: set[int] = set()  # nodes being walked, to stop on an alias that contains itself

    def walk(node: Node, path: Loc) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in inside:
            problems.append(
                Problem(filename, lines[path], format_path(path), "an alias contains itself")
            )
            return None
        inside.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return walk_mapping(node, path)
            if isinstance(node, SequenceNode):
                return [walk(item, (*path, index)) for index, item in enumerate(node.value)]
            assert isinstance(node, ScalarNode)
            return loader.construct_object(node, deep=True)
        finally:
            inside.discard(id(node))

    def walk_mapping(node: MappingNode, path: Loc) -> dict[str, Any]:
        # Resolve `<<: *defaults` merge keys. Merged entries come first and may be overridden by a
        # key written in the mapping itself; only a key written twice is a mistake.
        written = {id(key) for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"}
        loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            key_line = key_node.start_mark.line + 1
            if key in first_line:  # written twice in this mapping
                where = format_path((*path, key))
                message = f"duplicate key (first at line {first_line[key]})"
                problems.append(Problem(filename, key_line, where, message))
                continue
            if id(key_node) in written:
                first_line[key] = key_line
            lines[(*path, key)] = key_line
            result[key] = walk(value_node, (*path, key))
        return result

    try:
        root = loader.get_single_node()
        return (None if root is None else walk(root, ())), lines
    finally:
        loader.dispose()


# ---- collecting problems ----


class _Report:
    def __init__(self, filename: str, lines: dict[Loc, int], problems: list[Problem]) -> None:
        self.filename = filename
        self.lines = lines
        self.problems = problems

    def line_of(self, path: Loc) -> int | None:
        """The line of `path`, or of its nearest ancestor present in the file (for a missing
        field, the record that lacks it)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def add(self, path: Loc, message: str) -> None:
        self.problems.append(Problem(self.filename, self.line_of(path), format_path(path), message))

    def add_pydantic(self, exc: ValidationError) -> None:
        for error in exc.errors(include_url=False):
            path = tuple(error["loc"])
            self.add(path, _message(error, path))

    def error(self) -> InvalidConfiguration:
        unique = {(p.line or 0, p.path, p.message): p for p in self.problems}
        return _invalid(self.filename, [unique[key] for key in sorted(unique)])


def _message(error: Any, path: Loc) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        allowed = _fields_at(path[:-1])
        hint = _did_you_mean(str(path[-1]), allowed)
        return f"unknown field{hint}" if hint else f"unknown field (fields: {', '.join(allowed)})"
    message: str = error["msg"]
    message = message.removeprefix("Value error, ")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    return message


def _fields_at(path: Loc) -> list[str]:
    """The field names of the record type found at `path` in the file's structure."""
    model: Any = HotlineConfig
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = field.annotation
        while get_origin(model) is not None and get_args(model):
            model = next(
                (a for a in get_args(model) if isinstance(a, type) and issubclass(a, BaseModel)),
                get_args(model)[0],
            )
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


class _CrossChecks:
    """Checks that span records. They run on the raw data, validating the smallest records
    (a skill requirement, an overflow rule, an opening range) one by one, so that one broken field
    does not hide the other problems of its queue. Ids are collected from every record, valid or
    not, so that a broken queue does not also make every reference to it "unknown"."""

    def __init__(self, report: _Report, data: dict[str, Any]) -> None:
        self.report = report
        self.data = data
        self.ids = {section: self._declared(section) for section in SECTIONS}
        self.departments = {
            item["department"]
            for item in self._records("lines")
            if item.get("kind") == "department" and isinstance(item.get("department"), str)
        }

    def run(self) -> None:
        for section in SECTIONS:
            self._unique(section, "username" if section == "users" else "id")
        self._unique("lines", "number")
        for section, check in (
            ("calendars", self._calendar),
            ("queues", self._queue),
            ("lines", self._line),
            ("users", self._user),
        ):
            for index, item in enumerate(self._raw(section)):
                if isinstance(item, dict):
                    check((section, index), item)

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
        hint = _did_you_mean(value, self.ids[section])
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

    def _user(self, path: Loc, user: dict[str, Any]) -> None:
        self._skills((*path, "skills"), user.get("skills"))
        roles = user.get("roles")
        roles = roles if isinstance(roles, list) else []
        if len({str(r) for r in roles}) != len(roles):
            self.report.add((*path, "roles"), "a role is listed twice")
        department = user.get("department")
        if Role.DEPARTMENT_SPECIALIST.value in roles and department is None:
            self.report.add((*path, "department"), "field required for a department_specialist")
        if isinstance(department, str) and department not in self.departments:
            hint = _did_you_mean(department, self.departments)
            self.report.add(
                (*path, "department"),
                f"unknown department {department!r} (no department line names it){hint}",
            )


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
