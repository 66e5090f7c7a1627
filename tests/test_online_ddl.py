"""Lock-safe DDL on tables that hold rows: transaction groups, resume after a failure, the
INVALID index a failed concurrent build leaves, and a writer that goes on meanwhile.

Each test plans the change as a user would (the default, lock-safe forms), applies it with
`schemactl apply` on real PostgreSQL, and checks what the user would look at: the exit code
and message, the table's constraints and indexes, the history, the rows.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from schemactl import progress
from schemactl.apply import checksums
from schemactl.db.urls import libpq_dsn
from schemactl.diff import online
from schemactl.pipeline import make_plan, write_revision
from schemactl.render.human import render_plan

from .apply_helpers import schemactl
from .helpers import make_project, set_schema, settings_for
from .test_offline_sql import run_psql

BEFORE = """
tables:
  items:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      code: {type: text, nullable: true}
      qty: {type: integer, nullable: true}
"""
AFTER = """
tables:
  items:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      code: {type: text, unique: true}
      qty: {type: integer, nullable: true}
    checks:
      qty_positive: "qty > 0"
    indexes:
      - {columns: [qty]}
"""


def _plan_and_write(project, server_url: URL, message: str) -> str:  # type: ignore[no-untyped-def]
    plan = make_plan(project, settings_for(server_url))
    return write_revision(project, plan, message).read_text()


def _history(conn: psycopg.Connection, revision: str) -> list[tuple[str, int | None]]:
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT result, group_no FROM schemactl_history WHERE revision LIKE %s ORDER BY id",
        (revision + "%",)).fetchall()]


def _adopted(tmp_path: Path, server_url: URL, db_url: URL, rows: str):  # type: ignore[no-untyped-def]
    project = make_project(tmp_path, BEFORE)
    _plan_and_write(project, server_url, "items")
    assert schemactl(project, "apply", url=db_url).returncode == 0
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute(rows)
    set_schema(project, AFTER)
    return project


def test_a_failed_revision_resumes_after_its_last_completed_group(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    project = _adopted(tmp_path, server_url, db_url,
                       "INSERT INTO items (code, qty) VALUES ('a', 1), ('a', 2), ('b', 3)")
    revision = _plan_and_write(project, server_url, "safe")
    assert ("op.run_sql_outside_transaction('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "
            "items_code_key") in revision
    assert "VALIDATE CONSTRAINT items_code_not_null" in revision
    rev_id = next(project.versions_dir.glob("*_safe.py")).name.split("_")[0]

    # The duplicate 'a' breaks the unique index, built after code became NOT NULL.
    failed = schemactl(project, "apply", url=db_url)
    assert failed.returncode != 0
    assert "3 groups completed and stay" in failed.stderr, failed.stderr
    assert "apply resumes after the last completed group" in failed.stderr
    # The error names the index, its table and the duplicate; the INVALID index the failed
    # build left (which would go on refusing duplicates on writes) is dropped at once.
    assert "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_code_key ON items (code)" \
        in failed.stderr
    assert 'could not create unique index "items_code_key"' in failed.stderr
    assert "Key (code)=(a) is duplicated" in failed.stderr
    assert "Dropped the INVALID index items_code_key" in failed.stderr
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        not_null = conn.execute("SELECT attnotnull FROM pg_attribute WHERE attrelid = "
                                "'items'::regclass AND attname = 'code'").fetchone()
        assert not_null == (True,)  # groups 1-3 are in
        assert conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone() \
            == (0,)
        assert conn.execute("SELECT to_regclass('items_code_key')").fetchone() == (None,)
        assert _history(conn, rev_id) == [("ok", 1), ("ok", 2), ("ok", 3), ("failed", None)]
        conn.execute("INSERT INTO items (code, qty) VALUES ('a', 4)")  # writes go on
        # A run killed during the build could not drop what it left: the same build by
        # hand leaves the INVALID index, which the next run must drop before building.
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY items_code_key ON items (code)")
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                            "to_regclass('items_code_key')").fetchone() == (False,)
        conn.execute("UPDATE items SET code = 'c' || id WHERE qty <> 1")
    shown = schemactl(project, "history", url=db_url).stdout
    assert f"{rev_id} group 3 applied" in shown and f"{rev_id} FAILED" in shown, shown

    resumed = schemactl(project, "apply", url=db_url)
    assert resumed.returncode == 0, resumed.stderr
    assert "Dropping the INVALID index items_code_key" in resumed.stderr
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        # Groups 1-3 were not run again: the history goes on from group 4.
        assert _history(conn, rev_id) == [("ok", 1), ("ok", 2), ("ok", 3), ("failed", None),
                                          *[("ok", n) for n in range(4, 8)], ("ok", None)]
        constraints = conn.execute(
            "SELECT conname, contype, convalidated FROM pg_constraint "
            "WHERE conrelid = 'items'::regclass ORDER BY conname").fetchall()
        assert constraints == [("items_code_key", "u", True), ("items_pkey", "p", True),
                               ("qty_positive", "c", True)]
        assert conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone() \
            == (0,)
    assert not make_plan(project, settings_for(server_url)).has_changes


def test_a_changed_file_is_not_resumed(tmp_path: Path, server_url: URL, db_url: URL) -> None:
    project = _adopted(tmp_path, server_url, db_url,
                       "INSERT INTO items (code, qty) VALUES ('a', 1), ('a', 2)")
    _plan_and_write(project, server_url, "safe")
    assert schemactl(project, "apply", url=db_url).returncode != 0
    path = next(project.versions_dir.glob("*_safe.py"))
    path.write_text(path.read_text().replace("qty > 0", "qty >= 0"))
    again = schemactl(project, "apply", url=db_url)
    assert again.returncode != 0
    assert "has changed since" in again.stderr or "changed" in again.stderr, again.stderr


def test_a_writer_goes_on_while_the_migration_runs(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    """100,000 rows; a second connection inserts and updates in a loop. Every one of its
    statements finishes within the migration's lock_timeout (here 1s)."""
    project = _adopted(tmp_path, server_url, db_url,
                       "INSERT INTO items (code, qty) SELECT 'c' || g, g FROM "
                       "generate_series(1, 100000) g")
    _plan_and_write(project, server_url, "safe")
    (project.root / ".env").write_text("LOCK_TIMEOUT=1s\n")
    waits: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        try:
            with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
                n = 0
                while not stop.is_set():
                    n += 1
                    started = time.monotonic()
                    conn.execute("INSERT INTO items (code, qty) VALUES (%s, 1)", (f"w{n}",))
                    conn.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (n,))
                    waits.append(time.monotonic() - started)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        applied = schemactl(project, "apply", url=db_url)
    finally:
        stop.set()
        thread.join(30)
    assert applied.returncode == 0, applied.stderr
    assert not errors, errors
    assert len(waits) > 50, "the writer made progress during the migration"
    assert max(waits) < 1.0, f"the writer waited {max(waits):.2f}s"
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = "
                            "'items'::regclass AND convalidated").fetchone() == (3,)


