"""Settings come in layers: defaults < config file < environment < command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.core.errors import InvalidConfiguration
from hotline.core.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HOTLINE_"):
            monkeypatch.delenv(name)


def test_defaults_need_no_file_and_put_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.sip_port == 5060
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"


def test_config_file_overrides_defaults(tmp_path: Path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text("sip_port: 5070\ntimezone: Europe/Moscow\n")
    settings = load_settings(config)
    assert (settings.sip_port, settings.timezone) == (5070, "Europe/Moscow")


def test_toml_config_file_is_read_too(tmp_path: Path) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text('http_port = 9000\nlog_level = "debug"\n')
    settings = load_settings(config)
    assert (settings.http_port, settings.log_level) == (9000, "DEBUG")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text("sip_port: 5070\n")
    monkeypatch.setenv("HOTLINE_SIP_PORT", "5080")
    assert load_settings(config).sip_port == 5080


def test_command_line_overrides_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_SIP_PORT", "5080")
    assert load_settings(None, sip_port=5090).sip_port == 5090
    assert load_settings(None, sip_port=None).sip_port == 5080  # None: option not given


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+asyncpg://hotline@127.0.0.1:5432/hotline"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    assert load_settings().effective_database_url == url


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("sip_port: [1, 2\n", "not valid"),
        ("sip_port: 70000\n", "sip_port"),
        ("no_such_setting: 1\n", "no_such_setting"),
        ("- a list\n", "must be a mapping"),
    ],
)
def test_a_bad_config_file_names_the_file_and_the_problem(
    tmp_path: Path, text: str, fragment: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(InvalidConfiguration) as caught:
        load_settings(config)
    assert str(config) in caught.value.message
    assert fragment in caught.value.message


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfiguration, match="cannot read"):
        load_settings(tmp_path / "absent.yaml")
