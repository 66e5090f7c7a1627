"""SchemaSpec -> the YAML a person would write: {relative file name: text}.

Used by `schemactl inspect` to adopt an existing database. The output reads like hand-written
YAML: a column that is only a type is written `name: varchar(50)`, one-column keys are written
on the column (`primary_key: true`, `unique: true`, `references: users.id`), and constraint and
index names are left out where they equal what spec/naming.py would derive anyway, so that
validating the output gives back exactly the spec that was rendered.

Files: one per PostgreSQL schema (`public.yaml`, `billing.yaml`); with split=True one per
group of tables linked by foreign keys (`<schema>/<table>.yaml`, named after the group's
most referenced table) plus `<schema>/types.yaml` for its enums.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from typing import Any

import yaml

from schemactl.render.yaml_routines import routine_sections, trigger_lines
from schemactl.spec import naming
from schemactl.spec.types import (
    DEFAULT_SCHEMA,
    ColumnSpec,
    EnumSpec,
    ExclusionSpec,
    ExtensionSpec,
    ForeignKeySpec,
    IndexElement,
    IndexSpec,
    PartitionBound,
    PartitionKey,
    PartitionSpec,
    PrimaryKeySpec,
    SchemaSpec,
    TableSpec,
    TriggerSpec,
    UniqueSpec,
)

HEADER = "# Written by `schemactl inspect`. This file is now the source of truth: edit it.\n"


class _Dumper(yaml.SafeDumper):
    """Safe dumping, with multi-line strings double-quoted so that they stay on one line."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = '"' if "\n" in data or "\r" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def flow(value: Any) -> str:
    """A value as one line of YAML, quoted as flow context requires (also valid in block)."""
    text = yaml.dump(
        [value], Dumper=_Dumper, default_flow_style=True, sort_keys=False, width=10**9,
        allow_unicode=True,
    ).strip()
    return text[1:-1]  # drop the brackets of the one-item list


def render(spec: SchemaSpec, split: bool = False) -> dict[str, str]:
    """The spec as YAML files: {relative path: text}, in a stable order."""
    files: dict[str, str] = {}

    def add(parts: tuple[str, ...], text: str) -> None:
        """Names come from identifiers: keep them to safe characters, and never collide."""
        stem = "/".join(re.sub(r"[^A-Za-z0-9_-]", "_", part) for part in parts)
        name, n = f"{stem}.yaml", 2
        while name in files:
            name, n = f"{stem}_{n}.yaml", n + 1
        files[name] = text

    used = ({t.schema for t in spec.tables} | {e.schema for e in spec.enums}
            | {p.schema for p in spec.partitions}
            | {f.schema for f in spec.functions} | {v.schema for v in spec.views})
    # Schemas that hold nothing the YAML describes are listed in public's file.
    empty = sorted(set(spec.schemas) - used - {x.schema for x in spec.extensions if x.schema})
    schemas = sorted(used | ({DEFAULT_SCHEMA} if spec.extensions or empty else set()))
    triggers = list(spec.triggers)
    for schema in schemas:
        tables = [t for t in spec.tables if t.schema == schema]
        partitions = [p for p in spec.partitions if p.schema == schema]
        enums = [e for e in spec.enums if e.schema == schema]
        extensions = list(spec.extensions) if schema == DEFAULT_SCHEMA else []
        routines = routine_sections([f for f in spec.functions if f.schema == schema],
                                    [v for v in spec.views if v.schema == schema], triggers)
        namespaces = empty if schema == DEFAULT_SCHEMA else []
        if not split:
            add((schema,), render_file(schema, tables, enums, extensions, triggers, routines,
                                       namespaces, partitions))
            continue
        if enums or extensions or namespaces:
            add((schema, "types"),
                render_file(schema, [], enums, extensions, namespaces=namespaces))
        if routines:
            add((schema, "routines"), render_file(schema, [], [], [], triggers, routines))
        for group_name, group in table_groups(tables):
            add((schema, group_name), render_file(schema, group, [], [], triggers))
        if partitions:
            add((schema, "partitions"), render_file(schema, [], [], [], partitions=partitions))
    return files


