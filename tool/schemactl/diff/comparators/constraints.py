"""Constraints and indexes of tables that exist on both sides.

Compared by PostgreSQL's canonical definition, so a changed CHECK body, partial-index
predicate, index method or expression, primary-key column set or foreign-key action is seen.
Same name, other definition: drop then add (one "-/+" replace in the plan). An object that
only changed its name (e.g. after a table rename) is renamed instead.
(For new tables Alembic's create_table carries them; see compare.py.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from schemactl.diff.catalog import Catalog, Constraint, Index
from schemactl.diff.comparators import Steps
from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.plan.hazards import Hazard
from schemactl.sqltext import qualified, quote_ident

_KIND = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check"}
_ADD_HAZARD = {"u": "MF102", "c": "MF103", "f": "MF104", "p": "MF102"}
Obj = Constraint | Index


def _kind(obj: Obj) -> str:
    return _KIND[obj.kind] if isinstance(obj, Constraint) else "index"


def create_sql(obj: Obj) -> str:
    table = qualified(obj.schema, obj.table)
    if isinstance(obj, Constraint):
        return f"ALTER TABLE {table} ADD CONSTRAINT {quote_ident(obj.name)} {obj.definition}"
    unique = "UNIQUE " if obj.definition.startswith("UNIQUE ") else ""
    body = obj.definition.removeprefix("UNIQUE ")
    return f"CREATE {unique}INDEX {quote_ident(obj.name)} ON {table} {body}"


def drop_sql(obj: Obj) -> str:
    if isinstance(obj, Constraint):
        return f"ALTER TABLE {qualified(obj.schema, obj.table)} DROP CONSTRAINT {quote_ident(obj.name)}"
    return f"DROP INDEX {qualified(obj.schema, obj.name)}"


def _rename(obj: Obj, new_name: str) -> str:
    if isinstance(obj, Constraint):
        return (f"ALTER TABLE {qualified(obj.schema, obj.table)} RENAME CONSTRAINT "
                f"{quote_ident(obj.name)} TO {quote_ident(new_name)}")
    return f"ALTER INDEX {qualified(obj.schema, obj.name)} RENAME TO {quote_ident(new_name)}"


def _add_hazards(obj: Obj) -> tuple[Hazard, ...]:
    where = f"table {obj.table}, {_kind(obj)} {obj.name}"
    if isinstance(obj, Constraint):
        return (Hazard(_ADD_HAZARD[obj.kind], where, "existing rows may violate it"),)
    hazards = [Hazard("LK102", where, "blocks writes to the table while it builds")]
    if obj.definition.startswith("UNIQUE "):
        hazards.append(Hazard("MF102", where, "existing rows may hold duplicates"))
    return tuple(hazards)


def _add(obj: Obj, source: str | None, replaces: bool = False) -> SqlStepOp:
    return SqlStepOp([source or create_sql(obj)], [drop_sql(obj)], StepInfo(
        "create", _kind(obj), obj.schema, obj.table, obj.name, obj.definition,
        hazards=_add_hazards(obj), replaces=replaces))


def _remove(obj: Obj, replaces: bool = False) -> SqlStepOp:
    return SqlStepOp([drop_sql(obj)], [create_sql(obj)], StepInfo(
        "drop", _kind(obj), obj.schema, obj.table, obj.name, obj.definition,
        reverse_hazards=_add_hazards(obj), replaces=replaces))


# Adds run in this order and drops in the reverse one: a foreign key needs the primary key,
# unique constraint or unique index it references, and must go before them.
_ORDER = {"primary key": 0, "unique": 1, "index": 2, "check": 3, "foreign key": 4}


def _add_order(step: SqlStepOp) -> int:
    return _ORDER[step.step.kind] if step.step else 0


Settle = Callable[[Obj], str]


def compare_constraints(current: Catalog, desired: Catalog, settle: Settle | None = None) -> Steps:
    """settle(obj) prints obj again after re-creating it from its printed form (see
    catalog.settled_definition): a check or index whose printed form moved is not a change."""
    steps = Steps()
    shared = current.tables & desired.tables
    for attr in ("constraints", "indexes"):
        old: dict[tuple[str, str, str], Obj] = {
            k: v for k, v in getattr(current, attr).items() if k[:2] in shared}
        new: dict[tuple[str, str, str], Obj] = {
            k: v for k, v in getattr(desired, attr).items() if k[:2] in shared}
        _renamed(old, new, steps)
        for key in sorted(set(old) - set(new)):
            steps.before.append(_remove(old[key]))
        for key in sorted(set(new) - set(old)):
            steps.after.append(_add(new[key], desired.create_sql.get(key)))
        rebuilt = _on_rebuilt_columns(current, desired)
        for key in sorted(set(old) & set(new)):
            if _differs(old[key], new[key], settle) or (key[:2], old[key].definition) in rebuilt:
                steps.before.append(_remove(old[key], replaces=True))
                steps.after.append(_add(new[key], desired.create_sql.get(key), replaces=True))
    steps.after.sort(key=_add_order)  # stable: names stay sorted within a kind
    steps.before.sort(key=lambda step: -_add_order(step))
    return steps


def _on_rebuilt_columns(current: Catalog, desired: Catalog) -> set[tuple[tuple[str, str], str]]:
    """(table, definition) of the checks and indexes that mention a generated column whose
    expression changes: columns.py drops and re-adds that column, which takes them along."""
    found = set()
    for key, column in current.columns.items():
        target = desired.columns.get(key)
        if target is None or column.generated is None or target.generated in (None, column.generated):
            continue
        word = re.compile(rf"\b{re.escape(column.name)}\b")
        for objects in (current.constraints, current.indexes):
            found |= {(k[:2], obj.definition) for k, obj in objects.items()
                      if k[:2] == key[:2] and word.search(obj.definition)}
    return found


def _differs(old: Obj, new: Obj, settle: Settle | None) -> bool:
    if old.definition == new.definition:
        return False
    if settle is None or (isinstance(old, Constraint) and old.kind != "c"):
        return True
    return settle(old) != new.definition


def _renamed(old: dict, new: dict, steps: Steps) -> None:
    """Pair objects that differ only by name; rename them and take them out of old/new."""
    gone = {k: v for k, v in old.items() if k not in new}
    for key in sorted(set(new) - set(old)):
        match = next((k for k, v in gone.items() if k[:2] == key[:2]
                      and v.definition == new[key].definition and _kind(v) == _kind(new[key])),
                     None)
        if match is None:
            continue
        obj = gone.pop(match)
        steps.before.append(SqlStepOp(
            [_rename(obj, key[2])], [_rename(new[key], obj.name)],
            StepInfo("rename", _kind(obj), obj.schema, obj.table, key[2], f"{obj.name} -> {key[2]}")))
        del old[match]
        del new[key]
