"""The form answers report on both databases: forms submitted through the API by the agent
(tests/reports/forms_world.py) counted per form version, topic and field; a draft not counted; a
new version of the form counted apart; CSV and XLSX the same figures as the JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config.loader import parse_config
from hotline.reports.forms import form_fields
from hotline.scripts.service import publish_form
from tests.reports.forms_world import CONFIG, SURVEY, answered, fill_forms
from tests.requests.field_api import FieldApi, field_api_on

DAY = {"from": "2025-03-04"}
# The survey's fields in its ui:order (tests/reports/forms_world.py).
FIELDS = ["age", "help", "symptoms", "risk", "notes", "home.street", "home.floor"]


@pytest_asyncio.fixture(loop_scope="function")
async def api(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[FieldApi]:
    async with field_api_on(sessions, config=CONFIG) as world:
        yield world


def _schema(*names: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": "string"} for name in names}}


def _answers(report: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """answers_by_field rows by (version, topic, field, value)."""
    table = next(t for t in report["tables"] if t["name"] == "answers_by_field")
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
    return {(r["form_version"], r["topic"], r["field"], r["value"]): r for r in rows}


def test_fields_are_read_from_the_schema_with_how_each_is_counted() -> None:
    assert [f.name for f in form_fields(_schema("b", "a", "c"), {"ui:order": ["c", "*"]})] == [
        "c",
        "b",
        "a",
    ]
    assert [f.name for f in form_fields(_schema("b", "a", "c"), {"ui:order": ["*", "b"]})] == [
        "a",
        "c",
        "b",
    ]
    form = parse_config(CONFIG).forms[0]
    found = form_fields(form.json_schema, form.ui_schema)
    fields = {f.name: (f.kind, [v for v, _ in f.choices]) for f in found}
    assert list(fields) == FIELDS
    assert fields == {
        "age": ("number", []),
        "help": ("choice", ["doctor", "advice"]),
        "symptoms": ("choices", ["fever", "cough", "none"]),
        "risk": ("boolean", [True, False]),
        "notes": ("filled", []),
        "home.street": ("filled", []),
        "home.floor": ("number", []),
    }


async def test_answers_are_counted_per_field_topic_and_form_version(api: FieldApi) -> None:
    await fill_forms(api)
    # Version 2 asks one more thing; the next contact gets it, and is counted apart.
    version_2 = SURVEY.replace(
        "        notes: {type: string, title: Notes}\n",
        "        notes: {type: string, title: Notes}\n"
        "        again: {type: string, enum: [a, b], title: Call again}\n",
    )
    assert version_2 != SURVEY
    async with api.sessions() as session, session.begin():
        form = parse_config(CONFIG.replace(SURVEY, version_2)).forms[0]
        await publish_form(session=session, form=form, actor="boss")
    later = await answered(api, "medical")
    async with api.signed_in("agent01") as agent:
        answer = await agent.post(
            f"/api/v1/contacts/{later}/form",
            json={"base_version": 0, "data": {"help": "advice", "again": "b", "age": 55}},
        )
        assert answer.status_code == 200, answer.text
    async with api.signed_in("boss") as boss:
        report = (await boss.get("/api/v1/reports/forms", params=DAY)).json()
        covid = (await boss.get("/api/v1/reports/forms", params={**DAY, "topic": "covid"})).json()
        next_day = (await boss.get("/api/v1/reports/forms", params={"from": "2025-03-05"})).json()
        weekly = (await boss.get("/api/v1/reports/weekly", params={"date": "2025-03-04"})).json()

    forms = report["tables"][0]
    assert forms["name"] == "forms"
    assert forms["rows"] == [
        ["survey", 1, "Survey", "covid", 1],
        ["survey", 1, "Survey", "medical", 2],  # the draft is not counted
        ["survey", 2, "Survey", "medical", 1],
    ]
    rows = _answers(report)
    in_order = [key[2] for key in rows if key[:2] == (1, "covid")]  # as the form's ui:order
    assert list(dict.fromkeys(in_order)) == FIELDS
    age = rows[(1, "medical", "age", None)]
    assert (age["kind"], age["answers"], age["min"], age["max"], age["mean"]) == (
        "number",
        2,
        30,
        70,
        50.0,
    )
    # Each field: how many answered it, then how many gave each value.
    assert [rows[(1, "medical", f, None)]["answers"] for f in ("help", "symptoms", "risk")] == [
        2,
        2,
        2,
    ]
    assert rows[(1, "covid", "symptoms", None)]["answers"] == 0  # an empty array is no answer
    assert rows[(1, "medical", "help", "doctor")]["answers"] == 1
    assert rows[(1, "medical", "help", "doctor")]["label"] == "Doctor at home"
    assert rows[(1, "medical", "help", "advice")]["answers"] == 1
    assert [rows[(1, "medical", "symptoms", v)]["answers"] for v in ("fever", "cough", "none")] == [
        1,
        2,
        0,
    ]
    assert [rows[(1, "medical", "risk", v)]["answers"] for v in ("true", "false")] == [1, 1]
    assert rows[(1, "medical", "notes", None)]["answers"] == 1  # an empty string is not an answer
    assert rows[(1, "medical", "home.street", None)]["answers"] == 1
    assert rows[(1, "medical", "home.floor", None)]["max"] == 2
    assert rows[(1, "covid", "age", None)]["mean"] == 41.0
    assert rows[(1, "covid", "help", "advice")]["answers"] == 0
    assert [rows[(1, "covid", "symptoms", v)]["answers"] for v in ("fever", "cough", "none")] == [
        0,
        0,
        0,
    ]
    assert rows[(1, "covid", "notes", None)]["answers"] == 0
    assert rows[(2, "medical", "again", "b")]["answers"] == 1
    assert rows[(2, "medical", "risk", "true")]["answers"] == 0
    assert (1, "medical", "again", "b") not in rows

    assert [r[3] for r in covid["tables"][0]["rows"]] == ["covid"]
    assert {key[1] for key in _answers(covid)} == {"covid"}
    assert [t["rows"] for t in next_day["tables"]] == [[], []]
    assert dict(weekly["tables"][0]["rows"])["agent_forms_submitted"] == 4


async def test_form_answers_export_as_csv_and_xlsx_with_the_jsons_figures(api: FieldApi) -> None:
    await fill_forms(api)
    async with api.signed_in("boss") as boss:
        as_json = (await boss.get("/api/v1/reports/forms", params=DAY)).json()
        as_csv = await boss.get("/api/v1/reports/forms", params={**DAY, "format": "csv"})
        as_xlsx = await boss.get("/api/v1/reports/forms", params={**DAY, "format": "xlsx"})
    assert 'filename="forms-2025-03-04.csv"' in as_csv.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    answers = as_json["tables"][1]
    start = lines.index(["answers_by_field"])
    assert lines[start + 1] == answers["columns"]
    expected = [["" if v is None else str(v) for v in row] for row in answers["rows"]]
    assert lines[start + 2 :] == expected
    book = load_workbook(io.BytesIO(as_xlsx.content))
    assert book.sheetnames == ["forms", "answers_by_field"]
    sheet = book["answers_by_field"]
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=3)] == answers["rows"]


async def test_the_report_is_for_supervisors_and_administrators(api: FieldApi) -> None:
    async with api.signed_in("agent01") as agent:
        assert (await agent.get("/api/v1/reports/forms")).status_code == 403
