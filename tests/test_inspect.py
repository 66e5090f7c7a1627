"""schemactl inspect: a real database -> SchemaSpec -> YAML, and back again.

The property that proves it, on every case in tests/data/inspect/*.sql: inspect the
database, render YAML, validate it (the spec must be the one inspected), create that YAML in
an empty database, inspect again: the two specs are equal, and nothing was left out.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml
from sqlalchemy.engine import URL

from schemactl.compile import compile_spec
from schemactl.db.throwaway import throwaway_database
from schemactl.diff.shadow import connect, create_schema
from schemactl.inspect import catalog
from schemactl.inspect.catalog import Inspection, inspect_database
from schemactl.inspect.compare import differences
from schemactl.render.yaml_spec import render
from schemactl.spec.types import IndexElement, SchemaSpec, TypeRef
from schemactl.spec.validate import load_schema

DATA = Path(__file__).parent / "data" / "inspect"
CASES = sorted(p.stem for p in DATA.glob("*.sql"))


def write_yaml(spec: SchemaSpec, directory: Path, split: bool = False) -> dict[str, str]:
    files = render(spec, split)
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return files


def create_from_yaml(directory: Path, server_url: URL) -> Inspection:
    """Validate + compile the YAML, create it in a fresh database, and inspect that."""
    spec = load_schema(directory, directory)
    with throwaway_database(server_url, "schemactl_test") as url:
        with connect(url) as conn:
            create_schema(conn, compile_spec(spec), spec)
        return inspect_database(url)


@pytest.mark.parametrize("case", CASES)
def test_round_trip(case: str, db: psycopg.Connection, db_url: URL, server_url: URL,
                    tmp_path: Path) -> None:
    db.execute((DATA / f"{case}.sql").read_text())
    first = inspect_database(db_url)
    assert first.unsupported == ()
    write_yaml(first.spec, tmp_path)

    assert differences(first.spec, load_schema(tmp_path, tmp_path)) == []
    assert differences(first.spec, create_from_yaml(tmp_path, server_url).spec) == []


def test_split_files_give_the_same_schema(db: psycopg.Connection, db_url: URL,
                                          tmp_path: Path) -> None:
    db.execute((DATA / "keys.sql").read_text() + (DATA / "blog.sql").read_text())
    first = inspect_database(db_url)
    files = write_yaml(first.spec, tmp_path, split=True)
    # users+posts and accounts are linked by keys; invoices+lines hang off accounts.
    assert sorted(files) == ["billing/invoices.yaml", "public/accounts.yaml",
                             "public/types.yaml", "public/users.yaml"]
    assert differences(first.spec, load_schema(tmp_path, tmp_path)) == []


def test_what_a_person_would_write(db: psycopg.Connection, db_url: URL) -> None:
    db.execute((DATA / "blog.sql").read_text())
    text = render(inspect_database(db_url).spec)["public.yaml"]
    users = yaml.safe_load(text)["tables"]["users"]
    assert users["comment"] == "People who write posts"
    assert users["columns"]["id"] == {"type": "bigint", "identity": True, "primary_key": True}
    assert users["columns"]["password_hash"] == "varchar(200)"  # only a type: the shorthand
    assert users["columns"]["image_file"] == {"type": "varchar(200)", "nullable": True,
                                              "default": "default.jpg"}
    assert users["columns"]["created_at"] == {"type": "timestamptz", "default_sql": "now()"}
    posts = yaml.safe_load(text)["tables"]["posts"]
    assert posts["columns"]["user_id"] == {"type": "bigint", "references": "users.id",
                                           "on_delete": "cascade"}
    assert posts["columns"]["status"] == {"type": "post_status", "default": "draft"}
    # The conventional name is left out; the hand-given one is kept.
    assert posts["indexes"] == [
        {"name": "posts_published_idx", "columns": ["date_posted"],
         "where": "status = 'published'::post_status"},
        {"columns": ["user_id", "date_posted"]},
    ]
    assert yaml.safe_load(text)["extensions"] == ["citext"]


def test_literal_defaults(db: psycopg.Connection, db_url: URL) -> None:
    db.execute((DATA / "defaults.sql").read_text())
    table = inspect_database(db_url).spec.table("shop", "orders")
    assert table is not None
    literal = {c.name: c.default for c in table.columns if c.default is not None}
    assert literal == {
        "note": 'it\'s a "test" \\ ü', "empty_text": "", "state": "paid", "quantity": 1,
        "balance": -5, "small": 0, "paid": False, "tags": [], "levels": [1, 2, 3],
        "words": ["a", "b"],
        "attrs": {"a": [1, 2], "b": None}, "day": "2020-01-31", "span": "1 day",
        "host": "127.0.0.1",
    }
    expressions = {c.name: c.default_sql for c in table.columns if c.default_sql is not None}
    assert expressions["price"] == "0.00"  # keeps its scale: exact
    assert expressions["raw"] == """'{"a":1}'::json"""  # json keeps the user's spacing
    assert expressions["code"] == "'ab'::bpchar"
    assert expressions["token"] == "gen_random_uuid()"


def test_types_and_keys(db: psycopg.Connection, db_url: URL) -> None:
    db.execute((DATA / "keys.sql").read_text() + (DATA / "indexes.sql").read_text())
    spec = inspect_database(db_url).spec
    invoices = spec.table("billing", "invoices")
    assert invoices is not None and invoices.primary_key is not None
    assert invoices.primary_key.columns == ("account_id", "number")
    fks = {fk.name: fk for fk in invoices.foreign_keys}
    assert fks["invoice_account"].initially_deferred
    composite = fks["invoices_account_id_region_fkey"]
    assert (composite.ref_schema, composite.ref_table, composite.ref_columns) == \
        ("public", "accounts", ("id", "region"))
    assert (composite.on_update, composite.on_delete, composite.deferrable) == \
        ("cascade", "restrict", True)
    assert invoices.column("total").type == TypeRef("numeric")  # type: ignore[union-attr]
    docs = spec.table("public", "docs")
    assert docs is not None
    indexes = {i.name: i for i in docs.indexes}
    assert indexes["docs_recent"].include == ("title", "score")
    assert indexes["docs_recent"].where == "score > 10 AND body IS NOT NULL"
    assert indexes["docs_mixed"].elements == (
        IndexElement(column="created"), IndexElement(expression="(score * 2)"),
        IndexElement(expression="lower(body)"))
    assert {i.using for i in docs.indexes} == {"btree", "gin", "brin", "hash"}


UNSUPPORTED_SQL = """
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE items (id integer PRIMARY KEY, qty positive, search tsvector, name text,
                    at timestamp(3));
