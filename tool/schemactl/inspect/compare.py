"""Compare two SchemaSpecs object by object: the check behind every inspect round trip.

Two databases have the same (supported) schema when inspecting them gives equal specs.
Order is not meaning: tables, enums, constraints and indexes are sorted by name first
(column order is kept: it is part of a table). `differences` says what differs, per object,
in words a failing test or the conformance table can show.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from schemactl.spec.types import SchemaSpec, TableSpec


def canonical(spec: SchemaSpec, column_order: bool = True) -> SchemaSpec:
    """The same spec in a fixed order (columns sorted by name too unless column_order)."""
    return SchemaSpec(
        tables=tuple(sorted((_canonical_table(t, column_order) for t in spec.tables),
                            key=lambda t: (t.schema, t.name))),
        enums=tuple(sorted(spec.enums, key=lambda e: (e.schema, e.name))),
        extensions=tuple(sorted(spec.extensions, key=lambda e: e.name)),
        functions=tuple(sorted(spec.functions, key=lambda f: (f.schema, f.name, repr(f)))),
        views=tuple(sorted(spec.views, key=lambda v: (v.schema, v.name))),
        triggers=tuple(sorted(spec.triggers, key=lambda t: (t.schema, t.table, t.name))),
        declared_schemas=tuple(sorted(spec.declared_schemas)),
        partitions=tuple(sorted(spec.partitions, key=lambda p: (p.schema, p.name))),
    )


def _canonical_table(table: TableSpec, column_order: bool) -> TableSpec:
    columns = table.columns if column_order else tuple(sorted(table.columns, key=lambda c: c.name))
    return replace(
        table,
        columns=columns,
        uniques=tuple(sorted(table.uniques, key=lambda u: u.name)),
        indexes=tuple(sorted(table.indexes, key=lambda i: i.name)),
        foreign_keys=tuple(sorted(table.foreign_keys, key=lambda f: f.name)),
        checks=tuple(sorted(table.checks, key=lambda c: c.name)),
        exclusions=tuple(sorted(table.exclusions, key=lambda x: x.name)),
        renamed_from=None,
    )


def differences(expected: SchemaSpec, actual: SchemaSpec, column_order: bool = True) -> list[str]:
    """Human-readable differences between two specs; empty when they describe one schema.

    column_order=False: columns compare as a set (a migration adds columns at the end, and
    no migration tool reorders them)."""
    expected, actual = canonical(expected, column_order), canonical(actual, column_order)
    out: list[str] = []
    _compare_named("enum", _by_key(expected.enums), _by_key(actual.enums), out)
    _compare_named("extension", {e.name: e for e in expected.extensions},
                   {e.name: e for e in actual.extensions}, out)
    _compare_named("function", _routines(expected.functions), _routines(actual.functions), out)
    _compare_named("view", _by_key(expected.views), _by_key(actual.views), out)
    _compare_named("partition", _by_key(expected.partitions), _by_key(actual.partitions), out)
    _compare_named("trigger", {f"{t.schema}.{t.table}.{t.name}": t for t in expected.triggers},
                   {f"{t.schema}.{t.table}.{t.name}": t for t in actual.triggers}, out)
    if expected.schemas != actual.schemas:
        out.append(f"schemas: {list(expected.schemas)} != {list(actual.schemas)}")
    want, got = _by_key(expected.tables), _by_key(actual.tables)
    for key in sorted(want.keys() | got.keys()):
        if key not in got:
            out.append(f"table {key}: missing")
        elif key not in want:
            out.append(f"table {key}: unexpected")
        elif want[key] != got[key]:
            out.extend(_table_differences(key, want[key], got[key]))
    return out


def _routines(items: Any) -> dict[str, Any]:
    return {f"{f.schema}.{f.name}({', '.join(a.type for a in f.arguments)})": f for f in items}


def _by_key(items: Any) -> dict[str, Any]:
    return {f"{i.schema}.{i.name}": i for i in items}


def _compare_named(kind: str, want: dict[str, Any], got: dict[str, Any], out: list[str]) -> None:
    for key in sorted(want.keys() | got.keys()):
        if want.get(key) != got.get(key):
            out.append(f"{kind} {key}: expected {want.get(key)!r}, got {got.get(key)!r}")


def _table_differences(key: str, want: TableSpec, got: TableSpec) -> list[str]:
    out = []
    for f in fields(TableSpec):
        if not f.compare:
            continue
        a, b = getattr(want, f.name), getattr(got, f.name)
        if a == b:
            continue
        if f.name == "columns":
            out.extend(_column_differences(key, a, b))
        else:
            out.append(f"table {key}: {f.name}: expected {a!r}, got {b!r}")
    return out


def _column_differences(key: str, want: Any, got: Any) -> list[str]:
    wanted = {c.name: c for c in want}
    found = {c.name: c for c in got}
    out = []
    for name in [*wanted, *(n for n in found if n not in wanted)]:
        if wanted.get(name) != found.get(name):
            out.append(f"table {key}: column {name}: expected {wanted.get(name)!r}, "
                       f"got {found.get(name)!r}")
    if not out:
        out.append(f"table {key}: column order: expected {list(wanted)}, got {list(found)}")
    return out
