"""ops -> the same ops in transaction groups, as the revision file runs them.

Input: an UpgradeOps or DowngradeOps as the diff made it (one op per plan step). Output: the
same type, where
- a statement PostgreSQL refuses inside a transaction block (CREATE INDEX CONCURRENTLY, ...)
  becomes a run_sql_outside_transaction() of its own, after a commit_group();
- a statement the lock model wants alone (VALIDATE CONSTRAINT: it scans under a lock that
  lets writes go on, and must not hold the stronger locks taken before it) gets a
  transaction of its own, between two commit_group()s;
- a revision that touches more than GROUP_TABLES tables (or other objects) has a
  commit_group() after every GROUP_TABLES of them, so that no transaction's lock count
  grows with the schema.
A revision with none of these is returned unchanged: one transaction, all or nothing.
Which statement needs what is the lock model's knowledge (plan/locks.py), not this module's.
"""

from __future__ import annotations

import operator

from alembic.operations import ops

from schemactl.diff.ops import CommitGroupOp, OutsideTransactionOp, SqlStepOp
from schemactl.plan.locks import classify

# Creating a table takes about seven locks (table, TOAST table and index, primary key,
# identity sequence, an index or two): 100 tables stay near 700, a tenth of the lock table
# of a default server (64 x about 120 backends), whatever else the server is doing.
GROUP_TABLES = 100

Container = ops.UpgradeOps | ops.DowngradeOps


def in_groups(container: Container, size: int = GROUP_TABLES) -> Container:
    split = [part for op in container.ops for part in _split(op)]
    grouped = _tidy(_by_size(split, size))
    if len(grouped) == len(container.ops) and all(map(operator.is_, grouped, container.ops)):
        return container  # nothing to cut: one transaction
    return type(container)(grouped)


def _split(op: ops.MigrateOperation) -> list[ops.MigrateOperation]:
    """A step whose statements need transactions of their own, cut into those pieces."""
    if isinstance(op, ops.ModifyTableOps):
        return _split_table(op)
    if not isinstance(op, SqlStepOp) or not any(map(_needs_own_group, op.statements)):
        return [op]
    parts: list[ops.MigrateOperation] = []
    together: list[str] = []

    def flush() -> None:
        if together:
            parts.append(SqlStepOp(list(together), step=op.step))
            together.clear()

    for statement in op.statements:
        kind = classify(statement)
        if kind is not None and not kind.transaction:
            flush()
            parts += [CommitGroupOp(), OutsideTransactionOp(statement)]
        elif kind is not None and kind.alone:
            flush()
            parts += [CommitGroupOp(), SqlStepOp([statement], step=op.step), CommitGroupOp()]
        else:
            together.append(statement)
    flush()
    return parts


def _split_table(table: ops.ModifyTableOps) -> list[ops.MigrateOperation]:
    """The steps on one table; where one is cut, the runs between stay on the table."""
    parts = [part for op in table.ops for part in _split(op)]
    if len(parts) == len(table.ops):
        return [table]
    result: list[ops.MigrateOperation] = []
    run: list[ops.MigrateOperation] = []
    for part in parts + [CommitGroupOp()]:
        if isinstance(part, (CommitGroupOp, OutsideTransactionOp)):
            if run:
                result.append(ops.ModifyTableOps(table.table_name, run, schema=table.schema))
                run = []
            result.append(part)
        else:
            run.append(part)
    return result[:-1]


def _needs_own_group(statement: str) -> bool:
    kind = classify(statement)
    return kind is not None and (not kind.transaction or kind.alone)


def _by_size(items: list[ops.MigrateOperation], size: int) -> list[ops.MigrateOperation]:
    if len({_object(op) for op in items}) <= size:
        return items
    grouped: list[ops.MigrateOperation] = []
    seen: set[tuple[str | None, str]] = set()
    for op in items:
        if isinstance(op, (CommitGroupOp, OutsideTransactionOp)):
            seen = set()
        else:
            key = _object(op)
            if key not in seen and len(seen) == size:
                grouped.append(CommitGroupOp())
                seen = set()
            seen.add(key)
        grouped.append(op)
    return grouped


def _object(op: ops.MigrateOperation) -> tuple[str | None, str]:
    """The table (or schema-level object) an op locks."""
    if isinstance(op, SqlStepOp) and op.step is not None:
        step = op.step
        return step.schema, step.table or f"{step.kind} {step.name}"
    table = getattr(op, "table_name", None)
    return getattr(op, "schema", None), table or f"{type(op).__name__} {id(op)}"


def _tidy(items: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
    """No commit_group() first, last, twice in a row, or right after an outside-transaction
    statement (which is a group of its own): each group holds something."""
    tidy: list[ops.MigrateOperation] = []
    for op in items:
        if isinstance(op, CommitGroupOp) and (
                not tidy or isinstance(tidy[-1], (CommitGroupOp, OutsideTransactionOp))):
            continue
        tidy.append(op)
    while tidy and isinstance(tidy[-1], CommitGroupOp):
        tidy.pop()
    return tidy
