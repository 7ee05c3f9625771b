"""The browser app under load (issue 4, item 6): agents' desktops and wallboards while calls run,
and the most browser-softphone calls one node carries without losing audio.

Hotline runs as operators run it, through bench/sip_load.py's harness: `hotline init --file` with
a generated configuration (a line whose IVR sends key 1 to the `talk` queue, a script and a form
for that queue, wrap-up codes, N agents and W supervisors, all with sign-in passwords), then
`hotline serve` as a subprocess with a fresh data directory, SQLite, and SIP, RTP and HTTP on
127.0.0.1 only (explicit ports). The peers are on 127.0.0.1 too. Everything started (serve and its
media workers, SIPp, Chromium) is stopped on exit or Ctrl-C, by process group. Two stages:

sessions (--stage sessions): N agent desktops and W wallboards as HTTP + WebSocket clients in this
one process (httpx and websockets on uvloop), while C SIPp calls run.
- Each agent signs in (POST /auth/login), loads GET /agent/me, opens WebSocket /api/v1/events,
  and then acts as the desktop does: every --think seconds (jittered) an idle agent either changes
  state (ready <-> not ready with a reason) or reloads /agent/me; an agent on a call reads the
  contact's script and form (GET script-form once), answers the script's current question (PUT
  script-answers) and saves the form draft (PUT form-draft); an agent in wrap-up sends its
  disposition (POST /agent/wrapup) after a short pause; and, as the page does, every change of the
  agent's own row brings a GET /agent/me.
- Who answers the calls: the agents' desktops are HTTP clients without audio, so each agent's
  phone is a SIP phone: all agents REGISTER with digest from one port, where one SIPp UAS answers
  whichever agent is rung after a short ring and echoes the RTP it gets (sip_load's agent phones).
  Agents are thus reachable and their state is theirs to change from the desktop; the browser
  softphone is measured separately (next stage). A desk-only agent would be unreachable (ready
  answers 409), which is not what a shift looks like.
- Wallboards (supervisors): sign in, GET /wallboard (the snapshot), WebSocket /api/v1/events, a
  reload of GET /wallboard every --wallboard-reload seconds.
- Callers: one SIPp UAC keeping C calls in progress (-l C): each plays speech with key 1 (the IVR
  sends it to the agents' queue), stays --call-seconds after Hotline answers, hangs up.
- Figures, over the window once C calls are up: event to screen p50/p95/p99 for desktops and
  wallboards apart, three ways, all on this machine's one clock (time.time()): from the server's
  stamp of each event (`at`: when the live feed made it) to its arrival here (heartbeats are no
  events: counted apart, left out); from the router's state change (`since` of an `agent.state`
  row, the first time a screen sees it) to its arrival;
  and from the desktop's own POST /agent/state (sent) to the arrival of the row it caused, at that
  desktop and at every wallboard. API p50/p95/p99 per route family, every answer's status
  (errors: 5xx, failed requests, unexpected 4xx; 409 conflicts, races a real desk meets too,
  counted apart), WebSocket cut-offs and reconnections; CPU and RSS of the control process and
  each media worker, SIPp, and this process (with its event loop's lag, which would add to every
  latency it measures). Targets: event to screen p95 < 1 s, API p99 < 100 ms (sign-in, argon2 on
  purpose, reported apart).

softphones (--stage softphones): for N in --levels, N headless Chromium pages (Debian's chromium,
one browser started by this bench and driven over CDP by Playwright, one context per agent, fake
microphone, loopback-only ICE flags from ../shared/TESTING.md) sign in to the real agent desktop
(hotline/web/static, `make web`) with the browser softphone (setting agent_phone: webrtc) and
auto-answer on, wait for the softphone's leg, and press Ready. N SIPp callers then dial in, press 1
and are bridged to them; each caller echoes what it hears (-rtp_echo), so the browser's fake
microphone goes browser -> Hotline -> SIPp -> Hotline -> browser. Held for --hold seconds, then
measured over the window when all N are bridged: packets lost as Hotline's legs saw them (caller
leg: the echo back from SIPp, so Hotline -> SIPp -> Hotline; from `hotline contacts --json`), as
each page's WebRTC stats see it (inbound packets lost and concealed samples, outbound sent), the
kernel's drops on SIPp's and Hotline's RTP sockets; CPU of control, media workers, SIPp, and of
Chromium's whole process tree apart (it runs on the same cores: the node's share is Hotline's).
A level passes with no failed call and no packet lost, and no more concealment than
--max-concealed (% of samples the pages' jitter buffers filled in for late packets). Steps stop at
the first packet lost or failed call, or when the processes under test saturate the cores; the
figure is the largest N up to which every level passed (and, apart, counting packets only).
Target >= 50.

Chromium took about 8 % of a core per page in small runs (3 and 6 pages), so on a 2-core
machine the pages themselves crowd out the node long before 50 calls: the stage then measures the
machine, not Hotline. On a machine with more cores, --node-cpus 0,1 pins Hotline (control and
media workers) to two cores and the bench, SIPp and Chromium to the others: that is the 2-core
node's figure.

The last line printed is a JSON object of the figures. See docs/capacity.md, "Browser app".

Validation at small scale (a shared machine; seconds, not figures):
    .venv/bin/python bench/web_load.py --stage sessions --agents 40 --wallboards 4 --calls 20 \
        --duration 30 --call-seconds 20 --warmup 5 --think 5
    .venv/bin/python bench/web_load.py --stage softphones --levels 3,6 --hold 15
Full scale (a quiet machine, each run alone; --node-cpus 0,1 needs more than 2 cores: on a 2-core
machine leave it out, and the bench, SIPp and Chromium then share the node's cores):
    .venv/bin/python bench/web_load.py --stage sessions --agents 400 --wallboards 20 --calls 200 \
        --duration 300 --node-cpus 0,1
    .venv/bin/python bench/web_load.py --stage softphones --levels 10,20,30,40,50,60,70,80 \
        --hold 60 --node-cpus 0,1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the SIP load harness

import sip_load  # noqa: E402
from sip_load import (  # noqa: E402
    CLK_TCK,
    LOOPBACK,
    NUMBER,
    HotlineServer,
    Stage,
    children,
    health_value,
    percentile,
    port_free,
    proc_rss,
    proc_ticks,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # ../shared/TESTING.md: quiet, local, fake devices, loopback-only ICE
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--webrtc-ip-handling-policy=default_public_interface_only",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # Many pages at once: none of them may be throttled as a background tab would be.
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--autoplay-policy=no-user-gesture-required",
]
TARGET_EVENT_P95_S = 1.0
TARGET_API_P99_MS = 100.0
TARGET_SOFTPHONES = 50
WRAP_UP_CODES = ("consultation", "information", "wrong_number")
REASONS = ("break", "training", "paperwork", "meeting")

WEB_CONFIG = """\
# bench/web_load.py: one line whose IVR sends key 1 to the agents' queue (talk); a script and a
# form for that queue; wrap-up codes; agents (with SIP phones) and supervisors.
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
    wrap_up_seconds: {wrap_up}
    offer_timeout_seconds: 15
  - id: hold
    name: Hold
    skills: [{{skill: hold}}]
    strategy: longest_idle
lines:
  - {{id: bench, name: Bench line, number: "+7 495 000-11-22", queue: talk, hours: always}}
