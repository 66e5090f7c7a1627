"""Drift: how a database differs from what its migrations say it should be.

Catalog (the database) and Catalog (a shadow migrated to the database's own revision) ->
list[DriftItem]: a pure function over the catalog model the planner reads
(diff/catalog.py), so status and `plan --against` see a database alike. Each object is
named as pg_dump names it ("table public.users", "index public.users_name", "constraint
public.users users_pkey", "function public.f(integer)"), which the ignore list matches
(without_left_alone), and its difference is a few readable lines: "- email character
varying(120)" expected, "+ email text" in the database. schemactl's own tables are not in
the catalog (INTERNAL_TABLES): they are bookkeeping, not schema.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from schemactl.diff.catalog import INTERNAL_TABLES, Catalog, ColumnInfo, Constraint
from schemactl.sqltext import quote_ident


@dataclass(frozen=True)
class DriftItem:
    object: str  # e.g. "table public.users"
    change: Literal["extra", "missing", "changed"]  # as seen from the database
    diff: list[str] = field(default_factory=list)  # "+ line" in the database, "- line" expected

    def __str__(self) -> str:
        what = {"extra": "only in the database", "missing": "missing from the database",
                "changed": "differs"}[self.change]
        return f"{self.object}: {what}"


def compare(database: Catalog, expected: Catalog, schema: str | None = None) -> list[DriftItem]:
    """What the database has that the expected catalog has not, and the other way round,
    object by object, sorted by name; of one tenant schema only when schema is given."""
    return paired(objects(database, schema), objects(expected, schema))


def paired(actual_objects: dict[str, list[str]],
           expected_objects: dict[str, list[str]]) -> list[DriftItem]:
    """Two sides' objects (name -> the lines that say what each is) -> what differs, by name."""
    items = []
    for key in sorted(set(actual_objects) | set(expected_objects)):
        if key not in expected_objects:
            items.append(DriftItem(key, "extra", [f"+ {x}" for x in actual_objects[key]]))
        elif key not in actual_objects:
            items.append(DriftItem(key, "missing", [f"- {x}" for x in expected_objects[key]]))
        elif actual_objects[key] != expected_objects[key]:
            items.append(DriftItem(key, "changed", _line_diff(expected_objects[key],
                                                              actual_objects[key])))
    return items


def objects(catalog: Catalog, schema: str | None = None) -> dict[str, list[str]]:
    """The catalog as objects named like pg_dump names them -> the lines that say what each
    is (a table: its columns, checks, options, one a line)."""
    found: dict[str, list[str]] = {}

    def add(name: str, *lines: str) -> None:
        found.setdefault(name, []).extend(lines)

    def wanted(in_schema: str) -> bool:
        return schema is None or in_schema == schema

    for name in catalog.schemas:
        if schema is None and name != "public":  # pg_dump leaves public out too
            add(f"schema {name}", f"CREATE SCHEMA {quote_ident(name)}")
    for name, in_schema in catalog.extensions.items():
        if schema is None:
            add(f"extension {name}", f"CREATE EXTENSION {quote_ident(name)} SCHEMA "
                                     f"{quote_ident(in_schema)}")
    for (s, name), labels in catalog.enums.items():
        if wanted(s):
            add(f"type {s}.{name}", "AS ENUM (" + ", ".join(_literal(x) for x in labels) + ")")
    tables = {key for key in catalog.tables if wanted(key[0]) and key[1] not in INTERNAL_TABLES}
    for s, t in tables:
        add(f"table {s}.{t}")
        if (s, t) in catalog.unlogged_tables:
            add(f"table {s}.{t}", "UNLOGGED")
        if key := catalog.partition_keys.get((s, t)):
            add(f"table {s}.{t}", f"PARTITION BY {key}")
        if options := catalog.table_storage.get((s, t)):
            add(f"table {s}.{t}", "WITH (" + ", ".join(f"{k}={v}" for k, v in options) + ")")
        enabled, forced = catalog.row_security.get((s, t), (False, False))
        if enabled:
            add(f"row security {s}.{t}",
                f"ALTER TABLE {_qualified(s, t)} ENABLE ROW LEVEL SECURITY;")
        if forced:
            add(f"table {s}.{t}", f"ALTER TABLE ONLY {_qualified(s, t)} FORCE ROW LEVEL SECURITY;")
    # A partition: where it hangs; its columns, keys and indexes are its parent's.
    for (s, t), partition in catalog.partitions.items():
        if wanted(s):
            add(f"table {s}.{t}", f"PARTITION OF {_qualified(partition.parent_schema, partition.parent)}"
                                  f" {partition.bound}",
                *([f"PARTITION BY {partition.key}"] if partition.key else []))
    # By name: the catalog keeps no column order worth comparing.
    for (s, t, _), column in sorted(catalog.columns.items()):
        if (s, t) in tables:
            add(f"table {s}.{t}", column_line(column))
    for (s, t, c), comment in sorted(catalog.comments.items()):
        if (s, t) in tables:
            target = f"COLUMN {quote_ident(c)}" if c else "TABLE"
            add(f"table {s}.{t}", f"COMMENT ON {target} IS {_literal(comment)}")
    for (s, t, _), constraint in sorted(catalog.constraints.items()):
        if (s, t) in tables:
            add(*_constraint(constraint))
    for (s, t, name), index in catalog.indexes.items():
        if (s, t) in tables:
            unique = "UNIQUE " if index.definition.startswith("UNIQUE ") else ""
            add(f"index {s}.{name}", f"CREATE {unique}INDEX {quote_ident(name)} ON "
                                     f"{_qualified(s, t)} {index.definition.removeprefix(unique)}")
    for (s, t, name), definition in catalog.policies.items():
        if (s, t) in tables:
            add(f"policy {s}.{t} {name}", f"CREATE POLICY {quote_ident(name)} ON "
                                          f"{_qualified(s, t)} {definition}")
    for (s, name), owner in catalog.sequences.items():
        if not wanted(s) or (owner is not None and owner[1] in INTERNAL_TABLES):
            continue
        add(f"sequence {s}.{name}", f"AS {catalog.sequence_types.get((s, name), 'bigint')}")
        if owner is not None:
            add(f"sequence {s}.{name}", "OWNED BY " + ".".join(map(quote_ident, owner)))
    for (kind, s, parent, name), obj in catalog.objects.items():
        if not wanted(s) or parent in INTERNAL_TABLES:
            continue
        label = f"{kind} {s}.{parent} {name}" if kind == "trigger" else f"{kind} {s}.{name}"
        add(label, *obj.definition.strip().splitlines())
        if obj.comment is not None:
            add(label, f"COMMENT {_literal(obj.comment)}")
    return found


