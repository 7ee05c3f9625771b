"""A category's form is a JSON Schema; filled forms are checked field by field, with messages an
agent's page can show next to each field and that never echo what was typed."""

from __future__ import annotations

from typing import Any

from hotline.requests.forms import form_fields, form_problems, schema_problems

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["medicines", "payment"],
    "properties": {
        "medicines": {"type": "string", "minLength": 2},
        "payment": {"type": "string", "enum": ["cash", "transfer"]},
        "budget": {"type": "integer", "minimum": 0},
        "from": {"type": "string", "format": "date"},
    },
    "additionalProperties": False,
}


def test_a_valid_form_has_no_problems() -> None:
    assert form_problems(SCHEMA, {"medicines": "aspirin", "payment": "cash", "budget": 500}) == []


def test_each_bad_field_gets_its_own_message() -> None:
    problems = form_problems(
        SCHEMA,
        {"medicines": "x", "budget": "lots", "from": "2025-02-30", "colour": "red"},
    )
    assert problems == [
        {"loc": ["budget"], "message": "expected a whole number"},
        {"loc": ["colour"], "message": "unknown field"},
        {"loc": ["from"], "message": "not a valid date"},
        {"loc": ["medicines"], "message": "too short: at least 2 characters"},
        {"loc": ["payment"], "message": "field required"},
    ]


def test_messages_never_repeat_the_value_typed() -> None:
    problems = form_problems(SCHEMA, {"medicines": "Ivanov I.I., flat 5", "payment": "Ivanov"})
    assert problems == [{"loc": ["payment"], "message": "expected one of: cash, transfer"}]
    assert "Ivanov" not in str(problems)


def test_a_form_that_is_not_an_object_is_refused() -> None:
    assert form_problems(SCHEMA, ["aspirin"]) == [
        {"loc": [], "message": "expected a group of fields"}
    ]


def test_a_schema_must_be_an_object_schema() -> None:
    assert schema_problems({"type": "object", "properties": {}}) == []
    assert schema_problems({"type": "string"}) == [
        (("type",), "a form is an object: write `type: object`")
    ]
    assert schema_problems("object") == [
        ((), "expected a JSON Schema (a mapping such as {type: object, properties: ...})")
    ]


def test_fields_come_in_the_order_written() -> None:
    assert form_fields(SCHEMA) == ["medicines", "payment", "budget", "from"]