wrap_up_codes:
  - {{id: consultation, name: Consultation given}}
  - {{id: information, name: Information given}}
  - {{id: wrong_number, name: Wrong number}}
scripts:
  - id: talk_en
    name: Bench script
    language: en
    queues: [talk]
    steps:
      - {{id: greet, say: "Hello, how can I help?"}}
      - id: reason
        ask: What is the call about?
        choices:
          - {{value: info, label: Information, next: details}}
          - {{value: help, label: Help, next: details}}
      - id: details
        ask: Tell me more.
      - id: follow_up
        ask: Shall we call you back?
        choices:
          - {{value: "yes", label: "Yes"}}
          - {{value: "no", label: "No"}}
      - {{id: closing, say: Thank you for calling.}}
forms:
  - id: talk_en
    name: Bench form
    language: en
    queues: [talk]
    schema:
      type: object
      required: [name]
      properties:
        name: {{type: string, title: Name, maxLength: 200}}
        age: {{type: integer, title: Age, minimum: 0, maximum: 120}}
        notes: {{type: string, title: Notes, maxLength: 2000}}
      additionalProperties: false
users:
  - {{username: probe, name: REGISTER probe, roles: [agent]}}
{users}
"""


def web_config(agents: int, supervisors: int, *, wrap_up: int) -> str:
    lines = [
        f"  - {{username: agent{i:03d}, name: Bench agent {i}, roles: [agent], "
        "skills: [{skill: talk, level: 5}]}"
        for i in range(1, agents + 1)
    ]
    lines += [
        f"  - {{username: super{i:02d}, name: Bench supervisor {i}, roles: [supervisor]}}"
        for i in range(1, supervisors + 1)
    ]
    return WEB_CONFIG.format(users="\n".join(lines), wrap_up=wrap_up)


def sign_in_passwords(init_output: str) -> dict[str, str]:
    """The sign-in passwords `hotline init` printed once ("  username  password" lines)."""
    match = re.search(r"Sign-in passwords[^\n]*\n((?:  \S+\s+\S+\n?)+)", init_output)
    if match is None:
        return {}
    return dict(re.findall(r"^  (\S+)\s+(\S+)$", match.group(1), re.MULTILINE))


def spread(values: list[float], *, scale: float = 1000.0) -> dict[str, Any]:
    """count, p50, p95, p99, max of `values` (seconds), in ms by default."""
    ordered = sorted(values)

    def at(q: float) -> float | None:
        value = percentile(ordered, q)
        return None if value is None else round(value * scale, 1)

    return {
        "count": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1] * scale, 1) if ordered else None,
    }


def tree(pid: int, limit: int = 500) -> list[int]:
    """`pid` and its descendants (bounded)."""
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < limit:
        current = todo.pop()
        found.append(current)
        todo += children(current)
    return found


def tree_ticks(pid: int, *, leave_out: set[int] | None = None) -> dict[int, int]:
    """CPU ticks of `pid`'s tree, less the processes of `leave_out` and their trees."""
    out = {m for p in leave_out or () for m in tree(p)}
    found = {}
    for member in tree(pid):
        if member in out:
            continue
        ticks = proc_ticks(member)
        if ticks is not None:
            found[member] = ticks
    return found


def tree_cpu(before: dict[int, int], after: dict[int, int], seconds: float) -> float:
    """CPU (% of one core) of the processes of a tree alive at both samples."""
    used = sum(after[p] - before[p] for p in after if p in before)
    return round(100.0 * used / CLK_TCK / max(seconds, 1e-6), 1)


def cpus(text: str) -> set[int]:
    """ "0,1" or "2-5" or "0,2-3" -> the CPU numbers."""
    found: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        found.update(range(int(first), int(last or first) + 1))
    return found


