"""`hotline ivr ...` against a real database: check, publish, versions, rollback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from hotline.ivr.cli import ivr_group
from hotline.ivr.loader import template_path
from tests.ivr.conftest import Sessions, small_flow


def ivr(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(ivr_group, list(args), env={"HOTLINE_DATABASE_URL": database_url})


def test_check_accepts_the_covid_flow_and_lists_every_problem_of_a_bad_one(
    tmp_path: Path,
) -> None:
    good = CliRunner().invoke(ivr_group, ["check", str(template_path("covid"))])
    assert good.exit_code == 0, good.output
    assert "valid (28 steps)" in good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(small_flow().replace("fallback: queue", "fallback: queu"))
    result = CliRunner().invoke(ivr_group, ["check", str(bad)])
    assert result.exit_code == 2
    assert f"error: {bad}:8: steps.menu.fallback: unknown step 'queu'; did you mean 'queue'?" in (
        result.output
    )


def test_publish_list_and_roll_back_from_the_command_line(
    configured: Sessions, database_url: str, tmp_path: Path
) -> None:
    first = ivr(database_url, "publish", "city", "--template", "covid", "--by", "admin")
    assert first.exit_code == 0, first.output
    assert "line city: version 1 is live" in first.output
    flow = tmp_path / "small.yaml"
    flow.write_text(small_flow())
    second = ivr(database_url, "publish", "city", str(flow), "--by", "anna", "--note", "test")
    assert "line city: version 2 is live" in second.output
    back = ivr(database_url, "rollback", "city", "1", "--by", "boss")
    assert "line city: version 3 (a copy of version 1) is live" in back.output
    listing = ivr(database_url, "versions", "city").output.splitlines()
    assert [(row[0], row[1:6].strip()) for row in listing] == [("*", "3"), (" ", "2"), (" ", "1")]
    assert listing[0].endswith("boss  City COVID-19 hotline (copy of 1)")
    assert listing[1].endswith("anna  Small: test")


def test_publishing_a_flow_that_names_an_unknown_queue_fails_with_its_line(
    configured: Sessions, database_url: str, tmp_path: Path
) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(small_flow(queue="medicl"))
    result = ivr(database_url, "publish", "city", str(flow), "--by", "admin")
    assert result.exit_code == 2
    assert f"{flow}:11: steps.queue.queue: unknown queue 'medicl'" in result.output
    assert "no IVR flow published" in ivr(database_url, "versions", "city").output
