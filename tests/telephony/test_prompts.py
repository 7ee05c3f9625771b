"""Prompts: real espeak-ng speech in Russian and English, uploads decoded by PyAV (test files are
made with PyAV itself), G.711 files next to every WAV, the cache, and refused uploads."""

from __future__ import annotations

import asyncio
import io
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from hotline.core.errors import InvalidInput
from hotline.telephony.media.g711 import Codec, decode
from hotline.telephony.prompts import PromptAudio, PromptFailed, PromptLibrary


def read_wav(path: Path) -> tuple[int, int, int, npt.NDArray[np.int16]]:
    with wave.open(str(path), "rb") as stored:
        rate, channels, width = stored.getframerate(), stored.getnchannels(), stored.getsampwidth()
        samples = np.frombuffer(stored.readframes(stored.getnframes()), dtype="<i2")
    return rate, channels, width, samples


def rms(samples: npt.NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def tone(seconds: float, rate: int, channels: int = 1) -> npt.NDArray[np.float32]:
    """A 440 Hz tone at half scale, planar float (channels x samples)."""
    t = np.arange(int(seconds * rate)) / rate
    wave_ = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.tile(wave_, (channels, 1))


def encoded_file(container: str, codec: str, rate: int, seconds: float, channels: int) -> bytes:
    """An audio file made by PyAV: what a person might upload."""
    buffer = io.BytesIO()
    layout = "stereo" if channels == 2 else "mono"
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        formats = stream.codec_context.codec.audio_formats
        assert formats
        frame_size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=formats[0].name, layout=layout, rate=rate)
        planar = tone(seconds, rate, channels)
        pts = 0
        for start in range(0, planar.shape[1], frame_size):
            chunk = np.ascontiguousarray(planar[:, start : start + frame_size])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            pts += chunk.shape[1]
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


@pytest.fixture
def library(tmp_path: Path) -> PromptLibrary:
    return PromptLibrary(tmp_path / "prompts")


def assert_prompt(audio: PromptAudio, *, seconds: tuple[float, float]) -> npt.NDArray[np.int16]:
    """An 8 kHz mono 16-bit WAV of plausible length that is not silence, with G.711 twins."""
    rate, channels, width, samples = read_wav(audio.wav)
    assert (rate, channels, width) == (8000, 1, 2)
    assert seconds[0] <= samples.size / 8000 <= seconds[1]
    assert audio.duration == pytest.approx(samples.size / 8000)
    assert rms(samples) > 300  # speech or a tone, not silence
    for codec, path in ((Codec.PCMU, audio.ulaw), (Codec.PCMA, audio.alaw)):
        codes = path.read_bytes()
        assert len(codes) == samples.size
        assert audio.encoded(codec) == path
        # Decoding the G.711 file gives the WAV back, within the codec's quantisation.
        back = decode(codes, codec).astype(np.float64)
        error = np.abs(back - samples) / np.maximum(np.abs(samples), 64)
        assert float(np.median(error)) < 0.05
    return samples


async def test_russian_text_is_spoken_to_an_8khz_prompt(library: PromptLibrary) -> None:
    audio = await library.tts("Здравствуйте! Вы позвонили на горячую линию.", "ru")
    assert_prompt(audio, seconds=(1.5, 8.0))
    assert audio.wav.parent == library.cache_dir / "tts"


async def test_english_text_is_spoken_to_an_8khz_prompt(library: PromptLibrary) -> None:
    audio = await library.tts("For English, press nine.", "en")
    assert_prompt(audio, seconds=(0.8, 5.0))


async def test_longer_text_makes_a_longer_prompt(library: PromptLibrary) -> None:
    short = await library.tts("Один.", "ru")
    long = await library.tts("Один. Два. Три. Четыре. Пять. Шесть. Семь. Восемь.", "ru")
    assert long.duration > 3 * short.duration


async def test_a_cached_prompt_is_returned_without_running_espeak_again(tmp_path: Path) -> None:
    first = await PromptLibrary(tmp_path).tts("Оставайтесь на линии.", "ru")
    # A new library on the same cache, whose espeak-ng cannot run: the files on disk are used.
    again = await PromptLibrary(tmp_path, espeak="/nonexistent/espeak-ng").tts(
        "Оставайтесь на линии.", "ru"
    )
    assert again == first
    with pytest.raises(PromptFailed, match="not installed"):
        await PromptLibrary(tmp_path, espeak="/nonexistent/espeak-ng").tts("Другой текст.", "ru")


