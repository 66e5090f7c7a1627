"""Offline SQL: the script a DBA runs with psql does exactly what the online upgrade does.

Revisions are written by hand (tests/data/offline/blog: the shape plan writes). Each
equivalence test upgrades one fresh database with the offline script through psql and
another with Alembic online, then compares `pg_dump --schema-only` and alembic_version.
Golden files: tests/golden/offline/*.sql; regenerate with SCHEMACTL_REGEN_GOLDEN=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db import embedded
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn
from schemactl.project import Project
from schemactl.render.offline_sql import offline_script, write_revision_sql
from schemactl.render.sqlcheck import SqlCheckError
from schemactl.settings import Settings
from tests.conftest import REPO, pg_dump_schema

DATA = Path(__file__).parent / "data" / "offline"
GOLDEN = Path(__file__).parent / "golden" / "offline"
SETTINGS = Settings(lock_timeout="5s", statement_timeout="0")


# --- helpers ------------------------------------------------------------------------------


def new_project(root: Path, revisions: Path | None = None) -> Project:
    """A project with this repository's alembic.ini, env.py and template (+ revisions)."""
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "sql").mkdir()
    shutil.copy(REPO / "alembic.ini", root)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(REPO / "migrations" / name, root / "migrations")
    if revisions is not None:
        for path in sorted(revisions.glob("*.py")):
            shutil.copy(path, root / "migrations" / "versions")
    return Project(root)


