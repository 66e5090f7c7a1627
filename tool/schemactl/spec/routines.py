"""validate, part 2: functions, procedures, views, materialized views and triggers.

Input: each file's top-level sections (and the tables' and views' `triggers:`), read with
the validator's NodeReader; output: FunctionSpec, ViewSpec and TriggerSpec tuples, and
diagnostics on the same reader. Run after tables, so triggers can check their columns.

What is checked here, before any database is touched: the shape of every entry, names,
choices, that types, defaults, WHEN conditions, view queries and SQL and PL/pgSQL bodies
parse with PostgreSQL's own grammar (spec/sqlbody.py). Whether the tables, columns and
functions a body uses exist is known only to PostgreSQL: `plan` creates every object in a
scratch database and names the YAML object (file:line:column) in that error.

Codes: E802 SQL that PostgreSQL's grammar refuses (query, body, type);
E309 duplicate function signature, or a view named like a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, cast

import yaml

from schemactl.spec.sqlbody import (
    BodyError,
    body_error,
    query_error,
    returns_error,
    type_error,
)
from schemactl.spec.types import (
    DEFAULT_SCHEMA,
    ArgMode,
    ArgumentSpec,
    FunctionSpec,
    IndexElement,
    IndexMethod,
    IndexSpec,
    Mark,
    TableSpec,
    TriggerEvent,
    TriggerSpec,
    TriggerTiming,
    ViewSpec,
    Volatility,
)
from schemactl.spec.yamlnodes import Entry, NodeReader, is_null, is_text, merged_pairs

SECTIONS = ("functions", "procedures", "views", "materialized_views")
FUNCTION_KEYS = ("name", "schema", "arguments", "returns", "language", "volatility", "strict",
                 "security_definer", "search_path", "parallel", "leakproof", "cost", "rows",
                 "library", "body", "check_body", "comment")
PROCEDURE_KEYS = ("name", "schema", "arguments", "language", "security_definer",
                  "search_path", "library", "body", "check_body", "comment")
ARGUMENT_KEYS = ("name", "type", "mode", "default")
VIEW_KEYS = ("schema", "query", "columns", "check_option", "security_barrier",
             "security_invoker", "comment", "triggers")
MATERIALIZED_VIEW_KEYS = ("schema", "query", "with_data", "indexes", "comment")
MV_INDEX_KEYS = ("name", "columns", "unique", "using", "where")
TRIGGER_KEYS = ("timing", "events", "columns", "for_each", "when", "function", "arguments",
                "enabled", "constraint", "deferrable", "old_table", "new_table", "comment")

ARG_MODES: tuple[ArgMode, ...] = ("in", "out", "inout", "variadic")
VOLATILITIES: tuple[Volatility, ...] = ("volatile", "stable", "immutable")
TIMINGS: tuple[TriggerTiming, ...] = ("before", "after", "instead of")
EVENTS: tuple[TriggerEvent, ...] = ("insert", "update", "delete", "truncate")
ENABLED = {"true": "origin", "false": "disabled", "replica": "replica", "always": "always"}
INDEX_METHODS: tuple[IndexMethod, ...] = ("btree", "gin", "gist", "brin", "hash")
_LANGUAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SourceFile(Protocol):
    file: str
    schema: str
    sections: dict[str, Entry]


class RoutineReader:
    """Reads the sections of SECTIONS, and triggers, with the validator's reader."""

    def __init__(self, reader: NodeReader, tables: Sequence[TableSpec]) -> None:
        self.r = reader
        self.tables = {(t.schema, t.name): t for t in tables}
        self.functions: list[FunctionSpec] = []
        self.views: list[ViewSpec] = []
        self.triggers: list[TriggerSpec] = []

    def read(self, files: Iterable[SourceFile]) -> None:
        for f in files:
            self.r.file = f.file
            for section in ("functions", "procedures"):
                if section in f.sections:
                    self._functions(f, f.sections[section].value, section == "procedures")
            for section in ("views", "materialized_views"):
                if section in f.sections:
                    self._views(f, f.sections[section].value, section == "materialized_views")
            if "tables" in f.sections:
                self._table_triggers(f, f.sections["tables"].value)
        self._check_names()

    # ---- functions and procedures -------------------------------------------------------

    def _functions(self, f: SourceFile, node: yaml.Node, procedures: bool) -> None:
        what = "procedure" if procedures else "function"
        for entry in self.r.mapping(node, None, None, f"a mapping of {what} names", what) or []:
            spec = self._function(f, entry, procedures)
            if spec is not None:
                self.functions.append(spec)

    def _function(self, f: SourceFile, entry: Entry, procedure: bool) -> FunctionSpec | None:
        r = self.r
        label = r.name(entry.key_node, None, "procedure name" if procedure else "function name")
        if label is None:
            return None
        obj = f"{'procedure' if procedure else 'function'} {label}"
        keys = self._keys(entry.value, obj, PROCEDURE_KEYS if procedure else FUNCTION_KEYS)
        if keys is None:
            return None
        name = r.name(keys["name"].value, obj, "name") if "name" in keys else label
        schema = self._schema(f, keys, obj)
        missing = [k for k in (("body",) if procedure else ("returns", "body")) if k not in keys]
        if missing:
            r.error("E103", entry.key_node, f"{obj.split()[0]} needs {' and '.join(missing)}:",
                    obj)
            return None
        arguments = self._arguments(keys, obj)
        returns = None if procedure else self._sql_piece(keys["returns"].value, obj, "returns",
                                                         returns_error)
        language = "sql"
        if "language" in keys:
            language = (r.text(keys["language"].value, obj, "language") or "sql").lower()
            if not _LANGUAGE.match(language):
                r.error("E104", keys["language"].value, f"language {language!r} is not a name",
                        obj)
        body = r.text(keys["body"].value, obj, "body")
        if name is None or arguments is None or body is None or (returns is None
                                                                  and not procedure):
            return None
        spec = FunctionSpec(
            schema, name, arguments, returns, body, language,
            volatility=cast(Volatility, self._choice(keys, "volatility", obj, VOLATILITIES,
                                                     "volatile")),
            strict=self._flag(keys, "strict", obj),
            security_definer=self._flag(keys, "security_definer", obj),
            search_path=self._search_path(keys, obj),
            parallel=cast(Any, self._choice(keys, "parallel", obj,
                                            ("unsafe", "restricted", "safe"), "unsafe")),
            leakproof=self._flag(keys, "leakproof", obj),
            cost=self._number(keys, "cost", obj), rows=self._number(keys, "rows", obj),
            library=r.text(keys["library"].value, obj, "library") if "library" in keys else None,
            comment=self._comment(keys, obj),
            check_body=self._flag(keys, "check_body", obj, True),
            mark=r.mark(entry.key_node))
        if spec.check_body:
            self._check_body(spec, keys["body"].value, obj)
        return spec

    def _arguments(self, keys: dict[str, Entry], obj: str) -> tuple[ArgumentSpec, ...] | None:
        if "arguments" not in keys or is_null(keys["arguments"].value):
            return ()
        items = self.r.sequence(keys["arguments"].value, obj, "a list of arguments")
        if items is None:
            return None
        arguments = [self._argument(item, obj) for item in items]
        if any(a is None for a in arguments):
            return None
        return tuple(a for a in arguments if a is not None)

    def _argument(self, node: yaml.Node, obj: str) -> ArgumentSpec | None:
        """`name type`, or {name, type, mode, default}."""
        r = self.r
        if is_text(node):
            words = str(node.value).split(None, 1)
            if len(words) != 2:
                r.error("E104", node, f"argument {node.value!r} is not `name type`", obj,
                        "write {type: ...} for an argument without a name")
                return None
            name = r.name(node, obj, "argument name") and words[0]
            type_ = self._sql_text(words[1], node, obj, "argument type", type_error)
            return ArgumentSpec(type_, name) if name and type_ else None
        keys = self._keys(node, obj, ARGUMENT_KEYS, "`name type` or {name, type, mode, default}")
        if keys is None:
            return None
        if "type" not in keys:
            r.error("E103", node, "argument needs a type:", obj)
            return None
        type_ = self._sql_piece(keys["type"].value, obj, "argument type", type_error)
        name = r.name(keys["name"].value, obj, "argument name") if "name" in keys else None
        mode = cast(ArgMode, self._choice(keys, "mode", obj, ARG_MODES, "in"))
        default = None
        if "default" in keys:
            parsed = r.fragment(keys["default"].value, obj, "argument default")
            default = parsed[0] if parsed else None
        return ArgumentSpec(type_, name, mode, default) if type_ else None

    def _search_path(self, keys: dict[str, Entry], obj: str) -> tuple[str, ...] | None:
        if "search_path" not in keys:
            return None
        node = keys["search_path"].value
        items = [node] if is_text(node) else self.r.sequence(node, obj, "a list of schema names")
        names = [self.r.name(item, obj, "schema name") for item in items or []]
        return tuple(n for n in names if n is not None)

    def _check_body(self, spec: FunctionSpec, node: yaml.Node, obj: str) -> None:
        from schemactl.compile_routines import function_sql  # DDL lives in compile

        self._report(body_error(spec.language, spec.body, function_sql(spec)), node, obj, "body")

    # ---- views and materialized views -------------------------------------------------------

    def _views(self, f: SourceFile, node: yaml.Node, materialized: bool) -> None:
        what = "materialized view" if materialized else "view"
        for entry in self.r.mapping(node, None, None, f"a mapping of {what} names", what) or []:
            spec = self._view(f, entry, materialized)
            if spec is not None:
                self.views.append(spec)

    def _view(self, f: SourceFile, entry: Entry, materialized: bool) -> ViewSpec | None:
        r = self.r
        kind = "materialized view" if materialized else "view"
        name = r.name(entry.key_node, None, f"{kind} name")
        if name is None:
            return None
        keys = self._keys(entry.value, f"{kind} {name}",
                          MATERIALIZED_VIEW_KEYS if materialized else VIEW_KEYS)
        if keys is None:
            return None
        schema = self._schema(f, keys, f"{kind} {name}")
        obj = f"{kind} {_qualified(schema, name)}"
        if "query" not in keys:
            r.error("E103", entry.key_node, f"{kind} needs a query:", obj)
            return None
        query = self._sql_piece(keys["query"].value, obj, "query", query_error)
        if query is None:
            return None
        columns: tuple[str, ...] = ()
        if "columns" in keys:
            items = r.sequence(keys["columns"].value, obj, "a list of column names") or []
            columns = tuple(n for n in (r.name(i, obj, "column name") for i in items) if n)
        check = keys.get("check_option")
        spec = ViewSpec(
            schema, name, query.strip().rstrip(";").rstrip(), materialized, columns,
            check_option=cast(Any, r.choice(check.value, obj, "check_option",
                                            ("local", "cascaded")) if check else None),
            security_barrier=self._flag(keys, "security_barrier", obj),
            security_invoker=self._flag(keys, "security_invoker", obj),
            with_data=self._flag(keys, "with_data", obj, True),
            comment=self._comment(keys, obj), mark=r.mark(entry.key_node))
        if materialized and "indexes" in keys:
            spec = _with_indexes(spec, self._mv_indexes(spec, keys["indexes"].value, obj))
        if "triggers" in keys:
            self._triggers(schema, name, None, keys["triggers"].value)
        return spec

    def _mv_indexes(self, view: ViewSpec, node: yaml.Node, obj: str) -> tuple[IndexSpec, ...]:
        from schemactl.spec import naming

        out = []
        for item in self.r.sequence(node, obj, "a list of indexes") or []:
            keys = self._keys(item, obj, MV_INDEX_KEYS, "{columns, name, unique, using, where}")
            if keys is None:
                continue
            if "columns" not in keys:
                self.r.error("E103", item, "index needs columns:", obj)
                continue
            elements = []
            for c in self.r.sequence(keys["columns"].value, obj, "a list of columns") or []:
                if is_text(c):
                    elements.append(IndexElement(column=str(c.value)))
                    continue
                expr = self._keys(c, obj, ("expression",), "a column or {expression}")
                parsed = (self.r.fragment(expr["expression"].value, obj, "index expression")
                          if expr and "expression" in expr else None)
                if parsed:
                    elements.append(IndexElement(expression=parsed[0]))
            where = self.r.fragment(keys["where"].value, obj, "where") if "where" in keys else None
            name = (self.r.name(keys["name"].value, obj, "index name") if "name" in keys
                    else naming.index_name(view.name, [e.column or "expr" for e in elements]))
            using = cast(IndexMethod, self._choice(keys, "using", obj, INDEX_METHODS, "btree"))
            if name and elements:
                out.append(IndexSpec(name, tuple(elements), self._flag(keys, "unique", obj),
                                     using, where[0] if where else None,
                                     mark=self.r.mark(item)))
        return tuple(out)

    # ---- triggers -------------------------------------------------------------------------

    def _table_triggers(self, f: SourceFile, node: yaml.Node) -> None:
        """The `triggers:` of each table (the rest of the table is read by validate.py)."""
        if not isinstance(node, yaml.MappingNode):
            return
        for key_node, value in node.value:
            if not (is_text(key_node) and isinstance(value, yaml.MappingNode)):
                continue
            try:
                pairs = {str(k.value): v for k, v in merged_pairs(value) if is_text(k)}
            except yaml.YAMLError:
                continue
            if "triggers" not in pairs or is_null(pairs["triggers"]):
                continue
            schema = f.schema
            if "schema" in pairs and is_text(pairs["schema"]):
                schema = str(pairs["schema"].value)
            table = self.tables.get((schema, str(key_node.value)))
            self._triggers(schema, str(key_node.value), table, pairs["triggers"])

    def _triggers(self, schema: str, table: str, spec: TableSpec | None,
                  node: yaml.Node) -> None:
        on = _qualified(schema, table)
        for entry in self.r.mapping(node, f"table {on}", None, "a mapping of trigger names",
                                    "trigger") or []:
            trigger = self._trigger(schema, table, spec, entry)
            if trigger is not None:
                self.triggers.append(trigger)

    def _trigger(self, schema: str, table: str, spec: TableSpec | None,
                 entry: Entry) -> TriggerSpec | None:
        r = self.r
        name = r.name(entry.key_node, None, "trigger name")
        if name is None:
            return None
        obj = f"trigger {name} on {_qualified(schema, table)}"
        keys = self._keys(entry.value, obj, TRIGGER_KEYS)
        if keys is None:
            return None
        missing = [k for k in ("timing", "events", "function") if k not in keys]
        if missing:
            r.error("E103", entry.key_node, f"trigger needs {' and '.join(missing)}:", obj)
            return None
        timing = r.choice(keys["timing"].value, obj, "timing", TIMINGS)
        events = self._events(keys["events"].value, obj)
        function = r.text(keys["function"].value, obj, "function")
        for_each = self._choice(keys, "for_each", obj, ("row", "statement"), "statement")
        columns = self._trigger_columns(keys, spec, events or (), obj)
        when = None
        if "when" in keys:
            parsed = r.fragment(keys["when"].value, obj, "when")
            when = parsed[0] if parsed else None
        arguments: tuple[str, ...] = ()
        if "arguments" in keys:
            items = r.sequence(keys["arguments"].value, obj, "a list of arguments") or []
            arguments = tuple(str(i.value) for i in items if r.text(i, obj, "argument"))
        enabled = "origin"
        if "enabled" in keys:
            node = keys["enabled"].value
            value = str(node.value).lower() if is_text(node) else ""
            if value not in ENABLED:
                r.error("E104", node, "enabled must be true, false, replica or always", obj)
            enabled = ENABLED.get(value, "origin")
        constraint = self._flag(keys, "constraint", obj)
        deferrable = self._deferrable(keys, obj)
        if constraint and (timing != "after" or for_each != "row"):
            r.error("E104", keys["constraint"].value, "a constraint trigger is after ... for "
                    "each row", obj)
        if deferrable[0] and not constraint:
            r.error("E104", keys["deferrable"].value, "only a constraint trigger is deferrable",
                    obj)
        transition = [r.name(keys[k].value, obj, k) if k in keys else None
                      for k in ("old_table", "new_table")]
        if any(transition) and timing != "after":
            r.error("E104", entry.key_node, "old_table and new_table need an after trigger", obj)
        if timing is None or not events or not function:
            return None
        return TriggerSpec(schema, table, name, cast(TriggerTiming, timing), events, function,
                           cast(Any, for_each), columns, when, arguments, cast(Any, enabled),
                           self._comment(keys, obj), constraint, *deferrable,
                           old_table=transition[0], new_table=transition[1],
                           mark=r.mark(entry.key_node))

    def _deferrable(self, keys: dict[str, Entry], obj: str) -> tuple[bool, bool]:
        """deferrable: true, false or initially_deferred (as on foreign keys)."""
        if "deferrable" not in keys:
            return False, False
        node = keys["deferrable"].value
        if is_text(node) and str(node.value) == "initially_deferred":
            return True, True
        return bool(self.r.flag(node, obj, "deferrable")), False

    def _events(self, node: yaml.Node, obj: str) -> tuple[TriggerEvent, ...] | None:
        items = [node] if is_text(node) else self.r.sequence(node, obj, "a list of events")
        if not items:
            if items is not None:
                self.r.error("E105", node, "trigger needs at least one event", obj)
            return None
        events = [self.r.choice(item, obj, "event", EVENTS) for item in items]
        if None in events:
            return None
        return tuple(cast(TriggerEvent, e) for e in dict.fromkeys(events))

    def _trigger_columns(self, keys: dict[str, Entry], table: TableSpec | None,
                         events: Sequence[str], obj: str) -> tuple[str, ...]:
        if "columns" not in keys:
            return ()
        node = keys["columns"].value
        if "update" not in events:
            self.r.error("E104", node, "columns (UPDATE OF) needs the update event", obj)
        names = []
        for item in self.r.sequence(node, obj, "a list of column names") or []:
            name = self.r.name(item, obj, "column name")
            if name and table is not None and table.column(name) is None:
                self.r.error("E401", item, f"unknown column {name!r}", obj)
            elif name:
                names.append(name)
        return tuple(names)

    # ---- shared -------------------------------------------------------------------------

    def _check_names(self) -> None:
        signatures: dict[tuple[str, str, tuple[str, ...]], Mark] = {}
        for fn in self.functions:
            key = (fn.schema, fn.name, tuple(" ".join(a.type.lower().split())
                                             for a in fn.arguments if a.mode != "out"))
            if key in signatures:
                self.r.error("E309", fn.mark, f"{fn.kind} {fn.name}({', '.join(key[2])}) is "
                             f"already defined at {signatures[key]}", f"{fn.kind} {fn.name}")
            signatures.setdefault(key, fn.mark)
        relations: dict[tuple[str, str], str] = {k: "table" for k in self.tables}
        for view in self.views:
            other = relations.get((view.schema, view.name))
            if other is not None:
                self.r.error("E309", view.mark, f"{view.kind} {view.name!r}: a {other} of that "
                             "name is already defined", f"{view.kind} {view.name}")
            relations[(view.schema, view.name)] = view.kind
        views = {(v.schema, v.name): v for v in self.views}
        for trigger in self.triggers:
            target = views.get((trigger.schema, trigger.table))
            on_view = target is not None and not target.materialized
            if (trigger.timing == "instead of" and not on_view) or (
                    on_view and trigger.for_each == "row" and trigger.timing != "instead of"):
                self.r.error("E104", trigger.mark, "instead of triggers are for views, and a "
                             "row trigger on a view must be instead of", f"trigger {trigger.name}")

    def _keys(self, node: yaml.Node, obj: str, allowed: Sequence[str],
              expected: str = "a mapping") -> dict[str, Entry] | None:
        entries = self.r.mapping(node, obj, allowed, expected)
        return None if entries is None else {e.key: e for e in entries}

    def _schema(self, f: SourceFile, keys: dict[str, Entry], obj: str) -> str:
        if "schema" not in keys:
            return f.schema
        name = self.r.name(keys["schema"].value, obj, "schema name")
        if name is not None and (name.startswith("pg_") or name == "information_schema"):
            self.r.error("E308", keys["schema"].value,
                         f"schema name {name!r} is reserved by PostgreSQL", obj)
            return f.schema
        return name or f.schema

    def _flag(self, keys: dict[str, Entry], key: str, obj: str, default: bool = False) -> bool:
        if key not in keys:
            return default
        value = self.r.flag(keys[key].value, obj, key)
        return default if value is None else value

    def _choice(self, keys: dict[str, Entry], key: str, obj: str, choices: Sequence[str],
                default: str) -> str:
        if key not in keys:
            return default
        return self.r.choice(keys[key].value, obj, key, choices) or default

    def _number(self, keys: dict[str, Entry], key: str, obj: str) -> float | None:
        if key not in keys:
            return None
        node = keys[key].value
        try:
            value = float(str(node.value)) if is_text(node) else -1.0
        except ValueError:
            value = -1.0
        if not value > 0:
            self.r.error("E104", node, f"{key} must be a positive number", obj)
            return None
        return value

    def _comment(self, keys: dict[str, Entry], obj: str) -> str | None:
        return self.r.text(keys["comment"].value, obj, "comment") if "comment" in keys else None

    def _sql_piece(self, node: yaml.Node, obj: str, what: str,
                   check: Any) -> str | None:
        text = self.r.text(node, obj, what)
        return None if text is None else self._sql_text(text, node, obj, what, check)

    def _sql_text(self, text: str, node: yaml.Node, obj: str, what: str,
                  check: Any) -> str | None:
        error = check(text)
        self._report(error, node, obj, what)
        return None if error is not None else text

    def _report(self, error: BodyError | None, node: yaml.Node, obj: str, what: str) -> None:
        if error is not None:
            self.r.error("E802", _position(self.r.mark(node), node, error.offset),
                         f"{what}: {error.message}", obj,
                         "PostgreSQL's grammar refuses this SQL")