async def test_the_same_text_in_another_voice_is_another_prompt(library: PromptLibrary) -> None:
    plain = await library.tts("Спасибо.", "ru")
    other = await library.tts("Спасибо.", "ru", voice="ru+f3")
    assert plain.wav != other.wav


async def test_concurrent_requests_for_one_prompt_share_the_work(library: PromptLibrary) -> None:
    results = await asyncio.gather(*(library.tts("Ждите ответа.", "ru") for _ in range(5)))
    assert len(set(results)) == 1
    assert len(list((library.cache_dir / "tts").iterdir())) == 3  # one .wav, .ul and .al


@pytest.mark.parametrize(
    ("text", "lang", "voice", "message"),
    [
        ("   ", "ru", None, "needs some text"),
        ("Hallo", "de", None, "no voice for language 'de'"),
        ("Hi", "en", "en; rm -rf", "not an espeak-ng voice"),
        ("x" * 2001, "en", None, "limited to 2000"),
    ],
)
async def test_bad_text_prompts_are_refused(
    library: PromptLibrary, text: str, lang: str, voice: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await library.tts(text, lang, voice=voice)


async def test_an_unknown_voice_is_reported_as_a_failure(library: PromptLibrary) -> None:
    with pytest.raises(PromptFailed, match="espeak-ng failed"):
        await library.tts("Hello", "en", voice="zz")


@pytest.mark.parametrize(
    ("filename", "container", "codec", "rate", "channels"),
    [
        ("greeting.wav", "wav", "pcm_s16le", 44100, 2),
        ("greeting.mp3", "mp3", "libmp3lame", 22050, 1),
        ("greeting.ogg", "ogg", "libopus", 48000, 2),
    ],
)
async def test_an_upload_is_decoded_and_resampled_to_8khz_mono(
    library: PromptLibrary, filename: str, container: str, codec: str, rate: int, channels: int
) -> None:
    data = encoded_file(container, codec, rate, 2.0, channels)
    audio = await library.decode_upload(data, filename)
    samples = assert_prompt(audio, seconds=(1.9, 2.2))
    # Still a 440 Hz tone after resampling: the strongest frequency of the spectrum.
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    peak = float(np.argmax(spectrum)) * 8000 / samples.size
    assert peak == pytest.approx(440, abs=5)
    assert audio.wav.parent == library.cache_dir / "uploads"


async def test_the_same_upload_twice_is_one_prompt(library: PromptLibrary) -> None:
    data = encoded_file("wav", "pcm_s16le", 16000, 0.5, 1)
    first = await library.decode_upload(data, "a.wav")
    second = await library.decode_upload(data, "b.WAV")
    assert first == second


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"RIFF....not really", "prompt.wav", "not a readable WAV file"),
        (b"just some words, no sound at all" * 10, "prompt.mp3", "not a readable MP3 file"),
        (b"OggS broken", "prompt.ogg", "not a readable OGG file"),
        (b"%PDF-1.4", "prompt.pdf", "upload a WAV, MP3 or OGG file"),
        (b"", "prompt.wav", "empty"),
    ],
)
async def test_a_file_that_is_not_audio_is_refused(
    library: PromptLibrary, data: bytes, filename: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await library.decode_upload(data, filename)


async def test_an_audio_file_without_a_single_sample_is_refused(library: PromptLibrary) -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as empty:  # a header and no samples
        empty.setnchannels(1)
        empty.setsampwidth(2)
        empty.setframerate(8000)
    data = buffer.getvalue()
    with pytest.raises(InvalidInput, match="no audio could be decoded"):
        await library.decode_upload(data, "silence.wav")


async def test_an_mp3_named_wav_is_refused_rather_than_guessed(library: PromptLibrary) -> None:
    data = encoded_file("mp3", "libmp3lame", 22050, 0.5, 1)
    with pytest.raises(InvalidInput, match="not a readable WAV file"):
        await library.decode_upload(data, "prompt.wav")


async def test_an_oversized_upload_is_refused_before_decoding(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path, max_upload_bytes=1024)
    with pytest.raises(InvalidInput, match="larger than"):
        await library.decode_upload(b"\0" * 2048, "big.wav")


async def test_an_upload_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path, max_seconds=1.0)
    data = encoded_file("wav", "pcm_s16le", 8000, 3.0, 1)
    with pytest.raises(InvalidInput, match="longer than 1 seconds"):
        await library.decode_upload(data, "long.wav")
    assert not (tmp_path / "uploads").exists()
