"""Compile a SchemaSpec into MetaData: the only place SQLAlchemy schema objects are built.

The MetaData is what Alembic autogenerate compares with the shadow database, so every
choice here aims at one property: a database created from this MetaData, compared with
it again, shows NO difference. Hence:
- objects in the `public` schema get schema=None (Alembic reflects the default schema as None);
- every constraint and index carries its final name from the spec, wrapped in `conv()` so
  that neither SQLAlchemy nor Alembic applies a naming convention on top of it;
- literal defaults are spelled the way PostgreSQL prints them back (pg_get_expr), so the
  comparison is a plain string match (dates and times excepted: PostgreSQL normalises
  '07:30' to '07:30:00', and only a server-side comparison sees they are equal);
- SQL fragments are pasted verbatim (literal_column), never parsed for bind parameters.

What SQLAlchemy has no object for (extensions, schemas, renames, enums no column uses)
is kept in metadata.info for plan (see INFO_* below).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.naming import conv
from sqlalchemy.types import TypeEngine
from sqlglot import exp

from schemactl.errors import SchemactlError
from schemactl.spec import naming
from schemactl.spec.typenames import BUILTINS, EXTENSION_TYPES
from schemactl.spec.types import (
    DEFAULT_SCHEMA,
    CheckSpec,
    ColumnSpec,
    EnumSpec,
    ExclusionSpec,
    ForeignKeySpec,
    IndexElement,
    IndexSpec,
    LiteralValue,
    PartitionBound,
    PartitionKey,
    PartitionSpec,
    SchemaSpec,
    TableSpec,
    TypeRef,
    UniqueSpec,
)
from schemactl.sqltext import qualified as qualified_table
from schemactl.sqltext import quote_ident
from schemactl.sqltypes import PgType

# Keys of metadata.info, read by plan.
INFO_SPEC = "schemactl_spec"  # the SchemaSpec itself
INFO_EXTENSIONS = "schemactl_extensions"  # tuple[ExtensionSpec, ...]: CREATE EXTENSION
INFO_AFTER_CREATE = "schemactl_after_create"  # list[str]: statements to run after create_all
INFO_SCHEMAS = "schemactl_schemas"  # tuple[str, ...]: CREATE SCHEMA (public excluded)
INFO_ENUMS = "schemactl_enums"  # dict[(schema, name), postgresql.ENUM], every enum, used or not
INFO_ENUM_RENAMES = "schemactl_enum_renames"  # dict[(schema, name), old name]
INFO_ENUM_VALUE_RENAMES = "schemactl_enum_value_renames"  # dict[(schema, name), {new: old}]
# dict[(schema, name), old name]. Not in Table.info: Alembic writes a table's info into
# every create_table of a revision file.
INFO_TABLE_RENAMES = "schemactl_table_renames"
# Key of Column.info (Alembic does not render column info).
INFO_RENAMED_FROM = "renamed_from"

EnumKey = tuple[str, str]  # (schema as written in the spec, name)


# --- naming convention ------------------------------------------------------------------------
# Every name is already final in the spec; the convention only matters for anything Alembic
# names on its own, and then it must agree with spec/naming.py (including its shortening).

def _column_names(constraint: Any) -> list[str]:
    return [c.name for c in constraint.columns]


def _index_keys(index: Any, table: Any) -> list[str]:
    return [getattr(e, "name", None) or "expr" for e in index.expressions]


NAMING_CONVENTION: dict[str, Any] = {
    "schemactl_pk": lambda c, t: naming.primary_key_name(t.name),
    "schemactl_uq": lambda c, t: naming.unique_name(t.name, _column_names(c)),
    "schemactl_fk": lambda c, t: naming.foreign_key_name(t.name, _column_names(c)),
    "schemactl_ix": lambda c, t: naming.index_name(t.name, _index_keys(c, t)),
    "pk": "%(schemactl_pk)s",
    "uq": "%(schemactl_uq)s",
    "fk": "%(schemactl_fk)s",
    "ix": "%(schemactl_ix)s",
    # no "ck": a check's name is its YAML key, used verbatim.
}


# --- SQL fragments ------------------------------------------------------------------------------

def sql_fragment(fragment: str) -> sa.ColumnElement[Any]:
    """A SQL fragment (default_sql, check, predicate, index expression) as written.

    literal_column, not text(): text() takes `:word` for a bind parameter, so `'a :b'` would
    become `'a NULL'`, and it drops the backslash of `\\:`. literal_column is pasted verbatim.
    """
    return sa.literal_column(fragment)


# --- types --------------------------------------------------------------------------------------

_SIMPLE_TYPES: dict[str, Callable[[], TypeEngine[Any]]] = {
    "smallint": postgresql.SMALLINT,
    "integer": postgresql.INTEGER,
    "bigint": postgresql.BIGINT,
    "real": postgresql.REAL,
    "double precision": postgresql.DOUBLE_PRECISION,
    "boolean": postgresql.BOOLEAN,
    "text": postgresql.TEXT,
    "date": postgresql.DATE,
    "uuid": postgresql.UUID,
    "json": postgresql.JSON,
    "jsonb": postgresql.JSONB,
    "bytea": postgresql.BYTEA,
    "inet": postgresql.INET,
    "cidr": postgresql.CIDR,
    "citext": postgresql.CITEXT,
    "macaddr": postgresql.MACADDR,
    "macaddr8": postgresql.MACADDR8,
    "money": postgresql.MONEY,
    "tsvector": postgresql.TSVECTOR,
    "tsquery": postgresql.TSQUERY,
    "oid": postgresql.OID,
    "regclass": postgresql.REGCLASS,
    "regconfig": postgresql.REGCONFIG,
    "hstore": postgresql.HSTORE,
    "int4range": postgresql.INT4RANGE,
    "int8range": postgresql.INT8RANGE,
    "numrange": postgresql.NUMRANGE,
    "tsrange": postgresql.TSRANGE,
    "tstzrange": postgresql.TSTZRANGE,
    "daterange": postgresql.DATERANGE,
    "int4multirange": postgresql.INT4MULTIRANGE,
    "int8multirange": postgresql.INT8MULTIRANGE,
    "nummultirange": postgresql.NUMMULTIRANGE,
    "tsmultirange": postgresql.TSMULTIRANGE,
    "tstzmultirange": postgresql.TSTZMULTIRANGE,
    "datemultirange": postgresql.DATEMULTIRANGE,
}


def _arg(args: tuple[int, ...], position: int) -> int | None:
    return args[position] if len(args) > position else None


# Types that take modifiers: (args) -> type.
_SIZED_TYPES: dict[str, Callable[[tuple[int, ...]], TypeEngine[Any]]] = {
    "varchar": lambda args: postgresql.VARCHAR(_arg(args, 0)),
    "char": lambda args: postgresql.CHAR(_arg(args, 0)),
    "numeric": lambda args: postgresql.NUMERIC(_arg(args, 0), _arg(args, 1)),
    "time": lambda args: postgresql.TIME(timezone=False, precision=_arg(args, 0)),
    "timetz": lambda args: postgresql.TIME(timezone=True, precision=_arg(args, 0)),
    "timestamp": lambda args: postgresql.TIMESTAMP(timezone=False, precision=_arg(args, 0)),
    "timestamptz": lambda args: postgresql.TIMESTAMP(timezone=True, precision=_arg(args, 0)),
    "bit": lambda args: postgresql.BIT(_arg(args, 0)),
    "varbit": lambda args: postgresql.BIT(_arg(args, 0), varying=True),
}


def _scalar_type(ref: TypeRef, enums: Mapping[EnumKey, postgresql.ENUM]) -> TypeEngine[Any]:
    if ref.enum_schema is not None:
        return enums[(ref.enum_schema, ref.name)]
    if ref.name == "interval":
        return postgresql.INTERVAL(precision=_arg(ref.args, 0), fields=ref.fields)
    if ref.type_schema is None and ref.name in _SIZED_TYPES:
        return _SIZED_TYPES[ref.name](ref.args)
    if ref.type_schema is None and ref.name in _SIMPLE_TYPES and not ref.args:
        return _SIMPLE_TYPES[ref.name]()
    if ref.name in BUILTINS or ref.name in EXTENSION_TYPES:
        # A type SQLAlchemy has no class for (xml, pg_lsn, point, ltree, vector(3), ...).
        return PgType(replace(ref, array_dims=0).sql())
    raise SchemactlError(f"cannot compile column type {ref.sql()!r}: not a supported type")


def column_type(ref: TypeRef, enums: Mapping[EnumKey, postgresql.ENUM]) -> TypeEngine[Any]:
    """The SQLAlchemy (postgresql dialect) type for a TypeRef; enums share one ENUM object."""
    scalar = _scalar_type(ref, enums)
    if ref.array_dims:
        # dimensions only for real multi-dimensional arrays: the catalog never records it,
        # and a reflected ARRAY has none.
        dims = ref.array_dims if ref.array_dims > 1 else None
        return postgresql.ARRAY(scalar, dimensions=dims)
    return scalar


def column_sa_type(column: ColumnSpec, enums: Mapping[EnumKey, postgresql.ENUM]) -> TypeEngine[Any]:
    """A column's type with its collation (COLLATE "C" in CREATE TABLE and ADD COLUMN)."""
    type_ = column_type(column.type, enums)
    if column.collation is not None and isinstance(type_, sa.String):
        type_.collation = column.collation
    return type_


