"""Read a live database into a SchemaSpec, plus a report of what the YAML cannot express.

URL -> Inspection(spec, unsupported). The whole catalog is read in a fixed handful of
queries (queries.py), whatever the size of the schema; `Inspection.queries` counts them.

What the language cannot express is never dropped silently: each such object becomes an
`Unsupported(kind, name, reason)` record and stays out of the spec. A column whose type the
language lacks is left out together with the constraints and indexes that use it; a table
the language cannot describe (partitioned, partition, inherited) is left out together with
the foreign keys that point at it.

Serial columns (a default of nextval() on a sequence owned by the column) keep their
default as `default_sql: nextval('t_id_seq'::regclass)`, so that a plan against the
database finds no change; the owned sequence itself is reported, because the language has
no sequences and a schema created from the YAML alone would lack it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy.engine import URL

from schemactl.db.urls import libpq_dsn
from schemactl.inspect import queries
from schemactl.inspect.defaults import literal_default
from schemactl.inspect.routines import RoutineInspector
from schemactl.spec.types import (
    DEFAULT_SCHEMA,
    CheckSpec,
    ColumnSpec,
    EnumSpec,
    EnumValue,
    ExtensionSpec,
    FkAction,
    ForeignKeySpec,
    IndexElement,
    IndexSpec,
    PrimaryKeySpec,
    SchemaSpec,
    TableSpec,
    TypeRef,
    UniqueSpec,
)

# Tables of schemactl and Alembic themselves: never part of the user's schema.
INTERNAL_TABLES = frozenset({"alembic_version", "schemactl_history"})

# Queries sent by this module since the process started (for timing notes and tests).
QUERY_COUNT = 0

Row = dict[str, Any]

# pg_type.typname of the built-in types the language has -> canonical TypeRef name.
_BUILTIN_TYPES = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "numeric": "numeric",
    "float4": "real", "float8": "double precision", "bool": "boolean", "text": "text",
    "varchar": "varchar", "bpchar": "char", "date": "date", "time": "time",
    "timestamp": "timestamp", "timestamptz": "timestamptz", "interval": "interval",
    "uuid": "uuid", "json": "json", "jsonb": "jsonb", "bytea": "bytea", "inet": "inet",
    "cidr": "cidr",
}
_FK_ACTIONS: dict[str, FkAction | None] = {
    "a": None, "r": "restrict", "c": "cascade", "n": "set null", "d": "set default",
}
_INDEX_METHODS = ("btree", "gin", "gist", "brin", "hash")
_RELKIND_NAMES = {"f": "foreign table"}  # views: inspect/routines.py


@dataclass(frozen=True)
class Unsupported:
    """An object the YAML language cannot express (yet): left out of the spec, reported."""

    kind: str
    name: str
    reason: str = ""


@dataclass(frozen=True)
class Inspection:
    spec: SchemaSpec
    unsupported: tuple[Unsupported, ...] = ()
    queries: int = 0
    # Non-public schemas that exist, also the empty ones (the spec only knows used ones).
    schemas: tuple[str, ...] = ()

    def unsupported_counts(self) -> dict[str, int]:
        """kind -> number of objects, sorted by kind."""
        counts: dict[str, int] = defaultdict(int)
        for item in self.unsupported:
            counts[item.kind] += 1
        return dict(sorted(counts.items()))


def inspect_database(url: URL, schemas: Sequence[str] | None = None) -> Inspection:
    """Read the catalog of the database at url (only the given schemas, if any)."""
    with psycopg.connect(libpq_dsn(url), autocommit=True, row_factory=dict_row) as conn:
        return _Reader(conn, list(schemas) if schemas else None).read()


@dataclass
class _Reader:
    conn: psycopg.Connection[Row]
    schemas: list[str] | None
    unsupported: list[Unsupported] = field(default_factory=list)
    queries: int = 0
    kept_tables: set[int] = field(default_factory=set)

    def fetch(self, sql: str) -> list[Row]:
        global QUERY_COUNT
        QUERY_COUNT += 1
        self.queries += 1
        return self.conn.execute(sql, {"schemas": self.schemas}).fetchall()

    def skip(self, kind: str, name: str, reason: str = "") -> None:
        self.unsupported.append(Unsupported(kind, name, reason))

    def read(self) -> Inspection:
        # A fixed search_path: format_type and pg_get_expr qualify names outside it, and the
        # output must not depend on the connecting role's settings.
        self.fetch("SELECT set_config('search_path', 'public', false)")
        schema_rows = self.fetch(queries.SCHEMAS)
        extensions = self.read_extensions(self.fetch(queries.EXTENSIONS))
        enums = self.read_enums(self.fetch(queries.ENUMS))
        tables = self.read_tables()
        more = RoutineInspector(self.fetch, self.skip)
        functions, views = more.functions(), more.views(tables)
        triggers = more.triggers(tables, views)
        functions, views, triggers = more.usable(functions, views, triggers, self.kept_tables,
                                                 {(e.schema, e.name) for e in enums})
        for row in self.fetch(queries.OTHER_OBJECTS):
            self.skip(row["kind"], row["?column?"])
        spec = SchemaSpec(tables=tables, enums=enums, extensions=extensions,
                          functions=functions, views=views, triggers=triggers)
        self.report_schemas(schema_rows, set(spec.schemas))
        names = tuple(r["name"] for r in schema_rows if r["name"] != DEFAULT_SCHEMA)
        return Inspection(spec, tuple(self.unsupported), self.queries, names)

    def read_extensions(self, rows: list[Row]) -> tuple[ExtensionSpec, ...]:
        return tuple(
            ExtensionSpec(r["name"], None if r["schema"] == DEFAULT_SCHEMA else r["schema"])
            for r in rows
        )

    def read_enums(self, rows: list[Row]) -> tuple[EnumSpec, ...]:
        enums = []
        for r in rows:
            enums.append(EnumSpec(r["schema"], r["name"], tuple(EnumValue(v) for v in r["labels"])))
            if r["comment"]:
                self.skip("enum comment", f"{r['schema']}.{r['name']}")
        return tuple(enums)

    def report_schemas(self, rows: list[Row], used: set[str]) -> None:
        """Schemas exist in the YAML only through their tables and enums."""
        for r in rows:
            if r["name"] == DEFAULT_SCHEMA:
                continue
            if r["name"] not in used:
                self.skip("schema without tables or enums", r["name"])
            if r["comment"]:
                self.skip("schema comment", r["name"])

    # -- tables -----------------------------------------------------------------------------

    def read_tables(self) -> tuple[TableSpec, ...]:
        relations = self.fetch(queries.RELATIONS)
        kept = {r["oid"]: r for r in relations if self.keep_relation(r)}
        self.kept_tables = set(kept)
        columns: dict[int, list[Row]] = defaultdict(list)
        for row in self.fetch(queries.COLUMNS):
            columns[row["table_oid"]].append(row)
        serial_sequences = self.serial_sequences(relations, columns)
        self.report_sequences(relations, serial_sequences)
        constraints: dict[int, list[Row]] = defaultdict(list)
        for row in self.fetch(queries.CONSTRAINTS):
            constraints[row["table_oid"]].append(row)
        indexes: dict[int, list[Row]] = defaultdict(list)
        for row in self.fetch(queries.INDEXES):
            indexes[row["table_oid"]].append(row)
        tables = []
        for oid, rel in kept.items():
            builder = _TableBuilder(self, rel, kept)
            tables.append(builder.build(columns[oid], constraints[oid], indexes[oid]))
        return self.settle_expressions(tables)

    def settle_expressions(self, tables: list[TableSpec]) -> tuple[TableSpec, ...]:
        """Checks and index predicates in the text PostgreSQL prints once they are created
        again from that text.

        For `varchar_col IN ('a', 'b')` PostgreSQL prints `... = ANY (ARRAY[...]::text[])`,
        which, created again, prints as `... = ANY (ARRAY['a'::character varying::text,
        ...])`: the YAML would then never match the database (`plan --against` would
        replace the check forever). The second text is stable, so the expressions that can
        be affected (those with ANY/ALL) are created once more on empty copies of their
        tables, in a transaction that is rolled back, and read back: two queries for all.
        """
        affected = re.compile(r"\b(ANY|ALL) \(")
        script: list[str] = []
        copies: dict[tuple[str, str], str] = {}
        # settle_<n> -> (schema, table, check or index name, "check" | "index")
        names: dict[str, tuple[str, str, str, str]] = {}

        def copy_of(t: TableSpec) -> str:
            if (t.schema, t.name) not in copies:
                copies[(t.schema, t.name)] = f"schemactl_settle_{len(copies)}"
                script.append(f"CREATE TEMP TABLE {copies[(t.schema, t.name)]} "
                              f"(LIKE {_ident(t.schema)}.{_ident(t.name)});")
            return copies[(t.schema, t.name)]

        for t in tables:
            for c in t.checks:
                if affected.search(c.expression):
                    name = f"settle_{len(names)}"
                    names[name] = (t.schema, t.name, c.name, "check")
                    script.append(f"ALTER TABLE {copy_of(t)} ADD CONSTRAINT {name} "
                                  f"CHECK ({c.expression}) NOT VALID;")
            for i in t.indexes:
                if i.where and affected.search(i.where):
                    name = f"settle_{len(names)}"
                    names[name] = (t.schema, t.name, i.name, "index")
                    script.append(f"CREATE INDEX {name} ON {copy_of(t)} "
                                  f"({_ident(t.columns[0].name)}) WHERE {i.where};")
        if not names:
            return tuple(tables)
        try:
            with self.conn.transaction(force_rollback=True):
                self.fetch_script("\n".join(script))
                rows = self.fetch(queries.SETTLED)
        except psycopg.Error:
            return tuple(tables)  # keep PostgreSQL's first text: correct, if not stable
        settled = {names[r["name"]]: r["text"] for r in rows if r["name"] in names}
        return tuple(_settled(t, settled) for t in tables)

    def fetch_script(self, sql: str) -> None:
        global QUERY_COUNT
        QUERY_COUNT += 1
        self.queries += 1
        self.conn.execute(sql.encode())  # bytes: sent as it is, never as a parameter template

    def keep_relation(self, r: Row) -> bool:
        """True for a table the language can describe; anything else is reported."""
        name = f"{r['schema']}.{r['name']}"
        kind = r["kind"]
        if kind == "S":
            return False  # sequences: reported by report_sequences
        if r["name"] in INTERNAL_TABLES:
            return False
        if kind in ("v", "m"):
            return False
        if kind in _RELKIND_NAMES:
            self.skip(_RELKIND_NAMES[kind], name)
            return False
        if kind == "p":
            self.skip("partitioned table", name, "partitioning is not in the YAML language")
            return False
        if r["is_partition"]:
            self.skip("partition", name)
            return False
        if r["inherits"]:
            self.skip("inherited table", name, "table inheritance is not in the YAML language")
            return False
        if r["persistence"] == "u":
            self.skip("unlogged table (kept as logged)", name)
        if r["row_security"]:
            self.skip("row level security", name)
        if r["has_grants"]:
            self.skip("grant", name)
        if r["has_options"]:
            self.skip("storage parameters", name)
        return True

    def serial_sequences(self, relations: list[Row], columns: dict[int, list[Row]]) -> set[int]:
        """Sequences owned by a column whose default is nextval() of them (serial columns)."""
        owned = {
            (r["owner_table"], r["owner_column"]): r
            for r in relations
            if r["kind"] == "S" and r["owned_how"] == "a"
        }
        serial = set()
        for table_oid, rows in columns.items():
            for col in rows:
                seq = owned.get((table_oid, col["num"]))
                if seq and col["expr"] and col["expr"].startswith("nextval("):
                    serial.add(seq["oid"])
        return serial

    def report_sequences(self, relations: list[Row], serial: set[int]) -> None:
        for r in relations:
            if r["kind"] != "S" or r["owned_how"] == "i":
                continue  # identity sequences are part of their column
            if r["oid"] in serial:
                continue  # the column keeps default_sql: nextval(...); plan makes the sequence
            self.skip("sequence", f"{r['schema']}.{r['name']}")


@dataclass
class _TableBuilder:
    """One table: columns, then constraints and indexes on the columns that were kept."""

    reader: _Reader
    rel: Row
    tables: dict[int, Row]
    dropped_columns: set[str] = field(default_factory=set)
    attnames: dict[int, str] = field(default_factory=dict)  # attnum -> column name

    @property
    def qualified(self) -> str:
        return f"{self.rel['schema']}.{self.rel['name']}"

    def skip(self, kind: str, name: str, reason: str = "") -> None:
        self.reader.skip(kind, f"{self.qualified}.{name}" if name else self.qualified, reason)

    def build(self, columns: list[Row], constraints: list[Row], indexes: list[Row]) -> TableSpec:
        self.attnames = {r["num"]: r["name"] for r in columns}
        cols = tuple(c for c in (self.column(r) for r in columns) if c is not None)
        pk = None
        uniques, fks, checks = [], [], []
        for con in constraints:
            if not self.usable_constraint(con):
                continue
            kind = con["kind"]
            if kind == "p":
                pk = PrimaryKeySpec(con["name"], tuple(con["columns"]))
            elif kind == "u":
                uniques.append(UniqueSpec(con["name"], tuple(con["columns"])))
            elif kind == "f":
                fks.append(self.foreign_key(con))
            elif kind == "c":
                checks.append(CheckSpec(con["name"], check_expression(con["definition"])))
        idx = tuple(i for i in (self.index(r) for r in indexes) if i is not None)
        return TableSpec(
            schema=self.rel["schema"], name=self.rel["name"], columns=cols, primary_key=pk,
            uniques=tuple(uniques), indexes=idx, foreign_keys=tuple(fks), checks=tuple(checks),
            comment=self.rel["comment"],
        )

    # -- columns ----------------------------------------------------------------------------

    def column(self, r: Row) -> ColumnSpec | None:
        type_ = column_type(r)
        if type_ is None:
            self.dropped_columns.add(r["name"])
            self.skip(f"column of type {r['formatted']}", r["name"])
            return None
        if r["generated"] == "v":
            self.dropped_columns.add(r["name"])
            self.skip("virtual generated column", r["name"])
            return None
        if r["custom_collation"]:
            self.skip("column collation", r["name"])
        if r["identity_options"] and not default_identity_options(r["identity_options"], type_):
            self.skip("identity sequence options", r["name"])
        default, default_sql, generated = None, None, None
        expr = r["expr"]
        if expr is not None and r["generated"] == "s":
            generated = expr
        elif expr is not None:
            is_literal, value = literal_default(expr, type_, r["formatted"])
            if is_literal:
                default = value
            else:
                default_sql = expr
        identity = {"a": "always", "d": "by default"}.get(r["identity"])
        return ColumnSpec(
            name=r["name"], type=type_, nullable=not r["not_null"], default=default,
            default_sql=default_sql, identity=identity,  # type: ignore[arg-type]
            generated=generated, comment=r["comment"],
        )

    # -- constraints ------------------------------------------------------------------------

    def usable_constraint(self, con: Row) -> bool:
        name, kind, definition = con["name"], con["kind"], con["definition"]
        if kind == "x":
            self.skip("exclusion constraint", name)
            return False
        if not con["is_local"]:
            self.skip("inherited constraint", name)
            return False
        used = set(con["columns"])
        if kind == "c":
            used |= mentioned(check_expression(definition), self.dropped_columns)
        if used & self.dropped_columns:
            self.skip(f"{_CONSTRAINT_KINDS[kind]} on an unsupported column", name)
            return False
        if con["comment"]:
            self.skip("constraint comment", name)
        if kind in ("p", "u") and ("INCLUDE" in definition or "NULLS NOT DISTINCT" in definition
                                   or con["deferrable"]):
            self.skip(f"{_CONSTRAINT_KINDS[kind]} option", name, definition)
            return False
        if kind == "c" and ("NO INHERIT" in definition or not con["validated"]):
            self.skip("check option", name, definition)
            return False
        if kind == "f":
            return self.usable_foreign_key(con)
        return True

    def usable_foreign_key(self, con: Row) -> bool:
        name = con["name"]
        if con["ref_oid"] not in self.tables:
            self.skip("foreign key to an unsupported table", name, f"{con['ref_schema']}."
                      f"{con['ref_table']}")
            return False
        if con["match"] == "f":
            self.skip("foreign key MATCH FULL", name)
            return False
        if re.search(r"ON DELETE SET (NULL|DEFAULT) \(", con["definition"]):
            self.skip("foreign key action column list", name)
            return False
        if not con["validated"]:
            self.skip("foreign key NOT VALID", name)
            return False
        return True

    def foreign_key(self, con: Row) -> ForeignKeySpec:
        return ForeignKeySpec(
            name=con["name"], columns=tuple(con["columns"]), ref_schema=con["ref_schema"],
            ref_table=con["ref_table"], ref_columns=tuple(con["ref_columns"]),
            on_delete=_FK_ACTIONS[con["on_delete"]], on_update=_FK_ACTIONS[con["on_update"]],
            deferrable=con["deferrable"], initially_deferred=con["deferred"],
        )

    # -- indexes ----------------------------------------------------------------------------

    def index(self, r: Row) -> IndexSpec | None:
        name = r["name"]
        problem = self.index_problem(r)
        if problem:
            self.skip(problem, name)
            return None
        key_count = r["key_count"]
        elements = tuple(
            IndexElement(column=self.attnames[attnum]) if attnum else IndexElement(expression=key)
            for attnum, key in zip(r["attnums"][:key_count], r["keys"][:key_count], strict=True)
        )
        include = tuple(self.attnames[a] for a in r["attnums"][key_count:])
        if r["comment"]:
            self.skip("index comment", name)
        return IndexSpec(
            name=name, elements=elements, unique=r["is_unique"], using=r["method"],
            where=r["predicate"], include=include,
        )

    def index_problem(self, r: Row) -> str | None:
        if r["method"] not in _INDEX_METHODS:
            return f"index using {r['method']}"
        if any(o != 0 for o in r["options"][: r["key_count"]]):
            return "index with DESC or NULLS order"
        if not all(r["default_opclasses"][: r["key_count"]]):
            return "index with an operator class"
        if r["custom_collation"]:
            return "index with a collation"
        if r["nulls_not_distinct"]:
            return "index NULLS NOT DISTINCT"
        exprs = [k for a, k in zip(r["attnums"], r["keys"], strict=True) if a == 0]
        used = {self.attnames[a] for a in r["attnums"] if a}
        for text in [*exprs, r["predicate"] or ""]:
            used |= mentioned(text, self.dropped_columns)
        if used & self.dropped_columns:
            return "index on an unsupported column"
        return None


_CONSTRAINT_KINDS = {"p": "primary key", "u": "unique constraint", "f": "foreign key",
                     "c": "check constraint", "x": "exclusion constraint"}


def column_type(r: Row) -> TypeRef | None:
    """The TypeRef of a column, or None when the language has no such type."""
    dims = 1 if r["is_array"] else 0
    kind, name, schema = r["elem_kind"], r["elem_name"], r["elem_schema"]
    if kind == "e":
        return TypeRef(name, array_dims=dims, enum_schema=schema)
    if kind != "b":
        return None
    if name == "citext":
        return TypeRef("citext", array_dims=dims)
    if schema != "pg_catalog" or name not in _BUILTIN_TYPES:
        return None
    canonical = _BUILTIN_TYPES[name]
    args = type_args(canonical, r["typmod"])
    if args is None:
        return None
    return TypeRef(canonical, args=args, array_dims=dims)


def type_args(canonical: str, typmod: int) -> tuple[int, ...] | None:
    """Type modifiers from atttypmod; None when they are ones the language cannot write."""
    if typmod < 0:
        return ()
    if canonical in ("varchar", "char"):
        return (typmod - 4,)
    if canonical == "numeric":
        return ((typmod - 4) >> 16 & 0xFFFF, (typmod - 4) & 0xFFFF)
    return None  # time precision, interval fields, ...: not in the language


def default_identity_options(options: list[str], type_: TypeRef) -> bool:
    """True when an identity sequence has PostgreSQL's defaults (START 1, INCREMENT 1, ...)."""
    maxima = {"smallint": "32767", "integer": "2147483647", "bigint": "9223372036854775807"}
    return options == ["1", "1", "1", maxima.get(type_.name, ""), "1", "false"]


def _settled(t: TableSpec, settled: dict[tuple[str, str, str, str], str]) -> TableSpec:
    checks = tuple(replace(c, expression=settled.get((t.schema, t.name, c.name, "check"),
                                                     c.expression)) for c in t.checks)
    indexes = tuple(replace(i, where=settled.get((t.schema, t.name, i.name, "index"), i.where))
                    for i in t.indexes)
    return replace(t, checks=checks, indexes=indexes)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_expression(definition: str) -> str:
    """'CHECK (a > 0) NOT VALID' -> 'a > 0': the body between CHECK's own parentheses."""
    body = definition[len("CHECK ("):]
    depth, quoted = 1, False
    for i, ch in enumerate(body):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return body[:i]
    return body


def mentioned(expression: str, names: Iterable[str]) -> set[str]:
    """Which of names occur in expression as identifiers (a conservative textual check)."""
    return {n for n in names if re.search(rf'(?<![\w"]){re.escape(n)}(?![\w"])|"{re.escape(n)}"',
                                          expression)}
