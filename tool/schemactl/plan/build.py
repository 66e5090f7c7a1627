"""ops -> Plan: each step with its symbol (+ ~ - -/+), the object, hazards and SQL preview."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations, ops
from sqlalchemy import Column
from sqlalchemy.dialects import postgresql

from schemactl.diff.ops import Facts, SqlStepOp
from schemactl.ignore import Sorted
from schemactl.plan.analyze import Change, analyze, table_key
from schemactl.plan.hazards import Hazard
from schemactl.plan.locks import Cost, Lock, StatementKind, strongest
from schemactl.spec.types import DEFAULT_SCHEMA
from schemactl.sqltext import qualified

_SYMBOL = {"create": "+", "drop": "-", "alter": "~", "rename": "~"}


@dataclass(frozen=True)
class Step:
    action: str  # "+", "~", "-", "-/+"
    kind: str  # table, column, index, check, enum, schema, ...
    schema: str
    table: str | None  # the table the step belongs to, for grouping; None for schema objects
    name: str
    detail: str = ""
    hazards: tuple[Hazard, ...] = ()
    sql: tuple[str, ...] = ()
    # On an existing table: the lock model's row for the step's costliest statement.
    statement: StatementKind | None = None
    facts: Facts = Facts()  # what the typed change knows that its SQL does not say
    table_size: str = ""  # e.g. "~1,000,000 rows, 42.0 MB", when a live database was asked

    @property
    def lock(self) -> Lock | None:
        return self.statement.lock if self.statement else None

    @property
    def cost(self) -> Cost | None:
        return self.statement.cost if self.statement else None

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "schema": self.schema,
                "table": self.table, "name": self.name, "detail": self.detail,
                "lock": self.lock.label if self.lock else None,
                "cost": self.cost.value if self.cost else None,
                "table_size": self.table_size or None,
                "hazards": [h.as_record() for h in self.hazards], "sql": list(self.sql)}


@dataclass
class Plan:
    steps: list[Step]
    upgrade_ops: ops.UpgradeOps = field(repr=False)
    # Against a live database: what it holds that the plan did not compare, sorted out by
    # the ignore list (left alone on purpose, or not compared because the YAML cannot say it).
    left: Sorted = field(default_factory=Sorted)

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)

    @property
    def hazards(self) -> list[Hazard]:
        return [h for step in self.steps for h in step.hazards]

    @property
    def destructive(self) -> list[Hazard]:
        return [h for h in self.hazards if h.destructive]

    def counts(self) -> tuple[int, int, int]:
        """(to add, to change, to drop); a replace counts as one add and one drop."""
        add = sum(s.action in ("+", "-/+") for s in self.steps)
        change = sum(s.action == "~" for s in self.steps)
        drop = sum(s.action in ("-", "-/+") for s in self.steps)
        return add, change, drop

    def costly_tables(self) -> set[tuple[str, str]]:
        """Existing tables a step scans, rewrites or indexes: where the table's size matters."""
        return {(s.schema, s.table) for s in self.steps
                if s.table and s.cost is not None and s.cost.touches_rows}

    def with_sizes(self, sizes: Mapping[tuple[str, str], object]) -> Plan:
        steps = [replace(s, table_size=str(sizes[(s.schema, s.table)]))
                 if s.table and s.cost is not None and s.cost.touches_rows
                 and (s.schema, s.table) in sizes else s for s in self.steps]
        return Plan(steps, self.upgrade_ops, self.left)

    def with_left(self, left: Sorted) -> Plan:
        return replace(self, left=left)

    def as_dict(self) -> dict[str, Any]:
        add, change, drop = self.counts()
        return {"changes": self.has_changes, "add": add, "change": change, "drop": drop,
                "steps": [s.as_dict() for s in self.steps],
                "left_alone": [x.as_dict() for x in self.left.left_alone],
                "not_compared": [x.as_dict() for x in self.left.not_compared]}


def build_plan(upgrade_ops: ops.UpgradeOps,
               partitioned: frozenset[tuple[str, str]] = frozenset()) -> Plan:
    """The plan of these ops: each step with the hazards the analyzers find (plan/analyze.py)
    and, on an existing table, the lock and cost of its costliest statement. `partitioned`:
    the partitioned tables (a lock-safe form PostgreSQL refuses there is not offered)."""
    steps = _merge_replaces([_step(op) for op in _flatten(upgrade_ops)])
    created = frozenset(table_key(qualified(op.schema, op.table_name))
                        for op in upgrade_ops.ops if isinstance(op, ops.CreateTableOp))
    analyzed = []
    before: tuple[str, ...] = ()  # the statements of the steps before, in their order
    for step in steps:
        change = Change(_where(step), step.sql, before, created, step.facts,
                        (step.schema, step.table or "") in partitioned)
        analyzed.append(replace(step, hazards=analyze(change),
                                statement=strongest(change.kinds())))
        before += step.sql
    return Plan(analyzed, upgrade_ops)


