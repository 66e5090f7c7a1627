"""`schemactl inspect` and `schemactl baseline` as a user runs them, on real databases."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn
from schemactl.spec.validate import load_schema
from tests.conftest import pg_dump_schema
from tests.helpers import make_project

DATA = Path(__file__).parent / "data" / "inspect"


# Some servers stamp each column with a per-database attribute option; not part of a schema.
_ATTVER = re.compile(r"^ALTER TABLE ONLY .* SET \(pg_attver=\d+\);$")


def schema_lines(url: URL) -> list[str]:
    return [line for line in pg_dump_schema(url).splitlines() if not _ATTVER.match(line)]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def test_inspect_writes_yaml_and_never_overwrites(db: psycopg.Connection, db_url: URL,
                                                  tmp_path: Path) -> None:
    db.execute((DATA / "keys.sql").read_text() + "CREATE VIEW v AS SELECT 1 AS one;"
               "CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';"
               "CREATE EVENT TRIGGER on_ddl ON ddl_command_end EXECUTE FUNCTION on_ddl();")
    out = tmp_path / "schema"
    result = run("inspect", "--database-url", url_text(db_url), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["billing.yaml", "public.yaml"]
    assert "3 tables, 0 enums, 0 extensions, 1 function, 1 view" in result.output
    assert "event trigger" in result.output and "on_ddl" in result.output  # the warning

    again = run("inspect", "--database-url", url_text(db_url), "-o", str(out))
    assert again.exit_code == 1
    assert "already holds a schema" in again.output and "billing.yaml" in again.output

    (out / "public.yaml").write_text("edited")
    (out / "mine.yaml").write_text("tables: {}\n")
    forced = run("inspect", "--database-url", url_text(db_url), "-o", str(out), "--force")
    assert forced.exit_code == 0 and "edited" not in (out / "public.yaml").read_text()
    # --force replaces the schema: nothing is left beside the inspected files, and it says so.
    assert sorted(p.name for p in out.iterdir()) == ["billing.yaml", "public.yaml"]
    assert "removed" in forced.output and "mine.yaml" in forced.output
    assert "replaced" in forced.output and "public.yaml" in forced.output


def test_inspect_never_adds_yaml_beside_a_schema(db: psycopg.Connection, db_url: URL,
                                                 tmp_path: Path) -> None:
    """Files with other names than inspect's would end up beside them: validate would then
    fail on duplicate tables. Refused, and nothing is written."""
    db.execute("CREATE TABLE t (id integer PRIMARY KEY)")
    out = tmp_path / "schema"
    out.mkdir()
    (out / "app.yaml").write_text("tables:\n  t:\n    columns: {id: integer}\n")
    result = run("inspect", "--database-url", url_text(db_url), "-o", str(out))
    assert result.exit_code == 1
    assert "already holds a schema" in result.output and "--force" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["app.yaml"]


def test_inspect_never_shows_the_password(db: psycopg.Connection, db_url: URL,
                                          tmp_path: Path) -> None:
    db.execute("CREATE TABLE t (id integer PRIMARY KEY)")
    secret = db_url.set(password="s3cret-pw")  # the test servers trust local connections
    result = run("inspect", "--database-url", url_text(secret), "-o", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    assert "s3cret-pw" not in result.output and "***" in result.output


def test_inspect_one_schema_split(db: psycopg.Connection, db_url: URL, tmp_path: Path) -> None:
    db.execute((DATA / "keys.sql").read_text())
    out = tmp_path / "schema"
    result = run("inspect", "--database-url", url_text(db_url), "-o", str(out),
                 "--schema", "billing", "--split")
    assert result.exit_code == 0, result.output
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.yaml")] == \
        ["billing/invoices.yaml"]
    assert "foreign key to an unsupported table" in result.output


def test_inspect_empty_database_is_an_error(db_url: URL, tmp_path: Path) -> None:
    result = run("inspect", "--database-url", url_text(db_url), "-o", str(tmp_path))
    assert result.exit_code == 1 and "no tables, enums, extensions or schemas found" in result.output


def test_inspect_a_database_of_only_extensions_and_empty_schemas(
        db: psycopg.Connection, db_url: URL, tmp_path: Path) -> None:
    db.execute("CREATE SCHEMA archive; CREATE EXTENSION hstore; CREATE EXTENSION ltree "
               "VERSION '1.1'")
    result = run("inspect", "--database-url", url_text(db_url), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "1 schema with none of those" in result.output
    text = (tmp_path / "public.yaml").read_text()
    assert "schemas: [archive]" in text
    assert "extensions: [hstore, {name: ltree, version: '1.1'}]" in text
    spec = load_schema(tmp_path, tmp_path)  # what `validate` reads
    assert spec.schemas == ("archive",) and [e.name for e in spec.extensions] == ["hstore", "ltree"]


def test_baseline_adopts_a_database_without_touching_it(
    db: psycopg.Connection, db_url: URL, server_url: URL, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHADOW_DATABASE_URL", url_text(server_url))  # plan's throwaway shadows
    db.execute((DATA / "blog.sql").read_text())
    db.execute("INSERT INTO users (username, email, password_hash) VALUES ('ann', 'a@x', 'h')")
    project = make_project(tmp_path / "app")
    target = url_text(db_url)

    result = run("-C", str(project.root), "baseline", "--database-url", target)
    assert result.exit_code == 0, result.output
    assert (project.schema_dir / "public.yaml").exists()  # inspected first: schema/ was empty
    [revision] = [p.stem for p in project.versions_dir.glob("*.py")]
    rev_id, _, slug = revision.partition("_")
    assert slug == "baseline" and re.fullmatch(r"\d{14}[a-z]{4}", rev_id)  # like every revision
    assert [p.stem for p in project.sql_dir.glob("*.sql")] == [revision]
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(rev_id,)]
    assert db.execute("SELECT username FROM users").fetchall() == [("ann",)]

    again = run("-C", str(project.root), "plan", "--against", target)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output

    # 0001 run on an empty database builds the very same schema.
    with throwaway_database(server_url, "schemactl_test") as fresh:
        applied = run("-C", str(project.root), "apply", "--yes", "--database-url",
                      url_text(fresh))
        assert applied.exit_code == 0, applied.output
        assert schema_lines(fresh) == schema_lines(db_url)


ISSUE_TYPES_SQL = """
CREATE TABLE documents (
    id integer PRIMARY KEY,
    search tsvector,
    price money NOT NULL DEFAULT 0,
    during tstzrange,
    created_at timestamp(3) with time zone NOT NULL DEFAULT now()
);
CREATE INDEX documents_search_idx ON documents USING gin (search);
"""


def test_baseline_keeps_every_column_of_the_types_it_once_lost(
    db: psycopg.Connection, db_url: URL, server_url: URL, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tsvector, money, range and timestamptz(3) columns were once left out of the YAML,
    while `plan --against` said No changes and `status` showed them as drift."""
    monkeypatch.setenv("SHADOW_DATABASE_URL", url_text(server_url))
    db.execute(ISSUE_TYPES_SQL)
    project = make_project(tmp_path / "app")
    target = url_text(db_url)

    result = run("-C", str(project.root), "baseline", "--database-url", target)
    assert result.exit_code == 0, result.output
    assert "left out" not in result.output  # nothing the YAML cannot say
    text = (project.schema_dir / "public.yaml").read_text()
    for spelled in ("tsvector", "money", "tstzrange", "timestamptz(3)"):
        assert spelled in text, text

    against = run("-C", str(project.root), "plan", "--against", target)
    assert against.exit_code == 0 and "No changes." in against.output, against.output
    status = run("-C", str(project.root), "status", "--database-url", target)
    assert status.exit_code == 0 and "Drift: none" in status.output, status.output

    # A column of such a type dropped by hand is now seen by both checks.
    db.execute("ALTER TABLE documents DROP COLUMN during")
    against = run("-C", str(project.root), "plan", "--against", target)
    assert "+ column during" in against.output, against.output
    status = run("-C", str(project.root), "status", "--database-url", target)
    assert status.exit_code == 3 and "during" in status.output, status.output


