"""Throwaway PostgreSQL databases for tests and benchmarks: created empty, dropped afterwards;
and a throwaway PostgreSQL server, for the tests that stop and start one."""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

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


def empty_tables(engine: Engine) -> None:
    """Empty every table of the models on a PostgreSQL database and restart its ids at 1, as a
    new migration leaves them. DELETE, child tables first, rather than TRUNCATE: on tables this
    small TRUNCATE costs the server several times as much (new files for every table and
    index), and the PostgreSQL tests do this once each."""
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401  (the models' tables)

    statements = [f'DELETE FROM "{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables)]
    statements.append(
        "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema()"
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("; ".join(statements))


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


def _server_program(name: str) -> str | None:
    """A PostgreSQL server program (initdb, pg_ctl): on PATH, else where pg_config says the
    server's programs are (Debian keeps them off PATH, in /usr/lib/postgresql/<version>/bin)."""
    found = shutil.which(name)
    if found or not shutil.which("pg_config"):
        return found
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=30)
    program = Path(bindir.stdout.strip()) / name
    return str(program) if bindir.returncode == 0 and os.access(program, os.X_OK) else None


def _run_as() -> tuple[list[str], str | None]:
    """The prefix that runs a server program as a user it accepts, and the user: initdb and
    postgres refuse root, so as root they run as `postgres` (through runuser)."""
    if os.geteuid() != 0:
        return [], None
    with contextlib.suppress(KeyError):
        pwd.getpwnam("postgres")
        if shutil.which("runuser"):
            return ["runuser", "-u", "postgres", "--"], "postgres"
    return [], None


def own_server_missing() -> str | None:
    """Why a throwaway server cannot be made here, or None when it can."""
    missing = [name for name in ("initdb", "pg_ctl") if not _server_program(name)]
    if missing:
        return f"PostgreSQL's {' and '.join(missing)} not found (on PATH or in pg_config --bindir)"
    if os.geteuid() == 0 and not _run_as()[1]:
        return "running as root, without runuser or a `postgres` user (initdb refuses root)"
    return None


def _run(command: list[str], log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise AssertionError(f"{' '.join(command)}:\n{done.stdout}{done.stderr}{tail}")


@dataclass(frozen=True)
class OwnServer:
    """A PostgreSQL server of a test's own: `pg_ctl + ["stop"]` stops it, `+ ["start"]` starts
    it again (waiting until it accepts connections); `url` is its `postgres` database."""

    url: str
    pg_ctl: list[str]
    log: Path


@contextlib.contextmanager
def own_server() -> Iterator[OwnServer]:
    """A new PostgreSQL server (trust auth, 127.0.0.1 on a free port, no Unix socket) in a
    temporary directory, started; stopped and deleted afterwards, whatever happened. Check
    own_server_missing() first."""
    from tests.serving import free_port

    prefix, user = _run_as()
    initdb, pg_ctl = _server_program("initdb"), _server_program("pg_ctl")
    assert initdb and pg_ctl, own_server_missing()
    home = Path(tempfile.mkdtemp(prefix="liaison-postgres-"))
    data, log = home / "data", home / "server.log"
    command = [*prefix, pg_ctl, "--pgdata", str(data), "--log", str(log), "--wait", "--timeout=60"]
    try:
        if user:
            shutil.chown(home, user, user)
        _run(
            [*prefix, initdb, "--pgdata", str(data), "--username", "postgres", "--auth", "trust",
             "--encoding", "UTF8", "--locale", "C", "--no-sync"]
        )  # fmt: skip
        port = free_port()
        with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            )
        _run([*command, "start"], log)
        yield OwnServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", command, log)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*command, "--mode", "immediate", "stop"], capture_output=True, timeout=60
            )
        shutil.rmtree(home, ignore_errors=True)
