"""Partitions: CREATE TABLE ... PARTITION OF, which neither SQLAlchemy nor Alembic has.

Partitioned tables themselves are Alembic's (create_table carries PARTITION BY); their
partitions are ours. A partition is compared by its parent and its bound as PostgreSQL
prints them (pg_get_expr(relpartbound)), so `2024-01-01` and `'2024-01-01'::date` are one
bound. Its columns, keys and indexes are its parent's copies: they are not compared (the
catalog leaves them out), and PostgreSQL keeps them in step with the parent.

- a new partition: CREATE TABLE ... PARTITION OF parent FOR VALUES ... (parents first);
- a partition the YAML no longer has: DROP TABLE (its rows are lost: DS101), deepest first;
- another bound or parent: DETACH PARTITION, then ATTACH PARTITION with the new bound (all
  detaches before all attaches, so that two partitions may swap ranges);
- a partition that becomes a table of its own, or a table that becomes a partition of a
  table that exists: DETACH / ATTACH PARTITION (partition_moves), rows kept.

What PostgreSQL cannot alter is refused with a clear error rather than planned as a drop
and a create: another partition key, or a table that becomes (or stops being) partitioned.
"""

from __future__ import annotations

from schemactl.diff.catalog import Catalog, Partition, display_table
from schemactl.diff.comparators import Steps
from schemactl.diff.ops import Facts, SqlStepOp, StepInfo
from schemactl.errors import SchemactlError
from schemactl.sqltext import qualified

Key = tuple[str, str]

_HINT = ("PostgreSQL cannot change this in place: create a new table under another name, "
         "copy the rows over, then drop the old one (two plans)")


def compare_partitions(current: Catalog, desired: Catalog) -> Steps:
    _refuse_unalterable(current, desired)
    steps = Steps()
    old, new = current.partitions, desired.partitions
    for key in sorted(set(old) - set(new), key=lambda k: -_depth(k, current)):
        steps.before.append(_drop(old[key]))
    for key in sorted(set(new) - set(old), key=lambda k: (_depth(k, desired), k)):
        steps.after.append(_create(new[key], _default_partition(current, new[key])))
    moved = sorted(key for key in set(old) & set(new) if _where(old[key]) != _where(new[key]))
    steps.after += [_detach(old[key], new[key]) for key in moved]
    steps.after += [_attach(old[key], new[key], _default_partition(current, new[key]))
                    for key in moved]
    return steps


def partition_moves(current: Catalog, desired: Catalog) -> list[SqlStepOp]:
    """A partition that becomes a table of its own (DETACH PARTITION) and a table that
    becomes a partition of a table that exists (ATTACH PARTITION): both keep the rows.
    Like renames, these run on the baseline before the comparison (diff/compare.py), so that
    the table's columns, keys and indexes are compared as they are after it."""
    steps = []
    for key in sorted(set(current.partitions) & desired.tables):
        old = current.partitions[key]
        if old.key == desired.partition_keys.get(key):  # partitioned alike, or not at all
            steps.append(SqlStepOp([_detach_sql(old)], [_attach_sql(old)], _info(
                "alter", old, f"detach from {display_table(old.parent_schema, old.parent)}: "
                "a table of its own", on_baseline=True)))
    for key in sorted(current.tables & set(desired.partitions)):
        new = desired.partitions[key]
        parent = (new.parent_schema, new.parent)
        if new.key == current.partition_keys.get(key) and (parent in current.partition_keys or (
                parent in current.partitions and current.partitions[parent].key)):
            default = _default_partition(current, new)
            steps.append(SqlStepOp([_attach_sql(new)], [_detach_sql(new)], _info(
                "alter", new, f"attach to {display_table(*parent)} {new.bound}",
                Facts(scanned_default=default), on_baseline=True)))
    return steps


def _where(partition: Partition) -> tuple[str, str, str]:
    return partition.parent_schema, partition.parent, partition.bound


def _depth(key: Key, catalog: Catalog) -> int:
    depth, seen = 0, set()
    while key in catalog.partitions and key not in seen:
        seen.add(key)
        partition = catalog.partitions[key]
        key, depth = (partition.parent_schema, partition.parent), depth + 1
    return depth


