"""Read a live database into a SchemaSpec, plus a report of what the YAML cannot express.

URL -> Inspection(spec, unsupported). The whole catalog is read in a fixed handful of
queries (queries.py), whatever the size of the schema; `Inspection.queries` counts them.

What the language cannot express is never dropped silently: each such object becomes an
`Unsupported(kind, name, reason)` record and stays out of the spec. A column whose type the
language lacks is left out together with the constraints and indexes that use it; a table
the language cannot describe (inherited, foreign) is left out together with the foreign
keys that point at it. Partitioned tables are tables with their partition key; partitions
become PartitionSpecs (parent and bound): their columns, keys and indexes are their parent's
copies, and what a partition has of its own (an index, a check) is reported.

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
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row
from sqlalchemy.engine import URL

from schemactl import progress
from schemactl.db.urls import libpq_dsn
from schemactl.inspect import queries
from schemactl.inspect.defaults import literal_default
from schemactl.inspect.routines import RoutineInspector
from schemactl.spec.typenames import TypeSpellingError, parse_type
from schemactl.spec.types import (
    DEFAULT_SCHEMA,
    CheckSpec,
    ColumnSpec,
    EnumSpec,
    EnumValue,
    ExclusionSpec,
    ExtensionSpec,
    FkAction,
    ForeignKeySpec,
    IndexElement,
    IndexSpec,
    PartitionBound,
    PartitionKey,
    PartitionSpec,
    PrimaryKeySpec,
    SchemaSpec,
    TableSpec,
    TypeRef,
    UniqueSpec,
)
from schemactl.sqltext import balanced

# Tables of schemactl and Alembic themselves: never part of the user's schema.
INTERNAL_TABLES = frozenset({"alembic_version", "schemactl_history"})

# Queries sent by this module since the process started (for timing notes and tests).
QUERY_COUNT = 0

Row = dict[str, Any]

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


def spellable_type_name(name: str) -> bool:
    """Whether a user type's name can stand in the YAML as `type: <name>` and mean it (no
    dot, no run of blanks, no character the type syntax does not read, not a built-in)."""
    try:
        parsed = parse_type(name)
    except TypeSpellingError:
        return False
    return not parsed.builtin and parsed.name == name and "." not in name and not parsed.args \
        and not parsed.array_dims


def inspect_database(url: URL, schemas: Sequence[str] | None = None) -> Inspection:
    """Read the catalog of the database at url (only the given schemas, if any)."""
    with progress.step("reading the database's catalog"), \
            psycopg.connect(libpq_dsn(url), autocommit=True, row_factory=dict_row) as conn:
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
        tables, partitions = self.read_tables()
        more = RoutineInspector(self.fetch, self.skip)
        functions, views = more.functions(), more.views(tables)
        triggers = more.triggers(tables, views)
        functions, views, triggers = more.usable(functions, views, triggers, self.kept_tables,
                                                 {(e.schema, e.name) for e in enums})
        for row in self.fetch(queries.OTHER_OBJECTS):
            self.skip(row["kind"], row["?column?"])
        names = tuple(r["name"] for r in schema_rows if r["name"] != DEFAULT_SCHEMA)
        spec = SchemaSpec(tables=tables, enums=enums, extensions=extensions,
                          functions=functions, views=views, triggers=triggers,
                          partitions=partitions)
        # Schemas nothing in the YAML is in (empty, or holding only what it cannot express)
        # are declared, so that they exist where the YAML is created.
        spec = replace(spec, declared_schemas=tuple(n for n in names if n not in spec.schemas))
        self.report_schemas(schema_rows)
        return Inspection(spec, tuple(self.unsupported), self.queries, names)

    def read_extensions(self, rows: list[Row]) -> tuple[ExtensionSpec, ...]:
        return tuple(
            ExtensionSpec(r["name"], None if r["schema"] == DEFAULT_SCHEMA else r["schema"],
                          r["version"])
            for r in rows
        )

    def read_enums(self, rows: list[Row]) -> tuple[EnumSpec, ...]:
        enums = []
        for r in rows:
            if not spellable_type_name(r["name"]):
                self.skip("enum whose name the YAML cannot write as a type",
                          f"{r['schema']}.{r['name']}")
                continue
            enums.append(EnumSpec(r["schema"], r["name"], tuple(EnumValue(v) for v in r["labels"])))
            if r["comment"]:
                self.skip("enum comment", f"{r['schema']}.{r['name']}")
        return tuple(enums)

    def report_schemas(self, rows: list[Row]) -> None:
        for r in rows:
            if r["name"] == DEFAULT_SCHEMA:
                continue
            if r["comment"]:
                self.skip("schema comment", r["name"])

    # -- tables -----------------------------------------------------------------------------

    def read_tables(self) -> tuple[tuple[TableSpec, ...], tuple[PartitionSpec, ...]]:
        relations = self.fetch(queries.RELATIONS)
        kept = {r["oid"]: r for r in relations if self.keep_relation(r)}
        partitions = {oid: r for oid, r in kept.items() if r["is_partition"]}
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
            if oid in partitions:
                continue
            builder = _TableBuilder(self, rel, kept)
            table = builder.build(columns[oid], constraints[oid], indexes[oid])
            if rel["partition_key"]:
                key = partition_key(rel["partition_key"], [c.name for c in table.columns])
                if key is None:
                    self.skip("partitioned table", f"{rel['schema']}.{rel['name']}",
                              f"partition key {rel['partition_key']}")
                    continue
                table = replace(table, partition_by=key)
            tables.append(table)
        had_columns = {(r["schema"], r["name"]) for oid, r in kept.items() if columns[oid]}
        tables = list(self.settle_expressions(self.without_emptied_tables(tables, had_columns)))
        return tuple(tables), self.read_partitions(partitions, kept, tables, constraints, indexes)

    def read_partitions(self, partitions: dict[int, Row], kept: dict[int, Row],
                        tables: list[TableSpec], constraints: dict[int, list[Row]],
                        indexes: dict[int, list[Row]]) -> tuple[PartitionSpec, ...]:
        """Partitions whose parent is in the spec, parents first. What a partition has of
        its own (a check, an index not attached to its parent's) is reported."""
        columns_of = {(t.schema, t.name): [c.name for c in t.columns] for t in tables}

        def depth(oid: int) -> int:
            parent = partitions[oid]["parent_oid"]
            return 1 + depth(parent) if parent in partitions else 0

        result: list[PartitionSpec] = []
        known = set(columns_of)
        root: dict[int, tuple[str, str]] = {}
        for oid in sorted(partitions, key=lambda o: (depth(o), partitions[o]["schema"],
                                                     partitions[o]["name"])):
            r = partitions[oid]
            name = f"{r['schema']}.{r['name']}"
            parent = kept.get(r["parent_oid"])
            if parent is None or (parent["schema"], parent["name"]) not in known:
                self.skip("partition of an unsupported table", name)
                continue
            root[oid] = root.get(r["parent_oid"], (parent["schema"], parent["name"]))
            bound = partition_bound(r["partition_bound"])
            key = partition_key(r["partition_key"], columns_of.get(root[oid], []))
            if bound is None or (r["partition_key"] and key is None):
                self.skip("partition bound or key", name, r["partition_bound"])
                continue
            for con in constraints[oid]:
                self.skip("constraint of a partition only", f"{name}.{con['name']}")
            for index in indexes[oid]:
                if not index["is_attached"]:
                    self.skip("index of a partition only", f"{name}.{index['name']}")
            if r["comment"]:
                self.skip("partition comment", name)
            if r["options"]:
                self.skip("partition storage parameters", name)
            known.add((r["schema"], r["name"]))
            result.append(PartitionSpec(r["schema"], r["name"], parent["schema"],
                                        parent["name"], bound, key))
        return tuple(result)

    def without_emptied_tables(self, tables: list[TableSpec],
                               had_columns: set[tuple[str, str]]) -> list[TableSpec]:
        """A table none of whose columns the YAML can express would be written as a table
        without columns, which is not that table: it is reported instead, with the foreign
        keys that point to it. (A table that has no column at all is written as such.)"""
        empty = {(t.schema, t.name) for t in tables
                 if not t.columns and (t.schema, t.name) in had_columns}
        if not empty:
            return tables
        kept = []
        for t in tables:
            if (t.schema, t.name) in empty:
                self.skip("table with no column the YAML can express", f"{t.schema}.{t.name}")
                continue
            fks = tuple(fk for fk in t.foreign_keys if (fk.ref_schema, fk.ref_table) not in empty)
            for fk in set(t.foreign_keys) - set(fks):
                self.skip("foreign key to an unsupported table", f"{t.schema}.{t.name}.{fk.name}",
                          f"{fk.ref_schema}.{fk.ref_table}")
            kept.append(replace(t, foreign_keys=fks))
        return kept

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
        if r["inherits"] and not r["is_partition"]:
            self.skip("inherited table", name, "table inheritance is not in the YAML language")
            return False
        if r["row_security"]:
            self.skip("row level security", name)
        if r["has_grants"]:
            self.skip("grant", name)
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
        uniques, fks, checks, exclusions = [], [], [], []
        for con in constraints:
            if not self.usable_constraint(con):
                continue
            kind = con["kind"]
            if kind == "p":
                pk = PrimaryKeySpec(con["name"], tuple(con["columns"]), con["deferrable"],
                                    con["deferred"])
            elif kind == "u":
                uniques.append(UniqueSpec(con["name"], tuple(con["columns"]),
                                          "NULLS NOT DISTINCT" in con["definition"],
                                          con["deferrable"], con["deferred"]))
            elif kind == "f":
                fks.append(self.foreign_key(con))
            elif kind == "c":
                checks.append(CheckSpec(con["name"], check_expression(con["definition"])))
            elif kind == "x":
                exclusions.append(self.exclusion(con))
        idx = tuple(i for i in (self.index(r) for r in indexes) if i is not None)
        return TableSpec(
            schema=self.rel["schema"], name=self.rel["name"], columns=cols, primary_key=pk,
            uniques=tuple(uniques), indexes=idx, foreign_keys=tuple(fks), checks=tuple(checks),
            comment=self.rel["comment"], unlogged=self.rel["persistence"] == "u",
            storage=storage_params(self.rel["options"]), exclusions=tuple(exclusions),
        )

    # -- columns ----------------------------------------------------------------------------

    def column(self, r: Row) -> ColumnSpec | None:
        type_ = column_type(r)
        if type_ is not None and type_.is_enum and not spellable_type_name(type_.name):
            type_ = None  # its enum is reported as unsupported (read_enums)
        if type_ is None:
            self.dropped_columns.add(r["name"])
            self.skip(f"column of type {r['formatted']}", r["name"])
            return None
        if r["generated"] == "v":
            self.dropped_columns.add(r["name"])
            self.skip("virtual generated column", r["name"])
            return None
        collation = r["collation"]
        if collation and (type_.name not in ("text", "varchar", "char") or type_.array_dims):
            self.skip("column collation on a non-text type", r["name"], collation)
            collation = None
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
            generated=generated, comment=r["comment"], collation=collation,
            compression=r["compression"], storage=r["storage"],
        )

    # -- constraints ------------------------------------------------------------------------

    def usable_constraint(self, con: Row) -> bool:
        name, kind, definition = con["name"], con["kind"], con["definition"]
        if not con["is_local"]:
            self.skip("inherited constraint", name)
            return False
        used = set(con["columns"])
        if kind == "c":
            used |= mentioned(check_expression(definition), self.dropped_columns)
        if kind == "x":
            for text in [*con["excl_keys"], con["excl_where"] or ""]:
                used |= mentioned(text, self.dropped_columns)
        if used & self.dropped_columns:
            self.skip(f"{_CONSTRAINT_KINDS[kind]} on an unsupported column", name)
            return False
        if con["comment"]:
            self.skip("constraint comment", name)
        if kind in ("p", "u") and ("INCLUDE" in definition or " WITH (" in definition):
            self.skip(f"{_CONSTRAINT_KINDS[kind]} option", name, definition)
            return False
        if kind == "c" and ("NO INHERIT" in definition or not con["validated"]):
            self.skip("check option", name, definition)
            return False
        if kind == "f":
            return self.usable_foreign_key(con)
        if kind == "x" and (con["excl_method"] not in _INDEX_METHODS
                            or exclusion_definition(con) != definition):
            # INCLUDE, DEFERRABLE, per-key options: what the YAML cannot write (yet).
            self.skip("exclusion constraint option", name, definition)
            return False
        return True

    def exclusion(self, con: Row) -> ExclusionSpec:
        elements = tuple(
            (IndexElement(column=self.attnames[attnum]) if attnum
             else IndexElement(expression=key), operator)
            for attnum, key, operator in zip(con["excl_attnums"], con["excl_keys"],
                                             con["excl_operators"], strict=False))
        return ExclusionSpec(con["name"], elements, con["excl_method"], con["excl_where"])

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
            index_element(self.attnames.get(attnum) if attnum else None, key, option, opclass,
                          collation)
            for attnum, key, option, opclass, collation in zip(
                r["attnums"][:key_count], r["keys"][:key_count], r["options"][:key_count],
                r["opclass_names"][:key_count], r["collation_names"][:key_count], strict=True)
        )
        include = tuple(self.attnames[a] for a in r["attnums"][key_count:])
        if r["comment"]:
            self.skip("index comment", name)
        return IndexSpec(
            name=name, elements=elements, unique=r["is_unique"], using=r["method"],
            where=r["predicate"], include=include, storage=storage_params(r["storage"]),
            nulls_not_distinct=r["nulls_not_distinct"],
        )

    def index_problem(self, r: Row) -> str | None:
        if r["method"] not in _INDEX_METHODS:
            return f"index using {r['method']}"
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
    """The TypeRef of a column, or None when the language has no such type.

    Built-in and extension types are read from format_type() with the parser validate
    uses, so precision, interval fields and bit lengths come back as the YAML spells them.
    PostgreSQL does not record an array's number of dimensions: an array reads as `[]`."""
    dims = 1 if r["is_array"] else 0
    kind, name, schema = r["elem_kind"], r["elem_name"], r["elem_schema"]
    if kind == "e":
        return TypeRef(name, array_dims=dims, enum_schema=schema)
    if kind not in ("b", "r", "m"):
        return None
    try:
        parsed = parse_type(r["formatted"])
    except TypeSpellingError:
        return None
    if parsed.extension is not None and name == parsed.name.rsplit(".", 1)[-1]:
        return replace(parsed.ref(type_schema=None if schema == DEFAULT_SCHEMA else schema),
                       array_dims=dims)
    if not parsed.builtin or parsed.extension is not None or schema != "pg_catalog":
        return None
    return replace(parsed.ref(), array_dims=dims)