def column_line(column: ColumnInfo) -> str:
    """A column as pg_dump writes it in CREATE TABLE: "email character varying(120) NOT NULL"."""
    parts = [quote_ident(column.name), column.type]
    if column.collation:
        parts.append(f"COLLATE {quote_ident(column.collation)}")
    if column.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) STORED")
    if column.identity:
        parts.append(f"GENERATED {column.identity.upper()} AS IDENTITY")
    if column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if not column.nullable:
        parts.append("NOT NULL")
    if column.compression:
        parts.append(f"COMPRESSION {column.compression}")
    if column.storage:
        parts.append(f"STORAGE {column.storage.upper()}")
    return " ".join(parts)


def _constraint(c: Constraint) -> tuple[str, str]:
    """(object, line): a CHECK is part of its table's CREATE TABLE, as pg_dump writes it; a
    key, a unique or an exclusion constraint is a "constraint", a foreign key an "fk
    constraint", named "schema.table name"."""
    line = f"CONSTRAINT {quote_ident(c.name)} {c.definition}"
    if c.kind == "c":
        return f"table {c.schema}.{c.table}", line
    kind = "fk constraint" if c.kind == "f" else "constraint"
    return f"{kind} {c.schema}.{c.table} {c.name}", line


def _qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _line_diff(expected: list[str], actual: list[str]) -> list[str]:
    diff = difflib.ndiff(expected, actual)
    return [f"{d[0]} {d[2:].strip()}" for d in diff if d[:1] in "+-"]


# pg_dump's object types -> the kinds inspect reports such objects as (inspect/catalog.py).
_INSPECT_KINDS: dict[str, tuple[str, ...]] = {
    "policy": ("policy",),
    "row security": ("row level security",),
    "function": ("function", "window function"),
    "procedure": ("procedure",),
    "aggregate": ("aggregate",),
    "rule": ("rule",),
    "trigger": ("trigger",),
    "sequence": ("sequence",),
    "sequence owned by": ("sequence",),
    "table": ("partitioned table", "partition of an unsupported table", "partition bound or key",
              "partition comment", "partition storage parameters", "inherited table",
              "foreign table", "table with no column the YAML can express"),
    "table attach": ("partition of an unsupported table", "partition bound or key"),
    "foreign table": ("foreign table",),
    "view": ("view",),
    "materialized view": ("materialized view",),
    "domain": ("domain",),
    "type": ("composite type", "range type", "base type",
             "enum whose name the YAML cannot write as a type"),
    "collation": ("collation",),
    "text search configuration": ("text search configuration",),
    "text search dictionary": ("text search dictionary",),
    "operator": ("operator",),
    "event trigger": ("event trigger",),
    "statistics": ("extended statistics",),
    "publication": ("publication",),
}
# pg_dump names these "table name"; inspect "schema.table.name".
_ON_A_TABLE = ("policy", "rule", "trigger")
_ROUTINES = ("function", "procedure", "aggregate")


