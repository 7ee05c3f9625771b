"""The form answers report: what agents entered in the scripts' forms (`contact_forms`, submitted),
counted per field of each form version and per contact topic.

A form version's JSON Schema says what each field holds, and so how it is counted:
- a choice (`enum`, or `oneOf`/`anyOf` of `const`s): how many answers gave each value;
- several choices (an array whose items are choices, e.g. checkboxes): how many answers hold each;
- a yes/no (`boolean`): how many answered true, how many false;
- a number (`integer`, `number`): how many answered, the smallest, the largest and the mean;
- anything else (free text, a date, an array of free items): how many filled it in.
Every field has a row without a value: how many answered it (a number's also has its min, max and
mean); choices and yes/no have a row per value after it.
Fields of nested objects are counted under their dotted path (`address.street`).

Forms are counted with their contact, by the time it arrived (as the contacts report counts), so
the period's contacts are read by the `arrived_at` index and their forms by the primary key. The
database does the counting: a query for the form versions in the period, then one per version
whose aggregates are that version's fields, grouped by topic."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.contacts.models import Contact
from hotline.reports.service import Period, Report, Table, _count, _in_period, _tuned
from hotline.reports.sql import Dialect
from hotline.scripts.models import ContactForm, FormVersion

Kind = Literal["choice", "choices", "boolean", "number", "filled"]
MAX_DEPTH = 4
"""Nested objects deeper than this are counted as filled or not."""

FORMS_COLUMNS = ["form", "form_version", "name", "topic", "submitted"]
ANSWER_COLUMNS = [
    "form",
    "form_version",
    "topic",
    "field",
    "title",
    "kind",
    "value",
    "label",
    "answers",
    "min",
    "max",
    "mean",
]


@dataclass(frozen=True)
class Field:
    """A field of a form, how it is counted, and for choices their values and titles."""

    path: tuple[str, ...]
    title: str
    kind: Kind
    choices: list[tuple[Any, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return ".".join(self.path)


def form_fields(schema: Mapping[str, Any], ui: Mapping[str, Any] | None = None) -> list[Field]:
    """The fields of an object schema, nested objects flattened, in the order the agent sees
    them: the ui-schema's `ui:order`, else the schema's (PostgreSQL's JSONB keeps keys in its own
    order, shortest first, so a form without `ui:order` reads in that order on both)."""
    return list(_fields(schema, ui or {}, (), 0))


def _ordered(properties: Mapping[str, Any], ui: Mapping[str, Any]) -> list[str]:
    """The property names in `ui:order` (rjsf's: names, and "*" for all the others)."""
    order = ui.get("ui:order")
    if not isinstance(order, list):
        return list(properties)
    listed = [name for name in order if name in properties]
    rest = [name for name in properties if name not in listed]
    if "*" not in order:
        return listed + rest
    at = order.index("*")
    before = [name for name in order[:at] if name in properties]
    return before + rest + [name for name in listed if name not in before]


def _fields(
    schema: Mapping[str, Any], ui: Mapping[str, Any], at: tuple[str, ...], depth: int
) -> Iterator[Field]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return
    for key in _ordered(properties, ui):
        sub = properties[key]
        sub_ui = ui.get(key)
        sub_ui = sub_ui if isinstance(sub_ui, Mapping) else {}
        if not isinstance(sub, Mapping) or '"' in key or "\\" in key:
            continue  # not a schema, or a key no SQLite JSON path can name
        path = (*at, str(key))
        title = str(sub.get("title") or key)
        kind = _type(sub)
        if kind == "object" and isinstance(sub.get("properties"), Mapping) and depth < MAX_DEPTH:
            yield from _fields(sub, sub_ui, path, depth + 1)
            continue
        choices = _choices(sub)
        items = sub.get("items")
        if kind == "array" and isinstance(items, Mapping) and _choices(items):
            yield Field(path, title, "choices", _choices(items))
        elif kind == "boolean":
            yield Field(path, title, "boolean", [(True, ""), (False, "")])
        elif choices:
            yield Field(path, title, "choice", choices)
        elif kind in ("integer", "number"):
            yield Field(path, title, "number")
        else:
            yield Field(path, title, "filled")


def _type(schema: Mapping[str, Any]) -> str | None:
    """The schema's `type` (the first besides "null" of a list of them)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _choices(schema: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """The values a field may take, with their titles: `enum`, or `oneOf`/`anyOf` of `const`s.
    Strings and numbers only (a yes/no is counted as a boolean; null is no answer)."""
    if isinstance(schema.get("enum"), list):
        options = [(value, "") for value in schema["enum"]]
    else:
        listed = schema.get("oneOf") or schema.get("anyOf")
        if not isinstance(listed, list):
            return []
        options = [
            (option["const"], str(option.get("title") or ""))
            for option in listed
            if isinstance(option, Mapping) and "const" in option
        ]
    return [
        (value, title)
        for value, title in options
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
    ]


def _aggregates(sql: Dialect, fields: list[Field]) -> list[ColumnElement[Any]]:
    """Each field's figures as aggregates over a version's submitted forms, in order."""
    data = ContactForm.data
    out: list[ColumnElement[Any]] = []
    for f in fields:
        path = f.path
        if f.kind == "number":
            number = sql.json_number(data, path)
            out += [func.count(number), func.min(number), func.max(number), func.avg(number)]
        else:  # how many answered it, then for choices and yes/no how many gave each value
            out.append(_count(sql.json_filled(data, path)))
        if f.kind == "boolean":
            out += [_count(sql.json_is(data, path, flag)) for flag, _ in f.choices]
        elif f.kind == "choices":
            out += [_count(sql.json_holds(data, path, str(value))) for value, _ in f.choices]
        elif f.kind == "choice":
            out += [_count(_equals(sql, path, value)) for value, _ in f.choices]
    return out


def _equals(sql: Dialect, path: tuple[str, ...], value: Any) -> ColumnElement[bool]:
    if isinstance(value, str):
        return sql.json_string(ContactForm.data, path) == value
    return sql.json_number(ContactForm.data, path) == float(value)


def _rows(
    form_id: str, version: int, topic: str | None, fields: list[Field], figures: list[Any]
) -> list[list[Any]]:
    """The answer table's rows of a version and topic from its aggregates' values."""
    rows: list[list[Any]] = []
    figure = iter(figures)
    for f in fields:
        head = [form_id, version, topic, f.name, f.title, f.kind]
        if f.kind == "number":
            count, least, most, mean = (next(figure) for _ in range(4))
            mean = None if mean is None else round(float(mean), 3)
            rows.append([*head, None, None, int(count or 0), _plain(least), _plain(most), mean])
        else:
            rows.append([*head, None, None, int(next(figure) or 0), None, None, None])
            for value, label in f.choices:
                shown = ("true" if value else "false") if f.kind == "boolean" else value
                rows.append([*head, shown, label or None, int(next(figure) or 0), None, None, None])
    return rows


async def form_answers(
    *,
    session: AsyncSession,
    period: Period,
    form_id: str | None = None,
    topic: str | None = None,
) -> Report:
    """Submitted forms of the period's contacts per form version and topic (`forms`), and their
    answers per field (`answers_by_field`); only `form_id`'s, or `topic`'s, when given."""
    sql = await _tuned(session)
    contact_topic = sql.text(Contact.attributes["topic"])
    where: list[Any] = [_in_period(Contact.arrived_at, period), ContactForm.status == "submitted"]
    if form_id is not None:
        where.append(ContactForm.form_id == form_id)
    if topic is not None:
        where.append(contact_topic == topic)
    counted = (
        await session.execute(
            select(ContactForm.form_id, ContactForm.form_version, contact_topic, func.count())
            .select_from(Contact)
            .join(ContactForm, ContactForm.contact_id == Contact.id)
            .where(*where)
            .group_by(ContactForm.form_id, ContactForm.form_version, contact_topic)
        )
    ).all()
    versions = {(row[0], row[1]) for row in counted}
    forms: dict[tuple[str, int], FormVersion] = {}
    if versions:
        found = await session.scalars(
            select(FormVersion).where(
                tuple_(FormVersion.form_id, FormVersion.version).in_(sorted(versions))
            )
        )
        forms = {(v.form_id, v.version): v for v in found}
    submitted = Table("forms", FORMS_COLUMNS)
    answers = Table("answers_by_field", ANSWER_COLUMNS)
    for form, version, topic_, count in sorted(counted, key=_order):
        known = forms.get((form, version))
        submitted.rows.append([form, version, known.name if known else "", topic_, int(count)])
    for form, version in sorted(versions):
        known = forms.get((form, version))
        fields = form_fields(known.json_schema, known.ui_schema) if known is not None else []
        if not fields:
            continue
        figures = (
            await session.execute(
                select(contact_topic, *_aggregates(sql, fields))
                .select_from(Contact)
                .join(ContactForm, ContactForm.contact_id == Contact.id)
                .where(*where, ContactForm.form_id == form, ContactForm.form_version == version)
                .group_by(contact_topic)
            )
        ).all()
        for row in sorted(figures, key=lambda r: (r[0] is None, r[0] or "")):
            answers.rows.extend(_rows(form, version, row[0], fields, list(row[1:])))
    return Report("forms", period, [submitted, answers])


def _plain(number: Any) -> int | float | None:
    """A whole number as an integer (an age is 41, not 41.0)."""
    if number is None:
        return None
    value = float(number)
    return int(value) if value.is_integer() else value


def _order(row: Any) -> tuple[Any, ...]:
    return (row[0], row[1], row[2] is None, row[2] or "")