# --- literal defaults ---------------------------------------------------------------------------
# PostgreSQL keeps a default as the expression it parsed and prints it back with pg_get_expr,
# labelling constants with their type except bare non-negative integers, numerics that look
# like decimals, and booleans. Spelling our defaults the same way makes them round-trip exactly.

_INT4 = (-(2**31), 2**31 - 1)
_INT8 = (-(2**63), 2**63 - 1)

# How format_type() names a type when it labels a constant (typmods are never shown there).
_LABELS = {
    "varchar": "character varying",
    "char": "bpchar",
    "time": "time without time zone",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "timetz": "time with time zone",
    "varbit": "bit varying",
}
_NUMBER_TYPES = {"smallint", "integer", "bigint", "numeric", "real", "double precision"}


def quote_literal(text: str) -> str:
    """A SQL string literal: 'it''s'. Backslashes stay as they are (standard_conforming_strings).
    Unlike sqltext.quote_literal, never E'': a default must be spelled as PostgreSQL prints it
    back, so that the next plan finds no change."""
    return "'" + text.replace("'", "''") + "'"


def _type_label(ref: TypeRef) -> str:
    """The type name PostgreSQL appends to a constant, e.g. character varying, blog.mood."""
    if ref.enum_schema is not None:
        # format_type() qualifies a type outside the search path; ours is the default one.
        name = quote_ident(ref.name)
        if ref.enum_schema == DEFAULT_SCHEMA:
            return name
        return f"{quote_ident(ref.enum_schema)}.{name}"
    return _LABELS.get(ref.name, ref.name)


