"""Typed, layered settings: defaults < config file < environment (`HOTLINE_*`) < command line.

The config file (YAML or TOML) is named by `--config` or `HOTLINE_CONFIG`. Nothing is read at import
time: `load_settings` is called once, by the command line, and its result is handed to the
composition root."""

from __future__ import annotations

import contextvars
import tomllib
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hotline.core.errors import InvalidConfiguration

_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "hotline_config_file", default=None
)


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

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

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
