"""PostgreSQL's own canonical text for the objects Alembic cannot compare.

Alembic compares tables and columns well, but it cannot compare a CHECK body, an index
predicate or a generated expression: the YAML says `length(trim(title)) > 0`, the catalog
says `CHECK ((length(TRIM(BOTH FROM title)) > 0))`. Instead of normalising SQL ourselves,
we let PostgreSQL do it: the desired schema is created in a scratch database and both sides
are read back with pg_get_constraintdef / pg_get_indexdef / pg_get_expr. Equal text means
equal object. One query per kind, for the whole database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from schemactl.diff.objects import DbObject, ObjectKey, read_objects
from schemactl.spec.types import DEFAULT_SCHEMA
from schemactl.sqltext import qualified

# Tables that belong to schemactl and Alembic, never part of a diff.
INTERNAL_TABLES = frozenset({"alembic_version", "schemactl_history"})

_USER_NAMESPACES = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
"""

# Objects created by an extension belong to it, not to the user's schema.
_NOT_FROM_EXTENSION = """
    NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')
"""


@dataclass(frozen=True)
class Constraint:
    schema: str
    table: str
    name: str
    kind: str  # p (primary key), u (unique), f (foreign key), c (check)
    definition: str  # pg_get_constraintdef, e.g. "CHECK ((n > 0))"


@dataclass(frozen=True)
class Index:
    schema: str
    table: str
    name: str
    definition: str  # pg_get_indexdef with the name and table left out: "USING btree (a) WHERE ..."


@dataclass(frozen=True)
class ColumnInfo:
    schema: str
    table: str
    name: str
    type: str  # format_type
    default: str | None  # pg_get_expr of a plain default
    generated: str | None  # expression of a STORED generated column
    identity: str | None  # "always", "by default" or None
    nullable: bool = True


@dataclass
class Catalog:
    schemas: set[str] = field(default_factory=set)
    extensions: dict[str, str] = field(default_factory=dict)  # name -> schema
    enums: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    tables: set[tuple[str, str]] = field(default_factory=set)
    # Sequences that are not an identity column's; value: the column that owns it, if any.
    sequences: dict[tuple[str, str], tuple[str, str, str] | None] = field(default_factory=dict)
    columns: dict[tuple[str, str, str], ColumnInfo] = field(default_factory=dict)
    constraints: dict[tuple[str, str, str], Constraint] = field(default_factory=dict)
    indexes: dict[tuple[str, str, str], Index] = field(default_factory=dict)
    # Functions, procedures, views, materialized views and their indexes, triggers.
    objects: dict[ObjectKey, DbObject] = field(default_factory=dict)
    # Only for the desired side: the DDL as compiled from the YAML's own text, keyed like the
    # dicts above. PostgreSQL's printed form is for comparing; it is not always stable when
    # run again (an IN list comes back as = ANY (ARRAY[...]) with other casts), so the
    # statements we write use the user's source.
    create_sql: dict[tuple[str, str, str], str] = field(default_factory=dict)
    column_sql: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def table_columns(self, schema: str, table: str) -> list[ColumnInfo]:
        return [c for (s, t, _), c in self.columns.items() if (s, t) == (schema, table)]


def read_catalog(conn: Connection) -> Catalog:
    catalog = Catalog()
    for (name,) in conn.execute(text(f"""
            SELECT n.nspname FROM pg_namespace n
            WHERE {_USER_NAMESPACES} AND {_NOT_FROM_EXTENSION.format(oid='n.oid')}""")):
        catalog.schemas.add(name)
    for name, schema in conn.execute(text("""
            SELECT e.extname, n.nspname FROM pg_extension e
            JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'""")):
        catalog.extensions[name] = schema
    for schema, name, labels in conn.execute(text(f"""
            SELECT n.nspname, t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            JOIN pg_enum e ON e.enumtypid = t.oid
            WHERE {_NOT_FROM_EXTENSION.format(oid='t.oid')}
            GROUP BY n.nspname, t.typname""")):
        catalog.enums[(schema, name)] = tuple(labels)
    _read_tables(conn, catalog)
    _read_sequences(conn, catalog)
    catalog.objects = read_objects(conn)
    return catalog


