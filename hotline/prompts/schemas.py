"""The shapes of `/api/v1/admin/prompts`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hotline.prompts.service import PromptInfo
from hotline.telephony.prompts import MAX_TEXT

PromptName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", min_length=1, max_length=64)
]
"""A prompt's name, as a flow writes it (`{file: greeting}`): also its file's name."""


class PromptTextIn(BaseModel):
    """Text for espeak-ng to speak."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    lang: Literal["ru", "en"] = "ru"
    voice: str | None = Field(
        None, max_length=64, description="an espeak-ng voice such as ru+f3 (default: the language)"
    )


class PromptOut(BaseModel):
    name: str
    kind: Literal["upload", "tts"]
    text: str | None
    lang: str | None
    voice: str | None
    filename: str | None
    duration: float = Field(description="seconds")
    size: int = Field(description="bytes of the 8 kHz WAV")
    updated_at: datetime
    updated_by: str
    used_by: list[str] = Field(description="lines whose live IVR flow plays it")
    audio: str = Field(description="where to listen to it (a WAV)")

    @classmethod
    def of(cls, info: PromptInfo) -> PromptOut:
        row = info.prompt
        return cls(
            name=row.name,
            kind="tts" if row.kind == "tts" else "upload",
            text=row.text,
            lang=row.lang,
            voice=row.voice,
            filename=row.filename,
            duration=row.duration,
            size=row.size,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
            used_by=info.used_by,
            audio=f"/api/v1/admin/prompts/{row.name}/audio?v={row.digest[:12]}",
        )
