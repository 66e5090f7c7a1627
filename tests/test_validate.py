"""validate: YAML -> SchemaSpec, and every error named by file:line:column.

The error cases are data files: tests/data/invalid/<case>.yaml (or a directory of files for
errors that span files), each ending in `# expect: CODE LINE:COLUMN message-substring`
lines. A case passes when validate reports exactly those diagnostics, no more, no fewer.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.compile import compile_spec
from schemactl.errors import Diagnostic, SpecError
from schemactl.spec.load import load, load_text
from schemactl.spec.types import SchemaSpec, TypeRef
from schemactl.spec.validate import load_schema, validate

from .test_compile import create_from_metadata

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
INVALID = sorted(p for p in (DATA / "invalid").iterdir() if p.suffix == ".yaml" or p.is_dir())
EXPECT = re.compile(r"^# expect: (?P<code>E\d{3}) (?P<line>\d+):(?P<column>\d+) (?P<text>.*)$")


def spec_of(text: str) -> SchemaSpec:
    return validate([load_text(text, "test.yaml")])


def errors_of(text: str) -> list[Diagnostic]:
    with pytest.raises(SpecError) as info:
        spec_of(text)
    return info.value.diagnostics


def expectations(case: Path) -> list[tuple[str, str, int, int, str]]:
    """(file, code, line, column, text) from the case's `# expect:` lines."""
    files = sorted(case.rglob("*.yaml")) if case.is_dir() else [case]
    base = case if case.is_dir() else case.parent
    found = []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if m := EXPECT.match(line):
                name = str(file.relative_to(base))
                found.append((name, m["code"], int(m["line"]), int(m["column"]), m["text"]))
    return found


# ---- every invalid case reports exactly its expected diagnostics ---------------------------


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.stem)
def test_invalid_case_reports_expected_diagnostics(case: Path) -> None:
    expected = expectations(case)
    assert expected, f"{case} has no `# expect:` lines"
    base = case if case.is_dir() else case.parent
    with pytest.raises(SpecError) as info:
        validate(load(case, base))
    got = info.value.diagnostics
    assert sorted((d.file, d.code, d.line, d.column) for d in got) == sorted(
        (f, c, line, col) for f, c, line, col, _ in expected
    ), "\n".join(str(d) for d in got)
    for file, code, line, column, text in expected:
        match = next(d for d in got if (d.file, d.code, d.line, d.column) == (file, code, line,
                                                                               column))
        assert text in match.message, f"{match} does not say {text!r}"


@pytest.mark.parametrize("case", INVALID, ids=lambda p: p.stem)
def test_cli_validate_fails_and_names_positions(case: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(case)])
    assert result.exit_code == 1, result.output
    base = case if case.is_dir() else case.parent
    for file, code, line, column, _ in expectations(case):
        shown = str((base / file).relative_to(Path.cwd())) if base.is_relative_to(Path.cwd()) \
            else str(base / file)
        assert f"{shown}:{line}:{column}: error[{code}]" in result.output, result.output
    assert re.search(r"\d+ errors? found\.", result.output)


