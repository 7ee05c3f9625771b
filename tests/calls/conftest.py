"""A whole Hotline for the call path's tests, on 127.0.0.1 with explicit free ports: the platform
`hotline serve` runs (media worker, router, SIP endpoint and registrar, call layer), on a fresh
SQLite database holding a small configuration and IVR flow. Peers are SIPp (callers, agents'
phones, callees) and, where what a peer received must be counted, an `RtpPeer` carrying the
peer's audio. Every wait is bounded."""

from __future__ import annotations

import asyncio
import random
import shutil
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.app import App, Platform, build_app, start_platform
from hotline.config.loader import parse_config
from hotline.config.service import LineFlow, import_config
from hotline.contacts.models import Contact, ContactEvent
from hotline.core.settings import Settings
from hotline.db import migrate
from hotline.routing.types import AgentState
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.sip.endpoint import EndpointConfig
from hotline.users.models import User
from tests.calls import scenarios
from tests.config.factories import FAST_HASHING
from tests.conftest import scratch_database
from tests.telephony.sip.conftest import FAST
from tests.telephony.sip.sipp import SippResult, finish_sipp, free_port, run_sipp, start_sipp

SCENARIO_DIR = Path(__file__).parent.parent / "telephony" / "sip" / "scenarios"
REALM = "hotline.test"
CITY = "+74950001122"  # the city line's number, as a carrier would send it
MINISTRY = "74950003344"

CONFIG = textwrap.dedent(
    """\
    version: 1
    skills:
      - {id: help, name: Help}
      - {id: ministry, name: Ministry questions}
    calendars:
      - id: always
        name: Around the clock
        timezone: UTC
        hours:
          - {days: daily, open: "00:00", close: "24:00"}
    queues:
      - id: help
        name: Help
        skills: [{skill: help}]
        strategy: longest_idle
        wrap_up_seconds: {wrap_up}
        offer_timeout_seconds: {offer_timeout}
        record: true
        overflow:
          - {after: {callback_after}, action: callback}
      - id: ministry
        name: Ministry
        skills: [{skill: ministry}]
        strategy: longest_idle
        wrap_up_seconds: 1
        offer_timeout_seconds: 8
    lines:
      - {id: city, name: City line, number: "+7 495 000-11-22", queue: help}
      - id: ministry
        name: Ministry line
        number: "+7 495 000-33-44"
        kind: department
        department: ministry
        queue: ministry
    users:
      - username: agent01
        name: Anna Ivanova
        roles: [agent]
        skills: [{skill: help, level: 5}]
      - username: agent02
        name: Boris Petrov
        roles: [agent]
        skills: [{skill: help, level: 5}]
      - username: health01
        name: Aleksandr Frolov
        roles: [department_specialist]
        department: ministry
        skills: [{skill: ministry, level: 5}]
    """
)

FLOW = textwrap.dedent(
    """\
    name: Test line
    language: en
    start: menu
    prompts:
      menu: {say: "Press one."}
    steps:
      menu:
        type: menu
        prompts: menu
        options: {"1": to_help, "2": to_ministry, "3": to_outside}
        timeout: 8
        retries: 0
        fallback: to_help
      to_help:
        type: enqueue
        queue: help
        announce: [{say: "You are number"}, {announce: position}]
        announce_every: 30
      to_ministry:
        type: transfer
        kind: line
        target: ministry
      to_outside:
        type: transfer
        kind: external
        target: "+7 495 000-55-66"
    """
)


# The same flow with a topic: key 1's caller reaches the help queue with `topic: help` (which picks
# the agent's script and form).
TOPIC_FLOW = FLOW.replace("    queue: help\n", "    queue: help\n    attributes: {topic: help}\n")


# The help queue's script and form (for its topic, or its queue where a call has no topic), and
# the ministry's own, which a contact moved there would get if its answers stayed behind.
SCRIPTS_AND_FORMS = """\
scripts:
  - id: help_en
    name: Help line
    language: en
    topics: [help]
    queues: [help]
    steps:
      - {id: greet, say: "Hello, this is the help line."}
      - id: danger
        ask: Is anyone in danger right now?
        choices:
          - {value: "yes", label: "Yes, in danger", next: emergency}
          - {value: "no", label: "Nobody in danger"}
        next: name
      - {id: emergency, say: Call 112 at once., next: end}
      - {id: name, ask: "What is your name?"}
      - {id: bye, say: Thank you for calling.}
  - id: ministry_en
    name: Ministry line
    language: en
    queues: [ministry]
    steps:
      - {id: which, ask: "Which ministry?"}
forms:
  - id: help_en
    name: Help request
    language: en
    topics: [help]
    queues: [help]
    schema:
      type: object
      required: [age, address]
      properties:
        age: {type: integer, title: Age, minimum: 0, maximum: 120}
        address: {type: string, title: Address, minLength: 5}
      additionalProperties: false
  - id: ministry_en
    name: Ministry request
    language: en
    queues: [ministry]
    schema:
      type: object
      properties:
        ministry: {type: string, title: Ministry}
"""