def test_baseline_refuses_a_database_that_differs_from_the_yaml(
    db: psycopg.Connection, db_url: URL, server_url: URL, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHADOW_DATABASE_URL", url_text(server_url))
    db.execute("CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL)")
    project = make_project(tmp_path / "app", "tables:\n  notes:\n    columns:\n"
                           "      id: {type: integer, primary_key: true}\n")
    result = run("-C", str(project.root), "baseline", "--database-url", url_text(db_url))
    assert result.exit_code == 1, result.output
    assert "does not match" in result.output and "body" in result.output
    assert not any(project.versions_dir.glob("*.py"))
    assert db.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,)

    forced = run("-C", str(project.root), "baseline", "--force", "--database-url",
                 url_text(db_url))
    assert forced.exit_code == 0, forced.output
    [revision] = project.versions_dir.glob("*.py")
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
        (revision.name.split("_")[0],)]


def test_baseline_needs_an_empty_history(db: psycopg.Connection, db_url: URL,
                                         tmp_path: Path) -> None:
    db.execute((DATA / "blog.sql").read_text())
    project = make_project(tmp_path / "app")
    (project.versions_dir / "0001_first.py").write_text("revision = '0001'\n")
    result = run("-C", str(project.root), "baseline", "--database-url", url_text(db_url))
    assert result.exit_code == 1 and "already has revisions" in result.output
    with psycopg.connect(libpq_dsn(db_url)) as conn:
        assert conn.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,)


@pytest.fixture(autouse=True)
def _no_env_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the URLs the tests pass count, never a DATABASE_URL of the machine."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SHADOW_DATABASE_URL", raising=False)


