"""Database URLs: normalise to SQLAlchemy + psycopg 3, and never show a password."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url

DRIVER = "postgresql+psycopg"


def normalize(url: str | URL) -> URL:
    """Accept postgres://, postgresql:// or postgresql+psycopg:// and return a psycopg 3 URL."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {redact(str(url))}")
    return parsed.set(drivername=DRIVER)


def with_database(url: str | URL, database: str) -> URL:
    return normalize(url).set(database=database)


def libpq_dsn(url: str | URL) -> str:
    """The URL as libpq understands it (for psql, pg_dump and psycopg.connect)."""
    return normalize(url).set(drivername="postgresql").render_as_string(hide_password=False)


def redact(text: str) -> str:
    """Hide the password of every URL in text: scheme://user:secret@host -> scheme://user:***@host."""
    return re.sub(r"(\w[\w+.-]*://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def display(url: str | URL) -> str:
    """A URL as it may appear in output."""
    return normalize(url).render_as_string(hide_password=True)