def exclusion_definition(con: Row) -> str:
    """An exclusion constraint as pg_get_constraintdef prints it, made again from the parts
    the YAML can say: equal text means the parts say all of it."""
    keys = ", ".join(f"{key} WITH {op}"
                     for key, op in zip(con["excl_keys"], con["excl_operators"], strict=False))
    where = f" WHERE ({con['excl_where']})" if con["excl_where"] else ""
    return f"EXCLUDE USING {con['excl_method']} ({keys}){where}"


def index_element(column: str | None, key: str, option: int, opclass: str | None,
                  collation: str | None) -> IndexElement:
    """One index key with its options; pg_index.indoption: bit 1 DESC, bit 2 NULLS FIRST."""
    desc, nulls_first = bool(option & 1), bool(option & 2)
    nulls: Literal["first", "last"] | None = None  # None: the default for the order
    if nulls_first != desc:
        nulls = "first" if nulls_first else "last"
    return IndexElement(column=column, expression=None if column else key, collation=collation,
                        opclass=opclass, order="desc" if desc else None, nulls=nulls)


def storage_params(options: list[str] | None) -> tuple[tuple[str, str], ...]:
    """pg_class.reloptions (['fillfactor=70']) as sorted (name, value) pairs."""
    return tuple(sorted((name, value) for name, _, value in
                        (option.partition("=") for option in options or ())))


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