class _Recorder:
    """A progress listener that keeps every label it is told."""

    def __init__(self) -> None:
        self.labels: list[str] = []

    def started(self, label: str) -> object:
        self.labels.append(label)
        return len(self.labels)

    def relabel(self, token: object, label: str) -> None:
        self.labels.append(label)

    def ended(self, token: object) -> None:
        pass


def test_a_backfill_reports_each_batch_as_progress(db_url: URL) -> None:
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int, c int)")
        conn.execute("INSERT INTO big SELECT g, NULL FROM generate_series(1, 300000) g")
        pages = conn.execute("SELECT pg_relation_size('big') / 8192").fetchone()[0]  # type: ignore[index]
        recorder = _Recorder()
        statement = online.backfill_statement(None, "big", "c", "id * 2")
        with progress.listening(recorder), progress.notices(conn, "backfill"):
            conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM big WHERE c IS DISTINCT FROM id * 2") \
            .fetchone() == (0,)
    batches = [label for label in recorder.labels if label.startswith("backfill: filling big.c")]
    assert pages > online.BATCH_PAGES  # the case needs several batches
    assert len(batches) == pages // online.BATCH_PAGES + 1, recorder.labels
    assert batches[0] == f"backfill: filling big.c, page {online.BATCH_PAGES} of {pages}"
    assert batches[-1] == f"backfill: filling big.c, page {pages} of {pages}"