def pin(pid: int, where: set[int]) -> None:
    """Every thread of `pid` and of its descendants on the CPUs `where` (threads started later
    inherit it from their parent)."""
    for member in tree(pid):
        for task in Path(f"/proc/{member}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.sched_setaffinity(int(task.name), where)


def raise_open_files(wanted: int = 16384) -> int:
    """Lift this process's soft limit of open files (Hotline, SIPp and Chromium inherit it): 400
    pages hold about 1,300 sockets here and as many in Hotline, beyond the usual 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


class WebHotline(HotlineServer):
    """sip_load's `hotline init` + `serve`, with this bench's configuration and settings."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config_text = ""
        self.extra: dict[str, Any] = {}
        self.passwords: dict[str, str] = {}

    def prepare(
        self,
        agents: int,
        *,
        config: str | None = None,
        extra: dict[str, Any] | None = None,
        accounts: int | None = None,
    ) -> None:
        super().prepare(agents, config=self.config_text, extra=self.extra, accounts=accounts)
        self.passwords = sign_in_passwords(self.init_output)

    def start(self) -> None:
        super().start()
        if self.args.node_cpus:  # the node on its cores; its media workers are up by now
            pin(self.pid, self.args.node_cpus)


class WebBench(sip_load.Bench):
    """sip_load's bench (its processes, Hotline, SIPp and monitor), with this bench's stages."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        super().__init__(args, workdir)
        self.hotline: WebHotline = WebHotline(self.processes, workdir, args)
        supervisors = args.wallboards if args.stage == "sessions" else 0
        wrap_up = args.wrap_up if args.stage == "sessions" else 0
        self.hotline.config_text = web_config(self.agents_needed(), supervisors, wrap_up=wrap_up)
        self.hotline.extra = {
            "http_cookie_secure": False,  # plain HTTP on loopback
            "agent_phone": "sip" if args.stage == "sessions" else "webrtc",
            "agent_ready_on_register": True,
        }

    def agents_needed(self) -> int:
        a = self.args
        return int(a.agents if a.stage == "sessions" else max(a.levels))

    def planned_seconds(self) -> float:
        return float(self.args.duration) + 900

    def start_plain(self) -> None:
        """Hotline without SIP phones (the softphone stage): init, serve, the monitor."""
        a = self.args
        agents = self.agents_needed()
        needed = [a.sip_port, a.http_port] + list(range(a.port_base + 10, a.port_base + 400))
        busy = [p for p in needed if not port_free(p, tcp=p in (a.sip_port, a.http_port))]
        if busy:
            raise SystemExit(f"ports in use on 127.0.0.1: {busy[:10]}: choose another --port-base")
        print(f"hotline init --file (a bench configuration with {agents} agents)...", flush=True)
        self.hotline.prepare(agents)
        self.hotline.start()
        print(
            f"  hotline serve: pid {self.hotline.pid}, media workers "
            f"{self.hotline.worker_pids()}, HTTP {LOOPBACK}:{a.http_port}",
            flush=True,
        )
        self.monitor = sip_load.Monitor(self.hotline, [])

    def machine_before(self) -> None:
        before = sip_load.machine_ticks()
        time.sleep(2.0)
        after = sip_load.machine_ticks()
        busy = 100.0 * (after[0] - before[0]) / max(1, after[1] - before[1])
        load = os.getloadavg()
        print(
            f"machine: {os.cpu_count()} cores, load average {load[0]:.2f}, {busy:.0f}% busy "
            f"before the bench{' (other jobs run: figures are pessimistic)' if busy > 10 else ''}",
            flush=True,
        )
        self.results["machine"] = {
            "cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load],
            "busy_percent_before": round(busy, 1),
        }


# ================================================================ stage A: sessions


@dataclass
class Recorder:
    """Everything measured in the sessions stage, each sample with its time (time.time()), so
    that only the window's count."""

    api: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    stamp: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # kind:type -> lag
    keep_from: float = float("inf")  # events before the window are not kept (memory)
    change: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    action: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    ws: dict[str, int] = field(default_factory=dict)
    loop_lag: list[tuple[float, float]] = field(default_factory=list)
    # username -> (state, reason, sent at, screens that have seen it)
    pending: dict[str, tuple[str, str | None, float, set[int]]] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.ws[what] = self.ws.get(what, 0) + n

    def answer(self, family: str, started: float, took: float, status: str) -> None:
        self.api.setdefault(family, []).append((started, took))
        by = self.statuses.setdefault(family, {})
        by[status] = by.get(status, 0) + 1

    @staticmethod
    def inside(samples: list[tuple[float, float]], window: tuple[float, float]) -> list[float]:
        return [v for t, v in samples if window[0] <= t <= window[1]]


class Session:
    """One browser page's traffic: an httpx client with the session cookie and CSRF header, and
    the page's WebSocket of live events."""

    kind = "page"  # desktop or wallboard

    def __init__(self, bench: SessionsStage, username: str, number: int) -> None:
        self.bench = bench
        self.username = username
        self.number = number  # tells screens apart in Recorder.pending
        self.base = f"http://{LOOPBACK}:{bench.args.http_port}"
        self.client = bench.httpx.AsyncClient(
            base_url=self.base,
            timeout=30.0,
            trust_env=False,  # no proxy from the environment: loopback only
            limits=bench.httpx.Limits(max_connections=2, max_keepalive_connections=2),
        )
        self.last_id: int | None = None
        self.closed = False
        self.tasks: list[asyncio.Task[Any]] = []

    async def call(
        self, family: str, method: str, path: str, body: Any = None
    ) -> tuple[int, Any] | None:
        """One request, timed and counted under `family`; (status, JSON body or None)."""
        rec = self.bench.rec
        started, t0 = time.time(), time.perf_counter()
        try:
            response = await self.client.request(method, path, json=body)
        except Exception as exc:  # httpx's errors and timeouts: counted, never raised
            rec.answer(family, started, time.perf_counter() - t0, f"error:{type(exc).__name__}")
            if len(rec.error_samples) < 20:
                rec.error_samples.append(f"{family}: {type(exc).__name__}: {exc}"[:200])
            return None
        took = time.perf_counter() - t0
        rec.answer(family, started, took, str(response.status_code))
        unexpected = response.status_code >= 400 and response.status_code != 409
        if unexpected and len(rec.error_samples) < 20:
            rec.error_samples.append(f"{family}: {response.status_code} {response.text[:150]}")
        data = None
        if response.content:
            with contextlib.suppress(ValueError):
                data = response.json()
        return response.status_code, data

    async def sign_in(self, password: str) -> None:
        answer = await self.call(
            "auth.login",
            "POST",
            "/api/v1/auth/login",
            {"username": self.username, "password": password},
        )
        if answer is None or answer[0] != 200:
            raise SystemExit(f"{self.username} could not sign in: {answer}")
        self.client.headers["X-CSRF-Token"] = answer[1]["csrf_token"]

    async def events(self, until: float) -> None:
        """The page's WebSocket, reconnected (resuming from the last id) if it is cut off, as the
        app does; bounded in attempts and time."""
        ws_url = f"ws://{LOOPBACK}:{self.bench.args.http_port}/api/v1/events"
        cookie = "; ".join(f"{k}={v}" for k, v in self.client.cookies.items())
        headers = {"Cookie": cookie, "Origin": self.base}
        rec = self.bench.rec
        for attempt in range(10):
            if self.closed or time.time() >= until:
                return
            url = ws_url if self.last_id is None else f"{ws_url}?last_event_id={self.last_id}"
            try:
                async with self.bench.ws_connect(
                    url, additional_headers=headers, open_timeout=30, max_size=2**22
                ) as ws:
                    rec.count(f"{self.kind}_connected")
                    async for message in ws:
                        self.receive(message, time.time())
                    code = ws.close_code
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a refused or broken connection: counted, retried
                code = None
                rec.count(f"{self.kind}_failed:{type(exc).__name__}")
            if self.closed:
                return
            rec.count(f"{self.kind}_closed:{code}")
            await asyncio.sleep(min(5.0, 0.5 * 2**attempt))

    def receive(self, message: str | bytes, arrived: float) -> None:
        rec = self.bench.rec
        event = json.loads(message)
        kind = event.get("type")
        if kind == "heartbeat":  # no event (no id, nothing changed): not in the latencies
            rec.count(f"{self.kind}_heartbeats")
            return
        self.last_id = event.get("id", self.last_id)
        rec.count(f"{self.kind}_messages")
        if kind == "snapshot":
            self.on_snapshot(event["data"])
            return
        if arrived >= rec.keep_from:
            lag = arrived - float(event["at"])
            rec.stamp.setdefault(f"{self.kind}:{kind}", []).append((arrived, lag))
        if kind != "agent.state":
            self.on_event(event)
            return
        row = event["data"]
        key = (row["username"], row["state"], row["since"])
        if key not in self.bench.seen[self.number]:
            self.bench.seen[self.number].add(key)
            rec.change.setdefault(self.kind, []).append((arrived, arrived - float(row["since"])))
        pending = rec.pending.get(row["username"])
        if pending is not None:
            state, reason, sent, screens = pending
            if row["state"] == state and row["reason"] == reason and self.number not in screens:
                screens.add(self.number)
                rec.action.setdefault(self.kind, []).append((arrived, arrived - sent))
        self.on_event(event)

    def on_snapshot(self, data: dict[str, Any]) -> None:
        return None

    def on_event(self, event: dict[str, Any]) -> None:
        return None

    async def act(self, until: float) -> None:
        """What the person does on the page, until `until`."""

    async def close(self) -> None:
        self.closed = True
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()


class Desktop(Session):
    """An agent's page: state, contact, script, form, wrap-up."""

    kind = "desktop"

    def __init__(self, bench: SessionsStage, username: str, number: int) -> None:
        super().__init__(bench, username, number)
        self.state = "offline"
        self.contact: str | None = None
        self.handled: set[str] = set()  # contacts whose script and form were loaded
        self.script: dict[str, Any] | None = None
        self.current: str | None = None  # the script's question now asked
        self.draft_version = 0
        self.refreshing = False
        self.wrapping = False

    def on_snapshot(self, data: dict[str, Any]) -> None:
        for row in data.get("agents", []):
            if row["username"] == self.username:
                self.state, self.contact = row["state"], row["contact_id"]

    def on_event(self, event: dict[str, Any]) -> None:
        if event["type"] != "agent.state" or event["data"]["username"] != self.username:
            return
        row = event["data"]
        changed = (row["state"], row["contact_id"]) != (self.state, self.contact)
        self.state, self.contact = row["state"], row["contact_id"]
        if changed and not self.refreshing:  # the page reloads /agent/me on every change
            self.refreshing = True
            self.spawn(self.refresh())
        if self.state == "wrap_up" and not self.wrapping:
            self.wrapping = True
            self.spawn(self.wrap_up())

    def spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.append(task)
        task.add_done_callback(lambda t: self.tasks.remove(t) if t in self.tasks else None)

    async def refresh(self) -> None:
        try:
            await self.call("agent.me", "GET", "/api/v1/agent/me")
        finally:
            self.refreshing = False

    async def wrap_up(self) -> None:
        try:
            await asyncio.sleep(random.uniform(1.0, 4.0))
            if self.state == "wrap_up" and not self.closed:
                body = {"code": random.choice(WRAP_UP_CODES), "note": "bench"}
                await self.call("agent.wrapup", "POST", "/api/v1/agent/wrapup", body)
        finally:
            self.wrapping = False

    async def act(self, until: float) -> None:
        """The agent's own actions, every --think seconds (jittered), until `until`."""
        think = self.bench.args.think
        await asyncio.sleep(random.uniform(0, think))
        for _ in range(100_000):
            if self.closed or time.time() >= until:
                return
            await self.step()
            await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))

    async def step(self) -> None:
        if self.state == "busy" and self.contact:
            await self.work_on(self.contact)
        elif self.state == "ready" and random.random() < 0.25:
            await self.change("not_ready", random.choice(REASONS))
        elif self.state == "not_ready":
            await self.change("ready", None)
        else:
            await self.call("agent.me", "GET", "/api/v1/agent/me")

    async def change(self, state: str, reason: str | None) -> None:
        self.bench.rec.pending[self.username] = (state, reason, time.time(), set())
        body: dict[str, Any] = {"state": state}
        if reason:
            body["reason"] = reason
        await self.call("agent.state", "POST", "/api/v1/agent/state", body)

    async def work_on(self, contact: str) -> None:
        """The contact's script and form: load them once, then one answer a step."""
        base = f"/api/v1/contacts/{contact}"
        if contact not in self.handled:
            self.handled.add(contact)
            answer = await self.call("contacts.script_form", "GET", f"{base}/script-form")
            self.script, self.draft_version = None, 0
            if answer is not None and answer[0] == 200 and answer[1]:
                self.script = answer[1].get("script")
                self.draft_version = (answer[1].get("draft") or {}).get("version", 0)
                current = (answer[1].get("script_state") or {}).get("current")
                self.current = current or (self.script or {}).get("start")
            return
        if self.script is not None and self.current is not None:
            step = next((s for s in self.script["steps"] if s["id"] == self.current), None)
            if step is not None:
                choices = step.get("choices") or []
                value = random.choice(choices)["value"] if choices else "caller said something"
                answer = await self.call(
                    "contacts.script_answer",
                    "PUT",
                    f"{base}/script-answers",
                    {"step": step["id"], "answer": value},
                )
                if answer is not None and answer[0] == 200 and answer[1]:
                    self.current = answer[1].get("current")
                return
        data = {"name": f"Caller {random.randint(1, 9999)}", "age": random.randint(18, 90)}
        answer = await self.call(
            "contacts.form_draft",
            "PUT",
            f"{base}/form-draft",
            {"base_version": self.draft_version, "data": data},
        )
        if answer is not None and answer[0] == 200 and answer[1]:
            self.draft_version = answer[1].get("version", self.draft_version)


