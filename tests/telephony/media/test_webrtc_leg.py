"""The WebRTC leg with a real WebRTC peer: aiortc playing the browser, on 127.0.0.1 only.

The browser peer runs aiortc's own media stack (its sender, its receiver and decoder), so what
it gets shows how a real WebRTC implementation takes the worker's SRTP stream; the phone is the
plain RTP peer. Both this process's aiortc and the workers' gather candidates on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import itertools
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from hotline.telephony.media import dtmf, g711, rtp
from hotline.telephony.media.browser_peer import BrowserPeer
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.media.engine import (
    CollectDone,
    DigitReceived,
    EndpointEnded,
    EndpointInfo,
    LegKind,
    LocalMediaEngine,
    PlayDone,
)
from hotline.telephony.media.errors import MediaError, WebRtcOfferRejected
from hotline.telephony.media.g711 import Codec
from hotline.telephony.media.peer import RtpPeer
from hotline.telephony.media.webrtc import keep_candidates
from tests.telephony.media.support import (
    TE,
    Events,
    dominant_frequency,
    phone_leg,
    tone,
    write_wav,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

Peer = BrowserPeer | RtpPeer


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[LocalMediaEngine]:
    config = MediaConfig(
        address="127.0.0.1",
        port_min=44000,
        port_max=44999,
        workers=2,
        rtcp_interval=0.4,
        webrtc_connect_timeout=3.0,
    )
    async with LocalMediaEngine(config) as media:
        yield media


async def browser_leg(
    engine: LocalMediaEngine,
    codecs: tuple[str, ...] = ("PCMU", "PCMA", "telephone-event"),
    *,
    group: str = "contact",
) -> tuple[EndpointInfo, BrowserPeer]:
    """A browser connected to a new WebRTC endpoint."""
    browser = BrowserPeer(codecs=codecs)
    info, answer = await engine.allocate_webrtc(await browser.offer(), group=group)
    await browser.accept(answer)
    assert await browser.connected()
    return info, browser


def candidates(sdp: str) -> list[str]:
    return [line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")]


def rtpmaps(sdp: str) -> list[str]:
    return [line.split()[1] for line in sdp.splitlines() if line.startswith("a=rtpmap:")]


def events_pressed(packets: list[rtp.RtpPacket]) -> str:
    """The keys in a run of telephone-event packets, one per event start."""
    keys = []
    for _, group in itertools.groupby(packets, key=lambda p: p.timestamp):
        digit = dtmf.parse_event(next(group).payload).digit
        keys.append(digit or "?")
    return "".join(keys)


async def bridged_call(
    engine: LocalMediaEngine,
    group: str,
    codecs: tuple[str, ...] = ("PCMU", "PCMA", "telephone-event"),
    law: Codec = Codec.PCMU,
) -> tuple[EndpointInfo, BrowserPeer, EndpointInfo, RtpPeer]:
    """A browser and a phone of the caller's law, bridged."""
    browser_info, browser = await browser_leg(engine, codecs, group=group)
    phone_info, phone = await phone_leg(engine, law, group=group)
    await engine.bridge(browser_info.endpoint_id, phone_info.endpoint_id)
    return browser_info, browser, phone_info, phone


async def hang_up(engine: LocalMediaEngine, *legs: tuple[EndpointInfo, Peer]) -> None:
    """Release the endpoints and close their peers."""
    for info, peer in legs:
        await engine.release(info.endpoint_id)
        if isinstance(peer, BrowserPeer):
            await peer.close()
        else:
            peer.close()


# ---------------------------------------------------------------------------- negotiation


async def test_the_answer_is_pcmu_with_key_events_and_a_candidate_of_the_media_address_only(
    engine: LocalMediaEngine,
) -> None:
    browser = BrowserPeer()
    offer = await browser.offer()
    info, answer = await engine.allocate_webrtc(offer, group="negotiation")
    assert rtpmaps(answer) == ["PCMU/8000", "telephone-event/8000"]
    assert set(candidates(offer)) == {"127.0.0.1"}
    assert candidates(answer) == ["127.0.0.1"]
    assert f"127.0.0.1 {info.port} typ host" in answer
    assert (info.kind, info.address, info.rtcp_port) == (LegKind.WEBRTC, "127.0.0.1", info.port)
    assert info.codec is Codec.PCMU
    await browser.accept(answer)
    assert await browser.connected()
    await hang_up(engine, (info, browser))


async def test_a_browser_offering_only_pcma_is_answered_in_pcma_without_key_events(
    engine: LocalMediaEngine,
) -> None:
    browser = BrowserPeer(codecs=("PCMA",))
    info, answer = await engine.allocate_webrtc(await browser.offer())
    assert rtpmaps(answer) == ["PCMA/8000"]
    assert info.codec is Codec.PCMA
    await hang_up(engine, (info, browser))


