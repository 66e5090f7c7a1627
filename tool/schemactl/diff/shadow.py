"""The two throwaway databases a plan compares.

- The shadow: an empty database upgraded through the migration history. It is what the
  migrations say the schema is, whatever state anyone's real database is in.
- The desired database: the YAML's schema created from scratch, only so that PostgreSQL can
  print every expression, predicate and default in its canonical form (diff/catalog.py).

Both are dropped afterwards, also when something fails; the user's database is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from alembic import command
from sqlalchemy import MetaData, create_engine, pool, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import AddConstraint, CreateColumn, CreateIndex

from schemactl import progress
from schemactl.compile import INFO_AFTER_CREATE
from schemactl.compile_routines import Definition, definitions
from schemactl.db.errors import pg_message
from schemactl.db.throwaway import (
    DEFAULT_PREFIX,
    create_database,
    drop_database,
    server_version,
    throwaway_database,
)
from schemactl.diff import desired_cache, shadow_cache
from schemactl.diff.catalog import Catalog, read_catalog
from schemactl.diff.comparators.enums import create_type_sql
from schemactl.diff.comparators.namespaces import create_extension_sql
from schemactl.diff.comparators.sequences import sequence_as
from schemactl.errors import Diagnostic, SpecError
from schemactl.project import Project
from schemactl.spec.types import DEFAULT_SCHEMA, SchemaSpec
from schemactl.sqltext import qualified, quote_ident


@contextmanager
def connect(url: URL, autocommit: bool = False) -> Iterator[Connection]:
    """A connection to url; with autocommit, every statement is its own transaction. The
    throwaway databases are built that way: a build holds no lock past its statement, so
    its lock count does not grow with the schema (the server's lock table is shared and
    holds about max_locks_per_transaction x max_connections locks)."""
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_engine(url, poolclass=pool.NullPool, execution_options=options)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def upgrade(project: Project, conn: Connection, revision: str = "heads") -> None:
    """Run the project's migrations on conn up to revision (each in its own transaction)."""
    if not any(project.versions_dir.glob("*.py")):
        return
    config = project.alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)
    conn.commit()


@contextmanager
def shadow(project: Project, server_url: URL, revision: str = "heads",
           prefix: str = DEFAULT_PREFIX, cache: bool = True) -> Iterator[Connection]:
    """A connection to a fresh database at `revision` of the migration history. At head and
    with cache, a copy of the history's kept shadow (diff/shadow_cache.py), kept first when
    there is none yet."""
    key = shadow_cache.history_key(project) if cache and revision == "heads" else None
    kept = shadow_cache.entry_name(prefix, key) if key else None
    if kept is not None and shadow_cache.exists(server_url, kept):
        try:
            copy = create_database(server_url, f"{prefix}_shadow", template=kept)
        except (psycopg.errors.InvalidCatalogName, psycopg.errors.ObjectInUse):
            copy = None  # evicted or cleared meanwhile: build it as if it had never been kept
        if copy is not None:
            try:
                with connect(copy) as conn:
                    yield conn
            finally:
                drop_database(copy)
            return
    with throwaway_database(server_url, f"{prefix}_shadow") as url:
        with connect(url, autocommit=True) as build, \
                progress.step("building the shadow database from the migrations"):
            upgrade(project, build, revision)
        if kept is not None:
            shadow_cache.keep(url, kept, prefix)
        with connect(url) as conn:  # the rehearsal's transactions are the real ones
            yield conn


@contextmanager
def copy_of(live: URL, server_url: URL, prefix: str = DEFAULT_PREFIX,
            spec: SchemaSpec | None = None) -> Iterator[Connection]:
    """A connection to a fresh database holding what inspect reads from `live` (catalog
    queries only), or `spec` when the caller has inspected it already (and kept the report
    of what it left out). Objects the YAML language cannot express are not copied."""
    from schemactl.compile import compile_spec
    from schemactl.inspect.catalog import inspect_database

    if spec is None:
        spec = inspect_database(live).spec
    with throwaway_database(server_url, f"{prefix}_copy") as url:
        with connect(url, autocommit=True) as build:
            create_schema(build, compile_spec(spec), spec)
        with connect(url) as conn:
            yield conn


def create_schema(conn: Connection, metadata: MetaData, spec: SchemaSpec) -> None:
    """Create the spec's schema from nothing: namespaces, extensions, enum types, tables."""
    for name in spec.schemas:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(name)}")
    for extension in spec.extensions:
        conn.exec_driver_sql(create_extension_sql(extension.name, extension.schema,
                                                  extension.version).replace("%", "%%"))
    for enum in spec.enums:
        conn.exec_driver_sql(create_type_sql(enum.schema, enum.name, enum.labels)
                             .replace("%", "%%"))
    routines = definitions(spec)
    late = _create_once(conn, [d for d in routines if d.early])
    owners = _nextval_sequences(conn, spec)
    for sequence, owner in owners.items():
        conn.exec_driver_sql(f"CREATE SEQUENCE IF NOT EXISTS {sequence}"
                             f"{sequence_as(_integer_type(spec, *owner))}")
    metadata.create_all(conn)
    for statement in metadata.info.get(INFO_AFTER_CREATE, []):
        conn.exec_driver_sql(statement.replace("%", "%%"))
    for sequence, (schema, table, column) in owners.items():
        conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY "
                             f"{qualified(schema, table)}.{quote_ident(column)}")
    create_definitions(conn, late + [d for d in routines if not d.early])
    conn.commit()