class Wallboard(Session):
    """A supervisor's wallboard: the snapshot, the stream, a reload now and then."""

    kind = "wallboard"

    async def act(self, until: float) -> None:
        every = self.bench.args.wallboard_reload
        await asyncio.sleep(random.uniform(0, every))
        for _ in range(100_000):
            if self.closed or time.time() >= until:
                return
            await self.call("wallboard", "GET", "/api/v1/wallboard")
            await self.call("queues", "GET", "/api/v1/queues")
            await asyncio.sleep(every)


class SessionsStage:
    """Stage A: desktops and wallboards while calls run."""

    def __init__(self, bench: WebBench) -> None:
        import httpx
        from websockets.asyncio.client import connect

        self.bench = bench
        self.args = bench.args
        self.httpx = httpx
        self.ws_connect = connect
        self.rec = Recorder()
        self.seen: list[set[tuple[str, str, float]]] = []
        self.sessions: list[Session] = []

    def new(self, cls: type[Session], username: str) -> Session:
        self.seen.append(set())
        session = cls(self, username, len(self.seen) - 1)
        self.sessions.append(session)
        return session

    async def run(self) -> dict[str, Any]:
        a, bench = self.args, self.bench
        assert bench.monitor is not None
        passwords = bench.hotline.passwords
        desks = [self.new(Desktop, f"agent{i:03d}") for i in range(1, a.agents + 1)]
        boards = [self.new(Wallboard, f"super{i:02d}") for i in range(1, a.wallboards + 1)]
        sampler = asyncio.ensure_future(self.sample(time.time() + a.duration + 3600))
        lag = asyncio.ensure_future(self.loop_lag(time.time() + a.duration + 3600))
        try:
            return await self.drive(desks, boards, passwords)
        finally:
            for task in (sampler, lag):
                task.cancel()
            await asyncio.gather(sampler, lag, return_exceptions=True)
            await asyncio.gather(*(s.close() for s in self.sessions), return_exceptions=True)

    async def drive(
        self, desks: list[Session], boards: list[Session], passwords: dict[str, str]
    ) -> dict[str, Any]:
        a, bench = self.args, self.bench
        t0 = time.monotonic()
        gate = asyncio.Semaphore(4)  # sign-in hashes with argon2: a few at a time, as a shift

        async def sign_in(session: Session) -> None:
            async with gate:
                await session.sign_in(passwords[session.username])
                if isinstance(session, Desktop):
                    await session.call("agent.me", "GET", "/api/v1/agent/me")
                else:
                    await session.call("wallboard", "GET", "/api/v1/wallboard")

        await asyncio.wait_for(asyncio.gather(*(sign_in(s) for s in self.sessions)), timeout=600)
        print(
            f"  {len(desks)} agents and {len(boards)} supervisors signed in "
            f"({time.monotonic() - t0:.0f} s)",
            flush=True,
        )
        # Pages and actions last until the window ends (they are then closed), or an hour.
        ramp = a.calls / a.call_rate
        until = time.time() + 3600
        for session in self.sessions:
            session.tasks.append(asyncio.ensure_future(session.events(until)))
        await self.connected(len(self.sessions), 60)
        print(f"  {len(self.sessions)} WebSockets open; actions begin", flush=True)
        for session in self.sessions:
            session.tasks.append(asyncio.ensure_future(session.act(until)))
        stage = Stage("sessions", started=time.monotonic(), started_wall=time.time())
        stage.log_offset = bench.hotline.log_size()
        stage.udp_mark = bench.monitor.udp_mark() if bench.monitor else {}
        self.stage = stage
        pcaps = bench.pcaps(stage, a.call_seconds + 10)
        total = int(a.calls * (ramp + a.warmup + a.duration) / a.call_seconds) + a.calls
        callers = bench.sipp(
            stage,
            "callers",
            "caller.xml",
            calls=total,
            rate=a.call_rate,
            limit=a.calls,
            pause_ms=int(a.call_seconds * 1000),
            timeout=a.call_seconds + ramp + a.warmup + a.duration + 120,
            pcap=pcaps["talk"],
            extra=["-key", "caller", NUMBER["talk"]],
            kind="talk",
        )
        self.callers = callers
        print(
            f"  {a.calls} calls kept in progress (set up at {a.call_rate:g}/s, each "
            f"{a.call_seconds:g} s, at most {total}); window: {a.duration:g} s after "
            f"{ramp + a.warmup:.0f} s of ramp and warm-up",
            flush=True,
        )
        start = time.time()
        window = (start + ramp + a.warmup, start + ramp + a.warmup + a.duration)
        self.rec.keep_from = window[0]
        mono = time.monotonic()
        stage.window = (mono + ramp + a.warmup, mono + ramp + a.warmup + a.duration)
        bench_cpu0 = time.process_time()
        for _ in range(int(window[1] - start) + 60):  # wait for the window's end, bounded
            if time.time() >= window[1]:
                break
            if callers.process.poll() is not None:
                print("  the SIPp callers exited early", flush=True)
                break
            if bench.hotline.process is not None and bench.hotline.process.poll() is not None:
                raise SystemExit(f"hotline serve died:\n{bench.hotline.log_tail()}")
            await asyncio.sleep(1.0)
        window = (window[0], min(window[1], time.time()))
        bench_cpu = 100.0 * (time.process_time() - bench_cpu0) / max(1.0, time.time() - start)
        self.window = window
        self.bench_cpu = round(bench_cpu, 1)
        return {}

    async def connected(self, wanted: int, seconds: float) -> None:
        for _ in range(int(seconds * 4)):
            opened = sum(v for k, v in self.rec.ws.items() if k.endswith("_connected"))
            if opened >= wanted:
                return
            await asyncio.sleep(0.25)
        raise SystemExit(f"only {opened} of {wanted} WebSockets opened: {self.rec.ws}")

    async def sample(self, until: float) -> None:
        assert self.bench.monitor is not None
        while time.time() < until:
            self.bench.monitor.sample()
            await asyncio.sleep(1.0)

    async def loop_lag(self, until: float) -> None:
        """How late this process's event loop wakes up: it adds to every latency measured."""
        while time.time() < until:
            t0 = time.perf_counter()
            await asyncio.sleep(0.1)
            self.rec.loop_lag.append((time.time(), time.perf_counter() - t0 - 0.1))

    def figures(self) -> dict[str, Any]:
        rec, window = self.rec, self.window
        api = {}
        for family, samples in sorted(rec.api.items()):
            inside = rec.inside(samples, window)
            if inside:  # sign-ins happen before the window: reported apart
                api[family] = spread(inside)
        setup = {k: spread([v for _, v in s]) for k, s in rec.api.items() if k == "auth.login"}
        errors, conflicts = 0, 0
        for statuses in rec.statuses.values():
            for status, n in statuses.items():
                if status == "409":
                    conflicts += n
                elif not status.startswith(("2", "3")):
                    errors += n
        events: dict[str, Any] = {}
        for kind in ("desktop", "wallboard"):
            events[kind] = {
                "server_stamp_to_screen_ms": spread(
                    [
                        lag
                        for key, samples in rec.stamp.items()
                        if key.startswith(f"{kind}:")
                        for lag in rec.inside(samples, window)
                    ]
                ),
                "state_change_to_screen_ms": spread(rec.inside(rec.change.get(kind, []), window)),
                "action_to_screen_ms": spread(rec.inside(rec.action.get(kind, []), window)),
            }
        by_type = {k: spread(rec.inside(v, window)) for k, v in sorted(rec.stamp.items())}
        return {
            "api_ms": api,
            "sign_in_ms": setup.get("auth.login"),
            "api_statuses": rec.statuses,
            "api_errors": errors,
            "api_conflicts_409": conflicts,
            "api_error_samples": rec.error_samples,
            "events": events,
            "events_by_type_ms": by_type,
            "websocket": rec.ws,
            "bench_loop_lag_ms": spread(rec.inside(rec.loop_lag, window)),
            "bench_cpu_percent": self.bench_cpu,
        }


