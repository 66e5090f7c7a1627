"""SchemaSpec: the validated, normalised schema. The one type between validate and compile.

Everything here is frozen and fully resolved: every constraint and index has its final
name (the naming convention is applied by validate), column shorthands (`unique: true`,
`references:`, `primary_key: true`) are lifted to table level, and types are in their
canonical spelling. Compile and inspect never need to know how the YAML spelled things.

`mark` fields say where an object was written (for diagnostics); they do not take part in
equality, so two specs that describe the same schema compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DEFAULT_SCHEMA = "public"

# A YAML literal default: quoted by the tool, never pasted as SQL.
LiteralValue = str | int | float | bool | list | dict  # list/dict only for json/jsonb/arrays
FkAction = Literal["cascade", "restrict", "no action", "set null", "set default"]
IndexMethod = Literal["btree", "gin", "gist", "brin", "hash"]


@dataclass(frozen=True)
class Mark:
    """A position in a YAML file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_MARK = Mark("<unknown>", 0, 0)


def _mark() -> Mark:
    return field(default=NO_MARK, compare=False, repr=False)


@dataclass(frozen=True)
class TypeRef:
    """A column type in canonical spelling.

    name: a built-in type (`varchar`, `numeric`, `timestamptz`, ...) or an enum's name;
    args: its modifiers ((50,) for varchar(50), (10, 2) for numeric(10,2));
    array_dims: 1 for `text[]`; enum_schema: set when name is an enum declared in the spec;
    fields: interval's fields (`day to second`); type_schema: the schema of an extension's
    type (citext, vector, ...) when the extension lives outside the default schema.
    """

    name: str
    args: tuple[int, ...] = ()
    array_dims: int = 0
    enum_schema: str | None = None
    fields: str | None = None
    type_schema: str | None = None

    @property
    def is_enum(self) -> bool:
        return self.enum_schema is not None

    def sql(self) -> str:
        """PostgreSQL spelling, e.g. varchar(50), numeric(10,2), text[], blog.post_status."""
        base = self.name
        schema = self.enum_schema or self.type_schema
        if schema and schema != DEFAULT_SCHEMA:
            base = f"{schema}.{self.name}"
        if self.fields:
            base += f" {self.fields}"
        if self.args:
            base += "(" + ",".join(str(a) for a in self.args) + ")"
        return base + "[]" * self.array_dims


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: TypeRef
    nullable: bool = False
    default: LiteralValue | None = None  # literal; mutually exclusive with default_sql
    default_sql: str | None = None  # one SQL expression, checked by sqlglot
    identity: Literal["by default", "always"] | None = None
    generated: str | None = None  # STORED generated column expression
    comment: str | None = None
    renamed_from: str | None = None
    collation: str | None = None  # COLLATE "C" (text, varchar and char)
    compression: Literal["pglz", "lz4"] | None = None  # None: the server's default
    storage: Literal["plain", "external", "extended", "main"] | None = None  # None: the type's
    # What existing rows get when the column becomes NOT NULL, or is added NOT NULL to a table
    # that holds rows (diff/online.py); never part of the schema itself.
    backfill: LiteralValue | None = None  # a literal; mutually exclusive with backfill_sql
    backfill_sql: str | None = None  # one SQL expression; may use the row's other columns
    mark: Mark = _mark()


@dataclass(frozen=True)
class PrimaryKeySpec:
    name: str
    columns: tuple[str, ...]
    deferrable: bool = False
    initially_deferred: bool = False
    mark: Mark = _mark()


@dataclass(frozen=True)
class UniqueSpec:
    name: str
    columns: tuple[str, ...]
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    mark: Mark = _mark()


@dataclass(frozen=True)
class IndexElement:
    """One key of an index: a column, or an expression (exactly one is set), with its
    options: collation, operator class, DESC and NULLS FIRST/LAST (None: the default)."""

    column: str | None = None
    expression: str | None = None
    collation: str | None = None
    opclass: str | None = None
    order: Literal["desc"] | None = None
    nulls: Literal["first", "last"] | None = None

    @property
    def has_options(self) -> bool:
        return any((self.collation, self.opclass, self.order, self.nulls))


# Storage parameters (WITH (...)) of an index or a table: (name, value as text), sorted.
StorageParams = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class IndexSpec:
    name: str
    elements: tuple[IndexElement, ...]
    unique: bool = False
    using: IndexMethod = "btree"
    where: str | None = None  # partial index predicate, one SQL expression
    include: tuple[str, ...] = ()
    storage: StorageParams = ()  # WITH (fillfactor = 70)
    nulls_not_distinct: bool = False  # unique: NULLs are equal to each other (PostgreSQL 15+)
    mark: Mark = _mark()


