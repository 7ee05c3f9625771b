"""The few SQL expressions SQLite and PostgreSQL spell differently: seconds between two
timestamps, seconds since the epoch, and a JSON field as text. Reports compute with them in the
database, so a day of a two-million-contact history is aggregated there, never row by row here.

SQLite keeps timestamps as text (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`), which `julianday` reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, cast, func, literal
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
