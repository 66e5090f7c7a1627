"""Functions, procedures, views, materialized views (and their indexes) and triggers, as
PostgreSQL prints them: Connection -> {ObjectKey: DbObject}. Part of the Catalog.

PostgreSQL's printed form is the object: pg_get_functiondef, pg_get_viewdef,
pg_get_indexdef and pg_get_triggerdef. Equal text means an equal object, so the way the YAML
was formatted never shows as a change, and the statements that (re)create an object in a
migration are that printed form. Each object also records what it uses, from pg_depend: the
columns, tables, types and other objects a change to which forces it to be dropped first and
created again (diff/comparators/routines.py). Five queries for the whole database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.types import Integer

from schemactl.compile_routines import CHECKED, UNCHECKED
from schemactl.sqltext import qualified, quote_ident, quote_literal

# (kind, schema, parent, name): parent is a trigger's table or an index's materialized view
# ("" otherwise); a function's name carries its argument types: "f(integer, text)".
# What objects use is keyed the same way, with kinds "table", "column" and "type" too.
ObjectKey = tuple[str, str, str, str]

_USER_NAMESPACE = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = {oid} AND e.deptype = 'e')
"""


@dataclass(frozen=True)
class DbObject:
    kind: str  # function, procedure, view, materialized view, index, trigger
    schema: str
    parent: str
    name: str
    definition: str  # PostgreSQL's printed form: what is compared
    create: tuple[str, ...]  # statements that create it as it is, comment included
    drop: str
    # CREATE OR REPLACE statements, with what must stay equal for PostgreSQL to allow them
    # (a view's leading columns, a function's result and arguments); () when it has none.
    replace: tuple[str, ...] = ()
    replace_key: str = ""
    comment: str | None = None
    comment_sql: str = ""  # COMMENT ON ... IS, with {} where the text goes
    uses: frozenset[ObjectKey] = frozenset()
    oid: int = field(default=0, compare=False)

    @property
    def key(self) -> ObjectKey:
        return (self.kind, self.schema, self.parent, self.name)

    @property
    def label(self) -> str:
        if self.parent:
            return f"{self.kind} {self.name} on {self.schema}.{self.parent}"
        return f"{self.kind} {self.schema}.{self.name}"


def read_objects(conn: Connection) -> dict[ObjectKey, DbObject]:
    objects = [*_functions(conn), *_views(conn), *_view_indexes(conn), *_triggers(conn)]
    by_oid = {o.oid: o for o in objects}
    uses = _dependencies(conn, by_oid)
    return {o.key: _with_uses(o, uses.get(o.oid, set())) for o in objects}


def _with_uses(o: DbObject, uses: set[ObjectKey]) -> DbObject:
    from dataclasses import replace

    return replace(o, uses=frozenset(uses - {o.key}))


def comment_statement(o: DbObject, comment: str | None) -> str:
    return o.comment_sql.format("NULL" if comment is None else quote_literal(comment))


def _functions(conn: Connection) -> list[DbObject]:
    out = []
    for row in conn.execute(text(f"""
            SELECT p.oid, n.nspname, p.proname, p.prokind, oidvectortypes(p.proargtypes),
                   pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid),
                   pg_get_function_result(p.oid), pg_get_function_arguments(p.oid),
                   obj_description(p.oid, 'pg_proc')
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.prokind IN ('f', 'p') AND {_USER_NAMESPACE.format(oid='p.oid')}""")):
        oid, schema, name, prokind, types, identity, definition, result, args, comment = row
        kind = "procedure" if prokind == "p" else "function"
        target = f"{qualified(schema, name)}({identity})"
        statements = (UNCHECKED, definition.rstrip("\n"), CHECKED)
        out.append(DbObject(
            kind, schema, "", f"{name}({types})", definition,
            statements + _comment(kind, target, comment), f"DROP {kind.upper()} {target}",
            statements, f"{kind} {result} ({args})", comment,
            f"COMMENT ON {kind.upper()} {target} IS {{}}", oid=oid))
    return out


def _views(conn: Connection) -> list[DbObject]:
    out = []
    for row in conn.execute(text(f"""
            SELECT c.oid, n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid),
                   c.reloptions, c.relispopulated, obj_description(c.oid, 'pg_class'),
                   ARRAY(SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid,
                                a.atttypmod)
                         FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                         AND NOT a.attisdropped ORDER BY a.attnum)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('v', 'm') AND {_USER_NAMESPACE.format(oid='c.oid')}""")):
        oid, schema, name, relkind, query, options, populated, comment, columns = row
        target = qualified(schema, name)
        query = query.strip().rstrip(";")
        if relkind == "m":
            data = "WITH DATA" if populated else "WITH NO DATA"
            create = f"CREATE MATERIALIZED VIEW {target} AS\n{query}\n{data}"
            out.append(DbObject(
                "materialized view", schema, "", name, create,
                (create, *_comment("materialized view", target, comment)),
                f"DROP MATERIALIZED VIEW {target}", comment=comment,
                comment_sql=f"COMMENT ON MATERIALIZED VIEW {target} IS {{}}", oid=oid))
            continue
        create = _view_sql(target, query, options or [])
        out.append(DbObject(
            "view", schema, "", name, create, (create, *_comment("view", target, comment)),
            f"DROP VIEW {target}", (create,), "\n".join(columns), comment,
            f"COMMENT ON VIEW {target} IS {{}}", oid=oid))
    return out


