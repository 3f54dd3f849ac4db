"""The engine, sessions and schema upgrades.

SQLite (the default) runs in WAL mode with a busy timeout, so the bot, a sweep from cron and
a shell can share one file. PostgreSQL is reached through psycopg 3; plain `postgres://` and
`postgresql://` URLs are accepted and given that driver.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x4C49_4149  # an arbitrary advisory-lock key for schema upgrades


def database_away(exc: BaseException) -> bool:
    """The database did not answer (down, restarting, locked): worth trying again soon."""
    return isinstance(exc, OperationalError | DisconnectionError)


def wait_for_database(
    url: str, seconds: float, on_wait: Callable[[float, BaseException], None]
) -> None:
    """Return once the database answers; until then try again with a growing pause, for up
    to `seconds` (a container that starts before PostgreSQL), then raise the last error."""
    engine = make_engine(url)
    deadline, pause = time.monotonic() + seconds, 0.5
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except OperationalError as exc:
                if time.monotonic() + pause > deadline:
                    raise
                on_wait(pause, exc)
                time.sleep(pause)
                pause = min(pause * 2, 10.0)
    finally:
        engine.dispose()


def describe_url(url: str) -> str:
    """A database URL fit for a log line or an error: the password hidden."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def normalise_url(url: str) -> str:
    """Give PostgreSQL URLs the psycopg 3 driver; leave everything else as it is."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to `revision` on the engine's database.

    A database already at the newest migrations is told apart without Alembic (which costs
    a good part of a second to import and a few megabytes to keep): every start of `serve`
    asks, and almost always nothing is to be done."""
    if revision == "head" and _at_heads(engine):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A migration that copies a table (SQLite's way to alter some things) must not trip
            # the foreign keys of the rows pointing at it; they are checked once it is done.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if not sqlite:
                    # Replicas starting together: one migrates, the others wait, then find it
                    # done.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                before = _revision(connection)
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite and _revision(connection) != before:  # not on every start: it scans
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the upgrade left broken references: {broken}")
        finally:
            if sqlite:  # the connection goes back to the pool: keep its foreign keys on
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.*)$", re.MULTILINE)


def migration_heads() -> frozenset[str]:
    """The newest migrations (those no other one revises), read from the files' text."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            found = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (revisions if name == "revision" else revised).update(found)
    return frozenset(revisions - revised)


def _at_heads(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except (OperationalError, ProgrammingError):
        return False  # a new database: no version table yet
    return {row[0] for row in rows} == migration_heads()


def _revision(connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with engine.connect() as connection:
        return _revision(connection)


def insert_missing(session: Session, row: SQLModel, *keys: str) -> bool:
    """INSERT ... ON CONFLICT (keys) DO NOTHING: a row that N replicas may all create at once
    (the config's people and units at start, a person on first use) is created exactly once,
    and nobody fails on another's insert. True when this call inserted it; read it back after."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = row.model_dump(exclude_none=True)
    statement = insert(type(row)).values(**values).on_conflict_do_nothing(index_elements=keys)
    return bool(session.execute(statement).rowcount)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