@pytest.mark.parametrize(("codecs", "reason"), [(("opus",), "no G.711"), (("G722",), "no G.711")])
async def test_an_offer_without_g711_is_rejected(
    engine: LocalMediaEngine, codecs: tuple[str, ...], reason: str
) -> None:
    browser = BrowserPeer(codecs=codecs)
    with pytest.raises(WebRtcOfferRejected, match=reason):
        await engine.allocate_webrtc(await browser.offer())
    await browser.close()
    assert all(load.endpoints == 0 for load in engine.load())


async def test_an_offer_that_is_not_sdp_is_rejected(engine: LocalMediaEngine) -> None:
    with pytest.raises(WebRtcOfferRejected):
        await engine.allocate_webrtc("v=0\r\nm=audio nonsense\r\n")


async def test_candidates_of_other_addresses_are_dropped_from_the_offer() -> None:
    offer = "\r\n".join(
        [
            "v=0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 0",
            "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0",
            "a=candidate:2 1 udp 2122260223 192.0.2.7 50001 typ host",
            "a=candidate:3 1 udp 2122260223 4a1b2c3d-1111.local 50002 typ host",
            "a=candidate:4 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
            "a=candidate:5 1 udp 1686052607 203.0.113.9 50003 typ srflx raddr 127.0.0.1 rport 1",
            "a=candidate:6 1 udp",
            "a=end-of-candidates",
        ]
    )
    kept = keep_candidates(offer, "127.0.0.1")
    assert kept.splitlines() == [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 0",
        "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0",
        "a=end-of-candidates",
    ]


# ---------------------------------------------------------------------------------- audio


async def test_audio_is_relayed_both_ways_as_it_came_between_a_browser_and_a_phone(
    engine: LocalMediaEngine,
) -> None:
    browser_info, browser, phone_info, phone = await bridged_call(engine, "both-ways")
    caller = g711.encode(tone(1000, 1.0), Codec.PCMU)
    agent = g711.encode(tone(440, 1.0), Codec.PCMU)
    await asyncio.gather(phone.send_audio(caller, 0), browser.send_audio(agent))
    assert await browser.wait_for(lambda: len(browser.audio(0)) == len(caller), 3)
    assert await phone.wait_for(lambda: len(phone.audio(0)) == len(agent), 3)
    # the payloads went through untouched: no decoding, no encoding
    assert browser.audio(0) == caller
    assert phone.audio(0) == agent
    # ... as one well-formed stream that aiortc's receiver decodes
    packets = [r.packet for r in browser.received]
    assert len({p.ssrc for p in packets}) == 1
    assert {(b.sequence - a.sequence) & 0xFFFF for a, b in itertools.pairwise(packets)} == {1}
    assert {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(packets)} == {
        160
    }
    assert await browser.wait_for(lambda: len(browser.samples) >= 2 * 4000, 3)
    assert dominant_frequency(np.frombuffer(bytes(browser.samples), "<i2")) == pytest.approx(
        1000, abs=10
    )
    await hang_up(engine, (browser_info, browser), (phone_info, phone))


async def test_a_pcma_browser_and_a_pcmu_phone_hear_each_other_transcoded_by_table(
    engine: LocalMediaEngine,
) -> None:
    browser_info, browser, phone_info, phone = await bridged_call(engine, "laws", ("PCMA",))
    caller = g711.encode(tone(1000, 0.6), Codec.PCMU)
    agent = g711.encode(tone(440, 0.6), Codec.PCMA)
    await asyncio.gather(phone.send_audio(caller, 0), browser.send_audio(agent))
    assert await browser.wait_for(lambda: len(browser.audio(8)) == len(caller), 3)
    assert await phone.wait_for(lambda: len(phone.audio(0)) == len(agent), 3)
    assert browser.audio(8) == g711.transcode(caller, Codec.PCMU, Codec.PCMA)
    assert phone.audio(0) == g711.transcode(agent, Codec.PCMA, Codec.PCMU)
    await hang_up(engine, (browser_info, browser), (phone_info, phone))


async def test_prompts_play_to_a_browser_leg(
    engine: LocalMediaEngine, events: Events, tmp_path: Path
) -> None:
    info, browser = await browser_leg(engine, group="prompt")
    samples = tone(600, 0.5)
    play_id = await engine.play(info.endpoint_id, [write_wav(tmp_path / "hello.wav", samples)])
    assert await events.wait(lambda: bool(events.of(PlayDone, info.endpoint_id)))
    assert events.of(PlayDone, info.endpoint_id) == [
        PlayDone(info.endpoint_id, play_id, "finished")
    ]
    assert await browser.wait_for(lambda: len(browser.audio(0)) == 4000, 3)
    assert browser.audio(0) == g711.encode(samples, Codec.PCMU)
    await hang_up(engine, (info, browser))


