"""The composition root: the one place that builds Hotline's parts from the settings and hands each
the typed dependencies it needs. Only command-line commands (and tests) call `build_app` and
`start_platform`; nothing imports this module back.

`build_app` is the cheap part every command needs (settings, clock, database, bus). `start_platform`
builds the live service `hotline serve` runs: media workers, the router (rebuilt from the
database), the SIP endpoint with its registrar, admission and trunks, the call layer, and the
HTTP API, in that order, so that nothing takes a call before what the call needs is running; it
stops them in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hotline.core.clock import Clock, SystemClock
from hotline.core.errors import HotlineError, InvalidConfiguration
from hotline.core.events import InProcessBus
from hotline.core.settings import Settings
from hotline.db.engine import create_engine, create_sessions

if TYPE_CHECKING:  # the live parts are imported when started: `hotline init` stays quick
    from hotline.api.app import LiveState
    from hotline.calls.legs import SipNumberDialer
    from hotline.calls.service import CallService
    from hotline.core.settings import TrunkSettings
    from hotline.routing.service import RoutingService
    from hotline.routing.types import QueueSpec
    from hotline.telephony.media.config import MediaConfig
    from hotline.telephony.media.engine import LocalMediaEngine
    from hotline.telephony.sip.endpoint import Endpoint, EndpointConfig
    from hotline.telephony.sip.registrar import Registrar
    from hotline.telephony.sip.trunk import Trunk, TrunkConfig

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: InProcessBus = field(default_factory=InProcessBus)

    async def close(self) -> None:
        """Release the database connections."""
        await self.engine.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None) -> App:
    """Wire the parts. Opens no connection yet; creates the data directory when the database is
    the default SQLite file inside it."""
    if settings.database_url is None or make_url(settings.database_url).get_backend_name() == (
        "sqlite"
    ):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings)
    return App(
        settings=settings,
        clock=clock or SystemClock(),
        engine=engine,
        sessions=create_sessions(engine),
    )


# ---------------------------------------------------------------------------- the platform


@dataclass
class Platform:
    """A running Hotline (`hotline serve`): every live part, started in order by
    `start_platform` and stopped in reverse by `close`, each stage bounded in time."""

    app: App
    media: LocalMediaEngine
    routing: RoutingService
    registrar: Registrar
    endpoint: Endpoint
    calls: CallService
    trunks: list[Trunk] = field(default_factory=list)
    specs: dict[str, QueueSpec] = field(default_factory=dict)
    http: HttpServer | None = None
    _stages: list[tuple[str, Callable[[], Awaitable[None]]]] = field(default_factory=list)

    @property
    def sip_port(self) -> int:
        return self.endpoint.port

    async def close(self) -> None:
        """Stop in stages, newest first: HTTP, calls (ended with their outcomes), trunks'
        registrations, SIP, the router's writer, the media workers, the database."""
        total = self.app.settings.shutdown_seconds
        while self._stages:
            name, stop = self._stages.pop()
            try:
                await asyncio.wait_for(stop(), timeout=total)
            except TimeoutError:
                log.error("shutdown: %s did not stop within %.0f s", name, total)
            except Exception:
                log.exception("shutdown: %s failed to stop", name)
        await self.app.close()


class HttpServer:
    """uvicorn serving the API inside our event loop. The platform owns SIGINT/SIGTERM (it must
    end calls before anything else stops), so uvicorn's own signal handling is switched off,
    and the socket is bound here so that a taken port is a clear error, not an exit.
    `trusted_proxies` (comma-separated addresses or networks) are the reverse proxies whose
    X-Forwarded-For is believed, so the client address is the one the proxy saw; empty: none."""

    def __init__(
        self, api: Any, *, host: str, port: int, trusted_proxies: str = "127.0.0.1"
    ) -> None:
        import socket

        import uvicorn

        class _Embedded(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError as exc:
            self.socket.close()
            raise InvalidConfiguration(
                f"HTTP port {host}:{port} is not available: {exc.strerror}", port=port
            ) from exc
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(
            api,
            lifespan="off",
            log_level="warning",
            access_log=False,
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=trusted_proxies or None,
        )
        self.server = _Embedded(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(sockets=[self.socket]), name="http")
        for _ in range(200):
            if self.server.started or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5.0)
            except TimeoutError:
                self.server.force_exit = True
                await asyncio.wait_for(self._task, 2.0)
        self.socket.close()


