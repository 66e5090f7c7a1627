"""The migration lock: one PostgreSQL session-level advisory lock per database (and, for a
tenant schema, one per schema, so that the tenants of one database can migrate side by side).

Session-level on purpose: it is held across the per-revision transactions of one run, and
PostgreSQL releases it when the session ends, however it ends (even kill -9 of schemactl).
We poll pg_try_advisory_lock instead of blocking in pg_advisory_lock so that the user can
be told who holds it, and so that --lock-wait can bound the wait.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, text

from schemactl.errors import SchemactlError

# The ASCII bytes of "schemact" as one bigint: fixed, and recognisable in pg_locks
# (classid = 0x73636865, objid = 0x6d616374).
LOCK_KEY = int.from_bytes(b"schemact", "big")
POLL_SECONDS = 0.25


def key_for(schema: str | None) -> int:
    """The lock key of a migration target: LOCK_KEY for the database's own (public) history,
    a stable key derived from the name for a tenant schema's history."""
    if schema is None:
        return LOCK_KEY
    digest = hashlib.sha256(f"schemactl:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class LockHolder:
    pid: int
    application_name: str
    since: str

    def __str__(self) -> str:
        name = f" ({self.application_name})" if self.application_name else ""
        return f"pid {self.pid}{name}, connected since {self.since}"


def _try_lock(conn: Connection, key: int) -> bool:
    got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
    conn.commit()
    return bool(got)


def _unlock(conn: Connection, key: int) -> None:
    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    conn.commit()


def holder(conn: Connection, key: int = LOCK_KEY) -> LockHolder | None:
    """The session that holds the migration lock (of key) on this database, if any."""
    row = conn.execute(
        text(
            "SELECT l.pid, coalesce(a.application_name, ''), "
            "       to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS') "
            "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :classid "
            "  AND l.objid = :objid AND l.objsubid = 1 "
            "  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        # pg_locks shows a bigint key as two unsigned 32-bit halves.
        {"classid": (key >> 32) & 0xFFFFFFFF, "objid": key & 0xFFFFFFFF},
    ).first()
    conn.commit()
    if row is None:
        return None
    return LockHolder(int(row[0]), str(row[1]), str(row[2]))


@contextmanager
def migration_lock(
    conn: Connection,
    wait_seconds: float,
    on_wait: Callable[[LockHolder | None], None] = lambda holder: None,
    key: int = LOCK_KEY,
) -> Iterator[None]:
    """Hold the migration lock for the body; wait at most wait_seconds to get it."""
    deadline = time.monotonic() + wait_seconds
    told = False
    while not _try_lock(conn, key):
        current = holder(conn, key)
        if time.monotonic() >= deadline:
            raise SchemactlError(
                f"another migration run holds the schemactl lock on this database "
                f"({current or 'holder unknown'}); gave up after {wait_seconds:g}s",
                hint="wait for it to finish, or raise --lock-wait",
            )
        if not told:
            on_wait(current)
            told = True
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        # When the connection is already broken, the server has released the lock with it.
        if not conn.closed and not conn.invalidated:
            conn.rollback()  # a failed statement may have left a transaction open
            _unlock(conn, key)
