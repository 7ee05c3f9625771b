"""A whole Hotline under SIP load: SIPp callers and agents' phones against `hotline serve`.

Hotline runs as operators run it: `hotline init --file` (a bench configuration: one line whose IVR
menu sends key 1 to a queue of agents and key 2 to a queue nobody serves, and enough agents),
`hotline ivr publish`, then `hotline serve` as a subprocess with a fresh data directory and SQLite,
SIP and RTP on 127.0.0.1 only, on explicit ports. The peers are SIPp (Debian's sip-tester), also on
127.0.0.1 with explicit ports (control socket included, `-ci`):

- agents' phones: every agent REGISTERs with digest, with the SIP password `hotline init` printed,
  from one port; one SIPp UAS on that port then answers each agent's calls after a short ring and
  echoes the RTP it gets (`-rtp_echo`), so what Hotline relays to an agent comes back to it;
- callers: SIPp UACs dialling the line. Each plays one RTP stream (G.711 A-law speech from SIPp's
  `g711a.pcap` with the RFC 4733 key press from its `dtmf_2833_*.pcap`, rebuilt by this bench into
  one pcap with continuous sequence numbers and timestamps), presses 1 (talk: bridged to an agent)
  or 2 (hold: waits in the queue hearing announcements and music), stays, and hangs up;
- listeners: a few of the holding callers send only their key and echo what Hotline plays them,
  so the audio callers hear comes back to Hotline and is measured there;
- probes: OPTIONS (10/s) and a digest REGISTER (2/s) from their own ports while every stage runs,
  each response time recorded (`-trace_rtt`).

Stages, each bounded in calls and time: idle (probes only); a ramp of concurrent calls (half
bridged, half holding; set up at --ramp-rate, 10/s, then held --hold, 30 s), stopping at the first
level with a failed call; sustained call setups (--rate 50/s for --duration 60 s, each call lasting
--call-seconds 6 after its answer); overload: max_calls + 10 % calls at 100/s, the surplus of which
must be refused with 503 and Retry-After. Figures: SIPp's counts and setup times (INVITE to 200);
CPU and memory of the control process and each media worker, SIPp, and the machine (kernel softirq
apart) from /proc; RTP loss and jitter as Hotline's media workers measured them on each leg (RFC
3550; SIPp 3.6 computes neither), read back with `hotline contacts --json`; Hotline's log errors.
Everything started is stopped on exit (process groups). A per-second timeline of each stage is
written to <work dir>/<stage>/timeline.csv (kept with --keep or when the bench fails). The last
line printed is a JSON object of the figures. See docs/capacity.md.

    .venv/bin/python bench/sip_load.py --quick            # small levels, about 1.5 minutes
    .venv/bin/python bench/sip_load.py                    # 100/200/300/500 calls, 50 setups/s 60 s
    .venv/bin/python bench/sip_load.py --duration 600     # the issue's 10 minutes of 50 setups/s
    .venv/bin/python bench/sip_load.py --postgres postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = Path(__file__).resolve().parent / "sip_load"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SIPP_PCAPS = Path("/usr/share/sip-tester")
LOOPBACK = "127.0.0.1"
DIALLED = "74950001122"  # the bench line's number, as a carrier sends it
CALLERS = {  # caller number -> kind (the bench tells its callers apart in `hotline contacts`)
    "79990000001": "talk",
    "79990000002": "hold",
    "79990000003": "listen",
    "79990000004": "overload",
}
NUMBER = {kind: number for number, kind in CALLERS.items()}
TARGET_CONCURRENT = 500
TARGET_CPS = 50.0
TARGET_P99_MS = 50.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
REGISTER_EXPIRES = 3600  # what register.xml asks for; the bench must end before it runs out

# ------------------------------------------------------------------------------- processes


def _lower_priority(nice: int) -> None:
    """In the child, after `setsid`: lower its priority by `nice`. With the kernel's autogroup
    scheduling (`/proc/sys/kernel/sched_autogroup_enabled`, on by default in Debian), every session
    is a scheduling group of its own, shares the CPU equally with the others, and a process's nice
    value counts only inside its group: `os.nice` alone changes nothing for a process alone in its
    new session. So the group's nice value is set too (sched(7), "The autogroup feature")."""
    os.nice(nice)
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:
        group.write(str(nice))


class Processes:
    """Every process the bench starts, each in its own process group (session), so that it and
    whatever it started (hotline serve's media workers) are stopped together, by group id."""

    def __init__(self) -> None:
        self.live: list[subprocess.Popen[bytes]] = []

    def start(
        self, args: list[str], *, cwd: Path, log: Path | None = None, nice: int = 0
    ) -> subprocess.Popen:
        """Start `args` in its own session; `nice` > 0 lowers its scheduling priority (the load
        generator's, so that on a shared machine it yields the CPU to the node it measures)."""
        out: Any = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            process = subprocess.Popen(
                args,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=clean_environment(),
                preexec_fn=(lambda: _lower_priority(nice)) if nice > 0 else None,  # noqa: PLW1509
            )
        finally:
            if log is not None:
                out.close()
        self.live.append(process)
        return process

    def stop(
        self, process: subprocess.Popen, *, sig: int = signal.SIGTERM, grace: float = 5.0
    ) -> None:
        """Signal the process (it stops its own children: hotline serve its media workers), wait
        `grace`, then kill its whole process group, stragglers included."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if process in self.live:
            self.live.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.live)):
            self.stop(process, grace=3.0)


def clean_environment() -> dict[str, str]:
    """The environment without HOTLINE_* variables: they would override the bench's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}


def port_free(port: int, *, tcp: bool = False) -> bool:
    kinds = [socket.SOCK_DGRAM, socket.SOCK_STREAM] if tcp else [socket.SOCK_DGRAM]
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as probe:
            if kind == socket.SOCK_STREAM:  # as servers bind: TIME-WAIT leftovers do not count
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                return False
    return True


# ------------------------------------------------------------------------------------ /proc


def proc_ticks(pid: int) -> int | None:
    """utime + stime of a process, in clock ticks (None once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def machine_ticks() -> tuple[int, int, int]:
    """(busy, total, softirq) clock ticks of the whole machine, from /proc/stat. Softirq is
    mostly the kernel carrying packets (loopback UDP included), which no process is billed for."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values), values[6]


def udp_sockets() -> dict[int, tuple[int, int]]:
    """Every UDP socket on the machine: inode -> (local port, packets the kernel dropped because
    its receive buffer was full), from /proc/net/udp."""
    found: dict[int, tuple[int, int]] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            fields = line.split()
            with contextlib.suppress(IndexError, ValueError):
                found[int(fields[9])] = (int(fields[1].split(":")[1], 16), int(fields[12]))
    return found


@dataclass
class Sample:
    at: float
    ticks: dict[int, int]
    machine: tuple[int, int, int]
    health: dict[str, Any] | None
    rss: dict[int, int]
    sipp_calls: int = 0  # calls in progress as the SIPp callers count them


