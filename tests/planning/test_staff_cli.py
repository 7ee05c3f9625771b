"""`hotline staff` end to end: click's runner on the real command group, the real entry point for
exit codes, and one run of the installed `hotline` script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hotline.cli import cli, main

HOTLINE = Path(sys.executable).with_name("hotline")
DEMO = ["--calls-per-hour", "200", "--aht", "180", "--sl", "0.8", "--sl-seconds", "20"]


def staff_json(*arguments: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["staff", *arguments, "--json"])
    assert result.exit_code == 0, result.output
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def test_json_gives_agents_and_erlang_c_metrics() -> None:
    output = staff_json(*DEMO)
    assert output["model"] == "erlang_c"
    assert output["agents"] == 14
    assert output["service_level"] == pytest.approx(0.88835, abs=1e-5)
    assert output["asa_seconds"] == pytest.approx(7.836, abs=1e-3)
    assert output["p_wait"] == pytest.approx(0.17413, abs=1e-5)
    assert "p_abandon" not in output


def test_patience_switches_to_erlang_a_and_reports_abandonment() -> None:
    output = staff_json(*DEMO, "--patience", "120")
    assert output["model"] == "erlang_a"
    assert output["agents"] == 12
    assert output["p_abandon"] == pytest.approx(0.0624, abs=1e-3)


def test_shrinkage_adds_scheduled_agents() -> None:
    output = staff_json(*DEMO, "--shrinkage", "0.3")
    assert (output["agents"], output["scheduled_agents"]) == (14, 20)


def test_asa_target_replaces_the_service_level() -> None:
    output = staff_json("--calls-per-hour", "200", "--aht", "180", "--asa", "5")
    assert output["target"]["asa_seconds"] == 5
    assert output["target"]["service_level"] is None
    assert output["asa_seconds"] <= 5
    assert output["agents"] == 15


def test_calls_per_interval_are_converted_to_an_hourly_rate() -> None:
    output = staff_json("--calls", "50", "--interval-minutes", "15", "--aht", "180")
    assert output["calls_per_hour"] == 200
    assert output["agents"] == 14


def test_agents_option_evaluates_a_given_team_even_an_overloaded_one() -> None:
    output = staff_json("--calls-per-hour", "200", "--aht", "180", "--agents", "9")
    assert output["agents"] == 9
    assert output["target"] is None
    assert output["service_level"] == 0
    assert output["asa_seconds"] is None  # infinite: the queue grows without bound


def test_table_for_people() -> None:
    result = CliRunner().invoke(cli, ["staff", *DEMO, "--shrinkage", "0.3"])
    assert result.exit_code == 0, result.output
    assert "Erlang C: 200 calls/hour" in result.stdout
    assert "agents on the phones" in result.stdout
    assert "agents to schedule (30% shrinkage)" in result.stdout


def test_forecast_plan_as_json_csv_and_chart(tmp_path: Path) -> None:
    forecast = tmp_path / "forecast.csv"
    forecast.write_text("interval,calls,aht\n08:00,50,180\n08:30,100,180\n", encoding="utf-8")
    plan_csv, chart = tmp_path / "plan.csv", tmp_path / "plan.png"
    output = staff_json("--forecast", str(forecast), "--csv", str(plan_csv), "--chart", str(chart))
    assert output["interval_minutes"] == 30
    assert [row["agents"] for row in output["intervals"]] == [8, 14]
    assert plan_csv.read_text(encoding="utf-8").count("\n") == 3
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_forecast_table_lists_every_interval(tmp_path: Path) -> None:
    forecast = tmp_path / "forecast.csv"
    forecast.write_text("interval,calls,aht\n08:00,50,180\n08:30,100,180\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["staff", "--forecast", str(forecast)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["interval", "calls"]
    assert lines[1].split()[:5] == ["08:00", "50", "180", "5.00", "8"]
    assert "peak: 14 agents" in result.stdout


def run_main(monkeypatch: pytest.MonkeyPatch, arguments: list[str]) -> int:
    """The real entry point, as the installed script runs it, without a subprocess."""
    monkeypatch.setattr(sys, "argv", ["hotline", "staff", *arguments])
    with pytest.raises(SystemExit) as exit_info:
        main()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--calls-per-hour", "-5", "--aht", "180"], "--calls-per-hour"),
        (["--calls-per-hour", "nan", "--aht", "180"], "not a finite number"),
        (["--calls-per-hour", "200", "--aht", "0"], "--aht"),
        (["--calls-per-hour", "200", "--aht", "-180"], "--aht"),
        (["--calls-per-hour", "200", "--aht", "180", "--shrinkage", "1"], "--shrinkage"),
        (["--calls-per-hour", "200", "--aht", "180", "--sl", "0"], "--sl"),
        (["--calls-per-hour", "200", "--aht", "180", "--sl", "1.5"], "--sl"),
        (["--calls-per-hour", "200", "--aht", "180", "--max-occupancy", "0"], "--max-occupancy"),
        (["--calls-per-hour", "lots", "--aht", "180"], "--calls-per-hour"),
        (["--calls-per-hour", "200"], "error: --aht"),
        (["--aht", "180"], "error: give exactly one of"),
        (["--calls-per-hour", "200", "--calls", "100", "--aht", "180"], "error: give exactly one"),
        (["--calls-per-hour", "200", "--aht", "180", "--sl", "0.8", "--asa", "20"], "not both"),
        (["--calls-per-hour", "200", "--aht", "180", "--csv", "x.csv"], "need --forecast"),
        (["--calls-per-hour", "200", "--aht", "180", "--max-abandon", "0.1"], "needs --patience"),
        (["--forecast", "/nonexistent/forecast.csv"], "--forecast"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    assert run_main(monkeypatch, arguments) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_malformed_forecast_exits_2_naming_file_line_and_column(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    forecast = tmp_path / "forecast.csv"
    forecast.write_text("interval,calls,aht\n08:00,50,180\n08:30,x,180\n", encoding="utf-8")
    assert run_main(monkeypatch, ["--forecast", str(forecast)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {forecast}:3: column 'calls': 'x' is not a number\n"


def test_installed_script_prints_json() -> None:
    done = subprocess.run(
        [str(HOTLINE), "staff", *DEMO, "--patience", "120", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["agents"] == 12
    assert {"service_level", "asa_seconds", "p_wait", "p_abandon"} <= output.keys()


def test_installed_script_refuses_bad_input_without_a_traceback() -> None:
    done = subprocess.run(
        [
            str(HOTLINE),
            "staff",
            "--calls-per-hour",
            "200",
            "--aht",
            "180",
            "--sl",
            "0.8",
            "--asa",
            "9",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "error: give either --sl or --asa as the target, not both\n"