def test_cli_validate_example_project() -> None:
    result = CliRunner().invoke(main, ["--project-dir", str(REPO), "validate"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "OK: 1 file, 2 tables, 18 columns, 3 indexes, 8 constraints, 1 enum.\n"
    )


def test_cli_validate_without_schema_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "no schema files" in result.output


def test_all_errors_in_one_run_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("tables:\n  t:\n    columns:\n      a: intt\n")
    (tmp_path / "b.yaml").write_text("tables:\n  u:\n    columns:\n      b: {type: text, x: 1}\n")
    with pytest.raises(SpecError) as info:
        load_schema(tmp_path, tmp_path)
    assert [str(d).splitlines()[0] for d in info.value.diagnostics] == [
        "a.yaml:4:10: error[E201]: table t, column a: unknown type 'intt'",
        "b.yaml:4:23: error[E101]: table u, column b: unknown key 'x'",
    ]


# ---- what a valid schema becomes ----------------------------------------------------------


def test_blog_example_is_normalised() -> None:
    spec = load_schema(REPO / "schema")
    users, posts = spec.tables
    assert (users.name, posts.name) == ("users", "posts")
    assert [c.name for c in users.columns][:3] == ["id", "username", "email"]
    assert users.primary_key is not None and users.primary_key.name == "users_pkey"
    assert [u.name for u in users.uniques] == ["users_username_key", "users_email_key"]
    fk = posts.foreign_keys[0]
    assert (fk.name, fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete) == (
        "posts_user_id_fkey", ("user_id",), "users", ("id",), "cascade",
    )  # fmt: skip
    assert [i.name for i in posts.indexes] == [
        "posts_user_id_date_posted_idx", "posts_published_idx", "posts_tags_idx",
    ]  # fmt: skip
    status = posts.column("status")
    assert status is not None and status.type == TypeRef("post_status", enum_schema="public")
    assert status.default == "draft"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("int", TypeRef("integer")),
        ("INT4", TypeRef("integer")),
        ("int2", TypeRef("smallint")),
        ("int8", TypeRef("bigint")),
        ("bool", TypeRef("boolean")),
        ("float8", TypeRef("double precision")),
        ("Double  Precision", TypeRef("double precision")),
        ("float4", TypeRef("real")),
        ("decimal(10, 2)", TypeRef("numeric", (10, 2))),
        ("numeric(5)", TypeRef("numeric", (5,))),
        ("numeric", TypeRef("numeric")),
        ("character varying(20)", TypeRef("varchar", (20,))),
        ("varchar", TypeRef("varchar")),
        ("character(2)", TypeRef("char", (2,))),
        ("timestamp with time zone", TypeRef("timestamptz")),
        ("timestamp without time zone", TypeRef("timestamp")),
        ("time without time zone", TypeRef("time")),
        ("text[]", TypeRef("text", array_dims=1)),
        ("int[][]", TypeRef("integer", array_dims=2)),
        ("varchar(20)[]", TypeRef("varchar", (20,), 1)),
        ("JSONB", TypeRef("jsonb")),
        ("mood", TypeRef("mood", enum_schema="public")),
        ("mood[]", TypeRef("mood", array_dims=1, enum_schema="public")),
        ("public.mood", TypeRef("mood", enum_schema="public")),
        ("app.mood", TypeRef("mood", enum_schema="app")),
    ],
)
def test_type_spellings_are_normalised(written: str, expected: TypeRef) -> None:
    enums_elsewhere = load_text("schema: app\nenums:\n  mood: [b]\n", "app.yaml")
    table = load_text(
        f"enums:\n  mood: [a]\ntables:\n  t:\n    columns:\n      c: {{type: '{written}'}}\n",
        "test.yaml",
    )
    spec = validate([enums_elsewhere, table])
    assert spec.tables[0].columns[0].type == expected


# Every canonical type, as TypeRef.sql() spells it, is a real PostgreSQL type with that name.
CANONICAL = [
    ("smallint", "smallint"), ("integer", "integer"), ("bigint", "bigint"),
    ("numeric(10,2)", "numeric(10,2)"), ("numeric", "numeric"), ("real", "real"),
    ("double precision", "double precision"), ("boolean", "boolean"), ("text", "text"),
    ("varchar(50)", "character varying(50)"), ("varchar", "character varying"),
    ("char(2)", "character(2)"), ("date", "date"), ("time", "time without time zone"),
    ("timestamp", "timestamp without time zone"),
    ("timestamptz", "timestamp with time zone"), ("interval", "interval"), ("uuid", "uuid"),
    ("json", "json"), ("jsonb", "jsonb"), ("bytea", "bytea"), ("inet", "inet"),
    ("cidr", "cidr"), ("text[]", "text[]"), ("int8[]", "bigint[]"),
]  # fmt: skip


