"""`hotline simulate` as people run it: the simple options, a scenario file, the four outputs, and
bad input ending in one line and exit status 2 (never a traceback)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.planning.simulate_cli import simulate_command

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scenario-covid.yaml"
SIMPLE = ["--calls-per-hour", "200", "--aht", "180", "--agents", "14", "--hours", "8"]


def run(*args: str) -> str:
    result = CliRunner().invoke(simulate_command, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def hotline(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, as a separate process: exit status and stderr as people see them."""
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_the_simple_command_prints_the_totals_and_intervals_as_json() -> None:
    data = json.loads(run(*SIMPLE, "--patience", "120", "--seed", "1", "--json"))
    for key in (
        "offered",
        "answered",
        "abandoned",
        "service_level",
        "asa_seconds",
        "abandon_rate",
        "occupancy",
        "longest_wait_seconds",
    ):
        assert key in data
    assert len(data["intervals"]) == 32  # 8 hours of 15 minutes
    assert sum(i["offered"] for i in data["intervals"]) == data["offered"]
    assert data["offered"] == data["answered"] + data["abandoned"]
    assert 1400 < data["offered"] < 1800  # 200 an hour for 8 hours
    assert data["abandoned"] > 0
    assert 0.6 < data["occupancy"] < 0.8  # 10 Erlangs on 14 agents
    assert data["seed"] == 1


def test_the_same_seed_prints_the_same_json() -> None:
    assert run(*SIMPLE, "--seed", "5", "--json") == run(*SIMPLE, "--seed", "5", "--json")


def test_without_patience_nobody_abandons() -> None:
    data = json.loads(run(*SIMPLE, "--seed", "2", "--json"))
    assert data["abandoned"] == 0


def test_the_sl_target_time_is_the_one_given() -> None:
    strict = json.loads(run(*SIMPLE, "--seed", "3", "--sl-seconds", "0", "--json"))
    loose = json.loads(run(*SIMPLE, "--seed", "3", "--sl-seconds", "60", "--json"))
    assert strict["sl_target_seconds"] == {"default": 0.0}
    assert strict["service_level"] < loose["service_level"]


def test_the_table_shows_a_row_per_interval_and_a_total() -> None:
    output = run(*SIMPLE, "--hours", "1", "--seed", "1")
    lines = output.splitlines()
    assert "offered" in lines[1]
    assert "SL" in lines[1]
    assert [line.split()[0] for line in lines[3:7]] == ["00:00", "00:15", "00:30", "00:45"]
    assert any(line.startswith("total") for line in lines)


def test_csv_and_chart_files_are_written(tmp_path: Path) -> None:
    table = tmp_path / "day.csv"
    chart = tmp_path / "day.png"
    run(*SIMPLE, "--seed", "1", "--patience", "90", "--csv", str(table), "--chart", str(chart))
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 33  # 32 intervals and the total
    assert rows[-1]["time"] == "total"
    assert {"offered", "service_level", "asa_seconds", "occupancy"} <= set(rows[0])
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_scenario_file_runs_with_its_queues(tmp_path: Path) -> None:
    data = json.loads(run(str(EXAMPLE), "--seed", "1", "--json"))
    assert set(data["queues"]) == {"covid", "vaccination", "social", "documents"}
    assert data["intervals"][0]["time"] == "08:00"
    assert data["callbacks"] > 0


def test_volume_scale_adds_contacts() -> None:
    base = json.loads(run(*SIMPLE, "--seed", "4", "--json"))
    more = json.loads(run(*SIMPLE, "--seed", "4", "--volume-scale", "1.5", "--json"))
    assert more["offered"] > 1.3 * base["offered"]


def test_arrivals_can_be_replayed_from_a_csv(tmp_path: Path) -> None:
    arrivals = tmp_path / "calls.csv"
    arrivals.write_text("time\n0\n30\n60\n3599\n")
    data = json.loads(
        run("--arrivals", str(arrivals), "--aht", "60", "--agents", "1", "--seed", "1", "--json")
    )
    assert data["offered"] == 4
    assert data["simulated_hours"] == pytest.approx(3599 / 3600)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calls-per-hour", "-5", "--aht", "180", "--agents", "3"], "--calls-per-hour"),
        (["--calls-per-hour", "100", "--aht", "0", "--agents", "3"], "--aht must be positive"),
        (["--calls-per-hour", "100", "--aht", "180", "--agents", "0"], "--agents must be at"),
        (["--calls-per-hour", "100", "--aht", "180"], "missing --agents"),
        ([*SIMPLE, "--patience", "-1"], "--patience must be positive"),
        ([*SIMPLE, "--handle-sd", "30"], "only with --handle lognormal"),
        ([str(EXAMPLE), "--agents", "3"], "--agents: not with a scenario file"),
    ],
)
def test_bad_options_end_in_one_line_and_status_2(args: list[str], message: str) -> None:
    done = hotline("simulate", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_broken_scenario_names_file_line_and_field(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("skills: [documents]\n", "skills: [documnts]\n", 1)
    (tmp_path / "broken.yaml").write_text(text)
    done = hotline("simulate", "broken.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: broken.yaml:")
    assert "unknown skill 'documnts'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_broken_yaml_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("queues: [\n  - id: x\n")
    done = hotline("simulate", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: bad.yaml:")
    assert "not valid YAML" in done.stderr
    assert "Traceback" not in done.stderr