def run_sessions(bench: WebBench) -> dict[str, Any]:
    a = bench.args
    bench.setup()  # sip_load: init, serve, every agent's SIP phone registered, phones answering
    stage_runner = SessionsStage(bench)
    import uvloop

    uvloop.run(stage_runner.run())
    stage = stage_runner.stage
    callers = stage_runner.callers
    # The calls in progress finish (SIGUSR1: SIPp places no new call), bounded.
    bench.processes.stop(callers.process, sig=signal.SIGUSR1, grace=a.call_seconds + 30)
    bench.wait_sipps([callers], time.monotonic() + 5)
    assert bench.monitor is not None
    mono_end = stage.window[1]
    stage.window = (stage.window[0], min(mono_end, time.monotonic()))
    reached = max(
        bench.monitor.peak(*stage.window, "inbound"),
        bench.monitor.peak(*stage.window, "sipp_calls"),
    )
    bridged = bench.monitor.peak(*stage.window, "busy")
    result = stage_runner.figures()
    result["resources"] = bench.monitor.window(*stage.window)
    result["sipp"] = bench.sipp_figures([callers])
    result["hotline_log_problems"] = bench.hotline.log_problems(stage.log_offset)
    bench.quality(stage, callers.calls)
    result["contacts"] = stage.result.get("contacts")
    result["rtp"] = stage.result.get("rtp")
    result["calls_in_progress_reached"] = reached
    result["agents_talking_reached"] = bridged
    result["window_seconds"] = round(stage_runner.window[1] - stage_runner.window[0], 1)
    result["agents"], result["wallboards"], result["calls"] = a.agents, a.wallboards, a.calls
    result["verdict"] = sessions_verdict(result)
    report_sessions(result)
    return result


def sessions_verdict(r: dict[str, Any]) -> dict[str, Any]:
    worst: dict[str, float | None] = {}
    for kind, figures in r["events"].items():
        values = [f["p95"] for f in figures.values() if f["p95"] is not None]
        worst[kind] = max(values) if values else None
    api_p99 = {k: v["p99"] for k, v in r["api_ms"].items() if k != "auth.login"}
    worst_api = max((v for v in api_p99.values() if v is not None), default=None)
    failed = sum(f["failed"] for f in r["sipp"].values())
    return {
        "event_to_screen_p95_ms_worst": worst,
        "api_p99_ms_worst": worst_api,
        "met": {
            "event_to_screen_p95": all(
                v is not None and v < TARGET_EVENT_P95_S * 1000 for v in worst.values()
            ),
            "api_p99": worst_api is not None and worst_api < TARGET_API_P99_MS,
            "no_errors": r["api_errors"] == 0 and failed == 0,
            "calls_reached": r["calls_in_progress_reached"] >= r["calls"],
        },
        "sipp_failed_calls": failed,
        "bench_loop_lag_p99_ms": r["bench_loop_lag_ms"]["p99"],
    }


