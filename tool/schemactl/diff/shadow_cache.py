"""Shadows kept per migration history, as template databases on the shadow server.

Input: a project (its revision files) and the shadow server. Output: the name of a database
holding the shadow at head, which diff/shadow.py copies (CREATE DATABASE ... TEMPLATE, a
file copy on the server) instead of replaying the whole history again.

The key is a hash of what the replay depends on: every revision file's name and content,
migrations/env.py, alembic.ini and schemactl's own code (diff/content_keys.py). A changed
history has another key, so a stale entry is never used; it stays until `schemactl cache
clear`. A missing entry is built by the next plan. Nobody connects to an entry (copying
needs it idle), so it is only written once, whole, by CREATE DATABASE from a finished shadow.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from schemactl.db.throwaway import admin
from schemactl.diff.content_keys import code_fingerprint as code_fingerprint  # the keys live
from schemactl.diff.content_keys import history_key as history_key  # there (no database needed)

_KIND = "cache"
# Entries kept per prefix (the newest): a history that moved on leaves its old entries.
KEEP = 8


def entry_name(prefix: str, key: str) -> str:
    return f"{prefix}_{_KIND}_{key[:24]}"


def exists(server_url: URL, name: str) -> bool:
    with admin(server_url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


def keep(built: URL, name: str, prefix: str) -> None:
    """Copy the finished shadow `built` (nobody connected to it) as the entry `name`, and
    drop the oldest entries of the prefix beyond KEEP."""
    # Another plan of the same history may have kept it first: theirs is as good.
    with admin(built) as conn, suppress(psycopg.errors.DuplicateDatabase,
                                        psycopg.errors.UniqueViolation):
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(built.database or "")))
    with admin(built) as conn:
        for old in [e.name for e in entries(built, prefix)][:-KEEP]:
            # Without FORCE: an entry being copied right now stays (it is evicted next time).
            with suppress(psycopg.errors.ObjectInUse):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(old)))


@dataclass(frozen=True)
class Entry:
    name: str  # entries() lists them oldest first
    size: str  # as pg_size_pretty prints it


def entries(server_url: URL, prefix: str) -> list[Entry]:
    with admin(server_url) as conn:
        rows = conn.execute(
            "SELECT datname, pg_size_pretty(pg_database_size(oid)) FROM pg_database "
            "WHERE datname LIKE %s ORDER BY oid::text::bigint",  # oldest first
            (f"{prefix}_{_KIND}_".replace("_", r"\_") + "%",)).fetchall()
    return [Entry(name, size) for name, size in rows]


def clear(server_url: URL, prefix: str) -> list[str]:
    """Drop every entry of the prefix; their names."""
    names = [entry.name for entry in entries(server_url, prefix)]
    with admin(server_url) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
    return names
