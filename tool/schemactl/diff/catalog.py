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
    kind: str  # p (primary key), u (unique), f (foreign key), c (check), x (exclusion)
    definition: str  # pg_get_constraintdef, e.g. "CHECK ((n > 0))"
    # A foreign key: (schema, name) of the unique index it depends on (a primary key's or
    # unique constraint's, named like it, or a unique index).
    uses_index: tuple[str, str] | None = None


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
    collation: str | None = None  # when not the type's default, e.g. "C"
    compression: str | None = None  # pglz / lz4 when set on the column
    storage: str | None = None  # plain / external / extended / main when not the type's
    type_storage: str | None = None  # the type's own storage (what SET STORAGE goes back to)


@dataclass(frozen=True)
class Partition:
    """A table that is a partition of another. Its columns, keys and indexes are its
    parent's (PostgreSQL keeps them in step), so the catalog holds only where it hangs."""

    schema: str
    name: str
    parent_schema: str
    parent: str
    bound: str  # pg_get_expr(relpartbound): "FOR VALUES FROM ('2024-01-01') TO (...)", "DEFAULT"
    key: str | None = None  # pg_get_partkeydef when it is partitioned itself: "LIST (city)"

    def create_sql(self) -> str:
        sub = f" PARTITION BY {self.key}" if self.key else ""
        return (f"CREATE TABLE {qualified(self.schema, self.name)} PARTITION OF "
                f"{qualified(self.parent_schema, self.parent)} {self.bound}{sub}")


@dataclass
class Catalog:
    schemas: set[str] = field(default_factory=set)
    extensions: dict[str, str] = field(default_factory=dict)  # name -> schema
    # name -> (installed version, the server's default version). Not part of equality: a
    # downgrade keeps an updated extension (extensions rarely ship a path back).
    extension_versions: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)
    enums: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    tables: set[tuple[str, str]] = field(default_factory=set)
    # Partitioned tables (not partitions): their key as pg_get_partkeydef prints it.
    partition_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    # Partitions, also those that are partitioned themselves: not in `tables`, and their
    # columns, keys and indexes (their parent's copies) are in none of the dicts below.
    partitions: dict[tuple[str, str], Partition] = field(default_factory=dict)
    unlogged_tables: set[tuple[str, str]] = field(default_factory=set)
    # Storage parameters of tables that have any: sorted (name, value) pairs.
    table_storage: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # Sequences that are not an identity column's; value: the column that owns it, if any.
    sequences: dict[tuple[str, str], tuple[str, str, str] | None] = field(default_factory=dict)
    # The data type of each of those sequences (smallint, integer or bigint).
    sequence_types: dict[tuple[str, str], str] = field(default_factory=dict)
    # Schemas holding something schemactl does not manage (a domain, an aggregate, an
    # extension's objects, a sequence no column owns, ...): never dropped by a plan.
    busy_schemas: set[str] = field(default_factory=set)
    columns: dict[tuple[str, str, str], ColumnInfo] = field(default_factory=dict)
    constraints: dict[tuple[str, str, str], Constraint] = field(default_factory=dict)
    indexes: dict[tuple[str, str, str], Index] = field(default_factory=dict)
    # Functions, procedures, views, materialized views and their indexes, triggers.
    objects: dict[ObjectKey, DbObject] = field(default_factory=dict)
    # Read for drift (status), which compares them itself. Not part of equality, so what a
    # plan's rehearsal checks (its downgrade gives the catalog back) stays what it was:
    # row-level security policies, (schema, table, policy) -> "AS PERMISSIVE FOR ALL TO ...",
    # which the YAML does not hold; tables with row-level security, (schema, table) ->
    # (enabled, forced); comments on tables (column "") and their columns, (schema, table,
    # column) -> text, which a plan compares through Alembic.
    policies: dict[tuple[str, str, str], str] = field(default_factory=dict, compare=False)
    row_security: dict[tuple[str, str], tuple[bool, bool]] = field(default_factory=dict,
                                                                   compare=False)
    comments: dict[tuple[str, str, str], str] = field(default_factory=dict, compare=False)
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
    for name, schema, version, default in conn.execute(text("""
            SELECT e.extname, n.nspname, e.extversion, coalesce(a.default_version, e.extversion)
            FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            LEFT JOIN pg_available_extensions a ON a.name = e.extname
            WHERE e.extname <> 'plpgsql'""")):
        catalog.extensions[name] = schema
        catalog.extension_versions[name] = (version, default)
    for schema, name, labels in conn.execute(text(f"""
            SELECT n.nspname, t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            JOIN pg_enum e ON e.enumtypid = t.oid
            WHERE {_NOT_FROM_EXTENSION.format(oid='t.oid')}
            GROUP BY n.nspname, t.typname""")):
        catalog.enums[(schema, name)] = tuple(labels)
    _read_tables(conn, catalog)
    _read_sequences(conn, catalog)
    _read_row_security(conn, catalog)
    catalog.objects = read_objects(conn)
    catalog.busy_schemas = {name for (name,) in conn.execute(text(_BUSY_SCHEMAS))}
    catalog.busy_schemas |= {schema for (schema, _), owner in catalog.sequences.items()
                             if owner is None}
    return catalog