_BOUND_VALUE = re.compile(r"'(?:[^']|'')*'|[^,\s()]+")


def _bound_values(text: str) -> tuple[str, ...]:
    """The values of a printed bound, as validate spells them: a number that is not whole
    is quoted (the YAML writes it as text, so that 1.50 stays 1.50)."""
    return tuple(f"'{v}'" if re.fullmatch(r"-?\d*\.\d+(e[-+]?\d+)?|-?\d+e[-+]?\d+", v, re.I)
                 else v for v in _BOUND_VALUE.findall(text))


def partition_bound(text: str | None) -> PartitionBound | None:
    """pg_get_expr(relpartbound) -> PartitionBound, its values as PostgreSQL prints them."""
    if text is None:
        return None
    if text == "DEFAULT":
        return PartitionBound("default")
    if m := re.fullmatch(r"FOR VALUES FROM \((.*)\) TO \((.*)\)", text, re.DOTALL):
        return PartitionBound("range", lower=_bound_values(m[1]), upper=_bound_values(m[2]))
    if m := re.fullmatch(r"FOR VALUES IN \((.*)\)", text, re.DOTALL):
        return PartitionBound("list", values=_bound_values(m[1]))
    if m := re.fullmatch(r"FOR VALUES WITH \(modulus (\d+), remainder (\d+)\)", text):
        return PartitionBound("hash", modulus=int(m[1]), remainder=int(m[2]))
    return None


def partition_key(text: str | None, columns: list[str]) -> PartitionKey | None:
    """pg_get_partkeydef -> PartitionKey: `RANGE (at)`, `LIST (lower(city))`. None for what
    the YAML cannot write (an operator class or collation on a key)."""
    if not text:
        return None
    m = re.fullmatch(r"(RANGE|LIST|HASH) \((.*)\)", text, re.DOTALL)
    if m is None:
        return None
    elements = []
    for part in _top_level_split(m[2]):
        unquoted = part[1:-1].replace('""', '"') if part.startswith('"') else part
        if unquoted in columns:
            elements.append(IndexElement(column=unquoted))
        elif re.fullmatch(r"[\w\"]+ [\w.\"]+( COLLATE .*)?", part) or " COLLATE " in part:
            return None  # a column with an operator class or a collation
        else:
            inner = part[1:-1] if part.startswith("(") and balanced(part[1:-1]) else part
            elements.append(IndexElement(expression=inner))
    strategy = m[1].lower()
    return PartitionKey(strategy, tuple(elements))  # type: ignore[arg-type]


def _top_level_split(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts

