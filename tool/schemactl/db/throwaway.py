"""Throwaway databases: created on a server, dropped afterwards even when something failed."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from schemactl.db.urls import libpq_dsn, with_database


def _admin(server_url: URL) -> psycopg.Connection:
    # Connect to the maintenance database of the same server; CREATE/DROP DATABASE need autocommit.
    return psycopg.connect(libpq_dsn(with_database(server_url, "postgres")), autocommit=True)


def create_database(server_url: URL, prefix: str = "schemactl_tmp") -> URL:
    name = f"{prefix}_{secrets.token_hex(6)}"
    with _admin(server_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(url: URL) -> None:
    assert url.database
    with _admin(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database))
        )


@contextmanager
def throwaway_database(server_url: URL, prefix: str = "schemactl_tmp") -> Iterator[URL]:
    url = create_database(server_url, prefix)
    try:
        yield url
    finally:
        drop_database(url)
