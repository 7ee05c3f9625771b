"""What browser-softphone calls cost the media workers, and whether any audio is lost.

Each call is a browser peer (aiortc over WebRTC: ICE, DTLS-SRTP, PCMU unless told otherwise)
bridged by the real engine to an RTP peer (a G.711 phone), both sending 20 ms frames for the
whole run. The peers live in `--peer-processes` processes of their own, so the workers' CPU
(read from the workers themselves) is the media cost alone; the browser peers carry their media
the way the worker does (pre-encoded, never decoded), so they stay cheap too. A baseline run
then bridges the same number of phone-to-phone calls (two plain RTP legs), so that the cost of
one browser leg is the browser call's cost less one phone leg's. Each run first measures the
workers with no call (their 5 ms pacers tick all the same) and counts only what the calls add.
Everything stays on 127.0.0.1.

Loss is counted per direction from what each side sent and what the other side received;
jitter is RFC 3550's interarrival jitter as each receiving peer saw it. The last line printed
is a JSON object of the figures.

    .venv/bin/python bench/webrtc_legs.py [--calls 20] [--seconds 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotline.telephony.media import g711  # noqa: E402
from hotline.telephony.media.config import MediaConfig  # noqa: E402
from hotline.telephony.media.engine import EndpointEnded, LocalMediaEngine, MediaEvent  # noqa: E402
from hotline.telephony.media.g711 import Codec  # noqa: E402
from hotline.telephony.media.stats import ReceiveStats  # noqa: E402

HOST = "127.0.0.1"
WEBRTC = "webrtc"
RTP = "rtp"


def tone(frequency: float, seconds: float, codec: Codec) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return g711.encode((6000 * np.sin(2 * np.pi * frequency * t)).astype(np.int16), codec)


# ---------------------------------------------------------------------------- peer process


def _received(log: Any, payload_type: int) -> tuple[int, float]:
    """Audio packets received and the RFC 3550 jitter (ms) of that stream."""
    stats = ReceiveStats(8000)
    count = 0
    for item in log.received:
        packet = item.packet
        if packet.payload_type == payload_type:
            count += 1
            stats.update(packet.ssrc, packet.sequence, packet.timestamp, item.arrival, 160)
    return count, stats.jitter_ms()


async def _peers(conn: Connection, mode: str, calls: int, codec: str) -> None:
    """One process's share of the calls: each an agent (a browser, or a phone in the baseline)
    and a caller's phone; set up with the control process, then both talk for the run."""
    from hotline.telephony.media.browser_peer import BrowserPeer
    from hotline.telephony.media.peer import RtpPeer

    law = Codec(codec) if mode == WEBRTC else Codec.PCMU
    phones = [await RtpPeer.open(HOST) for _ in range(calls)]
    agents: list[Any]
    if mode == WEBRTC:
        agents = [BrowserPeer(codecs=(codec, "telephone-event"), light=True) for _ in phones]
        requests = [
            {"offer": await a.offer(), "phone": p.address}
            for a, p in zip(agents, phones, strict=True)
        ]
    else:
        agents = [await RtpPeer.open(HOST) for _ in phones]
        requests = [
            {"agent": a.address, "phone": p.address} for a, p in zip(agents, phones, strict=True)
        ]
    conn.send(requests)
    for agent, phone, reply in zip(agents, phones, conn.recv(), strict=True):
        phone.target = tuple(reply["phone"])
        if mode == WEBRTC:
            await agent.accept(reply["answer"])
        else:
            agent.target = tuple(reply["agent"])
    if mode == WEBRTC:
        connected = sum(await asyncio.gather(*(a.connected(20) for a in agents)))
        await asyncio.sleep(1.0)  # both ends settled (the browser side connects a little earlier)
    else:
        connected = calls
    conn.send(connected)
    seconds = conn.recv()
    loop = asyncio.get_running_loop()
    cpu_start = time.process_time()
    speech = tone(440, 1.0, law) * int(seconds + 1)
    caller = tone(1000, 1.0, Codec.PCMU) * int(seconds + 1)
    agent_pt = law.static_payload_type
    tasks = []
    for agent, phone in zip(agents, phones, strict=True):
        await asyncio.sleep(0.02 / calls)  # callers' frames spread over the 20 ms, as in life
        if mode == WEBRTC:
            tasks.append(loop.create_task(agent.send_audio(speech)))
        else:
            tasks.append(loop.create_task(agent.send_audio(speech, agent_pt)))
        tasks.append(loop.create_task(phone.send_audio(caller, 0)))
    await asyncio.gather(*tasks)
    await asyncio.sleep(0.5)  # the last frames on their way
    cpu = time.process_time() - cpu_start
    figures = []
    for agent, phone in zip(agents, phones, strict=True):
        pt = agent.payload_type(codec) if mode == WEBRTC else agent_pt
        to_agent, agent_jitter = _received(agent, pt)
        to_phone, phone_jitter = _received(phone, 0)
        figures.append(
            {
                "phone_sent": phone.sent,
                "agent_received": to_agent,
                "agent_sent": agent.sent,
                "phone_received": to_phone,
                "agent_jitter_ms": agent_jitter,
                "phone_jitter_ms": phone_jitter,
            }
        )
    conn.send({"calls": figures, "cpu_seconds": cpu})
    conn.recv()  # the engine has released the endpoints
    for agent in agents:
        if mode == WEBRTC:
            await agent.close()
        else:
            agent.close()
    for phone in phones:
        phone.close()