def table_groups(tables: list[TableSpec]) -> list[tuple[str, list[TableSpec]]]:
    """Tables linked by foreign keys (within one schema), each group named after its most
    referenced table; groups and the tables in them keep the spec's order."""
    by_name = {t.name: t for t in tables}
    parent = {t.name: t.name for t in tables}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    referenced: dict[str, int] = defaultdict(int)
    for t in tables:
        for fk in t.foreign_keys:
            if fk.ref_schema == t.schema and fk.ref_table in by_name:
                referenced[fk.ref_table] += 1
                parent[root(t.name)] = root(fk.ref_table)
    groups: dict[str, list[TableSpec]] = defaultdict(list)
    for t in tables:
        groups[root(t.name)].append(t)
    named = []
    for members in groups.values():
        head = max(members, key=lambda t: referenced[t.name])  # first of the most referenced
        named.append((head.name, members))
    return named


def render_file(
    schema: str, tables: list[TableSpec], enums: list[EnumSpec], extensions: list[ExtensionSpec],
    triggers: list[TriggerSpec] | None = None, routines: list[str] | None = None,
    namespaces: list[str] | None = None, partitions: list[PartitionSpec] | None = None,
) -> str:
    lines = [HEADER.rstrip("\n")]
    if schema != DEFAULT_SCHEMA:
        lines.append(f"schema: {flow(schema)}")
    if namespaces:
        lines.append(f"schemas: {flow(namespaces)}")
    if extensions:
        lines.append(f"extensions: {flow([_extension(e) for e in extensions])}")
    if enums:
        lines.append("enums:")
        lines.extend(f"  {flow(e.name)}: {flow(list(e.labels))}" for e in enums)
    if tables or partitions:
        lines.append("tables:")
        for table in tables:
            lines.extend(_table(table))
            lines.extend(trigger_lines(table.schema, table.name, triggers or []))
        for partition in partitions or []:
            lines.extend(_partition(partition))
    lines.extend(routines or [])
    return "\n".join(lines) + "\n"


def _extension(ext: ExtensionSpec) -> Any:
    if ext.schema is None and ext.version is None:
        return ext.name
    return {"name": ext.name, **({"schema": ext.schema} if ext.schema else {}),
            **({"version": ext.version} if ext.version else {})}


def _table(table: TableSpec) -> list[str]:
    on_column = _column_level_keys(table)
    lines = [f"  {flow(table.name)}:"]
    if table.comment is not None:
        lines.append(f"    comment: {flow(table.comment)}")
    if table.unlogged:
        lines.append("    unlogged: true")
    if table.storage:
        lines.append(f"    with: {flow(_storage(table.storage))}")
    if table.partition_by:
        lines.append(f"    partition_by: {flow(_partition_key(table.partition_by))}")
    lines.append("    columns:" if table.columns else "    columns: {}")
    for column in table.columns:
        lines.append(f"      {flow(column.name)}: {flow(_column(table, column, on_column))}")
    pk = table.primary_key
    if pk is not None and "pk" not in on_column.get(pk.columns[0], {}):
        conventional = pk.name == naming.primary_key_name(table.name)
        if conventional and not pk.deferrable:
            lines.append(f"    primary_key: {flow(list(pk.columns))}")
        else:
            out: dict[str, Any] = {"columns": list(pk.columns)}
            if not conventional:
                out["name"] = pk.name
            lines.append(f"    primary_key: {flow({**out, **_key_deferrable(pk)})}")
    uniques = [u for u in table.uniques if on_column.get(u.columns[0], {}).get("unique") != u]
    if uniques:
        lines.append("    unique:")
        for u in uniques:
            conventional = u.name == naming.unique_name(table.name, u.columns)
            if conventional and not u.nulls_not_distinct and not u.deferrable:
                lines.append(f"      - {flow(list(u.columns))}")
            else:
                lines.append(f"      - {flow(_table_unique(u, conventional))}")
    fks = [fk for fk in table.foreign_keys if on_column.get(fk.columns[0], {}).get("fk") != fk]
    if fks:
        lines.append("    foreign_keys:")
        lines.extend(f"      - {flow(_table_foreign_key(table, fk))}" for fk in fks)
    if table.exclusions:
        lines.append("    exclude:")
        lines.extend(f"      - {flow(_exclusion(table, x))}" for x in table.exclusions)
    if table.indexes:
        lines.append("    indexes:")
        lines.extend(f"      - {flow(_index(table, ix))}" for ix in table.indexes)
    if table.checks:
        lines.append("    checks:")
        lines.extend(f"      {flow(c.name)}: {flow(c.expression)}" for c in table.checks)
    return lines


