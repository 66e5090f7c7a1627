"""<schema>.schemactl_history: what was run on a migration target, when, by whom, how long,
from which file, and how it ended.

The target's schema is public, or a tenant's schema (fleet, schema per tenant). A row of a
successful revision is written in the same transaction as the revision, so the history and
the schema can never disagree; a failed revision is rolled back and then recorded with
result 'failed' and the error, in a transaction of its own. The checksum lets a later run
notice that the file of an applied revision was edited afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from schemactl.sqltext import quote_ident

TABLE = "schemactl_history"
DEFAULT_SCHEMA = "public"

_CREATE = """
CREATE TABLE IF NOT EXISTS {table} (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision    text        NOT NULL,
    checksum    text        NOT NULL,
    direction   text        NOT NULL CHECK (direction IN ('up', 'down')),
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL,
    applied_by  text        NOT NULL DEFAULT current_user,
    result      text        NOT NULL DEFAULT 'ok' CHECK (result IN ('ok', 'failed')),
    error       text,
    group_no    integer
)
"""
# Columns added after the first release; a table from then gets them on the next run.
_ADDED = {"result": "text NOT NULL DEFAULT 'ok' CHECK (result IN ('ok', 'failed'))",
          "error": "text", "group_no": "integer"}


@dataclass(frozen=True)
class Run:
    """One row: one revision run in one direction on one target."""

    revision: str
    direction: str
    applied_at: datetime
    applied_by: str
    duration_ms: int
    result: str
    error: str | None
    # A transaction group of a revision that commits part way: this group completed (the
    # revision itself is complete only when its row without a group is there).
    group_no: int | None = None


def table(schema: str | None = None) -> str:
    return f"{quote_ident(schema or DEFAULT_SCHEMA)}.{TABLE}"


def ensure(conn: Connection, schema: str | None = None) -> None:
    """Create the table when missing (callers hold the migration lock, so no race)."""
    conn.execute(text("SET LOCAL client_min_messages = warning"))  # no "already exists" notice
    conn.execute(text(_CREATE.format(table=table(schema))))
    present = _columns(conn, schema)
    for column, definition in _ADDED.items():
        if column not in present:
            conn.execute(text(f"ALTER TABLE {table(schema)} ADD COLUMN {column} {definition}"))
    conn.commit()


def insert(conn: Connection, revision: str, checksum: str, direction: str,
           duration_ms: int, schema: str | None = None, group_no: int | None = None) -> None:
    """Record one run of a revision (or with group_no, of one of its transaction groups);
    the caller's transaction commits it with the revision (or the group)."""
    conn.execute(
        text(f"INSERT INTO {table(schema)} (revision, checksum, direction, duration_ms, "
             "group_no) VALUES (:revision, :checksum, :direction, :duration_ms, :group_no)"),
        {"revision": revision, "checksum": checksum, "direction": direction,
         "duration_ms": duration_ms, "group_no": group_no},
    )


def completed_groups(conn: Connection, revision: str, direction: str,
                     schema: str | None = None) -> tuple[int, str | None]:
    """(groups completed, the file's checksum then) of a run of `revision` in `direction`
    that failed part way and is the last thing that happened on the target; (0, None) when
    there is none (a new run starts from the first group)."""
    rows = conn.execute(text(
        f"SELECT revision, direction, result, group_no, checksum FROM {table(schema)} "
        "ORDER BY id DESC LIMIT 50")).all()
    for row in rows:
        if row[0] == revision and row[2] == "failed":
            continue  # the failures of the partial run itself
        if row[0] == revision and row[1] == direction and row[2] == "ok" and row[3]:
            return int(row[3]), str(row[4])
        break
    return 0, None


def insert_failure(conn: Connection, revision: str, checksum: str, direction: str,
                   duration_ms: int, error: str, schema: str | None = None) -> None:
    """Record a failed run, after its rollback, in a transaction of its own."""
    with conn.begin():
        conn.execute(
            text(f"INSERT INTO {table(schema)} (revision, checksum, direction, duration_ms, "
                 "result, error) VALUES (:revision, :checksum, :direction, :duration_ms, "
                 "'failed', :error)"),
            {"revision": revision, "checksum": checksum, "direction": direction,
             "duration_ms": duration_ms, "error": error},
        )


def _exists(conn: Connection, schema: str | None) -> bool:
    found = conn.execute(text("SELECT to_regclass(:name)"), {"name": table(schema)}).scalar()
    return found is not None


def applied_checksums(conn: Connection, schema: str | None = None) -> dict[str, str]:
    """revision -> checksum of its file when it was last applied (and not undone since)."""
    if not _exists(conn, schema):
        conn.commit()
        return {}
    rows = conn.execute(text(
        f"SELECT DISTINCT ON (revision) revision, checksum, direction FROM {table(schema)} "
        + ("WHERE result = 'ok' " if "result" in _columns(conn, schema) else "")
        + ("AND group_no IS NULL " if "group_no" in _columns(conn, schema) else "")
        + "ORDER BY revision, id DESC"
    )).all()
    conn.commit()
    return {str(r[0]): str(r[1]) for r in rows if r[2] == "up"}


def _columns(conn: Connection, schema: str | None) -> set[str]:
    return set(conn.execute(text(
        "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
        "AND attnum > 0 AND NOT attisdropped"), {"t": table(schema)}).scalars())


def runs(conn: Connection, schema: str | None = None, limit: int | None = None) -> list[Run]:
    """The target's runs, newest first (all of them, or the last `limit`)."""
    if not _exists(conn, schema):
        conn.commit()
        return []
    columns = _columns(conn, schema)
    result = "result, error" if "result" in columns else "'ok', NULL"
    group = "group_no" if "group_no" in columns else "NULL"
    rows = conn.execute(text(
        f"SELECT revision, direction, applied_at, applied_by, duration_ms, {result}, {group} "
        f"FROM {table(schema)} ORDER BY id DESC" + (" LIMIT :limit" if limit else "")),
        {"limit": limit} if limit else {}).all()
    conn.commit()
    return [Run(str(r[0]), str(r[1]), r[2], str(r[3]), int(r[4]), str(r[5]), r[6], r[7])
            for r in rows]
