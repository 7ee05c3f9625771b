"""The declarative base every table derives from, with a naming convention so that constraints get
stable names on SQLite and PostgreSQL alike (Alembic needs names to alter or drop them), and the
column types that must behave the same on both databases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths of identifier columns: configuration ids ("medical", "city_hours") and generated ids
# (32 hex digits from `hotline.core.ids.new_id`).
KEY_LENGTH = 64
ID_LENGTH = 32


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python. PostgreSQL keeps the zone itself;
    SQLite stores text without one, so the zone is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Hotline stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# A 64-bit surrogate key on PostgreSQL; SQLite only autoincrements a column typed INTEGER.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")

# JSON on SQLite, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime}


class Timestamped:
    """`created_at` / `updated_at` columns, set by the process (not the database) in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def check_in(column: str, values: Iterable[object]) -> str:
    """SQL for a CHECK that `column` holds one of `values` (enum members give their values)."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def key_column(**kwargs: Any) -> Mapped[str]:
    """The primary key of a configuration record: the id written in the configuration file."""
    return mapped_column(String(KEY_LENGTH), primary_key=True, **kwargs)
