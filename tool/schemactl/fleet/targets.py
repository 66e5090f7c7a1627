"""FleetSpec -> list[Target]: the databases and tenant schemas a fleet resolves to now.

Listed URLs are taken as written; schema patterns and control-database queries are read
from the databases (read-only, one short connection each). The order: databases, then
schemas (a pattern's matches sorted by name), then query rows as returned; a target listed
twice is kept once, where it first appears.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy.exc
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from schemactl.db.errors import pg_message
from schemactl.db.urls import display, normalize
from schemactl.errors import SchemactlError
from schemactl.fleet.config import FleetSpec, QuerySource, SchemaSource

CONTROL_TIMEOUT = "30s"  # statement_timeout of a control query: a fleet run must not hang on it


@dataclass(frozen=True)
class Target:
    """One migration target: a database, or a tenant's schema in one. The URL may hold a
    password (from ${VAR}); only `name` is ever shown."""

    url: URL
    schema: str | None = None

    @property
    def name(self) -> str:
        """host:port/database[/schema]: what output shows and --canary matches."""
        host = self.url.host or "localhost"
        port = f":{self.url.port}" if self.url.port else ""
        base = f"{host}{port}/{self.url.database or ''}"
        return f"{base}/{self.schema}" if self.schema else base

    @property
    def short_name(self) -> str:
        """The tenant: the schema's name, or the database's."""
        return self.schema or self.url.database or self.name

    def key(self) -> tuple[str, str | None]:
        return (display(self.url), self.schema)


def resolve(spec: FleetSpec) -> list[Target]:
    found: list[Target] = [Target(url) for url in spec.databases]
    for source in spec.schemas:
        found.extend(_schemas(source))
    for query in spec.queries:
        found.extend(_query(query))
    unique: dict[tuple[str, str | None], Target] = {}
    for target in found:
        unique.setdefault(target.key(), target)
    return list(unique.values())


def select(targets: list[Target], names: tuple[str, ...]) -> list[Target]:
    """The targets named (full name or tenant name), in the fleet's order; unknown names
    are an error that lists what exists."""
    chosen: list[Target] = []
    for name in names:
        matches = [t for t in targets if name in (t.name, t.short_name)]
        if not matches:
            known = ", ".join(t.short_name for t in targets[:10])
            raise SchemactlError(f"no target named {name!r} in the fleet",
                                 hint=f"targets: {known}{' ...' if len(targets) > 10 else ''}"
                                      " (see `schemactl fleet list`)")
        chosen.extend(m for m in matches if m not in chosen)
    return [t for t in targets if t in chosen]


def _read(url: URL, sql: str, params: dict[str, object], what: str) -> list[str]:
    """The first column of a read-only query's rows, as text."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            conn.execute(text("SELECT set_config('statement_timeout', :t, true)"),
                         {"t": CONTROL_TIMEOUT})
            rows = conn.execute(text(sql), params).all()
            conn.rollback()
    except sqlalchemy.exc.DBAPIError as exc:
        raise SchemactlError(f"{what} on {display(url)} failed: {pg_message(exc)}") from None
    finally:
        engine.dispose()
    return [str(row[0]) for row in rows if row and row[0] is not None]


_SCHEMAS_SQL = (
    "SELECT nspname FROM pg_namespace "
    "WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' "
    "  AND (nspname LIKE :match OR nspname = ANY(:names)) ORDER BY nspname"
)


def _schemas(source: SchemaSource) -> list[Target]:
    names = list(source.names)
    existing = _read(source.database, _SCHEMAS_SQL,
                     {"match": source.match or "", "names": names},
                     "listing tenant schemas") if source.match else []
    # Named schemas that do not exist yet are targets too: applying creates a new tenant.
    ordered = existing + [n for n in names if n not in existing]
    return [Target(source.database, name) for name in ordered]


def _query(query: QuerySource) -> list[Target]:
    values = _read(query.database, query.sql, {}, "the fleet query")
    if query.schemas_in is not None:
        return [Target(query.schemas_in, name) for name in values]
    targets = []
    for value in values:
        try:
            targets.append(Target(normalize(value)))
        except (ValueError, sqlalchemy.exc.ArgumentError):
            raise SchemactlError(
                f"the fleet query on {display(query.database)} returned a row that is not a "
                "PostgreSQL URL",
                hint="return URLs (postgresql://user@host/db), or set schemas_in: to read "
                     "the rows as schema names") from None
    return targets
