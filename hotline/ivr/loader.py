"""Reading and validating IVR flows, with every problem tied to its file, line and field.

People write flows by hand, so a bad one must say exactly where it is wrong, and all at once:
`covid.yaml:42: steps.main_menu.options.7: unknown step 'to_medcal'; did you mean 'to_medical'?`.
The file is read with `hotline.core.yamlfile`, as configuration files are: a line for every path,
YAML 1.2 core scalars (`no` is text, `08:00` is not a number), and a menu digit given twice is a
problem, not a silent overwrite.

Checks, beyond each record's shape (`hotline.ivr.schemas`):
- every step a step leads to exists, and so do the start and the named prompts used;
- queues, lines, calendars and uploaded recordings exist, when the caller says which do
  (`KnownTargets`: from the database before publishing, from a configuration file in tests);
- every step can lead to the end of the call (enqueue, callback, transfer or hang-up);
- no loop can be gone round without the caller pressing a key (a silent caller would be stuck in
  it forever; loops through a menu option are the caller's choice, bounded by `max_steps`).
Steps no call can reach are warnings, not errors: an administrator unlinks a branch to switch it off
and keeps the step for later."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from hotline.core.yamlfile import (
    Loc,
    Problem,
    Report,
    did_you_mean,
    error_message,
    read_file,
    read_yaml,
    shipped_path,
)
from hotline.ivr.schemas import (
    PROMPT_FIELDS,
    STEP_TYPES,
    TERMINAL_TYPES,
    AudioFile,
    CallbackStep,
    EnqueueStep,
    Flow,
    HoursStep,
    PromptName,
    Record,
    Rule,
    TransferStep,
    parse_prompt,
)

TEMPLATES = "hotline.ivr.templates"


@dataclass(frozen=True, slots=True)
class KnownTargets:
    """What a flow may refer to outside itself. None: not checked (unknown at this point)."""

    queues: Collection[str] | None = None
    lines: Collection[str] | None = None
    calendars: Collection[str] | None = None
    files: Collection[str] | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """A way from one step to another: the field that names the target, and whether the caller
    must press keys to take it (a menu option, collected digits) or not (next, fallback...)."""

    field: Loc
    target: str
    needs_input: bool


@dataclass(frozen=True, slots=True)
class LoadedFlow:
    """A valid flow, with the warnings found while checking it."""

    flow: Flow
    warnings: tuple[Problem, ...] = ()


def load_flow(path: Path | str, *, known: KnownTargets | None = None) -> LoadedFlow:
    """Read and validate a flow file; `InvalidConfiguration` lists every problem."""
    path = Path(path)
    return parse_flow(read_file(path), filename=str(path), known=known)


def parse_flow(
    text: str, *, filename: str = "<flow>", known: KnownTargets | None = None
) -> LoadedFlow:
    """Validate flow text; `filename` is only used in messages."""
    document = read_yaml(text, filename=filename, duplicate=_duplicate)
    return validate_flow(
        document.data,
        filename=filename,
        lines=document.lines,
        known=known,
        problems=document.problems,
    )


def validate_flow(
    data: Any,
    *,
    filename: str = "<flow>",
    lines: dict[Loc, int] | None = None,
    known: KnownTargets | None = None,
    problems: Iterable[Problem] = (),
) -> LoadedFlow:
    """Validate already-parsed flow data (with its line map, when it came from a file)."""
    report = Report(filename, lines or {}, problems)
    if not isinstance(data, dict):
        report.add((), "expected a mapping with name, start and steps")
        raise report.error()
    flow: Flow | None = None
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        report.add_pydantic(exc, lambda error: _locate(error, data))
    _Checks(report, data, known or KnownTargets()).run()
    if report.problems or flow is None:
        raise report.error()
    return LoadedFlow(flow, tuple(report.warnings))


def template_path(name: str) -> Path:
    """A flow shipped with Hotline (`covid`)."""
    return shipped_path(resources.files(TEMPLATES), name, what="IVR template")


def _duplicate(path: Loc, first_line: int) -> str:
    """A menu digit given twice is the likely mistake, so it is named as one."""
    what = "digit" if path[-2:-1] == ("options",) else "key"
    return f"duplicate {what} {path[-1]!r} (first at line {first_line})"


def _locate(error: ErrorDetails, data: dict[str, Any]) -> tuple[Loc, str]:
    """The file path and message for a pydantic error: without the step-type tag pydantic puts in
    the path of a tagged union, with a dict key's own path, and with the field a validator names
    at the start of its message moved into the path."""
    path = list(error["loc"])
    if len(path) >= 3 and path[0] == "steps" and path[2] in STEP_TYPES:
        del path[2]
    if path and path[-1] == "[key]":
        path.pop()
    kind = error["type"]
    message = error["msg"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return (*path, "type"), f"step type must be one of: {', '.join(STEP_TYPES)}"
    if kind not in ("missing", "extra_forbidden"):
        message = message.removeprefix("Value error, ")
        field = re.match(r"^([a-z_]+): ", message)
        if field and field[1] in _fields_at(tuple(path), data) + ["lang", "voice", "say", "file"]:
            path.append(field[1])
            message = message[field.end() :]
    return tuple(path), error_message(kind, message, tuple(path), lambda p: _fields_at(p, data))


def _fields_at(path: Loc, data: dict[str, Any]) -> list[str]:
    """The field names of the record at `path`: the flow, a step (by its type) or a branch rule."""
    if not path:
        return list(Flow.model_fields)
    if path[0] == "steps" and len(path) >= 2:
        steps = data.get("steps")
        model = _model_for(steps.get(path[1]) if isinstance(steps, dict) else None)
        if model is None:
            return []
        if len(path) == 2:
            return list(model.model_fields)
        if path[2] == "rules" and len(path) == 4:
            return list(Rule.model_fields)
    return []


def _model_for(raw: Any) -> type[Record] | None:
    """The step model a raw step's `type` names."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    return STEP_TYPES.get(kind) if isinstance(kind, str) else None