def _peer_process(conn: Connection, mode: str, calls: int, codec: str) -> None:
    import uvloop

    uvloop.run(_peers(conn, mode, calls, codec))


# --------------------------------------------------------------------------------- control


async def _set_up(engine: LocalMediaEngine, conn: Connection, mode: str) -> list[str]:
    """Give one peer process's calls their legs, each pair bridged on one worker."""
    replies, endpoints = [], []
    for request in conn.recv():
        group = f"call-{os.urandom(4).hex()}"
        reply: dict[str, Any] = {}
        if mode == WEBRTC:
            agent, reply["answer"] = await engine.allocate_webrtc(request["offer"], group=group)
        else:
            agent = await engine.allocate(group=group)
            await _point(engine, agent.endpoint_id, request["agent"])
            reply["agent"] = (agent.address, agent.port)
        phone = await engine.allocate(group=group)
        await _point(engine, phone.endpoint_id, request["phone"])
        reply["phone"] = (phone.address, phone.port)
        await engine.bridge(agent.endpoint_id, phone.endpoint_id)
        replies.append(reply)
        endpoints += [agent.endpoint_id, phone.endpoint_id]
    conn.send(replies)
    return endpoints


async def _point(engine: LocalMediaEngine, endpoint_id: str, address: list[Any]) -> None:
    await engine.set_remote(
        endpoint_id, address=address[0], port=address[1], codec=Codec.PCMU, telephone_event_pt=101
    )


def _cpu(stats: list[dict[str, Any]]) -> dict[int, float]:
    return {s["worker"]: s["cpu_seconds"] for s in stats}


