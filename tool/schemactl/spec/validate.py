"""validate: YAML node trees (SourceDoc) -> SchemaSpec, or SpecError with every problem found.

The walk has three passes so that order in the files never matters:
  1. extensions and enums of every file (column types may name an enum from another file);
  2. tables, each read on its own: columns, then keys, indexes and checks that name them;
  3. what spans tables and files: duplicate names, foreign keys, renames.
Errors never stop the walk; they are collected and raised together at the end.

Diagnostic codes (stable; tests and docs refer to them):
  E001 cannot read a file     E002 YAML syntax error       E003 beyond a loader limit (load.py)
  E101 unknown key            E102 wrong kind of value     E103 missing required key
  E104 invalid value          E105 empty where something is required
  E201 unknown type           E202 bad type arguments      E203 extension required
  E301 duplicate table        E302 duplicate column        E303 duplicate enum/extension
  E304 duplicate index/constraint name                    E305 duplicate key
  E306 duplicate enum value   E307 enum name clashes with a table or built-in type
  E308 name reserved by PostgreSQL or schemactl
  E401 unknown column         E402 foreign key to a missing table
  E403 foreign key to a missing column   E404 foreign key type mismatch
  E405 foreign key shape (column count, no unique key, set null on NOT NULL)
  E406 more than one primary key
  E501 nullable primary key   E502 conflicting default/identity/generated
  E503 identity on a non-integer type    E504 default does not fit the column type
  E505 enum default not a value of the enum
  E506 backfill on a column that holds NULLs anyway, or with backfill_sql
  E601 identifier longer than 63 bytes   E602 empty name
  E701 table renamed_from collides       E702 column renamed_from collides
  E703 enum (value) renamed_from collides
  E106 more than PostgreSQL allows (columns per table, keys per index; spec/limits.py)
  E801 SQL fragment is not exactly one expression
  E804 SQL fragment uses what PostgreSQL does not allow there (a column in a DEFAULT)
  E901 PostgreSQL refused, at plan, the SQL made from this object (plan/locate.py)
  E902, E903, E904: the ignore list, schemactl-ignore.yaml (ignore.py)
  E309, E802, E803: functions, procedures, views, materialized views, triggers (spec/routines.py)
  E310 partition_of names a missing or not partitioned table
  E311 partition key or bound that does not fit the strategy
  E312 a partition declares what it takes from its parent (columns, keys, indexes, ...)
  E313 a key on a partitioned table that PostgreSQL refuses (partition columns missing)
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from schemactl.errors import Diagnostic, SpecError
from schemactl.spec import limits, naming, routines
from schemactl.spec.literals import literal_problem
from schemactl.spec.load import SourceDoc, load
from schemactl.spec.sqlfrag import column_names, parse_fragment
from schemactl.spec.typenames import (
    ALIASES,
    BUILTINS,
    GIN_TYPES,
    GIST_TYPES,
    INTEGER_TYPES,
    ParsedType,
    TypeSpellingError,
    parse_type,
    suggest,
)
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
    IndexMethod,
    IndexSpec,
    Mark,
    PartitionBound,
    PartitionKey,
    PartitionSpec,
    PartitionStrategy,
    PrimaryKeySpec,
    SchemaSpec,
    TableSpec,
    TypeRef,
    UniqueSpec,
)
from schemactl.spec.yamlnodes import (
    BOOL_TAG,
    Entry,
    NodeReader,
    did_you_mean,
    is_null,
    is_text,
    kind_name,
    plain_value,
)
from schemactl.sqltext import quote_literal

# The keys each kind of mapping accepts. schema.json mirrors these (a test keeps them equal).
TOP_KEYS = ("schema", "schemas", "extensions", "enums", "tables", *routines.SECTIONS)
EXTENSION_KEYS = ("name", "schema", "version")
ENUM_KEYS = ("values", "renamed_from", "schema")
ENUM_VALUE_KEYS = ("name", "renamed_from")
TABLE_KEYS = (
    "schema",
    "comment",
    "renamed_from",
    "columns",
    "primary_key",
    "unique",
    "foreign_keys",
    "indexes",
    "checks",
    "triggers",
    "unlogged",
    "with",
    "exclude",
    "partition_by",
    "partition_of",
    "values",
)
# A partition takes its columns, keys and indexes from its parent: it says only these.
PARTITION_KEYS = ("schema", "partition_of", "values", "partition_by")
PARTITION_STRATEGIES = ("range", "list", "hash")
PARTITION_KEY_ELEMENT_KEYS = ("column", "expression")
COLUMN_KEYS = (
    "type",
    "nullable",
    "primary_key",
    "unique",
    "default",
    "default_sql",
    "identity",
    "generated",
    "comment",
    "renamed_from",
    "references",
    "on_delete",
    "on_update",
    "deferrable",
    "relationship",
    "collation",
    "compression",
    "storage",
    "backfill",
    "backfill_sql",
)
COMPRESSIONS = ("pglz", "lz4")
COLUMN_STORAGES = ("plain", "external", "extended", "main")
COLLATABLE_TYPES = ("text", "varchar", "char")
# Sections that may be left empty (`indexes:` with nothing under it).
SECTIONS = ("schemas", "extensions", "enums", "tables", *routines.SECTIONS)
TABLE_SECTIONS = ("unique", "foreign_keys", "indexes", "checks", "exclude", "triggers")
PRIMARY_KEY_KEYS = ("columns", "name", "deferrable")
UNIQUE_KEYS = ("columns", "name", "nulls_not_distinct", "deferrable")
FOREIGN_KEY_KEYS = (
    "columns", "references", "on_delete", "on_update", "deferrable", "name", "relationship")
RELATIONSHIP_KEYS = ("name", "back_populates")
REFERENCES_KEYS = ("table", "columns", "schema")
INDEX_KEYS = ("name", "columns", "unique", "using", "where", "include", "with",
              "nulls_not_distinct")
INDEX_ELEMENT_KEYS = ("column", "expression", "collation", "opclass", "order", "nulls")
EXCLUSION_KEYS = ("name", "using", "elements", "where")
EXCLUSION_ELEMENT_KEYS = (*INDEX_ELEMENT_KEYS, "operator")
INDEX_ORDERS = ("asc", "desc")
INDEX_NULLS = ("first", "last")

FK_ACTIONS: tuple[FkAction, ...] = ("cascade", "restrict", "no action", "set null", "set default")
INDEX_METHODS: tuple[IndexMethod, ...] = ("btree", "gin", "gist", "brin", "hash")
INCLUDE_METHODS = ("btree", "gist")  # the methods that support INCLUDE columns

# Tables that belong to schemactl and Alembic: diff and inspect ignore them, so a user table
# of that name would silently never be migrated.
OWN_TABLES = ("alembic_version", "schemactl_history")

# Stands in for a type that failed to parse, so later checks can skip it quietly.
UNKNOWN_TYPE = TypeRef("?")


def load_schema(path: Path, base: Path | None = None) -> SchemaSpec:
    """Load and validate a schema file or directory (what every command starts with)."""
    return validate(load(path, base))


def validate(docs: Sequence[SourceDoc]) -> SchemaSpec:
    """The validated, normalised SchemaSpec for these documents, or SpecError.

    The documents are also checked against the shipped JSON Schema (spec/schema_check.py),
    so that nothing an editor marks wrong passes here. On a line both find a problem, this
    module's own diagnostic (it explains better) is the one reported."""
    from schemactl.spec.schema_check import schema_diagnostics

    by_schema = schema_diagnostics(docs)
    try:
        spec = _Validator().run(docs)
    except SpecError as exc:
        raise SpecError(_merged(exc.diagnostics, by_schema)) from None
    if by_schema:
        raise SpecError(by_schema)
    return spec


def _merged(own: list[Diagnostic], by_schema: list[Diagnostic]) -> list[Diagnostic]:
    lines = {(d.file, d.line) for d in own}
    extra = [d for d in by_schema if (d.file, d.line) not in lines]
    if not extra:
        return own
    return sorted([*own, *extra], key=lambda d: (d.file or "", d.line or 0, d.column or 0))


@dataclass
class _File:
    """One YAML file's top level: its default PostgreSQL schema and its sections."""

    file: str
    schema: str
    sections: dict[str, Entry]


@dataclass
class _Table:
    """A table while it is being read; becomes a TableSpec at the end."""

    schema: str
    name: str
    obj: str
    mark: Mark
    columns: list[ColumnSpec] = field(default_factory=list)
    column_nodes: dict[str, yaml.Node] = field(default_factory=dict)
    primary_key: PrimaryKeySpec | None = None
    uniques: list[UniqueSpec] = field(default_factory=list)
    foreign_keys: list[ForeignKeySpec] = field(default_factory=list)
    indexes: list[IndexSpec] = field(default_factory=list)
    checks: list[CheckSpec] = field(default_factory=list)
    comment: str | None = None
    renamed_from: str | None = None
    unlogged: bool = False
    storage: tuple[tuple[str, str], ...] = ()
    exclusions: list[ExclusionSpec] = field(default_factory=list)
    partition_by: PartitionKey | None = None
    partition_by_mark: Mark | None = None

    def column(self, name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.name == name), None)

    def spec(self) -> TableSpec:
        return TableSpec(
            schema=self.schema,
            name=self.name,
            columns=tuple(self.columns),
            primary_key=self.primary_key,
            uniques=tuple(self.uniques),
            indexes=tuple(self.indexes),
            foreign_keys=tuple(self.foreign_keys),
            checks=tuple(self.checks),
            comment=self.comment,
            unlogged=self.unlogged,
            storage=self.storage,
            exclusions=tuple(self.exclusions),
            renamed_from=self.renamed_from,
            partition_by=self.partition_by,
            mark=self.mark,
        )


