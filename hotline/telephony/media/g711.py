"""G.711 u-law (PCMU) and A-law (PCMA) by lookup table.

Every conversion is one table lookup per sample: encoding indexes a 65,536-entry table with the
16-bit sample, decoding a 256-entry table with the code, and u-law <-> A-law transcoding maps code
to code directly (no linear step on the packet path). The numpy tables serve whole frames and
files; the 256-byte `bytes` tables serve `bytes.translate`, which is the cheapest way to transcode
one relayed packet in Python.

The tables are computed with the ITU-T G.711 reference algorithms (as in Sun's public `g711.c`),
once, when the module is imported: pure arithmetic, no I/O."""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


class Codec(enum.StrEnum):
    """The two G.711 laws, named as in SDP `a=rtpmap`."""

    PCMU = "PCMU"
    PCMA = "PCMA"

    @property
    def static_payload_type(self) -> int:
        """The RTP/AVP static payload type (RFC 3551): 0 for PCMU, 8 for PCMA."""
        return 0 if self is Codec.PCMU else 8

    @property
    def silence(self) -> int:
        """The code of a zero sample: used to pad the last frame of a prompt."""
        return ULAW_SILENCE if self is Codec.PCMU else ALAW_SILENCE


def _ulaw_decode_all() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    magnitude = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    linear = np.where(code & 0x80, 0x84 - magnitude, magnitude - 0x84)
    return linear.astype(np.int16)


def _alaw_decode_all() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    base = (code & 0x0F) << 4
    magnitude = np.where(
        segment == 0, base + 8, np.left_shift(base + 0x108, np.maximum(segment - 1, 0))
    )
    linear = np.where(code & 0x80, magnitude, -magnitude)
    return linear.astype(np.int16)


def _segment(value: npt.NDArray[np.int32], ends: list[int]) -> npt.NDArray[np.int32]:
    """Index of the first segment end >= value (8 when above them all)."""
    return np.searchsorted(np.asarray(ends), value, side="left").astype(np.int32)


def _ulaw_encode_all() -> npt.NDArray[np.uint8]:
    pcm = np.arange(65536, dtype=np.int32).astype(np.uint16).view(np.int16).astype(np.int32)
    pcm = pcm >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), 8159) + 33
    segment = _segment(pcm, [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    code = np.where(
        segment >= 8,
        0x7F,
        (np.minimum(segment, 7) << 4) | ((pcm >> (np.minimum(segment, 7) + 1)) & 0x0F),
    )
    return (code ^ mask).astype(np.uint8)


def _alaw_encode_all() -> npt.NDArray[np.uint8]:
    pcm = np.arange(65536, dtype=np.int32).astype(np.uint16).view(np.int16).astype(np.int32)
    pcm = pcm >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    segment = _segment(pcm, [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg7 = np.minimum(segment, 7)
    mantissa = np.where(seg7 < 2, (pcm >> 1) & 0x0F, (pcm >> seg7) & 0x0F)
    code = np.where(segment >= 8, 0x7F, (seg7 << 4) | mantissa)
    return (code ^ mask).astype(np.uint8)


#: code -> 16-bit linear sample
ULAW_TO_LINEAR: npt.NDArray[np.int16] = _ulaw_decode_all()
ALAW_TO_LINEAR: npt.NDArray[np.int16] = _alaw_decode_all()
#: 16-bit sample (viewed as uint16) -> code
LINEAR_TO_ULAW: npt.NDArray[np.uint8] = _ulaw_encode_all()
LINEAR_TO_ALAW: npt.NDArray[np.uint8] = _alaw_encode_all()
#: code -> code, through the linear value
ULAW_TO_ALAW: npt.NDArray[np.uint8] = LINEAR_TO_ALAW[ULAW_TO_LINEAR.view(np.uint16)]
ALAW_TO_ULAW: npt.NDArray[np.uint8] = LINEAR_TO_ULAW[ALAW_TO_LINEAR.view(np.uint16)]
#: the same transcoding tables for `bytes.translate` on the packet path
ULAW_TO_ALAW_BYTES: bytes = ULAW_TO_ALAW.tobytes()
ALAW_TO_ULAW_BYTES: bytes = ALAW_TO_ULAW.tobytes()

ULAW_SILENCE = int(LINEAR_TO_ULAW[0])  # 0xFF
ALAW_SILENCE = int(LINEAR_TO_ALAW[0])  # 0xD5


def encode(samples: Samples, codec: Codec) -> bytes:
    """16-bit linear samples to G.711 codes, one byte per sample."""
    table = LINEAR_TO_ULAW if codec is Codec.PCMU else LINEAR_TO_ALAW
    return table[np.ascontiguousarray(samples, dtype=np.int16).view(np.uint16)].tobytes()


def decode(payload: bytes, codec: Codec) -> Samples:
    """G.711 codes to 16-bit linear samples."""
    table = ULAW_TO_LINEAR if codec is Codec.PCMU else ALAW_TO_LINEAR
    return table[np.frombuffer(payload, dtype=np.uint8)]


def transcode_table(source: Codec, target: Codec) -> bytes | None:
    """The `bytes.translate` table from one law to the other; None when no change is needed."""
    if source is target:
        return None
    return ULAW_TO_ALAW_BYTES if source is Codec.PCMU else ALAW_TO_ULAW_BYTES


def transcode(payload: bytes, source: Codec, target: Codec) -> bytes:
    """Re-express G.711 codes in the other law, code by code."""
    table = transcode_table(source, target)
    return payload if table is None else payload.translate(table)
