"""compile: SchemaSpec -> MetaData, proven on a real catalog.

Each schema is compiled, created on a real server (CREATE SCHEMA / EXTENSION, then
metadata.create_all, which is fine in tests), and then checked the way a user would:
catalog queries (format_type, pg_get_expr, pg_get_constraintdef, pg_indexes, comments,
pg_enum order), and Alembic's own compare_metadata, which must find NOTHING: that is what
makes "plan, apply, plan again -> No changes." possible.

The expected catalog of the full-feature schema is a golden file,
tests/data/full/catalog.expected; SCHEMACTL_UPDATE_GOLDEN=1 rewrites it (review the diff).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg import sql
from sqlalchemy.engine import URL

from schemactl import compile as compiler
from schemactl.compile import compile_spec
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn
from schemactl.spec import naming
from schemactl.spec.load import load_text
from schemactl.spec.types import SchemaSpec
from schemactl.spec.validate import load_schema, validate

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
FULL = DATA / "full"
BLOG = REPO / "schema" / "blog.yaml"
GOLDEN = FULL / "catalog.expected"


# --- building a database from a compiled schema -------------------------------------------

def create_from_metadata(url: URL, metadata: sa.MetaData) -> None:
    """What `apply` of a first migration amounts to, done the short way for tests."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        for schema in metadata.info[compiler.INFO_SCHEMAS]:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        for ext in metadata.info[compiler.INFO_EXTENSIONS]:
            where = f' SCHEMA "{ext.schema}"' if ext.schema else ""
            conn.exec_driver_sql(f'CREATE EXTENSION IF NOT EXISTS "{ext.name}"{where}')
        metadata.create_all(conn)
    engine.dispose()


