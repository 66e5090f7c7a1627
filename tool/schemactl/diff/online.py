"""ops -> the same ops in lock-safe forms, for tables that exist (and may be busy).

Input: the UpgradeOps of a plan. Output: the same UpgradeOps where each step on a table
that the revision does not create itself takes the form that lets the application go on:

- CREATE INDEX / DROP INDEX -> CONCURRENTLY (run outside a transaction), with IF NOT EXISTS
  / IF EXISTS: such a statement commits by itself before apply can record its group, so a
  run that stops in between runs it again (PostgreSQL's "already exists, skipping" notice
  is shown, not hidden);
- ADD UNIQUE / PRIMARY KEY -> a unique index built concurrently (IF NOT EXISTS, as above),
  then ADD CONSTRAINT ... USING INDEX (catalog only);
- ADD FOREIGN KEY / CHECK -> ADD ... NOT VALID (catalog only), then VALIDATE CONSTRAINT
  (a scan that lets reads and writes go on, in a transaction of its own);
- SET NOT NULL -> a CHECK (col IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL (which then
  skips its scan), and the helper check dropped; the existing rows are filled first, in
  batches, when the YAML says how (backfill, backfill_sql, or the default);
- ADD COLUMN ... NOT NULL without a default, on a table that may hold rows: added nullable,
  filled in batches, then NOT NULL as above (when the YAML says how to fill it);
- ADD COLUMN ... DEFAULT <volatile> (gen_random_uuid(), clock_timestamp(), nextval(...)),
  which would rewrite the table: added without it, SET DEFAULT, filled in batches.

Both directions of each step are rewritten, so the downgrade is as safe as the upgrade.
Which statements then need a transaction of their own is decided by diff/groups.py from
the lock model, when the revision is rendered. A plan made with --atomic skips this stage.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Set
from dataclasses import replace
from typing import TypeVar

from alembic.operations import ops
from sqlalchemy import DefaultClause

from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.plan.locks import by_key, classify, is_volatile
from schemactl.spec.types import DEFAULT_SCHEMA
from schemactl.sqltext import qualified, quote_ident, quote_literal

_NAME = r'(?:"(?:[^"]|"")+"|[^\s."(]+)'
_QUALIFIED = rf"{_NAME}(?:\.{_NAME})?"
# A named index (IF NOT EXISTS needs the name), or an unnamed one (CONCURRENTLY only).
_CREATE_INDEX = re.compile(
    rf"^CREATE (UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(?P<named>(?={_NAME} ON ))?")
_DROP_INDEX = re.compile(rf"^DROP INDEX (?:CONCURRENTLY )?(?:IF EXISTS )?(?={_QUALIFIED}$)")
_ADD_CONSTRAINT = re.compile(
    rf"^ALTER TABLE (?P<table>{_QUALIFIED}) ADD CONSTRAINT (?P<name>{_NAME}) "
    r"(?P<kind>FOREIGN KEY|CHECK|UNIQUE|PRIMARY KEY)\s*(?P<rest>.*)$", re.DOTALL)
# What a unique index can say of a UNIQUE or PRIMARY KEY constraint, and what stays with
# the constraint; anything else (WITH, USING INDEX TABLESPACE, ...) keeps the blocking form.
_KEY_BODY = re.compile(
    r"^(?P<nulls>NULLS NOT DISTINCT\s*)?(?P<columns>\([^()]*\))"
    r"(?P<include>\s+INCLUDE\s*\([^()]*\))?"
    r"(?P<deferrable>\s+(?:NOT )?DEFERRABLE(?:\s+INITIALLY (?:DEFERRED|IMMEDIATE))?)?$")

Container = TypeVar("Container", ops.UpgradeOps, ops.DowngradeOps)

Fills = Mapping[tuple[str, str, str], str]  # (schema, table, column) -> SQL for existing rows
BATCH_PAGES = 1000  # pages of the table per backfill transaction (8 MB with 8 kB pages)


def lock_safe(container: Container, fills: Fills | None = None,
              backfilled: Set[tuple[str, str, str]] = frozenset(),
              partitioned: Set[tuple[str, str]] = frozenset()) -> Container:
    """`fills`: what existing rows of a column get (compile.existing_row_fills);
    `backfilled`: the columns whose fill the YAML states (backfill, backfill_sql), which
    a new column's default does not replace; `partitioned`: the partitioned tables (before
    or after), where PostgreSQL refuses a concurrent index build or drop and a NOT VALID
    foreign key: their indexes, keys and foreign keys keep the blocking form (the plan's
    LK hazard says why)."""
    created = {(op.schema or DEFAULT_SCHEMA, op.table_name) for op in container.ops
               if isinstance(op, ops.CreateTableOp)}
    result: list[ops.MigrateOperation] = []
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            table = (op.schema or DEFAULT_SCHEMA, op.table_name)
            if table not in created:
                op.ops = [safe for inner in op.ops
                          for safe in _safe_op(inner, fills or {}, backfilled, table in partitioned)]
            result.append(op)
        elif isinstance(op, SqlStepOp) and _on_existing_table(op, created):
            on_parent = op.step is not None and (op.step.schema, op.step.table) in partitioned
            result += _safe_op(op, fills or {}, backfilled, on_parent)
        else:
            result.append(op)
    return type(container)(_defaults_before_fills(result))


def filled_in_place(container: Container, fills: Fills,
                    backfilled: Set[tuple[str, str, str]] = frozenset()) -> Container:
    """For --atomic plans: a column that becomes NOT NULL gets its existing rows filled by
    one UPDATE just before, in the revision's one transaction (its new default first); a
    new column whose YAML says how existing rows are filled (backfill, backfill_sql) is
    added nullable, filled by one UPDATE, then made NOT NULL, in that same transaction."""
    for op in container.ops:
        if not isinstance(op, ops.ModifyTableOps):
            continue
        steps: list[ops.MigrateOperation] = []
        for inner in op.ops:
            if isinstance(inner, ops.AddColumnOp):
                steps += _added_and_filled(inner, fills, backfilled)
                continue
            key = (op.schema or DEFAULT_SCHEMA, op.table_name,
                   getattr(inner, "column_name", ""))
            if isinstance(inner, ops.AlterColumnOp) and inner.modify_nullable is False \
                    and key in fills:
                table, column = qualified(op.schema, op.table_name), quote_ident(key[2])
                steps.append(SqlStepOp(
                    [f"UPDATE {table} SET {column} = {fills[key]} WHERE {column} IS NULL"], [],
                    StepInfo("alter", "column", key[0], op.table_name, key[2],
                             f"existing rows = {fills[key]}")))
            steps.append(inner)
        op.ops = steps
    return type(container)(_defaults_before_fills(list(container.ops)))


def _added_and_filled(op: ops.AddColumnOp, fills: Fills,
                      backfilled: Set[tuple[str, str, str]]) -> list[ops.MigrateOperation]:
    """The --atomic form of a new column the YAML fills (or that is NOT NULL without a
    default, and has a fill): ADD COLUMN (nullable, no default), SET DEFAULT, UPDATE, SET
    NOT NULL. One ADD COLUMN ... NOT NULL would fail on a table with rows, and one with a
    DEFAULT would give existing rows the default instead of what the YAML says."""
    column = op.column
    key = (op.schema or DEFAULT_SCHEMA, op.table_name, column.name)
    default = column.server_default
    plain = column.identity is None and column.computed is None
    stated = key in backfilled
    if not plain or key not in fills or not (stated or (not column.nullable and default is None)):
        return [op]
    fill = fills[key]
    bare = column._copy()
    bare.nullable, bare.server_default = True, None
    steps: list[ops.MigrateOperation] = [ops.AddColumnOp(op.table_name, bare, schema=op.schema)]
    table, name = qualified(op.schema, op.table_name), quote_ident(column.name)
    alter = f"ALTER TABLE {table} ALTER COLUMN {name}"
    if isinstance(default, DefaultClause):
        expression = str(default.arg)
        steps.append(SqlStepOp([f"{alter} SET DEFAULT {expression}"], [f"{alter} DROP DEFAULT"],
                               StepInfo("alter", "column", key[0], op.table_name, column.name,
                                        f"default -> {expression}")))
    update = f"UPDATE {table} SET {name} = {fill} WHERE {name} IS NULL"
    if column.nullable:
        steps.append(SqlStepOp([update], [], StepInfo(
            "alter", "column", key[0], op.table_name, column.name, f"existing rows = {fill}")))
        return steps
    steps.append(SqlStepOp([update, f"{alter} SET NOT NULL"], [f"{alter} DROP NOT NULL"],
                           StepInfo("alter", "column", key[0], op.table_name, column.name,
                                    f"NOT NULL, existing rows = {fill}")))
    return steps


def _defaults_before_fills(result: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
    """A column's new default is set before its existing rows are filled: a row the
    application inserts meanwhile gets it too, instead of a NULL the NOT NULL would refuse."""
    defaults = {_column_of(op): op for op in _all(result)
                if isinstance(op, SqlStepOp) and op.step is not None
                and op.step.kind == "column" and op.step.detail.startswith("default")}
    moved: set[int] = set()
    passed: set[int] = set()  # already placed where they were (before the fill: fine)

    def place(items: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
        placed: list[ops.MigrateOperation] = []
        for op in items:
            if isinstance(op, ops.ModifyTableOps):
                op.ops = place(op.ops)
            elif id(op) in moved:
                continue
            elif _fills(op) and _column_of(op) in defaults:
                default = defaults.pop(_column_of(op))
                if id(default) not in passed:
                    moved.add(id(default))
                    placed.append(default)
            passed.add(id(op))
            placed.append(op)
        return placed

    return place(result)


def _all(items: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
    return [inner for op in items
            for inner in (op.ops if isinstance(op, ops.ModifyTableOps) else [op])]


def _column_of(op: ops.MigrateOperation) -> tuple[str, str | None, str] | None:
    step = op.step if isinstance(op, SqlStepOp) else None
    return (step.schema, step.table, step.name) if step is not None else None


def _fills(op: ops.MigrateOperation) -> bool:
    return isinstance(op, SqlStepOp) and op.step is not None and \
        "existing rows = " in op.step.detail


def _on_existing_table(op: SqlStepOp, created: set[tuple[str, str]]) -> bool:
    step = op.step
    return step is not None and step.table is not None and (step.schema, step.table) not in created


def _safe_op(op: ops.MigrateOperation, fills: Fills, backfilled: Set[tuple[str, str, str]],
             partitioned: bool = False) -> list[ops.MigrateOperation]:
    if isinstance(op, SqlStepOp) and op.step is not None and op.step.replaces:
        # A changed index or constraint is dropped and made again under the same name. In
        # the safe forms each half would commit on its own, leaving the table without it
        # (no uniqueness, no foreign key) meanwhile, and with neither if the build fails:
        # the blocking form keeps both in one transaction, and its LK hazard says so.
        return [op]
    if isinstance(op, SqlStepOp):
        return [SqlStepOp(safe_statements(op.statements, partitioned),
                          safe_statements(op.reverse_statements, partitioned), op.step)]
    if isinstance(op, ops.AddColumnOp):
        return _added_column(op, fills, backfilled)
    if isinstance(op, ops.AlterColumnOp) and op.modify_nullable is not None:
        key = (op.schema or DEFAULT_SCHEMA, op.table_name, op.column_name)
        step = _nullability(op.schema, op.table_name, op.column_name, not op.modify_nullable,
                            fills.get(key))
        op.modify_nullable = None
        untouched = (op.modify_comment is False and op.modify_server_default is False
                     and op.modify_name is None and op.modify_type is None)
        return [step] if untouched else [step, op]
    return [op]


def safe_statements(statements: list[str], partitioned: bool = False) -> list[str]:
    """Each statement in its lock-safe form (statements already safe are kept as they are).
    On a partitioned table only checks and NOT NULL have one PostgreSQL accepts."""
    safe = [form for statement in statements
            for form in (_safe_on_partitioned(statement) if partitioned
                         else _safe_statement(statement))]
    return _not_null_proven_first(safe)


_SET_NOT_NULL = re.compile(
    rf"^ALTER TABLE (?P<table>{_QUALIFIED}) ALTER COLUMN (?P<column>{_NAME}) SET NOT NULL$")


def _not_null_proven_first(statements: list[str]) -> list[str]:
    """A SET NOT NULL within another step (a nullable column made an identity column, which
    PostgreSQL allows only on a NOT NULL column) would scan the table under ACCESS
    EXCLUSIVE. The helper check is added NOT VALID and validated at the start of the step,
    before anything else of it (a default it drops still fills inserts meanwhile), and SET
    NOT NULL, where it was, then skips its scan; the helper is dropped right after it."""
    result = list(statements)
    for statement in statements:
        match = _SET_NOT_NULL.match(statement)
        index = result.index(statement)
        if match is None or classify(statement, result[:index]) != by_key("set not null"):
            continue
        table, column = match["table"], match["column"]
        helper = quote_ident(_helper_name(_unquoted(table.rpartition(".")[2]),
                                          _unquoted(column)))
        result[index:index + 1] = [statement, f"ALTER TABLE {table} DROP CONSTRAINT {helper}"]
        result[:0] = [
            f"ALTER TABLE {table} ADD CONSTRAINT {helper} CHECK ({column} IS NOT NULL) NOT VALID",
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {helper}"]
    return result


def _unquoted(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _safe_on_partitioned(statement: str) -> list[str]:
    match = _ADD_CONSTRAINT.match(statement)
    if match is not None and match.group("kind") == "CHECK":
        return _safe_statement(statement)
    return [statement]


def _safe_statement(statement: str) -> list[str]:
    # IF [NOT] EXISTS: each runs again after a run that stopped before recording it.
    if _CREATE_INDEX.match(statement):
        return [_CREATE_INDEX.sub(
            lambda m: f"CREATE {m.group(1) or ''}INDEX CONCURRENTLY "
                      + ("IF NOT EXISTS " if m.group("named") is not None else ""),
            statement, count=1)]
    if _DROP_INDEX.match(statement):
        return [_DROP_INDEX.sub("DROP INDEX CONCURRENTLY IF EXISTS ", statement, count=1)]
    match = _ADD_CONSTRAINT.match(statement)
    if match is None or re.search(r"\bNOT VALID\s*$", statement):
        return [statement]
    table, name, kind, rest = match.group("table", "name", "kind", "rest")
    if kind in ("FOREIGN KEY", "CHECK"):
        return [f"{statement} NOT VALID", f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}"]
    key = _KEY_BODY.match(rest.strip())
    if key is None:
        return [statement]
    # The index takes the constraint's name, in the table's schema, where USING INDEX
    # looks for it; the constraint then owns it.
    index_body = key["columns"] + (key["include"] or "") + (
        " NULLS NOT DISTINCT" if key["nulls"] else "")
    return [f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} {index_body}",
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {name}"
            f"{key['deferrable'] or ''}"]


def _added_column(op: ops.AddColumnOp, fills: Fills,
                  backfilled: Set[tuple[str, str, str]]) -> list[ops.MigrateOperation]:
    """A NOT NULL column without a default, a column with a volatile default, or one whose
    YAML says how existing rows are filled: added nullable and without its default, the
    default set apart, the rows filled in batches, then NOT NULL."""
    column = op.column
    default = column.server_default
    expression = str(default.arg) if isinstance(default, DefaultClause) else None
    volatile = expression is not None and is_volatile(expression)
    plain = column.identity is None and column.computed is None
    key = (op.schema or DEFAULT_SCHEMA, op.table_name, column.name)
    if key in backfilled and plain:
        fill = fills.get(key)
    elif volatile:
        fill = expression
    elif not column.nullable and default is None and plain:
        fill = fills.get(key)
    else:
        fill = None
    if fill is None:
        return [op]
    bare = column._copy()
    bare.nullable, bare.server_default = True, None
    steps: list[ops.MigrateOperation] = [ops.AddColumnOp(op.table_name, bare, schema=op.schema)]
    if expression is not None:
        alter = f"ALTER TABLE {qualified(op.schema, op.table_name)} ALTER COLUMN " \
                f"{quote_ident(column.name)}"
        steps.append(SqlStepOp([f"{alter} SET DEFAULT {expression}"], [f"{alter} DROP DEFAULT"],
                               StepInfo("alter", "column", key[0], op.table_name, column.name,
                                        f"default -> {expression}")))
    steps.append(_nullability(op.schema, op.table_name, column.name, not column.nullable, fill))
    return steps


def _nullability(schema: str | None, table_name: str, column_name: str, not_null: bool,
                 fill: str | None = None) -> SqlStepOp:
    """SET NOT NULL without holding ACCESS EXCLUSIVE through a scan (existing rows filled
    with `fill` first, in batches), or DROP NOT NULL; each the reverse of the other. With
    not_null False and a fill: only the fill (a nullable column with a volatile default)."""
    filled = [backfill_statement(schema, table_name, column_name, fill)] if fill else []
    set_not_null = set_not_null_statements(schema, table_name, column_name, fill)
    drop_not_null = [f"ALTER TABLE {qualified(schema, table_name)} ALTER COLUMN "
                     f"{quote_ident(column_name)} DROP NOT NULL"]
    info = StepInfo("alter", "column", schema or DEFAULT_SCHEMA, table_name, column_name,
                    "NOT NULL" + (f", existing rows = {fill}" if fill else ""))
    if not not_null:
        if fill:
            return SqlStepOp(filled, [], replace(info, detail=f"existing rows = {fill}"))
        return SqlStepOp(drop_not_null, set_not_null, replace(
            info, detail="nullable"))
    return SqlStepOp(set_not_null, drop_not_null, info)


def set_not_null_statements(schema: str | None, table_name: str, column_name: str,
                            fill: str | None = None) -> list[str]:
    """The lock-safe SET NOT NULL: existing rows filled first (when `fill` says how), then a
    helper check validated without blocking writes, which spares SET NOT NULL its scan."""
    table = qualified(schema, table_name)
    column = quote_ident(column_name)
    helper = quote_ident(_helper_name(table_name, column_name))
    return [
        *([backfill_statement(schema, table_name, column_name, fill)] if fill else []),
        f"ALTER TABLE {table} ADD CONSTRAINT {helper} CHECK ({column} IS NOT NULL) NOT VALID",
        f"ALTER TABLE {table} VALIDATE CONSTRAINT {helper}",
        f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL",  # proven: no scan
        f"ALTER TABLE {table} DROP CONSTRAINT {helper}",
    ]


def backfill_statement(schema: str | None, table_name: str, column_name: str, fill: str) -> str:
    """Fill the column's NULLs with `fill`, BATCH_PAGES pages of the table at a time, each
    batch committed by itself (a DO block may commit when it runs outside a transaction):
    row locks on one batch at a time, never the whole table. By ctid ranges, which
    PostgreSQL reads with a TID range scan: any table, with or without a primary key. When
    the pass is over and rows written meanwhile still hold NULL, it goes over the table
    again (at most three passes); the column's default, set before, fills new rows."""
    table = qualified(schema, table_name)
    column = quote_ident(column_name)
    # A name in the UPDATE or the fill is the table's column even when a variable of the
    # block has it too (pages, first): the block names its own variables by its label.
    return "\n".join([
        "DO $backfill$",
        "#variable_conflict use_column",
        "<<fill>>",
        "DECLARE",
        f"  pages bigint := pg_relation_size({quote_literal(table)}) "
        "/ current_setting('block_size')::int;",
        "  first bigint := 0;",
        "  passes int := 1;",
        "  missed bigint := 0;",
        "BEGIN",
        "  LOOP",
        f"    UPDATE {table} SET {column} = {fill}",
        "     WHERE ctid >= ('(' || fill.first || ',0)')::tid",
        f"       AND ctid < ('(' || (fill.first + {BATCH_PAGES}) || ',0)')::tid",
        f"       AND {column} IS NULL;",
        "    COMMIT;",
        f"    RAISE NOTICE 'schemactl: filling {_literal_body(table)}.{_literal_body(column)}, "
        "page % of %', least(fill.first + " f"{BATCH_PAGES}, fill.pages), fill.pages;",
        f"    fill.first := fill.first + {BATCH_PAGES};",
        "    CONTINUE WHEN fill.first <= fill.pages;",
        "    -- Rows written meanwhile behind the pass (new pages, moved rows): another pass",
        "    -- over the table as it is now, at most three in all.",
        f"    SELECT count(*) INTO fill.missed FROM {table} WHERE {column} IS NULL;",
        "    EXIT WHEN fill.missed = 0 OR fill.passes = 3;",
        "    fill.passes := fill.passes + 1;",
        f"    fill.pages := pg_relation_size({quote_literal(table)}) "
        "/ current_setting('block_size')::int;",
        "    fill.first := 0;",
        "  END LOOP;",
        "END",
        "$backfill$",
    ])


def _literal_body(name: str) -> str:
    """A name as it can stand inside a string literal of the DO block (and its format)."""
    return name.replace("'", "''").replace("%", "%%")


def _helper_name(table: str, column: str) -> str:
    """A name for the helper check, within PostgreSQL's 63 bytes and unique per column."""
    name = f"{table}_{column}_not_null"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(f"{table}.{column}".encode()).hexdigest()[:8]
    return f"{name.encode()[:50].decode(errors='ignore')}_{digest}_nn"