class _Checks:
    """Checks that span records. They run on the raw data, validating each step on its own, so
    that one broken step does not hide the problems of the others, and so that a broken step
    still counts as existing for the references to it."""

    def __init__(self, report: Report, data: dict[str, Any], known: KnownTargets) -> None:
        self.report = report
        self.data = data
        self.known = known
        raw_steps = data.get("steps")
        self.raw_steps: dict[str, Any] = raw_steps if isinstance(raw_steps, dict) else {}
        raw_prompts = data.get("prompts")
        self.prompt_names = set(raw_prompts) if isinstance(raw_prompts, dict) else set()
        self.steps: dict[str, Record] = {}
        for step_id, raw in self.raw_steps.items():
            model = _model_for(raw)
            if model is None:
                continue
            try:
                self.steps[step_id] = model.model_validate(raw)
            except ValidationError:
                continue

    def run(self) -> None:
        self._step_reference(("start",), self.data.get("start"))
        self._step_reference(("fallback",), self.data.get("fallback"))
        for step_id, raw in self.raw_steps.items():
            if not isinstance(raw, dict):
                continue
            path: Loc = ("steps", step_id)
            for edge in _edges(raw):
                self._step_reference((*path, *edge.field), edge.target)
            self._prompts(path, raw)
            step = self.steps.get(step_id)
            if step is not None:
                self._targets(path, step)
        raw_prompts = self.data.get("prompts")
        if isinstance(raw_prompts, dict):
            for name, value in raw_prompts.items():
                self._prompt(("prompts", name), value, named=False)
        self._graph()

    # -- references --

    def _step_reference(self, path: Loc, target: Any) -> None:
        if not isinstance(target, str) or target in self.raw_steps:
            return
        self.report.add(path, f"unknown step {target!r}{did_you_mean(target, self.raw_steps)}")

    def _prompts(self, path: Loc, raw: dict[str, Any]) -> None:
        """Named prompts and recordings used by a step, valid or not otherwise."""
        for field in PROMPT_FIELDS:
            value = raw.get(field)
            if isinstance(value, list):
                for index, item in enumerate(value):
                    self._prompt((*path, field, index), item)
            elif value is not None:
                self._prompt((*path, field), value)

    def _prompt(self, path: Loc, value: Any, *, named: bool = True) -> None:
        try:
            prompt = parse_prompt(value, names=named)
        except ValueError:
            return  # reported by the schema
        if isinstance(prompt, PromptName) and prompt.name not in self.prompt_names:
            hint = did_you_mean(prompt.name, self.prompt_names)
            self.report.add(path, f"unknown prompt {prompt.name!r}{hint}")
        files = self.known.files
        if isinstance(prompt, AudioFile) and files is not None and prompt.name not in files:
            hint = did_you_mean(prompt.name, files)
            where = (*path, "file") if isinstance(value, dict) else path
            self.report.add(where, f"no uploaded prompt named {prompt.name!r}{hint}")

    def _targets(self, path: Loc, step: Record) -> None:
        if isinstance(step, EnqueueStep | CallbackStep):
            self._known((*path, "queue"), step.queue, self.known.queues, "queue")
        elif isinstance(step, HoursStep):
            self._known((*path, "calendar"), step.calendar, self.known.calendars, "calendar")
        elif isinstance(step, TransferStep):
            if step.kind == "queue":
                self._known((*path, "target"), step.target, self.known.queues, "queue")
            elif step.kind == "line":
                self._known((*path, "target"), step.target, self.known.lines, "line")

    def _known(self, path: Loc, value: str, known: Collection[str] | None, what: str) -> None:
        if known is None or value in known:
            return
        self.report.add(path, f"unknown {what} {value!r}{did_you_mean(value, known)}")

    # -- the graph of steps --

    def _graph(self) -> None:
        """Reachability, a way to the end, and loops without input, on the raw steps (so that
        they are checked even while some step has other problems). A step of unknown type
        counts as one that may end the call, so that it adds no second problem."""
        edges = {
            step_id: [e for e in _edges(raw) if e.target in self.raw_steps]
            for step_id, raw in self.raw_steps.items()
            if isinstance(raw, dict)
        }
        entries = [
            target
            for target in (self.data.get("start"), self.data.get("fallback"))
            if isinstance(target, str) and target in edges
        ]
        reachable = _reach(entries, edges) if entries else set(edges)
        if entries:
            for step_id in edges:
                if step_id not in reachable:
                    self.report.warn(("steps", step_id), "no call can reach this step")
        # Steps from which the call can end: walk backwards from the terminal steps.
        ending = {
            step_id
            for step_id, raw in self.raw_steps.items()
            if not isinstance(raw, dict) or raw.get("type") not in _WALKING_TYPES
        }
        changed = True
        while changed:
            changed = False
            for step_id, out in edges.items():
                if step_id not in ending and any(e.target in ending for e in out):
                    ending.add(step_id)
                    changed = True
        for step_id in edges:
            if step_id in reachable and step_id not in ending:
                self.report.add(
                    ("steps", step_id),
                    "the call can never end from here: no way leads to enqueue, callback, "
                    "transfer or hangup",
                )
        silent = {s: [e.target for e in out if not e.needs_input] for s, out in edges.items()}
        for cycle in _cycles(silent):
            if cycle[0] in reachable:
                around = " -> ".join([*cycle, cycle[0]])
                self.report.add(
                    ("steps", cycle[0]),
                    f"a caller who presses nothing goes round {around} forever",
                )