async def start_platform(
    app: App,
    *,
    endpoint_config: EndpointConfig | None = None,
    media_config: MediaConfig | None = None,
    http: bool = True,
) -> Platform:
    """Build and start every live part from the settings (tests may pass their own endpoint and
    media configurations). The database must be migrated and hold a configuration. On a failure,
    what was started is stopped again before the error is raised."""
    from hotline.agents.api import attach_desk
    from hotline.agents.service import AgentDesk
    from hotline.api.app import create_api
    from hotline.calls.audio import CallAudio
    from hotline.calls.browser import BrowserDialer, ChosenPhoneDialer
    from hotline.calls.call import CallConfig
    from hotline.calls.legs import SipPhoneDialer
    from hotline.calls.service import CallService
    from hotline.config.service import configuration_counts, export_config, to_routing_specs
    from hotline.db import migrate
    from hotline.dispatch.calls import PlatformCitizenCalls
    from hotline.dispatch.timers import DispatchTimers
    from hotline.live.api import attach as attach_live
    from hotline.live.service import start_live
    from hotline.notifications.adapters import build_notifier
    from hotline.notifications.service import NotificationSender
    from hotline.notifications.templates import StatusMessages
    from hotline.requests.runtime import FieldRuntime
    from hotline.requests.runtime import attach as attach_field
    from hotline.routing.service import RoutingService, load_engine
    from hotline.telephony.media.config import MediaConfig
    from hotline.telephony.media.engine import LocalMediaEngine
    from hotline.telephony.prompts import PromptLibrary
    from hotline.telephony.sip.auth import CombinedCredentialStore, DigestAuthenticator
    from hotline.telephony.sip.endpoint import Endpoint, EndpointConfig
    from hotline.telephony.sip.registrar import Registrar
    from hotline.telephony.sip.security import CallAdmission, GuardConfig, SourceGuard
    from hotline.telephony.sip.trunk import Trunk, trunk_credential_store, trunk_sources
    from hotline.users.sip import SipAccountStore
    from hotline.web import mount_web_app

    settings = app.settings
    current, head = await migrate.current_revision(app.engine), migrate.head_revision()
    if current != head:
        raise InvalidConfiguration(
            f"the database is at revision {current or 'none'}, this Hotline needs {head}: "
            "run `hotline db upgrade` (or `hotline init` for a new one)"
        )
    async with app.sessions() as session:
        counts = await configuration_counts(session=session)
        if not counts["queues"]:
            raise InvalidConfiguration(
                "the database holds no hotline configuration: run `hotline init --template covid` "
                "or `hotline init --file your.yaml`"
            )
        config = await export_config(session=session)
    specs = to_routing_specs(config).queues
    names = {q.id: q.name for q in config.queues}
    status_messages = StatusMessages(settings.status_messages, settings.status_message_language)
    notifier = build_notifier(settings)  # a wrong gateway setting stops the start here
    stages: list[tuple[str, Callable[[], Awaitable[None]]]] = []

    async def unwind() -> None:
        for name, stop in reversed(stages):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stop(), timeout=settings.shutdown_seconds)
            log.debug("stopped %s after a failed start", name)

    try:
        media = LocalMediaEngine(
            media_config
            or MediaConfig(
                address=settings.effective_media_address,
                port_min=settings.media_port_min,
                port_max=settings.media_port_max,
                workers=settings.media_workers,
                rtp_timeout=settings.rtp_timeout_seconds,
            )
        )
        await media.start()
        stages.append(("media workers", media.close))

        async with app.sessions() as session:
            engine = await load_engine(
                session=session, short_abandon_seconds=settings.short_abandon_seconds
            )
        routing = RoutingService(engine=engine, clock=app.clock, sessions=app.sessions, bus=app.bus)
        async with app.sessions() as session:
            restored = await routing.restore(session=session)
        await routing.start()
        stages.append(("router", routing.close))
        live = await start_live(
            settings=settings,
            routing=routing,
            bus=app.bus,
            sessions=app.sessions,
            clock=app.clock,
            specs=specs,
            names=names,
        )
        stages.append(("live events", live.close))
        # Requests and dispatch (issue 5): the outbox's sender and the dispatch timers.
        sender = NotificationSender(
            sessions=app.sessions,
            notifier=notifier,
            clock=app.clock,
            interval=settings.dispatch_timer_seconds,
        )
        await sender.start()
        stages.append(("notifications", sender.close))
        timers = DispatchTimers(
            sessions=app.sessions,
            bus=app.bus,
            clock=app.clock,
            interval=settings.dispatch_timer_seconds,
            batch=settings.dispatch_timer_batch,
        )
        await timers.start()
        stages.append(("dispatch timers", timers.close))
        if restored:
            log.info("%d waiting callback(s) restored", restored)

        trunk_configs = [_trunk_config(t) for t in settings.sip_trunks]
        exempt = tuple(a for t in trunk_configs for a in t.inbound_addresses)
        guard = SourceGuard(GuardConfig(exempt=exempt))
        store = CombinedCredentialStore(
            SipAccountStore(app.sessions), trunk_credential_store(settings.sip_realm, trunk_configs)
        )
        authenticator = DigestAuthenticator(realm=settings.sip_realm, store=store)
        registrar = Registrar(authenticator=authenticator, guard=guard)
        admission = CallAdmission(
            trunks=trunk_sources(trunk_configs),
            authenticator=authenticator,
            guard=guard,
            allow_unauthenticated=settings.sip_guest_calls,
        )
        endpoint = Endpoint(
            endpoint_config
            or EndpointConfig.from_settings(
                settings,
                bind_host=settings.sip_bind_address,
                max_calls=settings.max_calls,
                retry_after=settings.retry_after_seconds,
            ),
            registrar=registrar,
            admission=admission,
            guard=guard,
        )
        trunks = [Trunk(endpoint, t) for t in trunk_configs]
        library = PromptLibrary(settings.effective_prompts_dir)
        audio = CallAudio(
            library,
            files_dir=settings.effective_prompts_dir / "files",
            music=settings.music_on_hold,
            language=settings.prompt_language,
        )
        # Each agent's offers ring the phone they chose on the desktop: a registered SIP phone,
        # or the browser softphone.
        sip_phones = SipPhoneDialer(
            endpoint, registrar, media, sdp_address=settings.advertised_address
        )
        phones = ChosenPhoneDialer(
            sip=sip_phones, browser=BrowserDialer(media), default=settings.agent_phone
        )
        number_dialer = _number_dialer(
            settings.callback_route,
            endpoint,
            media,
            trunks,
            sdp_address=settings.advertised_address,
        )
        calls = CallService(
            endpoint=endpoint,
            registrar=registrar,
            media=media,
            routing=routing,
            sessions=app.sessions,
            bus=app.bus,
            clock=app.clock,
            audio=audio,
            agents=phones,
            numbers=number_dialer,
            config=CallConfig(
                recordings_dir=settings.effective_recordings_dir,
                callback_key=settings.callback_key,
                callback_ring_seconds=settings.callback_ring_seconds,
                callback_retry_seconds=settings.callback_retry_seconds,
                callback_attempts=settings.callback_attempts,
                agent_rejoin_seconds=settings.agent_rejoin_seconds,
            ),
            default_line=settings.default_line,
            ready_on_register=settings.agent_ready_on_register,
            sdp_address=settings.advertised_address,
        )
        await calls.start()
        stages.append(("calls", lambda: calls.close(grace=settings.shutdown_seconds / 2)))
        stages.append(_on_configured(app, calls))
        # Before the SIP endpoint starts: registrations defer to the desktop for the agents it
        # took over.
        desk = AgentDesk(
            routing=routing,
            phones=phones,
            sessions=app.sessions,
            clock=app.clock,
            bus=app.bus,
            specs=specs,
            queue_names=names,
            timezone=settings.timezone,
            calls=calls,
        )
        desk.start()
        stages.append(("agent desk", desk.close))
        citizen_calls = PlatformCitizenCalls(
            agents=sip_phones,
            numbers=number_dialer,
            media=media,
            routing=routing,
            sessions=app.sessions,
            bus=app.bus,
            clock=app.clock,
            ring_seconds=settings.citizen_call_ring_seconds,
            fallback_queue=settings.citizen_call_queue,
        )
        stages.append(("citizen calls", citizen_calls.close))

        try:
            await endpoint.start()
        except (OSError, HotlineError) as exc:
            raise InvalidConfiguration(
                f"{exc} (is another SIP server running? choose another --sip-port)",
                port=endpoint.config.port,
            ) from exc
        stages.append(("SIP endpoint", endpoint.close))
        for trunk in trunks:
            await trunk.start()
            stages.append((f"trunk {trunk.config.name}", trunk.stop))

        platform = Platform(
            app=app,
            media=media,
            routing=routing,
            registrar=registrar,
            endpoint=endpoint,
            calls=calls,
            trunks=trunks,
            specs=specs,  # the live feed's own map: a configuration publish updates both
            _stages=stages,
        )
        if http:
            api = create_api(_live_state(platform, names))
            attach_live(api, live)
            attach_desk(api, desk)
            mount_web_app(api)
            attach_field(
                api,
                FieldRuntime(
                    bus=app.bus,
                    clock=app.clock,
                    messages=status_messages,
                    sender=sender,
                    citizen_calls=citizen_calls,
                ),
            )
            server = HttpServer(
                api,
                host=settings.http_bind_address,
                port=settings.http_port,
                trusted_proxies=settings.http_trusted_proxies,
            )
            await server.start()
            stages.append(("HTTP", server.stop))
            platform.http = server
    except BaseException:
        await unwind()
        raise
    return platform


