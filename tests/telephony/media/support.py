"""Helpers shared by the media tests: an event log with bounded waits, a phone leg, tones."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from hotline.telephony.media.engine import EndpointInfo, LocalMediaEngine, MediaEvent
from hotline.telephony.media.g711 import Codec
from hotline.telephony.media.peer import RtpPeer

TE = 101

E = TypeVar("E")


class Events:
    """Every media event of the engine, with a bounded wait."""

    def __init__(self) -> None:
        self.seen: list[MediaEvent] = []

    def __call__(self, event: MediaEvent) -> None:
        self.seen.append(event)

    def of(self, kind: type[E], endpoint_id: str | None = None) -> list[E]:
        return [
            e
            for e in self.seen
            if isinstance(e, kind)
            and (endpoint_id is None or getattr(e, "endpoint_id", None) == endpoint_id)
        ]

    async def wait(self, predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
        for _ in range(int(seconds / 0.02)):
            if predicate():
                return True
            await asyncio.sleep(0.02)
        return predicate()


async def phone_leg(
    engine: LocalMediaEngine,
    codec: Codec = Codec.PCMU,
    *,
    group: str = "contact",
    rtp_timeout: float | None = None,
) -> tuple[EndpointInfo, RtpPeer]:
    """An endpoint with a peer sending to it and the endpoint told where the peer is."""
    info = await engine.allocate(group=group, rtp_timeout=rtp_timeout)
    peer = await RtpPeer.open()
    peer.target = (info.address, info.port)
    await engine.set_remote(
        info.endpoint_id,
        address=peer.address[0],
        port=peer.address[1],
        codec=codec,
        telephone_event_pt=TE,
        rtcp_port=peer.rtcp_address[1],
    )
    return info, peer


def tone(frequency: float, seconds: float, amplitude: float = 8000) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def dominant_frequency(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / 8000)[int(np.argmax(spectrum[1:])) + 1])


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path
