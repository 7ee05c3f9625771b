"""The shapes of `/api/v1/admin/users`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hotline.users.service import RowProblem

MAX_CSV = 2_000_000
"""Characters of CSV one request may carry: thousands of rows."""


class CsvIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: str = Field(max_length=MAX_CSV, description="the file's text, header row first")


class RowProblemOut(BaseModel):
    loc: list[str | int]
    row: int = Field(description="the row in the file (the header is row 1)")
    field: str = Field(description="the column ('' for the whole row)")
    message: str

    @classmethod
    def of(cls, problem: RowProblem) -> RowProblemOut:
        return cls.model_validate(problem.as_dict())


class CsvCheckOut(BaseModel):
    """What an import of the file would do: the `problems` that stop it (none: `users` are
    created)."""

    users: int = Field(description="rows with no problem")
    problems: list[RowProblemOut]


class CredentialsOut(BaseModel):
    """A created user's first sign-in: shown this once, never stored."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    name: str
    roles: list[str]
    password: str
    sip_password: str | None


class ImportOut(BaseModel):
    created: list[CredentialsOut]
