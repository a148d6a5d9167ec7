"""SQLite probes for the tests of writes that a cancel may reach."""

from __future__ import annotations

import sqlite3

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

#: A statement that runs for a second or so: a cancel sent just after it starts lands while it runs.
SLOW_STATEMENT = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c"
)


def write_lock_free(engine: AsyncEngine) -> bool:
    """Whether another connection can take SQLite's write lock (waiting up to 10 s for a writer to end)."""
    probe = sqlite3.connect(str(engine.url.database), isolation_level=None, timeout=10)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
