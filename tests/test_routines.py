"""Functions, procedures, views, materialized views and triggers: the parts around the
round trip (tests/data/evolutions.yaml and tests/data/inspect/routines.sql hold the cases).

- the documentation's examples are created by PostgreSQL, as written;
- what only PostgreSQL can refuse is reported by plan with the YAML object's position;
- the comparator's decisions (replace in place, or drop and create again, and in which
  order) are pure functions over two catalogs, tested here without a database;
- the SQL checks that run before any database is touched.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from schemactl.compile import compile_spec
from schemactl.diff.catalog import Catalog, ColumnInfo
from schemactl.diff.comparators.routines import compare_routines
from schemactl.diff.objects import DbObject
from schemactl.diff.shadow import desired_catalog
from schemactl.errors import SpecError
from schemactl.inspect.routines import split_top_level
from schemactl.spec import sqlbody
from schemactl.spec.load import load_text
from schemactl.spec.validate import validate

REPO = Path(__file__).resolve().parent.parent
FILM = """
tables:
  film:
    columns:
      id: {type: integer, primary_key: true}
      title: text
      rating: {type: varchar(10), nullable: true}
      last_update: {type: timestamptz, default_sql: now()}
"""


def doc_block(first_key: str) -> str:
    text = (REPO / "docs" / "schema-language.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    return next(b for b in blocks if b.startswith(first_key + ":")
                and (first_key != "tables" or "triggers:" in b))


@pytest.mark.parametrize("first_key", ["functions", "views", "tables"])
def test_documentation_examples_are_created_by_postgresql(first_key: str,
                                                          server_url: URL) -> None:
    block = doc_block(first_key)
    text = block if first_key == "tables" else FILM + block
    spec = validate([load_text(text, "docs.yaml")])
    catalog = desired_catalog(compile_spec(spec), spec, server_url)
    kinds = sorted({key[0] for key in catalog.objects})
    expected = {"functions": ["function", "procedure"], "views": [
        "index", "materialized view", "view"], "tables": ["function", "trigger"]}[first_key]
    assert kinds == expected
    if first_key == "views":
        r_films = catalog.objects[("view", "public", "", "r_films")]
        assert "WITH CASCADED CHECK OPTION" in r_films.definition
        assert "security_invoker=true" in r_films.definition


def test_what_postgresql_refuses_names_the_yaml_object(server_url: URL) -> None:
    text = FILM + """views:
  broken:
    query: SELECT id, rating FROM flim
"""
    spec = validate([load_text(text, "schema/films.yaml")])
    with pytest.raises(SpecError) as caught:
        desired_catalog(compile_spec(spec), spec, server_url)
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.file, diagnostic.line) == ("E803", "schema/films.yaml", 10)
    assert 'relation "flim" does not exist' in diagnostic.message
    assert diagnostic.obj == "view public.broken"


def test_a_body_that_names_a_missing_table_is_refused_at_plan(server_url: URL) -> None:
    text = FILM + """functions:
  count_films:
    returns: bigint
    body: SELECT count(*) FROM films
