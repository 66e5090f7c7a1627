"""public.schemactl_history: what was applied to this database, when, how long, from which file.

A row is written in the same transaction as the revision it records, so the history and
the schema can never disagree. The checksum lets a later run notice that the file of an
applied revision was edited afterwards.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

TABLE = "schemactl_history"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS public.{TABLE} (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision    text        NOT NULL,
    checksum    text        NOT NULL,
    direction   text        NOT NULL CHECK (direction IN ('up', 'down')),
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL,
    applied_by  text        NOT NULL DEFAULT current_user
)
"""


def ensure(conn: Connection) -> None:
    """Create the table when missing (callers hold the migration lock, so no race)."""
    conn.execute(text("SET LOCAL client_min_messages = warning"))  # no "already exists" notice
    conn.execute(text(_CREATE))
    conn.commit()


def insert(conn: Connection, revision: str, checksum: str, direction: str,
           duration_ms: int) -> None:
    """Record one run of a revision; the caller's transaction commits it with the revision."""
    conn.execute(
        text(f"INSERT INTO public.{TABLE} (revision, checksum, direction, duration_ms) "
             "VALUES (:revision, :checksum, :direction, :duration_ms)"),
        {"revision": revision, "checksum": checksum, "direction": direction,
         "duration_ms": duration_ms},
    )


def applied_checksums(conn: Connection) -> dict[str, str]:
    """revision -> checksum of its file when it was last applied (and not undone since)."""
    exists = conn.execute(text("SELECT to_regclass(:name)"), {"name": f"public.{TABLE}"}).scalar()
    if exists is None:
        conn.commit()
        return {}
    rows = conn.execute(text(
        f"SELECT DISTINCT ON (revision) revision, checksum, direction FROM public.{TABLE} "
        "ORDER BY revision, id DESC"
    )).all()
    conn.commit()
    return {str(r[0]): str(r[1]) for r in rows if r[2] == "up"}
