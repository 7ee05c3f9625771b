"""`prompts`: the recorded and synthesized prompts administrators manage by name, which IVR flows
play as `{file: NAME}`.

The audio itself is a file, `<prompts_dir>/files/<name>.wav` (8 kHz mono 16-bit PCM), where the
call path has always looked for recordings; this row says what it is (an upload, or text spoken by
espeak-ng), who made it and when, so the pages can list, describe and check them, and a flow can
be refused for naming a prompt that does not exist."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, Timestamped, check_in, key_column

PROMPT_KINDS = ("upload", "tts")


class Prompt(Timestamped, Base):
    __tablename__ = "prompts"
    __table_args__ = (
        CheckConstraint(check_in("kind", PROMPT_KINDS), name="kind"),
        CheckConstraint("size >= 0", name="size"),
    )

    name: Mapped[str] = key_column()
    kind: Mapped[str] = mapped_column(String(16))
    # For text: what is said, in which language and voice. For an upload: the file's own name.
    text: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    voice: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    duration: Mapped[float] = mapped_column(Float)
    size: Mapped[int] = mapped_column(Integer)  # bytes of the stored WAV
    digest: Mapped[str] = mapped_column(String(64))  # what the audio was made from
    updated_by: Mapped[str] = mapped_column(String(200))