def test_canonical_types_exist_in_postgresql(db: psycopg.Connection) -> None:
    columns = "\n".join(f"      c{i}: '{w}'" for i, (w, _) in enumerate(CANONICAL))
    table = spec_of(f"tables:\n  t:\n    columns:\n{columns}\n").tables[0]
    ddl = ", ".join(f"{c.name} {c.type.sql()}" for c in table.columns)
    db.execute(f"CREATE TABLE t ({ddl})")
    rows = db.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum"
    ).fetchall()
    assert [r[1] for r in rows] == [pg for _, pg in CANONICAL]


def test_sql_fragments_accepted_by_validate_work_in_postgresql(db: psycopg.Connection) -> None:
    spec = spec_of(
        """
tables:
  posts:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      title: text
      status: {type: text, default: draft}
      created_at: {type: timestamptz, default_sql: "now() AT TIME ZONE 'utc'"}
      slug: {type: text, generated: "lower(replace(title, ' ', '-'))"}
      meta: {type: jsonb, default_sql: "'{}'::jsonb"}
    indexes:
      - {columns: [{expression: "lower(title)"}], where: "status = 'published'"}
    checks:
      title_ok: "length(trim(title)) > 0 AND title !~ '^;'"
"""
    )
    t = spec.tables[0]
    cols = {c.name: c for c in t.columns}
    db.execute(
        "CREATE TABLE posts (id bigint, title text, status text, "
        # DEFAULT takes a restricted expression (b_expr): `now() AT TIME ZONE 'utc'` needs
        # parentheses there, which is why DDL should wrap every default_sql in them.
        f"created_at timestamp DEFAULT ({cols['created_at'].default_sql}), "
        f"slug text GENERATED ALWAYS AS ({cols['slug'].generated}) STORED, "
        f"meta jsonb DEFAULT {cols['meta'].default_sql}, "
        f"CONSTRAINT {t.checks[0].name} CHECK ({t.checks[0].expression}))"
    )
    index = t.indexes[0]
    db.execute(
        f"CREATE INDEX {index.name} ON posts (({index.elements[0].expression})) "
        f"WHERE {index.where}"
    )
    db.execute("INSERT INTO posts (id, title, status) VALUES (1, 'Hello World', 'draft')")
    assert db.execute("SELECT slug, meta FROM posts").fetchone() == ("hello-world", {})
    assert index.name == "posts_title_idx"


def test_column_shorthands_are_lifted_to_table_level() -> None:
    t = spec_of(
        """
tables:
  users:
    columns:
      id: {type: bigint, primary_key: true, identity: always}
      email: {type: text, unique: true}
      nick: varchar(20)
      parent_id: {type: bigint, nullable: true, references: users.id, on_delete: set_null,
                  on_update: CASCADE, deferrable: initially_deferred}
"""
    ).tables[0]
    assert t.primary_key is not None and (t.primary_key.name, t.primary_key.columns) == (
        "users_pkey", ("id",),
    )  # fmt: skip
    assert [(u.name, u.columns) for u in t.uniques] == [("users_email_key", ("email",))]
    (fk,) = t.foreign_keys
    assert (fk.name, fk.ref_schema, fk.on_delete, fk.on_update) == (
        "users_parent_id_fkey", "public", "set null", "cascade",
    )  # fmt: skip
    assert fk.deferrable and fk.initially_deferred
    nick = t.column("nick")
    assert nick is not None and not nick.nullable and nick.type == TypeRef("varchar", (20,))
    id_column = t.column("id")
    assert id_column is not None and id_column.identity == "always"


def test_table_level_keys_and_user_names() -> None:
    t = spec_of(
        """
schema: shop
tables:
  items:
    columns:
      a: integer
      b: integer
      c: {type: text, nullable: true}
    primary_key: {columns: [a, b], name: items_pk}
    unique:
      - [b, c]
      - {columns: [c], name: items_c_uq}
    foreign_keys:
      - {columns: [c, b], references: {table: items, columns: [c, b], schema: shop},
         deferrable: true}
    indexes:
      - {columns: [c], include: [a], unique: true}
      - {columns: [{expression: "a + b"}, c], using: btree}
      - {columns: [{expression: "1"}]}
    checks:
      positive: "a > 0"
"""
    ).tables[0]
    assert t.schema == "shop"
    assert t.primary_key is not None and t.primary_key.name == "items_pk"
    assert [u.name for u in t.uniques] == ["items_b_c_key", "items_c_uq"]
    fk = t.foreign_keys[0]
    assert (fk.name, fk.ref_schema, fk.ref_columns, fk.deferrable) == (
        "items_c_b_fkey", "shop", ("c", "b"), True,
    )  # fmt: skip
    assert [i.name for i in t.indexes] == ["items_c_idx", "items_a_b_c_idx", "items_expr_idx"]
    assert t.indexes[0].include == ("a",) and t.indexes[0].unique
    assert [c.name for c in t.checks] == ["positive"]


