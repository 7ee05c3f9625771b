"""A request category's form is a JSON Schema (draft 2020-12) of an object, one property per field.
This module checks such a schema when a category is configured, and checks a filled form against
it when a request is created, with one message per field that an agent's page can show next to the
field. Pure: no I/O (remote `$ref`s are never fetched)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from hotline.core.yamlfile import did_you_mean

Loc = tuple[str | int, ...]

_FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER

_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "yes or no (true or false)",
    "array": "a list",
    "object": "a group of fields",
    "null": "nothing",
}


def schema_problems(schema: Any) -> list[tuple[Loc, str]]:
    """What is wrong with a category's form schema, each at its path inside the schema; empty when
    it is a valid JSON Schema of an object."""
    if not isinstance(schema, Mapping):
        return [((), "expected a JSON Schema (a mapping such as {type: object, properties: ...})")]
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    problems = [
        (tuple(error.absolute_path), _schema_message(error))
        for error in sorted(meta.iter_errors(schema), key=lambda e: list(map(str, e.path)))
    ]
    if schema.get("type") != "object":
        problems.append((("type",), "a form is an object: write `type: object`"))
    return problems


def form_problems(schema: Mapping[str, Any], data: Any) -> list[dict[str, Any]]:
    """Field-level problems of filled-in form `data`, as `{"loc": [...], "message": ...}`, in a
    stable order; empty when the form is valid. `loc` is the path to the field."""
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    problems: list[dict[str, Any]] = []
    for error in validator.iter_errors(data):
        for loc, message in _field_messages(error):
            problems.append({"loc": list(loc), "message": message})
    problems.sort(key=lambda p: ([str(part) for part in p["loc"]], p["message"]))
    return problems


def form_fields(schema: Mapping[str, Any]) -> list[str]:
    """The names of a form's fields, in the order they are written."""
    properties = schema.get("properties")
    return list(properties) if isinstance(properties, Mapping) else []


def _schema_message(error: ValidationError) -> str:
    # The meta-schema's own messages, without the (possibly long) offending value.
    path = list(error.absolute_path)
    if path and path[-1] == "type" and error.validator == "anyOf":
        hint = did_you_mean(str(error.instance), _TYPE_WORDS)
        return f"unknown type {error.instance!r}{hint} (types: {', '.join(sorted(_TYPE_WORDS))})"
    if error.validator == "type":
        return f"expected {_types(error.validator_value)}"
    expected: Any = error.validator_value
    if error.validator == "enum" and isinstance(expected, list):
        return f"expected one of {', '.join(map(repr, expected))}"
    return str(error.message)


def _field_messages(error: ValidationError) -> list[tuple[Loc, str]]:
    """One or more (field path, message) for a validation error. Messages name the expected value,
    never echo what was typed (it may be personal data, and the field shows it anyway)."""
    path: Loc = tuple(error.absolute_path)
    kind = error.validator
    expected: Any = error.validator_value
    schema: Any = error.schema
    if kind == "required":
        present = error.instance if isinstance(error.instance, Mapping) else {}
        return [((*path, name), "field required") for name in expected if name not in present]
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        known = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
        patterns = schema.get("patternProperties", {}) if isinstance(schema, Mapping) else {}
        unknown = [
            name
            for name in error.instance
            if name not in known and not any(re.search(p, str(name)) for p in patterns)
        ]
        return [((*path, name), "unknown field") for name in unknown] or [(path, "unknown field")]
    messages: dict[str, str] = {
        "type": f"expected {_types(expected)}",
        "enum": f"expected one of: {', '.join(map(str, expected))}"
        if isinstance(expected, list)
        else "not one of the allowed values",
        "const": f"expected {expected!r}",
        "minLength": f"too short: at least {expected} characters",
        "maxLength": f"too long: at most {expected} characters",
        "minimum": f"at least {expected}",
        "maximum": f"at most {expected}",
        "exclusiveMinimum": f"more than {expected}",
        "exclusiveMaximum": f"less than {expected}",
        "minItems": f"at least {expected} items",
        "maxItems": f"at most {expected} items",
        "pattern": "not in the expected format",
        "format": f"not a valid {expected}",
        "uniqueItems": "items must not repeat",
    }
    return [(path, messages.get(str(kind), "not a valid value"))]


def _types(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    return " or ".join(_TYPE_WORDS.get(str(name), str(name)) for name in names)