def _position(start: Mark, node: yaml.Node, offset: int | None) -> Mark:
    """Where in the file the offset into a scalar's text is (exact for block scalars and
    plain one-line text; the scalar's start otherwise)."""
    if offset is None or not isinstance(node, yaml.ScalarNode):
        return start
    text = str(node.value)[:offset]
    line, column = text.count("\n"), offset - (text.rfind("\n") + 1)
    if node.style in ("|", ">"):
        indent = _block_indent(node)
        return Mark(start.file, start.line + 1 + line, indent + column + 1)
    if line == 0 and node.style in (None, "", "'", '"'):
        quote = 1 if node.style in ("'", '"') else 0
        return Mark(start.file, start.line, start.column + quote + column)
    return start


def _block_indent(node: yaml.ScalarNode) -> int:
    """The indentation of a block scalar's content lines, read from the document itself."""
    buffer = node.start_mark.buffer
    if buffer is None:
        return 0
    rest = buffer[node.start_mark.pointer:].split("\n", 2)
    if len(rest) < 2:
        return 0
    line = rest[1]
    return len(line) - len(line.lstrip(" "))


def _with_indexes(view: ViewSpec, indexes: tuple[IndexSpec, ...]) -> ViewSpec:
    from dataclasses import replace

    return replace(view, indexes=indexes)


def _qualified(schema: str, name: str) -> str:
    return name if schema == DEFAULT_SCHEMA else f"{schema}.{name}"
