"""ops -> the same ops in lock-safe forms, for tables that exist (and may be busy).

Input: the UpgradeOps of a plan. Output: the same UpgradeOps where each step on a table
that the revision does not create itself takes the form that lets the application go on:

- CREATE INDEX / DROP INDEX -> CONCURRENTLY (run outside a transaction);
- ADD UNIQUE / PRIMARY KEY -> a unique index built concurrently, then ADD CONSTRAINT ...
  USING INDEX (catalog only);
- ADD FOREIGN KEY / CHECK -> ADD ... NOT VALID (catalog only), then VALIDATE CONSTRAINT
  (a scan that lets reads and writes go on, in a transaction of its own);
- SET NOT NULL -> a CHECK (col IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL (which then
  skips its scan), and the helper check dropped.

Both directions of each step are rewritten, so the downgrade is as safe as the upgrade.
Which statements then need a transaction of their own is decided by diff/groups.py from
the lock model, when the revision is rendered. A plan made with --atomic skips this stage.
"""

from __future__ import annotations

import hashlib
import re
from typing import TypeVar

from alembic.operations import ops

from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.plan.hazards import Hazard
from schemactl.spec.types import DEFAULT_SCHEMA
from schemactl.sqltext import qualified, quote_ident

_NAME = r'(?:"(?:[^"]|"")+"|[^\s."(]+)'
_QUALIFIED = rf"{_NAME}(?:\.{_NAME})?"
_CREATE_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX (?!CONCURRENTLY )")
_DROP_INDEX = re.compile(r"^DROP INDEX (?!CONCURRENTLY )(?!IF EXISTS )(?=\S+$)")
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


def lock_safe(container: Container) -> Container:
    created = {(op.schema or DEFAULT_SCHEMA, op.table_name) for op in container.ops
               if isinstance(op, ops.CreateTableOp)}
    result: list[ops.MigrateOperation] = []
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            if (op.schema or DEFAULT_SCHEMA, op.table_name) not in created:
                op.ops = [safe for inner in op.ops for safe in _safe_op(inner)]
            result.append(op)
        elif isinstance(op, SqlStepOp) and _on_existing_table(op, created):
            result += _safe_op(op)
        else:
            result.append(op)
    return type(container)(result)


def _on_existing_table(op: SqlStepOp, created: set[tuple[str, str]]) -> bool:
    step = op.step
    return step is not None and step.table is not None and (step.schema, step.table) not in created


def _safe_op(op: ops.MigrateOperation) -> list[ops.MigrateOperation]:
    if isinstance(op, SqlStepOp):
        return [SqlStepOp(safe_statements(op.statements), safe_statements(op.reverse_statements),
                          op.step)]
    if isinstance(op, ops.AlterColumnOp) and op.modify_nullable is not None:
        step = _nullability(op)
        op.modify_nullable = None
        untouched = (op.modify_comment is False and op.modify_server_default is False
                     and op.modify_name is None and op.modify_type is None)
        return [step] if untouched else [step, op]
    return [op]


def safe_statements(statements: list[str]) -> list[str]:
    """Each statement in its lock-safe form (statements already safe are kept as they are)."""
    return [safe for statement in statements for safe in _safe_statement(statement)]


def _safe_statement(statement: str) -> list[str]:
    if _CREATE_INDEX.match(statement):
        return [_CREATE_INDEX.sub(lambda m: f"CREATE {m.group(1) or ''}INDEX CONCURRENTLY ",
                                  statement, count=1)]
    if _DROP_INDEX.match(statement):
        return [_DROP_INDEX.sub("DROP INDEX CONCURRENTLY ", statement, count=1)]
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
    return [f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} {index_body}",
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {name}"
            f"{key['deferrable'] or ''}"]


def _nullability(op: ops.AlterColumnOp) -> SqlStepOp:
    """SET NOT NULL without holding ACCESS EXCLUSIVE through a scan, or DROP NOT NULL; each
    the reverse of the other."""
    schema = op.schema or DEFAULT_SCHEMA
    table = qualified(op.schema, op.table_name)
    column = quote_ident(op.column_name)
    alter = f"ALTER TABLE {table} ALTER COLUMN {column}"
    helper = quote_ident(_helper_name(op.table_name, op.column_name))
    set_not_null = [
        f"ALTER TABLE {table} ADD CONSTRAINT {helper} CHECK ({column} IS NOT NULL) NOT VALID",
        f"ALTER TABLE {table} VALIDATE CONSTRAINT {helper}",
        f"{alter} SET NOT NULL",  # the valid check proves it: no scan
        f"ALTER TABLE {table} DROP CONSTRAINT {helper}",
    ]
    drop_not_null = [f"{alter} DROP NOT NULL"]
    hazard = (Hazard("MF101", f"table {op.table_name}, column {op.column_name}",
                     "fails if a row holds NULL"),)
    if op.modify_nullable:
        return SqlStepOp(drop_not_null, set_not_null, StepInfo(
            "alter", "column", schema, op.table_name, op.column_name, "nullable",
            reverse_hazards=hazard))
    return SqlStepOp(set_not_null, drop_not_null, StepInfo(
        "alter", "column", schema, op.table_name, op.column_name, "NOT NULL", hazards=hazard))


def _helper_name(table: str, column: str) -> str:
    """A name for the helper check, within PostgreSQL's 63 bytes and unique per column."""
    name = f"{table}_{column}_not_null"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(f"{table}.{column}".encode()).hexdigest()[:8]
    return f"{name.encode()[:50].decode(errors='ignore')}_{digest}_nn"
