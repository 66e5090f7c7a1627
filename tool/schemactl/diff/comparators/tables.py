"""Physical settings of tables and columns that Alembic does not compare: UNLOGGED, the
table's storage parameters (WITH (...)), a column's collation, compression and storage.

A new table gets its UNLOGGED, storage parameters and collations from create_table (see
compile.py); everything else, on new and existing tables alike, is one ALTER per setting
that differs from the baseline (a column that does not exist there yet has the defaults).
"""

from __future__ import annotations

from schemactl.diff.catalog import Catalog, ColumnInfo
from schemactl.diff.comparators import Steps
from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.sqltext import qualified, quote_ident

Params = tuple[tuple[str, str], ...]


def compare_tables(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    for key in sorted(current.tables & desired.tables):
        old_unlogged, new_unlogged = key in current.unlogged_tables, key in desired.unlogged_tables
        if old_unlogged != new_unlogged:
            steps.after.append(_persistence(key, new_unlogged))
        old, new = current.table_storage.get(key, ()), desired.table_storage.get(key, ())
        if old != new:
            steps.after.append(_storage(key, old, new))
    for column_key in sorted(desired.columns):
        steps.after += _column_settings(current.columns.get(column_key),
                                        desired.columns[column_key])
    for column_key in sorted(set(current.columns) - set(desired.columns)):
        steps.before += _restored_by_downgrade(current.columns[column_key])
    return steps


def _restored_by_downgrade(column: ColumnInfo) -> list[SqlStepOp]:
    """A dropped column (or a dropped table's) comes back in a downgrade from reflection,
    which knows nothing of compression and storage: this step does nothing on the way up,
    and sets them again once the downgrade has re-created the column."""
    alter = (f"ALTER TABLE {qualified(column.schema, column.table)} "
             f"ALTER COLUMN {quote_ident(column.name)}")
    restore = [f"{alter} SET {setting.upper()} {value.upper()}"
               for setting, value in (("compression", column.compression),
                                      ("storage", column.storage)) if value]
    if not restore:
        return []
    return [SqlStepOp([], restore, StepInfo(
        "alter", "column", column.schema, column.table, column.name,
        "compression and storage kept for a downgrade"))]


def _persistence(key: tuple[str, str], unlogged: bool) -> SqlStepOp:
    table = qualified(*key)
    return SqlStepOp(
        [f"ALTER TABLE {table} SET {'UNLOGGED' if unlogged else 'LOGGED'}"],
        [f"ALTER TABLE {table} SET {'LOGGED' if unlogged else 'UNLOGGED'}"],
        StepInfo("alter", "table", key[0], key[1], key[1],
                 "unlogged" if unlogged else "logged"))


def _with(params: Params) -> str:
    return ", ".join(f"{name} = {value}" for name, value in params)


def _set_storage(table: str, old: Params, new: Params) -> list[str]:
    """SET the new values, RESET what the new side no longer has."""
    statements = [f"ALTER TABLE {table} SET ({_with(new)})"] if new else []
    gone = sorted({name for name, _ in old} - {name for name, _ in new})
    if gone:
        statements.append(f"ALTER TABLE {table} RESET ({', '.join(gone)})")
    return statements


def _storage(key: tuple[str, str], old: Params, new: Params) -> SqlStepOp:
    table = qualified(*key)
    return SqlStepOp(_set_storage(table, old, new), _set_storage(table, new, old), StepInfo(
        "alter", "table", key[0], key[1], key[1],
        f"with ({_with(old) or 'defaults'}) -> ({_with(new) or 'defaults'})"))


def _column_settings(old: ColumnInfo | None, new: ColumnInfo) -> list[SqlStepOp]:
    table, column = qualified(new.schema, new.table), quote_ident(new.name)
    alter = f"ALTER TABLE {table} ALTER COLUMN {column}"
    steps = []
    # A new column gets its collation from ADD COLUMN / CREATE TABLE.
    if old is not None and old.collation != new.collation:
        def collate(info: ColumnInfo) -> str:
            # Said even when it is the default, so that the statement shows what it does.
            return f"{alter} TYPE {info.type} COLLATE {quote_ident(info.collation or 'default')}"
        steps.append(SqlStepOp([collate(new)], [collate(old)], StepInfo(
            "alter", "column", new.schema, new.table, new.name,
            f"collation {old.collation or '(default)'} -> {new.collation or '(default)'}")))
    # Back to the default: compression has DEFAULT, storage goes back to the type's own.
    defaults = {"compression": "default", "storage": new.type_storage or "extended"}
    for setting, default in defaults.items():
        before, after = (getattr(old, setting) if old else None), getattr(new, setting)
        if before != after:
            steps.append(SqlStepOp(
                [f"{alter} SET {setting.upper()} {(after or default).upper()}"],
                [f"{alter} SET {setting.upper()} {(before or default).upper()}"],
                StepInfo("alter", "column", new.schema, new.table, new.name,
                         f"{setting} {before or '(default)'} -> {after or '(default)'}")))
    return steps