def _number(value: int | float | Decimal) -> str:
    """A number as pg_get_expr prints the constant the parser made of it."""
    if isinstance(value, int) and _INT4[0] <= value <= _INT4[1]:
        return str(value) if value >= 0 else f"'{value}'::integer"
    if isinstance(value, int) and _INT8[0] <= value <= _INT8[1]:
        return f"'{value}'::bigint"
    # Anything else is parsed as numeric and printed in plain decimal notation.
    digits = format(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), "f")
    if digits[0].isdigit() and "." in digits:
        return digits
    return f"'{digits}'::numeric"


def _jsonb_sorted(value: Any) -> Any:
    """jsonb prints object keys shortest first, then bytewise; json keeps the text as written."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode("utf-8")), k.encode("utf-8")))
        return {k: _jsonb_sorted(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb_sorted(v) for v in value]
    return value


def _json_text(value: LiteralValue, jsonb: bool) -> str:
    if jsonb:
        value = _jsonb_sorted(value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


_ARRAY_PLAIN = re.compile(r'^[^{}",\\\s]+$')


def _array_element(value: Any, jsonb: bool) -> str:
    """One element as array_out writes it: bare when safe, else "double-quoted" with escapes.

    A list is a nested array (dimensions), a dict a json(b) element, None is NULL.
    """
    if isinstance(value, list):
        return "{" + ",".join(_array_element(v, jsonb) for v in value) + "}"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float)):
        return str(value)
    text = _json_text(value, jsonb) if isinstance(value, dict) else str(value)
    if _ARRAY_PLAIN.match(text) and text.upper() != "NULL":
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scalar_text(value: LiteralValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def literal_default_sql(value: LiteralValue, ref: TypeRef) -> str:
    """A YAML literal default as the SQL PostgreSQL stores and prints back for a column of ref.

    Values are quoted here, never pasted: `it's` becomes 'it''s'::text.
    """
    label = _type_label(ref)
    if ref.array_dims:
        items = value if isinstance(value, list) else [value]
        array = _array_element(items, jsonb=ref.name == "jsonb" and not ref.is_enum)
        return f"{quote_literal(array)}::{label}[]"
    if ref.name in ("json", "jsonb") and not ref.is_enum:
        return f"{quote_literal(_json_text(value, ref.name == 'jsonb'))}::{ref.name}"
    if ref.name == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    if (ref.name in _NUMBER_TYPES and isinstance(value, (int, float))
            and not isinstance(value, bool)):
        return _number(value)
    return f"{quote_literal(_scalar_text(value))}::{label}"


def _default_expression(fragment: str) -> str:
    """DEFAULT takes a restricted expression (b_expr): `now() AT TIME ZONE 'utc'` or an AND/IS
    needs parentheses. A plain call, literal or cast is left as written, which keeps Alembic's
    own default comparison (it runs `SELECT a = b`) quiet for `gen_random_uuid()`."""
    try:
        node = sqlglot.parse_one(fragment, read="postgres")
    except sqlglot.errors.ParseError:
        return f"({fragment})"
    operator = (exp.Binary, exp.Connector, exp.Predicate, exp.Unary)  # sqlglot makes these Funcs
    simple = (isinstance(node, (exp.Literal, exp.Paren, exp.Cast, exp.Column, exp.Boolean, exp.Null))
              or (isinstance(node, exp.Func) and not isinstance(node, operator)))
    return fragment if simple else f"({fragment})"


def index_expression_sql(fragment: str) -> str:
    """An index key that is not a column is a function call or a (parenthesised expression):
    `id + 1`, `c || 'x'` and `c::text` need the parentheses, `lower(c)` is kept as written
    (so it reads like PostgreSQL prints it back). The generated models use it too."""
    try:
        node = sqlglot.parse_one(fragment, read="postgres")
    except sqlglot.errors.ParseError:
        return f"({fragment})"
    operator = (exp.Binary, exp.Connector, exp.Predicate, exp.Unary, exp.Cast)
    call = isinstance(node, exp.Paren) or (isinstance(node, exp.Func) and not isinstance(node, operator))
    return fragment if call else f"({fragment})"


def server_default_sql(column: ColumnSpec) -> str | None:
    """The column's DEFAULT as SQL (default_sql or a quoted literal), or None. The generated
    models (render/models.py) use it too, so both create the same default."""
    if column.default_sql is not None:
        return _default_expression(column.default_sql)
    if column.default is not None:
        return literal_default_sql(column.default, column.type)
    return None


def fill_sql(column: ColumnSpec) -> str | None:
    """What existing rows get when the column becomes NOT NULL (or is added NOT NULL to a
    table with rows): backfill_sql, a backfill literal, else the default; None: nothing."""
    if column.backfill_sql is not None:
        return f"({column.backfill_sql})"
    if column.backfill is not None:
        return literal_default_sql(column.backfill, column.type)
    return server_default_sql(column)


def existing_row_fills(spec: SchemaSpec) -> dict[tuple[str, str, str], str]:
    """(schema, table, column) -> fill_sql, for every column that has one."""
    return {(table.schema, table.name, column.name): fill
            for table in spec.tables for column in table.columns
            if (fill := fill_sql(column)) is not None}


def stated_backfills(spec: SchemaSpec) -> set[tuple[str, str, str]]:
    """(schema, table, column) of the columns whose YAML says how existing rows are filled."""
    return {(table.schema, table.name, column.name) for table in spec.tables
            for column in table.columns
            if column.backfill is not None or column.backfill_sql is not None}


def _server_default(column: ColumnSpec) -> Any:
    if column.identity:
        return sa.Identity(always=column.identity == "always")
    if column.generated is not None:
        return sa.Computed(sql_fragment(column.generated), persisted=True)
    default = server_default_sql(column)
    return None if default is None else sql_fragment(default)


# --- schema objects -----------------------------------------------------------------------------

def _sa_schema(schema: str) -> str | None:
    # Alembic compares the default schema's objects under schema None; naming it "public"
    # would make autogenerate see every public table as dropped and re-added.
    return None if schema == DEFAULT_SCHEMA else schema


def _enum(spec: EnumSpec, metadata: sa.MetaData) -> postgresql.ENUM:
    # metadata= ties the type to the MetaData, so create_all creates it even when no column
    # uses it; diff/comparators/enums.py compares the types themselves.
    return postgresql.ENUM(
        *spec.labels, name=spec.name, schema=_sa_schema(spec.schema), metadata=metadata
    )


def _column(spec: ColumnSpec, enums: Mapping[EnumKey, postgresql.ENUM]) -> sa.Column[Any]:
    info = {INFO_RENAMED_FROM: spec.renamed_from} if spec.renamed_from else {}
    type_ = column_sa_type(spec, enums)
    args: list[Any] = [spec.name, type_]
    default = _server_default(spec)
    if isinstance(default, (sa.Identity, sa.Computed)):
        args.append(default)
        default = None
    return sa.Column(
        *args,
        nullable=spec.nullable,
        server_default=default,
        # Without this an integer primary key silently becomes SERIAL in create_all.
        autoincrement=bool(spec.identity),
        comment=spec.comment,
        info=info,
    )


def _ref_column(fk: ForeignKeySpec, column: str) -> str:
    target = f"{fk.ref_table}.{column}"
    return target if fk.ref_schema == DEFAULT_SCHEMA else f"{fk.ref_schema}.{target}"


def _action(action: str | None) -> str | None:
    # NO ACTION is PostgreSQL's default and reflects as None; spelling it out would be a diff.
    return None if action in (None, "no action") else str(action).upper()


def _foreign_key(fk: ForeignKeySpec) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        list(fk.columns),
        [_ref_column(fk, c) for c in fk.ref_columns],
        name=conv(fk.name),
        ondelete=_action(fk.on_delete),
        onupdate=_action(fk.on_update),
        deferrable=True if fk.deferrable or fk.initially_deferred else None,
        initially="DEFERRED" if fk.initially_deferred else None,
    )


def _check(check: CheckSpec) -> sa.CheckConstraint:
    return sa.CheckConstraint(sql_fragment(check.expression), name=conv(check.name))


def _exclusion(exclusion: ExclusionSpec) -> postgresql.ExcludeConstraint:
    where = sql_fragment(exclusion.where) if exclusion.where else None
    return postgresql.ExcludeConstraint(
        *[(_index_key(element), operator) for element, operator in exclusion.elements],
        name=conv(exclusion.name), using=exclusion.using, where=where)


def _deferrable(deferrable: bool, initially_deferred: bool) -> dict[str, Any]:
    """Constraint keywords; NOT DEFERRABLE is the default and reflects as nothing."""
    if not (deferrable or initially_deferred):
        return {}
    return {"deferrable": True, **({"initially": "DEFERRED"} if initially_deferred else {})}


def _unique(unique: UniqueSpec) -> sa.UniqueConstraint:
    options: dict[str, Any] = _deferrable(unique.deferrable, unique.initially_deferred)
    if unique.nulls_not_distinct:
        options["postgresql_nulls_not_distinct"] = True
    return sa.UniqueConstraint(*unique.columns, name=conv(unique.name), **options)


def _index_key(element: IndexElement) -> str | sa.ColumnElement[Any]:
    """A plain column by name; otherwise the key as SQL (index_key_sql)."""
    if element.column is not None and not element.has_options:
        return element.column
    return sql_fragment(index_key_sql(element))


def index_key_sql(element: IndexElement) -> str:
    """An index key as PostgreSQL's grammar writes it: `expr COLLATE "C" text_pattern_ops DESC
    NULLS LAST`. The generated models (render/models.py) spell their keys with it too."""
    parts = [quote_ident(element.column) if element.column is not None
             else index_expression_sql(element.expression or "")]
    if element.collation:
        parts.append(f"COLLATE {_qualified_name(element.collation)}")
    if element.opclass:
        parts.append(_qualified_name(element.opclass))
    if element.order:
        parts.append(element.order.upper())
    if element.nulls:
        parts.append(f"NULLS {element.nulls.upper()}")
    return " ".join(parts)


def _qualified_name(name: str) -> str:
    """`C` -> "C", `ext.my_ops` -> ext.my_ops: a collation or operator class, quoted."""
    return ".".join(quote_ident(part) for part in name.split(".", 1))


def _index(index: IndexSpec) -> sa.Index:
    elements = [_index_key(e) for e in index.elements]
    options: dict[str, Any] = {}
    if index.storage:
        options["postgresql_with"] = dict(index.storage)
    if index.nulls_not_distinct:
        options["postgresql_nulls_not_distinct"] = True
    if index.using != "btree":  # btree is the default and reflects as no option at all
        options["postgresql_using"] = index.using
    if index.where:
        options["postgresql_where"] = sql_fragment(index.where)
    if index.include:
        options["postgresql_include"] = list(index.include)
    return sa.Index(conv(index.name), *elements, unique=index.unique, **options)


def _table(
    spec: TableSpec, metadata: sa.MetaData, enums: Mapping[EnumKey, postgresql.ENUM]
) -> sa.Table:
    items: list[Any] = [_column(c, enums) for c in spec.columns]
    if spec.primary_key:
        pk = spec.primary_key
        items.append(sa.PrimaryKeyConstraint(*pk.columns, name=conv(pk.name),
                                             **_deferrable(pk.deferrable, pk.initially_deferred)))
    items += [_unique(u) for u in spec.uniques]
    items += [_foreign_key(fk) for fk in spec.foreign_keys]
    items += [_check(c) for c in spec.checks]
    items += [_index(i) for i in spec.indexes]
    items += [_exclusion(x) for x in spec.exclusions]
    options: dict[str, Any] = {}
    if spec.unlogged:
        options["prefixes"] = ["UNLOGGED"]
    if spec.storage:
        options["postgresql_with"] = dict(spec.storage)
    if spec.partition_by:
        options["postgresql_partition_by"] = partition_key_sql(spec.partition_by)
    return sa.Table(spec.name, metadata, *items, schema=_sa_schema(spec.schema),
                    comment=spec.comment, **options)


def partition_key_sql(key: PartitionKey) -> str:
    """`RANGE (at)`, `LIST ((lower(city)))`: what follows PARTITION BY."""
    elements = [quote_ident(e.column) if e.column is not None
                else index_expression_sql(e.expression or '') for e in key.elements]
    return f"{key.strategy.upper()} ({', '.join(elements)})"


def bound_sql(bound: PartitionBound) -> str:
    """`FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`, `FOR VALUES IN (1, 2)`,
    `FOR VALUES WITH (MODULUS 4, REMAINDER 0)` or `DEFAULT`."""
    if bound.strategy == "range":
        return f"FOR VALUES FROM ({', '.join(bound.lower)}) TO ({', '.join(bound.upper)})"
    if bound.strategy == "list":
        return f"FOR VALUES IN ({', '.join(bound.values)})"
    if bound.strategy == "hash":
        return f"FOR VALUES WITH (MODULUS {bound.modulus}, REMAINDER {bound.remainder})"
    return "DEFAULT"


def partition_sql(partition: PartitionSpec) -> str:
    """CREATE TABLE ... PARTITION OF ...: SQLAlchemy has no words for it."""
    sub = (f" PARTITION BY {partition_key_sql(partition.partition_by)}"
           if partition.partition_by else "")
    return (f"CREATE TABLE {qualified_table(partition.schema, partition.name)} PARTITION OF "
            f"{qualified_table(partition.parent_schema, partition.parent)} "
            f"{bound_sql(partition.bound)}{sub}")


def partitions_of(spec: SchemaSpec, table: TableSpec) -> list[PartitionSpec]:
    """The partitions under a table, its partitions' own partitions too, parents first."""
    under = {(table.schema, table.name)}
    found = []
    for partition in spec.partitions:  # validate puts parents first
        if (partition.parent_schema, partition.parent) in under:
            under.add((partition.schema, partition.name))
            found.append(partition)
    return found


def after_create_sql(spec: SchemaSpec, table: TableSpec) -> list[str]:
    """What creating a table takes besides CREATE TABLE and its indexes: its partitions,
    then its columns' compression and storage (the generated models run these from an
    after_create event; create_schema runs them after create_all, in the same order)."""
    return [partition_sql(p) for p in partitions_of(spec, table)] + column_settings_sql(table)


def column_settings_sql(table: TableSpec) -> list[str]:
    """What CREATE TABLE cannot say through SQLAlchemy: each column's compression and
    storage, set once the table exists (by create_schema; a plan compares catalogs)."""
    name = qualified_table(table.schema, table.name)
    statements = []
    for column in table.columns:
        alter = f"ALTER TABLE {name} ALTER COLUMN {quote_ident(column.name)}"
        if column.compression:
            statements.append(f"{alter} SET COMPRESSION {column.compression}")
        if column.storage:
            statements.append(f"{alter} SET STORAGE {column.storage.upper()}")
    return statements


def compile_spec(spec: SchemaSpec) -> sa.MetaData:
    """The MetaData for a validated SchemaSpec, with plan's extras in metadata.info."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    enums = {(e.schema, e.name): _enum(e, metadata) for e in spec.enums}
    for table in spec.tables:
        _table(table, metadata, enums)
    metadata.info[INFO_SPEC] = spec
    # Partitions (parents first) once their parents exist; then what CREATE TABLE cannot say.
    metadata.info[INFO_AFTER_CREATE] = [partition_sql(p) for p in spec.partitions] + [
        sql for t in spec.tables for sql in column_settings_sql(t)]
    metadata.info[INFO_EXTENSIONS] = spec.extensions
    metadata.info[INFO_SCHEMAS] = spec.schemas
    metadata.info[INFO_ENUMS] = enums
    metadata.info[INFO_TABLE_RENAMES] = {
        (t.schema, t.name): t.renamed_from for t in spec.tables if t.renamed_from
    }
    metadata.info[INFO_ENUM_RENAMES] = {
        (e.schema, e.name): e.renamed_from for e in spec.enums if e.renamed_from
    }
    metadata.info[INFO_ENUM_VALUE_RENAMES] = {
        (e.schema, e.name): {v.name: v.renamed_from for v in e.values if v.renamed_from}
        for e in spec.enums
        if any(v.renamed_from for v in e.values)
    }
    return metadata
