"""Our operations: the steps Alembic has no op for, each a small SQL step with its reverse.

Every such step is a SqlStepOp. In a revision file it renders as `op.run_sql("...")`: plain,
reviewable SQL that runs the same online and offline. We do not use `op.execute(str)`:
it parses `:name` inside the SQL as a bind parameter, so a comment or default containing
a colon would silently become NULL.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy.exc
from alembic.autogenerate import renderers
from alembic.migration import MigrationContext
from alembic.operations import MigrateOperation, Operations
from sqlalchemy import text

from schemactl import progress

# Which way a step goes, and its opposite (Terraform's symbols are chosen in plan/).
_OPPOSITE = {"create": "drop", "drop": "create", "alter": "alter", "rename": "rename"}


@dataclass(frozen=True)
class Facts:
    """What a typed change knows that its SQL does not say; plan/analyze.py judges its
    hazards from them and from the SQL."""

    # A type change: "narrowing" (values may not fit), "widening" (every value fits
    # unchanged) or "cast" (each value is converted, and the conversion may fail).
    type_change: str | None = None
    rewrites: bool | None = None  # a type change: whether PostgreSQL rewrites the table
    removed_values: tuple[str, ...] = ()  # enum values the change removes
    # A column's own stored values are replaced by a generated expression's.
    replaces_values: bool = False
    recomputed: bool = False  # a dropped column that was generated: nothing is lost
    # A new or attached partition: the parent's DEFAULT partition, which PostgreSQL scans
    # under ACCESS EXCLUSIVE to prove none of its rows belong to the new one.
    scanned_default: str | None = None


@dataclass
class StepInfo:
    """What a step is about, for the plan: verb, object kind, table and object name."""

    verb: str  # create | drop | alter | rename
    kind: str  # schema, extension, enum, enum value, check, index, constraint, column, table
    schema: str
    table: str | None
    name: str
    detail: str = ""  # e.g. "draft -> published" or the new definition
    facts: Facts = Facts()
    reverse_facts: Facts = Facts()  # the same, of the reverse step
    # A drop + create of the same object shows as one "-/+" replace in the plan.
    replaces: bool = False
    # Run on the baseline before the comparison (renames, a partition detached or attached):
    # what is compared afterwards already sees it done.
    on_baseline: bool = False


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
            step = replace(step, verb=_OPPOSITE[step.verb], facts=step.reverse_facts,
                           reverse_facts=step.facts)
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
    """The end of one transaction group of a revision.

    A revision is split into groups where one transaction would hold too much: a revision
    that touches thousands of tables (every table a transaction creates, alters or drops
    holds several locks until the commit, and the server's lock table is shared and sized
    for max_locks_per_transaction, 64 by default, per connection), and the lock-safe forms
    of diff/online.py (a VALIDATE CONSTRAINT must not hold the locks taken before it).
    apply records each completed group, so that a failed revision resumes after the last
    one (apply/runner.py)."""

    @classmethod
    def commit_group(cls, operations: Operations) -> None:
        operations.invoke(cls())

    def reverse(self) -> CommitGroupOp:
        return CommitGroupOp()

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("commit_group",)


@Operations.register_operation("run_sql_outside_transaction")
class OutsideTransactionOp(MigrateOperation):
    """One statement PostgreSQL refuses inside a transaction block (CREATE INDEX
    CONCURRENTLY, DROP INDEX CONCURRENTLY): a transaction group of its own, run in
    autocommit mode between the groups before and after it."""

    def __init__(self, statement: str) -> None:
        self.statement = statement

    @classmethod
    def run_sql_outside_transaction(cls, operations: Operations, statement: str) -> None:
        operations.invoke(cls(statement))

    def reverse(self) -> OutsideTransactionOp:
        raise NotImplementedError("made at render time only, from a SqlStepOp that has one")

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("run_sql_outside_transaction", self.statement)


# In offline SQL, the line where one transaction group ends (render/offline_sql.py reads it).
GROUP_BREAK = "-- schemactl: end of transaction group"
# Options apply passes to the migration context (alembic_env.py): a callback that records
# a completed group, and the number of groups an earlier, failed run completed.
PROGRESS_OPTION = "schemactl_group_done"
RESUME_OPTION = "schemactl_resume_after"
# ... and a callback that tells the user something a run did by itself (an INVALID index
# dropped): a line of apply's output, not a progress label that vanishes.
NOTE_OPTION = "schemactl_note"


@dataclass
class _Groups:
    """Where a run is in the revision's transaction groups."""

    done: int = 0  # groups completed (by this run, or skipped as completed by an earlier one)
    resume_after: int = 0

    @property
    def skipping(self) -> bool:
        return self.done < self.resume_after


def _groups(context: MigrationContext) -> _Groups:
    state = context.opts.get("_schemactl_groups")
    if state is None:
        state = context.opts["_schemactl_groups"] = _Groups(
            resume_after=int(context.opts.get(RESUME_OPTION) or 0))
        if state.resume_after and not context.as_sql:
            _skip_while_resuming(context, state)
    return state


def resume(context: MigrationContext, completed_groups: int) -> None:
    """Run the revision from the group after `completed_groups` (an earlier run did those)."""
    context.opts[RESUME_OPTION] = completed_groups
    _groups(context)


