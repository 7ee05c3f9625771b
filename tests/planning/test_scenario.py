"""Scenario files: what they compile to, and that every mistake comes back as one message naming
the file, the line and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hotline.core.errors import InvalidConfiguration
from hotline.planning.distributions import Empirical, LogNormal, PoissonProfile, ReplayedArrivals
from hotline.planning.scenario import load_scenario, parse_scenario
from hotline.planning.simulator import simulate
from hotline.routing.types import OverflowAction, Strategy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scenario-covid.yaml"

VALID = """\
name: test centre
start: "08:00"
interval_minutes: 30
queues:
  - id: covid
    skills: [covid]
    strategy: best_skill
    wrap_up_seconds: 20
    overflow:
      - {after: 60, action: widen, skills: [general]}
  - id: general
    skills: [{skill: general, min_level: 2}]
topics:
  - id: symptoms
    queue: covid
    share: 3
    handle: {distribution: lognormal, mean: 300, sd: 120}
    patience: {distribution: exponential, mean: 120}
  - id: other
    queue: general
    handle: 200
arrivals:
  profile: [100, 200]
agents:
  - group: nurse
    skills: {covid: 8}
    shifts:
      - start: 8:00
        end: 12:30
        count: 3
        breaks: [{start: "10:00", minutes: 15, spread_minutes: 30}]
  - group: operator
    skills: [{skill: general, level: 3}, covid]
    count: 2
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_scenario_compiles_into_the_model_it_describes(tmp_path: Path) -> None:
    model = load_scenario(write(tmp_path, VALID)).model
    covid, general = model.queues
    assert covid.strategy is Strategy.BEST_SKILL
    assert covid.wrap_up_seconds == 20.0
    assert covid.overflow[0].action is OverflowAction.WIDEN
    assert general.skills[0].min_level == 2
    assert model.interval_seconds == 1800.0
    assert model.clock_start == 8 * 3600.0
    assert isinstance(model.topics[0].handle, LogNormal)
    assert model.topics[0].weight == 3.0
    assert model.topics[1].handle.mean == 200.0  # a bare number: exponential with that mean
    assert isinstance(model.arrivals, PoissonProfile)
    assert model.arrivals.volumes == (100.0, 200.0)
    nurses = [a for a in model.agents if a.id.startswith("nurse")]
    assert len(nurses) == 3
    assert nurses[0].logout == 4.5 * 3600.0
    # breaks spread over 30 minutes: 10:00, 10:10, 10:20
    assert [a.breaks[0].start for a in nurses] == [7200.0, 7800.0, 8400.0]
    assert [a.logout for a in model.agents if a.id.startswith("operator")] == [None, None]


def test_the_example_scenario_loads_and_runs() -> None:
    scenario = load_scenario(EXAMPLE)
    result = simulate(scenario.model, seed=1)
    assert result.contacts > 1000
    assert result.total().service_level is not None


def test_arrivals_can_be_replayed_from_a_csv_next_to_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "calls.csv").write_text(
        "time,topic,handle_seconds\n08:00:05,symptoms,30\n08:01,,\n2020-04-01T08:02:00,other,\n"
    )
    text = VALID.replace("  profile: [100, 200]", "  csv: calls.csv")
    model = load_scenario(write(tmp_path, text)).model
    assert isinstance(model.arrivals, ReplayedArrivals)
    assert model.arrivals.times == (5.0, 60.0, 120.0)
    assert model.arrivals.topics == ("symptoms", None, "other")
    assert model.arrivals.handle_seconds == (30.0, None, None)


def test_empirical_handle_times_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "aht.csv").write_text("seconds\n120\n240\n\n360\n")
    text = VALID.replace("handle: 200", "handle: {distribution: empirical, file: aht.csv}")
    model = load_scenario(write(tmp_path, text)).model
    handle = model.topics[1].handle
    assert isinstance(handle, Empirical)
    assert handle.values == (120.0, 240.0, 360.0)


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(InvalidConfiguration) as info:
        load_scenario(write(tmp_path, text))
    message = info.value.message
    assert "\n" not in message
    return message


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("  - id: general", "  - id: general\n   bad: ["))
    assert message.startswith(f"{tmp_path / 'scenario.yaml'}:")
    assert "not valid YAML" in message


