"""compile, part 2: SchemaSpec -> the DDL of its functions, procedures, views, materialized
views and triggers, one Definition per object.

SQLAlchemy has no model of these; their statements are written here, once. Every name is
quoted; every piece of SQL text was checked by validate to be what its place needs (a type,
one expression, one SELECT), and a body goes in a dollar quote whose tag it does not contain.
diff/shadow.py runs these statements to build the desired database, where PostgreSQL prints
each object in its own form; the plan's statements are those printed forms.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemactl.spec.types import (
    ArgumentSpec,
    FunctionSpec,
    IndexSpec,
    Mark,
    SchemaSpec,
    TriggerSpec,
    ViewSpec,
)
from schemactl.sqltext import qualified, quote_ident, quote_literal


@dataclass(frozen=True)
class Definition:
    label: str  # e.g. "view public.customer_list", for errors
    mark: Mark
    statements: tuple[str, ...]
    early: bool = False  # may be made before the tables (which may use it)


def definitions(spec: SchemaSpec) -> list[Definition]:
    """Functions first, then views, then triggers; diff/shadow.py finds an order that works.

    Functions are created early with their bodies unchecked, as pg_dump does (a table's
    CHECK or DEFAULT may call one); once everything else exists they are created once more
    with their bodies checked, so a body that names a missing table is still an error."""
    out = [Definition(f"{f.kind} {f.schema}.{f.name}", f.mark,
                      (UNCHECKED, function_sql(f), CHECKED,
                       *_comment(f.kind, _signature(f), f.comment)), early=True)
           for f in spec.functions]
    out += [Definition(f"{f.kind} {f.schema}.{f.name}", f.mark, (function_sql(f),))
            for f in spec.functions if f.check_body]
    out += [Definition(f"{v.kind} {v.schema}.{v.name}", v.mark, view_statements(v))
            for v in spec.views]
    out += [Definition(f"trigger {t.name} on {t.schema}.{t.table}", t.mark,
                       trigger_statements(t)) for t in spec.triggers]
    return out


# How pg_dump creates functions: their bodies are not checked again (what they use may come
# later in the script). Migrations create functions so too; plan has checked them already.
# Session-wide, not LOCAL: the shadow replays revisions on autocommit connections, where
# SET LOCAL would do nothing; CHECKED resets it right after the function.
UNCHECKED = "SET check_function_bodies = off"
CHECKED = "RESET check_function_bodies"


def function_sql(f: FunctionSpec) -> str:
    parts = [f"CREATE OR REPLACE {f.kind.upper()} {qualified(f.schema, f.name)}"
             f"({', '.join(_argument(a) for a in f.arguments)})"]
    if f.returns is not None:
        parts.append(f"RETURNS {f.returns}")
    parts.append(f"LANGUAGE {quote_ident(f.language)}")
    if not f.is_procedure:
        parts.append(f.volatility.upper())
        if f.strict:
            parts.append("STRICT")
    if f.security_definer:
        parts.append("SECURITY DEFINER")
    if f.parallel != "unsafe":
        parts.append(f"PARALLEL {f.parallel.upper()}")
    if f.leakproof:
        parts.append("LEAKPROOF")
    parts += [f"{word} {value:g}" for word, value in (("COST", f.cost), ("ROWS", f.rows))
              if value is not None]
    if f.search_path is not None:
        paths = ", ".join(quote_literal(p) for p in f.search_path) or "''"
        parts.append(f"SET search_path TO {paths}")
    return "\n".join(parts) + "\n" + _body(f)


def _body(f: FunctionSpec) -> str:
    from schemactl.spec.sqlbody import is_standard_body

    if f.language == "sql" and is_standard_body(f.body):
        return f.body
    tag, n = "$function$", 0
    while tag in f.body or tag in (f.library or ""):
        n += 1
        tag = f"$function{n}$"
    library = f"{tag}{f.library}{tag}, " if f.library is not None else ""
    return f"AS {library}{tag}{f.body}{tag}"


def _argument(a: ArgumentSpec) -> str:
    words = [] if a.mode == "in" else [a.mode.upper()]
    if a.name is not None:
        words.append(quote_ident(a.name))
    words.append(a.type)
    if a.default is not None:
        words.append(f"DEFAULT {a.default}")
    return " ".join(words)


def _signature(f: FunctionSpec) -> str:
    types = ", ".join(a.type for a in f.arguments if a.mode != "out")
    return f"{qualified(f.schema, f.name)}({types})"


def view_statements(v: ViewSpec) -> tuple[str, ...]:
    name = qualified(v.schema, v.name)
    columns = f" ({', '.join(quote_ident(c) for c in v.columns)})" if v.columns else ""
    if v.materialized:
        data = "WITH DATA" if v.with_data else "WITH NO DATA"
        create = f"CREATE MATERIALIZED VIEW {name}{columns} AS\n{v.query}\n{data}"
        return (create, *(index_sql(v, ix) for ix in v.indexes),
                *_comment("materialized view", name, v.comment))
    options = [o for o, on in (("security_barrier", v.security_barrier),
                               ("security_invoker", v.security_invoker)) if on]
    with_ = f" WITH ({', '.join(f'{o}=true' for o in options)})" if options else ""
    check = f"\nWITH {v.check_option.upper()} CHECK OPTION" if v.check_option else ""
    return (f"CREATE OR REPLACE VIEW {name}{columns}{with_} AS\n{v.query}{check}",
            *_comment("view", name, v.comment))


def index_sql(v: ViewSpec, ix: IndexSpec) -> str:
    keys = ", ".join(quote_ident(e.column) if e.column is not None else f"({e.expression})"
                     for e in ix.elements)
    unique = "UNIQUE " if ix.unique else ""
    where = f" WHERE {ix.where}" if ix.where else ""
    return (f"CREATE {unique}INDEX {quote_ident(ix.name)} ON {qualified(v.schema, v.name)} "
            f"USING {ix.using} ({keys}){where}")


def trigger_statements(t: TriggerSpec) -> tuple[str, ...]:
    table = qualified(t.schema, t.table)
    events = []
    for event in t.events:
        if event == "update" and t.columns:
            events.append("UPDATE OF " + ", ".join(quote_ident(c) for c in t.columns))
        else:
            events.append(event.upper())
    when = f"\nWHEN ({t.when})" if t.when else ""
    function = ".".join(quote_ident(p) for p in t.function.rsplit(".", 1))
    arguments = ", ".join(quote_literal(a) for a in t.arguments)
    constraint = "CONSTRAINT " if t.constraint else ""
    deferrable = ("\nDEFERRABLE" if t.deferrable else "") + (
        " INITIALLY DEFERRED" if t.initially_deferred else "")
    referencing = " ".join(f"{which} TABLE AS {quote_ident(name)}" for which, name in (
        ("OLD", t.old_table), ("NEW", t.new_table)) if name)
    referencing = f"\nREFERENCING {referencing}" if referencing else ""
    create = (f"CREATE {constraint}TRIGGER {quote_ident(t.name)} {t.timing.upper()} "
              f"{' OR '.join(events)} ON {table}{deferrable}{referencing}\n"
              f"FOR EACH {t.for_each.upper()}{when}\n"
              f"EXECUTE FUNCTION {function}({arguments})")
    return (create, *enable_trigger_sql(t.schema, t.table, t.name, t.enabled),
            *_comment("trigger", f"{quote_ident(t.name)} ON {table}", t.comment))


def enable_trigger_sql(schema: str, table: str, name: str, enabled: str) -> list[str]:
    """The ALTER TABLE that gives a trigger this enabled state (none for the default)."""
    verb = {"origin": "ENABLE", "disabled": "DISABLE", "replica": "ENABLE REPLICA",
            "always": "ENABLE ALWAYS"}[enabled]
    if enabled == "origin":
        return []
    return [f"ALTER TABLE {qualified(schema, table)} {verb} TRIGGER {quote_ident(name)}"]


def _comment(kind: str, target: str, comment: str | None) -> list[str]:
    if comment is None:
        return []
    return [f"COMMENT ON {kind.upper()} {target} IS {quote_literal(comment)}"]
