"""Functions, procedures, views, materialized views (with their indexes) and triggers.

Input: the two catalogs' `objects` (diff/objects.py: PostgreSQL's printed form of each, and
what each uses, from pg_depend); output: RoutineSteps. Drops, dependents first, run before
anything else changes; creates and CREATE OR REPLACEs, dependencies first, once tables and
columns are in place; new functions that use no table before the tables.

An object is dropped and created again (one "-/+" in the plan) when:
- PostgreSQL cannot replace it in place, or could not put it back in the downgrade: a
  materialized view; a view whose columns change; a function whose result or arguments
  change;
- it uses a column whose type or collation changes or that goes away, a table that goes
  away, or an enum that is rebuilt (PostgreSQL refuses those changes while a view or
  trigger uses them);
- it uses an object that is dropped (a trigger on its function, a view on a view).
Otherwise a changed object is replaced in place, and a changed comment is only set again.
Every step's reverse puts back the baseline's own printed form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from schemactl.diff.catalog import Catalog, ColumnInfo
from schemactl.diff.objects import DbObject, ObjectKey, comment_statement
from schemactl.diff.ops import SqlStepOp, StepInfo


@dataclass
class RoutineSteps:
    """The three places in the diff's phase list (diff/compare.py) where these steps run."""

    drops: list[SqlStepOp] = field(default_factory=list)  # before anything else
    # New functions that use no table or view: after types, before the tables (whose
    # checks and defaults may call them).
    functions: list[SqlStepOp] = field(default_factory=list)
    creates: list[SqlStepOp] = field(default_factory=list)  # after everything else
    # Functions no longer wanted at all: after the tables, checks and defaults that may
    # call them are gone, before the types they use are dropped.
    retired: list[SqlStepOp] = field(default_factory=list)


def compare_routines(current: Catalog, desired: Catalog) -> RoutineSteps:
    have, want = current.objects, desired.objects
    dropped = _to_drop(current, desired)
    steps = RoutineSteps()
    for key in _ordered(dropped, have, dependents_first=True):
        obj = have[key]
        retired = key not in want and obj.kind in ("function", "procedure")
        (steps.retired if retired else steps.drops).append(SqlStepOp(
            [obj.drop], list(obj.create), _info("drop", obj, replaces=key in want)))
    for key in _ordered(set(want), want, dependents_first=False):
        new, old = want[key], have.get(key)
        if old is None or key in dropped:
            detail = "" if old is None or old.definition != new.definition else \
                "created again: it uses something that changes"
            early = new.kind in ("function", "procedure") and not any(
                use[0] in ("table", "column", "view", "materialized view") for use in new.uses)
            (steps.functions if early else steps.creates).append(SqlStepOp(
                list(new.create), [new.drop], _info("create", new, detail,
                                                    replaces=old is not None)))
        elif old.definition != new.definition:
            steps.creates.append(SqlStepOp(
                [*new.replace, *_comment_change(old, new)],
                [*old.replace, *_comment_change(new, old)],
                _info("alter", new, "replaced (CREATE OR REPLACE)")))
        elif old.comment != new.comment:
            steps.creates.append(SqlStepOp(
                _comment_change(old, new), _comment_change(new, old),
                _info("alter", new, "comment")))
    return steps


def _to_drop(current: Catalog, desired: Catalog) -> set[ObjectKey]:
    """The baseline's objects that must be dropped (and, if still wanted, made again)."""
    have, want = current.objects, desired.objects
    changing: set[ObjectKey] = {
        ("column", *key) for key, column in current.columns.items()
        if key not in desired.columns or _reshaped(column, desired.columns[key])}
    changing |= {("table", s, "", t) for s, t in current.tables - desired.tables}
    changing |= {("type", s, "", n) for (s, n), labels in current.enums.items()
                 if desired.enums.get((s, n)) != labels}
    dropped = {key for key, obj in have.items()
               if key not in want or (obj.definition != want[key].definition
                                      and not _replaceable(obj, want[key]))}
    while True:
        more = {key for key, obj in have.items() if key not in dropped
                and any(use in dropped or use in changing for use in obj.uses)}
        if not more:
            return dropped
        dropped |= more


def _reshaped(old: ColumnInfo, new: ColumnInfo) -> bool:
    """A column change PostgreSQL refuses while a view or trigger uses the column (a new
    collation is ALTER COLUMN ... TYPE ... COLLATE: a type change to PostgreSQL)."""
    return (old.type != new.type or old.generated != new.generated
            or old.collation != new.collation)


def _replaceable(old: DbObject, new: DbObject) -> bool:
    if not old.replace or not new.replace:
        return False
    # A view's columns, a function's result and arguments: PostgreSQL lets CREATE OR REPLACE
    # add columns at the end of a view, but the downgrade could not take them away again.
    return old.replace_key == new.replace_key


def _ordered(keys: set[ObjectKey], objects: dict[ObjectKey, DbObject],
             dependents_first: bool) -> list[ObjectKey]:
    """keys in an order that respects what they use (pg_depend); ties in creation order."""
    graph = {key: {use for use in objects[key].uses if use in keys} for key in keys}
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    order: list[ObjectKey] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda k: objects[k].oid)
        order += ready
        sorter.done(*ready)
    return order[::-1] if dependents_first else order


def _comment_change(old: DbObject, new: DbObject) -> list[str]:
    return [] if old.comment == new.comment else [comment_statement(new, new.comment)]


def _info(verb: str, obj: DbObject, detail: str = "", replaces: bool = False) -> StepInfo:
    return StepInfo(verb, obj.kind, obj.schema, obj.parent or None, obj.name, detail,
                    replaces=replaces)