def report_sessions(r: dict[str, Any]) -> None:
    print(
        f"sessions: {r['agents']} desktops, {r['wallboards']} wallboards, "
        f"{r['calls_in_progress_reached']} calls in progress reached (target {r['calls']}), "
        f"{r['agents_talking_reached']} agents talking at most, window {r['window_seconds']} s",
        flush=True,
    )
    for kind, figures in r["events"].items():
        parts = [
            f"{name.removesuffix('_ms').replace('_', ' ')} p50 {f['p50']} p95 {f['p95']} "
            f"p99 {f['p99']} ms (n={f['count']})"
            for name, f in figures.items()
        ]
        print(f"  {kind}: " + "; ".join(parts), flush=True)
    for family, f in r["api_ms"].items():
        print(
            f"  API {family}: p50 {f['p50']} p95 {f['p95']} p99 {f['p99']} max {f['max']} ms "
            f"(n={f['count']}); statuses {r['api_statuses'].get(family)}",
            flush=True,
        )
    if r["sign_in_ms"]:
        s = r["sign_in_ms"]
        print(f"  sign-in (argon2, all): p50 {s['p50']} p99 {s['p99']} ms (n={s['count']})")
    print(
        f"  errors {r['api_errors']}, 409 conflicts {r['api_conflicts_409']}; WebSocket "
        f"{r['websocket']}; bench CPU {r['bench_cpu_percent']}%, its loop lag p99 "
        f"{r['bench_loop_lag_ms']['p99']} ms",
        flush=True,
    )
    res = r.get("resources") or {}
    if res:
        print(
            "  CPU % of a core: "
            + ", ".join(f"{k} {v:.0f}" for k, v in res["cpu_percent"].items())
            + f"; machine {res['machine_busy_percent']}% busy; RSS MB "
            + ", ".join(f"{k} {v:.0f}" for k, v in res["rss_mb"].items()),
            flush=True,
        )
    v = r["verdict"]
    print(
        f"  against the targets: event to screen p95 < {TARGET_EVENT_P95_S * 1000:g} ms: "
        f"{'met' if v['met']['event_to_screen_p95'] else 'NOT met'} "
        f"(worst {v['event_to_screen_p95_ms_worst']}); API p99 < {TARGET_API_P99_MS:g} ms: "
        f"{'met' if v['met']['api_p99'] else 'NOT met'} (worst {v['api_p99_ms_worst']}); "
        f"errors: {'none' if v['met']['no_errors'] else 'SOME'}",
        flush=True,
    )


# ================================================================ stage B: softphones

INIT_SCRIPT = """
try { localStorage.setItem("hotline.autoAnswer", "1"); } catch (e) {}
(() => {
  const Original = window.RTCPeerConnection;
  if (!Original || window.__benchPeers) return;
  window.__benchPeers = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__benchPeers.push(this); }
  };
})();
"""

STATS_SCRIPT = """
async () => {
  const out = {inbound: [], outbound: [], connected: 0};
  for (const pc of window.__benchPeers || []) {
    if (pc.connectionState === "connected") out.connected += 1;
    if (pc.connectionState === "closed") continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.kind !== "audio") return;
      if (s.type === "inbound-rtp") out.inbound.push({
        received: s.packetsReceived || 0, lost: s.packetsLost || 0, jitter: s.jitter || 0,
        samples: s.totalSamplesReceived || 0, concealed: s.concealedSamples || 0});
      if (s.type === "outbound-rtp") out.outbound.push({sent: s.packetsSent || 0});
    });
  }
  return out;
}
"""


@dataclass
class Page:
    username: str
    context: Any
    page: Any
    before: dict[str, Any] = field(default_factory=dict)