def _on_configured(app: App, calls: CallService) -> tuple[str, Callable[[], Awaitable[None]]]:
    """The call path re-reads its calendars when a configuration publish reaches the router;
    the returned stage stops listening."""
    from hotline.routing.events import QueuesConfigured

    tasks: set[asyncio.Task[None]] = set()

    def reload(_: object) -> None:
        # The bus delivers inside the router's writer: read the database in a task of its own.
        task = asyncio.create_task(calls.reload_configuration(), name="calls-reconfigure")
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    unsubscribe = app.bus.subscribe(reload, types={QueuesConfigured.type})

    async def stop() -> None:
        unsubscribe()
        await asyncio.gather(*tasks, return_exceptions=True)

    return ("configuration listener", stop)


def _trunk_config(trunk: TrunkSettings) -> TrunkConfig:
    from hotline.core.settings import secret_value
    from hotline.telephony.sip.trunk import TrunkConfig

    values = trunk.model_dump(by_alias=True)
    for secret in ("password", "inbound_password"):
        values[secret] = secret_value(values[secret])
    values["inbound_addresses"] = tuple(values["inbound_addresses"])
    return TrunkConfig(**values)


def _number_dialer(
    route: str | None,
    endpoint: Endpoint,
    media: LocalMediaEngine,
    trunks: list[Trunk],
    *,
    sdp_address: str,
) -> SipNumberDialer | None:
    """How callbacks dial out: `trunk:NAME`, a SIP URI template, or the only outbound trunk."""
    from hotline.calls.legs import SipNumberDialer

    outbound = [t for t in trunks if t.config.proxy]
    if route is None:
        if len(outbound) == 1:
            return SipNumberDialer(endpoint, media, trunk=outbound[0], sdp_address=sdp_address)
        if outbound:
            log.warning("several trunks and no callback_route: callbacks are off")
        return None
    if route.startswith("trunk:"):
        name = route.removeprefix("trunk:")
        for trunk in outbound:
            if trunk.config.name == name:
                return SipNumberDialer(endpoint, media, trunk=trunk, sdp_address=sdp_address)
        raise InvalidConfiguration(
            f"callback_route names trunk {name!r}, which is not configured with a proxy",
            field="callback_route",
        )
    if not route.startswith(("sip:", "sips:")) or "{number}" not in route:
        raise InvalidConfiguration(
            "callback_route must be trunk:NAME or a SIP URI with {number}", field="callback_route"
        )
    return SipNumberDialer(endpoint, media, uri_template=route, sdp_address=sdp_address)


