"""The YAML reader shared by the configuration and IVR loaders: YAML 1.2 core scalars, a line for
every path, keys written twice and self-containing aliases as problems (never a crash), and broken
YAML or an unreadable file as a catalogued error naming its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hotline.core.errors import InvalidConfiguration
from hotline.core.yamlfile import Loc, Report, read_file, read_yaml


def test_scalars_follow_the_yaml_1_2_core_schema() -> None:
    text = "a: 012\nb: 08\nc: 0x1F\nd: 0o17\ne: 1e3\nf: 22:00\ng: no\nh: true\ni: .inf\n"
    data = read_yaml(text, filename="f.yaml").data
    assert data == {
        "a": 12,
        "b": 8,
        "c": 31,
        "d": 15,
        "e": 1000.0,
        "f": "22:00",
        "g": "no",
        "h": True,
        "i": float("inf"),
    }


def test_every_path_has_the_line_where_it_starts() -> None:
    text = textwrap.dedent(
        """\
        queues:
          - id: medical
            skills:
              - {skill: ru}
        """
    )
    lines = read_yaml(text, filename="f.yaml").lines
    assert lines[("queues",)] == 1
    assert lines[("queues", 0, "id")] == 2
    assert lines[("queues", 0, "skills", 0, "skill")] == 4


def test_a_key_written_twice_is_a_problem_described_by_the_caller() -> None:
    def duplicate(path: Loc, first_line: int) -> str:
        return f"{path[-1]} again (first at line {first_line})"

    document = read_yaml("a: 1\nb: {x: 1,\n  x: 2}\n", filename="f.yaml", duplicate=duplicate)
    assert document.data == {"a": 1, "b": {"x": 1}}
    assert [str(p) for p in document.problems] == ["f.yaml:3: b.x: x again (first at line 2)"]


def test_keys_are_read_as_values_unless_asked_to_keep_them_as_written() -> None:
    text = "true: 1\n012: 2\nnull: 3\n"
    assert read_yaml(text, filename="f.yaml").data == {"True": 1, "12": 2, "None": 3}
    kept = read_yaml(text, filename="f.yaml", keys_as_written=True)
    assert kept.data == {"true": 1, "012": 2, "null": 3}
    assert kept.lines[("012",)] == 2


def test_a_key_that_is_a_list_or_mapping_is_a_problem_when_keys_are_kept_as_written() -> None:
    text = "a:\n  ? [x, y]\n  : 1\n  b: 2\n? {c: 3}\n: 4\n"
    assert read_yaml(text, filename="f.yaml").data == {
        "a": {"['x', 'y']": 1, "b": 2},
        "{'c': 3}": 4,
    }
    document = read_yaml(text, filename="f.yaml", keys_as_written=True)
    assert document.data == {"a": {"b": 2}}
    assert [str(p) for p in document.problems] == [
        "f.yaml:2: a: keys must be plain text",
        "f.yaml:5: keys must be plain text",
    ]


def test_a_merged_key_may_be_overridden_in_the_mapping_itself() -> None:
    document = read_yaml("d: &d {x: 1, y: 2}\ne: {<<: *d, x: 3}\n", filename="f.yaml")
    assert document.data["e"] == {"x": 3, "y": 2}
    assert document.problems == []


def test_an_alias_that_contains_itself_is_a_problem_not_a_crash() -> None:
    document = read_yaml("a: &a [*a]\n", filename="f.yaml")
    assert [str(p) for p in document.problems] == ["f.yaml:1: a[0]: an alias contains itself"]


def test_broken_yaml_is_an_error_naming_its_line() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        read_yaml("a: 1\nb: [1,\n", filename="f.yaml")
    assert caught.value.message.startswith("f.yaml:3: not valid YAML: ")
    assert caught.value.details["file"] == "f.yaml"


def test_an_unreadable_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"name: \xe9t\xe9\n")
    with pytest.raises(InvalidConfiguration, match=r"latin1\.yaml: cannot read: not UTF-8 text"):
        read_file(tmp_path / "latin1.yaml")
    with pytest.raises(InvalidConfiguration, match=r"nowhere\.yaml: cannot read: No such file"):
        read_file(tmp_path / "nowhere.yaml")


def test_a_report_places_each_problem_on_the_nearest_line_once_in_file_order() -> None:
    report = Report("f.yaml", {(): 1, ("queues",): 2, ("queues", 0): 3})
    report.add(("queues", 0, "strategy"), "field required")
    report.add(("queues",), "too few")
    report.add(("queues", 0, "strategy"), "field required")
    assert report.error().message == (
        "f.yaml:2: queues: too few\nf.yaml:3: queues[0].strategy: field required"
    )