def _read_sequences(conn: Connection, catalog: Catalog) -> None:
    for schema, name, owner_schema, owner_table, owner_column in conn.execute(text(f"""
            SELECT n.nspname, c.relname, tn.nspname, t.relname, a.attname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
            LEFT JOIN pg_class t ON t.oid = d.refobjid
            LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE c.relkind = 'S' AND {_USER_NAMESPACES}
              AND {_NOT_FROM_EXTENSION.format(oid='c.oid')}
              AND (d.deptype IS NULL OR d.deptype = 'a')""")):
        owner = (owner_schema, owner_table, owner_column) if owner_table else None
        catalog.sequences[(schema, name)] = owner


# Ordinary and partitioned tables in user schemas; c is the table's pg_class row.
_TABLE = f"""
    c.relkind IN ('r', 'p') AND {_USER_NAMESPACES}
    AND {_NOT_FROM_EXTENSION.format(oid='c.oid')}
"""


def _read_tables(conn: Connection, catalog: Catalog) -> None:
    for schema, table in conn.execute(text(f"""
            SELECT n.nspname, c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {_TABLE}""")):
        if table not in INTERNAL_TABLES:
            catalog.tables.add((schema, table))
    for row in conn.execute(text(f"""
            SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
                   CASE WHEN a.attgenerated = 's' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
                   a.attidentity, a.attnotnull
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
            WHERE {_TABLE} AND a.attnum > 0 AND NOT a.attisdropped""")):
        schema, table, column, type_, default, generated, identity, not_null = row
        if (schema, table) in catalog.tables:
            catalog.columns[(schema, table, column)] = ColumnInfo(
                schema, table, column, type_, default, generated,
                {"a": "always", "d": "by default"}.get(identity or ""), not not_null,
            )
    for schema, table, name, kind, definition in conn.execute(text(f"""
            SELECT n.nspname, c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid, true)
            FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {_TABLE} AND k.contype IN ('p', 'u', 'f', 'c')""")):
        if (schema, table) in catalog.tables:
            catalog.constraints[(schema, table, name)] = Constraint(
                schema, table, name, kind, definition)
    for schema, table, name, definition in conn.execute(text(f"""
            SELECT n.nspname, c.relname, i.relname, pg_get_indexdef(x.indexrelid, 0, true)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class c ON c.oid = x.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {_TABLE}
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
                              AND k.contype IN ('p', 'u', 'x'))""")):
        if (schema, table) in catalog.tables:
            catalog.indexes[(schema, table, name)] = Index(
                schema, table, name, _index_body(definition))


def settled_definition(conn: Connection, obj: Constraint | Index) -> str:
    """obj's definition as PostgreSQL prints it after creating it once more from its printed
    form. That text is not always a fixed point (`x IN ('a', 'b')` on a varchar comes back
    with other casts each round), so two definitions that differ may still be one object.
    The object is created on an empty copy of its table, inside a savepoint rolled back."""
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql(f"CREATE TEMP TABLE schemactl_settle "
                             f"(LIKE {qualified(obj.schema, obj.table)})")
        if isinstance(obj, Constraint):
            conn.exec_driver_sql("ALTER TABLE schemactl_settle ADD CONSTRAINT schemactl_settle "
                                 + obj.definition.replace("%", "%%"))
            printed = conn.execute(text(
                "SELECT pg_get_constraintdef(oid, true) FROM pg_constraint "
                "WHERE conrelid = 'schemactl_settle'::regclass AND conname = 'schemactl_settle'"
            )).scalar_one()
            return str(printed)
        unique = "UNIQUE " if obj.definition.startswith("UNIQUE ") else ""
        body = obj.definition.removeprefix("UNIQUE ").replace("%", "%%")
        conn.exec_driver_sql(f"CREATE {unique}INDEX schemactl_settle_idx ON schemactl_settle {body}")
        printed = conn.execute(text(
            "SELECT pg_get_indexdef('schemactl_settle_idx'::regclass, 0, true)")).scalar_one()
        return _index_body(str(printed))
    finally:
        savepoint.rollback()


def _index_body(definition: str) -> str:
    """'CREATE INDEX n ON s.t USING btree (a)' -> 'USING btree (a)', keeping UNIQUE."""
    unique = definition.startswith("CREATE UNIQUE")
    body = definition[definition.index(" USING ") + 1:]
    return ("UNIQUE " if unique else "") + body


def display_table(schema: str, table: str) -> str:
    return table if schema == DEFAULT_SCHEMA else f"{schema}.{table}"
