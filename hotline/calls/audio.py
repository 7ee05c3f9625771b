"""What callers hear, as files a media worker plays: IVR prompts, the built-in announcements of
position and expected wait, music on hold, and the ringback an agent hears while a callback dials.

Text is spoken by espeak-ng and every result is cached on disk (`hotline.telephony.prompts`), so
a prompt costs its synthesis once; `warm_up` makes a flow's prompts before the first caller needs
them. A prompt that cannot be made (espeak-ng missing, an unknown recording) is logged and left
out rather than holding the call: the caller hears less, but the call goes on.

Music on hold defaults to a short generated tune, so a fresh installation needs no audio file
and ships none whose licence would have to be checked; `music_on_hold` names the operator's own."""

from __future__ import annotations

import asyncio
import io
import logging
import math
import wave
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from hotline.core.errors import HotlineError
from hotline.ivr.schemas import Announcement, AudioFile, Flow, Language, PromptName, PromptRef, Say
from hotline.telephony.media.g711 import Codec
from hotline.telephony.prompts import UPLOAD_FORMATS, PromptAudio, PromptLibrary

log = logging.getLogger(__name__)

RATE = 8000

# Built-in phrases the call layer says when a flow gives none, per language.
PHRASES: dict[str, dict[str, str]] = {
    "ru": {
        "callback_offer": "Чтобы мы перезвонили вам, сохранив вашу очередь, нажмите {key}.",
        "callback_confirmed": "Спасибо. Мы перезвоним вам, как только освободится оператор.",
        "closed": "Сейчас линия закрыта. Пожалуйста, позвоните в рабочее время.",
        "busy": "К сожалению, все операторы заняты. Пожалуйста, позвоните позже.",
        "failed": "Извините, соединение не удалось. Пожалуйста, позвоните позже.",
        "agent_lost": "Извините, связь с оператором прервалась. Пожалуйста, позвоните ещё раз.",
    },
    "en": {
        "callback_offer": "To be called back without losing your place, press {key}.",
        "callback_confirmed": "Thank you. We will call you back as soon as an agent is free.",
        "closed": "The line is closed now. Please call during opening hours.",
        "busy": "Sorry, all our agents are busy. Please call again later.",
        "failed": "Sorry, we could not connect your call. Please call again later.",
        "agent_lost": "Sorry, we lost the line to your agent. Please call again.",
    },
}


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """What the announcements say: the caller's place in line and the expected wait."""

    position: int
    expected_wait: float  # seconds


def announcement_text(kind: str, value: QueuePosition, lang: str) -> str:
    """The words for a built-in announcement (the flow says the lead-in, e.g. "Your position
    in the queue is"). Waits are rounded up to whole minutes: a caller told "one minute" who
    waits two is let down, one told two who waits one is not."""
    if kind == "position":
        return str(max(1, value.position))
    minutes = math.ceil(value.expected_wait / 60) if value.expected_wait > 0 else 0
    if lang == "en":
        if minutes <= 1:
            return "less than a minute" if value.expected_wait < 60 else "about one minute"
        return f"about {minutes} minutes"
    if value.expected_wait < 60:
        return "менее минуты"
    return f"около {_russian_minutes(minutes)}"


def _russian_minutes(n: int) -> str:
    # "около" takes the genitive: одной минуты, двух минут, пяти минут; espeak-ng reads digits in
    # the nominative, so the small numbers are written out.
    words = {1: "одной минуты", 2: "двух минут", 3: "трёх минут", 4: "четырёх минут"}
    if n in words:
        return words[n]
    last, tens = n % 10, n % 100
    unit = "минуты" if last == 1 and tens != 11 else "минут"
    return f"{n} {unit}"