def test_a_negative_number_names_its_line_and_field(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("sd: 120", "sd: -5"))
    assert message == (
        f"{tmp_path / 'scenario.yaml'}:17: topics[0].handle.sd: Input should be greater than 0"
    )


def test_a_misspelt_field_is_an_unknown_field(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("    patience:", "    patiance:"))
    assert message == f"{tmp_path / 'scenario.yaml'}:18: topics[0].patiance: unknown field"


def test_a_missing_field_names_its_parent_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("    handle: 200\n", ""))
    assert message == f"{tmp_path / 'scenario.yaml'}:19: topics[1].handle: missing field 'handle'"


def test_a_queue_skill_no_agent_has_is_an_unknown_skill(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("skills: [covid]", "skills: [covd]"))
    assert message.startswith(f"{tmp_path / 'scenario.yaml'}:6: queues[0].skills[0]: ")
    assert "unknown skill 'covd'" in message


def test_an_agent_skill_no_queue_asks_for_is_an_unknown_skill(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, VALID.replace("skills: {covid: 8}", "skills: {covid: 8, covd: 2}")
    )
    assert message.startswith(f"{tmp_path / 'scenario.yaml'}:26: agents[0].skills.covd: ")
    assert "unknown skill 'covd'" in message


def test_a_topic_for_an_unknown_queue_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("queue: general", "queue: generl"))
    assert message.startswith(f"{tmp_path / 'scenario.yaml'}:20: topics[1].queue: ")
    assert "unknown queue 'generl'" in message


def test_an_unknown_distribution_is_named(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("distribution: lognormal", "distribution: gamma"))
    assert ":17: topics[0].handle: distribution must be one of" in message


def test_two_arrival_sources_are_refused(tmp_path: Path) -> None:
    message = error_for(
        tmp_path, VALID.replace("  profile: [100, 200]", "  profile: [1]\n  csv: x.csv")
    )
    assert ":22: arrivals: give exactly one of profile, calls_per_hour or csv" in message


def test_a_bad_clock_time_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace('start: "10:00"', 'start: "10:75"'))
    assert ":31: agents[0].shifts[0].breaks[0].start: " in message


def test_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("name: test centre", "name: a\nname: b"))
    assert message == f"{tmp_path / 'scenario.yaml'}:2: name: duplicate key"


def test_a_bad_row_in_the_arrivals_csv_names_that_file_and_row(tmp_path: Path) -> None:
    (tmp_path / "calls.csv").write_text("time\n10\nsoon\n")
    text = VALID.replace("  profile: [100, 200]", "  csv: calls.csv")
    message = error_for(tmp_path, text)
    assert ":23: arrivals.csv: " in message
    assert f"{tmp_path / 'calls.csv'}:3: time must be seconds" in message


def test_a_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfiguration, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")


def test_a_scenario_must_be_a_mapping() -> None:
    with pytest.raises(InvalidConfiguration, match="must be a mapping"):
        parse_scenario("- just\n- a list\n", source="list.yaml")


def test_a_key_that_is_a_list_is_refused_on_its_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("    share: 3\n", "    ? [share]\n    : 3\n"))
    assert message == f"{tmp_path / 'scenario.yaml'}:16: topics[0]: keys must be plain text"


def test_an_alias_that_contains_itself_is_refused_not_a_crash(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace("  profile: [100, 200]", "  profile: &p [*p]"))
    where = f"{tmp_path / 'scenario.yaml'}:23: arrivals.profile[0]"
    assert message == f"{where}: an alias contains itself"


def test_an_arrivals_csv_that_is_not_utf8_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "calls.csv").write_bytes(b"time,topic\n10,sympt\xf4mes\n")
    message = error_for(tmp_path, VALID.replace("  profile: [100, 200]", "  csv: calls.csv"))
    assert message == (
        f"{tmp_path / 'scenario.yaml'}:23: arrivals.csv: "
        f"{tmp_path / 'calls.csv'}: cannot read: not UTF-8 text"
    )
