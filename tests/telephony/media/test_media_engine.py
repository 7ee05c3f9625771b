"""The local media engine with real worker processes and real RTP over UDP on 127.0.0.1.

One engine (two workers) serves the module; the crash test has its own. Timings are checked
loosely: speed is measured in bench/media.py."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from hotline.telephony.media import g711, rtp
from hotline.telephony.media.channel import socket_pair
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.media.engine import (
    CollectDone,
    DigitReceived,
    EndpointEnded,
    LocalMediaEngine,
    PlayDone,
    RtpTimeout,
    WorkerLost,
)
from hotline.telephony.media.errors import EndpointNotFound, MediaError, PromptUnavailable
from hotline.telephony.media.g711 import Codec
from hotline.telephony.media.peer import RtpPeer, read_pcap_rtp
from tests.telephony.media.support import (
    TE,
    Events,
    dominant_frequency,
    tone,
    write_wav,
)
from tests.telephony.media.support import (
    phone_leg as leg,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PCAPS = Path("/usr/share/sip-tester")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine() -> AsyncIterator[LocalMediaEngine]:
    config = MediaConfig(
        address="127.0.0.1", port_min=41000, port_max=41999, workers=2, rtcp_interval=0.4
    )
    async with LocalMediaEngine(config) as media:
        yield media


def sequence_steps(packets: list[rtp.RtpPacket]) -> set[int]:
    return {(b.sequence - a.sequence) & 0xFFFF for a, b in itertools.pairwise(packets)}


def timestamp_steps(packets: list[rtp.RtpPacket]) -> set[int]:
    return {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(packets)}


# ------------------------------------------------------------------------------- playback


async def test_playback_is_paced_20ms_frames_of_the_prompt(
    engine: LocalMediaEngine, events: Events, tmp_path: Path
) -> None:
    samples = tone(440, 1.0)
    info, peer = await leg(engine)
    play_id = await engine.play(info.endpoint_id, [write_wav(tmp_path / "hello.wav", samples)])
    assert await events.wait(lambda: bool(events.of(PlayDone, info.endpoint_id)), 5)
    await asyncio.sleep(0.05)
    packets = [r.packet for r in peer.received]
    arrivals = [r.arrival for r in peer.received]
    assert len(packets) == 50
    assert 0.8 < arrivals[-1] - arrivals[0] < 1.6  # paced, not sent in a burst
    assert {p.ssrc for p in packets} == {packets[0].ssrc}
    assert sequence_steps(packets) == {1}
    assert timestamp_steps(packets) == {160}
    assert packets[0].marker
    assert peer.audio(0) == g711.encode(samples, Codec.PCMU)
    (done,) = events.of(PlayDone, info.endpoint_id)
    assert done == PlayDone(info.endpoint_id, play_id, "finished")
    await engine.release(info.endpoint_id)
    peer.close()


async def test_prompts_of_every_format_play_in_order_in_the_leg_codec(
    engine: LocalMediaEngine, events: Events, tmp_path: Path
) -> None:
    first, second, third = tone(300, 0.2), tone(600, 0.2), tone(900, 0.2)
    ulaw = tmp_path / "second.ul"
    ulaw.write_bytes(g711.encode(second, Codec.PCMU))
    alaw = tmp_path / "third.al"
    alaw.write_bytes(g711.encode(third, Codec.PCMA))
    info, peer = await leg(engine, Codec.PCMA)
    await engine.play(info.endpoint_id, [write_wav(tmp_path / "first.wav", first), ulaw, alaw])
    assert await events.wait(lambda: bool(events.of(PlayDone, info.endpoint_id)), 5)
    await asyncio.sleep(0.05)
    expected = (
        g711.encode(first, Codec.PCMA)
        + g711.transcode(g711.encode(second, Codec.PCMU), Codec.PCMU, Codec.PCMA)
        + g711.encode(third, Codec.PCMA)
    )
    assert peer.audio(8) == expected
    await engine.release(info.endpoint_id)
    peer.close()


async def test_a_looped_prompt_plays_until_stopped(
    engine: LocalMediaEngine, events: Events, tmp_path: Path
) -> None:
    info, peer = await leg(engine)
    music = write_wav(tmp_path / "moh.wav", tone(500, 0.1))
    play_id = await engine.play(info.endpoint_id, [music], loop=True)
    assert await peer.wait_for(lambda: len(peer.received) >= 15, 3)  # 3 turns of 5 frames
    assert not events.of(PlayDone, info.endpoint_id)
    assert await engine.stop(info.endpoint_id)
    assert await events.wait(lambda: bool(events.of(PlayDone, info.endpoint_id)))
    assert events.of(PlayDone, info.endpoint_id) == [PlayDone(info.endpoint_id, play_id, "stopped")]
    await asyncio.sleep(0.05)  # what was sent before the stop is still arriving
    count = len(peer.received)
    await asyncio.sleep(0.15)
    assert len(peer.received) == count
    await engine.release(info.endpoint_id)
    peer.close()


async def test_a_missing_prompt_is_refused(engine: LocalMediaEngine, tmp_path: Path) -> None:
    info, peer = await leg(engine)
    with pytest.raises(PromptUnavailable):
        await engine.play(info.endpoint_id, [tmp_path / "nowhere.wav"])
    stereo = tmp_path / "stereo.wav"
    with wave.open(str(stereo), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00" * 64)
    with pytest.raises(PromptUnavailable, match="8 kHz mono"):
        await engine.play(info.endpoint_id, [stereo])
    await engine.release(info.endpoint_id)
    peer.close()


async def test_a_key_press_barges_in_on_a_prompt(
    engine: LocalMediaEngine, events: Events, tmp_path: Path
) -> None:
    info, peer = await leg(engine)
    greeting = write_wav(tmp_path / "greeting.wav", tone(400, 5.0))
    play_id = await engine.play(info.endpoint_id, [greeting], barge_in=True)
    collect_id = await engine.collect_digits(info.endpoint_id, max_digits=1)
    await asyncio.sleep(0.2)
    await peer.send_digits("3", TE)
    assert await events.wait(lambda: bool(events.of(CollectDone, info.endpoint_id)))
    assert events.of(PlayDone, info.endpoint_id) == [
        PlayDone(info.endpoint_id, play_id, "barge_in", "3")
    ]
    assert events.of(CollectDone, info.endpoint_id) == [
        CollectDone(info.endpoint_id, collect_id, "3", "max_digits")
    ]
    await asyncio.sleep(0.05)  # what was sent before the stop is still arriving
    count = len(peer.received)
    await asyncio.sleep(0.15)
    assert len(peer.received) == count
    await engine.release(info.endpoint_id)
    peer.close()


# --------------------------------------------------------------------------------- digits


async def test_digits_from_sipp_recordings_are_collected_up_to_the_terminator(
    engine: LocalMediaEngine, events: Events
) -> None:
    info, peer = await leg(engine)
    collect_id = await engine.collect_digits(info.endpoint_id, max_digits=10, terminators="#")
    for name in ("1", "2", "5", "pound"):
        await peer.replay(read_pcap_rtp(str(PCAPS / f"dtmf_2833_{name}.pcap")))
        await asyncio.sleep(0.05)
    assert await events.wait(lambda: bool(events.of(CollectDone, info.endpoint_id)))
    digits = [e.digit for e in events.of(DigitReceived, info.endpoint_id)]
    assert digits == ["1", "2", "5", "#"]
    assert events.of(CollectDone, info.endpoint_id) == [
        CollectDone(info.endpoint_id, collect_id, "125", "terminator", "#")
    ]
    await engine.release(info.endpoint_id)
    peer.close()


async def test_collection_ends_on_max_digits_then_on_inter_digit_timeout(
    engine: LocalMediaEngine, events: Events
) -> None:
    info, peer = await leg(engine)
    first = await engine.collect_digits(info.endpoint_id, max_digits=2)
    await peer.send_digits("42", TE)
    assert await events.wait(lambda: len(events.of(CollectDone, info.endpoint_id)) == 1)
    second = await engine.collect_digits(
        info.endpoint_id, max_digits=5, first_digit_timeout=2, inter_digit_timeout=0.3
    )
    await peer.send_digits("7", TE)
    assert await events.wait(lambda: len(events.of(CollectDone, info.endpoint_id)) == 2)
    assert events.of(CollectDone, info.endpoint_id) == [
        CollectDone(info.endpoint_id, first, "42", "max_digits"),
        CollectDone(info.endpoint_id, second, "7", "timeout"),
    ]
    await engine.release(info.endpoint_id)
    peer.close()


async def test_the_first_digit_clock_starts_when_the_prompt_ends(
    engine: LocalMediaEngine, events: Events, tmp_path: Path
) -> None:
    info, peer = await leg(engine)
    await engine.play(info.endpoint_id, [write_wav(tmp_path / "menu.wav", tone(300, 0.6))])
    await engine.collect_digits(info.endpoint_id, first_digit_timeout=0.3)
    await asyncio.sleep(0.45)  # past the timeout, but the prompt is still playing
    assert not events.of(CollectDone, info.endpoint_id)
    assert await events.wait(lambda: bool(events.of(CollectDone, info.endpoint_id)), 3)
    (done,) = events.of(CollectDone, info.endpoint_id)
    assert done.reason == "timeout"
    await engine.release(info.endpoint_id)
    peer.close()


async def test_digits_sent_to_a_leg_arrive_as_rfc4733_events(engine: LocalMediaEngine) -> None:
    info, peer = await leg(engine)
    await engine.send_digits(info.endpoint_id, "9*", duration_ms=60)
    assert await peer.wait_for(lambda: len(peer.received) >= 10, 3)  # 2 + 3 ends per key
    from hotline.telephony.media.dtmf import DtmfReceiver

    receiver = DtmfReceiver()
    found = []
    for received in peer.received:
        assert received.packet.payload_type == TE
        press = receiver.feed(received.packet.timestamp, received.packet.payload)
        if press:
            found.append(press.digit)
    assert found == ["9", "*"]
    await engine.release(info.endpoint_id)
    peer.close()


# --------------------------------------------------------------------------------- bridge


async def test_a_bridge_relays_both_ways_restamped_and_transcoded(
    engine: LocalMediaEngine, events: Events
) -> None:
    caller, caller_peer = await leg(engine, Codec.PCMA, group="bridge-1")
    agent, agent_peer = await leg(engine, Codec.PCMU, group="bridge-1")
    await engine.bridge(caller.endpoint_id, agent.endpoint_id)
    speech = read_pcap_rtp(str(PCAPS / "g711a.pcap"))[:40]  # 1.2 s of PCMA, 30 ms packets
    agent_voice = g711.encode(tone(1000, 0.6), Codec.PCMU)
    await asyncio.gather(caller_peer.replay(speech), agent_peer.send_audio(agent_voice, 0))
    await agent_peer.send_digits("5", TE)
    await asyncio.sleep(0.1)

    # the agent hears the caller in u-law, as one stream of our own
    heard = [r.packet for r in agent_peer.received if r.packet.payload_type == 0]
    sent = [rtp.parse_rtp(d) for _, d in speech]
    assert len(heard) == 40
    assert {p.ssrc for p in heard} == {heard[0].ssrc} != {sent[0].ssrc}
    assert sequence_steps(heard) == {1}
    assert timestamp_steps(heard) == {240}
    assert heard[0].timestamp != sent[0].timestamp
    caller_linear = g711.decode(b"".join(p.payload for p in sent), Codec.PCMA).astype(np.int32)
    agent_linear = g711.decode(b"".join(p.payload for p in heard), Codec.PCMU).astype(np.int32)
    assert np.all(np.abs(caller_linear - agent_linear) <= np.abs(caller_linear) // 16 + 16)

    # the caller hears the agent in A-law, and the agent's key press with its own event type
    assert caller_peer.audio(8) == g711.transcode(agent_voice, Codec.PCMU, Codec.PCMA)
    assert any(r.packet.payload_type == TE for r in caller_peer.received)
    assert [e.digit for e in events.of(DigitReceived, agent.endpoint_id)] == ["5"]
    for info in (caller, agent):
        await engine.release(info.endpoint_id)
    caller_peer.close()
    agent_peer.close()


async def test_a_leg_sees_one_stream_from_prompt_to_bridge(
    engine: LocalMediaEngine, events: Events, tmp_path: Path
) -> None:
    caller, caller_peer = await leg(engine, group="bridge-2")
    agent, agent_peer = await leg(engine, group="bridge-2")
    await engine.play(caller.endpoint_id, [write_wav(tmp_path / "wait.wav", tone(350, 0.3))])
    assert await events.wait(lambda: bool(events.of(PlayDone, caller.endpoint_id)))
    await engine.bridge(caller.endpoint_id, agent.endpoint_id)
    await agent_peer.send_audio(g711.encode(tone(800, 0.3), Codec.PCMU), 0)
    await asyncio.sleep(0.1)
    packets = [r.packet for r in caller_peer.received]
    assert len(packets) == 30
    assert {p.ssrc for p in packets} == {packets[0].ssrc}
    assert sequence_steps(packets) == {1}
    step = (packets[15].timestamp - packets[14].timestamp) & 0xFFFFFFFF
    assert 160 <= step < 160 + 8000  # moves forward by the time between prompt and agent
    assert packets[15].marker
    for info in (caller, agent):
        await engine.release(info.endpoint_id)
    caller_peer.close()
    agent_peer.close()


async def test_legs_on_different_workers_are_bridged_through_a_trunk(
    engine: LocalMediaEngine, events: Events
) -> None:
    caller, caller_peer = await leg(engine, Codec.PCMA, group="across-1")
    agent, agent_peer = await leg(engine, Codec.PCMU, group="across-2")
    assert caller.worker != agent.worker  # least loaded placement spreads the groups
    before = {w.worker: w.endpoints for w in engine.load()}
    await engine.bridge(caller.endpoint_id, agent.endpoint_id)
    caller_voice = g711.encode(tone(600, 0.6), Codec.PCMA)
    agent_voice = g711.encode(tone(1100, 0.6), Codec.PCMU)
    await asyncio.gather(
        caller_peer.send_audio(caller_voice, 8), agent_peer.send_audio(agent_voice, 0)
    )
    await caller_peer.send_digits("8", TE)
    await asyncio.sleep(0.1)

    heard = [r.packet for r in agent_peer.received if r.packet.payload_type == 0]
    assert b"".join(p.payload for p in heard) == g711.transcode(
        caller_voice, Codec.PCMA, Codec.PCMU
    )
    assert sequence_steps(heard) == {1}
    assert timestamp_steps(heard) == {160}
    assert caller_peer.audio(8) == g711.transcode(agent_voice, Codec.PCMU, Codec.PCMA)
    assert any(r.packet.payload_type == TE for r in agent_peer.received)
    # the trunk's own endpoints stay out of sight
    digits = [e for e in events.of(DigitReceived) if e.digit == "8"]
    assert digits == [DigitReceived(caller.endpoint_id, "8")]

    await engine.unbridge(agent.endpoint_id)
    assert {w.worker: w.endpoints for w in engine.load()} == before
    count = len(agent_peer.received)
    await caller_peer.send_audio(caller_voice[:800], 8)
    await asyncio.sleep(0.05)
    assert len(agent_peer.received) == count
    for info in (caller, agent):
        await engine.release(info.endpoint_id)
    caller_peer.close()
    agent_peer.close()


# ------------------------------------------------------------------------------ recording


async def test_a_recording_has_the_caller_left_and_the_agent_right(
    engine: LocalMediaEngine, tmp_path: Path
) -> None:
    caller, caller_peer = await leg(engine, Codec.PCMA, group="rec")
    agent, agent_peer = await leg(engine, Codec.PCMU, group="rec")
    await engine.bridge(caller.endpoint_id, agent.endpoint_id)
    path = tmp_path / "contact.wav"
    await engine.record_start(caller.endpoint_id, path)
    await asyncio.gather(
        caller_peer.send_audio(g711.encode(tone(440, 1.2), Codec.PCMA), 8),
        agent_peer.send_audio(g711.encode(tone(1300, 1.2), Codec.PCMU), 0),
    )
    recording = await engine.record_stop(caller.endpoint_id)
    assert recording.path == str(path)
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        frames = wav.getnframes()
        audio = np.frombuffer(wav.readframes(frames), dtype="<i2").reshape(-1, 2)
    assert abs(frames / 8000 - recording.seconds) < 0.01
    assert 1.0 < recording.seconds < 2.5
    left, right = audio[:, 0], audio[:, 1]
    assert abs(dominant_frequency(left) - 440) < 15
    assert abs(dominant_frequency(right) - 1300) < 15
    assert np.abs(left).max() > 6000
    assert np.abs(right).max() > 6000
    for info in (caller, agent):
        await engine.release(info.endpoint_id)
    caller_peer.close()
    agent_peer.close()


# -------------------------------------------------------------------------------- quality


async def test_release_reports_the_packets_the_peer_dropped(engine: LocalMediaEngine) -> None:
    info, peer = await leg(engine)
    audio = g711.encode(tone(500, 2.0), Codec.PCMU)  # 100 frames
    await peer.send_audio(audio, 0, drop=lambda i: i % 10 == 5)
    await asyncio.sleep(0.05)
    quality = await engine.release(info.endpoint_id)
    assert quality is not None
    assert quality.packets_received == 90
    assert quality.packets_lost == 10
    assert quality.loss_fraction == pytest.approx(0.10, abs=0.001)
    peer.close()


async def test_jitter_reflects_irregular_arrival(engine: LocalMediaEngine) -> None:
    steady, steady_peer = await leg(engine)
    shaky, shaky_peer = await leg(engine)
    audio = g711.encode(tone(500, 1.6), Codec.PCMU)
    await asyncio.gather(
        steady_peer.send_audio(audio, 0),
        shaky_peer.send_audio(audio, 0, jitter_ms=lambda i: 30.0 if i % 2 else 0.0),
    )
    await asyncio.sleep(0.05)
    calm = await engine.release(steady.endpoint_id)
    rough = await engine.release(shaky.endpoint_id)
    assert calm is not None
    assert rough is not None
    assert rough.jitter_ms > 15  # converges towards 30 ms
    assert calm.jitter_ms < rough.jitter_ms / 2
    steady_peer.close()
    shaky_peer.close()


async def test_rtcp_reports_flow_both_ways(engine: LocalMediaEngine) -> None:
    info, peer = await leg(engine)
    audio = g711.encode(tone(500, 1.0), Codec.PCMU)
    await peer.send_audio(audio, 0, drop=lambda i: i % 5 == 0)
    assert await peer.wait_for(lambda: bool(peer.rtcp_received), 3)
    reports = [p for c in peer.rtcp_received for p in c if isinstance(p, rtp.RtcpReport)]
    blocks = [b for r in reports for b in r.blocks if b.ssrc == peer.ssrc]
    assert blocks
    assert blocks[-1].cumulative_lost > 0
    # the peer reports back what it got from us: 25% lost
    endpoint_ssrc = reports[0].ssrc
    receiver_report = rtp.RtcpReport(
        peer.ssrc, None, (rtp.ReportBlock(endpoint_ssrc, 0.25, 12, 1000, 80, 0, 0),)
    )
    assert peer._rtcp is not None
    peer._rtcp.sendto(rtp.build_compound(receiver_report, "peer"), (info.address, info.rtcp_port))
    await asyncio.sleep(0.1)
    quality = await engine.release(info.endpoint_id)
    assert quality is not None
    assert quality.remote_loss_fraction == 0.25
    assert quality.remote_packets_lost == 12
    assert quality.remote_jitter_ms == 10.0
    peer.close()


async def test_rtp_timeout_is_reported_once(engine: LocalMediaEngine, events: Events) -> None:
    info, peer = await leg(engine, rtp_timeout=0.4)
    await peer.send_audio(g711.encode(tone(500, 0.2), Codec.PCMU), 0)
    assert await events.wait(lambda: bool(events.of(RtpTimeout, info.endpoint_id)), 3)
    await asyncio.sleep(0.6)
    assert len(events.of(RtpTimeout, info.endpoint_id)) == 1
    await engine.release(info.endpoint_id)
    peer.close()


async def test_a_leg_on_hold_gets_no_rtp_timeout(engine: LocalMediaEngine, events: Events) -> None:
    info, peer = await leg(engine, rtp_timeout=0.3)
    await engine.set_remote(
        info.endpoint_id,
        address=peer.address[0],
        port=peer.address[1],
        codec=Codec.PCMU,
        rtp_timeout=0,
    )
    await asyncio.sleep(0.8)
    assert not events.of(RtpTimeout, info.endpoint_id)
    await engine.release(info.endpoint_id)
    peer.close()


async def test_media_goes_back_where_the_peer_sends_from(
    engine: LocalMediaEngine, events: Events, tmp_path: Path
) -> None:
    info = await engine.allocate()
    peer = await RtpPeer.open()
    peer.target = (info.address, info.port)
    # the SDP named another port (a phone behind NAT): the endpoint latches onto the real source
    await engine.set_remote(info.endpoint_id, address="127.0.0.1", port=9, codec=Codec.PCMU)
    await peer.send_audio(g711.encode(tone(500, 0.1), Codec.PCMU), 0)
    await engine.play(info.endpoint_id, [write_wav(tmp_path / "beep.wav", tone(900, 0.1))])
    assert await peer.wait_for(lambda: len(peer.received) == 5, 3)
    assert {r.source for r in peer.received} == {(info.address, info.port)}
    await engine.release(info.endpoint_id)
    peer.close()


async def test_a_remote_the_media_address_cannot_reach_is_refused(
    engine: LocalMediaEngine,
) -> None:
    info = await engine.allocate()
    with pytest.raises(MediaError, match="not reachable"):
        await engine.set_remote(info.endpoint_id, address="::1", port=4000, codec=Codec.PCMU)
    with pytest.raises(MediaError, match="not an IP address"):
        await engine.set_remote(
            info.endpoint_id, address="phone.example", port=4000, codec=Codec.PCMU
        )
    await engine.release(info.endpoint_id)


async def test_released_endpoints_are_gone(engine: LocalMediaEngine) -> None:
    info = await engine.allocate()
    assert await engine.release(info.endpoint_id) is not None
    assert await engine.release(info.endpoint_id) is None
    with pytest.raises(EndpointNotFound):
        await engine.stop(info.endpoint_id)


# ------------------------------------------------------------------------------- failures


async def test_a_killed_worker_ends_its_calls_and_is_restarted() -> None:
    config = MediaConfig(port_min=42000, port_max=42099, workers=1, heartbeat_interval=0.5)
    async with LocalMediaEngine(config) as media:
        log = Events()
        media.subscribe(log)
        first = await media.allocate()
        second = await media.allocate()
        pid = media.worker_pid(0)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert await log.wait(lambda: bool(log.of(WorkerLost)), 5)
        ended = log.of(EndpointEnded)
        assert {e.endpoint_id for e in ended} == {first.endpoint_id, second.endpoint_id}
        assert {e.reason for e in ended} == {"media worker lost"}
        (lost,) = log.of(WorkerLost)
        assert lost.exit_code == -signal.SIGKILL
        assert await log.wait(lambda: media.load()[0].alive, 10)
        assert media.worker_pid(0) != pid
        assert await media.release(first.endpoint_id) is None
        again = await media.allocate()
        assert again.port >= 42000
        assert await media.release(again.endpoint_id) is not None


async def test_a_worker_that_stops_answering_is_killed_and_replaced() -> None:
    config = MediaConfig(port_min=42100, port_max=42199, workers=1, heartbeat_interval=0.2)
    async with LocalMediaEngine(config) as media:
        log = Events()
        media.subscribe(log)
        endpoint = await media.allocate()
        pid = media.worker_pid(0)
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # alive, but its loop no longer runs
        assert await log.wait(lambda: bool(log.of(WorkerLost)), 5)
        assert log.of(EndpointEnded) == [EndpointEnded(endpoint.endpoint_id, "media worker lost")]
        assert await log.wait(lambda: media.load()[0].alive, 10)
        assert media.worker_pid(0) != pid


async def test_closing_the_engine_finishes_open_recordings(tmp_path: Path) -> None:
    config = MediaConfig(port_min=42300, port_max=42399, workers=1)
    media = LocalMediaEngine(config)
    await media.start()
    info = await media.allocate()
    peer = await RtpPeer.open()
    peer.target = (info.address, info.port)
    await media.set_remote(
        info.endpoint_id, address=peer.address[0], port=peer.address[1], codec=Codec.PCMU
    )
    path = tmp_path / "cut-short.wav"
    await media.record_start(info.endpoint_id, path)
    await peer.send_audio(g711.encode(tone(700, 0.5), Codec.PCMU), 0)
    await media.close()  # no record_stop, no release: the worker finishes the file itself
    peer.close()
    with wave.open(str(path), "rb") as wav:
        frames = wav.getnframes()
        audio = np.frombuffer(wav.readframes(frames), dtype="<i2").reshape(-1, 2)
    assert frames == len(audio) >= 4000
    assert abs(dominant_frequency(audio[:, 0]) - 700) < 15


async def test_a_worker_leaves_when_its_control_process_is_gone() -> None:
    ours, theirs = socket_pair()
    config = MediaConfig(port_min=42400, port_max=42499, workers=1)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.telephony.media.worker",
        "--control-fd",
        str(theirs.fileno()),
        "--index",
        "0",
        "--config",
        json.dumps(config.as_dict()),
        pass_fds=(theirs.fileno(),),
    )
    theirs.close()
    ours.setblocking(False)
    loop = asyncio.get_running_loop()
    ready = await asyncio.wait_for(loop.sock_recv(ours, 4096), 10)
    assert b'"ready"' in ready
    ours.close()  # the control process is gone
    assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_a_lost_worker_frees_the_trunk_end_left_on_the_other_worker() -> None:
    config = MediaConfig(port_min=42500, port_max=42699, workers=2)
    async with LocalMediaEngine(config) as media:
        log = Events()
        media.subscribe(log)
        caller = await media.allocate(group="one")
        agent = await media.allocate(group="two")
        assert caller.worker != agent.worker
        await media.bridge(caller.endpoint_id, agent.endpoint_id)
        assert sum(w.endpoints for w in media.load()) == 4  # two legs, two trunk ends
        pid = media.worker_pid(agent.worker)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert await log.wait(lambda: bool(log.of(WorkerLost)), 5)
        assert log.of(EndpointEnded) == [EndpointEnded(agent.endpoint_id, "media worker lost")]
        assert await log.wait(lambda: media.load()[caller.worker].endpoints == 1, 5)
        assert await media.release(caller.endpoint_id) is not None