def _partition(partition: PartitionSpec) -> list[str]:
    parent = (partition.parent if partition.parent_schema == partition.schema
              else f"{partition.parent_schema}.{partition.parent}")
    lines = [f"  {flow(partition.name)}:", f"    partition_of: {flow(parent)}",
             f"    values: {flow(_bound(partition.bound))}"]
    if partition.partition_by:
        lines.append(f"    partition_by: {flow(_partition_key(partition.partition_by))}")
    return lines


def _partition_key(key: PartitionKey) -> Any:
    return {key.strategy: [e.column if e.column is not None else {"expression": e.expression}
                           for e in key.elements]}


def _bound(bound: PartitionBound) -> Any:
    if bound.strategy == "default":
        return "default"
    if bound.strategy == "hash":
        return {"modulus": bound.modulus, "remainder": bound.remainder}
    if bound.strategy == "list":
        return {"in": [_bound_value(v) for v in bound.values]}

    def side(values: tuple[str, ...]) -> Any:
        items = [_bound_value(v) for v in values]
        return items[0] if len(items) == 1 else items

    return {"from": side(bound.lower), "to": side(bound.upper)}


def _bound_value(sql: str) -> Any:
    """A bound value as PostgreSQL prints it -> the YAML value validate turns back into it:
    '...' -> text, NULL -> null, true/false, whole numbers; other numbers stay text (so that
    1.50 is not written as 1.5)."""
    if sql.startswith("'"):
        return sql[1:-1].replace("''", "'")
    if sql == "NULL":
        return None
    if sql in ("true", "false"):
        return sql == "true"
    if re.fullmatch(r"-?\d+", sql):
        return int(sql)
    return sql  # MINVALUE, MAXVALUE, 1.5


def _column_level_keys(table: TableSpec) -> dict[str, dict[str, Any]]:
    """Which one-column keys can be written on the column itself: only those whose name is
    the conventional one (validate derives it again), at most one of each kind per column."""
    keys: dict[str, dict[str, Any]] = defaultdict(dict)
    pk = table.primary_key
    if pk and len(pk.columns) == 1 and pk.name == naming.primary_key_name(table.name) \
            and not pk.deferrable:
        keys[pk.columns[0]]["pk"] = pk
    for u in table.uniques:
        if len(u.columns) == 1 and u.name == naming.unique_name(table.name, u.columns) \
                and not u.nulls_not_distinct and not u.deferrable:
            keys[u.columns[0]].setdefault("unique", u)
    for fk in table.foreign_keys:
        if len(fk.columns) == 1 and fk.name == naming.foreign_key_name(table.name, fk.columns):
            keys[fk.columns[0]].setdefault("fk", fk)
    return keys


def _column(table: TableSpec, column: ColumnSpec, on_column: dict[str, dict[str, Any]]) -> Any:
    mine = on_column.get(column.name, {})
    out: dict[str, Any] = {"type": _type_text(table, column)}
    if column.nullable:
        out["nullable"] = True
    if column.default is not None:
        out["default"] = column.default
    if column.default_sql is not None:
        out["default_sql"] = column.default_sql
    if column.identity is not None:
        out["identity"] = "always" if column.identity == "always" else True
    if column.generated is not None:
        out["generated"] = column.generated
    if "pk" in mine:
        out["primary_key"] = True
    if "unique" in mine:
        out["unique"] = True
    if "fk" in mine:
        fk: ForeignKeySpec = mine["fk"]
        out["references"] = _reference(table, fk) + "." + fk.ref_columns[0]
        out.update(_fk_options(fk))
    if column.comment is not None:
        out["comment"] = column.comment
    for setting in ("collation", "compression", "storage"):
        if getattr(column, setting) is not None:
            out[setting] = getattr(column, setting)
    if list(out) == ["type"]:
        return out["type"]  # the shorthand: just the type, NOT NULL
    return out