def test_an_atomic_plan_fills_existing_rows_too(tmp_path: Path, server_url: URL,
                                               db_url: URL) -> None:
    project = _adopted(tmp_path, server_url, db_url,
                       "INSERT INTO items (code, qty) VALUES ('a', NULL), ('b', 3)")
    set_schema(project, BEFORE.replace("qty: {type: integer, nullable: true}",
                                       "qty: {type: integer, backfill: 1}"))
    plan = make_plan(project, settings_for(server_url).model_copy(update={"atomic": True}))
    revision = write_revision(project, plan, "atomic").read_text()
    assert "UPDATE items SET qty = 1 WHERE qty IS NULL" in revision
    assert "commit_group" not in revision and "outside_transaction" not in revision
    assert schemactl(project, "apply", url=db_url).returncode == 0
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        assert conn.execute("SELECT code, qty FROM items ORDER BY code").fetchall() == [
            ("a", 1), ("b", 3)]


ENUM_BEFORE = """
enums:
  mood: [low, high]
tables:
  items:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      code: {type: text, nullable: true}
      qty: {type: integer, nullable: true}
      feel: {type: mood, nullable: true}
    indexes:
      - {columns: [qty]}
"""
# One revision with each statement that commits by itself: DROP INDEX CONCURRENTLY (group
# 1), the backfill DO block (group 3), CREATE INDEX CONCURRENTLY (group 7); and an enum
# value (group 2, in a transaction with the new column).
ENUM_AFTER = """
enums:
  mood: [low, mid, high]
tables:
  items:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      code: {type: text, nullable: true}
      qty: {type: integer, nullable: true}
      feel: {type: mood, nullable: true}
      twice: {type: bigint, backfill_sql: "id * 2"}
    indexes:
      - {columns: [code]}
"""