CREATE INDEX items_search ON items USING gin (search);
CREATE INDEX items_name_desc ON items (name DESC);
CREATE TABLE serials (id serial PRIMARY KEY, item_id integer REFERENCES items);
CREATE SEQUENCE free_counter;
CREATE VIEW item_names AS SELECT name FROM items;
CREATE MATERIALIZED VIEW item_count AS SELECT count(*) FROM items;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE events (id integer, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2020 PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE event_notes (event_id integer, at date, FOREIGN KEY (event_id, at) REFERENCES events);
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_all ON items USING (true);
CREATE TYPE pair AS (a integer, b integer);
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
CREATE SCHEMA reports;
CREATE VIEW reports.totals AS SELECT 1 AS one;
CREATE VIEW event_days AS SELECT at FROM events;
CREATE VIEW event_weeks AS SELECT date_trunc('week', at) FROM event_days;
CREATE FUNCTION swap(p pair) RETURNS pair LANGUAGE sql AS 'SELECT (p.b, p.a)::pair';
CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
CREATE EVENT TRIGGER on_ddl ON ddl_command_end EXECUTE FUNCTION on_ddl();
"""


def test_what_the_language_cannot_say_is_reported_not_dropped(db: psycopg.Connection,
                                                             db_url: URL) -> None:
    db.execute(UNSUPPORTED_SQL)
    result = inspect_database(db_url)
    reported = {(u.kind, u.name) for u in result.unsupported}
    assert reported == {
        ("domain", "public.positive"),
        ("column of type positive", "public.items.qty"),
        ("sequence", "public.free_counter"),
        ("function", "public.swap"),  # of a composite type
        ("row level security", "public.items"),
        ("policy", "public.items.items_all"),
        ("composite type", "public.pair"),
        ("event trigger", "on_ddl"),
    }
    # The schema that holds only a view is in the YAML through that view: not declared empty.
    assert "reports" in result.spec.schemas and result.spec.declared_schemas == ()
    # What remains is exactly what the language can say; alembic_version is never the user's.
    assert [t.name for t in result.spec.tables] == ["event_notes", "events", "items", "serials"]
    assert [p.name for p in result.spec.partitions] == ["events_2020"]
    items = result.spec.table("public", "items")
    # tsvector and timestamp(3) are in the language: only the domain's column is left out.
    assert items is not None and [c.name for c in items.columns] == ["id", "search", "name", "at"]
    assert [i.name for i in items.indexes] == ["items_name_desc", "items_search"]
    serial_id = result.spec.table("public", "serials").columns[0]  # type: ignore[union-attr]
    assert serial_id.default_sql == "nextval('serials_id_seq'::regclass)"
    assert result.unsupported_counts()["sequence"] == 1
    # Views, functions and triggers the YAML can say are read, not reported.
    assert sorted(v.name for v in result.spec.views) == [
        "event_days", "event_weeks", "item_count", "item_names", "totals"]
    assert sorted(f.name for f in result.spec.functions) == ["on_ddl", "touch"]
    assert [t.name for t in result.spec.triggers] == ["items_touch"]


def test_catalog_read_in_a_fixed_number_of_queries(db: psycopg.Connection, db_url: URL) -> None:
    db.execute("CREATE TABLE t0 (id integer PRIMARY KEY)")
    small = inspect_database(db_url).queries
    before = catalog.QUERY_COUNT
    db.execute("".join(
        f"CREATE TABLE t{i} (id integer PRIMARY KEY, parent integer REFERENCES t{i - 1}, "
        f"name text UNIQUE CHECK (name <> ''), created date DEFAULT now());"
        f"CREATE INDEX ON t{i} (created);" for i in range(1, 60)))
    big = inspect_database(db_url)
    assert len(big.spec.tables) == 60
    # 9 for tables and types, 5 for functions, views, their indexes, triggers, dependencies.
    assert big.queries == small == catalog.QUERY_COUNT - before <= 14


def test_schema_filter(db: psycopg.Connection, db_url: URL) -> None:
    db.execute((DATA / "keys.sql").read_text())
    result = inspect_database(db_url, ["billing"])
    assert {t.qualified_name for t in result.spec.tables} == {"billing.invoices", "billing.lines"}
    # The keys that point outside the inspected schemas are reported, not kept dangling.
    assert {u.kind for u in result.unsupported} == {"foreign key to an unsupported table"}
    both = inspect_database(db_url, ["billing", "public"])
    assert len(both.spec.tables) == 3 and both.unsupported == ()


def test_split_file_names_are_safe(db: psycopg.Connection, db_url: URL, tmp_path: Path) -> None:
    db.execute('CREATE SCHEMA "../up"; CREATE TABLE "../up"."a/b" (id integer PRIMARY KEY);'
               'CREATE TABLE "../up"."a b" (id integer PRIMARY KEY);')
    spec = inspect_database(db_url).spec
    files = write_yaml(spec, tmp_path, split=True)
    assert sorted(files) == ["___up/a_b.yaml", "___up/a_b_2.yaml"]
    assert all(p.resolve().is_relative_to(tmp_path) for p in tmp_path.rglob("*.yaml"))
    assert differences(spec, load_schema(tmp_path, tmp_path)) == []


def test_index_options_are_read(db: psycopg.Connection, db_url: URL) -> None:
    """The round trip alone would pass if options were lost on both sides: name them."""
    db.execute((DATA / "index_options.sql").read_text())
    docs = inspect_database(db_url).spec.table("public", "docs")
    assert docs is not None
    indexes = {i.name: i for i in docs.indexes}
    assert indexes["docs_score_desc"].elements == (IndexElement(column="score", order="desc"),)
    assert indexes["docs_score_nulls"].elements == (
        IndexElement(column="score", nulls="first"),
        IndexElement(column="id", order="desc", nulls="last"))
    assert indexes["docs_title_pattern"].elements == (
        IndexElement(column="title", opclass="text_pattern_ops"),)
    assert indexes["docs_title_c"].elements == (IndexElement(column="title", collation="C"),)
    assert indexes["docs_lower_title"].elements == (IndexElement(
        expression="lower(title)", collation="C", opclass="text_pattern_ops", order="desc"),)
    assert indexes["docs_filled"].storage == (("deduplicate_items", "off"), ("fillfactor", "70"))
    assert indexes["docs_slug_nnd"].nulls_not_distinct and indexes["docs_slug_nnd"].unique
    assert {u.name: u.nulls_not_distinct for u in docs.uniques} == {
        "docs_code_key": True, "docs_title_slug_uq": True}


def test_table_and_column_settings_are_read(db: psycopg.Connection, db_url: URL) -> None:
    db.execute((DATA / "physical.sql").read_text())
    result = inspect_database(db_url)
    assert result.unsupported == ()
    sessions = result.spec.table("public", "sessions")
    assert sessions is not None and sessions.unlogged
    assert sessions.storage == (("autovacuum_enabled", "false"), ("fillfactor", "70"))
    columns = {c.name: c for c in sessions.columns}
    assert columns["token"].collation == "C"
    assert columns["data"].compression == "pglz"
    assert columns["blob"].storage == "external" and columns["blob"].compression is None
    names = result.spec.table("public", "names")
    assert names is not None and not names.unlogged and names.columns[1].collation == "POSIX"


def test_deferrable_keys_are_read(db: psycopg.Connection, db_url: URL) -> None:
    db.execute((DATA / "deferrable_keys.sql").read_text())
    spec = inspect_database(db_url).spec
    tracks, labels = spec.table("public", "tracks"), spec.table("public", "labels")
    assert tracks is not None and labels is not None
    assert tracks.primary_key is not None and tracks.primary_key.deferrable
    assert not tracks.primary_key.initially_deferred
    assert [(u.deferrable, u.initially_deferred) for u in tracks.uniques] == [(True, True)]
    assert labels.primary_key is not None and labels.primary_key.initially_deferred
    assert [(u.deferrable, u.initially_deferred) for u in labels.uniques] == [(True, False)]


def test_grants_beyond_the_defaults_are_reported_and_the_defaults_are_not(
        db: psycopg.Connection, db_url: URL) -> None:
    """Column, schema, type and table grants the YAML cannot express are reported; an ACL
    that holds only the defaults again (a GRANT then its REVOKE leaves one behind, not NULL)
    is not a grant anyone needs to know about, nor is the public schema's own ACL."""
    db.execute("""
        CREATE TABLE t (id int PRIMARY KEY, secret text);
        GRANT SELECT (secret) ON t TO PUBLIC;
        CREATE TABLE granted (id int PRIMARY KEY);
        GRANT SELECT ON granted TO PUBLIC;
        CREATE TABLE regranted (id int PRIMARY KEY, note text);
        GRANT SELECT ON regranted TO PUBLIC; REVOKE SELECT ON regranted FROM PUBLIC;
        GRANT UPDATE (note) ON regranted TO PUBLIC; REVOKE UPDATE (note) ON regranted FROM PUBLIC;
        CREATE SCHEMA app;
        GRANT USAGE ON SCHEMA app TO PUBLIC;
        CREATE SCHEMA quiet;
        GRANT USAGE ON SCHEMA quiet TO PUBLIC; REVOKE USAGE ON SCHEMA quiet FROM PUBLIC;
        CREATE TYPE mood AS ENUM ('ok');
        REVOKE USAGE ON TYPE mood FROM PUBLIC;
        CREATE TYPE calm AS ENUM ('ok');
        REVOKE USAGE ON TYPE calm FROM PUBLIC; GRANT USAGE ON TYPE calm TO PUBLIC;
        CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1';
        REVOKE EXECUTE ON FUNCTION one() FROM PUBLIC; GRANT EXECUTE ON FUNCTION one() TO PUBLIC;
    """)
    result = inspect_database(db_url)
    assert {(u.kind, u.name) for u in result.unsupported} == {
        ("column grant", "public.t.secret"),
        ("grant", "public.granted"),
        ("schema grant", "app"),
        ("type grant", "public.mood"),
    }


def test_force_row_level_security_is_reported_also_without_policies(
        db: psycopg.Connection, db_url: URL) -> None:
    db.execute("""
        CREATE TABLE forced (id int PRIMARY KEY);
        ALTER TABLE forced FORCE ROW LEVEL SECURITY;
        CREATE TABLE plain (id int PRIMARY KEY);
        ALTER TABLE plain FORCE ROW LEVEL SECURITY; ALTER TABLE plain NO FORCE ROW LEVEL SECURITY;
    """)
    result = inspect_database(db_url)
    assert {(u.kind, u.name) for u in result.unsupported} == {
        ("force row level security", "public.forced")}
    assert [t.name for t in result.spec.tables] == ["forced", "plain"]  # the tables are kept
