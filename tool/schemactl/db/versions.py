"""PostgreSQL major versions of the target and the shadow server, and when they differ.

Input: the two URLs (target, shadow server). Output: a warning text, or None.

A shadow built on PostgreSQL 18 and a target on 15 can differ in ways that are only version
artefacts (how pg_dump prints a default, which catalog columns exist), which drift and plans
would report as changes. Only when both servers are known and reachable: a server that does
not answer is someone else's error to report, not this check's.
"""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import URL

from schemactl.db.urls import display, libpq_dsn, normalize

CONNECT_TIMEOUT_SECONDS = 5


def server_major(url: URL) -> int | None:
    """The server's major version (15, 18, ...), or None when it does not answer."""
    try:
        with psycopg.connect(libpq_dsn(url), connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            number = conn.info.server_version  # e.g. 150004
    except psycopg.Error:
        return None
    return number // 10000


def mismatch(target: URL | None, shadow: URL | None) -> str | None:
    """A warning when the two servers run different major versions."""
    if target is None or shadow is None or _same_server(target, shadow):
        return None
    target_major, shadow_major = server_major(target), server_major(shadow)
    if target_major is None or shadow_major is None or target_major == shadow_major:
        return None
    return (f"the shadow server ({display(shadow)}) runs PostgreSQL {shadow_major}, the target "
            f"({display(target)}) PostgreSQL {target_major}: differences may be only version "
            "artefacts; point SHADOW_DATABASE_URL at a server of the target's major version")


def _same_server(a: URL, b: URL) -> bool:
    return (a.host, a.port) == (b.host, b.port)


def configured_mismatch(database_url: str | None, shadow_database_url: str | None) -> str | None:
    """mismatch() for the URLs as configured (DATABASE_URL, SHADOW_DATABASE_URL); with either
    unset the shadow is made on the target's own server, so there is nothing to compare."""
    if not database_url or not shadow_database_url:
        return None
    return mismatch(normalize(database_url), normalize(shadow_database_url))
