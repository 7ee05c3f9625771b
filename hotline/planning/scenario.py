"""Simulation scenarios as YAML files: read, validate with errors that name file, line and field,
and compile into the simulator's `SimulationModel`.

A planner edits these files by hand, so every mistake must come back as one line that says where
it is (`covid.yaml:14: topics[1].handle.sd: Input should be greater than 0`), never as a traceback.
The YAML and the files it names are read with `hotline.core.yamlfile`, as configuration and IVR
flow files are. The format is documented in docs/simulation.md; examples/scenario-covid.yaml is a
full example.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotline.core.errors import HotlineError, InvalidConfiguration
from hotline.core.yamlfile import Loc, Problem, Report, invalid, read_file, read_yaml
from hotline.planning.distributions import (
    ArrivalSource,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    PoissonProfile,
    ReplayedArrivals,
)
from hotline.planning.simulator import (
    AgentPlan,
    Break,
    CallbackPolicy,
    SimulationModel,
    Topic,
)
from hotline.routing.types import (
    AgentSkill,
    OverflowAction,
    OverflowRule,
    QueueSpec,
    SkillRequirement,
    Strategy,
)

# ---- the file's shape (pydantic: types, ranges, unknown keys) ----


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
ClockTime = Annotated[str, Field(pattern=r"^\d{1,2}:[0-5]\d(:[0-5]\d)?$")]


class ExponentialSpec(_Spec):
    distribution: Literal["exponential"]
    mean: Seconds


class LogNormalSpec(_Spec):
    distribution: Literal["lognormal"]
    mean: Seconds
    sd: Seconds


class ConstantSpec(_Spec):
    distribution: Literal["constant"]
    seconds: Seconds


class EmpiricalSpec(_Spec):
    """Measured durations to resample: inline `values`, or a `file` (CSV, the `column` named, or
    the first column) relative to the scenario file."""

    distribution: Literal["empirical"]
    values: list[Seconds] | None = None
    file: str | None = None
    column: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> EmpiricalSpec:
        if (self.values is None) == (self.file is None):
            raise ValueError("give either values or file")
        return self


DistributionSpec = Annotated[
    ExponentialSpec | LogNormalSpec | ConstantSpec | EmpiricalSpec,
    Field(discriminator="distribution"),
]


class SkillRequirementSpec(_Spec):
    skill: str
    min_level: int = Field(1, ge=1, le=10)


class OverflowSpec(_Spec):
    after: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    action: OverflowAction
    skills: list[str | SkillRequirementSpec] = []
    queue: str | None = None
    message: str | None = None


class QueueFileSpec(_Spec):
    id: str
    skills: Annotated[list[str | SkillRequirementSpec], Field(min_length=1)]
    strategy: Strategy = Strategy.LONGEST_IDLE
    priority: int = 0
    wrap_up_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    offer_timeout_seconds: Seconds = 20.0
    sl_target_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 20.0
    overflow: list[OverflowSpec] = []


class TopicSpec(_Spec):
    id: str
    queue: str
    share: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    handle: Seconds | DistributionSpec
    patience: Seconds | DistributionSpec | None = None
    priority: int = 0


class ArrivalsSpec(_Spec):
    """Exactly one of: a volume `profile` (contacts per interval from the start), a flat
    `calls_per_hour` over `hours`, or a `csv` file of real arrival times to replay."""

    profile: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None
    calls_per_hour: Seconds | None = None
    csv: str | None = None
    hours: Seconds | None = None
    scale: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0

    @model_validator(mode="after")
    def _one_source(self) -> ArrivalsSpec:
        given = [self.profile is not None, self.calls_per_hour is not None, self.csv is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of profile, calls_per_hour or csv")
        if self.calls_per_hour is not None and self.hours is None:
            raise ValueError("calls_per_hour needs hours")
        if self.profile is not None and not self.profile:
            raise ValueError("profile needs at least one interval")
        return self


class CallbackSpec(_Spec):
    accept: Annotated[float, Field(ge=0, le=1)] = 0.0
    reach: Annotated[float, Field(ge=0, le=1)] = 1.0
    dial_seconds: Seconds = 30.0
    retry_minutes: Seconds | None = 30.0
    max_attempts: Annotated[int, Field(ge=1)] = 3


class AgentSkillSpec(_Spec):
    skill: str
    level: int = Field(1, ge=1, le=10)
    preference: int = 0


class BreakSpec(_Spec):
    start: ClockTime
    minutes: Seconds
    spread_minutes: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0


class ShiftSpec(_Spec):
    start: ClockTime
    end: ClockTime
    count: Annotated[int, Field(ge=1)]
    breaks: list[BreakSpec] = []


class AgentGroupSpec(_Spec):
    group: str
    skills: dict[str, Annotated[int, Field(ge=1, le=10)]] | list[str | AgentSkillSpec]
    count: Annotated[int, Field(ge=1)] | None = None  # without shifts: the whole day
    shifts: list[ShiftSpec] = []

    @model_validator(mode="after")
    def _count_or_shifts(self) -> AgentGroupSpec:
        if (self.count is None) == (not self.shifts):
            raise ValueError("give either count (on all day) or shifts")
        return self


class ScenarioSpec(_Spec):
    name: str = "scenario"
    start: ClockTime = "00:00"
    interval_minutes: Seconds = 15.0
    seed: int | None = None
    ring_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    short_abandon_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    sample_seconds: Seconds = 60.0
    queues: Annotated[list[QueueFileSpec], Field(min_length=1)]
    topics: Annotated[list[TopicSpec], Field(min_length=1)]
    arrivals: ArrivalsSpec
    agents: Annotated[list[AgentGroupSpec], Field(min_length=1)]
    callbacks: CallbackSpec = CallbackSpec()


# ---- loading ----


class Scenario:
    """A loaded scenario: the compiled model plus the seed the file asks for (if any)."""

    def __init__(self, model: SimulationModel, seed: int | None, source: str) -> None:
        self.model = model
        self.seed = seed
        self.source = source


def load_scenario(path: Path) -> Scenario:
    """Read and compile a scenario file; every problem is an `InvalidConfiguration` whose message
    names the file, the line and the field."""
    return parse_scenario(read_file(path), source=str(path), base_dir=path.parent)


def parse_scenario(
    text: str, *, source: str = "<scenario>", base_dir: Path | None = None
) -> Scenario:
    """Compile scenario YAML text; `base_dir` resolves the files it names (CSV arrivals...).
    The text is read as configuration files are (`hotline.core.yamlfile`: YAML 1.2 core scalars,
    so an unquoted `start: 8:30` is the clock time, not the base-60 number 510)."""
    document = read_yaml(text, filename=source, duplicate=_duplicate_key, keys_as_written=True)
    if document.problems:  # a key written twice, an alias that contains itself...
        first, *others = sorted(document.problems, key=lambda p: p.line or 0)
        raise _error(first, more=len(others))
    report = Report(source, document.lines)
    if not isinstance(document.data, dict):
        raise _error(report.problem((), "a scenario must be a mapping"))
    try:
        spec = ScenarioSpec.model_validate(document.data)
    except ValidationError as exc:
        raise _validation_error(exc, report) from None
    return _Compiler(spec, report, base_dir or Path.cwd()).compile()


def _duplicate_key(path: Loc, first_line: int) -> str:
    return "duplicate key"


def _error(problem: Problem, *, more: int = 0) -> InvalidConfiguration:
    """A scenario error is one line: its first problem, and how many others there are (a planner
    fixes one thing and runs again; the simulator cannot run half a scenario)."""
    if more:
        message = f"{problem.message} (and {more} more problem{'s' if more > 1 else ''})"
        problem = replace(problem, message=message)
    return invalid(problem.file, [problem])


def _validation_error(exc: ValidationError, report: Report) -> InvalidConfiguration:
    errors = exc.errors(include_url=False)
    lines = report.lines

    def rank(err: Any) -> tuple[int, bool]:
        # A union reports one error per branch: the branch the input was meant for goes
        # deepest into the file, and is not a mere "wrong type" of another branch.
        return len(_file_path(err["loc"], lines)), not str(err["type"]).endswith("_type")

    best = max(errors, key=rank)
    path = _file_path(best["loc"], lines)
    message = str(best["msg"]).removeprefix("Value error, ")
    if best["type"] == "missing":
        field = best["loc"][-1]
        message = f"missing field {field!r}"
    elif best["type"] == "extra_forbidden":
        message = "unknown field"
    elif best["type"] == "union_tag_invalid":
        message = "distribution must be one of exponential, lognormal, constant, empirical"
    # Other problems elsewhere in the file (a union's other branches sit on the same path).
    others = {_file_path(e["loc"], lines) for e in errors}
    more = sum(1 for other in others if path[: len(other)] != other)
    return _error(report.problem(path, message), more=more)


def _file_path(loc: Loc, lines: dict[Loc, int]) -> Loc:
    """Drop the parts of a pydantic error location that are union branches or tags, keeping the
    path as it is in the file (plus a last missing key)."""
    path: Loc = ()
    for index, part in enumerate(loc):
        candidate = (*path, part)
        is_last = index == len(loc) - 1
        if candidate in lines or (is_last and (not isinstance(part, str) or not _is_branch(part))):
            path = candidate
    return path


def _is_branch(part: str) -> bool:
    # pydantic names union branches after their types: "float", "constrained-float",
    # "list[...]", "tagged-union[...]"; field names here never look like that.
    return part in {"float", "int", "str", "dict", "list", "none", "bool"} or any(
        mark in part for mark in "[-"
    )


def _clock(text: str) -> float:
    parts = [int(p) for p in text.split(":")]
    hours, minutes = parts[0], parts[1]
    seconds = parts[2] if len(parts) > 2 else 0
    return hours * 3600.0 + minutes * 60.0 + seconds


class _Compiler:
    """Turns a validated spec into a `SimulationModel`, checking what types cannot: references
    between queues, topics and agents, skills nobody has, files that cannot be read."""

    def __init__(self, spec: ScenarioSpec, report: Report, base: Path):
        self.spec = spec
        self.report = report
        self.source = report.filename
        self.base = base
        self.start = _clock(spec.start)

    def fail(self, path: Loc, message: str) -> InvalidConfiguration:
        return _error(self.report.problem(path, message))

    def compile(self) -> Scenario:
        spec = self.spec
        interval = spec.interval_minutes * 60.0
        queues = self._queues()
        topics = self._topics({q.id for q in queues})
        agents = self._agents()
        self._check_skills(queues, agents)
        model = SimulationModel(
            queues=tuple(queues),
            topics=tuple(topics),
            arrivals=self._arrivals(interval, topics),
            agents=tuple(agents),
            interval_seconds=interval,
            ring_seconds=spec.ring_seconds,
            short_abandon_seconds=spec.short_abandon_seconds,
            callbacks=CallbackPolicy(
                accept=spec.callbacks.accept,
                reach=spec.callbacks.reach,
                dial=Constant(spec.callbacks.dial_seconds),
                retry_seconds=(
                    None
                    if spec.callbacks.retry_minutes is None
                    else spec.callbacks.retry_minutes * 60.0
                ),
                max_attempts=spec.callbacks.max_attempts,
            ),
            sample_seconds=spec.sample_seconds,
            clock_start=self.start,
            name=spec.name,
        )
        try:
            model.validate()
        except HotlineError as exc:
            raise _error(Problem(self.source, None, "", exc.message)) from None
        return Scenario(model, spec.seed, self.source)

    # -- queues and topics

    @staticmethod
    def _requirements(items: list[str | SkillRequirementSpec]) -> tuple[SkillRequirement, ...]:
        return tuple(
            SkillRequirement(i) if isinstance(i, str) else SkillRequirement(i.skill, i.min_level)
            for i in items
        )

    def _queues(self) -> list[QueueSpec]:
        seen: set[str] = set()
        ids = {q.id for q in self.spec.queues}
        out = []
        for index, q in enumerate(self.spec.queues):
            if q.id in seen:
                raise self.fail(("queues", index, "id"), f"duplicate queue id {q.id!r}")
            seen.add(q.id)
            rules = []
            for r_index, rule in enumerate(q.overflow):
                where: Loc = ("queues", index, "overflow", r_index)
                if rule.action is OverflowAction.MOVE:
                    if rule.queue is None:
                        raise self.fail(where, "a move needs a queue")
                    if rule.queue not in ids:
                        raise self.fail((*where, "queue"), f"unknown queue {rule.queue!r}")
                if rule.action is OverflowAction.WIDEN and not rule.skills:
                    raise self.fail(where, "a widen needs skills")
                rules.append(
                    OverflowRule(
                        rule.after,
                        rule.action,
                        self._requirements(rule.skills),
                        rule.queue,
                        rule.message,
                    )
                )
            if self.spec.ring_seconds >= q.offer_timeout_seconds:
                raise self.fail(
                    ("queues", index, "offer_timeout_seconds"),
                    f"must be longer than ring_seconds ({self.spec.ring_seconds:g})",
                )
            out.append(
                QueueSpec(
                    id=q.id,
                    skills=self._requirements(q.skills),
                    strategy=q.strategy,
                    priority=q.priority,
                    wrap_up_seconds=q.wrap_up_seconds,
                    offer_timeout_seconds=q.offer_timeout_seconds,
                    sl_target_seconds=q.sl_target_seconds,
                    overflow=tuple(rules),
                )
            )
        return out

    def _topics(self, queue_ids: set[str]) -> list[Topic]:
        out = []
        seen: set[str] = set()
        for index, t in enumerate(self.spec.topics):
            if t.id in seen:
                raise self.fail(("topics", index, "id"), f"duplicate topic id {t.id!r}")
            seen.add(t.id)
            if t.queue not in queue_ids:
                raise self.fail(
                    ("topics", index, "queue"),
                    f"unknown queue {t.queue!r} (queues: {', '.join(sorted(queue_ids))})",
                )
            handle = self._distribution(t.handle, ("topics", index, "handle"))
            patience = (
                None
                if t.patience is None
                else self._distribution(t.patience, ("topics", index, "patience"))
            )
            out.append(Topic(t.id, t.queue, handle, t.share, patience, t.priority))
        if sum(t.weight for t in out) <= 0:
            raise self.fail(("topics",), "at least one topic needs a positive share")
        return out

    def _distribution(
        self,
        spec: float | ExponentialSpec | LogNormalSpec | ConstantSpec | EmpiricalSpec,
        path: Loc,
    ) -> Distribution:
        if isinstance(spec, float | int):
            return Exponential(float(spec))
        if isinstance(spec, ExponentialSpec):
            return Exponential(spec.mean)
        if isinstance(spec, LogNormalSpec):
            return LogNormal(spec.mean, spec.sd)
        if isinstance(spec, ConstantSpec):
            return Constant(spec.seconds)
        if spec.values is not None:
            return Empirical(tuple(spec.values))
        assert spec.file is not None
        values = self._read_column((*path, "file"), spec.file, spec.column)
        try:
            return Empirical(tuple(values))
        except HotlineError as exc:
            raise self.fail((*path, "file"), f"{spec.file}: {exc.message}") from None

    def _read_column(self, path: Loc, name: str, column: str | None) -> list[float]:
        rows = self._read_csv(path, name)
        header = rows[0] if rows else []
        index = 0
        first = 0
        if column is not None:
            if column not in header:
                raise self.fail(path, f"{name}: no column {column!r}")
            index, first = header.index(column), 1
        elif rows and not _is_number(rows[0][0] if rows[0] else ""):
            first = 1  # a header line
        values = []
        for number, row in enumerate(rows[first:], start=first + 1):
            if not row or not row[index].strip():
                continue
            try:
                values.append(float(row[index]))
            except ValueError:
                raise self.fail(path, f"{name}:{number}: not a number: {row[index]!r}") from None
        if not values:
            raise self.fail(path, f"{name}: no values")
        return values

    def _read_csv(self, path: Loc, name: str) -> list[list[str]]:
        try:
            return _csv_rows(self.base / name)
        except InvalidConfiguration as exc:
            raise self.fail(path, exc.message) from None

    # -- arrivals

    def _arrivals(self, interval: float, topics: list[Topic]) -> ArrivalSource:
        a = self.spec.arrivals
        horizon = None if a.hours is None else a.hours * 3600.0
        if a.profile is not None:
            volumes = tuple(v * a.scale for v in a.profile)
            return PoissonProfile(interval, volumes, horizon=horizon)
        if a.calls_per_hour is not None:
            assert a.hours is not None
            return PoissonProfile.constant(a.calls_per_hour * a.scale, a.hours, interval)
        assert a.csv is not None
        return self._replay(a.csv, horizon, {t.id for t in topics})

    def _replay(self, name: str, horizon: float | None, topic_ids: set[str]) -> ArrivalSource:
        try:
            return read_arrivals_csv(
                self.base / name, horizon=horizon, clock_start=self.start, topic_ids=topic_ids
            )
        except InvalidConfiguration as exc:
            raise self.fail(("arrivals", "csv"), exc.message) from None

    # -- agents

    def _agents(self) -> list[AgentPlan]:
        out: list[AgentPlan] = []
        groups: set[str] = set()
        for g_index, group in enumerate(self.spec.agents):
            where: Loc = ("agents", g_index)
            if group.group in groups:
                raise self.fail((*where, "group"), f"duplicate group {group.group!r}")
            groups.add(group.group)
            skills = self._agent_skills(group)
            if group.count is not None:
                out.extend(AgentPlan.team(f"{group.group}-", group.count, skills))
                continue
            for s_index, shift in enumerate(group.shifts):
                s_where: Loc = (*where, "shifts", s_index)
                login = _clock(shift.start) - self.start
                logout = _clock(shift.end) - self.start
                if logout <= login:
                    logout += 86400.0  # a night shift ends the next day
                breaks = []
                spread = 0.0
                for b_index, brk in enumerate(shift.breaks):
                    start = _clock(brk.start) - self.start
                    if start < login:
                        start += 86400.0
                    if not login <= start < logout:
                        raise self.fail(
                            (*s_where, "breaks", b_index, "start"), "the break is outside the shift"
                        )
                    breaks.append(Break(start, brk.minutes * 60.0))
                    spread = max(spread, brk.spread_minutes * 60.0)
                out.extend(
                    AgentPlan.team(
                        f"{group.group}-{s_index + 1}-",
                        shift.count,
                        skills,
                        login=max(login, 0.0),
                        logout=logout,
                        breaks=breaks,
                        break_spread=spread,
                    )
                )
        return out

    @staticmethod
    def _agent_skills(group: AgentGroupSpec) -> list[AgentSkill]:
        if isinstance(group.skills, dict):
            return [AgentSkill(name, level) for name, level in group.skills.items()]
        return [
            AgentSkill(s) if isinstance(s, str) else AgentSkill(s.skill, s.level, s.preference)
            for s in group.skills
        ]

    def _check_skills(self, queues: list[QueueSpec], agents: list[AgentPlan]) -> None:
        """A queue asking for a skill no agent has would never be served, and an agent skill no
        queue asks for is almost always a typo: both are reported as unknown skills."""
        have = {s.skill for plan in agents for s in plan.skills}
        wanted: set[str] = set()
        for q_index, (queue, q_spec) in enumerate(zip(queues, self.spec.queues, strict=True)):
            for r_index, req in enumerate(queue.skills):
                wanted.add(req.skill)
                if req.skill not in have:
                    raise self.fail(
                        ("queues", q_index, "skills", r_index),
                        f"unknown skill {req.skill!r}: no agent has it "
                        f"(agents have: {', '.join(sorted(have))})",
                    )
            for o_index, rule in enumerate(q_spec.overflow):
                for r_index, req in enumerate(self._requirements(rule.skills)):
                    wanted.add(req.skill)
                    if req.skill not in have:
                        raise self.fail(
                            ("queues", q_index, "overflow", o_index, "skills", r_index),
                            f"unknown skill {req.skill!r}: no agent has it",
                        )
        for g_index, group in enumerate(self.spec.agents):
            for skill in self._agent_skills(group):
                if skill.skill not in wanted:
                    index: str | int = (
                        skill.skill
                        if isinstance(group.skills, dict)
                        else [s if isinstance(s, str) else s.skill for s in group.skills].index(
                            skill.skill
                        )
                    )
                    raise self.fail(
                        ("agents", g_index, "skills", index),
                        f"unknown skill {skill.skill!r}: no queue asks for it "
                        f"(queues ask for: {', '.join(sorted(wanted))})",
                    )


def read_arrivals_csv(
    path: Path,
    *,
    horizon: float | None = None,
    clock_start: float = 0.0,
    topic_ids: Iterable[str] | None = None,
) -> ReplayedArrivals:
    """Real arrivals to replay, from a CSV with a header: a `time` column (seconds from the start,
    a clock time HH:MM[:SS], or an ISO date-time whose first day is day 0), and optionally
    `topic` and `handle_seconds`. Clock times are taken relative to `clock_start` (seconds after
    midnight); arrivals before it are skipped, and at or after `horizon` are left out."""
    rows = _csv_rows(path)
    if not rows:
        raise _csv_error(path, None, "empty")
    header = [h.strip() for h in rows[0]]
    if "time" not in header:
        raise _csv_error(path, 1, f"needs a 'time' column (columns: {', '.join(header)})")
    t_col = header.index("time")
    topic_col = header.index("topic") if "topic" in header else None
    handle_col = header.index("handle_seconds") if "handle_seconds" in header else None
    known = None if topic_ids is None else set(topic_ids)
    records: list[tuple[float, str | None, float | None]] = []
    first_day: datetime | None = None
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            at, first_day = _arrival_time(row[t_col].strip(), first_day, clock_start)
            topic = (row[topic_col].strip() or None) if topic_col is not None else None
            handle = None
            if handle_col is not None and row[handle_col].strip():
                handle = float(row[handle_col])
                if not (handle > 0 and math.isfinite(handle)):
                    raise ValueError(f"handle_seconds must be positive, not {row[handle_col]!r}")
            if topic is not None and known is not None and topic not in known:
                raise ValueError(f"unknown topic {topic!r} (topics: {', '.join(sorted(known))})")
        except (ValueError, IndexError, TypeError) as exc:
            raise _csv_error(path, number, str(exc)) from None
        if at >= 0 and (horizon is None or at < horizon):
            records.append((at, topic, handle))
    if not records:
        raise _csv_error(path, None, "no arrivals in the simulated time")
    records.sort(key=lambda r: r[0])
    return ReplayedArrivals(
        times=tuple(r[0] for r in records),
        topics=tuple(r[1] for r in records) if topic_col is not None else None,
        handle_seconds=tuple(r[2] for r in records) if handle_col is not None else None,
        horizon=horizon,
    )


def _csv_rows(path: Path) -> list[list[str]]:
    """The rows of a CSV file; `InvalidConfiguration` when it cannot be read."""
    return list(csv.reader(io.StringIO(read_file(path), newline="")))


def _csv_error(path: Path, line: int | None, message: str) -> InvalidConfiguration:
    return invalid(str(path), [Problem(str(path), line, "", message)])


def _arrival_time(
    raw: str, first_day: datetime | None, clock_start: float
) -> tuple[float, datetime | None]:
    if _is_number(raw):
        return float(raw), first_day
    if re.fullmatch(r"\d{1,2}:[0-5]\d(:[0-5]\d(\.\d+)?)?", raw):
        hours, minutes, *rest = raw.split(":")
        clock = int(hours) * 3600 + int(minutes) * 60 + (float(rest[0]) if rest else 0.0)
        return clock - clock_start, first_day
    try:
        stamp = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"time must be seconds, HH:MM[:SS] or an ISO date-time, not {raw!r}"
        ) from None
    day = stamp.replace(hour=0, minute=0, second=0, microsecond=0)
    if first_day is None:
        first_day = day
    return (stamp - first_day).total_seconds() - clock_start, first_day


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