def _view_sql(target: str, query: str, options: list[str]) -> str:
    check = next((o.split("=", 1)[1] for o in options if o.startswith("check_option=")), None)
    rest = [o for o in options if not o.startswith("check_option=")]
    with_ = f" WITH ({', '.join(rest)})" if rest else ""
    tail = f"\n  WITH {check.upper()} CHECK OPTION" if check else ""
    return f"CREATE OR REPLACE VIEW {target}{with_} AS\n{query}{tail}"


def _view_indexes(conn: Connection) -> list[DbObject]:
    out = []
    for oid, schema, view, name, definition, comment in conn.execute(text(f"""
            SELECT i.oid, n.nspname, c.relname, i.relname, pg_get_indexdef(i.oid),
                   obj_description(i.oid, 'pg_class')
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'm' AND {_USER_NAMESPACE.format(oid='c.oid')}""")):
        target = qualified(schema, name)
        out.append(DbObject(
            "index", schema, view, name, definition,
            (definition, *_comment("index", target, comment)), f"DROP INDEX {target}",
            comment=comment, comment_sql=f"COMMENT ON INDEX {target} IS {{}}",
            uses=frozenset({("materialized view", schema, "", view)}), oid=oid))
    return out


_ENABLE = {"O": "", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}


def _triggers(conn: Connection) -> list[DbObject]:
    out = []
    for oid, schema, table, name, definition, enabled, comment in conn.execute(text(f"""
            SELECT t.oid, n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid),
                   t.tgenabled, obj_description(t.oid, 'pg_trigger')
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND t.tgparentid = 0
              AND {_USER_NAMESPACE.format(oid='c.oid')}""")):
        table_sql = qualified(schema, table)
        target = f"{quote_ident(name)} ON {table_sql}"
        enable = ([f"ALTER TABLE {table_sql} {_ENABLE[enabled]} TRIGGER {quote_ident(name)}"]
                  if _ENABLE[enabled] else [])
        replace: tuple[str, ...] = ()
        if definition.startswith("CREATE TRIGGER "):  # not a constraint trigger
            # OR REPLACE keeps the enabled state: say it again, whatever it is.
            replace = ("CREATE OR REPLACE TRIGGER " + definition.removeprefix("CREATE TRIGGER "),
                       f"ALTER TABLE {table_sql} {_ENABLE[enabled] or 'ENABLE'} TRIGGER "
                       f"{quote_ident(name)}")
        out.append(DbObject(
            "trigger", schema, table, name, f"{definition} [{enabled}]",
            (definition, *enable, *_comment("trigger", target, comment)),
            f"DROP TRIGGER {target}", replace, "trigger", comment,
            f"COMMENT ON TRIGGER {target} IS {{}}",
            uses=frozenset({("table", schema, "", table)}), oid=oid))
    return out


def _comment(kind: str, target: str, comment: str | None) -> tuple[str, ...]:
    if comment is None:
        return ()
    return (f"COMMENT ON {kind.upper()} {target} IS {quote_literal(comment)}",)


_RELATION_KINDS = {"v": "view", "m": "materialized view"}


def _dependencies(conn: Connection, by_oid: dict[int, DbObject]) -> dict[int, set[ObjectKey]]:
    """oid -> what that object uses, from pg_depend: a view's through its rewrite rule."""
    if not by_oid:
        return {}
    uses: dict[int, set[ObjectKey]] = {}
    query = text("""
        SELECT CASE WHEN d.classid = 'pg_rewrite'::regclass THEN r.ev_class ELSE d.objid END,
               d.refobjid, rc.relkind, rn.nspname, rc.relname, ra.attname,
               tn.nspname, rt.typname, rt.typtype, tr.relkind, trn.nspname, tr.relname
        FROM pg_depend d
        LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
        LEFT JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
        LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        LEFT JOIN pg_attribute ra ON ra.attrelid = rc.oid AND ra.attnum = d.refobjsubid
             AND d.refobjsubid > 0
        LEFT JOIN pg_type rt ON d.refclassid = 'pg_type'::regclass AND rt.oid = d.refobjid
        LEFT JOIN pg_namespace tn ON tn.oid = rt.typnamespace
        LEFT JOIN pg_class tr ON tr.oid = rt.typrelid
        LEFT JOIN pg_namespace trn ON trn.oid = tr.relnamespace
        WHERE d.deptype IN ('n', 'a')
          AND d.classid IN ('pg_rewrite'::regclass, 'pg_proc'::regclass,
                            'pg_trigger'::regclass, 'pg_class'::regclass)
          AND (CASE WHEN d.classid = 'pg_rewrite'::regclass THEN r.ev_class ELSE d.objid END)
              = ANY(:oids)""").bindparams(bindparam("oids", type_=ARRAY(Integer)))
    for row in conn.execute(query, {"oids": list(by_oid)}):
        (oid, ref, relkind, schema, relname, attname,
         type_schema, type_name, typtype, row_relkind, row_schema, row_rel) = row
        key: ObjectKey | None = None
        if ref in by_oid:
            key = by_oid[ref].key
        elif relkind in ("r", "p"):
            key = (("column", schema, relname, attname) if attname
                   else ("table", schema, "", relname))
        elif row_relkind in ("r", "p"):
            key = ("table", row_schema, "", row_rel)
        elif typtype in ("e", "d", "c", "r") and type_name:
            key = ("type", type_schema, "", type_name)
        if key is not None:
            uses.setdefault(oid, set()).add(key)
    return uses