_WALKING_TYPES = frozenset(STEP_TYPES) - TERMINAL_TYPES
"""Step types that lead on to other steps rather than end the call."""


def _edges(raw: dict[str, Any]) -> list[Edge]:
    """Every step a raw step leads to, by its type's fields, whatever else is wrong with it."""
    kind = raw.get("type")
    found: list[Edge] = []

    def add(field: Loc, target: Any, needs_input: bool = False) -> None:
        if isinstance(target, str):
            found.append(Edge(field, target, needs_input))

    if kind == "menu" and isinstance(raw.get("options"), dict):
        for digit, target in raw["options"].items():
            add(("options", digit), target, True)
    if kind == "branch" and isinstance(raw.get("rules"), list):
        for index, rule in enumerate(raw["rules"]):
            if isinstance(rule, dict):
                add(("rules", index, "next"), rule.get("next"))
    fields = {
        "play": ("next",),
        "menu": ("fallback",),
        "collect": ("next", "fallback"),
        "set": ("next",),
        "branch": ("default",),
        "hours": ("open", "closed"),
    }.get(kind if isinstance(kind, str) else "", ())
    for field in fields:
        add((field,), raw.get(field), kind == "collect" and field == "next")
    return found


def _reach(starts: list[str], edges: dict[str, list[Any]]) -> set[str]:
    seen: set[str] = set()
    todo = [s for s in starts if s in edges]
    while todo:
        step_id = todo.pop()
        if step_id in seen:
            continue
        seen.add(step_id)
        todo.extend(e.target for e in edges[step_id] if e.target in edges)
    return seen


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan's algorithm, iterative),
    each listed from its first step in the file's order."""
    order = {node: i for i, node in enumerate(graph)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = graph.get(node, [])
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, []):
                    components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    cycles: list[list[str]] = []
    for component in components:
        members = set(component)
        first = min(component, key=order.__getitem__)
        # Follow edges inside the component from its first step until a step repeats.
        walk = [first]
        while True:
            nxt = next(t for t in graph[walk[-1]] if t in members)
            if nxt in walk:
                cycles.append(walk[walk.index(nxt) :])
                break
            walk.append(nxt)
    cycles.sort(key=lambda c: order[c[0]])
    return cycles
