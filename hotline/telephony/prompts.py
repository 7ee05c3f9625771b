"""Prompts as the media workers play them: 8 kHz mono 16-bit PCM, and the same audio pre-encoded
in G.711 u-law (`.ul`) and A-law (`.al`), so that playing a prompt on a call is reading bytes.

Two sources: text spoken by espeak-ng (a Debian package; Russian and English voices) and
recordings people upload (WAV, MP3 or OGG), decoded and resampled by PyAV. Results are cached on
disk by a hash of what made them (the text, language and voice; or the uploaded bytes), so a
prompt is made once, survives restarts, and the same request twice returns the same files.

Async hygiene: espeak-ng runs as an asyncio subprocess. Decoding, resampling and writing the files
is blocking CPU and disk work (PyAV holds no asyncio API), so it runs in a worker thread through
`asyncio.to_thread`: that is this module's one bridge to threads. Files are written under a
temporary name and renamed into place, so a reader never sees half a prompt."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import re
import uuid
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from hotline.core.errors import HotlineError, InvalidInput
from hotline.telephony.media.g711 import Codec, encode

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
FORMAT_VERSION = 1
"""Part of every cache key: raise it when the processing changes, and old files are not reused."""

VOICES = {"ru": "ru", "en": "en"}
"""espeak-ng's voice for each prompt language."""

UPLOAD_FORMATS = {".wav": "wav", ".mp3": "mp3", ".ogg": "ogg", ".oga": "ogg"}
"""The demuxer for each accepted file extension. The demuxer is named, never guessed from the
content: FFmpeg's probing would accept playlists and other formats that open further files."""

MAX_TEXT = 2000
SPEECH_RATE = 150  # words per minute: a little slower than espeak-ng's 175, for telephone audio
_VOICE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{1,8})?(\+[a-z0-9]{1,16})?$")

Samples = npt.NDArray[np.int16]


class PromptFailed(HotlineError):
    """Speech synthesis failed (espeak-ng missing, crashed or too slow)."""

    code = "prompt_failed"
    http_status = 500


@dataclass(frozen=True, slots=True)
class PromptAudio:
    """A prompt ready to play: the 8 kHz WAV and its G.711 encodings, `duration` in seconds."""

    key: str
    wav: Path
    ulaw: Path
    alaw: Path
    duration: float

    def encoded(self, codec: Codec) -> Path:
        """The raw G.711 file for a call's codec."""
        return self.ulaw if codec is Codec.PCMU else self.alaw


