"""The shapes of `/api/v1/auth` (docs/web-api.md, "Sign-in")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hotline.auth.service import MIN_PASSWORD_LENGTH, SignedInUser

MAX_PASSWORD_LENGTH = 1024
"""Longer input is refused before any hashing: a password is not a file."""


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class MeChange(BaseModel):
    """What a user may change of themselves with `PATCH /auth/me`."""

    model_config = ConfigDict(extra="forbid")

    language: Literal["ru", "en"]


class UserOut(BaseModel):
    id: str
    username: str
    name: str
    roles: list[str]
    department: str | None
    must_change_password: bool
    language: Literal["ru", "en"]


class Me(BaseModel):
    """Who is signed in, and the token every change must carry in `X-CSRF-Token`."""

    user: UserOut
    csrf_token: str

    @classmethod
    def of(cls, user: SignedInUser) -> Me:
        return cls(
            user=UserOut(
                id=user.id,
                username=user.username,
                name=user.name,
                roles=sorted(user.roles),
                department=user.department,
                must_change_password=user.must_change_password,
                language="en" if user.language == "en" else "ru",
            ),
            csrf_token=user.csrf_token,
        )
