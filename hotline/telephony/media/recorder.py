"""Stereo call recording: the caller on the left channel, what the caller hears on the right.

Packets are decoded into a short in-memory window placed by RTP timestamp (so loss leaves
silence, not a shift, and reordered packets land where they belong); the worker's housekeeping
flushes the settled part of the window every half second, and the bytes are written by the file
thread, never on the packet loop. 8 kHz, 16-bit, little-endian WAV."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from concurrent.futures import Executor
from typing import BinaryIO

import numpy as np

from hotline.telephony.media import g711

RATE = 8000
WINDOW = 4 * RATE  # samples held in memory per channel
SETTLE = RATE * 3 // 10  # keep 300 ms open for late packets
REANCHOR = RATE // 2  # a stream whose timestamps drift this far from the clock is re-placed

LEFT = 0
RIGHT = 1


def wav_header(data_bytes: int, channels: int = 2, rate: int = RATE) -> bytes:
    block = 2 * channels
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        rate,
        rate * block,
        block,
        16,
        b"data",
        data_bytes,
    )


def _open(path: str) -> BinaryIO:
    file = open(path, "wb")  # noqa: SIM115 - closed by _finish, on the file thread
    file.write(wav_header(0))
    return file


def _write(file: BinaryIO, data: bytes) -> None:
    file.write(data)


def _finish(file: BinaryIO, data_bytes: int) -> None:
    try:
        file.seek(0)
        file.write(wav_header(data_bytes))
    finally:
        file.close()


class Recorder:
    """One stereo recording. Create with `open`, feed with `add`, `flush` periodically, `close`."""

    def __init__(
        self,
        path: str,
        file: BinaryIO,
        start: float,
        executor: Executor,
        loop: asyncio.AbstractEventLoop,
        on_failure: Callable[[BaseException], None],
    ) -> None:
        self.path = path
        self._file = file
        self._start = start
        self._executor = executor
        self._loop = loop
        self._on_failure = on_failure
        self._window = np.zeros((WINDOW, 2), dtype="<i2")
        self._base = 0  # sample position of window[0]
        self._high = 0  # highest position written
        self._anchors: list[tuple[int, int, int] | None] = [None, None]  # (ssrc, ts, position)
        self.frames = 0  # samples per channel flushed
        self.failed = False
        self._last_write: asyncio.Future[None] | None = None

    @classmethod
    async def open(
        cls,
        path: str,
        start: float,
        executor: Executor,
        loop: asyncio.AbstractEventLoop,
        on_failure: Callable[[BaseException], None],
    ) -> Recorder:
        file = await loop.run_in_executor(executor, _open, path)
        return cls(path, file, start, executor, loop, on_failure)

    def add(
        self, channel: int, ssrc: int, timestamp: int, payload: bytes, codec: g711.Codec, now: float
    ) -> None:
        """Place one packet's audio on a channel, by its RTP timestamp."""
        wall = int((now - self._start) * RATE)
        anchor = self._anchors[channel]
        if anchor is None or anchor[0] != ssrc:
            position = wall
            self._anchors[channel] = (ssrc, timestamp, wall)
        else:
            delta = (timestamp - anchor[1] + (1 << 31)) % (1 << 32) - (1 << 31)
            position = anchor[2] + delta
            if abs(position - wall) > REANCHOR:
                position = wall
                self._anchors[channel] = (ssrc, timestamp, wall)
        table = g711.ULAW_TO_LINEAR if codec is g711.Codec.PCMU else g711.ALAW_TO_LINEAR
        samples = table[np.frombuffer(payload, dtype=np.uint8)]
        index = position - self._base
        if index < 0:  # too late: that part is on disk already
            samples = samples[-index:]
            index = 0
        count = min(len(samples), WINDOW - index)
        if count <= 0:
            return
        self._window[index : index + count, channel] = samples[:count]
        if position + count > self._high:
            self._high = position + count

    def flush(self, now: float, *, final: bool = False) -> None:
        """Hand the settled part of the window to the file thread."""
        if self.failed:
            return
        wall = int((now - self._start) * RATE)
        upto = max(wall, self._high) if final else wall - SETTLE
        count = min(upto - self._base, WINDOW)
        if count <= 0:
            return
        data = self._window[:count].tobytes()
        self._window[: WINDOW - count] = self._window[count:]
        self._window[WINDOW - count :] = 0
        self._base += count
        self.frames += count
        future = self._loop.run_in_executor(self._executor, _write, self._file, data)
        future.add_done_callback(self._written)
        self._last_write = future

    def _written(self, future: asyncio.Future[None]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None and not self.failed:
            self.failed = True
            self._on_failure(exc)

    async def close(self, now: float) -> float:
        """Write what is left and complete the WAV header; returns the length in seconds."""
        self.flush(now, final=True)
        await self._loop.run_in_executor(self._executor, _finish, self._file, self.frames * 4)
        return self.frames / RATE
