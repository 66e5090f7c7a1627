"""Shared fixtures: a real PostgreSQL server, and a fresh database for every test.

The server is TEST_DATABASE_URL when set (CI: the machine's PostgreSQL), otherwise an
embedded PostgreSQL 18 started once per test session in a temporary directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from schemactl.db import embedded
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn, normalize
from schemactl.diff import shadow_cache

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def server_url() -> Iterator[URL]:
    """The PostgreSQL server the tests run against (its maintenance database)."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        with _own_shadow_caches(normalize(configured)) as url:
            yield url
        return
    # Not under pytest's basetemp: pytest prunes old basetemps, which would delete the data
    # directory of a server still in use by a concurrent test run.
    home = Path(tempfile.mkdtemp(prefix="schemactl-test-pg-"))
    try:
        with _own_shadow_caches(embedded.server_url(home / "pgdata")) as url:
            yield url
    finally:
        embedded.stop(home / "pgdata")
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def _own_shadow_caches(url: URL) -> Iterator[URL]:
    """Shadows that plans keep (one per history: hundreds in a test run) go under a prefix
    of this test session's own, and are dropped at its end."""
    prefix = f"schemactl_t{secrets.token_hex(4)}"
    os.environ["SHADOW_DATABASE_PREFIX"] = prefix
    try:
        yield url
    finally:
        shadow_cache.clear(url, prefix)


@pytest.fixture
def db_url(server_url: URL) -> Iterator[URL]:
    """A brand-new empty database for one test, dropped afterwards."""
    with throwaway_database(server_url, prefix="schemactl_test") as url:
        yield url


@pytest.fixture
def db(db_url: URL) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to the test's own database."""
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        yield conn


def pg_dump_schema(url: URL) -> str:
    """`pg_dump --schema-only` of a database, with the lines that differ between runs removed."""
    out = subprocess.run(
        [str(embedded.bin_path("pg_dump")), "--schema-only", "--no-owner", "--no-privileges",
         libpq_dsn(url)],
        check=True, capture_output=True, text=True,
    ).stdout
    keep = [
        line for line in out.splitlines()
        if not line.startswith(("--", "\\restrict", "\\unrestrict", "SET ", "SELECT pg_catalog"))
        # This machine's PostgreSQL 15 tags every column with a per-database attribute
        # option (pg_attver=...); it is not part of any schema we manage.
        and "SET (pg_attver=" not in line
    ]
    return "\n".join(keep).strip() + "\n"