async def measure(options: argparse.Namespace, mode: str) -> dict[str, Any]:
    """One run of `options.calls` calls of one kind; its figures."""
    config = MediaConfig(
        address=HOST, port_min=46000, port_max=47999, workers=options.workers, rtp_timeout=0
    )
    processes = max(1, min(options.peer_processes, options.calls))
    shares = [
        options.calls // processes + (i < options.calls % processes) for i in range(processes)
    ]
    context = multiprocessing.get_context("spawn")
    ended: list[str] = []

    def on_event(event: MediaEvent) -> None:
        if isinstance(event, EndpointEnded):
            ended.append(event.reason)

    async with LocalMediaEngine(config) as engine:
        engine.subscribe(on_event)
        # what the workers cost with no call at all (their pacers tick all the same)
        idle_start = _cpu(await engine.worker_stats())
        idle_started = time.monotonic()
        await asyncio.sleep(options.warmup)
        idle_end = _cpu(await engine.worker_stats())
        idle = 100 * sum(idle_end[w] - idle_start[w] for w in idle_end)
        idle /= time.monotonic() - idle_started
        links, children = [], []
        for share in shares:
            parent, child = context.Pipe()
            process = context.Process(
                target=_peer_process, args=(child, mode, share, options.codec)
            )
            process.start()
            links.append(parent)
            children.append(process)
        endpoints: list[str] = []
        for link in links:
            endpoints += await _set_up(engine, link, mode)
        connected = 0
        for link in links:
            connected += await asyncio.to_thread(link.recv)
        for link in links:
            link.send(options.seconds)
        await asyncio.sleep(options.warmup)
        before = _cpu(await engine.worker_stats())
        started = time.monotonic()
        await asyncio.sleep(options.seconds - options.warmup - 0.5)
        after = _cpu(await engine.worker_stats())
        window = time.monotonic() - started
        results = [await asyncio.to_thread(link.recv) for link in links]
        lost_seen = 0
        for endpoint_id in endpoints:
            quality = await engine.release(endpoint_id)
            lost_seen += 0 if quality is None else quality.packets_lost
        for link in links:
            link.send("done")
        for process in children:
            await asyncio.to_thread(process.join, 30)

    calls = [c for r in results for c in r["calls"]]
    total_cpu = 100 * sum(after[w] - before[w] for w in after) / window

    def direction(sent: str, received: str, jitter: str) -> dict[str, Any]:
        count_sent = sum(c[sent] for c in calls)
        count_received = sum(c[received] for c in calls)
        return {
            "sent": count_sent,
            "received": count_received,
            "lost": count_sent - count_received,
            "max_jitter_ms": round(max((c[jitter] for c in calls), default=0.0), 2),
        }

    return {
        "connected": connected,
        "worker_cpu_percent": {w: round(100 * (after[w] - before[w]) / window, 1) for w in after},
        "idle_cpu_percent": round(idle, 2),
        "cpu_percent_per_call": round((total_cpu - idle) / options.calls, 3),
        "caller_to_agent": direction("phone_sent", "agent_received", "agent_jitter_ms"),
        "agent_to_caller": direction("agent_sent", "phone_received", "phone_jitter_ms"),
        "lost_as_the_worker_saw_it": lost_seen,
        "ended": len(ended),
        "peer_cpu_percent": round(
            100 * sum(r["cpu_seconds"] for r in results) / (options.seconds + 1), 1
        ),
    }


async def run(options: argparse.Namespace) -> dict[str, Any]:
    browser_calls = await measure(options, WEBRTC)
    print(json.dumps({"webrtc": browser_calls}), file=sys.stderr)
    summary: dict[str, Any] = {
        "bench": "webrtc_legs",
        "calls": options.calls,
        "codec": options.codec,
        "workers": options.workers,
        "seconds": options.seconds,
        "webrtc": browser_calls,
    }
    if options.baseline:
        phone_calls = await measure(options, RTP)
        summary["rtp_baseline"] = phone_calls
        per_leg = browser_calls["cpu_percent_per_call"] - phone_calls["cpu_percent_per_call"] / 2
        summary["cpu_percent_per_browser_leg"] = round(per_leg, 3)
        summary["browser_legs_per_core_estimate"] = round(100 / per_leg) if per_leg > 0 else None
    per_call = browser_calls["cpu_percent_per_call"]
    summary["browser_calls_per_core_estimate"] = round(100 / per_call) if per_call > 0 else None
    summary["no_audio_loss"] = (
        browser_calls["caller_to_agent"]["lost"] == 0
        and browser_calls["agent_to_caller"]["lost"] == 0
        and browser_calls["connected"] == options.calls
    )
    summary["load_average_1min"] = round(os.getloadavg()[0], 2)
    summary["cpu_count"] = os.cpu_count()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--peer-processes", type=int, default=2)
    parser.add_argument("--codec", choices=["PCMU", "PCMA"], default="PCMU")
    parser.add_argument(
        "--no-baseline", dest="baseline", action="store_false", help="skip the phone-only run"
    )
    options = parser.parse_args()
    summary = asyncio.run(run(options))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