def autogenerate_diff(url: URL, metadata: sa.MetaData) -> list[Any]:
    """Alembic's comparison of the database with the metadata, configured as plan does."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_schemas": True,
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def full_spec() -> SchemaSpec:
    return load_schema(FULL, REPO)


@pytest.fixture(scope="module")
def full_db(server_url: URL, full_spec: SchemaSpec) -> Iterator[tuple[URL, sa.MetaData]]:
    """One database with the full-feature schema, shared by the read-only tests below."""
    metadata = compile_spec(full_spec)
    with throwaway_database(server_url, prefix="schemactl_test") as url:
        create_from_metadata(url, metadata)
        yield url, metadata


@pytest.fixture
def full_conn(full_db: tuple[URL, sa.MetaData]) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_dsn(full_db[0]), autocommit=True) as conn:
        yield conn


# --- the catalog, as a user would look at it ------------------------------------------------

USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"

CATALOG_QUERIES = {
    "extension": """
        SELECT e.extname || ' schema=' || n.nspname
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname <> 'plpgsql' ORDER BY 1""",
    "enum": f"""
        SELECT n.nspname || '.' || t.typname || ' ' ||
               array_to_string(array_agg(e.enumlabel ORDER BY e.enumsortorder), ', ')
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE {USER_SCHEMAS} GROUP BY n.nspname, t.typname ORDER BY 1""",
    "table": f"""
        SELECT n.nspname || '.' || c.relname
               || coalesce(' comment=' || obj_description(c.oid, 'pg_class'), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND {USER_SCHEMAS} ORDER BY 1""",
    "column": f"""
        SELECT n.nspname || '.' || c.relname || '.' || a.attname || ' '
               || format_type(a.atttypid, a.atttypmod)
               || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END
               || coalesce(' default=' || CASE WHEN a.attgenerated = ''
                                               THEN pg_get_expr(d.adbin, d.adrelid) END, '')
               || coalesce(' generated=' || CASE WHEN a.attgenerated = 's'
                                                 THEN pg_get_expr(d.adbin, d.adrelid) END, '')
               || CASE a.attidentity WHEN 'a' THEN ' identity=always'
                                     WHEN 'd' THEN ' identity=by default' ELSE '' END
               || coalesce(' comment=' || col_description(c.oid, a.attnum), '')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relkind = 'r' AND {USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY n.nspname, c.relname, a.attnum""",
    "constraint": f"""
        SELECT n.nspname || '.' || c.relname || ' ' || k.conname || ' '
               || pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND k.contype IN ('p', 'u', 'f', 'c') ORDER BY 1""",
    "index": """
        SELECT indexdef FROM pg_indexes
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, indexname""",
}


def catalog(conn: psycopg.Connection) -> str:
    lines = []
    for kind, query in CATALOG_QUERIES.items():
        lines += [f"{kind} {row[0]}" for row in conn.execute(query)]
    return "\n".join(lines) + "\n"


def catalog_lines(conn: psycopg.Connection, kind: str) -> list[str]:
    return [row[0] for row in conn.execute(CATALOG_QUERIES[kind])]


# --- tests -----------------------------------------------------------------------------------

def test_full_schema_catalog_matches_golden(full_conn: psycopg.Connection) -> None:
    actual = catalog(full_conn)
    if os.environ.get("SCHEMACTL_UPDATE_GOLDEN"):
        GOLDEN.write_text(actual, encoding="utf-8")
    assert actual == GOLDEN.read_text(encoding="utf-8")


def test_columns_types_nullability_defaults(full_conn: psycopg.Connection) -> None:
    columns = catalog_lines(full_conn, "column")
    expected = [
        "public.users.id bigint NOT NULL identity=by default",
        "public.users.username character varying(50) NOT NULL",
        "public.users.email citext NOT NULL",
        "public.users.bio text NULL comment=About me",
        "public.users.image_file character varying(200) NULL"
        " default='default.jpg'::character varying",
        "public.users.motto text NOT NULL default='it''s a \"test\" \\ ü :x 100%'::text",
        "public.users.created_at timestamp with time zone NOT NULL default=now()",
        "public.users.search text NULL generated=lower((username)::text)",
        "public.users.score numeric(10,2) NOT NULL default=1.5",
        "public.users.offset_min integer NOT NULL default='-5'::integer",
        "public.users.settings jsonb NOT NULL"
        " default='{\"a\": null, \"sizes\": [1, \"ü\"], \"theme\": \"dark\"}'::jsonb",
        "blog.posts.id bigint NOT NULL identity=always",
        "blog.posts.status post_status NOT NULL default='draft'::post_status",
        "blog.posts.mood blog.mood NOT NULL default='happy'::blog.mood",
        "blog.posts.moods blog.mood[] NOT NULL default='{happy,sad}'::blog.mood[]",
    ]
    missing = [line for line in expected if line not in columns]
    assert not missing, "\n".join(columns)


def test_constraints_keep_their_spec_names(full_conn: psycopg.Connection) -> None:
    constraints = catalog_lines(full_conn, "constraint")
    for line in [
        "blog.pairs pairs_pkey PRIMARY KEY (x, y)",
        "blog.posts posts_pair_fk FOREIGN KEY (a, b) REFERENCES blog.pairs(x, y)"
        " ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED",
        "blog.posts posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)"
        " ON DELETE CASCADE DEFERRABLE",
        "blog.posts posts_pair_uq UNIQUE (a, b)",
        "public.users users_email_key UNIQUE (email)",
        "public.users motto_no_colon_bind CHECK ((motto <> 'a :b \\:c %'::text))",
        "public.users username_not_blank CHECK ((length(TRIM(BOTH FROM username)) > 0))",
    ]:
        assert line in constraints, "\n".join(constraints)


def test_index_definitions(full_conn: psycopg.Connection) -> None:
    indexes = catalog_lines(full_conn, "index")
    for line in [
        "CREATE UNIQUE INDEX users_username_idx ON public.users"
        " USING btree (lower((username)::text))",
        "CREATE INDEX users_tags_idx ON public.users USING gin (tags)",
        "CREATE INDEX users_born_idx ON public.users USING brin (born)",
        "CREATE INDEX users_country_idx ON public.users USING hash (country)",
        "CREATE INDEX users_created_at_idx ON public.users USING btree (created_at)"
        " INCLUDE (username) WHERE active",
        "CREATE INDEX posts_published_idx ON blog.posts USING btree (id)"
        " WHERE (status = 'published'::post_status)",
    ]:
        assert line in indexes, "\n".join(indexes)


def test_enums_in_declared_order_even_when_unused(full_conn: psycopg.Connection) -> None:
    assert catalog_lines(full_conn, "enum") == [
        "blog.mood happy, sad",
        "public.post_status draft, published, archived",
        "public.unused_kind a, b",
    ]


def test_defaults_are_stored_exactly(full_conn: psycopg.Connection) -> None:
    """Insert a row that takes every default and read the values back as Python sees them."""
    user = full_conn.execute(
        "INSERT INTO users (username, email, nickname) VALUES ('ann', 'ann@x', 'a')"
        " RETURNING motto, labels, settings, raw, lucky, flags, tags, score, visits, country,"
        " active, weight, ratio, offset_min, image_file, search"
    ).fetchone()
    assert user is not None
    motto, labels, settings, raw, lucky, flags, tags, score, visits, country, *rest = user
    assert motto == 'it\'s a "test" \\ ü :x 100%'
    assert labels == ["a", "b c", "", 'q"\\', "NULL"]
    assert settings == {"theme": "dark", "sizes": [1, "ü"], "a": None}
    assert raw == {"b": 1, "a": 2}
    assert (lucky, flags, tags) == ([1, 2], [True, False], [])
    assert (str(score), visits, country) == ("1.50", 5_000_000_000, "NL")
    assert rest == [True, -2.5, 0.25, -5, "default.jpg", "ann"]
    post = full_conn.execute(
        "INSERT INTO blog.posts (user_id, title, body) SELECT id, 't', 'b' FROM users"
        " RETURNING status::text, mood::text, moods::text[]"
    ).fetchone()
    assert post == ("draft", "happy", ["happy", "sad"])


def test_generated_and_identity_columns_work(full_conn: psycopg.Connection) -> None:
    full_conn.execute("INSERT INTO users (username, email, nickname) VALUES ('Bob', 'b@x', 'b')")
    row = full_conn.execute("SELECT id, search FROM users WHERE username = 'Bob'").fetchone()
    assert row is not None and row[0] >= 1 and row[1] == "bob"
    with pytest.raises(psycopg.errors.GeneratedAlways):  # identity: always
        full_conn.execute("INSERT INTO blog.posts (id, user_id, title, body) VALUES (1, 1, 't', 'b')")


def test_autogenerate_finds_no_difference_for_full_schema(
    full_db: tuple[URL, sa.MetaData],
) -> None:
    url, metadata = full_db
    assert autogenerate_diff(url, metadata) == []


def test_autogenerate_finds_no_difference_for_example_blog(db_url: URL) -> None:
    metadata = compile_spec(load_schema(BLOG, REPO))
    create_from_metadata(db_url, metadata)
    assert autogenerate_diff(db_url, metadata) == []


def test_autogenerate_sees_a_changed_default(db_url: URL) -> None:
    """The empty diff above is not blindness: a different literal default is reported."""
    created = compile_spec(load_schema(BLOG, REPO))
    create_from_metadata(db_url, created)
    changed = (REPO / "schema" / "blog.yaml").read_text().replace(
        "default: default.jpg", "default: other.jpg"
    )
    diff = autogenerate_diff(db_url, compile_spec(validate([load_text(changed, "blog.yaml")])))
    assert [op[0][0] for op in diff] == ["modify_default"]


# --- literal defaults: data-file cases, each created on the server ---------------------------

LITERAL_CASES = yaml.safe_load((DATA / "literal_defaults.yaml").read_text(encoding="utf-8"))


def _literal_table_yaml() -> str:
    columns = {
        f"c{i}": {"type": case["type"], "default": case["default"]}
        for i, case in enumerate(LITERAL_CASES)
    }
    doc = {
        "extensions": ["citext"],
        "enums": {"mood": ["happy", "it's"], "user": ["a"], "Kind": ["x"]},
        "tables": {"literals": {"columns": {"id": {"type": "integer", "primary_key": True},
                                            **columns}}},
    }
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def test_literal_defaults_round_trip(db: psycopg.Connection, db_url: URL) -> None:
    """Each literal default: pg_get_expr prints exactly what compile wrote, and the value
    read back is the YAML value (as text, where PostgreSQL's text form is given)."""
    metadata = compile_spec(validate([load_text(_literal_table_yaml(), "literals.yaml")]))
    create_from_metadata(db_url, metadata)
    db.execute("INSERT INTO literals (id) VALUES (1)")
    for i, case in enumerate(LITERAL_CASES):
        column = sql.Identifier(f"c{i}")
        stored, as_text, value = db.execute(
            sql.SQL(
                "SELECT pg_get_expr(d.adbin, d.adrelid), {c}::text, {c} FROM literals,"
                " pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid"
                " AND a.attnum = d.adnum WHERE a.attrelid = 'literals'::regclass"
                " AND a.attname = {name}"
            ).format(c=column, name=sql.Literal(f"c{i}"))
        ).fetchone() or (None, None, None)
        assert stored == case["sql"], case
        if "text" in case:
            assert as_text == case["text"], case
        else:
            assert value == case["default"], case
    assert autogenerate_diff(db_url, metadata) == []


# --- the MetaData itself ---------------------------------------------------------------------

def test_metadata_info_for_plan(full_spec: SchemaSpec) -> None:
    metadata = compile_spec(full_spec)
    info = metadata.info
    assert info[compiler.INFO_SPEC] is full_spec
    assert [e.name for e in info[compiler.INFO_EXTENSIONS]] == ["citext", "pg_trgm"]
    assert info[compiler.INFO_SCHEMAS] == ("blog",)
    assert sorted(info[compiler.INFO_ENUMS]) == [
        ("blog", "mood"), ("public", "post_status"), ("public", "unused_kind")
    ]
    assert info[compiler.INFO_ENUM_RENAMES] == {("blog", "mood"): "feeling"}
    assert info[compiler.INFO_ENUM_VALUE_RENAMES] == {("blog", "mood"): {"sad": "blue"}}
    users = metadata.tables["users"]  # public tables are keyed without a schema
    posts = metadata.tables["blog.posts"]
    assert info[compiler.INFO_TABLE_RENAMES] == {("public", "users"): "members"}
    assert not users.info  # Alembic would write it into create_table
    assert users.c.bio.info["renamed_from"] == "about"
    assert posts.c.body.info["renamed_from"] == "content"
    # one ENUM object per enum, shared by every column that uses it
    assert posts.c.mood.type is info[compiler.INFO_ENUMS][("blog", "mood")]
    moods = posts.c.moods.type
    assert isinstance(moods, sa.ARRAY) and moods.item_type is posts.c.mood.type


def test_unnamed_objects_follow_the_spec_naming_convention(full_spec: SchemaSpec) -> None:
    """Anything Alembic or SQLAlchemy names on its own gets the name validate would give."""
    metadata = compile_spec(full_spec)
    pairs = metadata.tables["blog.pairs"]
    index = sa.Index(None, pairs.c.y, pairs.c.x)
    unique = sa.UniqueConstraint(pairs.c.y)
    long_table = sa.Table("t" * 60, metadata, sa.Column("c", sa.Integer, primary_key=True))
    long_index = sa.Index(None, long_table.c.c)
    engine = sa.create_engine("postgresql+psycopg://")
    ddl = [str(sa.schema.CreateIndex(ix).compile(engine)) for ix in (index, long_index)]
    ddl.append(str(sa.schema.AddConstraint(unique).compile(engine)))
    assert f"INDEX {naming.index_name('pairs', ['y', 'x'])} " in ddl[0]
    assert f"INDEX {naming.index_name('t' * 60, ['c'])} " in ddl[1]
    assert f"CONSTRAINT {naming.unique_name('pairs', ['y'])} " in ddl[2]
    assert naming.index_name("t" * 60, ["c"]) != "t" * 60 + "_c_idx"  # it was shortened

