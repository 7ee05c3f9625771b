"""Typed, layered settings: defaults < config file < environment (`HOTLINE_*`) < command line.

The config file (YAML or TOML) is named by `--config` or `HOTLINE_CONFIG`. Nothing is read at import
time: `load_settings` is called once, by the command line, and its result is handed to the
composition root."""

from __future__ import annotations

import contextvars
import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hotline.core.errors import InvalidConfiguration

_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "hotline_config_file", default=None
)


_SECRET_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def secret_value(value: str | None) -> str | None:
    """A secret as written in settings: `${NAME}` is read from the environment variable NAME
    (so that passwords stay out of files kept in version control); anything else is literal."""
    if value is None:
        return None
    match = _SECRET_REFERENCE.match(value.strip())
    if match is None:
        return value
    found = os.environ.get(match.group(1))
    if found is None:
        raise InvalidConfiguration(
            f"the secret {value} is not set: export {match.group(1)}", variable=match.group(1)
        )
    return found


class TrunkSettings(BaseModel):
    """A carrier's SIP trunk, as written in the settings file (`sip_trunks:`); see docs/sip.md.
    Passwords may be `${ENV_NAME}` references."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)
    inbound_addresses: tuple[str, ...] = ()
    inbound_username: str | None = None
    inbound_password: str | None = Field(None, repr=False)
    proxy: str | None = None
    transport: Literal["udp", "tcp"] = "udp"
    domain: str | None = None
    username: str | None = None
    password: str | None = Field(None, repr=False)
    realm: str | None = None
    caller_id: str | None = None
    # `register` would shadow BaseModel.register (from ABCMeta): the file keeps the word.
    register_at_carrier: bool = Field(False, alias="register")
    register_expires: int = Field(600, ge=60, le=86400)


class Settings(BaseSettings):
    """Every knob of a Hotline process. Field names map to `HOTLINE_<NAME>` variables."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="forbid")

    data_dir: Path = Field(Path("data"), description="Where the SQLite file, recordings live")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default an SQLite file in the data directory. "
        "Example: postgresql+asyncpg://hotline:secret@127.0.0.1:5432/hotline",
    )
    timezone: str = Field("UTC", description="Default time zone for business hours and reports")
    log_level: str = Field("INFO")
    advertised_address: str = Field(
        "127.0.0.1", description="Address put in SIP Via/Contact and SDP; never guessed"
    )
    sip_port: int = Field(5060, ge=1, le=65535)
    http_port: int = Field(8080, ge=1, le=65535)
    short_abandon_seconds: float = Field(
        5.0, ge=0, description="Abandons quicker than this are left out of the service level"
    )

    # ---- `hotline serve`: SIP, media and HTTP ----
    sip_bind_address: str = Field(
        "0.0.0.0", description="Address the SIP endpoint listens on (UDP and TCP, `sip_port`)"
    )
    sip_realm: str = Field(
        "hotline",
        min_length=1,
        max_length=200,
        description="Digest realm of agents' SIP accounts; changing it invalidates SIP passwords",
    )
    sip_guest_calls: bool = Field(
        False,
        description="Admit inbound calls that bring no credentials and come from no trunk address "
        "(a demo or a closed lab: any softphone can call the lines)",
    )
    sip_trunks: list[TrunkSettings] = Field(default_factory=list)
    max_calls: int = Field(
        200, ge=1, description="Inbound calls in progress; beyond, INVITEs get 503 + Retry-After"
    )
    retry_after_seconds: int = Field(30, ge=1, le=3600, description="Retry-After of those 503s")
    media_address: str | None = Field(
        None,
        description="Address the media workers bind RTP to; default the advertised address. "
        "SDP always carries the advertised address (behind 1:1 NAT: bind the private one)",
    )
    media_port_min: int = Field(20000, ge=1024, le=65535)
    media_port_max: int = Field(29999, ge=1024, le=65535)
    media_workers: int | None = Field(
        None, ge=1, description="Media worker processes; default one per core"
    )
    rtp_timeout_seconds: float = Field(
        30.0, ge=0, description="No RTP from a party for this long: their call is over; 0 = never"
    )
    http_bind_address: str = Field(
        "127.0.0.1", description="Address the HTTP API listens on (`http_port`)"
    )
    default_line: str | None = Field(
        None, description="The line for a dialled number no line has; unset: 404 Not Found"
    )
    agent_ready_on_register: bool = Field(
        True,
        description="An agent whose phone registers is logged in ready (else not ready)",
    )
    agent_phone: Literal["sip", "webrtc"] = Field(
        "sip",
        description="The phone that rings for an agent until they choose one on the agent desktop",
    )
    agent_rejoin_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        description="A browser softphone lost mid-call (page reload, connection lost): the caller "
        "is held this long for the agent's desktop to reconnect it; 0 = the call ends at once",
    )
    callback_key: str = Field(
        "1", pattern=r"^[0-9*#]$", description="The key a waiting caller presses to be called back"
    )
    callback_route: str | None = Field(
        None,
        description="How callbacks and external transfers dial out: `trunk:NAME`, or a SIP URI "
        "with {number} (sip:{number}@192.0.2.7:5060); unset: the only trunk, if there is one",
    )
    callback_ring_seconds: float = Field(40.0, gt=0, le=300)
    callback_retry_seconds: float = Field(
        300.0, gt=0, description="Wait before dialling a caller who did not answer again"
    )
    callback_attempts: int = Field(3, ge=1, le=20, description="Dialling attempts per callback")
    music_on_hold: Path | None = Field(
        None, description="WAV, MP3 or OGG played to waiting callers; default a built-in tune"
    )
    prompts_dir: Path | None = Field(
        None,
        description="Prompt cache and recorded prompts (`files/<name>.wav`); default "
        "<data_dir>/prompts",
    )
    recordings_dir: Path | None = Field(
        None, description="Call recordings; default <data_dir>/recordings"
    )
    prompt_language: Literal["ru", "en"] = Field(
        "ru", description="Language of the built-in prompts a flow does not provide"
    )
    prompt_upload_max_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        description="Largest prompt recording an administrator may upload (413 beyond; no "
        "larger than `http_max_body_bytes`, which refuses any bigger body first)",
    )
    shutdown_seconds: float = Field(
        10.0, gt=0, description="How long `hotline serve` gives calls and workers to end"
    )
    # ---- live events to browsers (`GET /api/v1/events`) ----
    live_event_ring: int = Field(
        10_000, ge=100, le=1_000_000, description="Events kept for pages that resume"
    )
    live_client_buffer: int = Field(
        1_000, ge=10, le=100_000, description="Events a page may lag behind before it is cut off"
    )
    live_heartbeat_seconds: float = Field(
        15.0,
        gt=0,
        le=300,
        description="A page's socket that sent nothing for this long gets a heartbeat (pages "
        "reconnect after 2.5 times as long without any message)",
    )

    # ---- requests and field dispatch (docs/requests.md) ----
    dispatch_timer_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How often tasks not accepted in time are handed on and SLA breaches recorded",
    )
    dispatch_timer_batch: int = Field(
        200, ge=1, le=10_000, description="Requests one such pass handles at most (more: next pass)"
    )
    citizen_call_queue: str | None = Field(
        None,
        description="Queue where 'call the citizen' becomes a callback for an agent when the field "
        "worker has no reachable phone; unset: the queue of the call the request came from",
    )
    citizen_call_ring_seconds: float = Field(40.0, gt=0, le=300)

    # ---- messages to callers: a request's status (docs/requests.md) ----
    notifier: Literal["outbox", "http"] = Field(
        "outbox",
        description="outbox: messages are only kept and shown (GET /api/v1/outbox); http: sent "
        "through the SMS gateway below",
    )
    status_message_language: Literal["ru", "en"] = Field(
        "ru", description="Language of status messages when the call's language is not known"
    )
    status_messages: dict[str, dict[str, dict[str, str] | None]] = Field(
        default_factory=dict,
        description="Per request category (or '*' for all): accepted/done/failed -> {ru, en} "
        "templates with {ref} and {category}, or null for no message",
    )
    sms_gateway_url: str | None = Field(None, description="The SMS gateway's HTTP(S) URL")
    sms_gateway_method: Literal["POST", "PUT", "GET"] = "POST"
    sms_gateway_auth_header: str | None = Field(
        None,
        repr=False,
        description="'Name: value' sent with every message; ${ENV} in the value is read from "
        "the environment ('Authorization: Bearer ${SMS_TOKEN}')",
    )
    sms_gateway_body: str = Field(
        '{"to": "{number}", "text": "{text}"}',
        description="Body (query string for GET) with {number} and {text}, escaped for the "
        "content type",
    )
    sms_gateway_content_type: str = "application/json"
    sms_gateway_timeout_seconds: float = Field(10.0, gt=0, le=120)
    sms_gateway_attempts: int = Field(4, ge=1, le=20, description="Tries per message")
    sms_gateway_backoff_seconds: float = Field(
        1.0, ge=0, le=600, description="Wait before the 2nd try; doubled for each next one"
    )

    # ---- the browser API: sign-in (docs/web-api.md) ----
    http_cookie_secure: bool = Field(
        True,
        description="Session cookies only over HTTPS; turn off only for http://127.0.0.1 (demo, "
        "tests)",
    )
    http_trusted_proxies: str = Field(
        "127.0.0.1",
        description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed: the client address (login rate "
        "limits, audit rows) is then the one the proxy saw. Empty: believe no proxy",
    )
    http_max_body_bytes: int = Field(
        8 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest request body the HTTP API reads, declared or streamed (413 "
        "`upload_too_large` beyond, before a route sees it)",
    )
    web_session_idle_minutes: int = Field(
        720, ge=1, le=60 * 24 * 30, description="A browser session unused this long is over"
    )
    login_max_failures_per_user: int = Field(
        5, ge=1, description="Failed sign-ins for one username within the window before 429"
    )
    login_max_failures_per_address: int = Field(
        20, ge=1, description="Failed sign-ins from one address within the window before 429"
    )
    login_window_seconds: int = Field(
        600, ge=1, le=86400, description="The sliding window those failures are counted in"
    )

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @field_validator("sip_bind_address", "http_bind_address", "advertised_address")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        ipaddress.ip_address(value)  # a name or a typo is refused: addresses are never guessed
        return value

    @field_validator("http_trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)  # an address or a network, no names
        return ",".join(entries)

    @field_validator("media_address")
    @classmethod
    def _media_ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)
        return value

    @property
    def effective_media_address(self) -> str:
        return self.media_address or self.advertised_address

    @property
    def effective_prompts_dir(self) -> Path:
        return self.prompts_dir or self.data_dir / "prompts"

    @property
    def effective_recordings_dir(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hotline.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: command line (init), environment, then the config file, then defaults.
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Reads the YAML or TOML file named for this load."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data = read_config_file(_config_file.get())

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def read_config_file(path: Path | None) -> dict[str, Any]:
    """The settings in a YAML or TOML file, as a mapping; a clear error names a broken file."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidConfiguration(f"{path}: cannot read: {exc.strerror}", file=str(path)) from exc
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InvalidConfiguration(f"{path}: not valid: {exc}", file=str(path)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidConfiguration(f"{path}: settings must be a mapping", file=str(path))
    return data


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from every layer; `overrides` come from the command line (None: unset)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    token = _config_file.set(config_file)
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        where = f"{config_file}: " if config_file else ""
        raise InvalidConfiguration(f"{where}invalid settings: {problems}") from exc
    finally:
        _config_file.reset(token)