def _where(step: Step) -> str:
    """The object a step's hazards name: `table users, column email`, `enum status`."""
    if step.table is None:
        return f"{step.kind} {step.name}"
    return f"table {step.table}" + ("" if step.kind == "table" else f", {step.kind} {step.name}")


def _flatten(container: ops.OpContainer) -> Iterator[ops.MigrateOperation]:
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            yield from op.ops
        else:
            yield op


def _merge_replaces(steps: list[Step]) -> list[Step]:
    """A drop and a create of the same object become one '-/+' step, where the create was."""
    drops = {(s.kind, s.schema, s.table, s.name): s for s in steps if s.action == "-/-"}
    merged = []
    for step in steps:
        key = (step.kind, step.schema, step.table, step.name)
        if step.action == "-/-":
            continue
        if step.action == "+/+" and key in drops:
            old = drops[key]
            merged.append(Step("-/+", step.kind, step.schema, step.table, step.name, step.detail,
                               sql=old.sql + step.sql, facts=step.facts))
        else:
            merged.append(step)
    return merged


def sql_of(op: ops.MigrateOperation) -> tuple[str, ...]:
    """The SQL an op runs, rendered offline for PostgreSQL."""
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql",
        # named paramstyle: with the default (pyformat) every % in the SQL comes out doubled.
        dialect_opts={"paramstyle": "named"},
        opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
    )
    operations = Operations(context)
    operations.invoke(op)
    return tuple(s.strip() for s in buffer.getvalue().split(";\n") if s.strip())


def _schema(value: str | None) -> str:
    return value or DEFAULT_SCHEMA


def _step(op: ops.MigrateOperation) -> Step:
    if isinstance(op, SqlStepOp):
        return _sql_step(op)
    sql = sql_of(op)
    if isinstance(op, ops.CreateTableOp):
        columns = sum(isinstance(c, Column) for c in op.columns)
        return Step("+", "table", _schema(op.schema), op.table_name, op.table_name,
                    f"{columns} columns", (), sql)
    if isinstance(op, ops.DropTableOp):
        return Step("-", "table", _schema(op.schema), op.table_name, op.table_name, "", (), sql)
    if isinstance(op, ops.AddColumnOp):
        return _add_column(op, sql)
    if isinstance(op, ops.DropColumnOp):
        return Step("-", "column", _schema(op.schema), op.table_name, op.column_name, "", (), sql)
    if isinstance(op, ops.AlterColumnOp):
        return _alter_column(op, sql)
    if isinstance(op, (ops.CreateTableCommentOp, ops.DropTableCommentOp)):
        comment = getattr(op, "comment", None)
        return Step("~", "table", _schema(op.schema), op.table_name, op.table_name,
                    f"comment -> {comment!r}" if comment else "comment removed", (), sql)
    if isinstance(op, ops.CreateIndexOp):
        return Step("+", "index", _schema(op.schema), op.table_name, op.index_name or "", "", (),
                    sql)
    if isinstance(op, ops.DropIndexOp):
        return Step("-", "index", _schema(op.schema), op.table_name, op.index_name or "", "", (),
                    sql)
    name = getattr(op, "constraint_name", None) or type(op).__name__
    table = getattr(op, "table_name", None)
    verb = "-" if isinstance(op, ops.DropConstraintOp) else "+"
    return Step(verb, "constraint", _schema(getattr(op, "schema", None)), table, str(name), "",
                (), sql)


def _sql_step(op: SqlStepOp) -> Step:
    info = op.step
    assert info is not None, "every SqlStepOp made by a comparator carries its StepInfo"
    action = _SYMBOL[info.verb]
    if info.replaces:
        action = "+/+" if info.verb == "create" else "-/-"  # merged by _merge_replaces
        if info.verb == "alter":
            action = "-/+"
    return Step(action, info.kind, info.schema, info.table, info.name, info.detail,
                sql=tuple(op.statements), facts=info.facts)


def _add_column(op: ops.AddColumnOp, sql: tuple[str, ...]) -> Step:
    column = op.column
    detail = str(column.type.compile(dialect=postgresql.dialect())) + ("" if column.nullable else " NOT NULL")
    if column.server_default is not None and column.identity is None and column.computed is None:
        detail += f" DEFAULT {column.server_default.arg}"  # type: ignore[attr-defined]
    return Step("+", "column", _schema(op.schema), op.table_name, column.name, detail, (), sql)


def _alter_column(op: ops.AlterColumnOp, sql: tuple[str, ...]) -> Step:
    details: list[str] = []
    # (Type changes never arrive here: diff/autogen.py makes them steps of their own.)
    if op.modify_nullable is not None:
        details.append("nullable" if op.modify_nullable else "NOT NULL")
    if op.modify_comment is not False:
        details.append(f"comment -> {op.modify_comment!r}")
    return Step("~", "column", _schema(op.schema), op.table_name, op.column_name,
                ", ".join(details), (), sql)