def run_psql(url: URL, script: str, tmp_path: Path) -> None:
    path = tmp_path / "script.sql"
    path.write_text(script, encoding="utf-8")
    done = subprocess.run(
        [str(embedded.bin_path("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(path),
         "-d", libpq_dsn(url)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr


def online(project: Project, url: URL, run: Callable[..., None], target: str) -> None:
    """Alembic upgrade/downgrade online, through the connection schemactl would pass in."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            config = project.alembic_config()
            config.attributes["connection"] = conn
            run(config, target)
            conn.commit()
    finally:
        engine.dispose()


def version(url: URL) -> list[str]:
    with psycopg.connect(libpq_dsn(url)) as conn:
        return [row[0] for row in conn.execute("select version_num from alembic_version")]


def same_database(a: URL, b: URL) -> None:
    assert pg_dump_schema(a) == pg_dump_schema(b)
    assert version(a) == version(b)


@pytest.fixture
def other_db(server_url: URL) -> Iterator[URL]:
    """A second fresh database, for the online side of a comparison."""
    with throwaway_database(server_url, prefix="schemactl_test") as url:
        yield url


@pytest.fixture
def blog(tmp_path: Path) -> Project:
    return new_project(tmp_path / "blog", DATA / "blog")


# --- equivalence with the online upgrade ----------------------------------------------------


def test_offline_upgrade_gives_the_same_database_as_online(
    blog: Project, db_url: URL, other_db: URL, tmp_path: Path
) -> None:
    run_psql(db_url, offline_script(blog, None, "head", settings=SETTINGS), tmp_path)
    online(blog, other_db, command.upgrade, "head")
    same_database(db_url, other_db)
    assert version(db_url) == ["0003"]


def test_per_revision_files_run_in_order_give_the_same_database_as_online(
    blog: Project, db_url: URL, other_db: URL, tmp_path: Path
) -> None:
    paths = [write_revision_sql(blog, rev, settings=SETTINGS) for rev in ("0001", "0002", "0003")]
    assert [p.name for p in paths] == [
        "0001_create_blog.sql", "0002_rename_content_to_body.sql", "0003_drop_legacy.sql"]
    for path in paths:
        run_psql(db_url, path.read_text(encoding="utf-8"), tmp_path)
        online(blog, other_db, command.upgrade, path.name[:4])
        same_database(db_url, other_db)


def test_offline_upgrade_from_a_revision_continues_an_online_database(
    blog: Project, db_url: URL, other_db: URL, tmp_path: Path
) -> None:
    online(blog, db_url, command.upgrade, "0001")
    script = offline_script(blog, "0001", "head", settings=SETTINGS)
    assert "Revision 0001" not in script and "CREATE TABLE alembic_version" not in script
    run_psql(db_url, script, tmp_path)
    online(blog, other_db, command.upgrade, "head")
    same_database(db_url, other_db)


@pytest.mark.parametrize("target", ["0001", "base"])
def test_offline_downgrade_gives_the_same_database_as_online(
    blog: Project, db_url: URL, other_db: URL, tmp_path: Path, target: str
) -> None:
    online(blog, db_url, command.upgrade, "head")
    online(blog, other_db, command.upgrade, "head")
    run_psql(db_url, offline_script(blog, "head", target, downgrade=True, settings=SETTINGS),
             tmp_path)
    online(blog, other_db, command.downgrade, target)
    same_database(db_url, other_db)
    assert version(db_url) == ([] if target == "base" else ["0001"])


# --- what the script looks like ------------------------------------------------------------


def test_script_layout(blog: Project) -> None:
    script = offline_script(blog, None, "head", settings=Settings(lock_timeout="2s",
                                                                  statement_timeout="1min"))
    assert script.index("SET lock_timeout = '2s';") < script.index("BEGIN;")
    assert "SET statement_timeout = '1min';" in script
    assert "ALTER TABLE posts RENAME COLUMN content TO body;" in script
    assert "IDENTITY (START WITH 10 INCREMENT BY 5 MINVALUE 10 CACHE 2)" in script
    # The concurrent index sits between transactions, with the reason.
    before, _, after = script.partition("CREATE INDEX CONCURRENTLY users_image_file_idx")
    assert before.rstrip().splitlines()[-4:] == [
        "-- Transaction group 4 of 5: outside a transaction",
        "-- Outside a transaction: CREATE INDEX CONCURRENTLY cannot run inside a transaction "
        "block.",
        "-- If the script stops after this point, this revision is partly applied.",
        "-- If it fails, it leaves an INVALID index: drop it at once (DROP INDEX "
        "CONCURRENTLY IF EXISTS users_image_file_idx;) before running it again.",
    ]
    assert before.rstrip().rsplit("BEGIN;", 1)[1].count("COMMIT;") == 1
    # The version update of every revision is inside a transaction.
    for update in ("VALUES ('0001')", "version_num='0002'", "version_num='0003'"):
        tail = script[script.index(update):]
        assert tail.index("COMMIT;") < tail.find("BEGIN;") or "BEGIN;" not in tail
        head = script[: script.index(update)]
        assert head.rindex("BEGIN;") > head.rfind("COMMIT;")
    # Drops are pointed out; hazards are in the header.
    assert "-- Drops column users.image_file" in script
    assert "--   DS101 (data loss) table public.legacy: drops the table and all its rows" in script


def test_an_empty_range_says_so(blog: Project) -> None:
    script = offline_script(blog, "0003", "head", settings=SETTINGS)
    assert "Nothing to do" in script and "BEGIN;" not in script


def test_a_bad_timeout_is_refused_before_anything_is_rendered(blog: Project) -> None:
    from schemactl.errors import SchemactlError

    with pytest.raises(SchemactlError, match="lock_timeout: expected a duration"):
        offline_script(blog, None, "head",
                       settings=Settings.model_construct(lock_timeout="1s'; drop table x",
                                                         statement_timeout="0"))


def test_message_and_hazard_text_cannot_break_out_of_the_header_comment(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p")
    write_revision(project, "0001", "evil", ["CREATE TABLE t (a INTEGER)"],
                   message="line one\nDROP TABLE t; --",
                   hazards=[{"code": "MF103", "kind": "may fail on existing data",
                             "object": "table t\r\nDROP TABLE t;", "message": "x"}])
    script = offline_script(project, None, "head", settings=SETTINGS)
    sql_lines = [line for line in script.splitlines() if line and not line.startswith("--")]
    assert not any("DROP TABLE" in line for line in sql_lines)


# --- golden files -------------------------------------------------------------------------


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SCHEMACTL_REGEN_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with SCHEMACTL_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("rev", ["0001", "0002", "0003"])
def test_golden_revision_sql(blog: Project, rev: str) -> None:
    path = write_revision_sql(blog, rev, settings=SETTINGS)
    check_golden(path.name, path.read_text(encoding="utf-8"))


def test_golden_downgrade(blog: Project) -> None:
    check_golden("blog_downgrade_head_to_base.sql",
                 offline_script(blog, "head", "base", downgrade=True, settings=SETTINGS))


# --- hostile literals ---------------------------------------------------------------------

HOSTILE = ("it's \"quoted\" ; drop table users; -- \\ back\\slash \\' $$ dollar $body$ 100% "
           "ünïcödé 🎉\nend")
LABELS = ["it's", "a\\b", "$$", "; drop table users; --", "ünï 🎉", 'say "hi"', "\\'", "a:b",
          "100%"]

_TEMPLATE = '''"""{message}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None

schemactl_hazards: list[dict[str, str]] = {hazards!r}


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
    pass
'''


def write_revision(project: Project, rev: str, slug: str, upgrade: list[str] | str,
                   down: str | None = None, message: str | None = None,
                   hazards: list[dict[str, str]] | None = None) -> Path:
    """A revision file of the template's shape; a list of strings becomes op.execute calls."""
    body = upgrade if isinstance(upgrade, str) else "\n".join(
        f"    op.execute({s!r})" for s in upgrade)
    path = project.versions_dir / f"{rev}_{slug}.py"
    path.write_text(_TEMPLATE.format(message=message or slug, rev=rev, down=down,
                                     hazards=hazards or [], upgrade=body), encoding="utf-8")
    return path


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


HOSTILE_UPGRADE = f"""\
    mood = postgresql.ENUM(*{LABELS!r}, name='mood')
    mood.create(op.get_bind())
    notes = op.create_table(
        'notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), server_default=sa.text({sql_literal(HOSTILE)!r}),
                  nullable=False, comment={HOSTILE!r}),
        sa.Column('plain', sa.Text(), server_default={HOSTILE!r}, nullable=False),
        sa.Column('mood', postgresql.ENUM(name='mood', create_type=False),
                  server_default={LABELS[0]!r}, nullable=False),
        sa.PrimaryKeyConstraint('id', name='notes_pkey'),
        comment={HOSTILE!r},
    )
    op.bulk_insert(notes, [{{'id': 1, 'body': {HOSTILE!r}, 'mood': {LABELS[3]!r}}}])
"""


def test_hostile_literals_parse_run_and_are_stored_exactly(
    tmp_path: Path, db_url: URL, other_db: URL
) -> None:
    project = new_project(tmp_path / "p")
    write_revision(project, "0001", "hostile", HOSTILE_UPGRADE)
    script = offline_script(project, None, "head", settings=SETTINGS)
    run_psql(db_url, script, tmp_path)

    with psycopg.connect(libpq_dsn(db_url)) as conn:
        def one(query: str) -> object:
            row = conn.execute(query).fetchone()
            assert row is not None
            return row[0]

        assert one("select obj_description('notes'::regclass, 'pg_class')") == HOSTILE
        assert one("select col_description('notes'::regclass, 2)") == HOSTILE
        assert one("select enum_range(null::mood)::text[]") == LABELS
        assert one("select body from notes") == HOSTILE
        assert one("select mood::text from notes") == LABELS[3]
        conn.execute("insert into notes (id) values (2)")  # every default, as stored
        assert one("select body from notes where id = 2") == HOSTILE
        assert one("select plain from notes where id = 2") == HOSTILE
        assert one("select mood::text from notes where id = 2") == LABELS[0]
        assert one("select count(*) from pg_tables where tablename = 'users'") == 0

    online(project, other_db, command.upgrade, "head")
    same_database(db_url, other_db)


@pytest.mark.xfail(strict=True, reason="Alembic's offline mode replaces every TAB in a statement "
                   "with 4 spaces, inside string literals too (alembic.ddl.impl._exec)")
def test_a_tab_in_a_literal_survives(tmp_path: Path, db_url: URL) -> None:
    project = new_project(tmp_path / "p")
    write_revision(project, "0001", "tab", "    op.create_table('t', sa.Column('a', sa.Integer()),"
                   " comment='a\\tb')")
    run_psql(db_url, offline_script(project, None, "head", settings=SETTINGS), tmp_path)
    with psycopg.connect(libpq_dsn(db_url)) as conn:
        row = conn.execute("select obj_description('t'::regclass, 'pg_class')").fetchone()
    assert row == ("a\tb",)


# --- the check stops bad SQL before anything is written ------------------------------------


def test_a_broken_statement_is_rejected_naming_revision_and_statement(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p")
    write_revision(project, "0001", "ok", ["CREATE TABLE t (a INTEGER)"])
    write_revision(project, "0002", "broken", ["CREATE TABLE broken (a INTEGER"], down="0001")
    with pytest.raises(SqlCheckError) as raised:
        write_revision_sql(project, "0002", settings=SETTINGS)
    message = str(raised.value)
    assert "revision 0002" in message
    assert "statement: CREATE TABLE broken (a INTEGER" in message
    assert not list(project.sql_dir.glob("*.sql"))


def test_an_unmarked_drop_is_rejected(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p")
    write_revision(project, "0001", "make", ["CREATE TABLE t (a INTEGER, b INTEGER)"])
    write_revision(project, "0002", "lose", ["ALTER TABLE t DROP COLUMN b"], down="0001")
    with pytest.raises(SqlCheckError, match=r"revision 0002: drops column t\.b"):
        offline_script(project, None, "head", settings=SETTINGS)


def test_opaque_statements_are_counted_and_marked(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p")
    write_revision(project, "0001", "ext", ["CREATE EXTENSION IF NOT EXISTS pg_trgm"])
    script = offline_script(project, None, "head", settings=SETTINGS)
    assert "Statements sqlglot could only check as opaque commands: 1 (marked below)" in script
    assert ("-- Checked as opaque command: sqlglot could not read its structure.\n"
            "CREATE EXTENSION IF NOT EXISTS pg_trgm;") in script


# --- the command --------------------------------------------------------------------------


def cli(project: Project, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["-C", str(project.root), "sql", *args])
    return result.exit_code, result.stdout, result.stderr


def url_arg(url: URL) -> list[str]:
    return ["--database-url", url.render_as_string(hide_password=False)]


def test_cli_default_range_starts_at_the_database_revision(blog: Project, db_url: URL) -> None:
    code, out, _ = cli(blog, *url_arg(db_url))
    assert code == 0 and "Revision 0001" in out and "upgrade base -> head" in out
    online(blog, db_url, command.upgrade, "0002")
    code, out, _ = cli(blog, *url_arg(db_url))
    assert code == 0, out
    assert "upgrade 0002 -> head" in out
    assert "Revision 0003" in out and "Revision 0002" not in out


def test_cli_writes_a_file_with_the_given_timeouts(blog: Project, tmp_path: Path) -> None:
    out_file = tmp_path / "out.sql"
    code, out, err = cli(blog, "base:0002", "-o", str(out_file), "--lock-timeout", "3s",
                         "--statement-timeout", "10min")
    assert code == 0, err
    assert out == "" and "Wrote" in err
    text = out_file.read_text(encoding="utf-8")
    assert "SET lock_timeout = '3s';" in text and "SET statement_timeout = '10min';" in text
    assert "Revision 0002" in text and "Revision 0003" not in text


def test_cli_downgrade_and_errors(blog: Project) -> None:
    code, out, _ = cli(blog, "--downgrade", "0003:0001")
    assert code == 0
    assert "Downgrade: undo revision 0003" in out and "undo revision 0001" not in out
    code, _, err = cli(blog, "--downgrade")
    assert code == 2 and "--downgrade needs the revision to go back to" in err
    code, _, err = cli(blog, "0001:0002:0003")
    assert code == 2 and "not a range" in err
    code, _, err = cli(blog, "base:nosuch")
    assert code == 1 and "nosuch" in err
    code, _, err = cli(blog, "0003:0001")
    assert code == 1 and "use --downgrade" in err
    code, _, err = cli(blog, "base:head", "--lock-timeout", "soon")
    assert code == 1 and "--lock-timeout: expected a duration" in err