class PromptLibrary:
    """Makes and caches prompts under `cache_dir` (`tts/` and `uploads/`, one WAV, `.ul` and
    `.al` per prompt, named by their hash). Concurrent requests for the same prompt share one
    piece of work; at most `parallel` espeak-ng processes run at once."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        espeak: str = "espeak-ng",
        max_upload_bytes: int = 20 * 1024 * 1024,
        max_seconds: float = 600.0,
        tts_timeout: float = 30.0,
        parallel: int = 4,
    ) -> None:
        self.cache_dir = cache_dir
        self._espeak = espeak
        self._max_upload_bytes = max_upload_bytes
        self._max_seconds = max_seconds
        self._tts_timeout = tts_timeout
        self._limit = asyncio.Semaphore(parallel)
        self._ready: dict[str, PromptAudio] = {}
        self._pending: dict[str, asyncio.Task[PromptAudio]] = {}

    async def tts(self, text: str, lang: str, *, voice: str | None = None) -> PromptAudio:
        """The prompt for `text` spoken in `lang` (ru or en), by `voice` (an espeak-ng voice
        such as `ru+f3`) or the language's default voice."""
        text = text.strip()
        if not text:
            raise InvalidInput("a text prompt needs some text", field="text")
        if len(text) > MAX_TEXT:
            raise InvalidInput(
                f"a text prompt is limited to {MAX_TEXT} characters; split it", field="text"
            )
        if lang not in VOICES:
            raise InvalidInput(
                f"no voice for language {lang!r}; languages: {', '.join(VOICES)}", field="lang"
            )
        if voice is not None and not _VOICE.match(voice):
            raise InvalidInput(f"{voice!r} is not an espeak-ng voice name", field="voice")
        spoken_by = voice or VOICES[lang]
        key = _hash(json.dumps(["tts", FORMAT_VERSION, SPEECH_RATE, text, lang, spoken_by]))
        return await self._once(key, "tts", lambda: self._synthesize(text, spoken_by, key))

    async def decode_upload(self, data: bytes, filename: str) -> PromptAudio:
        """The prompt for an uploaded WAV, MP3 or OGG file (the extension of `filename` says
        which). Refuses files too large, too long, of another kind, or with no audio in them."""
        extension = Path(filename).suffix.lower()
        container_format = UPLOAD_FORMATS.get(extension)
        if container_format is None:
            raise InvalidInput(
                f"{filename}: upload a WAV, MP3 or OGG file", field="file", filename=filename
            )
        if len(data) > self._max_upload_bytes:
            limit = self._max_upload_bytes / (1024 * 1024)
            raise InvalidInput(
                f"{filename}: larger than {limit:g} MiB", field="file", filename=filename
            )
        if not data:
            raise InvalidInput(f"{filename}: the file is empty", field="file", filename=filename)
        key = _hash(b"upload", str(FORMAT_VERSION).encode(), data)

        def make() -> Awaitable[PromptAudio]:
            return asyncio.to_thread(
                self._decode_and_store, data, container_format, filename, "uploads", key
            )

        return await self._once(key, "uploads", make)

    # ---- the work ----

    async def _once(
        self, key: str, folder: str, make: Callable[[], Awaitable[PromptAudio]]
    ) -> PromptAudio:
        """The cached prompt `key`, or the result of `make`, run once however many ask."""
        ready = self._ready.get(key)
        if ready is not None:
            return ready
        task = self._pending.get(key)
        if task is None:
            task = asyncio.create_task(self._cached_or_made(key, folder, make))
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        # A caller that gives up (cancelled) does not cancel the work others wait for.
        audio = await asyncio.shield(task)
        self._ready[key] = audio
        return audio

    async def _cached_or_made(
        self, key: str, folder: str, make: Callable[[], Awaitable[PromptAudio]]
    ) -> PromptAudio:
        audio = await asyncio.to_thread(self._from_disk, folder, key)
        if audio is not None:
            return audio
        audio = await make()
        log.info("prompt %s made: %.1f s", key[:12], audio.duration)
        return audio

    async def _synthesize(self, text: str, voice: str, key: str) -> PromptAudio:
        scratch = self.cache_dir / "tmp"
        await asyncio.to_thread(scratch.mkdir, parents=True, exist_ok=True)
        spoken = scratch / f"{key}.{uuid.uuid4().hex}.espeak.wav"
        try:
            async with self._limit:
                await self._run_espeak(text, voice, spoken)
            return await asyncio.to_thread(
                self._decode_and_store, spoken, "wav", "espeak-ng output", "tts", key
            )
        finally:
            await asyncio.to_thread(spoken.unlink, missing_ok=True)

    async def _run_espeak(self, text: str, voice: str, output: Path) -> None:
        # The text goes in on stdin, never as an argument: no option injection, no length limit.
        args = ["-v", voice, "-b", "1", "-s", str(SPEECH_RATE), "-w", str(output), "--stdin"]
        try:
            process = await asyncio.create_subprocess_exec(
                self._espeak,
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise PromptFailed(
                f"{self._espeak} is not installed (Debian: apt install espeak-ng)"
            ) from exc
        try:
            _, errors = await asyncio.wait_for(
                process.communicate(text.encode("utf-8")), self._tts_timeout
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            raise PromptFailed(
                f"{self._espeak} took longer than {self._tts_timeout:g} s", voice=voice
            ) from None
        if process.returncode != 0:
            reason = errors.decode("utf-8", "replace").strip() or f"exit {process.returncode}"
            raise PromptFailed(f"{self._espeak} failed: {reason}", voice=voice)

    # ---- in the worker thread ----

    def _from_disk(self, folder: str, key: str) -> PromptAudio | None:
        audio = self._paths(folder, key, 0.0)
        if not all(path.exists() for path in (audio.wav, audio.ulaw, audio.alaw)):
            return None
        with wave.open(str(audio.wav), "rb") as stored:
            duration = stored.getnframes() / stored.getframerate()
        return self._paths(folder, key, duration)

    def _decode_and_store(
        self, source: bytes | Path, container_format: str, name: str, folder: str, key: str
    ) -> PromptAudio:
        samples = self._decode(source, container_format, name)
        audio = self._paths(folder, key, samples.size / SAMPLE_RATE)
        audio.wav.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(audio.ulaw, encode(samples, Codec.PCMU))
        _write_atomically(audio.alaw, encode(samples, Codec.PCMA))
        _write_atomically(audio.wav, _wav_bytes(samples))  # last: its presence means complete
        return audio

    def _decode(self, source: bytes | Path, container_format: str, name: str) -> Samples:
        """Decode the first audio stream to 8 kHz mono signed 16-bit, whatever its rate, sample
        format and channels; refuse anything unreadable, silent-empty or too long."""
        limit = int(self._max_seconds * SAMPLE_RATE)
        kind = container_format.upper()
        chunks: list[Samples] = []
        total = 0
        try:
            opened = av.open(
                io.BytesIO(source) if isinstance(source, bytes) else str(source),
                mode="r",
                format=container_format,
            )
            with opened as container:
                if not container.streams.audio:
                    raise InvalidInput(f"{name}: the {kind} file has no audio", field="file")
                resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                for frame in container.decode(container.streams.audio[0]):
                    for chunk in resampler.resample(frame):
                        chunks.append(chunk.to_ndarray().reshape(-1).astype(np.int16))
                        total += chunks[-1].size
                    if total > limit:
                        raise InvalidInput(
                            f"{name}: longer than {self._max_seconds:g} seconds", field="file"
                        )
                for chunk in resampler.resample(None):
                    chunks.append(chunk.to_ndarray().reshape(-1).astype(np.int16))
        except av.FFmpegError as exc:
            raise InvalidInput(
                f"{name}: not a readable {kind} file ({exc.strerror or exc})", field="file"
            ) from exc
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        if samples.size == 0:
            raise InvalidInput(f"{name}: no audio could be decoded from it", field="file")
        return samples

    def _paths(self, folder: str, key: str, duration: float) -> PromptAudio:
        base = self.cache_dir / folder / key
        return PromptAudio(
            key=key,
            wav=base.with_suffix(".wav"),
            ulaw=base.with_suffix(".ul"),
            alaw=base.with_suffix(".al"),
            duration=duration,
        )


def _hash(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _wav_bytes(samples: Samples) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        scratch.write_bytes(data)
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
