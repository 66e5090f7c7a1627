"""PostgreSQL's hard limits and implicit names, checked on a validated schema.

Input: the tables of a schema being validated. Output: problems (code, mark, message,
object, hint) that PostgreSQL would otherwise report only when the migration runs. Every
number and name here is PostgreSQL's own (the same in versions 15 to 18):

- a table has at most 1,600 columns (MaxHeapAttributeNumber);
- an index, and so a primary key or unique constraint, has at most 32 keys, INCLUDE
  columns counted (INDEX_MAX_KEYS);
- tableoid, xmin, cmin, xmax, cmax and ctid are system columns of every table;
- an identity column owns a sequence named <table>_<column>_seq, which shares the
  namespace of tables and indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemactl.spec import naming
from schemactl.spec.types import Mark, TableSpec

MAX_COLUMNS = 1600
MAX_INDEX_KEYS = 32
SYSTEM_COLUMNS = frozenset({"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"})


@dataclass(frozen=True)
class Problem:
    code: str
    mark: Mark
    message: str
    obj: str
    hint: str | None = None


def system_column(name: str) -> str | None:
    """Why a column may not have this name (None: it may)."""
    if name.lower() in SYSTEM_COLUMNS and name == name.lower():
        return f"column name {name!r} is a system column of every PostgreSQL table"
    return None


def table_limits(table: TableSpec, obj: str) -> list[Problem]:
    """Columns per table and keys per index, primary key and unique constraint."""
    problems = []
    if len(table.columns) > MAX_COLUMNS:
        problems.append(Problem("E106", table.mark,
                                f"{len(table.columns)} columns; PostgreSQL allows {MAX_COLUMNS} "
                                "per table", obj, "split the table"))
    keyed: list[tuple[str, int, Mark]] = [
        (f"index {i.name}", len(i.elements) + len(i.include), i.mark) for i in table.indexes]
    keyed += [(f"unique {u.name}", len(u.columns), u.mark) for u in table.uniques]
    if table.primary_key is not None:
        keyed.append(("primary key", len(table.primary_key.columns), table.primary_key.mark))
    for what, count, mark in keyed:
        if count > MAX_INDEX_KEYS:
            problems.append(Problem("E106", mark,
                                    f"{what} has {count} keys; PostgreSQL allows {MAX_INDEX_KEYS} "
                                    "(INCLUDE columns count)", obj))
    return problems


def identity_sequence(table: str, column: str) -> str | None:
    """The name PostgreSQL gives an identity column's sequence (None when it would have to
    shorten it: then it picks a free name by itself)."""
    name = f"{table}_{column}_seq"
    return name if naming.fits(name) else None


def sequence_clashes(
    tables: Iterable[tuple[TableSpec, str]], relations: dict[tuple[str, str], str]
) -> list[Problem]:
    """Identity sequences whose implicit name is taken by a table, index or key.

    relations: (schema, name) -> what uses it, for every relation the schema creates.
    """
    problems = []
    for table, obj in tables:
        for column in table.columns:
            if not column.identity:
                continue
            name = identity_sequence(table.name, column.name)
            if name is not None and (table.schema, name) in relations:
                problems.append(Problem(
                    "E304", column.mark,
                    f"identity column {column.name!r} gets a sequence named {name!r}, which "
                    f"{relations[(table.schema, name)]} uses",
                    f"{obj}, column {column.name}",
                    "PostgreSQL names the sequence <table>_<column>_seq in the table's schema; "
                    "rename the other object"))
    return problems