class SoftphonesStage:
    """Stage B: N browser agents on the real desktop, N SIPp callers bridged to them."""

    def __init__(self, bench: WebBench) -> None:
        self.bench = bench
        self.args = bench.args
        self.pages: list[Page] = []
        self.chromium: Any = None

    def start_chromium(self) -> int:
        a, bench = self.args, self.bench
        port = int(a.port_base) + 5
        if not port_free(port, tcp=True):
            raise SystemExit(f"port {port} (Chromium's DevTools) is in use")
        profile = bench.workdir / "chromium"
        profile.mkdir(exist_ok=True)
        args = [CHROMIUM, *CHROMIUM_ARGS, f"--remote-debugging-port={port}"]
        args += ["--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}"]
        self.chromium = bench.processes.start([*args, "about:blank"], cwd=bench.workdir)
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5):
                return port
            if self.chromium.poll() is not None:
                raise SystemExit("Chromium exited at start")
            time.sleep(0.2)
        raise SystemExit("Chromium's DevTools port did not open within 20 s")

    async def run(self) -> dict[str, Any]:
        from playwright.async_api import async_playwright

        port = self.start_chromium()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.connect_over_cdp(f"http://{LOOPBACK}:{port}")
            try:
                return await self.levels(browser)
            finally:
                for page in self.pages:
                    with contextlib.suppress(Exception):
                        await page.context.close()
                with contextlib.suppress(Exception):
                    await browser.close()

    async def open_page(self, browser: Any, username: str) -> Page:
        """An agent signs in to the desktop, with auto-answer, and waits for the softphone."""
        base = f"http://{LOOPBACK}:{self.args.http_port}"
        context = await browser.new_context()
        await context.add_init_script(INIT_SCRIPT)
        page = await context.new_page()
        await page.goto(f"{base}/login", timeout=30_000)
        await page.fill("input[autocomplete=username]", username)
        await page.fill(
            "input[autocomplete=current-password]", self.bench.hotline.passwords[username]
        )
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/agent", timeout=30_000)
        await page.wait_for_selector(".phone-status.phone-connected", timeout=30_000)
        await page.click("button.ready", timeout=15_000)
        return Page(username, context, page)

    async def stats(self, page: Page) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await page.page.evaluate(STATS_SCRIPT)
            return result
        except Exception as exc:  # a crashed page: counted as failed
            return {"inbound": [], "outbound": [], "connected": 0, "error": str(exc)[:200]}

    async def ready(self, wanted: int, seconds: float) -> int:
        agents = 0
        for _ in range(int(seconds * 2)):
            health = self.bench.hotline.health() or {}
            agents = int(health.get("agents", {}).get("ready", 0))
            if agents >= wanted:
                break
            await asyncio.sleep(0.5)
        return agents

    async def levels(self, browser: Any) -> dict[str, Any]:
        a = self.args
        results = []
        for level in a.levels:
            t0 = time.monotonic()
            while len(self.pages) < level:
                batch = [f"agent{i:03d}" for i in range(len(self.pages) + 1, level + 1)][:5]
                opened = await asyncio.gather(
                    *(self.open_page(browser, name) for name in batch), return_exceptions=True
                )
                for item in opened:
                    if isinstance(item, BaseException):
                        raise SystemExit(f"a browser agent could not get ready: {item!r}")
                    self.pages.append(item)
            ready = await self.ready(level, 60)
            print(
                f"level {level}: {len(self.pages)} browser agents signed in, softphones "
                f"connected, {ready} ready ({time.monotonic() - t0:.0f} s)",
                flush=True,
            )
            if ready < level:
                failure = f"{ready} of {level} agents ready"
                results.append({"level": level, "ok": False, "failures": [failure]})
                break
            result = await self.level(level)
            results.append(result)
            report_level(result)
            if not result["ok"]:
                print(f"  level {level}: {'; '.join(result['failures'])}", flush=True)
            if not result["no_packet_loss"]:  # concealment alone: the next level may still tell
                print(f"  level {level}: packets lost or calls failed: the steps stop", flush=True)
                break
            if result["under_test_cpu_percent"] >= 97 * (os.cpu_count() or 1):
                print(f"  level {level}: the cores are saturated: the steps stop", flush=True)
                break
        return {"levels": results}

    async def level(self, level: int) -> dict[str, Any]:
        a, bench = self.args, self.bench
        assert bench.monitor is not None
        stage = Stage(f"level-{level}", started=time.monotonic(), started_wall=time.time())
        stage.log_offset = bench.hotline.log_size()
        stage.udp_mark = bench.monitor.udp_mark()
        ramp = level / a.call_rate
        pause = ramp + a.hold + 4
        # The caller presses 1 and sends nothing else: what it sends after is the echo.
        pcap = bench.workdir / stage.name / "key1.pcap"
        sip_load.build_caller_pcap(pcap, seconds=pause + 5, digit="1", speech=False)
        callers = bench.sipp(
            stage,
            "callers",
            "caller.xml",
            calls=level,
            rate=a.call_rate,
            limit=level,
            pause_ms=int(pause * 1000),
            timeout=pause + ramp + 90,
            pcap=pcap,
            echo=True,
            extra=["-key", "caller", NUMBER["talk"]],
            kind="talk",
        )
        # All bridged: the window opens; bounded wait.
        bridged_at = None
        for _ in range(int((ramp + 30) * 2)):
            bench.monitor.sample()
            latest = bench.monitor.samples[-1].health
            if latest is not None and health_value(latest, "busy") >= level:
                bridged_at = time.monotonic()
                break
            if callers.process.poll() is not None:
                break
            await asyncio.sleep(0.5)
        start = bridged_at if bridged_at is not None else time.monotonic()
        await asyncio.sleep(2.0)  # settled
        before = await asyncio.gather(*(self.stats(p) for p in self.pages[:level]))
        chromium_before = tree_ticks(self.chromium.pid)
        started = {p.pid for p in bench.processes.live}  # Hotline, SIPp, Chromium: apart
        bench_before = tree_ticks(os.getpid(), leave_out=started)
        w0 = time.monotonic()
        end = start + a.hold
        for _ in range(int(a.hold) + 10):
            if time.monotonic() >= end or callers.process.poll() is not None:
                break
            bench.monitor.sample()
            await asyncio.sleep(1.0)
        w1 = time.monotonic()
        after = await asyncio.gather(*(self.stats(p) for p in self.pages[:level]))
        chromium_after = tree_ticks(self.chromium.pid)
        bench_after = tree_ticks(os.getpid(), leave_out=started)
        stage.window = (w0, w1)
        resources = bench.monitor.window(w0, w1)
        me = os.getpid()
        bench_cpu = tree_cpu({me: bench_before.get(me, 0)}, {me: bench_after.get(me, 0)}, w1 - w0)
        driver_cpu = tree_cpu(bench_before, bench_after, w1 - w0) - bench_cpu
        chromium_cpu = tree_cpu(chromium_before, chromium_after, w1 - w0)
        hotline_cpu = sum(
            v for k, v in resources.get("cpu_percent", {}).items() if not k.startswith("sipp:")
        )
        under_test = (
            hotline_cpu + resources.get("sipp_cpu_percent_total", 0) + chromium_cpu + bench_cpu
        ) + driver_cpu
        chromium_rss = sum(proc_rss(p) for p in chromium_after)
        # The callers hang up; agents are ready again (no wrap-up here).
        deadline = time.monotonic() + pause + ramp + 60
        while callers.process.poll() is None and time.monotonic() < deadline:
            bench.monitor.sample()
            await asyncio.sleep(1.0)
        bench.wait_sipps([callers], time.monotonic() + 5)
        await self.ready(level, 30)
        bench.quality(stage, level)
        drops = bench.monitor.udp_drops(
            stage.udp_mark,
            {
                "hotline_rtp": set(range(a.media_ports[0], a.media_ports[1] + 1)),
                "sipp_echo_rtp": {callers.media_port, callers.media_port + 2},
            },
        )
        browser = browser_figures(before, after)
        sipp = bench.sipp_figures([callers])
        rtp = stage.result.get("rtp") or {}
        hotline_lost = sum(v["packets_lost"] for v in rtp.values())
        failed = sum(f["failed"] for f in sipp.values())
        successful = sum(f["successful"] for f in sipp.values())
        with_agent = (stage.result.get("contacts") or {}).get("by_kind", {})
        answered = with_agent.get("talk", {}).get("with_agent", 0)
        problems = bench.hotline.log_problems(stage.log_offset)
        checks = {
            "not every call was bridged": bridged_at is None,
            f"SIPp: {failed} failed, {successful} of {level} successful": failed > 0
            or successful != level,
            f"{answered} of {level} answered by a browser": answered < level,
            f"Hotline's legs lost {hotline_lost} packets": hotline_lost > 0,
            f"the pages lost {browser['inbound_lost']} packets": browser["inbound_lost"] != 0,
            f"{browser['connected']} of {level} softphones connected": browser["connected"] < level,
            "the pages received no audio": browser["inbound_received"] <= 0,
            f"sockets dropped packets: {drops}": sum(drops.values()) > 0,
            "ERROR lines in Hotline's log": sip_load.hotline_errors(
                {"hotline_log_problems": problems}
            )
            > 0,
        }
        failures = [why for why, failed_check in checks.items() if failed_check]
        lossless = not failures
        concealed = browser["concealed_percent"] or 0.0
        if concealed > a.max_concealed:
            failures.append(
                f"the pages concealed {concealed}% of samples (limit {a.max_concealed}%)"
            )
        return {
            "level": level,
            "ok": not failures,
            "no_packet_loss": lossless,
            "failures": failures,
            "all_bridged": bridged_at is not None,
            "window_seconds": round(w1 - w0, 1),
            "sipp": sipp,
            "answered_by_browsers": answered,
            "hotline_rtp": rtp,
            "hotline_rtp_lost": hotline_lost,
            "browser": browser,
            "udp_drops": drops,
            "resources": resources,
            "hotline_cpu_percent": round(hotline_cpu, 1),
            "chromium_cpu_percent": chromium_cpu,
            "chromium_processes": len(chromium_after),
            "chromium_rss_mb": round(chromium_rss / 2**20, 1),
            "bench_cpu_percent": bench_cpu,
            "playwright_driver_cpu_percent": round(driver_cpu, 1),
            "under_test_cpu_percent": round(under_test, 1),
            "hotline_log_problems": problems,
        }


def browser_figures(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    """What the pages' WebRTC stats saw over the window (differences of their counters)."""

    def total(stats: list[dict[str, Any]], side: str, key: str) -> int:
        return sum(int(s[key]) for page in stats for s in page.get(side, []))

    def delta(side: str, key: str) -> int:
        return total(after, side, key) - total(before, side, key)

    jitter = sorted(s["jitter"] for page in after for s in page.get("inbound", []))
    samples = delta("inbound", "samples")
    return {
        "connected": sum(int(p.get("connected", 0)) for p in after),
        "inbound_received": delta("inbound", "received"),
        "inbound_lost": delta("inbound", "lost"),
        "outbound_sent": delta("outbound", "sent"),
        # The echo brings every packet a page sends back to it: what is still missing at the
        # window's end is in flight (a few per page) or lost on the way.
        "loop_missing": delta("outbound", "sent") - delta("inbound", "received"),
        "concealed_samples": delta("inbound", "concealed"),
        "samples_received": samples,
        "concealed_percent": round(100.0 * delta("inbound", "concealed") / samples, 3)
        if samples
        else None,
        "jitter_ms_max": round(jitter[-1] * 1000, 1) if jitter else None,
        "page_errors": [p["error"] for p in after if "error" in p][:5],
    }


def report_level(r: dict[str, Any]) -> None:
    res = r.get("resources") or {}
    cpu = res.get("cpu_percent", {})
    b = r["browser"]
    print(
        f"  level {r['level']}: {'OK' if r['ok'] else 'FAILED'}: {r['answered_by_browsers']} "
        f"answered by browsers; Hotline legs lost {r['hotline_rtp_lost']} packets; pages "
        f"received {b['inbound_received']} (lost {b['inbound_lost']}, concealed "
        f"{b['concealed_percent']}%), sent {b['outbound_sent']}; socket drops {r['udp_drops']}",
        flush=True,
    )
    print(
        "    CPU % of a core over the window: "
        + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items())
        + f" (Hotline {r['hotline_cpu_percent']:.0f}); Chromium (all {r['chromium_processes']} "
        f"processes) {r['chromium_cpu_percent']:.0f}, this bench {r['bench_cpu_percent']:.0f} "
        f"and its Playwright driver {r['playwright_driver_cpu_percent']:.0f}; machine "
        f"{res.get('machine_busy_percent')}% busy",
        flush=True,
    )