"""
    spec = validate([load_text(text, "films.yaml")])
    with pytest.raises(SpecError, match='relation "films" does not exist'):
        desired_catalog(compile_spec(spec), spec, server_url)


# ---- the comparator, without a database ---------------------------------------------------


def obj(kind: str, name: str, definition: str, *uses: tuple[str, str, str, str],
        oid: int = 1, replace_key: str = "", parent: str = "") -> DbObject:
    replace = (f"CREATE OR REPLACE {definition}",) if kind in ("view", "function") else ()
    return DbObject(kind, "public", parent, name, definition, (f"CREATE {definition}",),
                    f"DROP {kind.upper()} {name}", replace, replace_key, uses=frozenset(uses),
                    oid=oid)


def catalog(*objects: DbObject, column_type: str = "text") -> Catalog:
    result = Catalog(tables={("public", "film")})
    result.columns[("public", "film", "title")] = ColumnInfo(
        "public", "film", "title", column_type, None, None, None)
    result.objects = {o.key: o for o in objects}
    return result


TITLE = ("column", "public", "film", "title")


def statements(ops: list) -> list[str]:  # type: ignore[type-arg]
    return [s for op in ops for s in op.statements]


def test_views_on_a_column_whose_type_changes_are_dropped_first_and_made_again_after() -> None:
    inner = obj("view", "inner_v", "inner", TITLE, oid=1, replace_key="title text")
    outer = obj("view", "outer_v", "outer", ("view", "public", "", "inner_v"), oid=2)
    other = obj("view", "other_v", "other", ("column", "public", "film", "id"), oid=3)
    steps = compare_routines(catalog(inner, outer, other),
                             catalog(inner, outer, other, column_type="varchar(5)"))
    assert statements(steps.drops) == ["DROP VIEW outer_v", "DROP VIEW inner_v"]
    assert statements(steps.creates) == ["CREATE inner", "CREATE outer"]


def test_a_changed_view_with_the_same_columns_is_replaced_in_place() -> None:
    old = obj("view", "v", "old", TITLE, replace_key="title text")
    new = obj("view", "v", "new", TITLE, replace_key="title text")
    steps = compare_routines(catalog(old), catalog(new))
    assert steps.drops == []
    (step,) = steps.creates
    assert (step.statements, step.reverse_statements) == (["CREATE OR REPLACE new"],
                                                          ["CREATE OR REPLACE old"])


def test_a_function_whose_result_changes_takes_its_triggers_with_it() -> None:
    fn = ("function", "public", "", "f()")
    old = obj("function", "f()", "f v1", replace_key="integer")
    new = obj("function", "f()", "f v2", replace_key="bigint")
    trigger = obj("trigger", "t", "t", fn, ("table", "public", "", "film"), oid=5,
                  parent="film")
    steps = compare_routines(catalog(old, trigger), catalog(new, trigger))
    assert statements(steps.drops) == ["DROP TRIGGER t", "DROP FUNCTION f()"]
    assert statements(steps.functions) == ["CREATE f v2"]  # before tables: uses none
    assert statements(steps.creates) == ["CREATE t"]


def test_a_function_no_longer_wanted_is_dropped_after_what_may_call_it() -> None:
    fn = obj("function", "f()", "f v1")
    view = obj("view", "v", "v", ("function", "public", "", "f()"), TITLE, oid=2)
    steps = compare_routines(catalog(fn, view), catalog())
    assert statements(steps.drops) == ["DROP VIEW v"]  # first of all
    assert statements(steps.retired) == ["DROP FUNCTION f()"]  # after tables and checks


def test_nothing_to_do_when_the_printed_forms_are_equal() -> None:
    view = obj("view", "v", "same", TITLE)
    steps = compare_routines(catalog(view), catalog(view))
    assert (steps.drops, steps.functions, steps.creates) == ([], [], [])


# ---- checks before any database is touched --------------------------------------------------


@pytest.mark.parametrize(("check", "text", "ok"), [
    (sqlbody.query_error, "SELECT a FROM t WHERE b", True),
    (sqlbody.query_error, "WITH x AS (SELECT 1) SELECT * FROM x", True),
    (sqlbody.query_error, "SELECT 1; DROP TABLE t", False),
    (sqlbody.query_error, "UPDATE t SET a = 1", False),
    (sqlbody.type_error, "character varying(20)[]", True),
    (sqlbody.type_error, "int); DROP TABLE t; --", False),
    (sqlbody.returns_error, "TABLE(a integer, b text)", True),
    (sqlbody.returns_error, "SETOF film", True),
    (sqlbody.returns_error, "integer LANGUAGE c", False),
    (sqlbody.sql_body_error, "SELECT 1; SELECT 2", True),
    (sqlbody.sql_body_error, "BEGIN ATOMIC SELECT 1; END", True),
    (sqlbody.sql_body_error, "SELEC 1", False),
])
def test_sql_checked_with_postgresql_grammar(check: object, text: str, ok: bool) -> None:
    assert (check(text) is None) == ok  # type: ignore[operator]


def test_plpgsql_bodies_are_compiled_like_postgresql_does() -> None:
    head = "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$"
    assert sqlbody.plpgsql_error(f"{head} BEGIN NEW.a = 1; RETURN NEW; END $$") is None
    error = sqlbody.plpgsql_error(f"{head} BEGIN IF true THEN RETURN NEW; END $$")
    assert error is not None and "syntax error" in error.message


def test_argument_defaults_split_at_top_level_commas() -> None:
    assert split_top_level("1, 'a,b'::text, f(2, 3), ARRAY[1, 2]") == [
        "1", "'a,b'::text", "f(2, 3)", "ARRAY[1, 2]"]


def test_a_schema_of_only_functions_and_views_is_written() -> None:
    from schemactl.render.yaml_spec import render

    spec = validate([load_text("functions:\n  one:\n    returns: integer\n    body: SELECT 1\n"
                               "views:\n  v:\n    query: SELECT one()\n", "a.yaml")])
    files = render(spec)
    assert list(files) == ["public.yaml"]
    assert validate([load_text(files["public.yaml"], "public.yaml")]) == spec


def test_a_body_ending_in_blank_lines_keeps_them_and_the_file_goes_on() -> None:
    from schemactl.render.yaml_spec import render

    body = "BEGIN\n  RETURN 1;\nEND;\n\n"  # as pg_dump keeps a body written with a blank line
    source = ("functions:\n  one:\n    returns: integer\n    language: plpgsql\n    body: "
              + repr(body).replace("'", '"') + "\nviews:\n  v:\n    query: SELECT one()\n")
    spec = validate([load_text(source, "a.yaml")])
    text = render(spec)["public.yaml"]
    assert "\n...\n" not in text
    again = validate([load_text(text, "public.yaml")])
    assert again == spec and again.functions[0].body == body