def _live_state(platform: Platform, names: dict[str, str]) -> LiveState:
    from hotline.api.app import LiveState
    from hotline.auth.service import LoginLimiter

    settings = platform.app.settings
    endpoint, registrar, media, calls = (
        platform.endpoint,
        platform.registrar,
        platform.media,
        platform.calls,
    )

    def sip() -> dict[str, Any]:
        return {
            "port": endpoint.port,
            "calls_in_progress": endpoint.inbound_calls,
            "registered_users": len(registrar.users()),
            "overload_rejections": endpoint.stats.get("overload_503", 0),
            "rejected_by_status": {str(k): v for k, v in sorted(calls.rejected.items())},
            "trunks": [
                t.registration.describe()
                if t.registration is not None
                else {"trunk": t.config.name}
                for t in platform.trunks
            ],
        }

    def workers() -> list[dict[str, Any]]:
        return [
            {"worker": w.worker, "alive": w.alive, "endpoints": w.endpoints} for w in media.load()
        ]

    return LiveState(
        routing=platform.routing,
        specs=platform.specs,
        queue_names=names,
        sessions=platform.app.sessions,
        clock=platform.app.clock,
        timezone=settings.timezone,
        sip=sip,
        media=workers,
        calls=lambda: len(calls.calls()),
        started=time.monotonic(),
        settings=settings,
        login_limiter=LoginLimiter.from_settings(settings, platform.app.clock),
        bus=platform.app.bus,
    )