def test_long_generated_names_are_shortened_not_refused() -> None:
    long_column = "c" * 60
    t = spec_of(
        f"tables:\n  a_table:\n    columns:\n      {long_column}: {{type: text, unique: true}}\n"
    ).tables[0]
    name = t.uniques[0].name
    assert len(name) == 63 and name.startswith("a_table_ccc")


def test_files_merge_in_order_with_enums_from_other_files(tmp_path: Path) -> None:
    (tmp_path / "a_posts.yaml").write_text(
        "tables:\n  posts:\n    columns:\n      id: {type: bigint, primary_key: true}\n"
        "      user_id: {type: bigint, references: users.id}\n      state: status\n"
    )
    (tmp_path / "b_users.yaml").write_text(
        "enums:\n  status: [on, off]\ntables:\n  users:\n    columns:\n"
        "      id: {type: bigint, primary_key: true}\n"
    )
    spec = load_schema(tmp_path, tmp_path)
    assert [t.name for t in spec.tables] == ["posts", "users"]
    # `on` and `off` are booleans to YAML; as enum labels they stay what was written.
    assert spec.enums[0].labels == ("on", "off")
    assert spec.tables[0].mark.file == "a_posts.yaml"


def test_renames_are_carried() -> None:
    spec = spec_of(
        """
enums:
  mood:
    renamed_from: feeling
    values: [happy, {name: sad, renamed_from: blue}]
tables:
  people:
    renamed_from: users
    columns:
      name: {type: text, renamed_from: full_name}
"""
    )
    assert spec.enums[0].renamed_from == "feeling"
    assert spec.enums[0].values[1].renamed_from == "blue"
    assert spec.tables[0].renamed_from == "users"
    assert spec.tables[0].columns[0].renamed_from == "full_name"


def test_literal_defaults_keep_yaml_values() -> None:
    t = spec_of(
        """
tables:
  t:
    columns:
      a: {type: boolean, default: false}
      b: {type: "int[]", default: [1, 2]}
      c: {type: jsonb, default: {k: [1, null]}}
      d: {type: date, default: 2024-01-31}
      e: {type: numeric, default: 1}
      f: {type: text, nullable: true, default: null}
"""
    ).tables[0]
    defaults = [c.default for c in t.columns]
    assert defaults == [False, [1, 2], {"k": [1, None]}, "2024-01-31", 1, None]


def test_empty_file_is_an_empty_schema() -> None:
    assert validate([load_text("", "empty.yaml")]) == SchemaSpec()


def test_empty_sections_are_allowed() -> None:
    assert spec_of("extensions:\nenums:\ntables:\n") == SchemaSpec()
    t = spec_of("tables:\n  t:\n    columns: {a: text}\n    indexes:\n    checks:\n").tables[0]
    assert (t.indexes, t.checks) == ((), ())


def test_marks_do_not_take_part_in_equality() -> None:
    text = "tables:\n  t:\n    columns:\n      a: text\n"
    assert spec_of(text) == spec_of("\n\n" + text)


# ---- SQL fragments: one expression or nothing ----------------------------------------------

INJECTIONS = [
    "now()); drop table users; --",
    "1); drop table x; --",
    "now(); drop table users",
    "now() -- and a comment",
    "now() /* comment */",
    "1, 2",
    "1 AS x",
    "1 FROM users",
    "1 UNION SELECT 2",
    "select 1",
    "*",
    "",
    "now())",
    "'unterminated",
    "(SELECT password FROM users LIMIT 1)",
    "a IN (SELECT id FROM users)",
]


