"""Database URLs: normalise to SQLAlchemy + psycopg 3, and never show a password."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from schemactl.errors import SchemactlError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DRIVER = "postgresql+psycopg"
URL_HINT = "expected e.g. postgresql://app@db.example.com:5432/app"


class InvalidURL(SchemactlError, ValueError):
    """A database URL that is malformed or not PostgreSQL's (bad input: exit 1)."""


def normalize(url: str | URL) -> URL:
    """Accept postgres://, postgresql:// or postgresql+psycopg:// and return a psycopg 3 URL."""
    # Here, not at the top: redact() is used by every command's output, SQLAlchemy is not.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if isinstance(url, str) and url.startswith("postgres://"):  # Heroku's and others' spelling
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(url) if isinstance(url, str) else url
        backend = parsed.get_backend_name()
        port = parsed.port  # a port that is not a number fails here, not at connect
    except (ArgumentError, ValueError, TypeError):
        raise InvalidURL(f"invalid database URL: {redact(str(url))!r}", hint=URL_HINT) from None
    if backend != "postgresql":
        raise InvalidURL(f"not a PostgreSQL URL: {redact(str(url))!r}", hint=URL_HINT)
    if port is not None and not 0 < port < 65536:
        raise InvalidURL(f"invalid database URL: port {port} is out of range", hint=URL_HINT)
    return parsed.set(drivername=DRIVER)


def with_database(url: str | URL, database: str) -> URL:
    return normalize(url).set(database=database)


def libpq_dsn(url: str | URL) -> str:
    """The URL as libpq understands it (for psql, pg_dump and psycopg.connect)."""
    return normalize(url).set(drivername="postgresql").render_as_string(hide_password=False)


def redact(text: str) -> str:
    """Hide every password in text: scheme://user:secret@host -> scheme://user:***@host, and
    the libpq forms password=secret (in a URL's query or a key=value DSN)."""
    text = re.sub(r"(\w[\w+.-]*://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
    return re.sub(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)", r"\1***", text,
                  flags=re.IGNORECASE)


def display(url: str | URL) -> str:
    """A URL as it may appear in output, in the form psql accepts, with no password."""
    parsed = normalize(url).set(drivername="postgresql")
    if "password" in parsed.query:
        parsed = parsed.difference_update_query(["password"])
    return parsed.render_as_string(hide_password=True)