class Monitor:
    """Samples, once a second: the health API of Hotline, and the CPU ticks and memory of the
    control process, its media workers and every SIPp process, and of the whole machine."""

    def __init__(self, hotline: HotlineServer, sipps: list[Sipp]) -> None:
        self.hotline = hotline
        self.sipps = sipps
        self.samples: list[Sample] = []
        self.udp_last: dict[int, tuple[int, int]] = {}
        self.poller = HealthPoller(hotline)
        self.poller.start()

    def sample(self) -> Sample:
        pids = {self.hotline.pid: "control"}
        for worker in self.hotline.worker_pids():
            pids[worker] = "worker"
        for sipp in self.sipps:
            pids[sipp.process.pid] = f"sipp:{sipp.name}"
        ticks = {}
        rss = {}
        for pid in pids:
            value = proc_ticks(pid)
            if value is not None:
                ticks[pid] = value
                rss[pid] = proc_rss(pid)
        health = self.poller.latest(max_age=3.0)
        sipp_calls = sum(s.current_calls() for s in self.sipps if s.kind not in ("", "probe"))
        sample = Sample(time.monotonic(), ticks, machine_ticks(), health, rss, sipp_calls)
        self.samples.append(sample)
        for inode, (port, drops) in udp_sockets().items():
            self.udp_last[inode] = (port, drops)
        return sample

    def udp_mark(self) -> dict[int, int]:
        """The drop counters now, to count a stage's drops from (sockets seen from now on)."""
        now = udp_sockets()
        self.udp_last = dict(now)
        return {inode: drops for inode, (_, drops) in now.items()}

    def udp_drops(self, since: dict[int, int], ports: dict[str, set[int]]) -> dict[str, int]:
        """Packets the kernel dropped (receive buffer full) since `since`, by kind of socket
        (`ports`: kind -> local ports), sockets opened and closed meanwhile included."""
        found = dict.fromkeys(ports, 0)
        for inode, (port, drops) in self.udp_last.items():
            for kind, wanted in ports.items():
                if port in wanted:
                    found[kind] += max(0, drops - since.get(inode, 0))
        return found

    def window(self, start: float, end: float) -> dict[str, Any]:
        """CPU (% of one core) of each process over [start, end], its peak over any 5 s inside,
        the peak memory, and the machine's busy share."""
        inside = [s for s in self.samples if start <= s.at <= end]
        if len(inside) < 2:
            return {}
        first, last = inside[0], inside[-1]
        span = last.at - first.at
        names = {self.hotline.pid: "control"}
        workers = sorted(
            {p for s in inside for p in s.ticks if p != self.hotline.pid and p in self._workers()}
        )
        for index, pid in enumerate(workers):
            names[pid] = f"worker{index}"
        for sipp in self.sipps:
            names[sipp.process.pid] = f"sipp:{sipp.name}"

        def share(pid: int, a: Sample, b: Sample) -> float | None:
            if pid not in a.ticks or pid not in b.ticks or b.at <= a.at:
                return None
            return 100.0 * (b.ticks[pid] - a.ticks[pid]) / CLK_TCK / (b.at - a.at)

        cpu: dict[str, float] = {}
        peak: dict[str, float] = {}
        memory: dict[str, int] = {}
        for pid, name in names.items():
            present = [s for s in inside if pid in s.ticks]
            if len(present) < 2:
                continue
            value = share(pid, present[0], present[-1])
            if value is None:
                continue
            cpu[name] = round(value, 1)
            best = value
            for i, a in enumerate(present):
                for b in present[i + 1 :]:
                    if b.at - a.at >= 5.0:
                        best = max(best, share(pid, a, b) or 0.0)
                        break
            peak[name] = round(best, 1)
            memory[name] = max(s.rss.get(pid, 0) for s in present)
        busy = last.machine[0] - first.machine[0]
        total = last.machine[1] - first.machine[1]
        softirq = last.machine[2] - first.machine[2]
        sipp_total = sum(v for k, v in cpu.items() if k.startswith("sipp:"))
        return {
            "seconds": round(span, 1),
            "cpu_percent": cpu,
            "cpu_peak_5s_percent": peak,
            "rss_mb": {k: round(v / 2**20, 1) for k, v in memory.items()},
            "sipp_cpu_percent_total": round(sipp_total, 1),
            "machine_busy_percent": round(100.0 * busy / total, 1) if total else None,
            "kernel_softirq_percent": round(100.0 * softirq / total, 1) if total else None,
            "cores": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }

    def timeline(self, path: Path, start: float, end: float) -> None:
        """The samples of [start, end] as CSV, one row a second: what Hotline had in progress
        and what each process used (% of one core) since the previous sample."""
        inside = [s for s in self.samples if start <= s.at <= end]
        pids = sorted({p for s in inside for p in s.ticks})
        names = {self.hotline.pid: "control"}
        for index, pid in enumerate(sorted(p for p in pids if p in self.hotline.seen_workers)):
            names[pid] = f"worker{index}"
        for sipp in self.sipps:
            names[sipp.process.pid] = f"sipp:{sipp.name}"
        columns = [names[p] for p in pids if p in names]
        rows = [["t", "inbound_calls", "agents_busy", "media_endpoints", "machine_busy",
                 "softirq", *columns]]  # fmt: skip
        for a, b in zip(inside, inside[1:], strict=False):
            span = b.at - a.at
            total = (b.machine[1] - a.machine[1]) or 1
            row: list[Any] = [round(b.at - start, 1)]
            row += [health_value(b.health, w) if b.health else "" for w in ("inbound", "busy")]
            row.append(health_value(b.health, "endpoints") if b.health else "")
            row.append(round(100.0 * (b.machine[0] - a.machine[0]) / total, 1))
            row.append(round(100.0 * (b.machine[2] - a.machine[2]) / total, 1))
            for pid in pids:
                if pid not in names:
                    continue
                if pid in a.ticks and pid in b.ticks and span > 0:
                    row.append(round(100.0 * (b.ticks[pid] - a.ticks[pid]) / CLK_TCK / span, 1))
                else:
                    row.append("")
            rows.append(row)
        with open(path, "w", newline="") as out:
            csv.writer(out).writerows(rows)

    def _workers(self) -> set[int]:
        return set(self.hotline.seen_workers)

    def peak(self, start: float, end: float, what: str) -> int:
        values = [0]
        for s in self.samples:
            if start <= s.at <= end:
                if what == "sipp_calls":
                    values.append(s.sipp_calls)
                elif s.health is not None:
                    values.append(health_value(s.health, what))
        return max(values)


class HealthPoller(threading.Thread):
    """Polls Hotline's /api/v1/health twice a second in the background (a slow answer under load
    must not stall the sampling), keeping the latest answer and every response time."""

    def __init__(self, hotline: HotlineServer) -> None:
        super().__init__(daemon=True, name="health-poller")
        self.hotline = hotline
        self.stopped = threading.Event()
        self.answer: tuple[float, dict[str, Any]] | None = None
        self.times: list[tuple[float, float | None]] = []  # (when, seconds or None: no answer)
        self.collector: list[tuple[float, dict[str, Any]]] = []  # (when, health's "gc")

    def run(self) -> None:
        while not self.stopped.is_set():
            started = time.monotonic()
            health = self.hotline.health(timeout=10)
            took = time.monotonic() - started
            self.times.append((started, took if health is not None else None))
            if health is not None:
                self.answer = (time.monotonic(), health)
                if "gc" in health:
                    self.collector.append((started, health["gc"]))
            self.stopped.wait(max(0.0, 0.5 - took))

    def latest(self, max_age: float) -> dict[str, Any] | None:
        answer = self.answer
        if answer is None or time.monotonic() - answer[0] > max_age:
            return None
        return answer[1]

    def response_times(self, start: float, end: float) -> dict[str, Any]:
        inside = [t for when, t in self.times if start <= when <= end]
        answered = sorted(t * 1000 for t in inside if t is not None)
        return {
            "requests": len(inside),
            "unanswered": sum(1 for t in inside if t is None),
            "p50_ms": round(percentile(answered, 0.5), 1) if answered else None,
            "p99_ms": round(percentile(answered, 0.99), 1) if answered else None,
        }

    def collector_window(self, start: float, end: float) -> dict[str, Any]:
        """Hotline's garbage collector over a stage: passes and pause time between its first
        and last health answers in the stage, and the longest pause since Hotline started."""
        inside = [g for when, g in self.collector if start <= when <= end]
        if len(inside) < 2:
            return {}
        first, last = inside[0], inside[-1]
        return {
            "passes": [b - a for a, b in zip(first["passes"], last["passes"], strict=True)],
            "pause_ms": round(last["total_pause_ms"] - first["total_pause_ms"], 1),
            "longest_pause_ms_since_start": last["longest_pause_ms"],
        }


def health_value(health: dict[str, Any], what: str) -> int:
    if what == "inbound":
        return int(health.get("sip", {}).get("calls_in_progress", 0))
    if what == "busy":
        agents = health.get("agents", {})
        return int(agents.get("busy", 0))
    if what == "endpoints":
        return sum(int(w.get("endpoints", 0)) for w in health.get("media_workers", []))
    if what == "rejected_503":
        return int(health.get("sip", {}).get("overload_rejections", 0))
    raise ValueError(what)


# -------------------------------------------------------------------------------- the pcaps


def _pcap_rtp(path: Path) -> list[bytes]:
    """The RTP packets of an Ethernet/IPv4/UDP pcap (as SIPp's recordings are)."""
    data = path.read_bytes()
    if struct.unpack("<I", data[:4])[0] != 0xA1B2C3D4 or struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit(f"{path}: not a little-endian Ethernet pcap")
    packets = []
    offset = 24
    while offset + 16 <= len(data):
        length = struct.unpack("<I", data[offset + 8 : offset + 12])[0]
        frame = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        ihl = (frame[14] & 0x0F) * 4
        packets.append(frame[14 + ihl + 8 :])
    return packets


def build_caller_pcap(
    path: Path, *, seconds: float, digit: str, key_at: float = 1.0, speech: bool = True
) -> int:
    """One caller's RTP as a pcap SIPp plays (`play_pcap_audio`): 20 ms PCMA frames of the speech
    in SIPp's g711a.pcap, looped, with the key `digit` pressed at `key_at` s as RFC 4733 events
    shaped like SIPp's dtmf_2833 recordings (7 packets, the end sent three times), all in one
    stream: one SSRC, sequence numbers and timestamps that run on. `speech=False` makes only the
    key press (the listeners). Returns the number of packets."""
    audio = b"".join(p[12:] for p in _pcap_rtp(SIPP_PCAPS / "g711a.pcap") if p[1] & 0x7F == 8)
    template = _pcap_rtp(
        SIPP_PCAPS / f"dtmf_2833_{ {'*': 'star', '#': 'pound'}.get(digit, digit) }.pcap"
    )
    event = template[0][12]  # the event code, as SIPp recorded it
    ssrc, seq, ts = random.getrandbits(32), random.getrandbits(15), random.getrandbits(31)
    rtp: list[tuple[float, bytes]] = []
    frames = int(seconds * 50)
    key_frame = int(key_at * 50)
    position, marker, i = 0, 0x80, 0
    while i < frames:
        if i == key_frame:
            start = ts
            for n in range(7):
                end = n == 6
                payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, 160 * (n + 1))
                header = struct.pack(
                    "!BBHII", 0x80, (0x80 if n == 0 else 0) | 101, seq, start, ssrc
                )
                for _ in range(3 if end else 1):
                    rtp.append((i * 0.02, header + payload))
                seq = (seq + 1) & 0xFFFF
                ts = (ts + 160) & 0xFFFFFFFF
                i += 1
            marker = 0x80
            continue
        if speech:
            chunk = audio[position : position + 160]
            if len(chunk) < 160:
                position, chunk = 0, audio[:160]
            position += 160
            rtp.append((i * 0.02, struct.pack("!BBHII", 0x80, marker | 8, seq, ts, ssrc) + chunk))
            marker = 0
            seq = (seq + 1) & 0xFFFF
        ts = (ts + 160) & 0xFFFFFFFF
        i += 1
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    loopback = socket.inet_aton(LOOPBACK)
    for when, packet in rtp:
        udp_length = 8 + len(packet)
        ip = bytearray(
            struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + udp_length, 0, 0x4000, 64, 17, 0, loopback, loopback
            )
        )
        total = sum(struct.unpack("!10H", bytes(ip)))
        total = (total & 0xFFFF) + (total >> 16)
        struct.pack_into("!H", ip, 10, ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF)
        frame = (
            bytes(12) + b"\x08\x00" + bytes(ip) + struct.pack("!HHHH", 5000, 2006, udp_length, 0)
        )
        frame += packet
        sec = int(when)
        out.append(struct.pack("<IIII", sec, round((when - sec) * 1e6), len(frame), len(frame)))
        out.append(frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(out))
    return len(rtp)