@pytest.mark.parametrize("fragment", INJECTIONS)
def test_sql_fragment_that_is_not_one_expression_is_refused(fragment: str) -> None:
    # A block scalar takes the fragment verbatim, whatever quotes it contains.
    errors = errors_of(
        "tables:\n  t:\n    columns:\n      a:\n        type: text\n"
        f"        default_sql: |-\n          {fragment}\n"
    )
    assert [d.code for d in errors] == ["E801"], errors


def test_position_points_at_the_offending_value() -> None:
    (error,) = errors_of(
        "tables:\n  t:\n    columns:\n      a: {type: text, default_sql: 'x; drop table t'}\n"
    )
    assert (error.file, error.line, error.column) == ("test.yaml", 4, 36)
    assert error.obj == "table t, column a"
    assert "';'" in error.message


# ---- valid means deployable -----------------------------------------------------------------


def test_valid_example_creates_and_behaves_on_a_real_server(db_url: URL, db: psycopg.Connection) -> None:
    """tests/data/valid/shop.yaml, compiled and created: its less common forms work in PostgreSQL."""
    metadata = compile_spec(load_schema(DATA / "valid"))
    create_from_metadata(db_url, metadata)
    row = db.execute(
        "INSERT INTO shop.customers (email, name) VALUES ('A@x.org', 'Ann') RETURNING id, settings"
    ).fetchone()
    assert row is not None and row[1] == {"newsletter": False}
    with db.transaction():  # the composite FK is initially deferred: child first is fine
        db.execute(
            "INSERT INTO shop.order_lines (customer_id, order_number, line, sku, price) "
            "VALUES (%s, 1, 1, 'sku-1', 2.50)",
            (row[0],),
        )
        db.execute("INSERT INTO shop.orders (customer_id, number) VALUES (%s, 1)", (row[0],))
    line = db.execute("SELECT quantity, line_total FROM shop.order_lines").fetchone()
    assert line is not None and (line[0], str(line[1])) == (1, "2.50")
    # citext: the unique email ignores case.
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("INSERT INTO shop.customers (email, name) VALUES ('a@X.org', 'Bob')")


# ---- the documentation's examples are valid --------------------------------------------------

# Excerpts in the docs that show one part of a table, and the table they are part of.
DOC_CONTEXT = {
    "columns": "tables:\n  users:\n",
    "indexes": "tables:\n  posts:\n    columns: {user_id: bigint, date_posted: timestamptz, "
    "status: text, email: text, tags: 'text[]', title: text}\n",
    "checks": "tables:\n  posts:\n    columns: {title: text}\n",
}


def doc_examples() -> list[str]:
    text = (REPO / "docs" / "schema-language.md").read_text(encoding="utf-8")
    return re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)


@pytest.mark.parametrize("block", doc_examples(), ids=lambda b: b.split(":")[0].strip("# \n"))
def test_documentation_examples_validate(block: str) -> None:
    first_key = block.split(":")[0].strip()
    if first_key in DOC_CONTEXT:
        block = DOC_CONTEXT[first_key] + "".join(f"    {line}\n" for line in block.splitlines())
    validate([load_text(block, "docs-example.yaml")])


def test_yaml_anchors_and_merge_keys_share_columns() -> None:
    spec = load_schema(DATA / "valid" / "anchors.yaml")
    suppliers, warehouses = spec.tables
    assert [c.name for c in suppliers.columns] == ["id", "name", "created_at", "updated_at"]
    # Merged columns stand where `<<:` is written; a key written in the mapping itself wins.
    assert [c.name for c in warehouses.columns] == ["created_at", "code", "updated_at"]
    updated = warehouses.column("updated_at")
    assert updated is not None and updated.default_sql == "now()" and not updated.nullable
    # An error in a merged column points at the anchored text, where it can be fixed.
    (error,) = errors_of("x-c: &c\n  a: {type: txt}\ntables:\n  t:\n    columns:\n      <<: *c\n")
    assert (error.line, error.column, error.obj) == (2, 13, "table t, column a")
