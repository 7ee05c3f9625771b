"""The few SQL expressions SQLite and PostgreSQL spell differently: seconds between two
timestamps, seconds since the epoch, a JSON field as text, and what a JSON document holds at a
path (a number, true or false, a string, an array holding a value: the form answers report).
Reports compute with them in the database, so a day of a two-million-contact history is
aggregated there, never row by row here.

SQLite keeps timestamps as text (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`), which `julianday` reads."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

UNIX_EPOCH_JULIAN_DAY = 2440587.5


class Dialect:
    """Expressions for one database (`name`: "sqlite" or "postgresql")."""

    def __init__(self, name: str) -> None:
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"reports support SQLite and PostgreSQL, not {name}")
        self.name = name

    def epoch(self, column: Any) -> ColumnElement[float]:
        """Seconds since 1970-01-01 UTC."""
        if self.name == "postgresql":
            return cast(func.extract("epoch", column), Float)
        return (func.julianday(column) - literal(UNIX_EPOCH_JULIAN_DAY)) * literal(86400.0)

    def seconds(self, later: Any, earlier: Any) -> ColumnElement[float]:
        """Seconds from `earlier` to `later`."""
        if self.name == "postgresql":
            return cast(func.extract("epoch", later - earlier), Float)
        return (func.julianday(later) - func.julianday(earlier)) * literal(86400.0)

    def bucket(self, column: Any, *, origin: float, size: float) -> ColumnElement[int]:
        """The index of the `size`-second bucket, counted from `origin` (epoch seconds), that
        `column` falls in (rows before `origin` are filtered out by the caller)."""
        return self._floor((self.epoch(column) - literal(origin)) / literal(size))

    def hour_of_day(self, column: Any, *, offset: float) -> ColumnElement[int]:
        """The local hour (0-23) of `column`, for a zone `offset` seconds east of UTC."""
        return self._floor((self.epoch(column) + literal(offset)) / literal(3600.0)) % literal(24)

    def _floor(self, value: ColumnElement[float]) -> ColumnElement[int]:
        """The integer part of a value that is never negative here. PostgreSQL's cast rounds, so
        it floors first; SQLite's cast truncates (and SQLite may lack `floor`)."""
        if self.name == "postgresql":
            return cast(func.floor(value), Integer)
        return cast(value, Integer)

    def least(self, *values: Any) -> ColumnElement[float]:
        """The smallest value (SQLite's `min` with several arguments is this)."""
        function = func.least if self.name == "postgresql" else func.min
        result: ColumnElement[float] = function(*values)
        return result

    def greatest(self, *values: Any) -> ColumnElement[float]:
        function = func.greatest if self.name == "postgresql" else func.max
        result: ColumnElement[float] = function(*values)
        return result

    def text(self, json_field: Any) -> ColumnElement[str]:
        """A JSON field (`column["key"]`) as text."""
        value: ColumnElement[str] = json_field.as_string()
        return value

    # A JSON document's value at a path of object keys. Each reads the type first, so a value of
    # another type (data saved under an older schema) is no answer rather than a failed cast.

    def _kind(self, document: Any, path: tuple[str, ...]) -> ColumnElement[str]:
        """PostgreSQL's `jsonb_typeof` (number, boolean, string, array, object, null) or
        SQLite's `json_type` (integer, real, true, false, text, array, object, null); NULL when
        the path is missing."""
        kind: ColumnElement[str]
        if self.name == "postgresql":
            kind = func.jsonb_typeof(document[path])
        else:
            kind = func.json_type(document, literal(json_path(path)))
        return kind

    def json_number(self, document: Any, path: tuple[str, ...]) -> ColumnElement[float]:
        """The number at `path`, else NULL."""
        kind = self._kind(document, path)
        if self.name == "postgresql":
            return case((kind == "number", cast(document[path].as_string(), Float)))
        value = func.json_extract(document, literal(json_path(path)))
        return case((kind.in_(("integer", "real")), cast(value, Float)))

    def json_is(self, document: Any, path: tuple[str, ...], flag: bool) -> ColumnElement[bool]:
        """Whether `path` holds the boolean `flag`."""
        kind = self._kind(document, path)
        if self.name == "postgresql":
            text = document[path].as_string()
            return and_(kind == "boolean", text == ("true" if flag else "false"))
        return kind == ("true" if flag else "false")

    def json_string(self, document: Any, path: tuple[str, ...]) -> ColumnElement[str]:
        """The string at `path`, else NULL."""
        kind = self._kind(document, path)
        if self.name == "postgresql":
            return case((kind == "string", document[path].as_string()))
        return case((kind == "text", func.json_extract(document, literal(json_path(path)))))

    def json_filled(self, document: Any, path: tuple[str, ...]) -> ColumnElement[bool]:
        """Whether `path` holds an answer: not missing, null, an empty string or an empty array."""
        kind = self._kind(document, path)
        if self.name == "postgresql":
            length = func.jsonb_array_length(document[path])
        else:
            length = func.json_array_length(document, literal(json_path(path)))
        empty_string = self.json_string(document, path) == ""
        return and_(
            kind.is_not(None),
            kind != "null",
            case((empty_string, 0), else_=1) == 1,
            case((kind == "array", length), else_=1) > 0,
        )

    def json_holds(self, document: Any, path: tuple[str, ...], value: str) -> ColumnElement[bool]:
        """Whether `path` holds an array with the string `value` among its items."""
        kind = self._kind(document, path)
        if self.name == "postgresql":
            wanted = cast(literal(json.dumps([value])), JSONB)
            return and_(kind == "array", document[path].op("@>")(wanted))
        items = func.json_each(document, literal(json_path(path))).table_valued("value")
        found = select(literal(1)).select_from(items).where(items.c.value == value).exists()
        return and_(kind == "array", found)


def json_path(path: tuple[str, ...]) -> str:
    """SQLite's JSON path of object keys: `$."a"."b"` (keys holding `"` or `\\` are refused by
    the caller)."""
    return "$" + "".join(f'."{key}"' for key in path)


class Unindexed(ColumnElement[Any]):
    """A column the planner must not pick an index for. SQLite otherwise scans a whole table by
    the index of a column it groups or joins on (to save a sort), instead of reading only the
    period's rows by their time index; a unary `+` (a no-op) keeps it from doing that. Other
    databases get the column as is."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(Unindexed)
def _unindexed(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(Unindexed, "sqlite")
def _unindexed_sqlite(element: Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)