def passed_up_to(levels: list[dict[str, Any]], check: str) -> int:
    """The largest level such that it and every level before it passed `check` (0: none)."""
    best = 0
    for level in levels:
        if not level.get(check):
            break
        best = level["level"]
    return best


def run_softphones(bench: WebBench) -> dict[str, Any]:
    static = sip_load.ROOT / "hotline" / "web" / "static" / "index.html"
    if not static.exists():
        raise SystemExit("the browser app is not built: run `make web` first")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} (Debian package chromium) is not installed")
    bench.start_plain()
    import uvloop

    stage = SoftphonesStage(bench)
    result = uvloop.run(stage.run())
    result["most_calls_without_loss"] = passed_up_to(result["levels"], "ok")
    result["most_calls_without_packet_loss"] = passed_up_to(result["levels"], "no_packet_loss")
    result["target"] = TARGET_SOFTPHONES
    result["met"] = result["most_calls_without_loss"] >= TARGET_SOFTPHONES
    print(
        f"softphones: the most browser calls without audio loss: "
        f"{result['most_calls_without_loss']} (no packet lost and concealment within "
        f"{bench.args.max_concealed}%; without a packet lost: "
        f"{result['most_calls_without_packet_loss']}); target {TARGET_SOFTPHONES}: "
        f"{'met' if result['met'] else 'NOT met'}; levels tried "
        f"{[r['level'] for r in result['levels']]}",
        flush=True,
    )
    return result


# ===================================================================== main


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stage", choices=["sessions", "softphones"], required=True)
    parser.add_argument("--agents", type=int, default=400, help="sessions: agent desktops")
    parser.add_argument("--wallboards", type=int, default=20, help="sessions: wallboards")
    parser.add_argument("--calls", type=int, default=200, help="sessions: calls in progress")
    parser.add_argument("--duration", type=float, default=300.0, help="sessions: window, s")
    parser.add_argument("--warmup", type=float, default=15.0, help="sessions: s before it")
    parser.add_argument("--call-seconds", type=float, default=60.0, help="sessions: call length")
    parser.add_argument("--call-rate", type=float, default=10.0, help="call setups per second")
    parser.add_argument("--think", type=float, default=10.0, help="s between an agent's actions")
    parser.add_argument("--wrap-up", type=int, default=10, help="sessions: queue wrap-up, s")
    parser.add_argument("--wallboard-reload", type=float, default=60.0)
    parser.add_argument(
        "--levels",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10, 20, 30, 40, 50, 60, 70, 80],
        help="softphones: browser calls per step",
    )
    parser.add_argument("--hold", type=float, default=60.0, help="softphones: s each step held")
    parser.add_argument(
        "--max-concealed",
        type=float,
        default=0.5,
        help="softphones: %% of samples the pages may conceal (late packets) at a lossless level",
    )
    parser.add_argument("--ring-ms", type=int, default=300, help="SIP agent phones ring this long")
    parser.add_argument(
        "--phone-groups", type=int, default=4, help="SIPp UASes the agents' phones are spread over"
    )
    parser.add_argument("--media-workers", type=int, help="default: Hotline's (one per core)")
    parser.add_argument("--max-calls", type=int, help="Hotline's max_calls (default: enough)")
    parser.add_argument("--retry-after", type=int, default=30)
    parser.add_argument(
        "--port-base",
        type=int,
        default=17000,
        help="Hotline's SIP and HTTP ports (base, base+1), Chromium's DevTools (base+5), SIPp's "
        "(base+10..+399)",
    )
    parser.add_argument(
        "--media-ports",
        type=lambda s: tuple(int(x) for x in s.split("-")),
        default=(30000, 32699),
        help="Hotline's RTP range (default 30000-32699: apart from sip_load's and the tests')",
    )
    parser.add_argument(
        "--node-cpus",
        type=cpus,
        help="the node's CPUs (e.g. 0,1): Hotline is pinned to them, and this bench, SIPp and "
        "Chromium to the others (--peer-cpus), so that a machine with more cores measures what a "
        "node of that many cores carries",
    )
    parser.add_argument("--peer-cpus", type=cpus, help="default: every CPU but the node's")
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="sessions: run Hotline on a fresh PostgreSQL database made with this admin URL "
        "(as bench/sip_load.py does) instead of SQLite",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.node_cpus:
        available = os.sched_getaffinity(0)
        args.peer_cpus = args.peer_cpus or (available - args.node_cpus)
        if not args.node_cpus <= available or not args.peer_cpus:
            print(f"--node-cpus: this machine has CPUs {sorted(available)}", file=sys.stderr)
            return 2
        pin(os.getpid(), args.peer_cpus)  # what this bench starts inherits it
        # Hotline makes a media worker per core it sees: the node has only its own.
        args.media_workers = args.media_workers or len(args.node_cpus)
    args.sip_port, args.http_port = args.port_base, args.port_base + 1
    if args.postgres and args.stage != "sessions":
        print("--postgres: for the sessions stage only", file=sys.stderr)
        return 2
    if args.max_calls is None:
        args.max_calls = (args.calls if args.stage == "sessions" else max(args.levels)) * 2 + 50
    if args.stage == "softphones":
        args.call_rate = min(args.call_rate, 5.0)
    if shutil.which("sipp") is None:
        print("SIPp (Debian package sip-tester) is not installed", file=sys.stderr)
        return 2
    open_files = raise_open_files()
    if args.stage == "sessions" and open_files < 4 * (args.agents + args.wallboards) + 1000:
        print(f"open files are limited to {open_files}: too few for these pages", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix=f"hotline-web-load-{args.stage}-"))
    bench = WebBench(args, workdir)

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    results: dict[str, Any] = {
        "bench": "web_load",
        "stage": args.stage,
        "database": "postgresql" if args.postgres else "sqlite",
    }
    if args.node_cpus:
        results["node_cpus"], results["peer_cpus"] = sorted(args.node_cpus), sorted(args.peer_cpus)
    code = 1
    run: Callable[[WebBench], dict[str, Any]] = (
        run_sessions if args.stage == "sessions" else run_softphones
    )
    try:
        print(f"bench/web_load.py --stage {args.stage}: work directory {workdir}", flush=True)
        bench.machine_before()
        results.update(run(bench))
        results["machine"] = bench.results.get("machine")
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
        results["hotline_exit"] = bench.hotline.stop()
        bench.processes.stop_all()
        bench.hotline.drop_postgres()
        if args.keep or "error" in results:
            print(f"work directory kept: {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