class CallAudio:
    """Prompt references in, playable files out (the G.711 law of the leg)."""

    def __init__(
        self,
        library: PromptLibrary,
        *,
        files_dir: Path,
        music: Path | None = None,
        language: str = "ru",
    ) -> None:
        self.library = library
        self.files_dir = files_dir
        self.language = language
        self._music_file = music
        self._music: PromptAudio | None = None
        self._ringback: PromptAudio | None = None

    async def files(
        self,
        prompts: Sequence[PromptRef],
        codec: Codec,
        *,
        position: QueuePosition | None = None,
    ) -> list[Path]:
        """The files for `prompts` in order; announcements need `position` (else skipped)."""
        out: list[Path] = []
        for prompt in prompts:
            audio = await self._one(prompt, position)
            if audio is not None:
                out.append(audio.encoded(codec))
        return out

    async def say(self, text: str, codec: Codec, *, lang: str | None = None) -> list[Path]:
        return await self.files([Say(text, cast(Language, lang or self.language))], codec)

    def phrase(self, name: str, lang: str | None = None, **values: str) -> str:
        table = PHRASES.get(lang or self.language) or PHRASES["ru"]
        return table[name].format(**values)

    async def music(self, codec: Codec) -> Path | None:
        if self._music is None:
            self._music = await self._decoded(self._music_file, _tune, "music")
        return None if self._music is None else self._music.encoded(codec)

    async def ringback(self, codec: Codec) -> Path | None:
        if self._ringback is None:
            self._ringback = await self._decoded(None, _ringback_tone, "ringback")
        return None if self._ringback is None else self._ringback.encoded(codec)

    async def warm_up(self, flows: Iterable[Flow]) -> int:
        """Synthesize every text prompt of `flows` now; returns how many were made or found."""
        made = 0
        for flow in flows:
            for name in flow.prompts:
                prompt = flow.resolve(PromptName(name))
                if isinstance(prompt, Say) and await self._one(prompt, None) is not None:
                    made += 1
        await self.music(Codec.PCMU)
        return made

    async def _one(self, prompt: PromptRef, position: QueuePosition | None) -> PromptAudio | None:
        try:
            if isinstance(prompt, Say):
                return await self.library.tts(
                    prompt.text, prompt.lang or self.language, voice=prompt.voice
                )
            if isinstance(prompt, Announcement):
                if position is None:
                    return None
                lang = prompt.lang or self.language
                text = announcement_text(prompt.kind, position, lang)
                return await self.library.tts(text, lang)
            assert isinstance(prompt, AudioFile)
            return await self._recording(prompt.name)
        except HotlineError as exc:
            log.error("prompt left out: %s", exc.message)
            return None

    async def _recording(self, name: str) -> PromptAudio | None:
        """An operator's recording `files_dir/<name>.wav` (or .mp3, .ogg), decoded once."""
        for extension in UPLOAD_FORMATS:
            path = self.files_dir / f"{name}{extension}"
            data = await asyncio.to_thread(_read_if_exists, path)
            if data is not None:
                return await self.library.decode_upload(data, path.name)
        log.error("recorded prompt %r not found in %s", name, self.files_dir)
        return None

    async def _decoded(
        self, path: Path | None, make: Callable[[], bytes], label: str
    ) -> PromptAudio | None:
        try:
            if path is not None:
                data = await asyncio.to_thread(path.read_bytes)
                return await self.library.decode_upload(data, path.name)
            data = await asyncio.to_thread(make)
            return await self.library.decode_upload(data, f"{label}.wav")
        except (OSError, HotlineError) as exc:
            log.error("%s unavailable: %s", label, exc)
            return None


def _read_if_exists(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _wav(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def _tune() -> bytes:
    """Eight seconds of a quiet, slow arpeggio that loops without a seam: calm to wait to, and
    unmistakably "you are still connected"."""
    notes = [261.63, 329.63, 392.00, 523.25, 392.00, 329.63, 293.66, 349.23,
             440.00, 587.33, 440.00, 349.23, 246.94, 293.66, 392.00, 493.88]  # fmt: skip
    length = int(RATE * 0.5)
    t = np.arange(length) / RATE
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-3.0 * t)
    pieces = [
        envelope * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) for f in notes
    ]
    return _wav(0.18 * np.concatenate(pieces))


def _ringback_tone() -> bytes:
    """The ringing tone of Russian and most European networks: 425 Hz, 1 s on, 4 s off."""
    t = np.arange(RATE) / RATE
    tone = 0.25 * np.sin(2 * np.pi * 425 * t)
    return _wav(np.concatenate([tone, np.zeros(4 * RATE)]))