# ---------------------------------------------------------------------------------- SIPp


@dataclass
class Sipp:
    name: str
    kind: str
    workdir: Path
    process: subprocess.Popen
    calls: int
    started: float
    media_port: int = 0
    echo: bool = False
    _column: int | None = None

    def stats(self) -> dict[str, str]:
        rows = self.stat_rows()
        return rows[-1] if rows else {}

    def current_calls(self) -> int:
        """Calls in progress now, from the last row of SIPp's statistics file (-fd 1)."""
        path = self.workdir / "stats.csv"
        try:
            with open(path, "rb") as stats:
                if self._column is None:
                    header = stats.readline().decode(errors="replace").strip().split(";")
                    self._column = header.index("CurrentCall") if "CurrentCall" in header else -1
                stats.seek(0, os.SEEK_END)
                stats.seek(max(0, stats.tell() - 8192))
                last = stats.read().decode(errors="replace").strip().rsplit("\n", 1)[-1]
            if self._column < 0:
                return 0
            return int(last.split(";")[self._column])
        except (OSError, ValueError, IndexError):
            return 0

    def stat_rows(self) -> list[dict[str, str]]:
        path = self.workdir / "stats.csv"
        if not path.exists():
            return []
        rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
        return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]] if rows else []

    def count(self, name: str) -> int:
        value = self.stats().get(f"{name}(C)", "0") or "0"
        return int(value)

    def times(self, rtd: int = 1) -> list[float]:
        """Response times (ms) of rtd `rtd`, from -trace_rtt."""
        return sorted(took for _, took in self.responses(rtd))

    def responses(self, rtd: int = 1) -> list[tuple[float, float]]:
        """(when, ms): each response of rtd `rtd` (when: monotonic seconds, from SIPp's
        milliseconds since its start) and its response time."""
        found = []
        for path in self.workdir.glob("*_rtt.csv"):
            for row in csv.DictReader(path.read_text(errors="replace").splitlines(), delimiter=";"):
                with contextlib.suppress(KeyError, ValueError, TypeError):
                    if int(row["rtd_no"]) == rtd:
                        when = self.started + float(row["Date_ms"]) / 1000
                        found.append((when, float(row["response_time_ms"])))
        return found

    def errors(self, limit: int = 1500) -> str:
        text = ""
        for path in self.workdir.glob("*_errors.log"):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")
        lines = [
            line
            for line in text.splitlines()
            if line.strip() and "prefers looking for pcap files" not in line
        ]
        return "\n".join(lines)[-limit:]

    def logs(self) -> str:
        text = ""
        for path in self.workdir.glob("*_logs.log"):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")
        return text


def failure_reasons(errors: str) -> dict[str, int]:
    """Why SIPp failed calls, counted from its error log."""
    reasons: dict[str, int] = {}
    # One entry per event, each starting with SIPp's date and a tab (entries are not always
    # separated by a new line).
    for line in re.split(r"(?=\d{4}-\d{2}-\d{2}\t\d)", errors):
        if "Aborting call" not in line and "timeout" not in line:
            continue  # "Dead call": a late retransmission for a call already over, not a failure
        if "unexpected BYE" in line:
            reason = "Hotline hung up (BYE)"
        elif match := re.search(r"received 'SIP/2\.0 (\d{3}[^\n']*)", line):
            reason = f"Hotline answered {match.group(1).strip()}"
        elif "timeout" in line.lower():
            reason = "timeout"
        else:
            reason = line.split(": ", 1)[-1][:80]
        reasons[reason] = reasons.get(reason, 0) + 1
    return reasons


def percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def leg_summary(legs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """RTP figures per kind of leg (name -> each leg's `quality` figures from `hotline contacts
    --json`): packets, loss, legs with loss or silent, jitter percentiles."""
    summary: dict[str, Any] = {}
    for name, figures in sorted(legs.items()):
        expected = sum(f["packets_expected"] for f in figures)
        lost = sum(max(0, f["packets_lost"]) for f in figures)
        jitter = sorted(f["jitter_ms"] for f in figures)
        peak = sorted(f["max_jitter_ms"] for f in figures)
        summary[name] = {
            "legs": len(figures),
            "packets_received": sum(f["packets_received"] for f in figures),
            "packets_expected": expected,
            "packets_lost": lost,
            "loss_percent": round(100.0 * lost / expected, 4) if expected else None,
            "legs_with_loss": sum(1 for f in figures if f["packets_lost"] > 0),
            "legs_silent": sum(1 for f in figures if f["packets_received"] == 0),
            "jitter_ms_p50": percentile(jitter, 0.5),
            "jitter_ms_p99": percentile(jitter, 0.99),
            "max_jitter_ms_p99": percentile(peak, 0.99),
            "max_jitter_ms_max": peak[-1] if peak else None,
        }
    return summary


# ---------------------------------------------------------------------------- the hotline

BENCH_CONFIG = """\
# bench/sip_load.py: one line, an IVR menu, a queue of agents (key 1) and a queue nobody serves
# (key 2: callers wait there hearing announcements and music).
version: 1
skills:
  - {{id: talk, name: Talk to an agent}}
  - {{id: hold, name: Nobody has it}}
calendars:
  - id: always
    name: Around the clock
    timezone: UTC
    hours:
      - {{days: daily, open: "00:00", close: "24:00"}}
queues:
  - id: talk
    name: Talk
    skills: [{{skill: talk}}]
    strategy: longest_idle
    wrap_up_seconds: 0
    offer_timeout_seconds: 15
  - id: hold
    name: Hold
    skills: [{{skill: hold}}]
    strategy: longest_idle
lines:
  - {{id: bench, name: Bench line, number: "+7 495 000-11-22", queue: talk, hours: always}}
users:
  - {{username: probe, name: REGISTER probe, roles: [agent]}}
{agents}
"""

BENCH_FLOW = """\
version: 1
name: Bench line
language: en
start: menu
prompts:
  menu: {say: "Press one to talk to someone, two to wait."}
  waiting: {say: "Please hold."}
steps:
  menu:
    type: menu
    prompts: menu
    options: {"1": to_talk, "2": to_hold}
    timeout: 10
    retries: 1
    fallback: to_hold
  to_talk:
    type: enqueue
    queue: talk
  to_hold:
    type: enqueue
    queue: hold
    announce: [waiting, {announce: position}]
    announce_every: 30
"""


class HotlineServer:
    """`hotline init`, `hotline ivr publish` and `hotline serve` in a fresh data directory."""

    def __init__(self, processes: Processes, workdir: Path, args: argparse.Namespace) -> None:
        self.processes = processes
        self.workdir = workdir
        self.args = args
        self.data = workdir / "data"
        self.settings = workdir / "settings.yaml"
        self.process: subprocess.Popen | None = None
        self.database_url: str | None = None  # None: SQLite in the data directory
        self.postgres: tuple[str, str] | None = None
        self.sip_passwords: dict[str, str] = {}
        self.init_output = ""
        self.seen_workers: set[int] = set()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def hotline(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "hotline", "--config", str(self.settings)]
        command += ["--data-dir", str(self.data), *args]
        return subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_environment(),
            check=False,
        )

    def prepare(
        self,
        agents: int,
        *,
        config: str | None = None,
        extra: dict[str, Any] | None = None,
        accounts: int | None = None,
    ) -> None:
        """Settings, `hotline init --file` and the bench flow published. `config` replaces the
        bench configuration (other benches: bench/web_load.py), `extra` adds to the settings,
        `accounts` is the number of SIP accounts init must print (default: agents + probe)."""
        a = self.args
        settings = {
            "sip_bind_address": LOOPBACK,
            "advertised_address": LOOPBACK,
            "media_address": LOOPBACK,
            "http_bind_address": LOOPBACK,
            "sip_port": a.sip_port,
            "http_port": a.http_port,
            "media_port_min": a.media_ports[0],
            "media_port_max": a.media_ports[1],
            "max_calls": a.max_calls,
            "retry_after_seconds": a.retry_after,
            "log_level": "INFO",
            "shutdown_seconds": 10.0,
            # The bench's callers arrive from 127.0.0.1 as a carrier's trunk would: admitted by
            # address, no digest (the agents' phones still REGISTER with digest).
            "sip_trunks": [{"name": "bench-carrier", "inbound_addresses": [LOOPBACK]}],
        }
        if a.media_workers:
            settings["media_workers"] = a.media_workers
        if self.database_url:
            settings["database_url"] = self.database_url
        settings.update(extra or {})
        self.settings.write_text(json.dumps(settings, indent=2) + "\n")  # JSON is valid YAML
        if config is None:
            agent_lines = "\n".join(
                f"  - {{username: agent{i:03d}, name: Bench agent {i}, roles: [agent], "
                "skills: [{skill: talk, level: 5}]}"
                for i in range(1, agents + 1)
            )
            config = BENCH_CONFIG.format(agents=agent_lines)
        config_file = self.workdir / "bench-hotline.yaml"
        config_file.write_text(config)
        flow = self.workdir / "bench-flow.yaml"
        flow.write_text(BENCH_FLOW)
        init = self.hotline("init", "--file", str(config_file))
        if init.returncode != 0:
            raise SystemExit(f"hotline init failed:\n{init.stdout}\n{init.stderr}")
        self.init_output = init.stdout
        # The SIP accounts section: "  username  password  sip:username@host:port".
        self.sip_passwords = dict(
            re.findall(r"^  (\S+)\s+(\S+)\s+sip:\S+$", init.stdout, re.MULTILINE)
        )
        if len(self.sip_passwords) != (agents + 1 if accounts is None else accounts):
            raise SystemExit(f"hotline init printed {len(self.sip_passwords)} SIP accounts")
        publish = self.hotline("ivr", "publish", "bench", str(flow), "--by", "sip-load bench")
        if publish.returncode != 0:
            raise SystemExit(f"hotline ivr publish failed:\n{publish.stdout}\n{publish.stderr}")

    def start(self) -> None:
        command = [sys.executable, "-m", "hotline", "--config", str(self.settings)]
        command += ["--data-dir", str(self.data), "serve"]
        self.process = self.processes.start(command, cwd=ROOT, log=self.workdir / "serve.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"hotline serve exited:\n{self.log_tail()}")
            health = self.health()
            if health is not None and health.get("status") == "ok":
                self.worker_pids()
                return
            time.sleep(0.3)
        raise SystemExit(f"hotline serve did not answer within 60 s:\n{self.log_tail()}")

    def log_size(self) -> int:
        with contextlib.suppress(OSError):
            return (self.workdir / "serve.log").stat().st_size
        return 0

    def log_problems(self, since: int) -> dict[str, int]:
        """ERROR and WARNING lines of serve.log from byte `since`, counted by message (ids and
        numbers blanked), with the exception that ended each traceback."""
        try:
            with open(self.workdir / "serve.log", "rb") as log:
                log.seek(since)
                text = log.read().decode(errors="replace")
        except OSError:
            return {}
        problems: dict[str, int] = {}
        current = None
        for line in text.splitlines():
            match = re.match(r"^\S+ \S+ (ERROR|WARNING|CRITICAL) (\S+): (.*)$", line)
            if match:
                message = re.sub(r"[0-9a-f]{16,}|\d+", "N", match.group(3))[:120]
                current = f"{match.group(1)} {match.group(2)}: {message}"
                problems[current] = problems.get(current, 0) + 1
            elif current and re.match(r"^[a-zA-Z_.]+(Error|Exception): ", line):
                cause = f"  {current} <- {line[:140]}"
                problems[cause] = problems.get(cause, 0) + 1
                current = None
        return problems

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.workdir / "serve.log").read_text().splitlines()[-lines:])
        return ""

    def health(self, timeout: float = 3.0) -> dict[str, Any] | None:
        url = f"http://{LOOPBACK}:{self.args.http_port}/api/v1/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 503: degraded, same body
            with contextlib.suppress(Exception):
                return json.loads(exc.read())
            return None
        except (OSError, ValueError):
            return None

    def worker_pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        found = []
        for pid in children(self.pid):  # media workers; not a passing espeak-ng or the like
            with contextlib.suppress(OSError):
                if b"hotline.telephony.media.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
        self.seen_workers.update(found)
        return found

    def contacts(self, limit: int) -> list[dict[str, Any]]:
        listed = self.hotline(
            "contacts", "--json", "--show-numbers", "--limit", str(min(limit, 10_000))
        )
        if listed.returncode != 0:
            print(f"  hotline contacts failed: {listed.stderr[-500:]}", flush=True)
            return []
        return list(json.loads(listed.stdout)["contacts"])

    def stop(self) -> int | None:
        if self.process is None:
            return None
        self.processes.stop(self.process, grace=30.0)
        return self.process.returncode

    def create_postgres(self, admin_url: str) -> None:
        """A fresh PostgreSQL database for this run (instead of SQLite), named at random."""
        name = f"hotline_sip_load_{os.getpid()}_{random.getrandbits(24):06x}"
        self._postgres(admin_url, f'CREATE DATABASE "{name}"')
        self.postgres = (admin_url, name)
        self.database_url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop_postgres(self) -> None:
        if self.postgres is not None:
            admin_url, name = self.postgres
            with contextlib.suppress(Exception):
                self._postgres(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _postgres(admin_url: str, statement: str) -> None:
        import asyncio

        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        async def run() -> None:
            engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as connection:
                    await connection.execute(text(statement))
            finally:
                await engine.dispose()

        asyncio.run(run())


# -------------------------------------------------------------------------------- the bench


@dataclass
class Ports:
    """Every port the bench uses, explicit: SIPp instances get a SIP port and four media ports
    (SIPp binds -mp and -mp+2)."""

    base: int
    next_sip: int = 0
    next_media: int = 0

    def __post_init__(self) -> None:
        self.next_sip = self.base + 10
        self.next_media = self.base + 100

    def sip(self) -> int:
        port = self.next_sip
        self.next_sip += 1
        if self.next_sip >= self.base + 100:
            self.next_sip = self.base + 20  # caller ports are reused stage after stage
        return port

    def media(self) -> int:
        port = self.next_media
        self.next_media += 4
        if self.next_media >= self.base + 400:
            self.next_media = self.base + 140
        return port


@dataclass
class Stage:
    name: str
    sipps: list[Sipp] = field(default_factory=list)
    started: float = 0.0
    started_wall: float = 0.0
    window: tuple[float, float] = (0.0, 0.0)
    result: dict[str, Any] = field(default_factory=dict)
    log_offset: int = 0
    udp_mark: dict[int, int] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.processes = Processes()
        self.hotline = HotlineServer(self.processes, workdir, args)
        self.ports = Ports(args.port_base)
        self.phones: list[Sipp] = []
        self.monitor: Monitor | None = None
        self.began = time.monotonic()
        self.results: dict[str, Any] = {}

    # ----------------------------------------------------------------------------- SIPp

    def sipp(
        self,
        stage: Stage | None,
        name: str,
        scenario: str,
        *,
        calls: int,
        rate: float,
        limit: int,
        pause_ms: int,
        timeout: float,
        sip_port: int | None = None,
        extra: list[str] | None = None,
        pcap: Path | None = None,
        remote: bool = True,
        echo: bool = False,
        kind: str = "",
    ) -> Sipp:
        workdir = self.workdir / (stage.name if stage else "setup") / name
        workdir.mkdir(parents=True, exist_ok=True)
        # The scenario is copied next to its media: SIPp looks for pcaps next to the scenario.
        shutil.copy(SCENARIOS / scenario, workdir / scenario)
        with contextlib.suppress(FileExistsError):
            (workdir / "pcap").symlink_to(SIPP_PCAPS)
        if pcap is not None:
            (workdir / "media").mkdir(exist_ok=True)
            shutil.copy(pcap, workdir / "media" / "caller.pcap")
        port = sip_port or self.ports.sip()
        args = [SIPP]
        if remote:
            args.append(f"{LOOPBACK}:{self.args.sip_port}")
        media = self.ports.media()
        args += ["-sf", scenario, "-i", LOOPBACK, "-mi", LOOPBACK, "-ci", LOOPBACK, "-bind_local"]
        args += f"-p {port} -mp {media} -t u1 -r {rate:.3f} -l {limit} -d {int(pause_ms)}".split()
        args += f"-timeout {int(timeout)}s -nostdin -trace_stat -stf stats.csv -fd 1".split()
        args += ["-trace_err", "-trace_rtt", "-rtt_freq", "1"]
        if calls:
            args += ["-m", str(calls)]
        if remote:
            args += ["-s", DIALLED, "-timeout_error"]
        if echo:
            args.append("-rtp_echo")
        args += extra or []
        # The probes measure, at normal priority; the load's SIPps run at `--load-nice`.
        nice = 0 if kind == "probe" else getattr(self.args, "load_nice", 0)  # web_load: none
        process = self.processes.start(args, cwd=workdir, log=workdir / "sipp.out", nice=nice)
        sipp = Sipp(name, kind, workdir, process, calls, time.monotonic(), media, echo)
        if stage is not None:
            stage.sipps.append(sipp)
        if self.monitor is not None:
            self.monitor.sipps.append(sipp)
        return sipp

    def wait_sipps(self, sipps: list[Sipp], deadline: float) -> None:
        for sipp in sipps:
            left = deadline - time.monotonic()
            try:
                sipp.process.wait(max(0.1, left))
            except subprocess.TimeoutExpired:
                print(f"  {sipp.name}: still running at its deadline, stopped", flush=True)
                self.processes.stop(sipp.process, sig=signal.SIGUSR1, grace=10)
            if sipp.process in self.processes.live:
                self.processes.live.remove(sipp.process)

    def sipp_figures(self, sipps: list[Sipp]) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        for s in sipps:
            times = s.times(1)
            figures[s.name] = {
                "planned": s.calls,
                "successful": s.count("SuccessfulCall"),
                "failed": s.count("FailedCall"),
                "exit": s.process.returncode,
                "setup_p50_ms": percentile(times, 0.50),
                "setup_p99_ms": percentile(times, 0.99),
                "setup_max_ms": times[-1] if times else None,
            }
            if figures[s.name]["failed"] or s.process.returncode not in (0, None):
                figures[s.name]["failure_reasons"] = failure_reasons(s.errors(limit=10**7))
                figures[s.name]["errors_tail"] = s.errors()[-600:]
        return figures

    # ----------------------------------------------------------------------------- setup

    def agents_needed(self) -> int:
        a = self.args
        ramp = max(a.levels) // 2 if a.levels else 0
        sustained = a.rate / 2 * (a.call_seconds + 3)  # talk calls in progress at a time
        return int(max(ramp, sustained) * 1.1) + 5

    def setup(self) -> None:
        a = self.args
        agents = self.agents_needed()
        needed = [a.sip_port, a.http_port] + list(range(a.port_base + 10, a.port_base + 400))
        busy = [p for p in needed if not port_free(p, tcp=p in (a.sip_port, a.http_port))]
        if busy:
            raise SystemExit(f"ports in use on 127.0.0.1: {busy[:10]}: choose another --port-base")
        t0 = time.monotonic()
        if a.postgres:
            self.hotline.create_postgres(a.postgres)
            print(f"database: a fresh PostgreSQL database at {a.postgres.split('@')[-1]}")
        print(f"hotline init --file (a bench configuration with {agents} agents)...", flush=True)
        self.hotline.prepare(agents)
        print(f"  done in {time.monotonic() - t0:.0f} s; starting hotline serve...", flush=True)
        self.hotline.start()
        health = self.hotline.health() or {}
        workers = health.get("media_workers", [])
        print(
            f"  hotline serve: pid {self.hotline.pid}, {len(workers)} media worker(s) "
            f"{self.hotline.worker_pids()}, SIP {LOOPBACK}:{a.sip_port}, max_calls {a.max_calls}",
            flush=True,
        )
        self.monitor = Monitor(self.hotline, [])
        # Every agent's phone registers from the port its SIPp UAS will then answer on. The agents
        # are spread over `--phone-groups` UASes, each with its own port and RTP echo socket: one
        # SIPp echoes with a single thread, which falls behind (and its socket drops packets) on a
        # busy machine long before the node does.
        names = sorted(n for n in self.hotline.sip_passwords if n.startswith("agent"))
        groups = max(1, min(a.phone_groups, len(names)))
        self.phones = []
        for group in range(groups):
            members = names[group::groups]
            port = self.ports.sip()
            accounts = self.workdir / "setup" / f"agents-{group}.csv"
            accounts.parent.mkdir(parents=True, exist_ok=True)
            accounts.write_text(
                "SEQUENTIAL\n"
                + "".join(
                    f"{n};[authentication username={n} password={self.hotline.sip_passwords[n]}]\n"
                    for n in members
                )
            )
            register = self.sipp(
                None,
                f"register-agents-{group}",
                "register.xml",
                calls=len(members),
                rate=100,
                limit=50,
                pause_ms=0,
                timeout=60,
                sip_port=port,
                extra=["-inf", str(accounts)],
            )
            self.wait_sipps([register], time.monotonic() + 70)
            ok = register.count("SuccessfulCall")
            if ok != len(members):
                raise SystemExit(f"{ok} of {len(members)} agents registered:\n{register.errors()}")
            self.phones.append(
                self.sipp(
                    None,
                    f"agent-phones-{group}" if groups > 1 else "agent-phones",
                    "agent_phone.xml",
                    calls=0,
                    rate=1,
                    limit=100_000,
                    pause_ms=a.ring_ms,
                    timeout=self.planned_seconds() + 600,
                    sip_port=port,
                    remote=False,
                    echo=True,
                )
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = (self.hotline.health() or {}).get("agents", {}).get("ready", 0)
            if ready >= len(names):
                break
            time.sleep(0.3)
        else:
            raise SystemExit(f"only {ready} of {len(names)} agents are ready after registering")
        time.sleep(1.0)
        for phones in self.phones:
            if phones.process.poll() is not None:
                raise SystemExit(f"the agents' phones (SIPp UAS) exited:\n{phones.errors()}")
        probe = self.workdir / "setup" / "probe.csv"
        probe.write_text(
            "SEQUENTIAL\nprobe;[authentication username=probe "
            f"password={self.hotline.sip_passwords['probe']}]\n"
        )
        self.probe_accounts = probe
        print(
            f"  {len(names)} agents registered with digest from {groups} port(s) of {LOOPBACK} "
            f"and ready; their phones (SIPp UASes, RTP echo) answer there",
            flush=True,
        )

    def planned_seconds(self) -> float:
        a = self.args
        ramp = sum(level / a.ramp_rate * 2 + a.hold + 30 for level in a.levels)
        sustained = a.duration + a.call_seconds + 40
        overload = (a.max_calls * 1.1 + 10) / a.overload_rate + 40
        return a.idle + ramp + sustained + overload + 60

    # ----------------------------------------------------------------------------- stages

    def begin(self, name: str) -> Stage:
        stage = Stage(name, started=time.monotonic(), started_wall=time.time())
        stage.log_offset = self.hotline.log_size()
        if self.monitor is not None:
            stage.udp_mark = self.monitor.udp_mark()
        rate = self.args.probe_rate
        seconds = 3600  # probes are stopped (SIGUSR1) when the stage ends
        self.sipp(
            stage,
            "probe-options",
            "options.xml",
            calls=int(rate * seconds),
            rate=rate,
            limit=50,
            pause_ms=0,
            timeout=seconds,
            kind="probe",
        )
        self.sipp(
            stage,
            "probe-register",
            "register.xml",
            calls=int(rate / 5 * seconds),
            rate=rate / 5,
            limit=50,
            pause_ms=0,
            timeout=seconds,
            kind="probe",
            extra=["-inf", str(self.probe_accounts)],
        )
        return stage

    def watch(self, stage: Stage, until: float, sipps: list[Sipp]) -> None:
        """Sample once a second until `until` or until every SIPp of `sipps` has exited."""
        assert self.monitor is not None
        while time.monotonic() < until:
            tick = time.monotonic()
            self.monitor.sample()
            if sipps and all(s.process.poll() is not None for s in sipps):
                return
            if self.hotline.process is not None and self.hotline.process.poll() is not None:
                raise SystemExit(f"hotline serve died:\n{self.hotline.log_tail()}")
            time.sleep(max(0.05, min(1.0 - (time.monotonic() - tick), until - time.monotonic())))

    def end(self, stage: Stage, callers: list[Sipp], deadline: float) -> None:
        """Wait (bounded) for the callers, stop the probes, wait for Hotline to be idle again."""
        self.watch(stage, deadline, callers)
        self.wait_sipps(callers, deadline)
        for probe in [s for s in stage.sipps if s.kind == "probe"]:
            self.processes.stop(probe.process, sig=signal.SIGUSR1, grace=10)
        # Hotline may still be working through a backlog: its figures are read once it has no
        # call left (an answer is needed: no answer under load is not "idle").
        waited = time.monotonic()
        idle_by = waited + 120
        while time.monotonic() < idle_by:
            if self.monitor is not None:
                self.monitor.sample()
            health = self.hotline.health(timeout=10)
            if (
                health is not None
                and health_value(health, "inbound") == 0
                and health.get("calls_in_progress", 0) == 0
            ):
                break
            time.sleep(0.5)
        else:
            print("  Hotline still has calls in progress 120 s after the stage", flush=True)
        stage.result["hotline_idle_after_seconds"] = round(time.monotonic() - waited, 1)
        probes = [s for s in stage.sipps if s.kind == "probe"]
        stage.result["probes"] = {}
        for probe in probes:
            times = probe.times(1)
            stage.result["probes"][probe.name.removeprefix("probe-")] = {
                "samples": len(times),
                "failed": probe.count("FailedCall"),
                "p50_ms": percentile(times, 0.50),
                "p99_ms": percentile(times, 0.99),
                "max_ms": times[-1] if times else None,
            }
        assert self.monitor is not None
        stage.result["resources"] = self.monitor.window(*stage.window)
        stage.result["health_api"] = self.monitor.poller.response_times(
            stage.started, time.monotonic()
        )
        stage.result["gc"] = self.monitor.poller.collector_window(stage.started, time.monotonic())
        a = self.args
        echoing = [s for s in self.monitor.sipps if s.echo]
        stage.result["udp_drops"] = self.monitor.udp_drops(
            stage.udp_mark,
            {
                "hotline_rtp": set(range(a.media_ports[0], a.media_ports[1] + 1)),
                "hotline_sip": {a.sip_port},
                "sipp_echo_rtp": {p for s in echoing for p in (s.media_port, s.media_port + 2)},
            },
        )
        self.monitor.timeline(
            self.workdir / stage.name / "timeline.csv", stage.started, time.monotonic()
        )
        stage.result["sipp"] = self.sipp_figures([s for s in stage.sipps if s.kind != "probe"])
        stage.result["hotline_log_problems"] = self.hotline.log_problems(stage.log_offset)

    def quality(self, stage: Stage, calls: int) -> None:
        """Outcomes and leg quality of the stage's contacts, from `hotline contacts --json`."""
        contacts = self.hotline.contacts(calls + 50)
        since = stage.started_wall - 1
        mine = [
            c for c in contacts if _timestamp(c["arrived_at"]) >= since and c["caller"] in CALLERS
        ]
        by_kind: dict[str, dict[str, Any]] = {}
        legs: dict[str, list[dict[str, Any]]] = {}
        for contact in mine:
            kind = CALLERS[contact["caller"]]
            entry = by_kind.setdefault(kind, {"contacts": 0, "outcomes": {}, "with_agent": 0})
            entry["contacts"] += 1
            outcome = contact["outcome"] or contact["state"]
            entry["outcomes"][outcome] = entry["outcomes"].get(outcome, 0) + 1
            entry["with_agent"] += contact["agent"] is not None
            for leg in contact["quality"]:
                legs.setdefault(f"{kind}/{leg['leg']}", []).append(leg["figures"])
        summary = leg_summary(legs)
        stage.result["contacts"] = {
            "read": len(mine),
            "sampled": len(contacts) >= 10_000,
            "by_kind": by_kind,
        }
        stage.result["rtp"] = summary

    # ------------------------------------------------------------------------------ idle

    def stage_idle(self) -> dict[str, Any]:
        stage = self.begin("idle")
        stage.window = (time.monotonic() + 1, time.monotonic() + self.args.idle)
        self.watch(stage, stage.window[1], [])
        self.end(stage, [], time.monotonic())
        return stage.result

    # ------------------------------------------------------------------------------ ramp

    def caller_mix(self, total: int) -> dict[str, int]:
        talk = total // 2
        hold = total - talk
        listen = max(1, hold // 10) if hold >= 2 else 0
        return {"talk": talk, "hold": hold - listen, "listen": listen}

    def stage_level(self, level: int) -> dict[str, Any]:
        a = self.args
        stage = self.begin(f"level-{level}")
        mix = self.caller_mix(level)
        ramp = level / a.ramp_rate
        pause = ramp + a.hold + 2
        pcaps = self.pcaps(stage, pause + 5)
        callers = []
        for kind, count in mix.items():
            if count == 0:
                continue
            callers.append(
                self.sipp(
                    stage,
                    f"callers-{kind}",
                    "caller.xml",
                    calls=count,
                    rate=a.ramp_rate * count / level,
                    limit=count,
                    pause_ms=int(pause * 1000),
                    timeout=2 * ramp + a.hold + 60,
                    pcap=pcaps[kind],
                    echo=kind == "listen",
                    extra=["-key", "caller", NUMBER[kind]],
                    kind=kind,
                )
            )
        start = time.monotonic()
        stage.window = (start + ramp + min(4.0, a.hold / 2), start + ramp + a.hold)
        print(
            f"level {level}: {mix['talk']} callers to agents, {mix['hold'] + mix['listen']} "
            f"holding ({mix['listen']} of them echoing), set up at {a.ramp_rate:g}/s over "
            f"{ramp:.0f} s, held {a.hold:g} s",
            flush=True,
        )
        self.watch(stage, stage.window[1], callers)
        assert self.monitor is not None
        reached = max(
            self.monitor.peak(*stage.window, "inbound"),
            self.monitor.peak(*stage.window, "sipp_calls"),
        )
        bridged = self.monitor.peak(*stage.window, "busy")
        stage.result["resources_ramp_up"] = self.monitor.window(start, start + ramp + 2)
        self.end(stage, callers, start + 2 * ramp + a.hold + 45)
        self.quality(stage, level)
        sipp = stage.result["sipp"]
        failed = sum(f["failed"] for f in sipp.values())
        successful = sum(f["successful"] for f in sipp.values())
        stage.result.update(
            {
                "level": level,
                "mix": mix,
                "calls_in_progress_reached": reached,
                "bridged_reached": bridged,
                "successful": successful,
                "failed": failed,
            }
        )
        rtp_lost = sum(v["packets_lost"] for v in stage.result["rtp"].values())
        stage.result["rtp_packets_lost"] = rtp_lost
        stage.result["ok"] = (
            failed == 0
            and successful == level
            and reached >= level
            and bridged >= mix["talk"]
            and all(f["exit"] == 0 for f in sipp.values())
            and hotline_errors(stage.result) == 0
        )
        return stage.result

    def pcaps(self, stage: Stage, seconds: float) -> dict[str, Path]:
        folder = self.workdir / stage.name / "pcaps"
        made = {}
        for kind, digit, speech in (
            ("talk", "1", True),
            ("hold", "2", True),
            ("listen", "2", False),
            ("overload", "2", False),
        ):
            made[kind] = folder / f"{kind}.pcap"
            build_caller_pcap(made[kind], seconds=seconds, digit=digit, speech=speech)
        return made

    # ------------------------------------------------------------------------- sustained

    def stage_sustained(self) -> dict[str, Any]:
        a = self.args
        stage = self.begin("sustained")
        shares = {"talk": 0.5, "hold": 0.45, "listen": 0.05}
        pcaps = self.pcaps(stage, a.call_seconds + 6)
        callers = []
        for kind, share in shares.items():
            rate = a.rate * share
            count = round(rate * a.duration)
            if count == 0:
                continue
            callers.append(
                self.sipp(
                    stage,
                    f"callers-{kind}",
                    "caller.xml",
                    calls=count,
                    rate=rate,
                    limit=int(rate * (a.call_seconds + 30)) + 10,
                    pause_ms=int(a.call_seconds * 1000),
                    timeout=a.duration + a.call_seconds + 60,
                    pcap=pcaps[kind],
                    echo=kind == "listen",
                    extra=["-key", "caller", NUMBER[kind]],
                    kind=kind,
                )
            )
        planned = sum(s.calls for s in callers)
        start = time.monotonic()
        stage.window = (start + a.call_seconds + 4, start + a.duration)
        control_ticks = proc_ticks(self.hotline.pid)
        print(
            f"sustained: {a.rate:g} call setups/s for {a.duration:g} s ({planned} calls: half to "
            f"agents, half holding), each call {a.call_seconds:g} s after its answer",
            flush=True,
        )
        self.watch(stage, start + a.duration, callers)
        assert self.monitor is not None
        reached = max(
            self.monitor.peak(*stage.window, "inbound"),
            self.monitor.peak(*stage.window, "sipp_calls"),
        )
        bridged = self.monitor.peak(*stage.window, "busy")
        self.end(stage, callers, start + a.duration + a.call_seconds + 60)
        control_ticks_after = proc_ticks(self.hotline.pid)
        control_seconds = time.monotonic() - start
        self.quality(stage, planned)
        sipp = stage.result["sipp"]
        # The rate achieved: calls answered per second, from the time of each 200 OK, over the
        # whole stage and over its slowest 5 s (the first and last 2 s left out).
        answered = sorted(when for s in callers for when, _ in s.responses(1))
        achieved = slowest = span = None
        if len(answered) >= 2 and answered[-1] > answered[0]:
            span = answered[-1] - answered[0]
            achieved = (len(answered) - 1) / span
            first, last = answered[0] + 2, answered[-1] - 2
            buckets = [0] * max(0, int(last - first))
            for when in answered:
                if first <= when < first + len(buckets):
                    buckets[int(when - first)] += 1
            if len(buckets) >= 5:
                slowest = min(sum(buckets[i : i + 5]) / 5 for i in range(len(buckets) - 4))
        failed = sum(f["failed"] for f in sipp.values())
        successful = sum(f["successful"] for f in sipp.values())
        setup = sorted(t for s in callers for t in s.times(1))
        stage.result.update(
            {
                "target_rate": a.rate,
                "duration": a.duration,
                "planned": planned,
                "successful": successful,
                "failed": failed,
                "achieved_rate": round(achieved, 1) if achieved is not None else None,
                "answered_over_seconds": round(span, 1) if span is not None else None,
                "slowest_5s_rate": round(slowest, 1) if slowest is not None else None,
                "calls_in_progress_reached": reached,
                "bridged_reached": bridged,
                "setup_p50_ms": percentile(setup, 0.5),
                "setup_p99_ms": percentile(setup, 0.99),
                "setup_max_ms": setup[-1] if setup else None,
            }
        )
        stage.result["rtp_packets_lost"] = sum(
            v["packets_lost"] for v in stage.result["rtp"].values()
        )
        # The control process's CPU per call, over the whole stage (every call from its INVITE
        # to its last write), less what it spends idle (probes, health polls): CPU time, not
        # wall time, so other processes on the machine hardly change it.
        if control_ticks is not None and control_ticks_after is not None and successful:
            used = (control_ticks_after - control_ticks) / CLK_TCK
            idle_share = self.results.get("idle", {}).get("resources", {}).get("cpu_percent", {})
            idle = idle_share.get("control", 0.0) / 100.0 * control_seconds
            stage.result["control_cpu_ms_per_call"] = round(1000.0 * used / successful, 1)
            stage.result["control_cpu_ms_per_call_net"] = round(
                1000.0 * max(0.0, used - idle) / successful, 1
            )
        stage.result["ok"] = (
            failed == 0
            and successful == planned
            and all(f["exit"] == 0 for f in sipp.values())
            # Hotline kept pace: every call answered within the stage's duration (and a little)
            and span is not None
            and span <= a.duration * 1.03 + 1.5
            and hotline_errors(stage.result) == 0
        )
        return stage.result

    # -------------------------------------------------------------------------- overload

    def stage_overload(self) -> dict[str, Any]:
        a = self.args
        stage = self.begin("overload")
        extra = max(5, a.max_calls // 10)
        calls = a.max_calls + extra
        spread = calls / a.overload_rate
        pcaps = self.pcaps(stage, spread + 10)
        before = health_value(self.hotline.health() or {}, "rejected_503")
        callers = [
            self.sipp(
                stage,
                "callers-overload",
                "caller_overload.xml",
                calls=calls,
                rate=a.overload_rate,
                limit=calls,
                pause_ms=int((spread + 5) * 1000),
                timeout=2 * spread + 60,
                pcap=pcaps["overload"],
                extra=["-key", "caller", NUMBER["overload"], "-trace_logs"],
                kind="overload",
            )
        ]
        start = time.monotonic()
        stage.window = (start + 1, start + spread + 4)
        print(
            f"overload: {calls} calls at {a.overload_rate:g}/s, each staying {spread + 5:.0f} s, "
            f"against max_calls {a.max_calls}: {extra} should get 503 with Retry-After "
            f"{a.retry_after}",
            flush=True,
        )
        self.watch(stage, stage.window[1], callers)
        assert self.monitor is not None
        reached = self.monitor.peak(*stage.window, "inbound")
        self.end(stage, callers, start + 2 * spread + 45)
        after = health_value(self.hotline.health() or {}, "rejected_503")
        sipp = callers[0]
        admitted = len(sipp.times(1))
        refused = len(sipp.times(2))
        retry_after = re.findall(r"503 Retry-After: (\S+)", sipp.logs())
        figures = stage.result["sipp"][sipp.name]
        stage.result.update(
            {
                "max_calls": a.max_calls,
                "calls": calls,
                "admitted": admitted,
                "refused_503": refused,
                "hotline_overload_rejections": after - before,
                "retry_after_values": sorted(set(retry_after)),
                "calls_in_progress_reached": reached,
                "failed": figures["failed"],
            }
        )
        stage.result["ok"] = (
            figures["failed"] == 0
            and admitted == a.max_calls
            and refused == extra
            and len(retry_after) == refused
            and set(retry_after) == {str(a.retry_after)}
            and hotline_errors(stage.result) == 0
        )
        return stage.result

    # ------------------------------------------------------------------------------- run

    def run(self) -> dict[str, Any]:
        a = self.args
        load_before = os.getloadavg()
        busy0 = machine_ticks()
        time.sleep(2.0)
        busy1 = machine_ticks()
        other = 100.0 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        print(
            f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} "
            f"{load_before[1]:.2f} {load_before[2]:.2f}, {other:.0f}% busy before the bench "
            f"started{' (other jobs are running: figures are pessimistic)' if other > 10 else ''}",
            flush=True,
        )
        self.results["database"] = "postgresql" if a.postgres else "sqlite"
        self.results["machine"] = {
            "cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "busy_percent_before": round(other, 1),
        }
        if self.planned_seconds() > REGISTER_EXPIRES - 300:
            raise SystemExit("the planned run outlasts the agents' registrations (1 h): shorten it")
        self.setup()
        self.results["idle"] = self.stage_idle()
        self.report_probes("idle", self.results["idle"])
        levels: list[dict[str, Any]] = []
        for level in [] if a.skip_ramp else a.levels:
            result = self.stage_level(level)
            levels.append(result)
            self.report_level(result)
            if not result["ok"]:
                print(f"  level {level} failed: the ramp stops here", flush=True)
                break
        self.results["levels"] = levels
        if not a.skip_sustained:
            self.results["sustained"] = self.stage_sustained()
            self.report_sustained(self.results["sustained"])
        if not a.skip_overload:
            self.results["overload"] = self.stage_overload()
            self.report_overload(self.results["overload"])
        return self.results

    # ---------------------------------------------------------------------------- output

    def report_probes(self, name: str, result: dict[str, Any]) -> None:
        probes = result.get("probes", {})
        parts = []
        for probe, f in probes.items():
            parts.append(
                f"{probe.upper()} p50 {_ms(f['p50_ms'])} p99 {_ms(f['p99_ms'])} max "
                f"{_ms(f['max_ms'])} ({f['samples']} samples, {f['failed']} failed)"
            )
        resources = result.get("resources", {})
        api = result.get("health_api", {})
        if api.get("requests"):
            parts.append(
                f"HTTP /api/v1/health p50 {_ms(api['p50_ms'])} p99 {_ms(api['p99_ms'])}"
                f"{', ' + str(api['unanswered']) + ' unanswered' if api['unanswered'] else ''}"
            )
        collector = result.get("gc")
        if collector:
            parts.append(
                f"Hotline's GC {sum(collector['passes'])} passes ({collector['passes'][2]} full), "
                f"{collector['pause_ms']:.0f} ms paused, longest pause so far "
                f"{max(collector['longest_pause_ms_since_start']):.0f} ms"
            )
        print(f"  {name}: {'; '.join(parts)}", flush=True)
        if resources:
            cpu = resources["cpu_percent"]
            hotline = {k: v for k, v in cpu.items() if not k.startswith("sipp:")}
            rss = {k: v for k, v in resources["rss_mb"].items() if not k.startswith("sipp:")}
            print(
                f"  CPU % of a core over {resources['seconds']:.0f} s: "
                + ", ".join(f"{k} {v:.0f}" for k, v in hotline.items())
                + f", all SIPp {resources['sipp_cpu_percent_total']:.0f}; machine "
                f"{resources['machine_busy_percent']:.0f}% busy of {resources['cores']} cores "
                f"({resources['kernel_softirq_percent']:.0f}% kernel softirq), load "
                f"{resources['load_average'][0]:.1f}; RSS MB "
                + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()),
                flush=True,
            )

    def report_rtp(self, result: dict[str, Any]) -> None:
        drops = result.get("udp_drops", {})
        if drops:
            print(
                "  UDP packets the kernel dropped (receive buffer full): "
                f"Hotline RTP sockets {drops['hotline_rtp']}, Hotline SIP socket "
                f"{drops['hotline_sip']}, SIPp echoing sockets (agents' phones, listeners) "
                f"{drops['sipp_echo_rtp']}",
                flush=True,
            )
        for name, f in result.get("rtp", {}).items():
            print(
                f"  RTP {name:16s} {f['legs']:5d} legs, lost {f['packets_lost']} of "
                f"{f['packets_expected']} ({f['legs_with_loss']} legs with loss, "
                f"{f['legs_silent']} silent), jitter p50 {_ms(f['jitter_ms_p50'])} p99 "
                f"{_ms(f['jitter_ms_p99'])}, peak jitter p99 {_ms(f['max_jitter_ms_p99'])} max "
                f"{_ms(f['max_jitter_ms_max'])}",
                flush=True,
            )

    def report_sipp(self, result: dict[str, Any]) -> None:
        for name, f in result.get("sipp", {}).items():
            print(
                f"  {name:18s} {f['successful']}/{f['planned']} ok, {f['failed']} failed, exit "
                f"{f['exit']}, setup p50 {_ms(f['setup_p50_ms'])} p99 {_ms(f['setup_p99_ms'])}",
                flush=True,
            )
            for reason, n in f.get("failure_reasons", {}).items():
                print(f"      {n} failed: {reason}", flush=True)

    def report_log(self, result: dict[str, Any]) -> None:
        for problem, n in list(result.get("hotline_log_problems", {}).items())[:8]:
            print(f"  hotline log: {n} x {problem}", flush=True)

    def report_level(self, r: dict[str, Any]) -> None:
        print(
            f"  level {r['level']}: {'OK' if r['ok'] else 'FAILED'}: {r['successful']} calls "
            f"ok, {r['failed']} failed; reached {r['calls_in_progress_reached']} calls in "
            f"progress, {r['bridged_reached']} agents talking",
            flush=True,
        )
        ramp = r.get("resources_ramp_up", {})
        if ramp:
            cpu = ramp["cpu_percent"]
            print(
                "  while setting up: CPU % of a core: "
                + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items() if not k.startswith("sipp:"))
                + f", all SIPp {ramp['sipp_cpu_percent_total']:.0f}, machine "
                f"{ramp['machine_busy_percent']:.0f}% busy",
                flush=True,
            )
        self.report_sipp(r)
        self.report_log(r)
        self.report_rtp(r)
        self.report_probes(f"level {r['level']} (held)", r)

    def report_sustained(self, r: dict[str, Any]) -> None:
        print(
            f"  sustained: {'OK' if r['ok'] else 'FAILED'}: {r['successful']}/{r['planned']} ok, "
            f"{r['failed']} failed; answered at {r['achieved_rate']}/s over "
            f"{r['answered_over_seconds']} s (slowest 5 s: {r['slowest_5s_rate']}/s; offered "
            f"{r['target_rate']:g}/s over {r['duration']:g} s), up to "
            f"{r['calls_in_progress_reached']} calls in "
            f"progress; setup p50 {_ms(r['setup_p50_ms'])} p99 {_ms(r['setup_p99_ms'])} max "
            f"{_ms(r['setup_max_ms'])}",
            flush=True,
        )
        if "control_cpu_ms_per_call" in r:
            print(
                f"  control process CPU per call: {r['control_cpu_ms_per_call']} ms "
                f"({r['control_cpu_ms_per_call_net']} ms less its idle use)",
                flush=True,
            )
        self.report_sipp(r)
        self.report_log(r)
        self.report_rtp(r)
        self.report_probes("sustained", r)

    def report_overload(self, r: dict[str, Any]) -> None:
        print(
            f"  overload: {'OK' if r['ok'] else 'FAILED'}: {r['admitted']} admitted (max_calls "
            f"{r['max_calls']}), {r['refused_503']} refused with 503 (Hotline counted "
            f"{r['hotline_overload_rejections']}), Retry-After {r['retry_after_values']}, "
            f"{r['failed']} failed",
            flush=True,
        )
        self.report_sipp(r)
        self.report_log(r)
        self.report_probes("overload", r)


def _timestamp(iso: str) -> float:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # Hotline stores UTC
    return moment.timestamp()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


# ---------------------------------------------------------------------------- verdict


def hotline_errors(result: dict[str, Any]) -> int:
    """ERROR lines in Hotline's log during a stage (a call may fail inside Hotline while SIPp,
    which only sees the signalling, counts it a success)."""
    problems = result.get("hotline_log_problems", {})
    return sum(n for p, n in problems.items() if p.startswith("ERROR"))


def diagnose(result: dict[str, Any]) -> list[str]:
    """What looked saturated or broken during a stage."""
    findings = []
    problems = result.get("hotline_log_problems", {})
    errors = hotline_errors(result)
    if errors:
        top = max((p for p in problems if p.startswith("  ")), key=problems.get, default="")
        findings.append(f"{errors} ERROR lines in Hotline's log{': ' + top.strip() if top else ''}")
    res = result.get("resources", {})
    peak = res.get("cpu_peak_5s_percent", {})
    if peak.get("control", 0) >= 85:
        findings.append(f"control process CPU {peak['control']:.0f}% (5 s peak)")
    for name, value in peak.items():
        if name.startswith("worker") and value >= 75:
            findings.append(f"media {name} CPU {value:.0f}% (5 s peak)")
    for name, value in res.get("cpu_percent", {}).items():
        if name.startswith("sipp:") and value >= 85:
            findings.append(f"SIPp {name[5:]} CPU {value:.0f}%")
    if (res.get("machine_busy_percent") or 0) >= 95:
        findings.append(
            f"machine {res['machine_busy_percent']:.0f}% busy (all cores; kernel softirq, mostly "
            f"loopback packets, {res.get('kernel_softirq_percent', 0):.0f}%)"
        )
    drops = result.get("udp_drops", {})
    if drops.get("hotline_rtp"):
        findings.append(f"Hotline's RTP sockets dropped {drops['hotline_rtp']} packets")
    if drops.get("hotline_sip"):
        findings.append(f"Hotline's SIP socket dropped {drops['hotline_sip']} messages")
    if drops.get("sipp_echo_rtp"):
        findings.append(
            f"SIPp's echoing sockets dropped {drops['sipp_echo_rtp']} RTP packets (the load "
            "generator fell behind)"
        )
    return findings


def verdict(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The figures against the targets, and what limited the run."""
    levels = results.get("levels", [])
    clean = [r["level"] for r in levels if r["ok"]]
    reached = max(clean) if clean else 0
    lossless = [r["level"] for r in levels if r["ok"] and r["rtp_packets_lost"] == 0]
    sustained = results.get("sustained", {})
    overload = results.get("overload", {})
    stages = [("idle", results.get("idle", {}))]
    stages += [(f"level-{r['level']}", r) for r in levels]
    stages += [("sustained", sustained), ("overload", overload)]
    p99: dict[str, float | None] = {"options": None, "register": None}
    for _, r in stages:
        for probe, f in r.get("probes", {}).items():
            if f["p99_ms"] is not None:
                p99[probe] = max(p99[probe] or 0.0, f["p99_ms"])
    limits = [f"{name}: {finding}" for name, r in stages for finding in diagnose(r)]
    failed = [(name, r) for name, r in stages[1:] if r and not r.get("ok")]
    broke = None
    if failed:
        name, r = failed[0]
        res = r.get("resources", {})
        peak = res.get("cpu_peak_5s_percent", {})
        broke = {
            "stage": name,
            "findings": diagnose(r) or ["no resource saturated: see the failure reasons"],
            "failure_reasons": {
                reason: n
                for f in r.get("sipp", {}).values()
                for reason, n in f.get("failure_reasons", {}).items()
            },
            "control_cpu_peak": peak.get("control"),
            "worker_cpu_peak": max(
                (v for k, v in peak.items() if k.startswith("worker")), default=None
            ),
            "sipp_cpu_total": res.get("sipp_cpu_percent_total"),
            "machine_busy_percent": res.get("machine_busy_percent"),
        }
    first_failure = next((r for r in levels if not r["ok"]), None)
    met = {
        "concurrent_calls": reached >= TARGET_CONCURRENT,
        "no_rtp_loss_at_target": TARGET_CONCURRENT in lossless,
        "setups_per_second": bool(sustained.get("ok")) and args.rate >= TARGET_CPS,
        "overload_503_retry_after": bool(overload.get("ok")),
        "options_p99": p99["options"] is not None and p99["options"] < TARGET_P99_MS,
        "register_p99": p99["register"] is not None and p99["register"] < TARGET_P99_MS,
    }
    return {
        "concurrent_calls_reached": reached,
        "concurrent_calls_reached_without_rtp_loss": max(lossless) if lossless else 0,
        "first_failed_level": first_failure["level"] if first_failure else None,
        "sustained_rate": sustained.get("achieved_rate"),
        "sustained_ok": sustained.get("ok"),
        "options_p99_ms_worst": p99["options"],
        "register_p99_ms_worst": p99["register"],
        "targets": {
            "concurrent_calls": TARGET_CONCURRENT,
            "setups_per_second": TARGET_CPS,
            "p99_ms": TARGET_P99_MS,
        },
        "met": met,
        "first_failure": broke,
        "limits_seen": limits,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small levels, about 1.5 minutes")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--hold", type=float, help="seconds each level is held (default 30)")
    parser.add_argument("--ramp-rate", type=float, help="call setups/s while ramping (10)")
    parser.add_argument("--rate", type=float, help="sustained call setups/s (default 50)")
    parser.add_argument("--duration", type=float, help="seconds of sustained setups (60)")
    parser.add_argument("--call-seconds", type=float, help="sustained calls' length (default 6)")
    parser.add_argument("--max-calls", type=int, help="Hotline's max_calls (default 550)")
    parser.add_argument("--retry-after", type=int, default=30)
    parser.add_argument("--overload-rate", type=float, help="setups/s of the overload stage (100)")
    parser.add_argument("--probe-rate", type=float, default=10.0, help="OPTIONS/s (REGISTER: /5)")
    parser.add_argument("--idle", type=float, help="seconds of the idle stage (default 10)")
    parser.add_argument("--ring-ms", type=int, default=200, help="agents' phones ring this long")
    parser.add_argument(
        "--phone-groups", type=int, default=4, help="SIPp UASes the agents' phones are spread over"
    )
    parser.add_argument("--media-workers", type=int, help="default: Hotline's (one per core)")
    parser.add_argument(
        "--load-nice",
        type=int,
        default=0,
        help="lower the load's SIPps' priority (not the probes') by this much, their sessions' "
        "autogroups included; 10 starved the load generator on a 2-core machine (its echo "
        "sockets dropped packets) and left the probes' p99 as it was (docs/capacity.md)",
    )
    parser.add_argument(
        "--port-base",
        type=int,
        default=16000,
        help="Hotline's SIP and HTTP ports (base, base+1) and SIPp's (base+10..+399); below the "
        "kernel's ephemeral range (32768-60999) so that no client socket takes one meanwhile",
    )
    parser.add_argument("--sip-port", type=int, help="Hotline's SIP port (default port-base)")
    parser.add_argument("--http-port", type=int, help="Hotline's HTTP port (port-base + 1)")
    parser.add_argument(
        "--media-ports",
        type=lambda s: tuple(int(x) for x in s.split("-")),
        default=(10000, 15999),
        help="Hotline's RTP range (default 10000-15999: outside the ephemeral range and the "
        "20000-29999 the tests use)",
    )
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="run Hotline on a fresh PostgreSQL database made with this admin URL (e.g. "
        "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres) instead of SQLite",
    )
    parser.add_argument("--skip-ramp", action="store_true")
    parser.add_argument("--skip-sustained", action="store_true")
    parser.add_argument("--skip-overload", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    quick = args.quick
    defaults = {
        "levels": [10, 20] if quick else [100, 200, 300, 500],
        "hold": 8.0 if quick else 30.0,
        "ramp_rate": 10.0,
        "rate": 10.0 if quick else TARGET_CPS,
        "duration": 15.0 if quick else 60.0,
        "call_seconds": 3.0 if quick else 6.0,
        "max_calls": 60 if quick else 550,
        "overload_rate": 30.0 if quick else 100.0,
        "idle": 4.0 if quick else 10.0,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.sip_port = args.sip_port or args.port_base
    args.http_port = args.http_port or args.port_base + 1
    if shutil.which("sipp") is None:
        print("SIPp (Debian package sip-tester) is not installed", file=sys.stderr)
        return 2
    if max(args.levels) >= args.max_calls:
        print("--max-calls must be above the highest level", file=sys.stderr)
        return 2
    if args.rate * (args.call_seconds + 2.5) >= args.max_calls:
        print("--max-calls must be above the sustained stage's calls in progress", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="hotline-sip-load-"))
    bench = Bench(args, workdir)

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    results: dict[str, Any] = {}
    code = 1
    try:
        print(
            f"bench/sip_load.py{' --quick' if quick else ''}: work directory {workdir}",
            flush=True,
        )
        results = bench.run()
        results["verdict"] = verdict(results, args)
        code = 0
    except KeyboardInterrupt:
        print("interrupted: stopping everything", flush=True)
        results["error"] = "interrupted"
    except SystemExit as exc:
        print(f"bench failed: {exc}", flush=True)
        results["error"] = str(exc)[:2000]
    finally:
        if bench.monitor is not None:
            bench.monitor.poller.stopped.set()
        stopped = bench.hotline.stop()
        bench.processes.stop_all()
        bench.hotline.drop_postgres()
        results["hotline_exit"] = stopped
        if args.keep or "error" in results:
            print(f"work directory kept: {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if "verdict" in results:
        v = results["verdict"]
        print("\nagainst the targets:", flush=True)
        print(
            f"  concurrent calls with zero failed calls: {v['concurrent_calls_reached']} "
            f"(target {TARGET_CONCURRENT}, half in IVR/queue, half bridged): "
            f"{'met' if v['met']['concurrent_calls'] else 'NOT met'}; without RTP loss: "
            f"{v['concurrent_calls_reached_without_rtp_loss']}",
            flush=True,
        )
        print(
            f"  sustained setups: {v['sustained_rate']}/s for {args.duration:g} s "
            f"(target {TARGET_CPS:g}/s, zero failures): "
            f"{'met' if v['met']['setups_per_second'] else 'NOT met'}",
            flush=True,
        )
        print(
            f"  overload: 503 + Retry-After past max_calls: "
            f"{'met' if v['met']['overload_503_retry_after'] else 'NOT met'}",
            flush=True,
        )
        print(
            f"  OPTIONS p99 {_ms(v['options_p99_ms_worst'])}, REGISTER p99 "
            f"{_ms(v['register_p99_ms_worst'])} (worst stage; target < {TARGET_P99_MS:g} ms): "
            f"{'met' if v['met']['options_p99'] and v['met']['register_p99'] else 'NOT met'}",
            flush=True,
        )
        if v["first_failure"]:
            f = v["first_failure"]
            print(
                f"  first failure: {f['stage']}: {'; '.join(f['findings'])}; control CPU peak "
                f"{f['control_cpu_peak']}%, media worker peak {f['worker_cpu_peak']}%, all SIPp "
                f"{f['sipp_cpu_total']}%, machine {f['machine_busy_percent']}% busy",
                flush=True,
            )
        for limit in v["limits_seen"]:
            print(f"  seen: {limit}", flush=True)
        if args.quick:
            print("  (--quick: small levels; the targets are judged by the full run)", flush=True)
    print(json.dumps(results, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
