"""The diff stage: desired MetaData vs the baseline database -> one ordered UpgradeOps.

Alembic autogenerate compares tables and columns (add, drop, type, nullability, comment);
our comparators cover what it cannot see (diff/comparators/). The order of the result is
what makes it run: renames; then drops of the views, functions and triggers that must go;
then schemas, extensions, enum changes and the drops of changed constraints; then Alembic's
table and column steps; then constraints, indexes and column properties that need those
tables; then views, functions and triggers, created or replaced; then drops of types
nothing uses any more; last, drops of schemas the YAML no longer names and the plan leaves
empty.
downgrade is the exact reverse.
"""

from __future__ import annotations

from alembic.operations import ops
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from schemactl.diff.autogen import (
    autogenerate,
    foreign_keys_to_new_keys,
    is_empty_op,
    without_foreign_keys,
)
from schemactl.diff.catalog import Catalog, read_catalog, settled_definition
from schemactl.diff.comparators import Steps
from schemactl.diff.comparators.columns import compare_columns
from schemactl.diff.comparators.constraints import (
    compare_constraints,
    early_foreign_key_drops,
)
from schemactl.diff.comparators.enums import compare_enums
from schemactl.diff.comparators.namespaces import (
    compare_extensions,
    compare_schemas,
    drop_schemas,
)
from schemactl.diff.comparators.partitions import compare_partitions, partition_moves
from schemactl.diff.comparators.renames import rename_steps
from schemactl.diff.comparators.routines import compare_routines
from schemactl.diff.comparators.sequences import compare_sequences
from schemactl.diff.comparators.tables import compare_tables
from schemactl.diff.ops import SqlStepOp
from schemactl.spec.types import SchemaSpec


def diff(metadata: MetaData, spec: SchemaSpec, baseline: Connection,
         desired: Catalog) -> ops.UpgradeOps:
    """Compare; the baseline connection must be to a database we may change (the shadow):
    renames are run on it first so that Alembic sees renamed objects as unchanged."""
    renames = rename_steps(spec, read_catalog(baseline))
    for step in renames:
        for statement in step.statements:
            baseline.exec_driver_sql(statement.replace("%", "%%"))
    # Partitions detached into tables of their own, tables attached as partitions: also
    # run first, so that the comparison sees the tables as they are afterwards.
    moves = partition_moves(read_catalog(baseline), desired)
    for step in moves:
        for statement in step.statements:
            baseline.exec_driver_sql(statement.replace("%", "%%"))
    current = read_catalog(baseline)
    constraints = compare_constraints(current, desired,
                                      settle=lambda obj: settled_definition(baseline, obj))
    # Views, functions and triggers that must go are dropped before anything else (they
    # may use what changes); made again at the very end, once everything they use is there.
    routines = compare_routines(current, desired)
    # Drops of changed constraints and indexes first (an enum's type swap must not meet
    # them); their adds last (they may need the columns the other steps make).
    steps = Steps(before=[*routines.drops, *constraints.before])
    for compare in (compare_schemas, compare_extensions, compare_enums, compare_sequences,
                    compare_columns, compare_tables, compare_partitions):
        steps.extend(compare(current, desired))
        if compare is compare_enums:  # functions may use the types; tables may use them
            steps.before += routines.functions
    steps.after += constraints.after + routines.creates
    alembic_ops = autogenerate(metadata, baseline, current, desired)
    without_foreign_keys(alembic_ops, early_foreign_key_drops(current, desired))
    # A new table's foreign key to a key an existing table gains now: after that key.
    late_foreign_keys = foreign_keys_to_new_keys(alembic_ops, _gaining_keys(constraints.after))
    # Schemas left empty go after everything else, their types and routines included.
    return ops.UpgradeOps(ops=[*renames, *moves, *steps.before, *alembic_ops, *steps.after,
                               *late_foreign_keys, *routines.retired, *steps.last,
                               *drop_schemas(current, desired)])


def _gaining_keys(adds: list[SqlStepOp]) -> set[tuple[str, str]]:
    """The existing tables that get a primary key, unique constraint or index."""
    return {(op.step.schema, op.step.table) for op in adds
            if op.step is not None and op.step.table is not None
            and op.step.kind in ("primary key", "unique", "index")}


def without_renames(upgrade_ops: ops.UpgradeOps) -> ops.UpgradeOps:
    """The steps other than those diff() already ran on the baseline (renames, partition
    moves)."""
    return ops.UpgradeOps(ops=[
        op for op in upgrade_ops.ops
        if not (isinstance(op, SqlStepOp) and op.step is not None and (op.step.on_baseline or (
            op.step.verb == "rename" and op.step.kind in ("table", "column", "enum",
                                                          "enum value"))))])


def is_empty(upgrade_ops: ops.UpgradeOps) -> bool:
    return not [op for op in upgrade_ops.ops if not is_empty_op(op)]


__all__ = ["diff", "is_empty", "SqlStepOp"]