# ---------------------------------------------------------------------------------- keys


async def test_keys_pressed_in_the_browser_are_collected_and_reach_the_phone_as_events(
    engine: LocalMediaEngine, events: Events
) -> None:
    browser_info, browser, phone_info, phone = await bridged_call(engine, "keys")
    collect_id = await engine.collect_digits(
        browser_info.endpoint_id, max_digits=5, terminators="#"
    )
    await browser.send_digits("47#")
    assert await events.wait(lambda: bool(events.of(CollectDone, browser_info.endpoint_id)))
    assert events.of(CollectDone, browser_info.endpoint_id) == [
        CollectDone(browser_info.endpoint_id, collect_id, "47", "terminator", "#")
    ]
    assert [e.digit for e in events.of(DigitReceived, browser_info.endpoint_id)] == list("47#")
    relayed = lambda: [r.packet for r in phone.received if r.packet.payload_type == TE]  # noqa: E731
    assert await phone.wait_for(lambda: events_pressed(relayed()) == "47#", 3)
    await hang_up(engine, (browser_info, browser), (phone_info, phone))


async def test_keys_pressed_through_the_api_count_as_the_browser_s_and_reach_the_phone(
    engine: LocalMediaEngine, events: Events
) -> None:
    browser_info, browser, phone_info, phone = await bridged_call(engine, "api-keys")
    collect_id = await engine.collect_digits(browser_info.endpoint_id, max_digits=2)
    await engine.press_digits(browser_info.endpoint_id, "59")
    assert await events.wait(lambda: bool(events.of(CollectDone, browser_info.endpoint_id)))
    assert events.of(CollectDone, browser_info.endpoint_id) == [
        CollectDone(browser_info.endpoint_id, collect_id, "59", "max_digits")
    ]
    relayed = lambda: [r.packet for r in phone.received if r.packet.payload_type == TE]  # noqa: E731
    assert await phone.wait_for(lambda: events_pressed(relayed()) == "59", 3)
    with pytest.raises(MediaError):
        await engine.press_digits(browser_info.endpoint_id, "5x")
    await hang_up(engine, (browser_info, browser), (phone_info, phone))


async def test_keys_sent_to_a_browser_arrive_as_events_on_its_stream(
    engine: LocalMediaEngine,
) -> None:
    info, browser = await browser_leg(engine, group="keys-out")
    await engine.send_digits(info.endpoint_id, "3")
    pt = browser.payload_type("telephone-event")
    assert await browser.wait_for(
        lambda: any(r.packet.payload_type == pt for r in browser.received), 3
    )
    keys = [r.packet for r in browser.received if r.packet.payload_type == pt]
    assert events_pressed(keys) == "3"
    await hang_up(engine, (info, browser))


# ---------------------------------------------------------------------- across calls