@pytest.mark.parametrize(("group", "statement", "notice"), [
    (1, "DROP INDEX CONCURRENTLY IF EXISTS items_qty_idx",
     'PostgreSQL: index "items_qty_idx" does not exist, skipping'),
    (3, "DO $backfill$", None),  # fills only NULLs: the second run finds none
    (7, "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_code_idx ON items (code)",
     'PostgreSQL: relation "items_code_idx" already exists, skipping'),
])
def test_a_run_that_stopped_right_after_a_statement_outside_a_transaction_completes(
        tmp_path: Path, server_url: URL, db_url: URL, group: int, statement: str,
        notice: str | None) -> None:
    """Such a statement commits by itself, and apply records its group just after: a run
    killed in between leaves it done and unrecorded. The next apply runs it again."""
    project = make_project(tmp_path, ENUM_BEFORE)
    _plan_and_write(project, server_url, "items")
    assert schemactl(project, "apply", url=db_url).returncode == 0
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO items (code, qty, feel) "
                     "SELECT 'c' || g, g, 'low' FROM generate_series(1, 1000) g")
    set_schema(project, ENUM_AFTER)
    _plan_and_write(project, server_url, "safe")
    path = next(project.versions_dir.glob("*_safe.py"))
    rev_id = path.name.split("_")[0]
    script = next(project.sql_dir.glob("*_safe.sql")).read_text()
    assert "ADD VALUE IF NOT EXISTS 'mid'" in script
    # What a DBA whose build failed does, since IF NOT EXISTS would skip an INVALID index.
    assert "-- If it fails, it leaves an INVALID index: drop it at once (DROP INDEX CONCURRENTLY " \
        "IF EXISTS items_code_idx;), or running it again skips it as existing." in script

    # The killed run: groups 1..group done (the offline SQL of the revision, through psql),
    # the history at group - 1, as apply leaves it when stopped before recording `group`.
    done, marker, _ = script.partition(f"-- Transaction group {group + 1} of 8")
    assert marker and f"-- Transaction group {group} of 8: outside a transaction" in done
    assert done.rstrip().endswith(";") and statement in done.split(f"group {group} of 8")[1]
    run_psql(db_url, done, tmp_path)
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        for number in range(1, group):
            conn.execute("INSERT INTO schemactl_history (revision, checksum, direction, "
                         "duration_ms, group_no) VALUES (%s, %s, 'up', 0, %s)",
                         (rev_id, checksums.file_checksum(path), number))

    resumed = schemactl(project, "apply", url=db_url)
    assert resumed.returncode == 0, resumed.stderr
    if notice is not None:  # said, not skipped silently
        assert f"{rev_id}_safe: {notice}" in resumed.stderr, resumed.stderr
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        assert _history(conn, rev_id) == [*[("ok", n) for n in range(1, 8)], ("ok", None)]
        assert conn.execute("SELECT count(*) FROM items WHERE twice IS DISTINCT FROM id * 2") \
            .fetchone() == (0,)
        assert conn.execute("SELECT indexrelid::regclass::text, indisvalid FROM pg_index "
                            "WHERE indrelid = 'items'::regclass ORDER BY 1").fetchall() == [
            ("items_code_idx", True), ("items_pkey", True)]
        assert conn.execute("SELECT enum_range(NULL::mood)::text").fetchone() == (
            "{low,mid,high}",)
    assert not make_plan(project, settings_for(server_url)).has_changes


