"""The lock model (plan/locks.py), row by row, on the real server.

For each statement kind its example runs on a table holding rows; the lock it holds is read
from pg_locks by a second connection while the statement's transaction is still open, a
rewrite is seen as a new relfilenode, and a scan as the transaction's own scan counter.
Statements PostgreSQL refuses inside a transaction (CONCURRENTLY) are observed while they
wait for a second transaction that holds the table.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from schemactl.db.urls import libpq_dsn
from schemactl.plan import locks
from schemactl.plan.locks import KINDS, Cost, Lock, StatementKind

REPO = Path(__file__).resolve().parent.parent

_TABLE = """
CREATE TABLE t (id int PRIMARY KEY, a int, s varchar(10), r int);
INSERT INTO t SELECT g, g, 'x' || (g % 100), g % 10 FROM generate_series(1, 2000) g;
ANALYZE t;
"""


def _strongest_held(observer: psycopg.Connection, pid: int, oid: int) -> Lock | None:
    modes = [row[0] for row in observer.execute(
        "SELECT mode FROM pg_locks WHERE pid = %s AND relation = %s AND granted",
        (pid, oid)).fetchall()]
    return max((Lock.parse(mode) for mode in modes), default=None)


def _state(conn: psycopg.Connection, oid: int) -> tuple[int | None, int, list[int]]:
    """The table's relfilenode, its scans in this transaction, its indexes' relfilenodes."""
    row = conn.execute("SELECT relfilenode FROM pg_class WHERE oid = %s", (oid,)).fetchone()
    scans = conn.execute("SELECT pg_stat_get_xact_numscans(%s)", (oid,)).fetchone()
    indexes = conn.execute(
        "SELECT coalesce(array_agg(c.relfilenode ORDER BY c.relfilenode), '{}') FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s", (oid,)).fetchone()
    assert scans is not None and indexes is not None
    return (row[0] if row else None), scans[0], indexes[0]


def _in_transaction(db: psycopg.Connection, dsn: str, kind: StatementKind,
                    oid: int) -> tuple[Lock | None, Cost]:
    with psycopg.connect(dsn) as conn:  # not autocommit: the transaction stays open
        pid = conn.info.backend_pid
        before = _state(conn, oid)
        conn.execute(kind.example)
        after = _state(conn, oid)
        held = _strongest_held(db, pid, oid)
        conn.rollback()
    if after[0] is not None and after[0] != before[0]:
        return held, Cost.REWRITE
    scanned = after[1] > before[1]
    if not scanned:
        return held, Cost.CATALOG
    # A scan that leaves a new or rebuilt index behind is an index build.
    built = after[2] != before[2]
    return held, Cost.INDEX_BUILD if built else Cost.SCAN


def _outside_transaction(db: psycopg.Connection, dsn: str, kind: StatementKind,
                         oid: int) -> tuple[Lock | None, Cost]:
    """Hold the table in an open transaction (a row inserted) so the statement waits,
    and read its granted lock meanwhile."""
    filenode = _state(db, oid)[0]
    db.execute("BEGIN")
    db.execute("INSERT INTO t VALUES (-1, -1, 'w', 0)")
    errors: list[BaseException] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        pid = conn.info.backend_pid

        def run() -> None:
            try:
                conn.execute(kind.example)
            except BaseException as error:  # noqa: BLE001 - reported by the test below
                errors.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        held = None
        for _ in range(200):
            held = _strongest_held(db, pid, oid)
            if held is not None:
                break
            time.sleep(0.02)
        db.execute("ROLLBACK")
        worker.join(30)
    assert not errors, errors
    # A statement outside a transaction leaves no transaction scan counter to read: an index
    # build or a batched scan is taken as the row says; a rewrite is still seen.
    return held, Cost.REWRITE if _state(db, oid)[0] != filenode else (
        kind.cost if kind.cost in (Cost.INDEX_BUILD, Cost.SCAN) else Cost.CATALOG)


@pytest.mark.parametrize("kind", KINDS, ids=[k.key for k in KINDS])
def test_each_row_of_the_lock_model_on_the_server(db, db_url, kind: StatementKind) -> None:
    version = db.info.server_version // 10000
    assert version in kind.versions, f"PostgreSQL {version} is not a supported version"
    db.execute(_TABLE)
    for statement in filter(None, (s.strip() for s in kind.setup.split(";"))):
        db.execute(statement)
    oid = db.execute("SELECT 't'::regclass::oid").fetchone()[0]  # type: ignore[index]
    assert locks.classify(kind.example, kind.setup.split(";")) is kind, \
        "the example is classified as its own row (after its setup)"
    run = _in_transaction if kind.transaction else _outside_transaction
    held, cost = run(db, libpq_dsn(db_url), kind, oid)
    assert (held, cost) == (kind.lock, kind.cost), kind.key


def test_docs_table_is_the_lock_model() -> None:
    text = (REPO / "docs" / "locks.md").read_text()
    assert locks.markdown_table() in text, "regenerate docs/locks.md from plan/locks.py"


@pytest.mark.parametrize(("sql", "key"), [
    ('CREATE INDEX "ix" ON "public"."t" ("a")', "create index"),
    ("create unique index concurrently ix on t (a)", "create index concurrently"),
    ("ALTER TABLE posts ADD COLUMN id uuid DEFAULT gen_random_uuid() NOT NULL",
     "add column, volatile default"),
    ("ALTER TABLE posts ADD COLUMN n int DEFAULT 0 NOT NULL", "add column"),
    ("ALTER TABLE posts ADD CONSTRAINT c CHECK (n > 0)", "add check"),
    ("ALTER TABLE posts ALTER COLUMN n ADD GENERATED BY DEFAULT AS IDENTITY",
     "alter identity or expression"),
    ("ALTER TABLE ONLY posts ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id) NOT VALID",
     "add foreign key, not valid"),
    ("ALTER TABLE posts ALTER COLUMN n TYPE varchar(20) USING n::varchar(20)",
     "alter column type, binary coercible"),
    ("-- a comment\nALTER TABLE posts ALTER COLUMN n TYPE bigint", "alter column type"),
])
def test_statements_are_classified(sql: str, key: str) -> None:
    kind = locks.classify(sql)
    assert kind is not None and kind.key == key


def test_statements_that_lock_no_existing_table_have_no_row() -> None:
    for sql in ("CREATE TABLE x (id int)", "CREATE TYPE e AS ENUM ('a')",
                "ALTER TYPE e ADD VALUE 'b'", "CREATE SCHEMA s"):
        assert locks.classify(sql) is None, sql


def test_lock_levels_parse_every_spelling() -> None:
    for text in ("share update exclusive", "SHARE_UPDATE_EXCLUSIVE", "ShareUpdateExclusiveLock"):
        assert Lock.parse(text) is Lock.SHARE_UPDATE_EXCLUSIVE
    with pytest.raises(ValueError, match="unknown lock level"):
        Lock.parse("exclusive-ish")
