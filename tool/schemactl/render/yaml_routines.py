"""SchemaSpec's functions, procedures, views, materialized views and triggers -> YAML lines.

Used by render/yaml_spec.py. Bodies and queries are written as literal blocks (`|`) where
YAML can keep them exactly, so they read like the SQL they are; keys whose value is the
default are left out, so validating the output gives back exactly the spec rendered.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from schemactl.spec import naming
from schemactl.spec.types import FunctionSpec, IndexSpec, TriggerSpec, ViewSpec


class _Dumper(yaml.SafeDumper):
    """Multi-line text as a literal block; PyYAML falls back to quotes where it must."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(value: Any, indent: int) -> list[str]:
    text = yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)
    lines = text.splitlines()
    # A text ending in blank lines is kept with `|+`; when it is the last value, PyYAML ends
    # the document with `...`, which in the middle of a file would end it there.
    if lines and lines[-1] == "...":
        lines.pop()
    return [" " * indent + line if line else line for line in lines]


def routine_sections(functions: list[FunctionSpec], views: list[ViewSpec],
                     triggers: list[TriggerSpec]) -> list[str]:
    """The top-level sections for one file's functions, procedures and views."""
    lines: list[str] = []
    for section, items in (("functions", [f for f in functions if not f.is_procedure]),
                           ("procedures", [f for f in functions if f.is_procedure])):
        if items:
            overloaded = Counter(f.name for f in items)
            lines += dump({section: {_function_key(f, overloaded[f.name] > 1):
                                     _function(f, overloaded[f.name] > 1) for f in items}}, 0)
    for section, materialized in (("views", False), ("materialized_views", True)):
        kept = [v for v in views if v.materialized == materialized]
        if kept:
            lines += dump({section: {v.name: _view(v, triggers) for v in kept}}, 0)
    return lines


def trigger_lines(table_schema: str, table: str, triggers: list[TriggerSpec]) -> list[str]:
    """`triggers:` under a table (4 spaces in), or nothing."""
    mine = [t for t in triggers if (t.schema, t.table) == (table_schema, table)]
    if not mine:
        return []
    return dump({"triggers": {t.name: _trigger(t) for t in mine}}, 4)


def _function_key(f: FunctionSpec, overloaded: bool) -> str:
    if not overloaded:
        return f.name
    return f"{f.name}({', '.join(a.type for a in f.arguments if a.mode != 'out')})"


def _function(f: FunctionSpec, overloaded: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name} if overloaded else {}
    if f.arguments:
        out["arguments"] = [_argument(a) for a in f.arguments]
    if f.returns is not None:
        out["returns"] = f.returns
    out["language"] = f.language
    if f.volatility != "volatile":
        out["volatility"] = f.volatility
    for key in ("strict", "security_definer"):
        if getattr(f, key):
            out[key] = True
    if f.search_path is not None:
        out["search_path"] = list(f.search_path)
    if f.parallel != "unsafe":
        out["parallel"] = f.parallel
    if f.leakproof:
        out["leakproof"] = True
    for key in ("cost", "rows"):
        value = getattr(f, key)
        if value is not None:
            out[key] = int(value) if value == int(value) else value
    if f.comment is not None:
        out["comment"] = f.comment
    if not f.check_body:
        out["check_body"] = False
    if f.library is not None:
        out["library"] = f.library
    out["body"] = f.body
    return out


def _argument(a: Any) -> Any:
    if a.name and a.mode == "in" and a.default is None and len(a.name.split()) == 1:
        return f"{a.name} {a.type}"
    out = {"name": a.name} if a.name else {}
    out["type"] = a.type
    if a.mode != "in":
        out["mode"] = a.mode
    if a.default is not None:
        out["default"] = a.default
    return out


def _view(v: ViewSpec, triggers: list[TriggerSpec]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if v.check_option:
        out["check_option"] = v.check_option
    for key in ("security_barrier", "security_invoker"):
        if getattr(v, key):
            out[key] = True
    if not v.with_data:
        out["with_data"] = False
    if v.comment is not None:
        out["comment"] = v.comment
    if v.indexes:
        out["indexes"] = [_index(v, ix) for ix in v.indexes]
    mine = [t for t in triggers if (t.schema, t.table) == (v.schema, v.name)]
    if mine and not v.materialized:
        out["triggers"] = {t.name: _trigger(t) for t in mine}
    out["query"] = v.query + "\n" if "\n" in v.query else v.query
    return out


def _index(v: ViewSpec, ix: IndexSpec) -> dict[str, Any]:
    columns = [e.column if e.column is not None else {"expression": e.expression}
               for e in ix.elements]
    out: dict[str, Any] = {}
    if not all(e.column for e in ix.elements) or \
            ix.name != naming.index_name(v.name, [str(c) for c in columns]):
        out["name"] = ix.name
    out["columns"] = columns
    if ix.unique:
        out["unique"] = True
    if ix.using != "btree":
        out["using"] = ix.using
    if ix.where is not None:
        out["where"] = ix.where
    return out


def _trigger(t: TriggerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"timing": t.timing, "events": list(t.events)}
    if t.columns:
        out["columns"] = list(t.columns)
    if t.for_each != "statement":
        out["for_each"] = t.for_each
    if t.when is not None:
        out["when"] = t.when
    out["function"] = t.function
    if t.arguments:
        out["arguments"] = list(t.arguments)
    if t.constraint:
        out["constraint"] = True
    if t.deferrable:
        out["deferrable"] = "initially_deferred" if t.initially_deferred else True
    for key in ("old_table", "new_table"):
        if getattr(t, key) is not None:
            out[key] = getattr(t, key)
    if t.enabled != "origin":
        out["enabled"] = {"disabled": False}.get(t.enabled, t.enabled)
    if t.comment is not None:
        out["comment"] = t.comment
    return out