def test_an_atomic_plan_adds_a_filled_not_null_column_to_a_table_with_rows(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    """`plan --atomic` of new NOT NULL columns the YAML fills (backfill_sql, or backfill
    beside a default that new rows get): added nullable, filled, SET NOT NULL, in the one
    transaction; no MF106, which would say the revision fails on a table with rows."""
    project = _adopted(tmp_path, server_url, db_url,
                       "INSERT INTO items (code, qty) VALUES ('a', 1), ('b', NULL)")
    (project.root / ".env").write_text(
        f"SHADOW_DATABASE_URL={server_url.render_as_string(hide_password=False)}\n")
    set_schema(project, BEFORE.replace(
        "      qty: {type: integer, nullable: true}\n",
        "      qty: {type: integer, nullable: true}\n"
        "      twice: {type: bigint, backfill_sql: \"id * 2\"}\n"
        "      origin: {type: text, default: new, backfill: legacy}\n"))
    planned = schemactl(project, "plan", "--atomic", "-m", "filled")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "MF106" not in planned.stdout, planned.stdout
    assert "LK105" in planned.stdout  # SET NOT NULL scans under ACCESS EXCLUSIVE: said
    revision = next(project.versions_dir.glob("*_filled.py")).read_text()
    assert "MF106" not in revision
    assert "commit_group" not in revision and "outside_transaction" not in revision
    assert "UPDATE items SET twice = (id * 2) WHERE twice IS NULL" in revision
    assert "UPDATE items SET origin = 'legacy'::text WHERE origin IS NULL" in revision

    applied = schemactl(project, "apply", url=db_url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO items (code, twice) VALUES ('c', 0)")
        assert conn.execute("SELECT code, twice = id * 2, origin FROM items ORDER BY code") \
            .fetchall() == [("a", True, "legacy"), ("b", True, "legacy"), ("c", False, "new")]
        not_null = conn.execute("SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = "
                                "'items'::regclass AND attname IN ('twice', 'origin') "
                                "ORDER BY 1").fetchall()
        assert not_null == [("origin", True), ("twice", True)]
    again = schemactl(project, "plan", "--atomic", "--check")
    assert again.returncode == 0 and "No changes." in again.stdout, again.stdout + again.stderr

    rev_id = next(project.versions_dir.glob("*_filled.py")).name.split("_")[0]
    parent = next(p for p in project.versions_dir.glob("*_items.py")).name.split("_")[0]
    assert parent < rev_id
    down = schemactl(project, "downgrade", parent, "--yes", url=db_url)
    assert down.returncode == 0, down.stdout + down.stderr
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = "
                            "'items'::regclass AND attname IN ('twice', 'origin') "
                            "AND NOT attisdropped").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (3,)
    assert schemactl(project, "apply", url=db_url).returncode == 0
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        assert conn.execute("SELECT code, twice = id * 2, origin FROM items ORDER BY code") \
            .fetchall() == [("a", True, "legacy"), ("b", True, "legacy"), ("c", True, "legacy")]


def test_a_nullable_column_made_an_identity_column_gets_not_null_without_a_scan_under_lock(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    """PostgreSQL adds identity only to a NOT NULL column: the step's SET NOT NULL takes the
    lock-safe form too (helper check validated first, while the old default still fills
    inserts), so the plan shows no LK105, and the result is the identity column asked for."""
    project = make_project(tmp_path, BEFORE.replace(
        "      qty: {type: integer, nullable: true}\n",
        "      qty: {type: integer, nullable: true}\n"
        "      seq: {type: bigint, nullable: true, default: 0}\n"))
    _plan_and_write(project, server_url, "items")
    assert schemactl(project, "apply", url=db_url).returncode == 0
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO items (code, seq) SELECT 'c' || g, g FROM generate_series(1, 50) g")
    set_schema(project, BEFORE.replace(
        "      qty: {type: integer, nullable: true}\n",
        "      qty: {type: integer, nullable: true}\n"
        "      seq: {type: bigint, identity: true}\n"))
    plan = make_plan(project, settings_for(server_url))
    shown = render_plan(plan)
    assert "LK105" not in shown and "[SHARE UPDATE EXCLUSIVE, scan]" in shown, shown
    revision = write_revision(project, plan, "identity").read_text()
    upgrade = revision[revision.index("def upgrade"):revision.index("def downgrade")]
    assert upgrade.index("ADD CONSTRAINT items_seq_not_null CHECK (seq IS NOT NULL) NOT VALID") \
        < upgrade.index("VALIDATE CONSTRAINT items_seq_not_null") \
        < upgrade.index("op.commit_group()\n    op.run_sql(\n        'ALTER TABLE items ALTER "
                        "COLUMN seq DROP DEFAULT'") \
        < upgrade.index("SET NOT NULL") < upgrade.index("DROP CONSTRAINT items_seq_not_null") \
        < upgrade.index("ADD GENERATED BY DEFAULT AS IDENTITY")

    applied = schemactl(project, "apply", url=db_url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        assert conn.execute("SELECT attnotnull, attidentity FROM pg_attribute WHERE attrelid = "
                            "'items'::regclass AND attname = 'seq'").fetchone() == (True, "d")
        assert conn.execute("SELECT conname FROM pg_constraint WHERE conrelid = "
                            "'items'::regclass ORDER BY 1").fetchall() == [("items_pkey",)]
        assert conn.execute("INSERT INTO items (code) VALUES ('new') RETURNING seq") \
            .fetchone() == (51,)
    assert not make_plan(project, settings_for(server_url)).has_changes
    parent = next(project.versions_dir.glob("*_items.py")).name.split("_")[0]
    assert schemactl(project, "downgrade", parent, "--yes", url=db_url).returncode == 0
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        assert conn.execute("SELECT attnotnull, attidentity FROM pg_attribute WHERE attrelid = "
                            "'items'::regclass AND attname = 'seq'").fetchone() == (False, "")
    assert schemactl(project, "apply", url=db_url).returncode == 0
