"""Day and hour arithmetic that SQLite and PostgreSQL both run: the few SQL functions the
promise-keeping figures need, compiled per dialect (SQLite has no date subtraction, and
PostgreSQL no julianday)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

EPOCH = dt.date(1970, 1, 1)


class day_number(FunctionElement):
    """Days since 1970-01-01 of a DATE column (UTC day of a timestamp): integer arithmetic
    on days that SQLite and PostgreSQL both do in the index-friendly way."""

    type = Integer()
    inherit_cache = True
    name = "day_number"


@compiles(day_number, "sqlite")
def _day_sqlite(element, compiler, **kw) -> str:
    return (
        f"CAST(julianday(date({compiler.process(element.clauses, **kw)})) - 2440587.5 AS INTEGER)"
    )


@compiles(day_number, "postgresql")
def _day_postgres(element, compiler, **kw) -> str:
    return f"(CAST(({compiler.process(element.clauses, **kw)}) AS DATE) - DATE '1970-01-01')"


class time_day_number(FunctionElement):
    """Days since 1970-01-01 of a timestamp with time zone, on its UTC date."""

    type = Integer()
    inherit_cache = True
    name = "time_day_number"


@compiles(time_day_number, "sqlite")
def _time_day_sqlite(element, compiler, **kw) -> str:
    return _day_sqlite(element, compiler, **kw)


@compiles(time_day_number, "postgresql")
def _time_day_postgres(element, compiler, **kw) -> str:
    inner = compiler.process(element.clauses, **kw)
    return f"(CAST(({inner}) AT TIME ZONE 'UTC' AS DATE) - DATE '1970-01-01')"


class hours_between(FunctionElement):
    """Whole hours from the first timestamp to the second."""

    type = Integer()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element, compiler, **kw) -> str:
    # In whole milliseconds (julianday's own precision), then hours rounded down as
    # PostgreSQL's FLOOR does: a fraction of a day times 24 is not exact, and made some
    # 3-hour spans 2 hours.
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    ms = f"CAST(round((julianday({end}) - julianday({start})) * 86400000) AS INTEGER)"
    return f"(CASE WHEN {ms} >= 0 THEN {ms} / 3600000 ELSE -((3599999 - {ms}) / 3600000) END)"


@compiles(hours_between, "postgresql")
def _hours_postgres(element, compiler, **kw) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({end}) - ({start})) / 3600) AS INTEGER)"


class year_month(FunctionElement):
    """'2026-11' for a DATE column."""

    inherit_cache = True
    name = "year_month"


@compiles(year_month, "sqlite")
def _month_sqlite(element, compiler, **kw) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(year_month, "postgresql")
def _month_postgres(element, compiler, **kw) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


def day_literal(day: dt.date) -> ColumnElement:
    """A date as its day number, for arithmetic beside `day_number`."""
    return literal((day - EPOCH).days, Integer)
