"""Compare an application's own SQLAlchemy MetaData (hand-written models) with the YAML:
(MetaData, SchemaSpec) -> list[ModelDifference], each with the file:line of the YAML side.

What is compared, per table: that it exists on both sides; UNLOGGED and its WITH (...)
storage parameters; each column's type (as PostgreSQL spells it, collation included),
nullability and server default (identity and generated columns included); the primary key;
unique constraints (columns, NULLS NOT DISTINCT, deferrability); foreign keys (by columns,
target and ON DELETE/UPDATE); exclusion constraints (keys, operators, method, predicate);
indexes (keys with their options, uniqueness, method, INCLUDE, WITH, NULLS NOT DISTINCT,
predicate). Not compared: names of constraints and indexes, CHECK constraints, comments,
the deferrability of primary and foreign keys, and column compression and storage (MetaData
has no place for them). Hand-written models rarely spell these, and a difference there
changes no query the application makes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.exc import CompileError

from schemactl.compile import compile_spec, server_default_sql
from schemactl.spec.types import DEFAULT_SCHEMA, NO_MARK, ColumnSpec, Mark, SchemaSpec, TableSpec
from schemactl.sqltext import balanced

# The base dialect with named parameters: a pyformat driver dialect would print % as %%.
_DIALECT = PGDialect(paramstyle="named")
# Spellings of one type that SQLAlchemy's generic types produce.
_SAME_TYPE = {"FLOAT": "DOUBLE PRECISION", "FLOAT(53)": "DOUBLE PRECISION", "FLOAT(24)": "REAL",
              "DOUBLE": "DOUBLE PRECISION", "TIMESTAMP": "TIMESTAMP WITHOUT TIME ZONE",
              "TIME": "TIME WITHOUT TIME ZONE"}


@dataclass(frozen=True)
class ModelDifference:
    mark: Mark  # where the YAML side is written (the table's mark for what the YAML lacks)
    object: str  # e.g. "table public.users, column email"
    message: str

    def __str__(self) -> str:
        where = f"{self.mark}: " if self.mark != NO_MARK else ""
        return f"{where}{self.object}: {self.message}"


def compare_models(app: sa.MetaData, spec: SchemaSpec) -> list[ModelDifference]:
    """Every difference between the application's tables and the YAML's."""
    expected = compile_spec(spec)
    app_tables = {_key(t): t for t in app.tables.values()}
    found: list[ModelDifference] = []
    for table in spec.tables:
        mine = app_tables.pop((table.schema, table.name), None)
        if mine is None:
            found.append(ModelDifference(table.mark, f"table {table.qualified_name}",
                                         "missing from the models"))
            continue
        found += _compare_table(table, mine, expected.tables[_sa_key(table)])
    found += [ModelDifference(NO_MARK, f"table {schema}.{name}", "in the models but not in the YAML")
              for schema, name in sorted(app_tables)]
    return found


def _key(table: sa.Table) -> tuple[str, str]:
    return (table.schema or DEFAULT_SCHEMA, table.name)


def _sa_key(table: TableSpec) -> str:
    return table.name if table.schema == DEFAULT_SCHEMA else table.qualified_name


# --- columns --------------------------------------------------------------------------------------

def _compare_table(table: TableSpec, app: sa.Table, yaml_table: sa.Table) -> list[ModelDifference]:
    found = []
    obj = f"table {table.qualified_name}"
    for column in table.columns:
        if column.name not in app.c:
            found.append(ModelDifference(column.mark, f"{obj}, column {column.name}",
                                         "missing from the models"))
            continue
        found += [ModelDifference(column.mark, f"{obj}, column {column.name}", m)
                  for m in _column_differences(column, app.c[column.name], yaml_table.c[column.name])]
    found += [ModelDifference(table.mark, f"{obj}, column {c.name}", "in the models but not in the YAML")
              for c in app.c if table.column(c.name) is None]
    return found + _compare_keys(table, app, yaml_table)


def type_sql(type_: Any) -> str:
    """A column type as PostgreSQL DDL spells it, one spelling per type."""
    try:
        text = str(type_.compile(dialect=_DIALECT))
    except CompileError as exc:
        return f"<{type_!r}: {exc}>"
    text = " ".join(text.upper().split())
    return _SAME_TYPE.get(text, text)


def _column_differences(spec: ColumnSpec, app: sa.Column[Any], yaml: sa.Column[Any]) -> list[str]:
    found = []
    want, have = type_sql(yaml.type), type_sql(app.type)
    if want != have:
        found.append(f"type is {have} in the models, {want} in the YAML")
    elif isinstance(yaml.type, sa.Enum) and list(yaml.type.enums) != list(getattr(app.type, "enums", [])):
        found.append(f"enum values are {list(getattr(app.type, 'enums', []))} in the models, "
                     f"{list(yaml.type.enums)} in the YAML")
    if app.nullable != spec.nullable:
        found.append(f"{_nullability(app.nullable)} in the models, "
                     f"{_nullability(spec.nullable)} in the YAML")
    want_default, have_default = _yaml_default(spec), _app_default(app)
    if _normal_sql(want_default) != _normal_sql(have_default):
        found.append(f"default is {have_default or 'none'} in the models, "
                     f"{want_default or 'none'} in the YAML")
    return found


def _nullability(nullable: bool | None) -> str:
    return "nullable" if nullable else "NOT NULL"


def _yaml_default(column: ColumnSpec) -> str | None:
    if column.identity:
        return f"identity ({column.identity})"
    if column.generated is not None:
        return f"generated as ({column.generated})"
    return server_default_sql(column)


def _sql_of(clause: Any) -> str:
    if isinstance(clause, str):
        return "'" + clause.replace("'", "''") + "'"
    if isinstance(clause, sa.TextClause):
        return clause.text
    return str(clause.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def _app_default(column: sa.Column[Any]) -> str | None:
    if column.identity is not None:
        return f"identity ({'always' if column.identity.always else 'by default'})"
    if column.computed is not None:
        return f"generated as ({_sql_of(column.computed.sqltext)})"
    default = column.server_default
    if isinstance(default, sa.DefaultClause):
        return _sql_of(default.arg)
    if _is_serial(column):
        return "serial (SQLAlchemy's autoincrement)"
    if column.default is not None:
        return "none in the database (only a Python-side default)"
    return None


def _is_serial(column: sa.Column[Any]) -> bool:
    """create_all makes a lone integer primary key without identity SERIAL."""
    table = column.table
    return (table is not None and column is table.autoincrement_column
            and isinstance(column.type, sa.Integer))


_CAST = re.compile(r"::[\w .\"\[\]]+")


def _normal_sql(text: str | None) -> str | None:
    """Compare defaults loosely: without casts, outer parentheses, case and spaces."""
    if text is None:
        return None
    text = _CAST.sub("", text).strip()
    while text.startswith("(") and text.endswith(")") and balanced(text[1:-1]):
        text = text[1:-1].strip()
    return " ".join(text.lower().split())



# --- keys and indexes ------------------------------------------------------------------------------

def _columns(constraint: Any) -> tuple[str, ...]:
    return tuple(c.name for c in constraint.columns)


def _action(action: str | None) -> str | None:
    return None if action is None or action.upper() == "NO ACTION" else action.upper()


def _fk_shape(fk: sa.ForeignKeyConstraint) -> tuple[Any, ...]:
    target = fk.elements[0].column.table
    return (_columns(fk), _key(target), tuple(e.column.name for e in fk.elements),
            _action(fk.ondelete), _action(fk.onupdate))


def _key_sql(element: Any) -> str | None:
    return element.name if isinstance(element, sa.Column) else _normal_sql(_sql_of(element))


def _storage(options: Any) -> tuple[tuple[str, str], ...]:
    """WITH (...) parameters, values as text (PostgreSQL keeps them as text)."""
    return tuple(sorted((str(k), str(v).lower()) for k, v in (options.get("with") or {}).items()))


def _index_shape(index: sa.Index) -> tuple[Any, ...]:
    keys = tuple(_key_sql(e) for e in index.expressions)
    pg = index.dialect_options["postgresql"]
    where = pg.get("where")
    return (keys, bool(index.unique), _normal_sql(_sql_of(where)) if where is not None else None,
            (pg.get("using") or "btree").lower(), tuple(str(getattr(c, "name", c))
                                                        for c in pg.get("include") or ()),
            _storage(pg), bool(pg.get("nulls_not_distinct")))


def _unique_shape(unique: sa.UniqueConstraint) -> tuple[Any, ...]:
    initially = (unique.initially or "").upper() == "DEFERRED"
    return (frozenset(_columns(unique)),
            bool(unique.dialect_options["postgresql"].get("nulls_not_distinct")),
            bool(unique.deferrable) or initially, initially)


def _exclusion_shape(constraint: Any) -> tuple[Any, ...]:
    # (key, column name, operator) per element; SQLAlchemy keeps no public list of them.
    elements = tuple((expr if isinstance(expr, str) else _key_sql(expr), str(op))
                     for expr, _, op in constraint._render_exprs)
    where = constraint.where
    return (elements, str(constraint.using).lower(),
            _normal_sql(_sql_of(where)) if where is not None else None)


def _describe_fk(shape: tuple[Any, ...]) -> str:
    columns, (schema, table), refs, on_delete, on_update = shape
    text = f"foreign key ({', '.join(columns)}) -> {schema}.{table} ({', '.join(refs)})"
    return text + (f" on delete {on_delete.lower()}" if on_delete else "") + (
        f" on update {on_update.lower()}" if on_update else "")


def _describe_index(shape: tuple[Any, ...]) -> str:
    keys, unique, where, using, include, storage, nulls_not_distinct = shape
    return (f"{'unique ' if unique else ''}index ({', '.join(str(k) for k in keys)})"
            + (f" using {using}" if using != "btree" else "")
            + (f" include ({', '.join(include)})" if include else "")
            + (" nulls not distinct" if nulls_not_distinct else "")
            + (f" with ({', '.join(f'{k}={v}' for k, v in storage)})" if storage else "")
            + (f" where {where}" if where else ""))


def _describe_unique(shape: tuple[Any, ...]) -> str:
    columns, nulls_not_distinct, deferrable, initially_deferred = shape
    return (f"unique ({', '.join(sorted(columns))})"
            + (" nulls not distinct" if nulls_not_distinct else "")
            + (" deferrable" if deferrable else "")
            + (" initially deferred" if initially_deferred else ""))


def _describe_exclusion(shape: tuple[Any, ...]) -> str:
    elements, using, where = shape
    keys = ", ".join(f"{key} with {op}" for key, op in elements)
    return f"exclude using {using} ({keys})" + (f" where {where}" if where else "")


def _table_options(table: sa.Table) -> tuple[Any, ...]:
    unlogged = any(str(p).upper() == "UNLOGGED" for p in table._prefixes)
    return (unlogged, _storage(table.dialect_options["postgresql"]))


def _compare_keys(table: TableSpec, app: sa.Table, yaml: sa.Table) -> list[ModelDifference]:
    obj = f"table {table.qualified_name}"
    found = []
    want_pk, have_pk = _columns(yaml.primary_key), _columns(app.primary_key)
    if set(want_pk) != set(have_pk):
        mark = table.primary_key.mark if table.primary_key else table.mark
        found.append(ModelDifference(mark, obj, f"primary key is ({', '.join(have_pk)}) in the "
                                                f"models, ({', '.join(want_pk)}) in the YAML"))
    marks = {frozenset(u.columns): u.mark for u in table.uniques}
    found += _compare_sets(
        obj, table.mark,
        {_unique_shape(c): marks.get(frozenset(_columns(c)), table.mark)
         for c in yaml.constraints if isinstance(c, sa.UniqueConstraint)},
        {_unique_shape(c) for c in app.constraints if isinstance(c, sa.UniqueConstraint)},
        _describe_unique)
    exclusion_marks = {x.name: x.mark for x in table.exclusions}
    found += _compare_sets(
        obj, table.mark,
        {_exclusion_shape(c): exclusion_marks.get(str(c.name), table.mark)
         for c in yaml.constraints if isinstance(c, ExcludeConstraint)},
        {_exclusion_shape(c) for c in app.constraints if isinstance(c, ExcludeConstraint)},
        _describe_exclusion)
    want_options, have_options = _table_options(yaml), _table_options(app)
    if want_options != have_options:
        found.append(ModelDifference(table.mark, obj, f"{_describe_options(have_options)} in the "
                                                      f"models, {_describe_options(want_options)} "
                                                      "in the YAML"))
    found += _compare_foreign_keys(table, app, yaml)
    index_marks = {i.name: i.mark for i in table.indexes}
    found += _compare_sets(
        obj, table.mark,
        {_index_shape(i): index_marks.get(str(i.name), table.mark) for i in yaml.indexes},
        {_index_shape(i) for i in app.indexes}, _describe_index)
    return found


def _describe_options(options: tuple[Any, ...]) -> str:
    unlogged, storage = options
    with_ = f" with ({', '.join(f'{k}={v}' for k, v in storage)})" if storage else ""
    return ("unlogged" if unlogged else "logged") + with_


def _compare_foreign_keys(table: TableSpec, app: sa.Table, yaml: sa.Table) -> list[ModelDifference]:
    """Foreign keys are paired by their columns, so that a changed target or action reads as
    one difference."""
    obj = f"table {table.qualified_name}"
    marks = {fk.columns: fk.mark for fk in table.foreign_keys}
    want = {_columns(fk): _fk_shape(fk) for fk in yaml.foreign_key_constraints}
    have = {_columns(fk): _fk_shape(fk) for fk in app.foreign_key_constraints}
    found = []
    for columns, shape in want.items():
        mark = marks.get(columns, table.mark)
        if columns not in have:
            found.append(ModelDifference(mark, obj, f"{_describe_fk(shape)} is missing from the models"))
        elif have[columns] != shape:
            found.append(ModelDifference(mark, obj, f"{_describe_fk(have[columns])} in the models, "
                                                    f"{_describe_fk(shape)} in the YAML"))
    found += [ModelDifference(table.mark, obj, f"{_describe_fk(shape)} is in the models but not in "
                                               "the YAML")
              for columns, shape in sorted(have.items()) if columns not in want]
    return found


def _compare_sets(obj: str, table_mark: Mark, want: dict[Any, Mark], have: Iterable[Any],
                  describe: Callable[[Any], str]) -> list[ModelDifference]:
    have = set(have)
    found = [ModelDifference(mark, obj, f"{describe(item)} is missing from the models")
             for item, mark in want.items() if item not in have]
    found += [ModelDifference(table_mark, obj, f"{describe(item)} is in the models but not in the YAML")
              for item in sorted(have - set(want), key=repr)]
    return found