def _create_once(conn: Connection, pending: list[Definition]) -> list[Definition]:
    """Create what can be created now; return the rest."""
    return [definition for definition, _ in _try_each(conn, pending)]


def _try_each(conn: Connection,
              pending: list[Definition]) -> list[tuple[Definition, DBAPIError]]:
    """Each definition whole or not at all: a savepoint in a transaction; on an autocommit
    connection (the cached builds), a transaction of its own."""
    failed: list[tuple[Definition, DBAPIError]] = []
    autocommit = bool(getattr(conn.connection.driver_connection, "autocommit", False))
    for definition in pending:
        savepoint = None if autocommit else conn.begin_nested()
        try:
            if autocommit:
                conn.exec_driver_sql("BEGIN")
            for statement in definition.statements:
                conn.exec_driver_sql(statement.replace("%", "%%"))
            if autocommit:
                conn.exec_driver_sql("COMMIT")
            elif savepoint is not None:
                savepoint.commit()
        except DBAPIError as exc:
            if autocommit:
                conn.exec_driver_sql("ROLLBACK")
            elif savepoint is not None:
                savepoint.rollback()
            failed.append((definition, exc))
    return failed


def create_definitions(conn: Connection, pending: list[Definition]) -> None:
    """Create functions, views and triggers in an order that works: what PostgreSQL refuses
    (a view on a view not made yet) is tried again after the rest, until nothing is left or
    nothing more succeeds; then the error names the YAML object and where it is written."""
    while pending:
        failed = _try_each(conn, pending)
        if len(failed) == len(pending):
            first, error = failed[0]
            mark = first.mark
            raise SpecError([Diagnostic(
                "E803", f"PostgreSQL refuses this {first.label.split(' ')[0]}: "
                f"{pg_message(error)}", mark.file, mark.line, mark.column,
                "the SQL parses, but names something that does not exist or does not fit",
                first.label)])
        pending = [definition for definition, _ in failed]


def _integer_type(spec: SchemaSpec, schema: str, table: str, column: str) -> str | None:
    """The column's type when it is a plain integer type, as format_type spells it."""
    found = spec.table(schema, table)
    spec_column = found.column(column) if found else None
    if spec_column is None or spec_column.type.array_dims:
        return None
    return spec_column.type.name


_NEXTVAL = re.compile(r"nextval\(\s*'((?:[^']|'')+)'", re.IGNORECASE)


def _nextval_sequences(conn: Connection, spec: SchemaSpec) -> dict[str, tuple[str, str, str]]:
    """The sequences the YAML's nextval('...') defaults use, as SQL names, each with the first
    column that uses it. PostgreSQL's parse_ident splits the name, so nothing in the string
    can reach the DDL unquoted."""
    found: dict[str, tuple[str, str, str]] = {}
    for table in spec.tables:
        for column in table.columns:
            for literal in _NEXTVAL.findall(column.default_sql or ""):
                parts = conn.execute(text("SELECT parse_ident(:name)"),
                                     {"name": literal.replace("''", "'")}).scalar_one()
                schema = parts[0] if len(parts) == 2 else DEFAULT_SCHEMA  # search_path
                found.setdefault(qualified(schema, parts[-1]),
                                 (table.schema, table.name, column.name))
    return found


def desired_catalog(metadata: MetaData, spec: SchemaSpec, server_url: URL,
                    prefix: str = DEFAULT_PREFIX, project: Project | None = None) -> Catalog:
    """The YAML's schema as PostgreSQL prints it. With project, kept per YAML content
    (diff/desired_cache.py): an unchanged schema/ needs no desired database."""
    key = desired_cache.key(project, server_version(server_url)) if project else None
    catalog = desired_cache.load(project, key) if project and key else None
    if catalog is None:
        with throwaway_database(server_url, f"{prefix}_desired") as url, \
                connect(url, autocommit=True) as conn, \
                progress.step("building the desired database from the YAML"):
            create_schema(conn, metadata, spec)
            catalog = read_catalog(conn)
        if project and key:
            desired_cache.store(project, key, catalog)
    _source_ddl(metadata, catalog)
    return catalog


def _source_ddl(metadata: MetaData, catalog: Catalog) -> None:
    """Record the DDL of every constraint, index and column as compiled from the YAML."""
    dialect = postgresql.dialect(paramstyle="named")  # pyformat would double every %
    for table in metadata.tables.values():
        schema = table.schema or DEFAULT_SCHEMA
        for constraint in table.constraints:
            if isinstance(constraint.name, str):
                key = (schema, table.name, constraint.name)
                catalog.create_sql[key] = str(AddConstraint(constraint).compile(dialect=dialect))
        for index in table.indexes:
            if isinstance(index.name, str):
                key = (schema, table.name, index.name)
                catalog.create_sql[key] = str(CreateIndex(index).compile(dialect=dialect))
        for column in table.columns:
            catalog.column_sql[(schema, table.name, column.name)] = str(
                CreateColumn(column).compile(dialect=dialect))
