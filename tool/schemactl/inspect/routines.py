"""inspect, part 2: functions, procedures, views, materialized views and triggers.

Input: the inspect reader (its connection, schema filter and `skip` for what the YAML cannot
express); output: FunctionSpec, ViewSpec and TriggerSpec tuples. Four queries.

Bodies and queries are kept as PostgreSQL stores or prints them (prosrc, the standard SQL
body, pg_get_viewdef), so that the YAML creates exactly the same object again. What the
language has no key for (a C function, COST, PARALLEL, LEAKPROOF, a setting other than
search_path, a constraint trigger, transition tables, a grant) is reported, never dropped
silently: such an object is left out with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from schemactl.compile_routines import function_sql
from schemactl.inspect.queries import acl_differs, not_from_extension, ns
from schemactl.spec.sqlbody import body_error
from schemactl.spec.types import (
    ArgMode,
    ArgumentSpec,
    FunctionSpec,
    IndexElement,
    IndexSpec,
    TableSpec,
    TriggerSpec,
    ViewSpec,
)

Row = dict[str, Any]

FUNCTIONS = f"""
SELECT p.oid, n.nspname AS schema, p.proname AS name, p.prokind AS kind,
       l.lanname AS language, p.provolatile AS volatility, p.proisstrict AS strict,
       p.prosecdef AS security_definer, p.proconfig AS config, p.proleakproof AS leakproof,
       p.proparallel AS parallel, p.procost AS cost, p.prorows AS rows, p.proretset AS retset,
       pg_get_function_result(p.oid) AS result, p.prosrc AS source, p.probin AS library,
       CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) END AS sqlbody,
       p.proargnames AS arg_names, p.proargmodes::text[] AS arg_modes,
       ARRAY(SELECT format_type(u.t, NULL)
             FROM unnest(COALESCE(p.proallargtypes, p.proargtypes::oid[]))
                  WITH ORDINALITY AS u(t, i) ORDER BY u.i) AS arg_types,
       pg_get_expr(p.proargdefaults, 0) AS defaults, p.pronargdefaults AS default_count,
       obj_description(p.oid, 'pg_proc') AS comment,
       {acl_differs("p.proacl", "acldefault('f', p.proowner)")} AS has_grants
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.prokind IN ('f', 'p') AND {ns('n')} AND {not_from_extension('pg_proc', 'p.oid')}
ORDER BY n.nspname, p.proname, p.oid
"""

VIEWS = f"""
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
       pg_get_viewdef(c.oid) AS query, c.reloptions AS options,
       c.relispopulated AS populated, obj_description(c.oid, 'pg_class') AS comment,
       {acl_differs("c.relacl", "acldefault('r', c.relowner)")} AS has_grants,
       EXISTS (SELECT 1 FROM pg_description d WHERE d.objoid = c.oid
               AND d.classoid = 'pg_class'::regclass AND d.objsubid > 0) AS column_comments
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND {ns('n')} AND {not_from_extension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname
"""

VIEW_INDEXES = f"""
SELECT x.indrelid AS view_oid, i.relname AS name, x.indisunique AS is_unique,
       am.amname AS method, pg_get_expr(x.indpred, x.indrelid, true) AS predicate,
       x.indnatts <> x.indnkeyatts AS has_include,
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true)
             FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k) AS keys,
       ARRAY(SELECT COALESCE(a.attname, '')
             FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS u(num, i)
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.num
             ORDER BY u.i) AS columns,
       (SELECT bool_and(o = 0) FROM unnest(x.indoption::int2[]) AS o) AS plain_order,
       (SELECT bool_and(oc.opcdefault) FROM unnest(x.indclass::oid[]) AS u(oc_oid)
        JOIN pg_opclass oc ON oc.oid = u.oc_oid) AS default_opclasses,
       obj_description(i.oid, 'pg_class') AS comment
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE c.relkind = 'm' AND {ns('n')}
ORDER BY i.relname
"""

TRIGGERS = f"""
SELECT t.oid, n.nspname AS schema, c.relname AS table, t.tgname AS name, t.tgtype AS type,
       t.tgenabled AS enabled, t.tgconstraint <> 0 AS is_constraint,
       t.tgconstrrelid <> 0 AS has_from, t.tgdeferrable AS deferrable,
       t.tginitdeferred AS deferred,
       t.tgoldtable AS old_table, t.tgnewtable AS new_table,
       ARRAY(SELECT a.attname FROM unnest(t.tgattr::int2[]) WITH ORDINALITY AS u(num, i)
             JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = u.num
             ORDER BY u.i) AS columns,
       fn.nspname AS function_schema, f.proname AS function_name, t.tgnargs AS nargs,
       t.tgargs AS args, pg_get_triggerdef(t.oid) AS definition,
       obj_description(t.oid, 'pg_trigger') AS comment
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc f ON f.oid = t.tgfoid
JOIN pg_namespace fn ON fn.oid = f.pronamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {ns('n')}
  AND {not_from_extension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname, t.tgname
"""

# What each function, view and trigger uses: relations, types and functions (pg_depend).
USES = f"""
SELECT CASE WHEN d.classid = 'pg_rewrite'::regclass THEN r.ev_class ELSE d.objid END AS oid,
       d.refobjid AS ref,
       CASE WHEN {ns('rn')} AND {not_from_extension('pg_class', 'rc.oid')}
            THEN rc.relkind END AS ref_relkind,
       COALESCE(et.typrelid, 0) AS type_relation, et.typtype AS type_kind,
       etn.nspname AS type_schema, et.typname AS type_name,
       {not_from_extension('pg_type', 'et.oid')} AND {ns('etn')} AS user_type,
       d.refclassid = 'pg_proc'::regclass AND {ns('pn')}
           AND {not_from_extension('pg_proc', 'd.refobjid')} AS user_function
FROM pg_depend d
LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
LEFT JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_type t ON d.refclassid = 'pg_type'::regclass AND t.oid = d.refobjid
LEFT JOIN pg_type et ON et.oid = CASE WHEN t.typelem <> 0 AND t.typcategory = 'A'
                                      THEN t.typelem ELSE t.oid END
LEFT JOIN pg_namespace etn ON etn.oid = et.typnamespace
LEFT JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
LEFT JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE d.deptype = 'n'
  AND d.classid IN ('pg_rewrite'::regclass, 'pg_proc'::regclass, 'pg_trigger'::regclass)
"""

_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
_PARALLEL = {"u": "unsafe", "r": "restricted", "s": "safe"}
_MODES: dict[str, ArgMode] = {"i": "in", "o": "out", "b": "inout", "v": "variadic"}
_ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
_VIEW_OPTIONS = ("check_option", "security_barrier", "security_invoker")


@dataclass
class RoutineInspector:
    fetch: Callable[[str], list[Row]]
    skip: Callable[..., None]
    oids: dict[int, Any] = field(default_factory=dict)  # oid -> the spec read from it

    def functions(self) -> tuple[FunctionSpec, ...]:
        out = []
        for r in self.fetch(FUNCTIONS):
            spec = self.function(r)
            if spec is not None:
                out.append(spec)
        return tuple(out)

    def function(self, r: Row) -> FunctionSpec | None:
        kind = "procedure" if r["kind"] == "p" else "function"
        name = f"{r['schema']}.{r['name']}({', '.join(r['arg_types'])})"
        problem = _function_problem(r)
        if problem:
            self.skip(kind, name, problem)
            return None
        if r["has_grants"]:
            self.skip("grant", name)
        config = dict(c.split("=", 1) for c in r["config"] or [])
        spec = FunctionSpec(
            r["schema"], r["name"], _arguments(r), None if kind == "procedure" else r["result"],
            r["sqlbody"] if r["sqlbody"] is not None else r["source"], r["language"],
            volatility=cast(Any, _VOLATILITY[r["volatility"]]), strict=r["strict"],
            security_definer=r["security_definer"],
            search_path=(_search_path(config["search_path"]) if "search_path" in config
                         else None),
            parallel=cast(Any, _PARALLEL[r["parallel"]]), leakproof=r["leakproof"],
            cost=None if r["cost"] == (1 if r["language"] in ("c", "internal") else 100)
            else r["cost"],
            rows=None if r["rows"] == (1000 if r["retset"] else 0) else r["rows"],
            library=r["library"],
            comment=r["comment"])
        create = function_sql(spec)
        if body_error(spec.language, spec.body, create) is not None:
            spec = replace(spec, check_body=False)  # kept as the database holds it
        self.oids[r["oid"]] = spec
        return spec

    def views(self, tables: tuple[TableSpec, ...]) -> tuple[ViewSpec, ...]:
        indexes: dict[int, list[IndexSpec]] = {}
        rows = self.fetch(VIEWS)
        names = {r["oid"]: f"{r['schema']}.{r['name']}" for r in rows}
        for r in self.fetch(VIEW_INDEXES):
            index = self.view_index(names.get(r["view_oid"], "?"), r)
            if index is not None:
                indexes.setdefault(r["view_oid"], []).append(index)
        out = []
        for r in rows:
            kind = "materialized view" if r["kind"] == "m" else "view"
            options = dict(o.split("=", 1) for o in r["options"] or [])
            other = sorted(set(options) - set(_VIEW_OPTIONS))
            if other:
                self.skip(kind, names[r["oid"]], f"options {', '.join(other)}")
                continue
            for what in ("grant", "column comment"):
                if r["has_grants" if what == "grant" else "column_comments"]:
                    self.skip(what, names[r["oid"]])
            out.append(view := ViewSpec(
                r["schema"], r["name"], r["query"].strip().rstrip(";").rstrip(), r["kind"] == "m",
                check_option=cast(Any, options.get("check_option")),
                security_barrier=options.get("security_barrier") in ("true", "on"),
                security_invoker=options.get("security_invoker") in ("true", "on"),
                with_data=r["populated"], indexes=tuple(indexes.get(r["oid"], [])),
                comment=r["comment"]))
            self.oids[r["oid"]] = view
        return tuple(out)

    def view_index(self, view: str, r: Row) -> IndexSpec | None:
        name = f"{view}.{r['name']}"
        if r["has_include"] or not r["plain_order"] or not r["default_opclasses"] or \
                r["method"] not in ("btree", "gin", "gist", "brin", "hash"):
            self.skip("index option on a materialized view", name)
            return None
        if r["comment"]:
            self.skip("index comment", name)
        elements = tuple(IndexElement(column=column) if column else IndexElement(expression=key)
                         for column, key in zip(r["columns"], r["keys"], strict=False))
        return IndexSpec(r["name"], elements, r["is_unique"], r["method"], r["predicate"])

    def triggers(self, tables: tuple[TableSpec, ...],
                 views: tuple[ViewSpec, ...]) -> tuple[TriggerSpec, ...]:
        relations = {(t.schema, t.name) for t in tables} | {(v.schema, v.name) for v in views}
        out = []
        for r in self.fetch(TRIGGERS):
            name = f"{r['schema']}.{r['table']}.{r['name']}"
            if r["has_from"]:
                self.skip("trigger", name, "constraint trigger FROM a table")
            elif (r["schema"], r["table"]) not in relations:
                self.skip("trigger", name, "on a table the YAML cannot express")
            else:
                out.append(trigger := _trigger(r))
                self.oids[r["oid"]] = trigger
        return tuple(out)

    def usable(self, functions: tuple[FunctionSpec, ...], views: tuple[ViewSpec, ...],
               triggers: tuple[TriggerSpec, ...], tables: set[int],
               enums: set[tuple[str, str]]) -> tuple[tuple[FunctionSpec, ...],
                                                     tuple[ViewSpec, ...],
                                                     tuple[TriggerSpec, ...]]:
        """Leave out (and report) what uses something the YAML does not hold: a table it
        cannot express, a type other than an enum, an object left out itself. Else the
        YAML would hold a view or function that PostgreSQL refuses to create."""
        uses: dict[int, list[Row]] = {}
        for r in self.fetch(USES):
            if r["oid"] in self.oids:
                uses.setdefault(r["oid"], []).append(r)
        relations = tables | {oid for oid, spec in self.oids.items()
                              if isinstance(spec, ViewSpec)}
        left_out: dict[int, str] = {}
        while True:
            more = {oid: reason for oid in self.oids if oid not in left_out
                    for reason in [_missing(uses.get(oid, []), relations, enums, self.oids,
                                            left_out)] if reason}
            if not more:
                break
            left_out.update(more)
            relations -= set(more)
        for oid, reason in left_out.items():
            spec = self.oids[oid]
            kind = spec.kind if hasattr(spec, "kind") else "trigger"
            name = getattr(spec, "table", None)
            label = f"{spec.schema}.{name + '.' if name else ''}{spec.name}"
            self.skip(kind, label, f"uses {reason}, which the YAML does not hold")
        dropped = {id(self.oids[oid]) for oid in left_out}
        return (tuple(f for f in functions if id(f) not in dropped),
                tuple(v for v in views if id(v) not in dropped),
                tuple(t for t in triggers if id(t) not in dropped))


def _missing(rows: list[Row], relations: set[int], enums: set[tuple[str, str]],
             objects: dict[int, Any], left_out: dict[int, str]) -> str | None:
    for r in rows:
        if r["ref"] in left_out:
            return "an object left out"
        if r["ref_relkind"] in ("r", "p", "v", "m", "f") and r["ref"] not in relations:
            return "a table or view left out"
        if r["user_function"] and r["ref"] not in objects:
            return "a function left out"
        if r["user_type"] and r["type_kind"] is not None:
            if r["type_relation"]:
                if r["type_relation"] not in relations:
                    return f"the row type {r['type_schema']}.{r['type_name']}"
            elif (r["type_schema"], r["type_name"]) not in enums:
                return f"the type {r['type_schema']}.{r['type_name']}"
    return None


def _function_problem(r: Row) -> str | None:
    other = [c.split("=", 1)[0] for c in r["config"] or [] if not c.startswith("search_path=")]
    if other:
        return f"SET {', '.join(other)}"
    if "t" in (r["arg_modes"] or []) and not r["result"].startswith("TABLE("):
        return "table arguments"
    return None


def _arguments(r: Row) -> tuple[ArgumentSpec, ...]:
    types = r["arg_types"]
    modes = r["arg_modes"] or ["i"] * len(types)
    names = r["arg_names"] or [""] * len(types)
    defaults = split_top_level(r["defaults"]) if r["defaults"] else []
    inputs = [i for i, m in enumerate(modes) if m in ("i", "b", "v")]
    first_default = len(inputs) - len(defaults)
    default_of = {inputs[first_default + k]: d for k, d in enumerate(defaults)}
    return tuple(ArgumentSpec(types[i], names[i] or None, _MODES[m], default_of.get(i))
                 for i, m in enumerate(modes) if m != "t")


def _search_path(value: str) -> tuple[str, ...]:
    return tuple(p.strip()[1:-1].replace('""', '"') if p.strip().startswith('"') else p.strip()
                 for p in split_top_level(value))


def split_top_level(text: str) -> list[str]:
    """Split at commas outside quotes, parentheses and brackets: 'a, f(b, c)' -> [a, f(b, c)]."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote  # '' and "" re-enter at once: same result
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _trigger(r: Row) -> TriggerSpec:
    tgtype = r["type"]
    timing = "before" if tgtype & 2 else "instead of" if tgtype & 64 else "after"
    events = tuple(e for bit, e in ((4, "insert"), (16, "update"), (8, "delete"),
                                    (32, "truncate")) if tgtype & bit)
    definition = r["definition"]
    when = None
    if " WHEN (" in definition:
        start = definition.index(" WHEN (") + len(" WHEN (")
        when = definition[start:definition.rindex(") EXECUTE ")]
    arguments = tuple(a.decode() for a in bytes(r["args"]).split(b"\0")[: r["nargs"]])
    function = r["function_name"]
    if r["function_schema"] not in ("public", "pg_catalog"):
        function = f"{r['function_schema']}.{function}"
    return TriggerSpec(
        r["schema"], r["table"], r["name"], cast(Any, timing), cast(Any, events), function,
        "row" if tgtype & 1 else "statement", tuple(r["columns"]), when, arguments,
        cast(Any, _ENABLED[r["enabled"]]), r["comment"], r["is_constraint"],
        r["deferrable"], r["deferred"], r["old_table"], r["new_table"])