@pytest.fixture(scope="session")
def prompt_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prompts made once for the whole session (espeak-ng output is cached on disk)."""
    return tmp_path_factory.mktemp("prompts")


async def eventually(check: Callable[[], Any], seconds: float = 10.0, what: str = "") -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not within {seconds} s: {what or check}")
        await asyncio.sleep(0.05)


@dataclass
class Hotline:
    platform: Platform
    settings: Settings
    sip_passwords: dict[str, str]
    workdir: Path
    sipp: list[asyncio.subprocess.Process] = field(default_factory=list)

    @property
    def sip_port(self) -> int:
        return self.platform.endpoint.port

    @property
    def sessions(self) -> Any:
        return self.platform.app.sessions

    def folder(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def user_id(self, username: str) -> str:
        async with self.sessions() as session:
            return str(
                (await session.scalars(select(User.id).where(User.username == username))).one()
            )

    async def agent_state(self, username: str) -> tuple[AgentState, str | None]:
        snapshot = self.platform.routing.engine.agent(await self.user_id(username))
        return snapshot.state, snapshot.reason

    async def register(self, username: str, port: int, *, unregister: bool = False) -> SippResult:
        """A phone of `username` registers (or unregisters everything) from `port` with the
        SIP password `hotline init` would have printed."""
        result = await run_sipp(
            self.folder(f"register-{username}-{port}"),
            scenario="unregister_digest.xml" if unregister else "register_digest.xml",
            remote_port=self.sip_port,
            sipp_port=port,
            extra=["-s", username, "-au", username, "-ap", self.sip_passwords[username]],
            time_limit=10,
        )
        assert result.returncode == 0, result.explain()
        await self.platform.calls.presence.settled()
        return result

    async def logged_in(self, username: str, port: int) -> None:
        await self.register(username, port)
        state, _ = await self.agent_state(username)
        assert state is AgentState.READY

    async def phone(
        self, scenario: Path, port: int, *, time_limit: float = 30
    ) -> asyncio.subprocess.Process:
        """Start a SIPp UAS (an agent's phone or a callee) on `port`; returns at once."""
        process = await start_sipp(
            self.folder(f"uas-{scenario.stem}-{port}"),
            scenario=str(scenario),
            sipp_port=port,
            time_limit=time_limit,
        )
        self.sipp.append(process)
        from tests.telephony.sip.sipp import wait_bound

        await wait_bound(port, process=process)
        return process

    async def citizen_call_phones(
        self, worker: str, citizen_port: int
    ) -> tuple[asyncio.subprocess.Process, asyncio.subprocess.Process]:
        """The two phones of a field worker's call to a citizen: `worker`'s, registered and
        answering, and the citizen's behind the outbound route on `citizen_port`, which answers
        and hangs up after 1.5 s (finish them as `worker` and "citizen")."""
        phone_port = free_port()
        await self.register(worker, phone_port)
        worker_phone = await self.phone(scenarios.answering_phone(self.folder(worker)), phone_port)
        citizen = await self.phone(
            scenarios.answering_phone(
                self.folder("citizen"), end="bye", hold_ms=1500, name="citizen"
            ),
            citizen_port,
        )
        return worker_phone, citizen

    async def finish(
        self, process: asyncio.subprocess.Process, name: str, limit: float = 30
    ) -> SippResult:
        return await finish_sipp(process, self.folder(name), time_limit=limit)

    async def call(
        self,
        scenario: Path,
        *,
        dialled: str = CITY,
        time_limit: float = 30,
    ) -> asyncio.subprocess.Process:
        """Start a SIPp caller dialling `dialled`; returns at once."""
        process = await start_sipp(
            scenario.parent,
            scenario=str(scenario),
            remote_port=self.sip_port,
            time_limit=time_limit,
            extra=["-s", dialled],
        )
        self.sipp.append(process)
        return process

    async def contacts(self) -> list[Contact]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Contact).order_by(Contact.arrived_at))).all())

    async def contact(self, contact_id: str) -> Contact:
        async with self.sessions() as session:
            row = await session.get(Contact, contact_id)
            assert row is not None
            return row

    async def log(self, contact_id: str) -> list[tuple[str, dict[str, Any]]]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(ContactEvent)
                .where(ContactEvent.contact_id == contact_id)
                .order_by(ContactEvent.seq)
            )
            return [(r.type, dict(r.payload)) for r in rows]

    async def ended(self, seconds: float = 15.0) -> Contact:
        """The first contact, once it has ended and its call is over (every leg released and
        its figures written)."""

        async def done() -> Contact | None:
            if self.platform.calls.calls():
                return None
            rows = await self.contacts()
            return rows[0] if rows and rows[0].state == "ended" else None

        return await eventually(done, seconds, "the contact ended")  # type: ignore[no-any-return]