def _type_text(table: TableSpec, column: ColumnSpec) -> str:
    """The type as written in YAML; an enum is qualified only when in another schema than the
    table (a bare enum name means the table's own schema)."""
    ref = column.type
    if ref.enum_schema is None or ref.enum_schema == table.schema:
        return replace(ref, enum_schema=None).sql()
    return f"{ref.enum_schema}.{ref.name}" + "[]" * ref.array_dims


def _reference(table: TableSpec, fk: ForeignKeySpec) -> str:
    """The referenced table, qualified only when it is in another schema."""
    return fk.ref_table if fk.ref_schema == table.schema else f"{fk.ref_schema}.{fk.ref_table}"


def _fk_options(fk: ForeignKeySpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if fk.on_delete is not None:
        out["on_delete"] = fk.on_delete
    if fk.on_update is not None:
        out["on_update"] = fk.on_update
    if fk.initially_deferred:
        out["deferrable"] = "initially_deferred"
    elif fk.deferrable:
        out["deferrable"] = True
    return out


def _table_foreign_key(table: TableSpec, fk: ForeignKeySpec) -> dict[str, Any]:
    ref: dict[str, Any] = {"table": fk.ref_table, "columns": list(fk.ref_columns)}
    if fk.ref_schema != table.schema:
        ref["schema"] = fk.ref_schema
    out: dict[str, Any] = {"columns": list(fk.columns), "references": ref}
    out.update(_fk_options(fk))
    if fk.name != naming.foreign_key_name(table.name, fk.columns):
        out["name"] = fk.name
    return out


def _exclusion(table: TableSpec, exclusion: ExclusionSpec) -> dict[str, Any]:
    elements = []
    for element, operator in exclusion.elements:
        key = _index_key(element)
        elements.append({**(key if isinstance(key, dict) else {"column": key}),
                         "operator": operator})
    out: dict[str, Any] = {}
    words = [e.column or "expr" for e, _ in exclusion.elements]
    if exclusion.name != naming.exclusion_name(table.name, words):
        out["name"] = exclusion.name
    if exclusion.using != "gist":
        out["using"] = exclusion.using
    out["elements"] = elements
    if exclusion.where is not None:
        out["where"] = exclusion.where
    return out


def _table_unique(unique: UniqueSpec, conventional: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"columns": list(unique.columns)}
    if not conventional:
        out["name"] = unique.name
    if unique.nulls_not_distinct:
        out["nulls_not_distinct"] = True
    return {**out, **_key_deferrable(unique)}


def _key_deferrable(key: PrimaryKeySpec | UniqueSpec) -> dict[str, Any]:
    if key.initially_deferred:
        return {"deferrable": "initially_deferred"}
    return {"deferrable": True} if key.deferrable else {}


def _index_key(element: IndexElement) -> Any:
    """A plain column by name; anything else as a mapping with its options."""
    if element.column is not None and not element.has_options:
        return element.column
    out: dict[str, Any] = ({"column": element.column} if element.column is not None
                           else {"expression": element.expression})
    for key in ("collation", "opclass", "order", "nulls"):
        if getattr(element, key) is not None:
            out[key] = getattr(element, key)
    return out


def _storage(params: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Storage parameters as a person writes them: numbers and booleans unquoted."""
    def value(text: str) -> Any:
        if re.fullmatch(r"-?[0-9]+", text):
            return int(text)
        return {"true": True, "false": False}.get(text, text)
    return {name: value(text) for name, text in params}


def _index(table: TableSpec, index: IndexSpec) -> dict[str, Any]:
    columns = [_index_key(e) for e in index.elements]
    out: dict[str, Any] = {}
    plain = all(e.column is not None and not e.has_options for e in index.elements)
    # Only plain-column names are derived the same way everywhere; keep the rest explicit.
    if not plain or index.name != naming.index_name(table.name, [str(c) for c in columns]):
        out["name"] = index.name
    out["columns"] = columns
    if index.unique:
        out["unique"] = True
    if index.using != "btree":
        out["using"] = index.using
    if index.where is not None:
        out["where"] = index.where
    if index.include:
        out["include"] = list(index.include)
    if index.storage:
        out["with"] = _storage(index.storage)
    if index.nulls_not_distinct:
        out["nulls_not_distinct"] = True
    return out
