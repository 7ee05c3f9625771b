"""Prompts on both databases: only administrators; a recording is decoded and resampled to 8 kHz
mono and lands where the call path plays it from; text is spoken by espeak-ng; an upload over the
limit is refused with 413 unread, one that is not audio with 422; IVR flows may name only
prompts that exist, and a prompt a live flow plays cannot be deleted; changes are audited."""

from __future__ import annotations

import io
import textwrap
import wave
from pathlib import Path

import numpy as np
from sqlalchemy import select

from hotline.audit.models import AuditEntry
from tests.admin.conftest import ADMIN
from tests.api.harness import ApiHarness

PROMPTS = "/api/v1/admin/prompts"

FLOW = textwrap.dedent(
    """\
    name: City line
    start: hello
    steps:
      hello:
        type: play
        prompts: [{file: greeting}]
        next: medical
      medical:
        type: enqueue
        queue: medical
    """
)


def tone_wav(seconds: float = 1.0, rate: int = 16000, channels: int = 2) -> bytes:
    """A 440 Hz tone as a 16-bit WAV of `rate` and `channels` (not what telephony plays)."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    frames = np.repeat(samples[:, None], channels, axis=1).tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def wav_format(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data)) as wav:
        return (
            wav.getnchannels(),
            wav.getsampwidth(),
            wav.getframerate(),
            wav.getnframes() / wav.getframerate(),
        )


async def test_only_administrators_manage_prompts(admin_api: ApiHarness) -> None:
    async with admin_api.signed_in("boss") as boss:
        assert (await boss.get(PROMPTS)).status_code == 403
        answer = await boss.put(f"{PROMPTS}/greeting", json={"text": "Hello"})
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
    async with admin_api.client() as anonymous:
        assert (await anonymous.get(f"{PROMPTS}/greeting/audio")).status_code == 401


async def test_an_uploaded_recording_is_resampled_to_telephone_audio(
    admin_api: ApiHarness, tmp_path: Path
) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        answer = await root.put(
            f"{PROMPTS}/greeting/audio",
            params={"filename": "Greeting Final.wav"},
            content=tone_wav(),
            headers={"Content-Type": "audio/wav"},
        )
        assert answer.status_code == 200, answer.text
        audio = await root.get(answer.json()["audio"])
        listed = (await root.get(PROMPTS)).json()
    prompt = answer.json()
    assert (prompt["kind"], prompt["filename"], prompt["duration"]) == (
        "upload",
        "Greeting Final.wav",
        1.0,
    )
    assert audio.headers["content-type"] == "audio/wav"
    channels, width, rate, seconds = wav_format(audio.content)
    assert (channels, width, rate, seconds) == (1, 2, 8000, 1.0)
    played = tmp_path / "prompts" / "files" / "greeting.wav"
    assert played.read_bytes() == audio.content
    assert [p["name"] for p in listed] == ["greeting"]
    async with admin_api.sessions() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "prompt.upload"))
    assert entry is not None
    assert (entry.actor_username, entry.object_id) == (ADMIN, "greeting")


async def test_text_is_spoken_by_espeak_ng(admin_api: ApiHarness) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        answer = await root.put(
            f"{PROMPTS}/closed", json={"text": "Линия закрыта. Позвоните завтра.", "lang": "ru"}
        )
        assert answer.status_code == 200, answer.text
        audio = await root.get(f"{PROMPTS}/closed/audio")
    prompt = answer.json()
    assert (prompt["kind"], prompt["text"], prompt["lang"]) == (
        "tts",
        "Линия закрыта. Позвоните завтра.",
        "ru",
    )
    channels, _, rate, seconds = wav_format(audio.content)
    assert (channels, rate) == (1, 8000)
    assert seconds > 1.0
    assert prompt["duration"] == round(seconds, 3)


async def test_an_upload_over_the_limit_is_refused_unread(admin_api: ApiHarness) -> None:
    too_big = tone_wav(seconds=3.0)  # 188 KiB; the tests' limit is 64 KiB
    async with admin_api.signed_in(ADMIN) as root:
        answer = await root.put(
            f"{PROMPTS}/greeting/audio", params={"filename": "big.wav"}, content=too_big
        )

        async def chunks():  # no Content-Length: counted as it arrives
            for start in range(0, len(too_big), 8192):
                yield too_big[start : start + 8192]

        streamed = await root.put(
            f"{PROMPTS}/greeting/audio", params={"filename": "big.wav"}, content=chunks()
        )
        listed = (await root.get(PROMPTS)).json()
    for refused in (answer, streamed):
        assert refused.status_code == 413
        assert refused.json()["code"] == "upload_too_large"
        assert refused.json()["details"]["limit"] == 64 * 1024
    assert listed == []


async def test_a_file_that_is_not_audio_is_refused(admin_api: ApiHarness) -> None:
    async with admin_api.signed_in(ADMIN) as root:
        garbage = await root.put(
            f"{PROMPTS}/greeting/audio",
            params={"filename": "greeting.wav"},
            content=b"RIFF\x00\x00\x00\x00WAVEnot really" * 20,
        )
        other_kind = await root.put(
            f"{PROMPTS}/greeting/audio", params={"filename": "greeting.flac"}, content=tone_wav()
        )
        unnamed = await root.put(
            f"{PROMPTS}/greeting/audio", content=tone_wav(), headers={"Content-Type": "text/plain"}
        )
        listed = (await root.get(PROMPTS)).json()
    for answer in (garbage, other_kind, unnamed):
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_input"
    assert "not a readable WAV file" in garbage.json()["message"]
    assert listed == []


async def test_flows_name_only_existing_prompts_and_a_played_one_stays(
    admin_api: ApiHarness,
) -> None:
    lines = "/api/v1/admin/ivr/lines/city"
    async with admin_api.signed_in(ADMIN) as root:
        before = (await root.post(f"{lines}/validate", json={"yaml": FLOW})).json()
        await root.put(f"{PROMPTS}/greeting/audio?filename=g.wav", content=tone_wav())
        after = (await root.post(f"{lines}/validate", json={"yaml": FLOW})).json()
        published = await root.post(f"{lines}/publish", json={"yaml": FLOW, "base_version": None})
        assert published.status_code == 200, published.text
        played = (await root.get(f"{PROMPTS}/greeting")).json()
        refused = await root.delete(f"{PROMPTS}/greeting")
        await root.put(f"{PROMPTS}/spare", json={"text": "Spare", "lang": "en"})
        deleted = await root.delete(f"{PROMPTS}/spare")
        gone = await root.get(f"{PROMPTS}/spare/audio")
    assert before["valid"] is False
    assert [(p["line"], p["path"]) for p in before["problems"]] == [
        (6, "steps.hello.prompts[0].file")
    ]
    assert "no uploaded prompt named 'greeting'" in before["problems"][0]["message"]
    assert after["valid"] is True
    assert played["used_by"] == ["city"]
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict")
    assert deleted.status_code == 204
    assert gone.status_code == 404
    async with admin_api.sessions() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "prompt")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert actions == ["prompt.upload", "prompt.tts", "prompt.delete"]
