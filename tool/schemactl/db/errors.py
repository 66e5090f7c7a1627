"""PostgreSQL's own words for an error, fit to show: no SQL text, no connection string."""

from __future__ import annotations

import psycopg
import sqlalchemy.exc

from schemactl.db.urls import redact


def pg_message(exc: sqlalchemy.exc.DBAPIError | psycopg.Error) -> str:
    orig = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not primary:
        return redact(str(orig).strip())
    parts = [f"{getattr(orig, 'sqlstate', '') or 'ERROR'}: {primary}"]
    for label, attr in (("DETAIL", "message_detail"), ("HINT", "message_hint")):
        value = getattr(diag, attr, None)
        if value:
            parts.append(f"{label}: {value}")
    return redact("; ".join(parts))