# Objects of the kinds a plan creates and drops (tables, their indexes and sequences, enum
# types and the array and row types that come with them, views and materialized views,
# functions and procedures: diff/objects.py reads those) are not counted. Aggregates and
# what an extension brings are not managed: they keep their schema.
_BUSY_SCHEMAS = f"""
    SELECT n.nspname FROM pg_namespace n WHERE {_USER_NAMESPACES} AND (
        EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid
                AND (c.relkind NOT IN ('r', 'p', 'S', 'i', 'I', 'v', 'm')
                     OR NOT {_NOT_FROM_EXTENSION.format(oid='c.oid')}))
        OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typnamespace = n.oid
                   AND t.typtype NOT IN ('e', 'c') AND t.typcategory <> 'A')
        OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace = n.oid
                   AND (p.prokind NOT IN ('f', 'p')
                        OR NOT {_NOT_FROM_EXTENSION.format(oid='p.oid')}))
        OR EXISTS (SELECT 1 FROM pg_extension e WHERE e.extnamespace = n.oid)
        OR EXISTS (SELECT 1 FROM pg_collation co WHERE co.collnamespace = n.oid)
        OR EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprnamespace = n.oid)
        OR EXISTS (SELECT 1 FROM pg_ts_config t WHERE t.cfgnamespace = n.oid)
        OR EXISTS (SELECT 1 FROM pg_ts_dict t WHERE t.dictnamespace = n.oid)
        OR EXISTS (SELECT 1 FROM pg_conversion t WHERE t.connamespace = n.oid)
        OR EXISTS (SELECT 1 FROM pg_statistic_ext t WHERE t.stxnamespace = n.oid))
"""


def _read_sequences(conn: Connection, catalog: Catalog) -> None:
    for schema, name, owner_schema, owner_table, owner_column, type_ in conn.execute(text(f"""
            SELECT n.nspname, c.relname, tn.nspname, t.relname, a.attname,
                   format_type(s.seqtypid, NULL)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_sequence s ON s.seqrelid = c.oid
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
        catalog.sequence_types[(schema, name)] = type_


def _read_row_security(conn: Connection, catalog: Catalog) -> None:
    for schema, table, enabled, forced in conn.execute(text(f"""
            SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE {_TABLE} AND (c.relrowsecurity OR c.relforcerowsecurity)""")):
        if (schema, table) in catalog.tables:
            catalog.row_security[(schema, table)] = (enabled, forced)
    for schema, table, name, definition in conn.execute(text("""
            SELECT schemaname, tablename, policyname,
                   'AS ' || permissive || ' FOR ' || cmd || ' TO ' || array_to_string(roles, ', ')
                   || coalesce(' USING (' || qual || ')', '')
                   || coalesce(' WITH CHECK (' || with_check || ')', '')
            FROM pg_policies""")):
        if (schema, table) in catalog.tables:
            catalog.policies[(schema, table, name)] = definition
    for schema, table, column, comment in conn.execute(text(f"""
            SELECT n.nspname, c.relname, coalesce(a.attname, ''), d.description
            FROM pg_description d
            JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
                 AND d.objsubid > 0
            WHERE {_TABLE} AND (d.objsubid = 0 OR a.attnum IS NOT NULL)""")):
        if (schema, table) in catalog.tables:
            catalog.comments[(schema, table, column)] = comment


# Ordinary and partitioned tables in user schemas; c is the table's pg_class row.
_TABLE = f"""
    c.relkind IN ('r', 'p') AND {_USER_NAMESPACES}
    AND {_NOT_FROM_EXTENSION.format(oid='c.oid')}
"""


_STORAGE = """CASE {s} WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external' WHEN 'x' THEN 'extended'
                      WHEN 'm' THEN 'main' END"""


def _read_tables(conn: Connection, catalog: Catalog) -> None:
    for schema, table, persistence, options, key, bound, parent_schema, parent in conn.execute(
            text(f"""
            SELECT n.nspname, c.relname, c.relpersistence, c.reloptions,
                   CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                   CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
                   pn.nspname, p.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
            LEFT JOIN pg_class p ON p.oid = i.inhparent
            LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
            WHERE {_TABLE}""")):
        if bound is not None:
            catalog.partitions[(schema, table)] = Partition(schema, table, parent_schema, parent,
                                                            bound, key)
        elif table not in INTERNAL_TABLES:
            if key is not None:
                catalog.partition_keys[(schema, table)] = key
            catalog.tables.add((schema, table))
            if persistence == "u":
                catalog.unlogged_tables.add((schema, table))
            if options:
                catalog.table_storage[(schema, table)] = tuple(sorted(
                    (name, value) for name, _, value in (o.partition("=") for o in options)))
    for row in conn.execute(text(f"""
            SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
                   CASE WHEN a.attgenerated = 's' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
                   a.attidentity, a.attnotnull,
                   CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
                   CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END,
                   CASE WHEN a.attstorage <> t.typstorage THEN {_STORAGE.format(s='a.attstorage')}
                   END,
                   {_STORAGE.format(s='t.typstorage')}
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_collation co ON co.oid = a.attcollation
            LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
            WHERE {_TABLE} AND a.attnum > 0 AND NOT a.attisdropped""")):
        schema, table, column, type_, default, generated, identity, not_null = row[:8]
        if (schema, table) in catalog.tables:
            catalog.columns[(schema, table, column)] = ColumnInfo(
                schema, table, column, type_, default, generated,
                {"a": "always", "d": "by default"}.get(identity or ""), not not_null,
                *row[8:],
            )
    for schema, table, name, kind, definition, index_schema, index in conn.execute(text(f"""
            SELECT n.nspname, c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid, true),
                   xn.nspname, x.relname
            FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class x ON k.contype = 'f' AND x.oid = k.conindid
            LEFT JOIN pg_namespace xn ON xn.oid = x.relnamespace
            WHERE {_TABLE} AND k.contype IN ('p', 'u', 'f', 'c', 'x')""")):
        if (schema, table) in catalog.tables:
            catalog.constraints[(schema, table, name)] = Constraint(
                schema, table, name, kind, definition,
                (index_schema, index) if index is not None else None)
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