def _skip_while_resuming(context: MigrationContext, state: _Groups) -> None:
    """Every statement of a revision, Alembic's own ops included, goes through impl._exec:
    while the groups an earlier run completed are replayed, it runs nothing."""
    run = context.impl._exec

    def _exec(construct: Any, *args: Any, **kwargs: Any) -> Any:
        return None if state.skipping else run(construct, *args, **kwargs)

    context.impl._exec = _exec  # type: ignore[method-assign]


def _group_done(context: MigrationContext, state: _Groups) -> None:
    state.done += 1
    record = context.opts.get(PROGRESS_OPTION)
    if record is not None and not context.as_sql and state.done > state.resume_after:
        record(context.connection, state.done)


@Operations.implementation_for(CommitGroupOp)
def _commit_group(operations: Operations, operation: CommitGroupOp) -> None:
    context = operations.migration_context
    state = _groups(context)
    replayed = state.skipping
    _group_done(context, state)  # in the group's own transaction: both commit, or neither
    if context.as_sql:
        context.impl.static_output(GROUP_BREAK)
    elif not replayed:
        _commit(context)


def _commit(context: MigrationContext) -> None:
    if context._transaction is not None:
        # Under Alembic's per-revision transaction (apply): commit it and begin the next
        # group's, the way Alembic's own autocommit blocks do.
        with context.autocommit_block():
            pass
    else:  # a connection whose transaction the caller manages (the plan's rehearsal)
        assert context.connection is not None
        context.connection.commit()
        context.connection.begin()


@Operations.implementation_for(OutsideTransactionOp)
def _run_outside_transaction(operations: Operations, operation: OutsideTransactionOp) -> None:
    """The group before it has ended already (diff/groups.py puts a commit_group() there)."""
    context = operations.migration_context
    state = _groups(context)
    statement = text(operation.statement.replace(":", r"\:"))
    if context.as_sql:
        context.impl._exec(statement)
        _group_done(context, state)
        context.impl.static_output(GROUP_BREAK)
    elif state.skipping:
        state.done += 1
    elif context._transaction is not None:
        with context.autocommit_block():
            _drop_invalid_index(context, operation.statement)
            assert context.connection is not None
            with progress.notices(context.connection.connection.driver_connection,
                                  _first_words(operation.statement)):
                try:
                    context.impl._exec(statement)
                except sqlalchemy.exc.DBAPIError:
                    _drop_invalid_index(context, operation.statement, failed=True)
                    raise
            _group_done(context, state)  # autocommit: recorded at once
    else:  # the plan's rehearsal: the caller's (empty) transaction ends first
        conn = context.connection
        assert conn is not None
        conn.commit()
        level = conn.get_isolation_level()
        conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            context.impl._exec(statement)
            _group_done(context, state)
        finally:
            conn.rollback()  # ends SQLAlchemy's own record of it (autocommit: no-op on the server)
            conn.execution_options(isolation_level=level)
        conn.begin()


def _first_words(statement: str, count: int = 6) -> str:
    return " ".join(statement.split()[:count]) + " ..."


_NAME = r'(?:"(?:[^"]|"")+"|[^\s."(]+)'
_CONCURRENT_INDEX = re.compile(
    rf"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})"
    rf"\s+ON\s+(?:ONLY\s+)?(?:({_NAME})\.)?{_NAME}", re.IGNORECASE)


def _drop_invalid_index(context: MigrationContext, statement: str,
                        failed: bool = False) -> None:
    """A concurrent index build that failed (duplicates, a cancel, a lost connection)
    leaves an INVALID index behind. A unique one goes on refusing duplicates on every write
    (and every index slows writes down) until it is dropped, and IF NOT EXISTS would skip
    the rebuild. So it is dropped right after the failure (failed=True: the original error
    is then raised, and a failure of this drop only noted), and before each build, in case
    the run that failed could not (killed, connection lost)."""
    match = _CONCURRENT_INDEX.match(statement)
    if match is None:
        return
    index, schema = match.groups()  # the index lives in its table's schema
    name = f"{schema}.{index}" if schema else index
    conn = context.connection
    assert conn is not None
    try:
        invalid = conn.execute(
            text("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"),
            {"name": name}).scalar()
        if invalid:
            conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        if not failed:
            raise
        _note(context, f"the failed build left the INVALID index {name}, and dropping it "
                       f"failed too ({_one_line(exc)}); the next apply drops it, or run "
                       f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        return
    if invalid and failed:
        _note(context, f"Dropped the INVALID index {name} that the failed build left behind "
                       "(it would have gone on slowing, or refusing, writes to the table)")
    elif invalid:
        _note(context, f"Dropping the INVALID index {name} that an earlier, failed build "
                       "left behind")


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split())[:300]


def _note(context: MigrationContext, message: str) -> None:
    """A line for the user (apply prints it); without a listener (a shadow's replay),
    stderr, as nothing a run does by itself may go unsaid."""
    note = context.opts.get(NOTE_OPTION)
    if note is not None:
        note(message)
    else:
        print(message, file=sys.stderr)


@renderers.dispatch_for(CommitGroupOp)
def _render_commit_group(autogen_context: Any, operation: CommitGroupOp) -> str:
    return "op.commit_group()"


@renderers.dispatch_for(OutsideTransactionOp)
def _render_outside(autogen_context: Any, operation: OutsideTransactionOp) -> str:
    return f"op.run_sql_outside_transaction({operation.statement!r})"
