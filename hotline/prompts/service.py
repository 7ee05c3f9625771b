"""Managing prompts by name: upload a recording (WAV, MP3 or OGG) or type text for espeak-ng,
listen to it, list, delete.

Either way the result is made by `hotline.telephony.prompts.PromptLibrary` (decoded, resampled to
8 kHz mono, cached by content) and copied to `<prompts_dir>/files/<name>.wav`, where the call path
finds recordings a flow names as `{file: NAME}`: a new recording under an old name is what the
next caller hears, with no restart. The `prompts` row says what the file is and who made it.

Making audio is slow (decoding, espeak-ng), so the transaction the request began (on SQLite: the
database's write lock) is ended first, and the row is written in a new one once the file is in
place: the row never names audio that is not there. A prompt a live IVR flow plays cannot be
deleted."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.audit.service import Actor
from hotline.core.errors import Conflict, InvalidInput, NotFound
from hotline.ivr.models import IvrFlowVersion
from hotline.ivr.schemas import Flow
from hotline.prompts.models import Prompt
from hotline.telephony.prompts import UPLOAD_FORMATS, PromptAudio, PromptLibrary

CONTENT_TYPES = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/ogg": ".ogg",
}
"""The extension an upload without a file name is taken to have, by its Content-Type."""


@dataclass(frozen=True, slots=True)
class PromptInfo:
    """A prompt as the pages list it: its row, and the lines whose live IVR flow plays it."""

    prompt: Prompt
    used_by: list[str]


def files_dir(prompts_dir: Path) -> Path:
    """Where the call path looks for recordings (`CallAudio.files_dir`)."""
    return prompts_dir / "files"


async def prompt_names(*, session: AsyncSession, files: Path) -> set[str]:
    """Every recording a flow may name: the managed prompts, and files an operator put in the
    folder by hand (`<name>.wav`, `.mp3`, `.ogg`)."""
    names = set((await session.scalars(select(Prompt.name))).all())
    return names | set(await asyncio.to_thread(_names_on_disk, files))


async def users_of_prompts(*, session: AsyncSession) -> dict[str, list[str]]:
    """Recording name -> the lines whose live IVR flow plays it."""
    rows = (
        await session.execute(
            select(IvrFlowVersion.line_id, IvrFlowVersion.definition).where(
                IvrFlowVersion.is_current.is_(True)
            )
        )
    ).all()
    used: dict[str, list[str]] = {}
    for line_id, definition in sorted(rows):
        for name in Flow.model_validate(definition).referenced("file"):
            used.setdefault(name, []).append(line_id)
    return used


async def list_prompts(*, session: AsyncSession) -> list[PromptInfo]:
    rows = (await session.scalars(select(Prompt).order_by(Prompt.name))).all()
    used = await users_of_prompts(session=session)
    return [PromptInfo(row, used.get(row.name, [])) for row in rows]


async def get_prompt(*, session: AsyncSession, name: str) -> PromptInfo:
    row = await session.get(Prompt, name)
    if row is None:
        raise NotFound(f"no prompt {name!r}", name=name)
    used = await users_of_prompts(session=session)
    return PromptInfo(row, used.get(name, []))


async def save_upload(
    *,
    session: AsyncSession,
    library: PromptLibrary,
    files: Path,
    name: str,
    data: bytes,
    filename: str,
    actor: Actor,
    ip: str | None,
) -> PromptInfo:
    """Make the prompt `name` from an uploaded file (replacing what it was). `InvalidInput` for a
    file of another kind, unreadable, silent or too long; nothing changes then."""
    await _end_reading(session)
    audio = await library.decode_upload(data, filename)
    return await _store(
        session,
        files,
        audio,
        name=name,
        kind="upload",
        filename=Path(filename).name[:255],
        actor=actor,
        ip=ip,
    )


async def save_text(
    *,
    session: AsyncSession,
    library: PromptLibrary,
    files: Path,
    name: str,
    text: str,
    lang: str,
    voice: str | None,
    actor: Actor,
    ip: str | None,
) -> PromptInfo:
    """Make the prompt `name` by speaking `text` with espeak-ng (replacing what it was)."""
    await _end_reading(session)
    audio = await library.tts(text, lang, voice=voice)
    return await _store(
        session,
        files,
        audio,
        name=name,
        kind="tts",
        text=text.strip(),
        lang=lang,
        voice=voice,
        actor=actor,
        ip=ip,
    )


async def delete_prompt(
    *, session: AsyncSession, files: Path, name: str, actor: Actor, ip: str | None
) -> None:
    """Delete a prompt and its file; `Conflict` while a live IVR flow plays it."""
    info = await get_prompt(session=session, name=name)
    if info.used_by:
        raise Conflict(
            f"prompt {name!r} is played by the live IVR flow of line(s) "
            f"{', '.join(info.used_by)}; publish flows without it first",
            name=name,
            lines=info.used_by,
        )
    await session.delete(info.prompt)
    await audit.record(
        session=session,
        actor=actor,
        action="prompt.delete",
        object_type="prompt",
        object_id=name,
        ip=ip,
    )
    await session.commit()
    await asyncio.to_thread(_remove_files, files, name)


async def prompt_file(*, session: AsyncSession, files: Path, name: str) -> Path:
    """The 8 kHz WAV of a managed prompt, to listen to."""
    await get_prompt(session=session, name=name)
    path = files / f"{name}.wav"
    if not await asyncio.to_thread(path.exists):
        raise NotFound(f"the audio of prompt {name!r} is missing from {files}", name=name)
    return path


def upload_filename(name: str, filename: str | None, content_type: str | None) -> str:
    """The file name an upload is decoded by: the one given, or `<name>` with the extension its
    Content-Type implies."""
    if filename:
        return filename
    extension = CONTENT_TYPES.get((content_type or "").split(";")[0].strip().lower())
    if extension is None:
        raise InvalidInput(
            "say what the file is: a filename (greeting.mp3) or a Content-Type of "
            f"{', '.join(sorted(set(CONTENT_TYPES)))}",
            problems=[{"loc": ["query", "filename"], "message": "field required"}],
        )
    return f"{name}{extension}"


# ---- helpers ----


async def _end_reading(session: AsyncSession) -> None:
    """Making audio takes a while: hold no transaction (nor SQLite's write lock) meanwhile."""
    if session.in_transaction():
        await session.commit()


async def _store(
    session: AsyncSession,
    files: Path,
    audio: PromptAudio,
    *,
    name: str,
    kind: str,
    actor: Actor,
    ip: str | None,
    text: str | None = None,
    lang: str | None = None,
    voice: str | None = None,
    filename: str | None = None,
) -> PromptInfo:
    size = await asyncio.to_thread(_install, audio.wav, files, name)
    row = await session.get(Prompt, name)
    if row is None:
        row = Prompt(name=name)
        session.add(row)
    row.kind = kind
    row.text = text
    row.lang = lang
    row.voice = voice
    row.filename = filename
    row.duration = round(audio.duration, 3)
    row.size = size
    row.digest = audio.key
    row.updated_by = actor.username
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action=f"prompt.{kind}",
        object_type="prompt",
        object_id=name,
        ip=ip,
        details={"duration": row.duration, "size": size},
    )
    await session.commit()
    return await get_prompt(session=session, name=name)


def _install(wav: Path, files: Path, name: str) -> int:
    """Copy the made WAV to `files/<name>.wav` under a temporary name, then rename it into place
    (a call never reads half a file); recordings of the same name in other formats go, so the one
    the call path finds is this one. Returns its size."""
    files.mkdir(parents=True, exist_ok=True)
    data = wav.read_bytes()
    target = files / f"{name}.wav"
    scratch = files / f".{name}.{uuid.uuid4().hex}.tmp"
    try:
        scratch.write_bytes(data)
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    for extension in UPLOAD_FORMATS:
        if extension != ".wav":
            (files / f"{name}{extension}").unlink(missing_ok=True)
    return len(data)


def _remove_files(files: Path, name: str) -> None:
    for extension in UPLOAD_FORMATS:
        (files / f"{name}{extension}").unlink(missing_ok=True)


def _names_on_disk(files: Path) -> list[str]:
    try:
        entries = list(files.iterdir())
    except FileNotFoundError:
        return []
    return [e.stem for e in entries if e.suffix.lower() in UPLOAD_FORMATS and e.is_file()]
