"""Checks of a topic's form beyond its JSON Schema (which `hotline.requests.forms` checks, as it
does request categories' forms): its ui-schema, which tells the browser's form library how to show
each field. Only the presentation keys listed here are taken, each with a value of the right
kind, and only for fields the schema has: an unknown key is a typo, and keys that would let
configuration inject markup or code into the agent's page (custom fields, Markdown descriptions)
are refused. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotline.core.yamlfile import did_you_mean

Loc = tuple[str | int, ...]

WIDGETS = frozenset(
    {
        "text",
        "textarea",
        "email",
        "uri",
        "date",
        "select",
        "radio",
        "checkbox",
        "checkboxes",
        "updown",
        "range",
        "hidden",
    }
)
"""The form library's own widgets that forms may ask for."""

_TEXT_KEYS = ("ui:title", "ui:description", "ui:help", "ui:placeholder")
_FLAG_KEYS = ("ui:autofocus", "ui:disabled", "ui:readonly", "ui:label")
_OPTIONS = {"rows": int, "inline": bool, "inputType": str, "label": bool}
UI_KEYS = frozenset(
    {*_TEXT_KEYS, *_FLAG_KEYS, "ui:widget", "ui:order", "ui:options", "ui:enumNames"}
)


def ui_schema_problems(schema: Mapping[str, Any], ui: Any) -> list[tuple[Loc, str]]:
    """What is wrong with the ui-schema `ui` of a form whose JSON Schema is `schema`, each at its
    path inside the ui-schema; empty when the browser may use it as it is."""
    if not isinstance(ui, Mapping):
        return [((), "expected a mapping of field names to how each is shown")]
    return _object(schema, ui, ())


def _object(schema: Mapping[str, Any], ui: Mapping[str, Any], at: Loc) -> list[tuple[Loc, str]]:
    properties = schema.get("properties")
    fields: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
    problems: list[tuple[Loc, str]] = []
    for key, value in ui.items():
        where = (*at, key)
        if str(key).startswith("ui:"):
            problems += _ui_key(str(key), value, where, fields)
        elif key not in fields:
            hint = did_you_mean(str(key), fields)
            problems.append((where, f"the form has no field {key!r}{hint}"))
        elif not isinstance(value, Mapping):
            problems.append((where, "expected a mapping of ui: keys for this field"))
        else:
            field = fields[key]
            problems += _object(field if isinstance(field, Mapping) else {}, value, where)
    return problems


def _ui_key(key: str, value: Any, where: Loc, fields: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    if key not in UI_KEYS:
        hint = did_you_mean(key, UI_KEYS)
        return [(where, f"unknown ui-schema key{hint} (keys: {', '.join(sorted(UI_KEYS))})")]
    if key in _TEXT_KEYS:
        return [] if isinstance(value, str) else [(where, "expected text")]
    if key in _FLAG_KEYS:
        return [] if isinstance(value, bool) else [(where, "expected true or false")]
    if key == "ui:widget":
        if value in WIDGETS:
            return []
        return [(where, f"unknown widget {value!r}; widgets: {', '.join(sorted(WIDGETS))}")]
    if key == "ui:order":
        return _order(value, where, fields)
    if key == "ui:enumNames":
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return []
        return [(where, "expected a list of texts, one per allowed value")]
    return _options(value, where)


def _order(value: Any, where: Loc, fields: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return [(where, "expected a list of field names (and '*' for the rest)")]
    return [
        ((*where, index), f"the form has no field {name!r}{did_you_mean(name, fields)}")
        for index, name in enumerate(value)
        if name != "*" and name not in fields
    ]


def _options(value: Any, where: Loc) -> list[tuple[Loc, str]]:
    if not isinstance(value, Mapping):
        return [(where, "expected a mapping of options")]
    problems: list[tuple[Loc, str]] = []
    for name, option in value.items():
        kind = _OPTIONS.get(str(name))
        if kind is None:
            problems.append(((*where, name), f"unknown option; options: {', '.join(_OPTIONS)}"))
        elif not isinstance(option, kind) or (kind is int and isinstance(option, bool)):
            problems.append(((*where, name), f"expected {kind.__name__}"))
    return problems
