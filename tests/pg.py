"""Throwaway PostgreSQL databases for tests and benchmarks: created empty, dropped afterwards."""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator

from sqlalchemy import text

from storage.db import make_engine

POSTGRES_ENV = "LIAISON_TEST_POSTGRES_URL"
# The server a developer's machine and CI both have: local, trust auth, database "test".
LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@functools.cache
def find_postgres() -> tuple[str | None, str]:
    """The PostgreSQL server the tests use, and a sentence saying how it was found or why not.

    LIAISON_TEST_POSTGRES_URL wins; otherwise the local server is used when it answers, so that
    `make test` on a developer's machine runs the same PostgreSQL tests as CI.
    """
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url, f"PostgreSQL from {POSTGRES_ENV}"
    import psycopg

    try:
        with psycopg.connect(LOCAL_URL.replace("+psycopg", ""), connect_timeout=2):
            return LOCAL_URL, "PostgreSQL found at 127.0.0.1:5432"
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, (
            f"no PostgreSQL at 127.0.0.1:5432 ({reason}) and {POSTGRES_ENV} is not set, "
            "so the PostgreSQL variants are SKIPPED"
        )


@contextlib.contextmanager
def throwaway_database(base: str, prefix: str = "liaison_test") -> Iterator[str]:
    """A new, empty database on the server of `base`; yields its URL, drops it at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
