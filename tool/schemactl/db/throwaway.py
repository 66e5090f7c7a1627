"""Throwaway databases: created on a server, dropped afterwards even when something failed.

Input: a server URL and a prefix (SHADOW_DATABASE_PREFIX, default "schemactl"). Output: the
URL of a fresh database named <prefix>_<purpose>_<created, hex seconds>_<random>, dropped on
the way out, also on Ctrl-C. A run killed outright leaves its database behind: the next run
drops those of its prefix that are older than LEFTOVER_SECONDS and have no connection.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from schemactl.db.urls import libpq_dsn, with_database
from schemactl.errors import SchemactlError

DEFAULT_PREFIX = "schemactl"
# A live run connects to its database within a second of creating it; one without any
# connection after this long belongs to a run that was killed.
LEFTOVER_SECONDS = 600
_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,29}$")
_THROWAWAY = r"^{prefix}_(?:shadow|desired|copy)_([0-9a-f]{{8}})_[0-9a-f]{{12}}$"


def admin(server_url: URL) -> psycopg.Connection:
    # Connect to the maintenance database of the same server; CREATE/DROP DATABASE need autocommit.
    return psycopg.connect(libpq_dsn(with_database(server_url, "postgres")), autocommit=True)


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise SchemactlError(
            f"SHADOW_DATABASE_PREFIX {prefix!r} is not usable as a database name prefix",
            hint="use 1 to 30 lower-case letters, digits and underscores, starting with a letter")
    return prefix


def create_database(server_url: URL, prefix: str = "schemactl_tmp",
                    template: str | None = None) -> URL:
    name = f"{prefix}_{int(time.time()):08x}_{secrets.token_hex(6)}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin(server_url) as conn:
        conn.execute(statement)
    return with_database(server_url, name)


def drop_database(url: URL) -> None:
    assert url.database
    with admin(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database))
        )


@contextmanager
def throwaway_database(server_url: URL, prefix: str = "schemactl_tmp",
                       template: str | None = None) -> Iterator[URL]:
    """A fresh database (a copy of `template` when given), dropped on the way out."""
    url = create_database(server_url, prefix, template)
    try:
        yield url
    finally:
        drop_database(url)


def drop_leftovers(server_url: URL, prefix: str) -> list[str]:
    """Drop the throwaway databases of killed runs (see the module docstring); their names."""
    pattern = re.compile(_THROWAWAY.format(prefix=re.escape(prefix)))
    dropped = []
    with admin(server_url) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname LIKE %s",
            (prefix.replace("_", r"\_") + r"\_%",))]
        for name in names:
            found = pattern.match(name)
            if not found or time.time() - int(found[1], 16) < LEFTOVER_SECONDS:
                continue
            try:  # without FORCE: a database someone is connected to is in use, not left over
                conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
                dropped.append(name)
            except psycopg.errors.ObjectInUse:
                continue
    return dropped


def server_version(server_url: URL) -> int:
    with admin(server_url) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0])