async def start_test_platform(app: App, *, http: bool = False) -> Platform:
    """The platform on 127.0.0.1: a free SIP port, fast SIP timers, one media worker on a
    slice of the RTP range."""
    base = 20000 + 200 * random.randrange(45)  # RTP ports: a slice of 20000-28999
    return await start_platform(
        app,
        endpoint_config=EndpointConfig(
            bind_host="127.0.0.1",
            port=free_port(),
            advertised_host="127.0.0.1",
            timers=FAST,
            max_calls=app.settings.max_calls,
            retry_after=app.settings.retry_after_seconds,
        ),
        media_config=MediaConfig(
            address="127.0.0.1", port_min=base, port_max=base + 199, workers=1
        ),
        http=http,
    )


def calls_config(offer_timeout: float = 3, callback_after: float = 60, wrap_up: float = 1) -> str:
    """The test configuration with its timings filled in."""
    return (
        CONFIG.replace("{offer_timeout}", str(offer_timeout))
        .replace("{callback_after}", str(callback_after))
        .replace("{wrap_up}", str(wrap_up))
    )


@asynccontextmanager
async def running_hotline(
    tmp_path: Path,
    prompt_cache: Path,
    *,
    offer_timeout: float = 3,
    callback_after: float = 60,
    wrap_up: float = 1,
    http: bool = False,
    database_url: str | None = None,
    extra_config: str = "",
    flow: str = FLOW,
    **settings: Any,
) -> AsyncIterator[Hotline]:
    """Hotline on a fresh database (an SQLite file in `tmp_path` unless `database_url` names an
    empty one), with the test configuration (and `extra_config` appended to it: more users, then
    other sections), the help queue's wrap-up of `wrap_up` seconds, and `flow` on the city line."""
    if shutil.which("sipp") is None:
        pytest.skip("SIPp (sip-tester) is not installed")
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    await migrate.upgrade(url)
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": url,
        "prompts_dir": prompt_cache,
        "sip_realm": REALM,
        "sip_guest_calls": True,
        "http_port": free_port(),
        "shutdown_seconds": 5.0,
        "callback_retry_seconds": 2.0,
        **settings,
    }
    app = build_app(Settings(**values))
    config = calls_config(offer_timeout, callback_after, wrap_up) + textwrap.dedent(extra_config)
    async with app.sessions() as session:
        summary = await import_config(
            session=session,
            config=parse_config(config, filename="calls.yaml"),
            password_cost=FAST_HASHING,
            flows=[LineFlow("city", flow, "test-flow.yaml", "tests")],
            sip_realm=REALM,
        )
    platform = await start_test_platform(app, http=http)
    hotline = Hotline(platform, app.settings, summary.sip_passwords, tmp_path)
    try:
        yield hotline
    finally:
        for process in hotline.sipp:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await platform.close()


@asynccontextmanager
async def web_hotline(
    backend: str, tmp_path: Path, prompt_cache: Path, **options: Any
) -> AsyncIterator[Hotline]:
    """`running_hotline` on a new database of `backend`, its HTTP API on (plain http on loopback:
    the session cookie without `Secure`), as the browser and desktop tests want it."""
    async with (
        scratch_database(backend, tmp_path) as url,
        running_hotline(
            tmp_path, prompt_cache, http=True, http_cookie_secure=False, database_url=url, **options
        ) as hotline,
    ):
        yield hotline