@dataclass(frozen=True)
class ForeignKeySpec:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: FkAction | None = None
    on_update: FkAction | None = None
    deferrable: bool = False
    initially_deferred: bool = False
    # Names of the ORM relationship pair that `schemactl models` generates for this key (None:
    # its default). Python-side only: not part of the database schema, hence not compared.
    relationship: str | None = field(default=None, compare=False)
    back_populates: str | None = field(default=None, compare=False)
    mark: Mark = _mark()


@dataclass(frozen=True)
class CheckSpec:
    name: str
    expression: str  # one SQL boolean expression, checked by sqlglot
    mark: Mark = _mark()


@dataclass(frozen=True)
class ExclusionSpec:
    """EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (...): no two rows whose keys
    all match under their operators."""

    name: str
    elements: tuple[tuple[IndexElement, str], ...]  # (key, operator)
    using: IndexMethod = "gist"
    where: str | None = None
    mark: Mark = _mark()


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: PrimaryKeySpec | None = None
    uniques: tuple[UniqueSpec, ...] = ()
    indexes: tuple[IndexSpec, ...] = ()
    foreign_keys: tuple[ForeignKeySpec, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
    comment: str | None = None
    renamed_from: str | None = None
    unlogged: bool = False
    storage: StorageParams = ()  # WITH (fillfactor = 70, autovacuum_enabled = false)
    exclusions: tuple[ExclusionSpec, ...] = ()
    partition_by: PartitionKey | None = None  # a partitioned table: PARTITION BY ...
    mark: Mark = _mark()

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.name == name), None)


PartitionStrategy = Literal["range", "list", "hash"]


@dataclass(frozen=True)
class PartitionKey:
    """PARTITION BY RANGE (at) / LIST (lower(city)) / HASH (id): keys are columns or
    {expression: ...} (an IndexElement without options)."""

    strategy: PartitionStrategy
    elements: tuple[IndexElement, ...]


@dataclass(frozen=True)
class PartitionBound:
    """FOR VALUES ... of a partition, each value as SQL text ('2024-01-01', 10, NULL,
    MINVALUE, MAXVALUE): FROM (lower) TO (upper) for range, IN (values) for list, WITH
    (MODULUS m, REMAINDER r) for hash; `default` for the DEFAULT partition."""

    strategy: PartitionStrategy | Literal["default"]
    lower: tuple[str, ...] = ()
    upper: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    modulus: int = 0
    remainder: int = 0


@dataclass(frozen=True)
class PartitionSpec:
    """A table that is a partition of another: it has its parent's columns, keys and
    indexes (PostgreSQL copies them), its bound, and its own PARTITION BY when it is
    itself partitioned (a sub-partition's parent)."""

    schema: str
    name: str
    parent_schema: str
    parent: str
    bound: PartitionBound
    partition_by: PartitionKey | None = None
    mark: Mark = _mark()

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class EnumValue:
    name: str
    renamed_from: str | None = None


@dataclass(frozen=True)
class EnumSpec:
    schema: str
    name: str
    values: tuple[EnumValue, ...]
    renamed_from: str | None = None
    mark: Mark = _mark()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.values)


@dataclass(frozen=True)
class ExtensionSpec:
    name: str
    schema: str | None = None  # None: the extension's own default
    version: str | None = None  # None: the server's default version of it
    mark: Mark = _mark()


@dataclass(frozen=True)
class SchemaSpec:
    """The whole desired schema, from every YAML file under schema/."""

    tables: tuple[TableSpec, ...] = ()
    enums: tuple[EnumSpec, ...] = ()
    extensions: tuple[ExtensionSpec, ...] = ()
    functions: tuple[FunctionSpec, ...] = ()  # and procedures
    views: tuple[ViewSpec, ...] = ()  # and materialized views
    triggers: tuple[TriggerSpec, ...] = ()
    declared_schemas: tuple[str, ...] = ()  # `schemas:` in the YAML: they exist, maybe empty
    # Partitions, parents before their own partitions (they are not in `tables`: they
    # declare no columns of their own).
    partitions: tuple[PartitionSpec, ...] = ()

    @property
    def schemas(self) -> tuple[str, ...]:
        """PostgreSQL namespaces used or declared, other than public, sorted."""
        names = {t.schema for t in self.tables} | {e.schema for e in self.enums}
        names |= {p.schema for p in self.partitions}
        names |= {f.schema for f in self.functions} | {v.schema for v in self.views}
        names |= {x.schema for x in self.extensions if x.schema} | set(self.declared_schemas)
        return tuple(sorted(names - {DEFAULT_SCHEMA}))

    def table(self, schema: str, name: str) -> TableSpec | None:
        return next((t for t in self.tables if t.schema == schema and t.name == name), None)

    def enum(self, schema: str, name: str) -> EnumSpec | None:
        return next((e for e in self.enums if e.schema == schema and e.name == name), None)


