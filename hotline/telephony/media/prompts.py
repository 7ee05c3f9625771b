"""Prompt files as G.711 frames, read off the packet loop and kept in memory.

The prompt layer prepares prompts as 8 kHz mono 16-bit PCM (WAV, or raw `.sln`) or as pre-encoded
G.711 (`.ul`, `.al`). Reading and encoding runs in the worker's file thread; the encoded bytes are
cached per file version (path, size, modification time) and codec, because the same greeting and
music on hold are played to hundreds of callers at once."""

from __future__ import annotations

import os
import wave
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from hotline.telephony.media import g711
from hotline.telephony.media.errors import PromptUnavailable

ULAW_SUFFIXES = {".ul", ".ulaw", ".pcmu", ".mulaw"}
ALAW_SUFFIXES = {".al", ".alaw", ".pcma"}
SLIN_SUFFIXES = {".sln", ".raw", ".pcm"}


@dataclass(frozen=True, slots=True)
class PromptKey:
    path: str
    size: int
    mtime_ns: int
    codec: g711.Codec


def stat_prompt(path: str, codec: g711.Codec) -> PromptKey:
    """The cache key of a prompt file as it is now (blocking: call it in the file thread)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise PromptUnavailable(f"prompt {path}: {exc.strerror}", path=path) from exc
    return PromptKey(path, info.st_size, info.st_mtime_ns, codec)


def read_prompt(path: str, codec: g711.Codec) -> bytes:
    """The whole prompt as G.711 codes of `codec` (blocking: call it in the file thread)."""
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix in ULAW_SUFFIXES or suffix in ALAW_SUFFIXES:
            with open(path, "rb") as file:
                data = file.read()
            source = g711.Codec.PCMU if suffix in ULAW_SUFFIXES else g711.Codec.PCMA
            return g711.transcode(data, source, codec)
        if suffix in SLIN_SUFFIXES:
            with open(path, "rb") as file:
                raw = file.read()
            samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
            return g711.encode(samples, codec)
        if suffix == ".wav":
            with wave.open(path, "rb") as wav:
                if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, 8000):
                    raise PromptUnavailable(
                        f"prompt {path}: must be 8 kHz mono 16-bit PCM, is "
                        f"{wav.getframerate()} Hz, {wav.getnchannels()} channel(s), "
                        f"{8 * wav.getsampwidth()}-bit",
                        path=path,
                    )
                frames = wav.readframes(wav.getnframes())
            return g711.encode(np.frombuffer(frames, dtype="<i2"), codec)
    except OSError as exc:
        raise PromptUnavailable(f"prompt {path}: {exc.strerror}", path=path) from exc
    except (wave.Error, EOFError) as exc:
        raise PromptUnavailable(
            f"prompt {path}: not a readable WAV file ({exc})", path=path
        ) from exc
    raise PromptUnavailable(
        f"prompt {path}: unknown format (use .wav, .sln, .ul or .al)", path=path
    )


def load_prompts(
    paths: list[str], codec: g711.Codec, cached: frozenset[PromptKey]
) -> list[tuple[PromptKey, bytes | None]]:
    """Stat every prompt and read those not in `cached` (runs in the file thread, so the cache
    itself is only ever touched on the event loop)."""
    result: list[tuple[PromptKey, bytes | None]] = []
    for path in paths:
        key = stat_prompt(path, codec)
        result.append((key, None if key in cached else read_prompt(path, codec)))
    return result


class PromptCache:
    """Encoded prompts, least recently used dropped first past a byte budget."""

    def __init__(self, budget_bytes: int = 64 << 20) -> None:
        self._budget = budget_bytes
        self._size = 0
        self._items: OrderedDict[PromptKey, bytes] = OrderedDict()

    def keys(self) -> frozenset[PromptKey]:
        return frozenset(self._items)

    def get(self, key: PromptKey) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: PromptKey, data: bytes) -> None:
        if key in self._items:
            return
        self._items[key] = data
        self._size += len(data)
        while self._size > self._budget and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._size -= len(dropped)
