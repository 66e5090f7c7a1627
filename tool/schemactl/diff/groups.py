"""ops -> the same ops in transaction groups: a commit_group() after every GROUP_TABLES tables.

Input: an UpgradeOps or DowngradeOps as the diff made it. Output: the same type, where a
revision that touches more than GROUP_TABLES tables (or other objects) has a CommitGroupOp
between groups, so that no transaction's lock count grows with the schema. A revision within
the limit is returned unchanged: it stays one transaction, all or nothing.
"""

from __future__ import annotations

from alembic.operations import ops

from schemactl.diff.ops import CommitGroupOp, SqlStepOp

# Creating a table takes about seven locks (table, TOAST table and index, primary key,
# identity sequence, an index or two): 100 tables stay near 700, a tenth of the lock table
# of a default server (64 x about 120 backends), whatever else the server is doing.
GROUP_TABLES = 100

Container = ops.UpgradeOps | ops.DowngradeOps


def _object(op: ops.MigrateOperation) -> tuple[str | None, str]:
    """The table (or schema-level object) an op locks."""
    if isinstance(op, SqlStepOp) and op.step is not None:
        step = op.step
        return step.schema, step.table or f"{step.kind} {step.name}"
    table = getattr(op, "table_name", None)
    return getattr(op, "schema", None), table or f"{type(op).__name__} {id(op)}"


def in_groups(container: Container, size: int = GROUP_TABLES) -> Container:
    if len({_object(op) for op in container.ops}) <= size:
        return container
    grouped: list[ops.MigrateOperation] = []
    seen: set[tuple[str | None, str]] = set()
    for op in container.ops:
        key = _object(op)
        if key not in seen and len(seen) == size:
            grouped.append(CommitGroupOp())
            seen = set()
        seen.add(key)
        grouped.append(op)
    return type(container)(grouped)