def _default_partition(current: Catalog, partition: Partition) -> str | None:
    """The parent's DEFAULT partition, when it has one already: PostgreSQL scans it to
    prove that none of its rows belong to the partition being added."""
    if partition.bound == "DEFAULT":
        return None
    return next((p.name for p in current.partitions.values()
                 if (p.parent_schema, p.parent) == (partition.parent_schema, partition.parent)
                 and p.bound == "DEFAULT" and p.name != partition.name), None)


def _info(verb: str, partition: Partition, detail: str, facts: Facts | None = None,
          on_baseline: bool = False) -> StepInfo:
    return StepInfo(verb, "table", partition.schema, partition.name, partition.name, detail,
                    facts or Facts(), on_baseline=on_baseline)


def _describe(partition: Partition) -> str:
    sub = f" PARTITION BY {partition.key}" if partition.key else ""
    return (f"partition of {display_table(partition.parent_schema, partition.parent)} "
            f"{partition.bound}{sub}")


def _create(partition: Partition, default: str | None) -> SqlStepOp:
    return SqlStepOp([partition.create_sql()], [_drop_sql(partition)], _info(
        "create", partition, _describe(partition), Facts(scanned_default=default)))


def _drop(partition: Partition) -> SqlStepOp:
    return SqlStepOp([_drop_sql(partition)], [partition.create_sql()], _info(
        "drop", partition, _describe(partition)))


def _drop_sql(partition: Partition) -> str:
    return f"DROP TABLE {qualified(partition.schema, partition.name)}"


def _detach_sql(partition: Partition) -> str:
    return (f"ALTER TABLE {qualified(partition.parent_schema, partition.parent)} "
            f"DETACH PARTITION {qualified(partition.schema, partition.name)}")


def _attach_sql(partition: Partition) -> str:
    return (f"ALTER TABLE {qualified(partition.parent_schema, partition.parent)} "
            f"ATTACH PARTITION {qualified(partition.schema, partition.name)} {partition.bound}")


def _detach(old: Partition, new: Partition) -> SqlStepOp:
    return SqlStepOp([_detach_sql(old)], [_attach_sql(old)], _info(
        "alter", old, f"detach from {display_table(old.parent_schema, old.parent)} "
        f"({old.bound})"))


def _attach(old: Partition, new: Partition, default: str | None) -> SqlStepOp:
    return SqlStepOp([_attach_sql(new)], [_detach_sql(new)], _info(
        "alter", new, f"attach to {display_table(new.parent_schema, new.parent)} {new.bound}",
        Facts(scanned_default=default)))


def _refuse_unalterable(current: Catalog, desired: Catalog) -> None:
    problems = []
    for key in sorted(set(current.partition_keys) & set(desired.partition_keys)):
        if current.partition_keys[key] != desired.partition_keys[key]:
            problems.append(f"table {display_table(*key)}: partition key "
                            f"{current.partition_keys[key]} -> {desired.partition_keys[key]}")
    for key in sorted(set(current.partitions) & set(desired.partitions)):
        if current.partitions[key].key != desired.partitions[key].key:
            problems.append(f"table {display_table(*key)}: partition key "
                            f"{current.partitions[key].key or '(none)'} -> "
                            f"{desired.partitions[key].key or '(none)'}")
    for key in sorted(current.tables & desired.tables):
        if (key in current.partition_keys) != (key in desired.partition_keys):
            became = "partitioned" if key in desired.partition_keys else "not partitioned"
            problems.append(f"table {display_table(*key)} becomes {became}")
    for key in sorted((current.tables & set(desired.partitions))
                      | (set(current.partitions) & desired.tables)):
        became = ("a partition of a table that does not exist yet, or is partitioned "
                  "otherwise" if key in desired.partitions
                  else "a table of its own that is partitioned otherwise")
        problems.append(f"table {display_table(*key)} becomes {became}")
    if problems:
        raise SchemactlError("cannot plan a change PostgreSQL cannot make in place: "
                             + "; ".join(problems), hint=_HINT)