# ---- routines, views and triggers (spec/routines.py reads them; compile_routines.py makes
# their DDL). Bodies and queries are SQL text as the user wrote it: PostgreSQL's own printed
# form is what the diff compares, so formatting is never a change.

ArgMode = Literal["in", "out", "inout", "variadic"]
Volatility = Literal["volatile", "stable", "immutable"]


@dataclass(frozen=True)
class ArgumentSpec:
    type: str  # as PostgreSQL spells it: integer, text[], film, character varying
    name: str | None = None
    mode: ArgMode = "in"
    default: str | None = None  # one SQL expression


@dataclass(frozen=True)
class FunctionSpec:
    """A function (returns is set) or a procedure (returns is None)."""

    schema: str
    name: str
    arguments: tuple[ArgumentSpec, ...]
    returns: str | None  # integer, SETOF film, TABLE(a integer, b text), trigger, void
    body: str
    language: str = "sql"
    volatility: Volatility = "volatile"
    strict: bool = False
    security_definer: bool = False
    search_path: tuple[str, ...] | None = None  # SET search_path TO ...
    parallel: Literal["unsafe", "restricted", "safe"] = "unsafe"
    leakproof: bool = False
    cost: float | None = None  # None: PostgreSQL's default for the language
    rows: float | None = None  # None: PostgreSQL's default (1000 for a set)
    library: str | None = None  # LANGUAGE c: the object file; body is then the link symbol
    comment: str | None = None
    # False: the body is kept as it is, unchecked (PostgreSQL's check_function_bodies off),
    # for a database that holds a body PostgreSQL's grammar refuses.
    check_body: bool = True
    mark: Mark = _mark()

    @property
    def is_procedure(self) -> bool:
        return self.returns is None

    @property
    def kind(self) -> str:
        return "procedure" if self.is_procedure else "function"


@dataclass(frozen=True)
class ViewSpec:
    """A view, or a materialized view (with its indexes and WITH [NO] DATA)."""

    schema: str
    name: str
    query: str  # one SELECT (or VALUES) statement
    materialized: bool = False
    columns: tuple[str, ...] = ()  # names for the query's columns; () = the query's own
    check_option: Literal["local", "cascaded"] | None = None
    security_barrier: bool = False
    security_invoker: bool = False
    with_data: bool = True  # materialized only
    indexes: tuple[IndexSpec, ...] = ()  # materialized only
    comment: str | None = None
    mark: Mark = _mark()

    @property
    def kind(self) -> str:
        return "materialized view" if self.materialized else "view"


TriggerTiming = Literal["before", "after", "instead of"]
TriggerEvent = Literal["insert", "update", "delete", "truncate"]


@dataclass(frozen=True)
class TriggerSpec:
    schema: str  # the table's (or view's) schema: a trigger lives on it
    table: str
    name: str
    timing: TriggerTiming
    events: tuple[TriggerEvent, ...]
    function: str  # the function's name, schema-qualified where the YAML qualifies it
    for_each: Literal["row", "statement"] = "statement"
    columns: tuple[str, ...] = ()  # UPDATE OF these columns
    when: str | None = None  # one SQL boolean expression (OLD/NEW for row triggers)
    arguments: tuple[str, ...] = ()  # passed to the function as text (TG_ARGV)
    enabled: Literal["origin", "disabled", "replica", "always"] = "origin"
    comment: str | None = None
    constraint: bool = False  # CREATE CONSTRAINT TRIGGER (AFTER ... FOR EACH ROW)
    deferrable: bool = False  # constraint triggers only
    initially_deferred: bool = False
    old_table: str | None = None  # REFERENCING OLD TABLE AS (transition tables)
    new_table: str | None = None
    mark: Mark = _mark()
