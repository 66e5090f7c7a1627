"""Our operations: the steps Alembic has no op for, each a small SQL step with its reverse.

Every such step is a SqlStepOp. In a revision file it renders as `op.run_sql("...")`: plain,
reviewable SQL that runs the same online and offline. We do not use `op.execute(str)`:
it parses `:name` inside the SQL as a bind parameter, so a comment or default containing
a colon would silently become NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from alembic.autogenerate import renderers
from alembic.operations import MigrateOperation, Operations
from sqlalchemy import text

from schemactl.plan.hazards import Hazard

# Which way a step goes, and its opposite (Terraform's symbols are chosen in plan/).
_OPPOSITE = {"create": "drop", "drop": "create", "alter": "alter", "rename": "rename"}


@dataclass
class StepInfo:
    """What a step is about, for the plan: verb, object kind, table and object name."""

    verb: str  # create | drop | alter | rename
    kind: str  # schema, extension, enum, enum value, check, index, constraint, column, table
    schema: str
    table: str | None
    name: str
    detail: str = ""  # e.g. "draft -> published" or the new definition
    hazards: tuple[Hazard, ...] = ()
    reverse_hazards: tuple[Hazard, ...] = ()
    # A drop + create of the same object shows as one "-/+" replace in the plan.
    replaces: bool = False


@Operations.register_operation("run_sql")
class SqlStepOp(MigrateOperation):
    """One reversible step made of plain SQL statements."""

    def __init__(self, statements: list[str], reverse_statements: list[str] | None = None,
                 step: StepInfo | None = None) -> None:
        self.statements = list(statements)
        self.reverse_statements = list(reverse_statements or [])
        self.step = step  # (not `info`: MigrateOperation.info is Alembic's own dict)

    @classmethod
    def run_sql(cls, operations: Operations, *statements: str) -> None:
        operations.invoke(cls(list(statements)))

    def reverse(self) -> SqlStepOp:
        step = self.step
        if step is not None:
            step = replace(step, verb=_OPPOSITE[step.verb], hazards=step.reverse_hazards,
                           reverse_hazards=step.hazards)
        return SqlStepOp(self.reverse_statements, self.statements, step)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("run_sql", tuple(self.statements))


@Operations.implementation_for(SqlStepOp)
def _run_sql(operations: Operations, operation: SqlStepOp) -> None:
    for statement in operation.statements:
        # Escape colons so SQLAlchemy's text() finds no bind parameters in the SQL.
        operations.migration_context.impl._exec(text(statement.replace(":", r"\:")))


@renderers.dispatch_for(SqlStepOp)
def _render_sql(autogen_context: Any, operation: SqlStepOp) -> str:
    args = ",\n    ".join(repr(s) for s in operation.statements)
    if len(operation.statements) <= 1:  # none: a step with nothing to undo
        return f"op.run_sql({args})"
    return f"op.run_sql(\n    {args},\n)"


@Operations.register_operation("commit_group")
class CommitGroupOp(MigrateOperation):
    """The end of one transaction group of a revision too large for one transaction.

    Every table a transaction creates, alters or drops holds several locks (the table, its
    TOAST table, indexes, sequences) until the commit, and the server's lock table is shared
    and sized for max_locks_per_transaction (64 by default) per connection: a revision that
    touches thousands of tables in one transaction fails with `out of shared memory`."""

    @classmethod
    def commit_group(cls, operations: Operations) -> None:
        operations.invoke(cls())

    def reverse(self) -> CommitGroupOp:
        return CommitGroupOp()

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("commit_group",)


@Operations.implementation_for(CommitGroupOp)
def _commit_group(operations: Operations, operation: CommitGroupOp) -> None:
    context = operations.migration_context
    if context.as_sql or context._transaction is not None:
        # Under Alembic's per-revision transaction (apply, offline SQL): commit it and begin
        # the next group's, the way Alembic's own autocommit blocks do.
        with context.autocommit_block():
            pass
    else:  # a connection whose transaction the caller manages (the plan's rehearsal)
        assert context.connection is not None
        context.connection.commit()
        context.connection.begin()


@renderers.dispatch_for(CommitGroupOp)
def _render_commit_group(autogen_context: Any, operation: CommitGroupOp) -> str:
    return "op.commit_group()"
