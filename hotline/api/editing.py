"""Shapes the configuration editors share (IVR flows under `/api/v1/admin/ivr`, the live
configuration under `/api/v1/admin/config`): a draft's text in, its problems out, each on its
line, and a unified diff against what is live."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hotline.core.errors import InvalidConfiguration
from hotline.core.yamlfile import Problem

MAX_DRAFT = 1_000_000
"""Characters of YAML a draft may have: a large hotline's whole configuration fits many times."""


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(max_length=MAX_DRAFT, description="the draft, as YAML text")


class ProblemOut(BaseModel):
    """One problem (or warning) of a draft: its line (None when it concerns no line of the text,
    e.g. a removed queue that something still uses), the field's path, and what is wrong."""

    line: int | None
    path: str
    message: str

    @classmethod
    def of(cls, problem: Problem | dict[str, Any]) -> ProblemOut:
        if isinstance(problem, Problem):
            return cls(line=problem.line, path=problem.path, message=problem.message)
        return cls(line=problem.get("line"), path=problem["path"], message=problem["message"])


class CheckOut(BaseModel):
    """A draft's check: `valid` when it has no problem (warnings do not stop a publish)."""

    valid: bool
    problems: list[ProblemOut]
    warnings: list[ProblemOut]

    @classmethod
    def passed(cls, warnings: list[Problem] | tuple[Problem, ...] = ()) -> CheckOut:
        return cls(valid=True, problems=[], warnings=[ProblemOut.of(w) for w in warnings])

    @classmethod
    def failed(cls, error: InvalidConfiguration) -> CheckOut:
        problems = error.details.get("problems") or [
            {"line": None, "path": "", "message": error.message}
        ]
        return cls(valid=False, problems=[ProblemOut.of(p) for p in problems], warnings=[])


class DiffOut(BaseModel):
    """A unified diff ("" when the texts are the same) from `from_version` (None: nothing yet)."""

    diff: str
    from_version: int | None