class Named(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...


def without_left_alone(items: list[DriftItem],
                       left_alone: Sequence[Named]) -> tuple[list[DriftItem], list[DriftItem]]:
    """(drift, drift of objects left alone): an object the ignore list names (as inspect
    reports it) is no drift, whichever side has it. A part of a table left alone (a column,
    a constraint, FORCE ROW LEVEL SECURITY) takes its lines out of the table's difference;
    what else differs in that table is still drift."""
    wanted = {(record.kind, _comparable(record.name, record.kind in _ROUTINES))
              for record in left_alone}
    on_tables = [record for record in left_alone if record.kind not in _ROUTINES]
    kept: list[DriftItem] = []
    left: list[DriftItem] = []
    for item in items:
        # The longest type first: "table attach public.p1" is not a table "attach public.p1".
        dump_type = next((t for t in _DUMP_TYPES if item.object.startswith(t + " ")), "")
        qualified = item.object[len(dump_type) + 1:]
        kinds = _INSPECT_KINDS.get(dump_type, ())
        if dump_type in _ON_A_TABLE or dump_type in _TABLE_CONSTRAINTS:
            qualified = qualified.replace(" ", ".", 1)
        name = _comparable(qualified, dump_type in _ROUTINES)
        if any((kind, name) in wanted for kind in kinds) or \
                _part_left_alone(dump_type, name, on_tables):
            left.append(item)
        elif dump_type == "table" and item.change == "changed":
            lines = [line for line in item.diff if not _line_left_alone(name, line, on_tables)]
            if lines:
                kept.append(DriftItem(item.object, item.change, lines))
            else:
                left.append(item)
        else:
            kept.append(item)
    return kept, left


# pg_dump names these "table name" too; inspect reports such a constraint, when the YAML
# cannot hold it, as "<kind of constraint> ...", named "schema.table.name".
_TABLE_CONSTRAINTS = ("constraint", "fk constraint")
_CONSTRAINT_WORDS = ("constraint", "key", "check", "exclusion")
_DUMP_TYPES = sorted({*_INSPECT_KINDS, *_TABLE_CONSTRAINTS, "index"}, key=len, reverse=True)


def _part_left_alone(dump_type: str, name: str, records: Sequence[Named]) -> bool:
    """A constraint or index pg_dump lists on its own, whose inspect record is left alone.
    pg_dump names an index "schema.index", inspect "schema.table.index"."""
    if dump_type in _TABLE_CONSTRAINTS:
        return any(r.name == name and any(w in r.kind for w in _CONSTRAINT_WORDS)
                   for r in records)
    if dump_type == "index":
        schema, _, index = name.partition(".")
        return any(r.kind.startswith("index") and r.name.startswith(schema + ".")
                   and r.name.rsplit(".", 1)[-1] == index for r in records)
    return False


def _line_left_alone(table: str, line: str, records: Sequence[Named]) -> bool:
    """Whether a "+ ..." or "- ..." line of a table's difference is about a part of that
    table the ignore list leaves alone: its column, its inline constraint, or its FORCE ROW
    LEVEL SECURITY."""
    body = line[2:]
    for record in records:
        if record.kind == "force row level security" and record.name == table:
            if body.endswith(" FORCE ROW LEVEL SECURITY;"):
                return True
            continue
        owner, _, part = record.name.rpartition(".")
        if owner != table or not part:
            continue
        for spelled in (part, '"' + part.replace('"', '""') + '"'):
            if body.startswith((spelled + " ", "CONSTRAINT " + spelled + " ")):
                return True
    return False


def _comparable(name: str, routine: bool) -> str:
    """A routine's name with the number of its arguments, not their spelling: pg_dump and
    inspect need not qualify or spell an argument's type alike."""
    if not routine or "(" not in name:
        return name
    base, _, args = name.partition("(")
    args = args.rstrip(")").strip()
    return f"{base}/{args.count(',') + 1 if args else 0}"