@dataclass
class _Partition:
    """A partition while it is being read: its parent and bound are resolved in pass 3."""

    schema: str
    name: str
    obj: str
    mark: Mark
    parent_schema: str
    parent: str
    parent_node: yaml.Node
    values_node: yaml.Node
    partition_by_node: yaml.Node | None = None
    partition_by: PartitionKey | None = None
    bound: PartitionBound | None = None


def _qualified(schema: str, name: str) -> str:
    return name if schema == DEFAULT_SCHEMA else f"{schema}.{name}"


class _Validator(NodeReader):
    def __init__(self) -> None:
        super().__init__()
        self.extensions: list[ExtensionSpec] = []
        self.declared_schemas: list[str] = []  # `schemas:`, also empty ones
        self.enums: list[EnumSpec] = []
        self.tables: list[_Table] = []
        self.partitions: list[_Partition] = []
        # Where a renamed_from was written, for errors found in pass 3.
        self.rename_marks: dict[tuple[str, str, str], Mark] = {}

    # ---- pass orchestration ------------------------------------------------------------

    def run(self, docs: Sequence[SourceDoc]) -> SchemaSpec:
        files = [f for f in (self._file(doc) for doc in docs) if f is not None]
        for f in files:
            self._in(f)
            self._schemas(f)
            self._extensions(f)
        for f in files:
            self._in(f)
            self._enums(f)
        for f in files:
            self._in(f)
            self._tables(f)
        self._check_relation_names()
        self._check_postgresql_limits()
        self._check_foreign_keys()
        self._check_renames()
        partitions = self._check_partitions()
        tables = tuple(t.spec() for t in self.tables)
        more = routines.RoutineReader(self, tables)
        more.read(files)
        if self.diagnostics:
            raise SpecError(sorted(self.diagnostics, key=_position))
        return SchemaSpec(
            tables=tables,
            enums=tuple(self.enums),
            extensions=tuple(self.extensions),
            functions=tuple(more.functions),
            views=tuple(more.views),
            triggers=tuple(more.triggers),
            declared_schemas=tuple(sorted(set(self.declared_schemas))),
            partitions=partitions,
        )

    def _in(self, f: _File) -> None:
        self.file = f.file

    def schema_name(self, node: yaml.Node, obj: str | None) -> str | None:
        """The PostgreSQL schema to create objects in: not one PostgreSQL keeps for itself."""
        name = self.name(node, obj, "schema name")
        if name is not None and (name.startswith("pg_") or name == "information_schema"):
            self.error("E308", node, f"schema name {name!r} is reserved by PostgreSQL", obj)
            return None
        return name

    # ---- pass 1: files, extensions, enums -------------------------------------------------

    def _file(self, doc: SourceDoc) -> _File | None:
        self.file = doc.file
        if doc.root is None:
            return _File(doc.file, DEFAULT_SCHEMA, {})
        entries = self.mapping(
            doc.root, None, TOP_KEYS, "a mapping with tables:, enums: ...", free_x_keys=True
        )
        if entries is None:
            return None
        # `tables:` with nothing under it is an empty section, not an error.
        sections = {e.key: e for e in entries if not (e.key in SECTIONS and is_null(e.value))}
        schema = DEFAULT_SCHEMA
        if "schema" in sections:
            schema = self.schema_name(sections["schema"].value, None) or DEFAULT_SCHEMA
        return _File(doc.file, schema, sections)

    def _schemas(self, f: _File) -> None:
        """`schemas: [archive, staging]`: namespaces that exist even with nothing in them."""
        if "schemas" not in f.sections:
            return
        for item in self.sequence(f.sections["schemas"].value, None, "a list of schema names") or []:
            name = self.schema_name(item, None)
            if name is not None:
                self.declared_schemas.append(name)

    def _extensions(self, f: _File) -> None:
        if "extensions" not in f.sections:
            return
        items = self.sequence(f.sections["extensions"].value, None, "a list of extension names")
        for item in items or []:
            ext = self._extension(item)
            if ext is None:
                continue
            same = next((e for e in self.extensions if e.name == ext.name), None)
            if same is None:
                self.extensions.append(ext)
            elif same.schema != ext.schema or same.version != ext.version:
                self.error(
                    "E303",
                    item,
                    f"extension {ext.name!r} listed again with another "
                    f"{'schema' if same.schema != ext.schema else 'version'} (also at {same.mark})",
                    f"extension {ext.name}",
                )

    def _extension(self, node: yaml.Node) -> ExtensionSpec | None:
        if is_text(node):
            name = self.name(node, None, "extension name")
            return ExtensionSpec(name, None, mark=self.mark(node)) if name else None
        entries = self.mapping(node, None, EXTENSION_KEYS, "an extension name or {name, schema}")
        if entries is None:
            return None
        keys = {e.key: e for e in entries}
        if "name" not in keys:
            self.error("E103", node, "extension needs a name")
            return None
        name = self.name(keys["name"].value, None, "extension name")
        schema = self.name(keys["schema"].value, None, "schema name") if "schema" in keys else None
        version = self._extension_version(keys["version"].value) if "version" in keys else None
        return ExtensionSpec(name, schema, version, self.mark(node)) if name else None

    def _extension_version(self, node: yaml.Node) -> str | None:
        """`version: "1.6"`; an unquoted 1.6 is read as YAML wrote it, not as a float."""
        if not isinstance(node, yaml.ScalarNode) or is_null(node) or not str(node.value).strip():
            self.error("E102", node, "extension version must be text, e.g. \"1.6\"", None)
            return None
        return str(node.value)

    def _enums(self, f: _File) -> None:
        if "enums" not in f.sections:
            return
        entries = self.mapping(
            f.sections["enums"].value, None, None, "a mapping of enum names", "enum", "E303"
        )
        for entry in entries or []:
            enum = self._enum(f, entry)
            if enum is None:
                continue
            other = next((e for e in self.enums if (e.schema, e.name) == (enum.schema, enum.name)), None)
            if other is not None:
                self.error(
                    "E303",
                    entry.key_node,
                    f"enum {enum.name!r} is already defined at {other.mark}",
                    f"enum {_qualified(enum.schema, enum.name)}",
                )
                continue
            self.enums.append(enum)

    def _enum(self, f: _File, entry: Entry) -> EnumSpec | None:
        name = self.name(entry.key_node, None, "enum name")
        if name is None:
            return None
        obj = f"enum {name}"
        if name.lower() in BUILTINS or name.lower() in ALIASES:
            self.error(
                "E307",
                entry.key_node,
                f"enum name {name!r} is a built-in type",
                obj,
                "choose another name",
            )
            return None
        keys: dict[str, Entry] = {}
        if isinstance(entry.value, yaml.SequenceNode):
            keys["values"] = Entry("values", entry.value, entry.value)
        else:
            entries = self.mapping(entry.value, obj, ENUM_KEYS, "a list of values or a mapping")
            if entries is None:
                return None
            keys = {e.key: e for e in entries}
        schema = f.schema
        if "schema" in keys:
            schema = self.schema_name(keys["schema"].value, obj) or f.schema
        values = None
        if "values" not in keys:
            self.error("E103", entry.value, "enum needs values", obj)
        else:
            values = self._enum_values(keys["values"].value, obj)
        renamed_from = None
        if "renamed_from" in keys:
            renamed_from = self.name(keys["renamed_from"].value, obj, "renamed_from")
            self.rename_marks[("enum", schema, name)] = self.mark(keys["renamed_from"].value)
        # An enum whose values are wrong is still an enum: columns of its type resolve, so the
        # one mistake is not reported again as "unknown type" on every such column.
        return EnumSpec(schema, name, values or (), renamed_from=renamed_from, mark=self.mark(entry.key_node))

    def _enum_values(self, node: yaml.Node, obj: str) -> tuple[EnumValue, ...] | None:
        items = self.sequence(node, obj, "a list of values")
        if items is None:
            return None
        if not items:
            self.error("E105", node, "enum needs at least one value", obj)
            return None
        values: list[EnumValue] = []
        where: dict[str, yaml.Node] = {}
        renames: list[tuple[str, yaml.Node]] = []
        for item in items:
            value = self._enum_value(item, obj, renames)
            if value is None:
                continue
            if value.name in where:
                line = self.mark(where[value.name]).line
                self.error("E306", item, f"duplicate value {value.name!r} (first at line {line})", obj)
                continue
            where[value.name] = item
            values.append(value)
        for old, node_ in renames:
            if old in where:
                self.error(
                    "E703",
                    node_,
                    f"value renamed from {old!r}, but {old!r} is still a value",
                    obj,
                    f"remove {old!r} from the values, or drop renamed_from",
                )
        return tuple(values)

    def _enum_value(
        self, item: yaml.Node, obj: str, renames: list[tuple[str, yaml.Node]]
    ) -> EnumValue | None:
        if is_text(item):
            label = self.name(item, obj, "enum value", may_be_empty=True)
            return EnumValue(label) if label is not None else None
        entries = self.mapping(item, obj, ENUM_VALUE_KEYS, "a value or {name, renamed_from}")
        if entries is None:
            return None
        keys = {e.key: e for e in entries}
        if "name" not in keys:
            self.error("E103", item, "enum value needs a name", obj)
            return None
        label = self.name(keys["name"].value, obj, "enum value", may_be_empty=True)
        old = None
        if "renamed_from" in keys:
            old = self.name(keys["renamed_from"].value, obj, "renamed_from")
            if old is not None:
                renames.append((old, keys["renamed_from"].value))
        return EnumValue(label, old) if label is not None else None

    # ---- pass 2: tables ---------------------------------------------------------------------

    def _tables(self, f: _File) -> None:
        if "tables" not in f.sections:
            return
        entries = self.mapping(
            f.sections["tables"].value, None, None, "a mapping of table names", "table", "E301"
        )
        for entry in entries or []:
            table = self._table(f, entry)
            if table is None:
                continue
            known: list[_Table | _Partition] = [*self.tables, *self.partitions]
            other = next((t for t in known if (t.schema, t.name) == (table.schema, table.name)),
                         None)
            if other is not None:
                self.error(
                    "E301",
                    entry.key_node,
                    f"table {table.name!r} is already defined at {other.mark}",
                    table.obj,
                )
                continue
            if isinstance(table, _Partition):
                self.partitions.append(table)
            else:
                self.tables.append(table)

    def _table(self, f: _File, entry: Entry) -> _Table | _Partition | None:
        name = self.name(entry.key_node, None, "table name")
        if name is None:
            return None
        if name in OWN_TABLES:
            self.error(
                "E308",
                entry.key_node,
                f"table name {name!r} is reserved for schemactl's own records",
                None,
                "choose another name",
            )
            return None
        entries = self.mapping(entry.value, f"table {name}", TABLE_KEYS)
        if entries is None:
            return None
        keys = {e.key: e for e in entries if not (e.key in TABLE_SECTIONS and is_null(e.value))}
        schema = f.schema
        if "schema" in keys:
            schema = self.schema_name(keys["schema"].value, f"table {name}") or f.schema
        if "partition_of" in keys:
            return self._partition(schema, name, entry, keys)
        t = _Table(schema, name, f"table {_qualified(schema, name)}", self.mark(entry.key_node))
        if "values" in keys:
            self.error("E310", keys["values"].key_node, "values: is the bound of a partition, "
                       "but this table has no partition_of:", t.obj,
                       "add partition_of: <the partitioned table>")
        if "comment" in keys:
            t.comment = self.text(keys["comment"].value, t.obj, "comment")
        if "unlogged" in keys:
            t.unlogged = bool(self.flag(keys["unlogged"].value, t.obj, "unlogged"))
        if "with" in keys:
            t.storage = self.storage_params(keys["with"].value, t.obj)
        if "renamed_from" in keys:
            t.renamed_from = self.name(keys["renamed_from"].value, t.obj, "renamed_from")
            self.rename_marks[("table", schema, name)] = self.mark(keys["renamed_from"].value)
        if "columns" not in keys:
            self.error("E103", entry.key_node, "table has no columns:", t.obj)
            return t
        self._columns(t, keys["columns"].value)
        if "primary_key" in keys:
            self._table_primary_key(t, keys["primary_key"])
        if "unique" in keys:
            self._table_uniques(t, keys["unique"].value)
        if "foreign_keys" in keys:
            self._table_foreign_keys(t, keys["foreign_keys"].value)
        if "indexes" in keys:
            self._indexes(t, keys["indexes"].value)
        if "checks" in keys:
            self._checks(t, keys["checks"].value)
        if "exclude" in keys:
            self._exclusions(t, keys["exclude"].value)
        if "partition_by" in keys:
            t.partition_by = self._partition_key(t, keys["partition_by"].value, t.obj)
            t.partition_by_mark = self.mark(keys["partition_by"].value)
        self._check_local_constraint_names(t)
        return t

    # -- partitions

    def _partition(self, schema: str, name: str, entry: Entry,
                   keys: dict[str, Entry]) -> _Partition | None:
        obj = f"table {_qualified(schema, name)}"
        for key, item in keys.items():
            if key not in PARTITION_KEYS:
                self.error("E312", item.key_node,
                           f"a partition takes {key} from its parent table; it cannot declare "
                           f"its own", obj, f"declare {key} on the partitioned table, or drop "
                           "partition_of: to make this a table of its own")
        parent_text = self.text(keys["partition_of"].value, obj, "partition_of")
        if parent_text is None:
            return None
        parent_schema, _, parent = parent_text.rpartition(".")
        if "values" not in keys:
            self.error("E103", entry.key_node, "partition has no values: (its bound)", obj,
                       "values: {from: ..., to: ...}, {in: [...]}, "
                       "{modulus: m, remainder: r} or default")
            return None
        return _Partition(schema, name, obj, self.mark(entry.key_node), parent_schema or schema,
                          parent, keys["partition_of"].value, keys["values"].value,
                          keys["partition_by"].value if "partition_by" in keys else None)

    def _partition_key(self, t: _Table, node: yaml.Node, obj: str) -> PartitionKey | None:
        """`{range: [at]}`, `{list: [{expression: lower(city)}]}`, `{hash: [id]}`."""
        entries = self.mapping(node, obj, PARTITION_STRATEGIES, "a mapping like {range: [column]}")
        if entries is None:
            return None
        if len(entries) != 1:
            self.error("E311", node, "partition_by needs exactly one of: range, list, hash", obj)
            return None
        [entry] = entries
        items = ([entry.value] if is_text(entry.value) else
                 self.sequence(entry.value, obj, "a list of columns or {expression: ...}"))
        if items is None:
            return None
        if not items:
            self.error("E105", entry.value, "partition key needs at least one column", obj)
            return None
        elements: list[IndexElement] = []
        for item in items:
            if is_text(item):
                column = str(item.value)
                if column not in t.column_nodes:
                    self.error("E401", item, f"partition key names unknown column {column!r}",
                               obj, did_you_mean(column, t.column_nodes))
                    continue
                elements.append(IndexElement(column=column))
                continue
            fields = self.mapping(item, obj, PARTITION_KEY_ELEMENT_KEYS,
                                  "a column or {expression: ...}")
            if fields is None:
                continue
            found = {e.key: e for e in fields}
            if "column" in found and is_text(found["column"].value):
                column = str(found["column"].value.value)
                if column not in t.column_nodes:
                    self.error("E401", found["column"].value,
                               f"partition key names unknown column {column!r}", obj,
                               did_you_mean(column, t.column_nodes))
                    continue
                elements.append(IndexElement(column=column))
            elif "expression" in found:
                fragment = self.fragment(found["expression"].value, obj, "expression")
                if fragment is not None:
                    self._check_fragment_columns(t, found["expression"].value, fragment[1], obj)
                    elements.append(IndexElement(expression=fragment[0]))
            else:
                self.error("E103", item, "partition key needs column: or expression:", obj)
        if len(elements) != len(items):
            return None
        strategy = cast(PartitionStrategy, entry.key)
        if strategy == "list" and len(elements) > 1:
            self.error("E311", entry.value, "list partitioning takes exactly one column or "
                       "expression (PostgreSQL: cannot use \"list\" partition strategy with "
                       "more than one column)", obj)
            return None
        return PartitionKey(strategy, tuple(elements))

    # -- columns

    def _columns(self, t: _Table, node: yaml.Node) -> None:
        entries = self.mapping(node, t.obj, None, "a mapping of column names", "column", "E302")
        if entries is None:
            return
        # `columns: {}` is a table with zero columns: PostgreSQL has them, inspect writes them.
        generated: list[tuple[ColumnSpec, yaml.Node, Any]] = []
        renames: list[tuple[str, yaml.Node]] = []
        for entry in entries:
            name = self.name(entry.key_node, t.obj, "column name")
            if name is None:
                continue
            if (problem := limits.system_column(name)) is not None:
                self.error("E308", entry.key_node, problem, t.obj, "choose another name")
                continue
            t.column_nodes[name] = entry.key_node
            column = self._column(t, name, entry, generated, renames)
            if column is not None:
                t.columns.append(column)
        generated_names = {column.name for column, _, _ in generated}
        for column, expr_node, expression in generated:
            obj = f"{t.obj}, column {column.name}"
            self._check_fragment_columns(t, expr_node, expression, obj)
            for used in generated_names.intersection(column_names(expression)):
                self.error(
                    "E502",
                    expr_node,
                    f"generated expression uses generated column {used!r}",
                    obj,
                    "PostgreSQL computes generated columns from ordinary columns only",
                )
        for old, rename_node in renames:
            if old in t.column_nodes:
                self.error(
                    "E702",
                    rename_node,
                    f"column renamed from {old!r}, but {old!r} still exists",
                    t.obj,
                    f"remove column {old!r}, or drop renamed_from",
                )
        seen_renames: dict[str, yaml.Node] = {}
        for old, rename_node in renames:
            if old in seen_renames:
                self.error("E702", rename_node, f"two columns are renamed from {old!r}", t.obj)
            seen_renames[old] = rename_node

    def _column(
        self,
        t: _Table,
        name: str,
        entry: Entry,
        generated: list[tuple[ColumnSpec, yaml.Node, Any]],
        renames: list[tuple[str, yaml.Node]],
    ) -> ColumnSpec | None:
        obj = f"{t.obj}, column {name}"
        keys: dict[str, Entry]
        if is_text(entry.value):  # shorthand: `nickname: varchar(50)`
            keys = {"type": Entry("type", entry.value, entry.value)}
        else:
            entries = self.mapping(entry.value, obj, COLUMN_KEYS, "a type or a mapping")
            if entries is None:
                return None
            keys = {e.key: e for e in entries}
        if "type" not in keys:
            self.error("E103", entry.value, "column needs a type", obj, "e.g. {type: text}")
            return None
        type_ = self._type(t.schema, keys["type"].value, obj) or UNKNOWN_TYPE
        nullable = bool(self.flag(keys["nullable"].value, obj, "nullable")) if "nullable" in keys else False
        column = ColumnSpec(name, type_, nullable, mark=self.mark(entry.key_node))
        column = self._column_value_source(column, keys, obj, generated)
        if "comment" in keys:
            column = replace(column, comment=self.text(keys["comment"].value, obj, "comment"))
        column = self._column_physical(column, keys, obj)
        if "renamed_from" in keys:
            old = self.name(keys["renamed_from"].value, obj, "renamed_from")
            column = replace(column, renamed_from=old)
            if old is not None:
                renames.append((old, keys["renamed_from"].value))
        self._column_constraints(t, column, keys, obj)
        return column

    def _column_physical(self, column: ColumnSpec, keys: dict[str, Entry], obj: str) -> ColumnSpec:
        """collation (text types only), compression and storage of a column."""
        if "collation" in keys:
            collation = self.name(keys["collation"].value, obj, "collation")
            type_ = column.type
            if type_ != UNKNOWN_TYPE and (type_.name not in COLLATABLE_TYPES or type_.array_dims):
                self.error("E104", keys["collation"].key_node,
                           f"collation needs a text, varchar or char column, not {type_.sql()}",
                           obj)
            column = replace(column, collation=collation)
        if "compression" in keys:
            compression = self.choice(keys["compression"].value, obj, "compression", COMPRESSIONS)
            column = replace(column, compression=cast(Any, compression))
        if "storage" in keys:
            storage = self.choice(keys["storage"].value, obj, "storage", COLUMN_STORAGES)
            column = replace(column, storage=cast(Any, storage))
        return column

    def _column_value_source(
        self,
        column: ColumnSpec,
        keys: dict[str, Entry],
        obj: str,
        generated: list[tuple[ColumnSpec, yaml.Node, Any]],
    ) -> ColumnSpec:
        """default / default_sql / identity / generated: at most one of them, each checked."""
        given = [
            k
            for k in ("default", "default_sql", "identity", "generated")
            if k in keys
            and not (k == "default" and is_null(keys[k].value))
            and not (k == "identity" and _is_false(keys[k].value))
        ]
        if len(given) > 1:
            self.error(
                "E502",
                keys[given[1]].key_node,
                f"{given[0]} and {given[1]} cannot be used together",
                obj,
                "a column gets its value from at most one of default, default_sql, identity, generated",
            )
        if "default" in keys and not is_null(keys["default"].value):
            column = replace(column, default=self._literal_default(column, keys["default"], obj))
        if "default_sql" in keys:
            parsed = self.fragment(keys["default_sql"].value, obj, "default_sql")
            column = replace(column, default_sql=parsed[0] if parsed else None)
            used = [n for n in column_names(parsed[1]) if n.lower() not in _SQL_NAMES] if parsed else []
            if used:
                self.error("E804", keys["default_sql"].value,
                           f"default_sql uses column {used[0]!r}; PostgreSQL allows no column "
                           "in a DEFAULT", obj, "for a value computed from other columns use "
                           "generated:")
        if "identity" in keys:
            column = replace(column, identity=self._identity(column, keys["identity"], obj))
        if "generated" in keys:
            parsed = self.fragment(keys["generated"].value, obj, "generated")
            if parsed is not None:
                column = replace(column, generated=parsed[0])
                generated.append((column, keys["generated"].value, parsed[1]))
        return self._backfill(column, keys, obj)

    def _backfill(self, column: ColumnSpec, keys: dict[str, Entry], obj: str) -> ColumnSpec:
        """backfill (a literal) or backfill_sql (one expression): what existing rows get."""
        given = [k for k in ("backfill", "backfill_sql") if k in keys]
        if not given:
            return column
        if len(given) > 1:
            self.error("E506", keys["backfill_sql"].key_node,
                       "backfill and backfill_sql cannot be used together", obj,
                       "existing rows get one value: a literal, or one SQL expression")
        if column.generated is not None:
            self.error("E506", keys[given[0]].key_node,
                       f"{given[0]} fills existing rows of a NOT NULL column; this column is "
                       "generated", obj, f"a generated column computes its values: remove {given[0]}")
        elif column.nullable:
            self.error("E506", keys[given[0]].key_node,
                       f"{given[0]} fills existing rows of a NOT NULL column; this column "
                       "allows NULL", obj, "remove it, or make the column NOT NULL (leave out "
                       "nullable)")
        if "backfill" in keys and not is_null(keys["backfill"].value):
            column = replace(column, backfill=self._literal_default(
                column, keys["backfill"], obj, "backfill"))
        if "backfill_sql" in keys:
            parsed = self.fragment(keys["backfill_sql"].value, obj, "backfill_sql")
            column = replace(column, backfill_sql=parsed[0] if parsed else None)
        return column

    def _identity(self, column: ColumnSpec, entry: Entry, obj: str) -> Literal["by default", "always"] | None:
        node = entry.value
        if isinstance(node, yaml.ScalarNode) and node.tag == BOOL_TAG:
            identity: Literal["by default", "always"] | None = "by default" if plain_value(node) else None
        elif is_text(node) and str(node.value).lower() == "always":
            identity = "always"
        else:
            self.error("E104", node, f"identity must be true or always, found {kind_name(node)}", obj)
            return None
        if (
            identity
            and column.type != UNKNOWN_TYPE
            and (column.type.name not in INTEGER_TYPES or column.type.array_dims)
        ):
            self.error(
                "E503",
                node,
                f"identity needs smallint, integer or bigint, not {column.type.sql()}",
                obj,
            )
        if identity and column.nullable:
            self.error("E502", node, "an identity column cannot be nullable", obj)
        return identity

    def _literal_default(self, column: ColumnSpec, entry: Entry, obj: str,
                         key: str = "default") -> Any:
        value = plain_value(entry.value)
        enum = self._enum_of(column.type)
        if column.type == UNKNOWN_TYPE or (enum is not None and not enum.values):
            return value
        written = str(entry.value.value) if isinstance(entry.value, yaml.ScalarNode) else None
        problem = literal_problem(value, column.type, enum, written)
        if problem is not None:
            code, message, hint = problem
            self.error(code, entry.value, re.sub(r"^default\b", key, message), obj, hint)
        return value

    def _enum_of(self, type_: TypeRef) -> EnumSpec | None:
        if not type_.is_enum:
            return None
        return next((e for e in self.enums if (e.schema, e.name) == (type_.enum_schema, type_.name)), None)

    def _type(self, schema: str, node: yaml.Node, obj: str) -> TypeRef | None:
        text = self.text(node, obj, "type")
        if text is None:
            return None
        try:
            parsed = parse_type(text)
        except TypeSpellingError as exc:
            self.error("E202", node, exc.message, obj, exc.hint)
            return None
        if parsed.extension:
            return self._extension_type(parsed, node, obj)
        if parsed.builtin:
            return parsed.ref()
        enum_schema, _, enum_name = parsed.name.rpartition(".")
        enum_schema = enum_schema or schema
        if not parsed.args and any((e.schema, e.name) == (enum_schema, enum_name) for e in self.enums):
            return parsed.ref(enum_schema)
        enum_names = [e.name if e.schema == schema else f"{e.schema}.{e.name}" for e in self.enums]
        hint = suggest(parsed.name.lower(), enum_names)
        elsewhere = [e for e in self.enums if e.name == enum_name and e.schema != enum_schema]
        if elsewhere:
            hint = (
                f"enum {enum_name!r} is in schema {elsewhere[0].schema!r}: write "
                f"{elsewhere[0].schema}.{enum_name}"
            )
        self.error("E201", node, f"unknown type {text!r}", obj, hint)
        return None

    def _extension_type(self, parsed: ParsedType, node: yaml.Node, obj: str) -> TypeRef | None:
        """A type an extension brings (citext, hstore, vector(3), ...): the YAML must declare
        the extension, and the type lives in the extension's schema."""
        base = parsed.name.rsplit(".", 1)[-1]
        extension = next((e for e in self.extensions if e.name == parsed.extension), None)
        if extension is None:
            self.error("E203", node, f"type {base} needs the {parsed.extension} extension", obj,
                       f"add `extensions: [{parsed.extension}]` to a schema file")
            return None
        written_schema = parsed.name.rpartition(".")[0]
        schema = extension.schema or DEFAULT_SCHEMA
        if written_schema and written_schema != schema:
            self.error("E201", node, f"type {base} is in the schema of extension "
                       f"{extension.name} ({schema}), not in {written_schema!r}", obj,
                       f"write {base}" + (f" or {schema}.{base}" if schema != DEFAULT_SCHEMA else ""))
            return None
        return parsed.ref(type_schema=None if schema == DEFAULT_SCHEMA else schema)

    def _column_constraints(self, t: _Table, column: ColumnSpec, keys: dict[str, Entry], obj: str) -> None:
        """Lift `primary_key: true`, `unique: true` and `references:` to table level."""
        if "primary_key" in keys and self.flag(keys["primary_key"].value, obj, "primary_key"):
            node = keys["primary_key"].key_node
            if t.primary_key is not None:
                self.error(
                    "E406",
                    node,
                    f"a second primary_key column (first: {t.primary_key.columns[0]})",
                    obj,
                    f"for a composite key write `primary_key: [{t.primary_key.columns[0]}, "
                    f"{column.name}]` on the table",
                )
            else:
                self._require_not_null(column, node, obj)
                self._check_indexable_column(column, "btree", node, obj)
                t.primary_key = PrimaryKeySpec(
                    naming.primary_key_name(t.name), (column.name,), mark=self.mark(node)
                )
        if "unique" in keys and self.flag(keys["unique"].value, obj, "unique"):
            node = keys["unique"].key_node
            self._check_indexable_column(column, "btree", node, obj)
            t.uniques.append(
                UniqueSpec(naming.unique_name(t.name, [column.name]), (column.name,), mark=self.mark(node))
            )
        if "references" in keys:
            self._column_foreign_key(t, column, keys, obj)
        else:
            for k in ("on_delete", "on_update", "deferrable", "relationship"):
                if k in keys:
                    self.error("E103", keys[k].key_node, f"{k} needs references:", obj)

    def _require_not_null(self, column: ColumnSpec, node: yaml.Node | Mark, obj: str) -> None:
        if column.nullable:
            self.error(
                "E501",
                node,
                f"primary key column {column.name!r} is nullable",
                obj,
                "primary key columns are NOT NULL: remove nullable: true",
            )

    def _column_foreign_key(self, t: _Table, column: ColumnSpec, keys: dict[str, Entry], obj: str) -> None:
        node = keys["references"].value
        target = self.text(node, obj, "references")
        if target is None:
            return
        parts = target.split(".")
        if len(parts) not in (2, 3) or not all(parts):
            self.error(
                "E104",
                node,
                f"references {target!r} must be table.column or schema.table.column",
                obj,
            )
            return
        ref_schema = parts[0] if len(parts) == 3 else t.schema
        fk = ForeignKeySpec(
            naming.foreign_key_name(t.name, [column.name]),
            (column.name,),
            ref_schema,
            parts[-2],
            (parts[-1],),
            mark=self.mark(node),
        )
        t.foreign_keys.append(self._fk_options(fk, keys, obj))

    def _fk_options(self, fk: ForeignKeySpec, keys: dict[str, Entry], obj: str) -> ForeignKeySpec:
        if "on_delete" in keys:
            action = self.choice(keys["on_delete"].value, obj, "on_delete", FK_ACTIONS)
            fk = replace(fk, on_delete=cast(FkAction | None, action))
        if "on_update" in keys:
            action = self.choice(keys["on_update"].value, obj, "on_update", FK_ACTIONS)
            fk = replace(fk, on_update=cast(FkAction | None, action))
        if "deferrable" in keys:
            deferrable, deferred = self._deferrable(keys["deferrable"].value, obj)
            fk = replace(fk, deferrable=deferrable, initially_deferred=deferred)
        if "relationship" in keys:
            fk = self._relationship(fk, keys["relationship"].value, obj)
        return fk

    def _deferrable(self, node: yaml.Node, obj: str) -> tuple[bool, bool]:
        """`deferrable: true | false | initially_deferred` -> (deferrable, initially deferred)."""
        if isinstance(node, yaml.ScalarNode) and node.tag == BOOL_TAG:
            return bool(plain_value(node)), False
        if is_text(node) and str(node.value).lower() == "initially_deferred":
            return True, True
        self.error(
            "E104",
            node,
            f"deferrable must be true, false or initially_deferred, found {kind_name(node)}",
            obj,
        )
        return False, False

    def _key_deferrable(self, node: yaml.Node, obj: str) -> tuple[bool, bool]:
        """`deferrable:` of a primary or unique key written as a mapping."""
        if not isinstance(node, yaml.MappingNode):
            return False, False
        value = next((v for k, v in node.value if is_text(k) and k.value == "deferrable"), None)
        return self._deferrable(value, obj) if value is not None else (False, False)

    def _relationship(self, fk: ForeignKeySpec, node: yaml.Node, obj: str) -> ForeignKeySpec:
        """`relationship: author` or `{name: author, back_populates: articles}`: the names of
        the ORM attributes `schemactl models` generates for this key (child side, parent side)."""
        if is_text(node):
            return replace(fk, relationship=self._attribute_name(node, obj))
        entries = self.mapping(node, obj, RELATIONSHIP_KEYS, "a name or {name, back_populates}")
        names = {e.key: self._attribute_name(e.value, obj) for e in entries or []}
        return replace(fk, relationship=names.get("name"), back_populates=names.get("back_populates"))

    def _attribute_name(self, node: yaml.Node, obj: str) -> str | None:
        value = self.text(node, obj, "relationship name")
        if value is not None and (not value.isidentifier() or keyword.iskeyword(value)
                                  or value.startswith("_")):
            self.error("E104", node, f"relationship name {value!r} is not a Python attribute name",
                       obj, "use letters, digits and _, not starting with a digit or _")
            return None
        return value

    # -- table-level keys, indexes, checks

    def _column_list(self, t: _Table, node: yaml.Node, obj: str, what: str) -> tuple[str, ...] | None:
        """A non-empty list of this table's column names, each once."""
        if is_text(node):  # `primary_key: id` reads as a list of one
            items = [node]
        else:
            seq = self.sequence(node, obj, f"a list of column names for {what}")
            if seq is None:
                return None
            items = seq
        if not items:
            self.error("E105", node, f"{what} needs at least one column", obj)
            return None
        names: list[str] = []
        ok = True
        for item in items:
            name = self.text(item, obj, "column name")
            if name is None:
                ok = False
            elif name not in t.column_nodes:
                self.error(
                    "E401",
                    item,
                    f"{what} names unknown column {name!r}",
                    obj,
                    did_you_mean(name, t.column_nodes),
                )
                ok = False
            elif name in names:
                self.error("E104", item, f"column {name!r} listed twice in {what}", obj)
                ok = False
            else:
                names.append(name)
        return tuple(names) if ok else None

    def _name_and_columns(
        self, t: _Table, node: yaml.Node, obj: str, what: str, allowed: Sequence[str]
    ) -> tuple[str | None, tuple[str, ...] | None, bool]:
        """`[a, b]` or `{columns: [a, b], name: n}` -> (user name, columns, ok)."""
        if not isinstance(node, yaml.MappingNode):
            return None, self._column_list(t, node, obj, what), True
        entries = self.mapping(node, obj, allowed)
        if entries is None:
            return None, None, False
        keys = {e.key: e for e in entries}
        name = self.name(keys["name"].value, obj, f"{what} name") if "name" in keys else None
        if "columns" not in keys:
            self.error("E103", node, f"{what} needs columns:", obj)
            return name, None, False
        return name, self._column_list(t, keys["columns"].value, obj, what), True

    def _table_primary_key(self, t: _Table, entry: Entry) -> None:
        user_name, columns, _ = self._name_and_columns(t, entry.value, t.obj, "primary key", PRIMARY_KEY_KEYS)
        if t.primary_key is not None:
            self.error(
                "E406",
                entry.key_node,
                f"primary key given twice: on column {t.primary_key.columns[0]!r} and on the table",
                t.obj,
                "keep one of them",
            )
            return
        if columns is None:
            return
        for name in columns:
            column = t.column(name)
            if column is not None:
                self._require_not_null(column, entry.value, t.obj)
        name = user_name or naming.primary_key_name(t.name)
        self._check_indexable(t, columns, "btree", entry.value, t.obj)
        deferrable, deferred = self._key_deferrable(entry.value, t.obj)
        t.primary_key = PrimaryKeySpec(name, columns, deferrable, deferred, self.mark(entry.value))

    def _table_uniques(self, t: _Table, node: yaml.Node) -> None:
        for item in self.sequence(node, t.obj, "a list of unique column lists") or []:
            user_name, columns, _ = self._name_and_columns(t, item, t.obj, "unique", UNIQUE_KEYS)
            if columns is not None:
                self._check_indexable(t, columns, "btree", item, t.obj)
                name = user_name or naming.unique_name(t.name, columns)
                deferrable, deferred = self._key_deferrable(item, t.obj)
                t.uniques.append(UniqueSpec(name, columns, self._nulls_not_distinct(item, t.obj),
                                            deferrable, deferred, self.mark(item)))

    def _nulls_not_distinct(self, node: yaml.Node, obj: str) -> bool:
        """`nulls_not_distinct: true` of a unique key written as a mapping."""
        if not isinstance(node, yaml.MappingNode):
            return False
        value = next((v for k, v in node.value if is_text(k) and k.value == "nulls_not_distinct"),
                     None)
        return bool(self.flag(value, obj, "nulls_not_distinct")) if value is not None else False

    def storage_params(self, node: yaml.Node, obj: str) -> tuple[tuple[str, str], ...]:
        """`with: {fillfactor: 70, deduplicate_items: false}` -> sorted (name, text) pairs.
        PostgreSQL checks the names and values; here only their shape."""
        entries = self.mapping(node, obj, None, "a mapping of storage parameters", "parameter")
        params = []
        for entry in entries or []:
            value = entry.value
            if not isinstance(value, yaml.ScalarNode) or is_null(value) or not str(value.value):
                self.error("E102", value, f"storage parameter {entry.key} needs a value", obj)
                continue
            if not re.fullmatch(r"[a-z_][a-z0-9_.]*", entry.key):
                self.error("E104", entry.key_node, f"{entry.key!r} is not a storage parameter "
                           "name", obj, "e.g. fillfactor, autovacuum_enabled")
                continue
            text = str(value.value).lower() if value.tag == BOOL_TAG else str(value.value)
            params.append((entry.key, text))
        return tuple(sorted(params))

    def _table_foreign_keys(self, t: _Table, node: yaml.Node) -> None:
        for item in self.sequence(node, t.obj, "a list of foreign keys") or []:
            entries = self.mapping(item, t.obj, FOREIGN_KEY_KEYS)
            if entries is None:
                continue
            keys = {e.key: e for e in entries}
            missing = [k for k in ("columns", "references") if k not in keys]
            if missing:
                self.error("E103", item, f"foreign key needs {' and '.join(missing)}:", t.obj)
                continue
            columns = self._column_list(t, keys["columns"].value, t.obj, "foreign key")
            target = self._fk_target(t, keys["references"].value)
            user_name = self.name(keys["name"].value, t.obj, "foreign key name") if "name" in keys else None
            if columns is None or target is None:
                continue
            ref_schema, ref_table, ref_columns = target
            name = user_name or naming.foreign_key_name(t.name, columns)
            fk = ForeignKeySpec(
                name,
                columns,
                ref_schema,
                ref_table,
                ref_columns,
                mark=self.mark(keys["references"].value),
            )
            t.foreign_keys.append(self._fk_options(fk, keys, t.obj))

    def _fk_target(self, t: _Table, node: yaml.Node) -> tuple[str, str, tuple[str, ...]] | None:
        entries = self.mapping(node, t.obj, REFERENCES_KEYS, "{table, columns, schema}")
        if entries is None:
            return None
        keys = {e.key: e for e in entries}
        missing = [k for k in ("table", "columns") if k not in keys]
        if missing:
            self.error("E103", node, f"references needs {' and '.join(missing)}:", t.obj)
            return None
        table = self.name(keys["table"].value, t.obj, "table name")
        schema = self.name(keys["schema"].value, t.obj, "schema name") if "schema" in keys else t.schema
        columns_node = keys["columns"].value
        items = (
            [columns_node]
            if is_text(columns_node)
            else self.sequence(columns_node, t.obj, "a list of column names")
        )
        if items is None or table is None or schema is None:
            return None
        columns = [self.text(i, t.obj, "column name") for i in items]
        if not columns or any(c is None for c in columns):
            self.error("E105", columns_node, "references needs at least one column", t.obj)
            return None
        return schema, table, tuple(c for c in columns if c is not None)

    def _indexes(self, t: _Table, node: yaml.Node) -> None:
        for item in self.sequence(node, t.obj, "a list of indexes") or []:
            index = self._index(t, item)
            if index is not None:
                t.indexes.append(index)

    def _index(self, t: _Table, node: yaml.Node) -> IndexSpec | None:
        obj = f"{t.obj}, index"
        entries = self.mapping(node, obj, INDEX_KEYS)
        if entries is None:
            return None
        keys = {e.key: e for e in entries}
        user_name = self.name(keys["name"].value, obj, "index name") if "name" in keys else None
        if user_name:
            obj = f"{t.obj}, index {user_name}"
        if "columns" not in keys:
            self.error("E103", node, "index needs columns:", obj)
            return None
        parsed = self._index_elements(t, keys["columns"].value, obj)
        unique = bool(self.flag(keys["unique"].value, obj, "unique")) if "unique" in keys else False
        using = "btree"
        if "using" in keys:
            using = self.choice(keys["using"].value, obj, "using", INDEX_METHODS) or "btree"
            if unique and using != "btree":
                self.error("E104", keys["using"].value, f"a unique index must use btree, not {using}", obj)
        where = None
        if "where" in keys:
            fragment = self.fragment(keys["where"].value, obj, "where")
            if fragment is not None:
                where = fragment[0]
                self._check_fragment_columns(t, keys["where"].value, fragment[1], obj)
        include: tuple[str, ...] = ()
        if "include" in keys:
            include = self._column_list(t, keys["include"].value, obj, "include") or ()
            if using not in INCLUDE_METHODS:
                self.error(
                    "E104",
                    keys["include"].key_node,
                    f"include needs a btree or gist index, not {using}",
                    obj,
                )
        storage = self.storage_params(keys["with"].value, obj) if "with" in keys else ()
        nulls_not_distinct = False
        if "nulls_not_distinct" in keys:
            nulls_not_distinct = bool(self.flag(keys["nulls_not_distinct"].value, obj,
                                                "nulls_not_distinct"))
            if nulls_not_distinct and not unique:
                self.error("E104", keys["nulls_not_distinct"].key_node,
                           "nulls_not_distinct needs a unique index", obj)
        if parsed is None:
            return None
        elements, name_keys = parsed
        columns = [e.column for e in elements if e.column and not e.opclass]
        self._check_indexable(t, columns, using, keys["columns"].value, obj)
        name = user_name or naming.index_name(t.name, name_keys)
        return IndexSpec(
            name=name,
            elements=elements,
            unique=unique,
            using=cast(IndexMethod, using),
            where=where,
            include=include,
            storage=storage,
            nulls_not_distinct=nulls_not_distinct,
            mark=self.mark(node),
        )

    def _check_indexable(
        self, t: _Table, columns: Sequence[str], using: str, node: yaml.Node | Mark, obj: str
    ) -> None:
        for name in columns:
            column = t.column(name)
            if column is not None:
                self._check_indexable_column(column, using, node, obj)

    def _check_indexable_column(
        self, column: ColumnSpec, using: str, node: yaml.Node | Mark, obj: str
    ) -> None:
        """Only types the index method has a default operator class for: PostgreSQL would
        refuse the others when the migration runs."""
        type_ = column.type
        if type_ == UNKNOWN_TYPE:
            return
        if type_.name == "json" and not type_.array_dims:
            self.error(
                "E104",
                node,
                f"column {column.name!r} is json, which cannot be indexed",
                obj,
                "use jsonb, which can",
            )
        elif (hint := self._method_refuses(type_, using)) is not None:
            self.error(
                "E104",
                node,
                f"{using} cannot index column {column.name!r} of type {type_.sql()}",
                obj,
                hint,
            )

    def _method_refuses(self, type_: TypeRef, using: str) -> str | None:
        """Why the index method has no default operator class for the type (None: it has).
        Checked against PostgreSQL 15 and 18; only the sure cases."""
        compound = bool(type_.array_dims) or type_.name == "jsonb"
        if using == "gin" and not (type_.array_dims or type_.name in GIN_TYPES):
            return "gin indexes arrays, jsonb and tsvector; use btree (the default) for this column"
        if using == "gist" and not type_.array_dims and type_.name in GIST_TYPES:
            return None
        if using == "gist" and (compound or not any(e.name == "btree_gist" for e in self.extensions)):
            return "gist has no operator class for it; use btree, or add the btree_gist extension"
        if using == "brin" and (compound or type_.name == "boolean"):
            return "brin needs an ordered scalar type; use btree or gin"
        return None

    def _index_elements(
        self, t: _Table, node: yaml.Node, obj: str
    ) -> tuple[tuple[IndexElement, ...], list[str]] | None:
        """The index keys, and the words its default name is made of."""
        items = self.sequence(node, obj, "a list of columns or {expression: ...}")
        if items is None:
            return None
        if not items:
            self.error("E105", node, "index needs at least one column", obj)
            return None
        elements: list[IndexElement] = []
        words: list[str] = []
        for item in items:
            if is_text(item):
                name = str(item.value)
                if name not in t.column_nodes:
                    self.error(
                        "E401",
                        item,
                        f"index names unknown column {name!r}",
                        obj,
                        did_you_mean(name, t.column_nodes),
                    )
                    continue
                elements.append(IndexElement(column=name))
                words.append(name)
                continue
            element = self._index_element(t, item, obj)
            if element is None:
                continue
            elements.append(element)
            if element.column is not None:
                words.append(element.column)
            else:
                words.extend(column_names(parse_fragment(element.expression or "")) or ["expr"])
        if len(elements) != len(items):
            return None
        return tuple(elements), words

    def _index_element(self, t: _Table, item: yaml.Node, obj: str) -> IndexElement | None:
        """`{column: a, order: desc, nulls: last, opclass: text_pattern_ops, collation: C}`,
        or the same with expression: instead of column:."""
        entries = self.mapping(item, obj, INDEX_ELEMENT_KEYS, "a column or {expression: ...}")
        if entries is None:
            return None
        keys = {e.key: e for e in entries}
        if ("column" in keys) == ("expression" in keys):
            self.error("E103", item, "index key needs column: or expression: (one of them)", obj)
            return None
        element = IndexElement()
        if "column" in keys:
            column = self.text(keys["column"].value, obj, "column")
            if column is None:
                return None
            if column not in t.column_nodes:
                self.error("E401", keys["column"].value, f"index names unknown column {column!r}",
                           obj, did_you_mean(column, t.column_nodes))
                return None
            element = replace(element, column=column)
        else:
            fragment = self.fragment(keys["expression"].value, obj, "expression")
            if fragment is None:
                return None
            self._check_fragment_columns(t, keys["expression"].value, fragment[1], obj)
            element = replace(element, expression=fragment[0])
        if "collation" in keys:
            element = replace(element, collation=self.name(keys["collation"].value, obj,
                                                           "collation"))
        if "opclass" in keys:
            element = replace(element, opclass=self.name(keys["opclass"].value, obj, "opclass"))
        if "order" in keys:
            order = self.choice(keys["order"].value, obj, "order", INDEX_ORDERS)
            element = replace(element, order="desc" if order == "desc" else None)
        if "nulls" in keys:
            nulls = self.choice(keys["nulls"].value, obj, "nulls", INDEX_NULLS)
            element = replace(element, nulls=cast(Literal["first", "last"] | None, nulls))
        if element.nulls == ("first" if element.order == "desc" else "last"):
            element = replace(element, nulls=None)  # PostgreSQL's default for that order
        return element

    def _exclusions(self, t: _Table, node: yaml.Node) -> None:
        """exclude: [{elements: [{column: room, operator: "="}, ...], using: gist, where: ...}]"""
        for item in self.sequence(node, t.obj, "a list of exclusion constraints") or []:
            exclusion = self._exclusion(t, item)
            if exclusion is not None:
                t.exclusions.append(exclusion)

    def _exclusion(self, t: _Table, node: yaml.Node) -> ExclusionSpec | None:
        obj = f"{t.obj}, exclusion constraint"
        entries = self.mapping(node, obj, EXCLUSION_KEYS)
        if entries is None:
            return None
        keys = {e.key: e for e in entries}
        user_name = self.name(keys["name"].value, obj, "constraint name") if "name" in keys else None
        if user_name:
            obj = f"{t.obj}, exclusion constraint {user_name}"
        if "elements" not in keys:
            self.error("E103", node, "exclusion constraint needs elements:", obj)
            return None
        using = "gist"
        if "using" in keys:
            using = self.choice(keys["using"].value, obj, "using", INDEX_METHODS) or "gist"
        where = None
        if "where" in keys:
            fragment = self.fragment(keys["where"].value, obj, "where")
            if fragment is not None:
                where = fragment[0]
                self._check_fragment_columns(t, keys["where"].value, fragment[1], obj)
        items = self.sequence(keys["elements"].value, obj, "a list of {column: ..., operator: ...}")
        if not items:
            if items is not None:
                self.error("E105", keys["elements"].value, "exclusion needs at least one element", obj)
            return None
        elements = []
        for item in items:
            entries = self.mapping(item, obj, EXCLUSION_ELEMENT_KEYS, "{column: ..., operator: ...}")
            operator_node = next((e.value for e in entries or [] if e.key == "operator"), None)
            if operator_node is None:
                if entries is not None:
                    self.error("E103", item, "exclusion element needs operator:", obj,
                               "e.g. {column: during, operator: '&&'}")
                continue
            operator = self.text(operator_node, obj, "operator")
            if operator is not None and not re.fullmatch(r"[+\-*/<>=~!@#%^&|`?]+", operator):
                self.error("E104", operator_node, f"{operator!r} is not an operator", obj,
                           "e.g. =, &&, <>")
                continue
            element = self._index_element(t, _without_key(item, "operator"), obj)
            if element is not None and operator is not None:
                elements.append((element, operator))
        if len(elements) != len(items):
            return None
        words = [e.column or "expr" for e, _ in elements]
        name = user_name or naming.exclusion_name(t.name, words)
        return ExclusionSpec(name, tuple(elements), cast(IndexMethod, using), where,
                             self.mark(node))

    def _checks(self, t: _Table, node: yaml.Node) -> None:
        entries = self.mapping(node, t.obj, None, "a mapping of check names to expressions", "check", "E304")
        for entry in entries or []:
            name = self.name(entry.key_node, t.obj, "check name")
            fragment = self.fragment(entry.value, f"{t.obj}, check {name}", "check")
            if fragment is None or name is None:
                continue
            self._check_fragment_columns(t, entry.value, fragment[1], f"{t.obj}, check {name}")
            t.checks.append(CheckSpec(name, fragment[0], self.mark(entry.key_node)))

    def _check_fragment_columns(self, t: _Table, node: yaml.Node, expression: Any, obj: str) -> None:
        for name in column_names(expression):
            if name not in t.column_nodes and name.lower() not in _SQL_NAMES:
                self.error(
                    "E401",
                    node,
                    f"expression uses unknown column {name!r}",
                    obj,
                    did_you_mean(name, t.column_nodes),
                )

    def _check_local_constraint_names(self, t: _Table) -> None:
        """Constraint names are unique per table (PK and unique also per schema, see pass 3)."""
        seen: dict[str, Mark] = {}
        named: list[tuple[str, Mark]] = []
        if t.primary_key:
            named.append((t.primary_key.name, t.primary_key.mark))
        named += [(u.name, u.mark) for u in t.uniques]
        named += [(f.name, f.mark) for f in t.foreign_keys]
        named += [(c.name, c.mark) for c in t.checks]
        named += [(x.name, x.mark) for x in t.exclusions]
        for name, mark in named:
            if name in seen:
                self.error(
                    "E304",
                    mark,
                    f"constraint name {name!r} is used twice in this table (also at {seen[name]})",
                    t.obj,
                    "give one of them another name with name:",
                )
            else:
                seen[name] = mark

    # ---- pass 3: across tables and files ---------------------------------------------------

    def _check_partitions(self) -> tuple[PartitionSpec, ...]:
        """Resolve each partition's parent (parents first), read its bound against the
        parent's partition key, and check what PostgreSQL refuses on partitioned tables."""
        tables = {(t.schema, t.name): t for t in self.tables}
        for t in self.tables:
            if t.partition_by is not None:
                self._check_partitioned(t, t.partition_by, t.partition_by_mark or t.mark, t.obj)
        done: dict[tuple[str, str], tuple[PartitionSpec, _Table]] = {}
        pending = list(self.partitions)
        while pending:
            left: list[_Partition] = []
            for p in pending:
                key = (p.parent_schema, p.parent)
                if key in tables:
                    root, parent_key, parent_obj = tables[key], tables[key].partition_by, \
                        tables[key].obj
                elif key in done:
                    parent_spec, root = done[key]
                    parent_key, parent_obj = parent_spec.partition_by, f"table {_qualified(*key)}"
                elif any((q.schema, q.name) == key for q in pending):
                    left.append(p)  # its parent is a partition read later
                    continue
                else:
                    self.error("E310", p.parent_node,
                               f"partition_of names unknown table {_qualified(*key)!r}", p.obj,
                               did_you_mean(p.parent, [name for _, name in tables]))
                    continue
                if parent_key is None:
                    self.error("E310", p.parent_node,
                               f"{parent_obj} is not partitioned, so it cannot have partitions",
                               p.obj, f"add partition_by: to {parent_obj}")
                    continue
                spec = self._partition_spec(p, root, parent_key)
                if spec is not None:
                    done[(p.schema, p.name)] = (spec, root)
            if len(left) == len(pending):
                for p in left:
                    self.error("E310", p.parent_node, "partition_of forms a cycle", p.obj)
                break
            pending = left
        self._check_default_partitions([spec for spec, _ in done.values()])
        return tuple(spec for spec, _ in done.values())

    def _partition_spec(self, p: _Partition, root: _Table,
                        parent_key: PartitionKey) -> PartitionSpec | None:
        self.file = p.mark.file
        bound = self._bound(p, parent_key)
        own_key = None
        if p.partition_by_node is not None:
            own_key = self._partition_key(root, p.partition_by_node, p.obj)
            if own_key is not None:  # the root's keys must cover this level's columns too
                self._check_partitioned(root, own_key, self.mark(p.partition_by_node), p.obj)
        if bound is None:
            return None
        return PartitionSpec(p.schema, p.name, p.parent_schema, p.parent, bound, own_key,
                             p.mark)

    def _bound(self, p: _Partition, key: PartitionKey) -> PartitionBound | None:
        node = p.values_node
        if is_text(node) and str(node.value) == "default":
            if key.strategy == "hash":
                self.error("E311", node, "a hash-partitioned table cannot have a default "
                           "partition (PostgreSQL refuses it)", p.obj,
                           "give it {modulus: m, remainder: r}")
                return None
            return PartitionBound("default")
        forms = {"range": ("from", "to"), "list": ("in",), "hash": ("modulus", "remainder")}
        written = {"range": "{from: ..., to: ...}", "list": "{in: [...]}",
                   "hash": "{modulus: m, remainder: r}"}
        entries = self.mapping(node, p.obj, ("from", "to", "in", "modulus", "remainder"),
                               "a bound like {from: ..., to: ...}, or default")
        if entries is None:
            return None
        keys = {e.key: e.value for e in entries}
        if set(keys) != set(forms[key.strategy]):
            self.error("E311", node, f"the parent is partitioned by {key.strategy}: a bound is "
                       f"{written[key.strategy]} or default", p.obj,
                       f"PostgreSQL: invalid bound specification for a {key.strategy} partition")
            return None
        count = len(key.elements)
        if key.strategy == "range":
            lower = self._bound_values(keys["from"], count, p.obj, "from", True)
            upper = self._bound_values(keys["to"], count, p.obj, "to", True)
            if lower is None or upper is None:
                return None
            return PartitionBound("range", lower=lower, upper=upper)
        if key.strategy == "list":
            items = ([keys["in"]] if is_text(keys["in"]) or is_null(keys["in"])
                     else self.sequence(keys["in"], p.obj, "a list of values"))
            if items is None:
                return None
            if not items:
                self.error("E105", keys["in"], "in: needs at least one value", p.obj)
                return None
            values = [self._bound_values(item, 1, p.obj, "in", False) for item in items]
            if any(v is None for v in values):
                return None
            return PartitionBound("list", values=tuple(v[0] for v in values if v))
        modulus, remainder = (self._whole(keys[k], p.obj, k) for k in ("modulus", "remainder"))
        if modulus is None or remainder is None:
            return None
        if modulus < 1 or not 0 <= remainder < modulus:
            self.error("E311", node, f"modulus {modulus}, remainder {remainder}: the modulus "
                       "must be at least 1 and the remainder from 0 to modulus - 1", p.obj)
            return None
        return PartitionBound("hash", modulus=modulus, remainder=remainder)

    def _whole(self, node: yaml.Node, obj: str, what: str) -> int | None:
        value = plain_value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            self.error("E102", node, f"{what} must be a whole number, found {kind_name(node)}",
                       obj)
            return None
        return value

    def _bound_values(self, node: yaml.Node, count: int, obj: str, what: str,
                      in_range: bool) -> tuple[str, ...] | None:
        """Each value as SQL: a quoted literal, a number, true/false, NULL (list partitions),
        or MINVALUE/MAXVALUE (range partitions)."""
        items = list(node.value) if isinstance(node, yaml.SequenceNode) else [node]
        if len(items) != count:
            self.error("E311", node, f"{what}: has {len(items)} value(s), the partition key has "
                       f"{count} column(s)", obj,
                       "a list of values, one per key column" if count > 1 else None)
            return None
        values: list[str] = []
        for item in items:
            if not isinstance(item, yaml.ScalarNode):
                self.error("E102", item, f"{what}: a value must be a number or text, found "
                           f"{kind_name(item)}", obj)
                return None
            value = plain_value(item)
            if value is None:
                if in_range:
                    self.error("E311", item, "a range bound cannot be NULL", obj,
                               "use MINVALUE or MAXVALUE for an open end")
                    return None
                values.append("NULL")
            elif isinstance(value, bool):
                values.append("true" if value else "false")
            elif isinstance(value, int | float):
                values.append(str(value))
            elif in_range and str(value).upper() in ("MINVALUE", "MAXVALUE"):
                values.append(str(value).upper())
            else:
                values.append(quote_literal(str(value)))
        return tuple(values)

    def _check_default_partitions(self, partitions: list[PartitionSpec]) -> None:
        seen: dict[tuple[str, str], PartitionSpec] = {}
        for p in partitions:
            if p.bound.strategy != "default":
                continue
            parent = (p.parent_schema, p.parent)
            if parent in seen:
                self.error("E311", p.mark, f"table {_qualified(*parent)} already has a default "
                           f"partition, {seen[parent].name} (at {seen[parent].mark})",
                           f"table {_qualified(p.schema, p.name)}")
            else:
                seen[parent] = p

    def _check_partitioned(self, t: _Table, key: PartitionKey, mark: Mark, obj: str) -> None:
        """What PostgreSQL refuses on a partitioned table: a primary key or unique
        constraint (or unique index) without every partition key column, any of them on an
        expression key, UNLOGGED, exclusion constraints (before PostgreSQL 17)."""
        columns = [e.column for e in key.elements if e.column is not None]
        expressions = len(columns) != len(key.elements)
        keys: list[tuple[str, tuple[str, ...], Mark]] = []
        if t.primary_key:
            keys.append(("primary key", t.primary_key.columns, t.primary_key.mark))
        keys += [("unique constraint", u.columns, u.mark) for u in t.uniques]
        keys += [("unique index", tuple(e.column or "" for e in i.elements), i.mark)
                 for i in t.indexes if i.unique]
        for kind, key_columns, where in keys:
            missing = [c for c in columns if c not in key_columns]
            if expressions:
                what = "PRIMARY KEY" if kind == "primary key" else "UNIQUE"
                self.error("E313", where, f"{kind} on a table partitioned by an expression: "
                           f"PostgreSQL refuses it (unsupported {what} constraint with "
                           "partition key definition)", obj,
                           "partition by columns, or leave the key out")
            elif missing:
                self.error("E313", where, f"{kind} ({', '.join(key_columns)}) does not include "
                           f"the partition key column(s) {', '.join(missing)}: PostgreSQL "
                           "refuses it (unique constraint on partitioned table must include "
                           "all partitioning columns)", obj,
                           f"add {', '.join(missing)} to the {kind}")
        if obj == t.obj:
            if t.unlogged:
                self.error("E313", mark, "a partitioned table cannot be unlogged", obj,
                           "set unlogged: on no partitioned table")
            for x in t.exclusions:
                self.error("E313", x.mark, "exclusion constraints on partitioned tables need "
                           "PostgreSQL 17 or later", obj)

    def _check_relation_names(self) -> None:
        """Tables, indexes, and PK/unique constraints (which are indexes) share one namespace
        per PostgreSQL schema; enums share the type namespace with tables' row types."""
        seen: dict[tuple[str, str], tuple[str, Mark]] = {}
        for t in self.tables:
            seen[(t.schema, t.name)] = (t.obj, t.mark)
        for p in self.partitions:
            seen[(p.schema, p.name)] = (p.obj, p.mark)
        for t in self.tables:
            named: list[tuple[str, str, Mark]] = []
            if t.primary_key:
                named.append((t.primary_key.name, "primary key", t.primary_key.mark))
            named += [(u.name, "unique constraint", u.mark) for u in t.uniques]
            named += [(i.name, "index", i.mark) for i in t.indexes]
            named += [(x.name, "exclusion constraint", x.mark) for x in t.exclusions]
            for name, kind, mark in named:
                key = (t.schema, name)
                if key in seen:
                    other, where = seen[key]
                    self.error(
                        "E304",
                        mark,
                        f"{kind} name {name!r} is already used by {other} (at {where})",
                        t.obj,
                        "PostgreSQL needs a unique name per schema; add name: to one of them",
                    )
                else:
                    seen[key] = (f"{_article(kind)} {kind} of {t.obj}", mark)
        for e in self.enums:
            table = next((t for t in self.tables if (t.schema, t.name) == (e.schema, e.name)), None)
            if table is not None:
                self.error(
                    "E307",
                    e.mark,
                    f"enum {e.name!r} has the name of table {table.name!r} (at {table.mark})",
                    f"enum {_qualified(e.schema, e.name)}",
                    "every table is also a type in PostgreSQL; rename the enum",
                )

    def _check_postgresql_limits(self) -> None:
        """PostgreSQL's hard limits and implicit names (spec/limits.py)."""
        relations: dict[tuple[str, str], str] = {}
        for t in self.tables:
            relations[(t.schema, t.name)] = f"table {t.name}"
            named = [i.name for i in t.indexes] + [u.name for u in t.uniques]
            named += [t.primary_key.name] if t.primary_key else []
            relations.update({(t.schema, n): f"an index of {t.obj}" for n in named})
        found = [p for t in self.tables for p in limits.table_limits(t.spec(), t.obj)]
        found += limits.sequence_clashes(((t.spec(), t.obj) for t in self.tables), relations)
        for p in found:
            self.error(p.code, p.mark, p.message, p.obj, p.hint)

    def _check_foreign_keys(self) -> None:
        by_name = {(t.schema, t.name): t for t in self.tables}
        for t in self.tables:
            for fk in t.foreign_keys:
                self._check_foreign_key(t, fk, by_name)

    def _check_foreign_key(
        self, t: _Table, fk: ForeignKeySpec, by_name: dict[tuple[str, str], _Table]
    ) -> None:
        obj = f"{t.obj}, foreign key {fk.name}"
        target = by_name.get((fk.ref_schema, fk.ref_table))
        if target is None:
            names = [n for s, n in by_name if s == fk.ref_schema]
            hint = did_you_mean(fk.ref_table, names)
            elsewhere = [s for s, n in by_name if n == fk.ref_table]
            if elsewhere:
                hint = f"table {fk.ref_table!r} is in schema {elsewhere[0]!r}: name that schema in references"
            self.error(
                "E402",
                fk.mark,
                f"references unknown table {_qualified(fk.ref_schema, fk.ref_table)!r}",
                obj,
                hint,
            )
            return
        if len(fk.ref_columns) != len(fk.columns):
            self.error(
                "E405",
                fk.mark,
                f"{len(fk.columns)} column(s) reference {len(fk.ref_columns)} column(s)",
                obj,
            )
            return
        ok = True
        for mine, theirs in zip(fk.columns, fk.ref_columns, strict=True):
            ok = self._check_fk_pair(t, target, mine, theirs, fk.mark, obj) and ok
        if ok and not _has_unique_key(target, fk.ref_columns):
            self.error(
                "E405",
                fk.mark,
                f"{target.obj} has no primary key or unique constraint on ({', '.join(fk.ref_columns)})",
                obj,
                "PostgreSQL can only reference a primary key or unique columns",
            )
        for action, label in ((fk.on_delete, "on_delete"), (fk.on_update, "on_update")):
            if action == "set null":
                for name in fk.columns:
                    column = t.column(name)
                    if column is not None and not column.nullable:
                        self.error(
                            "E405",
                            fk.mark,
                            f"{label}: set null, but column {name!r} is NOT NULL",
                            obj,
                            "add nullable: true, or choose another action",
                        )

    def _check_fk_pair(self, t: _Table, target: _Table, mine: str, theirs: str, mark: Mark, obj: str) -> bool:
        ref = target.column(theirs)
        if ref is None:
            self.error(
                "E403",
                mark,
                f"references unknown column {theirs!r} of {target.obj}",
                obj,
                did_you_mean(theirs, target.column_nodes),
            )
            return False
        column = t.column(mine)
        if column is None or UNKNOWN_TYPE in (column.type, ref.type):
            return False
        if column.type != ref.type:
            self.error(
                "E404",
                mark,
                f"column {mine!r} is {column.type.sql()} but {target.name}.{theirs} is {ref.type.sql()}",
                obj,
                f"make {mine!r} {ref.type.sql()}",
            )
            return False
        return True

    def _check_renames(self) -> None:
        self._check_rename_kind("table", [(t.schema, t.name, t.renamed_from) for t in self.tables])
        self._check_rename_kind("enum", [(e.schema, e.name, e.renamed_from) for e in self.enums])

    def _check_rename_kind(self, kind: str, items: list[tuple[str, str, str | None]]) -> None:
        existing = {(s, n) for s, n, _ in items}
        code = "E701" if kind == "table" else "E703"
        claimed: dict[tuple[str, str], str] = {}
        for schema, name, old in items:
            if old is None:
                continue
            mark = self.rename_marks[(kind, schema, name)]
            obj = f"{kind} {_qualified(schema, name)}"
            if (schema, old) in existing:
                self.error(
                    code,
                    mark,
                    f"renamed from {old!r}, but {kind} {old!r} still exists",
                    obj,
                    f"remove {kind} {old!r}, or drop renamed_from",
                )
            elif (schema, old) in claimed:
                self.error(
                    code,
                    mark,
                    f"{kind}s {claimed[(schema, old)]!r} and {name!r} are both renamed from {old!r}",
                    obj,
                )
            else:
                claimed[(schema, old)] = name


# Words that sqlglot reads as column names but PostgreSQL knows as values.
_SQL_NAMES = frozenset(
    {
        "current_user",
        "session_user",
        "current_role",
        "user",
        "current_catalog",
        "current_schema",
        "localtime",
        "localtimestamp",
        "current_date",
        "current_time",
        "current_timestamp",
        "true",
        "false",
        "null",
    }
)


def _without_key(node: yaml.Node, key: str) -> yaml.Node:
    """A mapping node without one of its keys (read separately)."""
    if not isinstance(node, yaml.MappingNode):
        return node
    return yaml.MappingNode(node.tag, [(k, v) for k, v in node.value
                                       if not (is_text(k) and k.value == key)],
                            node.start_mark, node.end_mark, node.flow_style)


def _is_false(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == BOOL_TAG and not plain_value(node)


def _has_unique_key(table: _Table, columns: tuple[str, ...]) -> bool:
    wanted = set(columns)
    keys = [table.primary_key.columns] if table.primary_key else []
    keys += [u.columns for u in table.uniques]
    keys += [
        tuple(e.column or "" for e in i.elements)
        for i in table.indexes
        if i.unique and i.where is None and all(e.column for e in i.elements)
    ]
    return any(set(k) == wanted for k in keys)


def _position(d: Any) -> tuple[str, int, int]:
    return (d.file or "", d.line or 0, d.column or 0)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
