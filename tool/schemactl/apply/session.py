"""One migration session: a single connection with the timeouts every migration must run under.

- lock_timeout: a migration never queues behind a long transaction for long (and, while it
  queues, blocks everyone behind it); we retry instead.
- statement_timeout: a bound on any one statement ("0" = none, the default).
- client_connection_check_interval (PostgreSQL 14+): when schemactl is killed, the server
  notices within a second, rolls back the revision and releases the migration lock, instead of
  running the revision's statement to its end for nobody.
- search_path, for a tenant schema: that schema alone, so the same unqualified revision files
  create and alter the tenant's own tables (and never find another schema's table instead).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.exc
from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.engine import URL

from schemactl.db.errors import pg_message
from schemactl.db.urls import display
from schemactl.errors import SchemactlError
from schemactl.settings import Settings
from schemactl.sqltext import quote_ident

APPLICATION_NAME = "schemactl"


def _set(conn: Connection, name: str, value: str) -> None:
    try:
        conn.execute(text("SELECT set_config(:name, :value, false)"),
                     {"name": name, "value": value})
    except sqlalchemy.exc.DBAPIError as exc:
        raise SchemactlError(f"invalid {name} {value!r}: {pg_message(exc)}") from None


@contextmanager
def migration_session(url: URL, settings: Settings,
                      schema: str | None = None) -> Iterator[Connection]:
    engine = create_engine(
        url, poolclass=pool.NullPool,
        connect_args={"application_name": APPLICATION_NAME},
    )
    try:
        try:
            conn = engine.connect()
        except sqlalchemy.exc.DBAPIError as exc:
            raise SchemactlError(f"cannot connect to {display(url)}: {pg_message(exc)}") from None
        with conn:
            _set(conn, "lock_timeout", settings.lock_timeout)
            _set(conn, "statement_timeout", settings.statement_timeout)
            version = conn.execute(text("SHOW server_version_num")).scalar()
            if int(version or 0) >= 140000:
                _set(conn, "client_connection_check_interval", "1s")
            if schema is not None:
                _set(conn, "search_path", quote_ident(schema))
            conn.commit()
            yield conn
    finally:
        engine.dispose()
