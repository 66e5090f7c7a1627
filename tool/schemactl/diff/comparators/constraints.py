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
from schemactl.sqltext import qualified, quote_ident

_KIND = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check",
         "x": "exclusion"}
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


def _add(obj: Obj, source: str | None, replaces: bool = False) -> SqlStepOp:
    return SqlStepOp([source or create_sql(obj)], [drop_sql(obj)], StepInfo(
        "create", _kind(obj), obj.schema, obj.table, obj.name, obj.definition,
        replaces=replaces))


def _remove(obj: Obj, replaces: bool = False) -> SqlStepOp:
    return SqlStepOp([drop_sql(obj)], [create_sql(obj)], StepInfo(
        "drop", _kind(obj), obj.schema, obj.table, obj.name, obj.definition,
        replaces=replaces))


# Adds run in this order and drops in the reverse one: a foreign key needs the primary key,
# unique constraint or unique index it references, and must go before them.
_ORDER = {"primary key": 0, "unique": 1, "index": 2, "check": 3, "exclusion": 3,
          "foreign key": 4}


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
    _foreign_keys_first(current, desired, steps)
    steps.after.sort(key=_add_order)  # stable: names stay sorted within a kind
    steps.before.sort(key=lambda step: -_add_order(step))
    return steps


def early_foreign_key_drops(current: Catalog, desired: Catalog) -> set[tuple[str, str, str]]:
    """Foreign keys of tables that are dropped whose key is dropped as well on a table that
    stays: _foreign_keys_first drops them before that key; the table's drop (Alembic's)
    must then not carry them, or its downgrade would re-create them before the key."""
    dropping = _dropped_keys(current, desired)
    return {k for k, c in current.constraints.items()
            if c.uses_index in dropping and k[:2] not in desired.tables}


def _dropped_keys(current: Catalog, desired: Catalog) -> set[tuple[str, str]]:
    """(schema, index name) of the primary keys, unique constraints and unique indexes of
    tables that stay, which the plan drops (removed or replaced)."""
    shared = current.tables & desired.tables
    found = set()
    objects: list[tuple[tuple[str, str, str], Obj]] = [*current.constraints.items(),
                                                        *current.indexes.items()]
    for key, obj in objects:
        unique = obj.kind in ("p", "u") if isinstance(obj, Constraint) \
            else obj.definition.startswith("UNIQUE ")
        target: Obj | None = desired.constraints.get(key) or desired.indexes.get(key)
        if unique and key[:2] in shared and (target is None or target.definition != obj.definition):
            found.add((key[0], key[2]))
    return found


def _foreign_keys_first(current: Catalog, desired: Catalog, steps: Steps) -> None:
    """A key a foreign key depends on can only be dropped after the foreign key: drop the
    foreign keys that use a dropped key (and add them back after, when they stay), even
    when nothing else about them changes, and even when their own table is dropped."""
    dropping = _dropped_keys(current, desired)
    handled = {(s.step.schema, s.step.table, s.step.name) for s in steps.before if s.step}
    for key, fk in sorted(current.constraints.items()):
        if fk.uses_index not in dropping or key in handled:
            continue
        if key[:2] not in desired.tables:
            steps.before.append(_remove(fk))
        elif key in desired.constraints:
            steps.before.append(_remove(fk, replaces=True))
            steps.after.append(_add(desired.constraints[key], desired.create_sql.get(key),
                                    replaces=True))


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
