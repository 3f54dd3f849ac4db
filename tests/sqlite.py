"""New SQLite databases at the newest migration, copied from one migrated per test process.

Running the Alembic chain costs a few hundred milliseconds (seconds on a busy machine), and
most tests want a fresh database at head, not to test the migrations. A copy of one
database migrated the real way (``storage.db.upgrade``) is the same database, page for page.
The migrations themselves are still run by the tests that are about them
(tests/integration/test_storage.py, tests/unit/test_start_up.py) and by every `serve` test
that starts on an empty file.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
from pathlib import Path

from storage.db import make_engine, upgrade


@functools.cache
def _template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="liaison-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def migrated_sqlite(path: Path) -> str:
    """Create `path` as a database at the newest migration (it must not exist yet); its URL."""
    path = Path(path)
    assert not path.exists(), f"{path} exists already"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(_template()) as source, sqlite3.connect(path) as target:
        source.backup(target)  # consistent, whatever the journal (WAL) holds
    source.close()
    target.close()
    return f"sqlite:///{path}"
