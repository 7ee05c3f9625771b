"""`/api/v1/admin/prompts` (role admin): prompts by name. Upload a recording (`PUT
/{name}/audio`, the file as the body: WAV, MP3 or OGG, at most `prompt_upload_max_bytes`, 413
`upload_too_large` beyond, 422 for a file that is not readable audio) or have text spoken (`PUT
/{name}`), listen (`GET /{name}/audio`), list, delete (409 while a live flow plays it). Flows
play them as `{file: NAME}`; a new recording under an old name is what the next caller hears."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.requests import HTTPConnection

from hotline.api.deps import ClientIp, CurrentAdmin, DbSession, Live, require_roles
from hotline.core.errors import UploadTooLarge
from hotline.prompts import service
from hotline.prompts.schemas import PromptName, PromptOut, PromptTextIn
from hotline.telephony.prompts import PromptLibrary
from hotline.users.models import Role

router = APIRouter(
    prefix="/api/v1/admin/prompts",
    tags=["admin: prompts"],
    dependencies=[Depends(require_roles(Role.ADMIN))],
    responses={401: {}, 403: {}},
)

AUDIO_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("audio/wav", "audio/mpeg", "audio/ogg", "application/octet-stream")
        },
    }
}


def _library(connection: HTTPConnection, live: Live) -> PromptLibrary:
    """One prompt library per API (its work is shared by requests for the same prompt)."""
    state = connection.app.state
    library: PromptLibrary | None = getattr(state, "prompt_library", None)
    if library is None:
        library = PromptLibrary(
            live.settings.effective_prompts_dir,
            max_upload_bytes=live.settings.prompt_upload_max_bytes,
        )
        state.prompt_library = library
    return library


Library = Annotated[PromptLibrary, Depends(_library)]


def _files(live: Live) -> Path:
    return service.files_dir(live.settings.effective_prompts_dir)


@router.get("")
async def prompts(db: DbSession) -> list[PromptOut]:
    """Every managed prompt, with the lines whose live flow plays it."""
    return [PromptOut.of(info) for info in await service.list_prompts(session=db)]


@router.get("/{name}", responses={404: {}})
async def prompt(name: PromptName, db: DbSession) -> PromptOut:
    return PromptOut.of(await service.get_prompt(session=db, name=name))


@router.put("/{name}", responses={422: {}, 500: {}})
async def speak(
    name: PromptName,
    body: PromptTextIn,
    user: CurrentAdmin,
    db: DbSession,
    live: Live,
    library: Library,
    ip: ClientIp,
) -> PromptOut:
    """Make (or remake) the prompt by speaking `text` with espeak-ng."""
    info = await service.save_text(
        session=db,
        library=library,
        files=_files(live),
        name=name,
        text=body.text,
        lang=body.lang,
        voice=body.voice,
        actor=user,
        ip=ip,
    )
    return PromptOut.of(info)


@router.put("/{name}/audio", openapi_extra=AUDIO_BODY, responses={413: {}, 422: {}})
async def upload(
    name: PromptName,
    request: Request,
    user: CurrentAdmin,
    db: DbSession,
    live: Live,
    library: Library,
    ip: ClientIp,
    filename: Annotated[
        str | None, Query(max_length=255, description="the file's name, e.g. greeting.mp3")
    ] = None,
) -> PromptOut:
    """Make (or remake) the prompt from a recording sent as the request's body; it is decoded
    and resampled to 8 kHz mono. Refused unread beyond the size limit."""
    limit = live.settings.prompt_upload_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise _too_large(limit)
    info = await service.save_upload(
        session=db,
        library=library,
        files=_files(live),
        name=name,
        data=bytes(data),
        filename=service.upload_filename(name, filename, request.headers.get("content-type")),
        actor=user,
        ip=ip,
    )
    return PromptOut.of(info)


@router.get(
    "/{name}/audio",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}}, 404: {}},
)
async def listen(name: PromptName, db: DbSession, live: Live) -> FileResponse:
    """The prompt as callers hear it: an 8 kHz mono WAV."""
    path = await service.prompt_file(session=db, files=_files(live), name=name)
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "no-cache"})


@router.delete("/{name}", status_code=204, responses={404: {}, 409: {}})
async def remove(
    name: PromptName, user: CurrentAdmin, db: DbSession, live: Live, ip: ClientIp
) -> Response:
    """Delete a prompt and its file (409 while a live IVR flow plays it)."""
    await service.delete_prompt(session=db, files=_files(live), name=name, actor=user, ip=ip)
    return Response(status_code=204)


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(
        f"the file is larger than {limit / (1024 * 1024):g} MiB", limit=limit, field="file"
    )