async def test_a_browser_leg_is_bridged_call_after_call_and_hears_nothing_in_between(
    engine: LocalMediaEngine,
) -> None:
    # the agent's leg lives in a group of its own; each call's phone leg in the call's group,
    # so with two workers some bridges go through a trunk between workers
    agent_info, browser = await browser_leg(engine, group="agent-7")
    first_info, first = await phone_leg(engine, group="call-1")
    second_info, second = await phone_leg(engine, group="call-2")
    first_audio = g711.encode(tone(1000, 0.4), Codec.PCMU)
    second_audio = g711.encode(tone(700, 0.4), Codec.PCMU)

    await engine.bridge(agent_info.endpoint_id, first_info.endpoint_id)
    await first.send_audio(first_audio, 0)
    assert await browser.wait_for(lambda: len(browser.audio(0)) == len(first_audio), 3)
    await engine.unbridge(agent_info.endpoint_id)
    first_call = await engine.quality(agent_info.endpoint_id)  # a snapshot; the leg lives on
    assert first_call.packets_sent == len(first_audio) // 160
    heard = len(browser.received)
    await first.send_audio(first_audio, 0)  # the caller talks on, to nobody
    await asyncio.sleep(0.1)
    assert len(browser.received) == heard  # no stale audio, nothing at all while unbridged

    await engine.bridge(agent_info.endpoint_id, second_info.endpoint_id)
    agent_audio = g711.encode(tone(440, 0.4), Codec.PCMU)
    await asyncio.gather(second.send_audio(second_audio, 0), browser.send_audio(agent_audio))
    assert await browser.wait_for(
        lambda: len(browser.audio(0)) == len(first_audio) + len(second_audio), 3
    )
    assert browser.audio(0) == first_audio + second_audio
    assert await second.wait_for(lambda: len(second.audio(0)) == len(agent_audio), 3)
    assert first.audio(0) == b""  # the first caller never heard the agent's later words

    await engine.bridge(agent_info.endpoint_id, first_info.endpoint_id)  # and back again
    await first.send_audio(first_audio, 0)
    assert await browser.wait_for(lambda: len(browser.audio(0)) == 3 * len(first_audio), 3)
    whole = await engine.quality(agent_info.endpoint_id)
    assert whole.packets_sent - first_call.packets_sent == 2 * len(first_audio) // 160
    assert whole.packets_received - first_call.packets_received == len(agent_audio) // 160

    packets = [r.packet for r in browser.received]
    assert len({p.ssrc for p in packets}) == 1  # one stream for the leg's whole life
    assert {(b.sequence - a.sequence) & 0xFFFF for a, b in itertools.pairwise(packets)} == {1}
    pauses = [(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(packets)]
    assert max(pauses) > 8 * 160  # its clock ran on through the pause between calls
    await hang_up(engine, (agent_info, browser), (first_info, first), (second_info, second))


# --------------------------------------------------------------- recording and quality


async def test_a_recording_of_a_browser_call_has_the_caller_left_and_the_agent_right(
    engine: LocalMediaEngine, tmp_path: Path
) -> None:
    browser_info, browser, phone_info, phone = await bridged_call(engine, "recorded")
    path = tmp_path / "call.wav"
    await engine.record_start(phone_info.endpoint_id, path)
    await asyncio.gather(
        phone.send_audio(g711.encode(tone(1000, 1.0), Codec.PCMU), 0),
        browser.send_audio(g711.encode(tone(440, 1.0), Codec.PCMU)),
    )
    await asyncio.sleep(0.1)
    recording = await engine.record_stop(phone_info.endpoint_id)
    with wave.open(recording.path) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert dominant_frequency(stereo[:, 0]) == pytest.approx(1000, abs=10)
    assert dominant_frequency(stereo[:, 1]) == pytest.approx(440, abs=10)
    await hang_up(engine, (browser_info, browser), (phone_info, phone))


async def test_release_reports_what_the_browser_leg_carried_and_how_the_browser_saw_it(
    engine: LocalMediaEngine,
) -> None:
    browser_info, browser, phone_info, phone = await bridged_call(engine, "quality")
    await asyncio.gather(
        phone.send_audio(g711.encode(tone(1000, 2.0), Codec.PCMU), 0),
        browser.send_audio(g711.encode(tone(440, 2.0), Codec.PCMU)),
    )
    await asyncio.sleep(0.2)
    quality = await engine.release(browser_info.endpoint_id)
    assert quality is not None
    assert quality.packets_received == browser.sent == 100
    assert quality.packets_sent == phone.sent == 100
    assert (quality.packets_lost, quality.streams) == (0, 1)
    # aiortc's receiver reported on our stream in RTCP, through SRTCP
    assert quality.remote_packets_lost == 0
    assert quality.remote_loss_fraction == 0.0
    await hang_up(engine, (phone_info, phone))
    await browser.close()


# ------------------------------------------------------------------------------ endings


async def test_a_browser_that_goes_away_ends_its_leg(
    engine: LocalMediaEngine, events: Events
) -> None:
    browser_info, browser, phone_info, phone = await bridged_call(engine, "goes-away")
    await browser.send_audio(g711.encode(tone(440, 0.2), Codec.PCMU))
    await browser.close()
    assert await events.wait(lambda: bool(events.of(EndpointEnded, browser_info.endpoint_id)))
    assert events.of(EndpointEnded, browser_info.endpoint_id) == [
        EndpointEnded(browser_info.endpoint_id, "webrtc connection closed")
    ]
    quality = await engine.release(browser_info.endpoint_id)  # still there for its figures
    assert quality is not None
    assert quality.packets_received == 10
    await hang_up(engine, (phone_info, phone))


async def test_a_browser_that_never_connects_is_ended_after_the_connect_timeout(
    engine: LocalMediaEngine, events: Events
) -> None:
    browser = BrowserPeer()
    info, _ = await engine.allocate_webrtc(await browser.offer(), group="silent")
    assert await events.wait(lambda: bool(events.of(EndpointEnded, info.endpoint_id)), 6)
    assert events.of(EndpointEnded, info.endpoint_id) == [
        EndpointEnded(info.endpoint_id, "webrtc connect timeout")
    ]
    assert await engine.release(info.endpoint_id) is not None
    await browser.close()


async def test_a_browser_leg_is_not_told_its_far_end_nor_allocated_without_an_offer(
    engine: LocalMediaEngine,
) -> None:
    info, browser = await browser_leg(engine, group="refusals")
    with pytest.raises(MediaError, match="SDP offer"):
        await engine.set_remote(info.endpoint_id, address="127.0.0.1", port=9, codec=Codec.PCMU)
    with pytest.raises(MediaError, match="allocate_webrtc"):
        await engine.allocate(kind=LegKind.WEBRTC)
    await hang_up(engine, (info, browser))
