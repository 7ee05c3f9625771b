"""G.711 tables against the reference implementation (CPython's audioop, still in 3.11)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hotline.telephony.media import g711
from hotline.telephony.media.g711 import Codec

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

EVERY_SAMPLE = np.arange(-32768, 32768, dtype=np.int16)
EVERY_CODE = bytes(range(256))


def test_ulaw_encoding_matches_the_reference_for_every_sample() -> None:
    assert g711.encode(EVERY_SAMPLE, Codec.PCMU) == audioop.lin2ulaw(EVERY_SAMPLE.tobytes(), 2)


def test_alaw_encoding_matches_the_reference_for_every_sample() -> None:
    assert g711.encode(EVERY_SAMPLE, Codec.PCMA) == audioop.lin2alaw(EVERY_SAMPLE.tobytes(), 2)


def test_decoding_matches_the_reference_for_every_code() -> None:
    assert g711.decode(EVERY_CODE, Codec.PCMU).tobytes() == audioop.ulaw2lin(EVERY_CODE, 2)
    assert g711.decode(EVERY_CODE, Codec.PCMA).tobytes() == audioop.alaw2lin(EVERY_CODE, 2)


def test_transcoding_tables_equal_decoding_then_encoding() -> None:
    via_linear_a = g711.encode(g711.decode(EVERY_CODE, Codec.PCMU), Codec.PCMA)
    via_linear_u = g711.encode(g711.decode(EVERY_CODE, Codec.PCMA), Codec.PCMU)
    assert g711.transcode(EVERY_CODE, Codec.PCMU, Codec.PCMA) == via_linear_a
    assert g711.transcode(EVERY_CODE, Codec.PCMA, Codec.PCMU) == via_linear_u


def test_same_law_transcoding_is_identity() -> None:
    assert g711.transcode_table(Codec.PCMU, Codec.PCMU) is None
    assert g711.transcode(b"\x01\x02", Codec.PCMA, Codec.PCMA) == b"\x01\x02"


def test_silence_codes_decode_to_zero_or_nearly() -> None:
    assert g711.decode(bytes([g711.ULAW_SILENCE]), Codec.PCMU)[0] == 0
    assert abs(int(g711.decode(bytes([g711.ALAW_SILENCE]), Codec.PCMA)[0])) <= 8


@given(st.sampled_from(list(Codec)), st.integers(0, 255))
def test_every_code_but_negative_zero_survives_decode_encode(codec: Codec, code: int) -> None:
    if codec is Codec.PCMU and code == 0x7F:
        code = 0xFF  # u-law has two zeros; both decode to 0, which encodes to 0xFF
    payload = bytes([code])
    assert g711.encode(g711.decode(payload, codec), codec) == payload


@given(st.lists(st.integers(-32768, 32767), min_size=1, max_size=200), st.sampled_from(list(Codec)))
def test_quantisation_error_stays_within_the_segment_step(values: list[int], codec: Codec) -> None:
    samples = np.array(values, dtype=np.int16)
    restored = g711.decode(g711.encode(samples, codec), codec).astype(np.int32)
    error = np.abs(restored - samples.astype(np.int32))
    # the step doubles per segment: at most 1/16 of the magnitude plus the smallest step
    assert np.all(error <= np.abs(samples.astype(np.int32)) // 16 + 16)