def test_inspect_writes_only_yaml_that_validates(
    db: psycopg.Connection, db_url: URL, server_url: URL, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL allows an empty (or blank) enum label and a table none of whose columns
    the YAML can express; inspect used to write YAML that validate then refused."""
    monkeypatch.setenv("SHADOW_DATABASE_URL", url_text(server_url))
    db.execute("""
        CREATE TYPE mood AS ENUM ('', ' ', 'ok');
        CREATE TYPE "m  n" AS ENUM ('x');
        CREATE TABLE shapes (p "m  n");
        CREATE TABLE nothing ();
        CREATE TABLE notes (id int PRIMARY KEY, m mood NOT NULL DEFAULT '');
        CREATE TABLE "a
b" ("c	d" int PRIMARY KEY, "  " text DEFAULT 'it''s', "SELECT" text);
        CREATE TABLE "é" ("q""uote" int CHECK ("q""uote" > 0));
        CREATE TYPE "m n" AS ENUM ('y');
        CREATE TABLE uses_m (id int, v "m  n", w "m n");
    """)
    project = make_project(tmp_path / "app")
    result = run("-C", str(project.root), "inspect", "--database-url", url_text(db_url))
    assert result.exit_code == 0, result.output
    assert "table with no column the YAML can express" in result.output
    assert "public.shapes" in result.output
    assert "enum whose name the YAML cannot write as a type" in result.output
    checked = run("-C", str(project.root), "validate")
    assert checked.exit_code == 0, checked.output
    # And the YAML means that database: nothing to change against it, and what it left
    # out is said to be not compared.
    again = run("-C", str(project.root), "plan", "--against", url_text(db_url))
    assert again.exit_code == 0, again.output
    assert "No changes (4 objects not compared, listed above)." in again.output
    assert '  column of type "m  n" public.shapes.p\n' in again.output


def test_baseline_against_an_unknown_revision_writes_nothing(
    db: psycopg.Connection, db_url: URL, server_url: URL, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHADOW_DATABASE_URL", url_text(server_url))
    db.execute("CREATE TABLE t (id int PRIMARY KEY);"
               "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
               "INSERT INTO alembic_version VALUES ('abc123');")
    project = make_project(tmp_path / "app")
    before = sorted(str(p.relative_to(project.root)) for p in project.root.rglob("*"))
    result = CliRunner().invoke(main, ["-C", str(project.root), "baseline", "--database-url",
                                       url_text(db_url)])
    assert result.exit_code == 1, result.output
    assert "already records Alembic revision abc123" in result.output
    assert "Traceback" not in result.output
    assert sorted(str(p.relative_to(project.root)) for p in project.root.rglob("*")) == before
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("abc123",)]


def test_baseline_adopts_a_partitioned_database(
    db: psycopg.Connection, db_url: URL, server_url: URL, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Partitioned tables and their partitions (range, list, hash, a sub-partition, keys and
    indexes on the parents): inspect writes them, the YAML validates, plan --against finds
    nothing to change, status no drift; a partition moved by hand is drift."""
    monkeypatch.setenv("SHADOW_DATABASE_URL", url_text(server_url))
    db.execute((DATA / "partitions.sql").read_text())
    db.execute("INSERT INTO events VALUES (1, '2024-05-01', 'paris'), (2, '2001-01-01', NULL)")
    project = make_project(tmp_path / "app")
    target = url_text(db_url)

    result = run("-C", str(project.root), "baseline", "--database-url", target)
    assert result.exit_code == 0, result.output
    text = (project.schema_dir / "public.yaml").read_text()
    assert "partition_by: {range: [at]}" in text and "partition_of: events" in text
    assert run("-C", str(project.root), "validate").exit_code == 0
    again = run("-C", str(project.root), "plan", "--against", target)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output
    status = run("-C", str(project.root), "status", "--database-url", target)
    assert "Drift: none" in status.output, status.output
    assert db.execute("SELECT id FROM events_2024").fetchall() == [(1,)]

    # The baseline run on an empty database builds the very same schema.
    with throwaway_database(server_url, "schemactl_test") as fresh:
        applied = run("-C", str(project.root), "apply", "--yes", "--database-url",
                      url_text(fresh))
        assert applied.exit_code == 0, applied.output
        assert schema_lines(fresh) == schema_lines(db_url)

    db.execute("ALTER TABLE events DETACH PARTITION events_2024")
    db.execute("ALTER TABLE events ATTACH PARTITION events_2024 "
               "FOR VALUES FROM ('2024-01-01') TO ('2024-07-01')")
    drifted = run("-C", str(project.root), "status", "--database-url", target)
    assert "table public.events_2024" in drifted.output, drifted.output
    moved = run("-C", str(project.root), "plan", "--against", target)
    assert "~ table events_2024: attach to events FOR VALUES FROM ('2024-01-01') TO " \
           "('2025-01-01')" in moved.output, moved.output
