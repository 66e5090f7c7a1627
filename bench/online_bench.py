"""How long a concurrent writer waits while each kind of change runs on a big table.

On a table of --rows rows (default 1,000,000), for each change kind of the lock model that
has a lock-safe alternative, this runs the blocking form and then the safe form, each while
a writer (a second connection) inserts and updates rows in a loop, and prints the writer's
worst wait side by side, with the change's own duration.

The blocking form runs in one transaction (as `plan --atomic` writes it); schemactl's form is
what `plan` writes by default, made by the same code (diff/online.py): CONCURRENTLY outside
a transaction, NOT VALID then VALIDATE, SET NOT NULL through a validated CHECK, existing rows
filled by a DO block that commits every batch. Each statement runs on its own (autocommit).

Usage: python bench/online_bench.py [--rows 1000000] [--database-url URL]
(default server: TEST_DATABASE_URL, DATABASE_URL, else the embedded PostgreSQL)
"""

from __future__ import annotations

import argparse
import itertools
import os
import threading
import time
from pathlib import Path

import psycopg

from schemactl.db import embedded
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn, normalize
from schemactl.diff import online

SETUP = """
CREATE TABLE big (id bigint PRIMARY KEY, a int, b int, s text, c int);
INSERT INTO big SELECT g, g % 1000, g, 'row ' || g, NULL FROM generate_series(1, {rows}) g;
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT generate_series(0, 999);
VACUUM ANALYZE big;
"""

BLOCKING_FILL = ["UPDATE big SET c = 0 WHERE c IS NULL", "ALTER TABLE big ALTER COLUMN c SET NOT NULL"]

# change kind -> (blocking statements (one transaction), schemactl's form, undo statements).
# schemactl's form is made by the code the plan uses (diff/online.py), not written here.
CHANGES: dict[str, tuple[list[str], list[str], list[str]]] = {
    name: (blocking, online.safe_statements(blocking), undo) for name, blocking, undo in (
        ("create index", ["CREATE INDEX big_a_idx ON big (a)"], ["DROP INDEX big_a_idx"]),
        ("add unique", ["ALTER TABLE big ADD CONSTRAINT big_b_key UNIQUE (b)"],
         ["ALTER TABLE big DROP CONSTRAINT big_b_key"]),
        ("add check", ["ALTER TABLE big ADD CONSTRAINT big_a_check CHECK (a >= 0)"],
         ["ALTER TABLE big DROP CONSTRAINT big_a_check"]),
        ("add foreign key", ["ALTER TABLE big ADD CONSTRAINT big_a_fkey FOREIGN KEY (a) "
                             "REFERENCES parent (id)"],
         ["ALTER TABLE big DROP CONSTRAINT big_a_fkey"]),
        ("drop index", ["DROP INDEX big_s_idx"], ["CREATE INDEX big_s_idx ON big (s)"]),
    )}
CHANGES["set not null"] = (
    ["ALTER TABLE big ALTER COLUMN b SET NOT NULL"],
    online.set_not_null_statements(None, "big", "b"),
    ["ALTER TABLE big ALTER COLUMN b DROP NOT NULL"])
CHANGES["backfill + not null"] = (
    BLOCKING_FILL, online.set_not_null_statements(None, "big", "c", "0"),
    ["ALTER TABLE big ALTER COLUMN c DROP NOT NULL", "ALTER TABLE big ALTER COLUMN c DROP DEFAULT",
     "UPDATE big SET c = NULL"])
# The column's default is set first (as the plan does): the writer's new rows get it.
PREPARE = {"drop index": ["CREATE INDEX big_s_idx ON big (s)"],
           "backfill + not null": ["ALTER TABLE big ALTER COLUMN c SET DEFAULT 0"]}
_NEW_IDS = itertools.count(1)  # the writer's new rows, unique over the whole run


class Writer(threading.Thread):
    """Inserts and updates one row at a time; records the longest single statement."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.worst, self.done = dsn, 0.0, threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.done.is_set():
                n = next(_NEW_IDS)
                start = time.monotonic()
                conn.execute("INSERT INTO big VALUES (%s, 1, %s, 'w')", (-n, -n))
                conn.execute("UPDATE big SET s = 'u' WHERE id = %s", (n,))
                self.worst = max(self.worst, time.monotonic() - start)


def measure(dsn: str, statements: list[str],
            one_transaction: bool) -> tuple[float, float, str]:
    """(the writer's worst wait, the change's duration) in seconds, and the error the change
    failed with ("" when it did not)."""
    writer = Writer(dsn)
    writer.start()
    time.sleep(0.3)  # the writer is warm
    failed = ""
    with psycopg.connect(dsn, autocommit=not one_transaction) as conn:
        start = time.monotonic()
        try:
            for statement in statements:
                conn.execute(statement)
            conn.commit()
        except psycopg.Error as error:  # e.g. a deadlock with the writer: part of the result
            conn.rollback()
            failed = type(error).__name__
        took = time.monotonic() - start
    time.sleep(0.2)
    writer.done.set()
    writer.join()
    return writer.worst, took, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    configured = args.database_url or os.environ.get("TEST_DATABASE_URL") or os.environ.get(
        "DATABASE_URL")
    server = normalize(configured) if configured else embedded.server_url(
        Path(".schemactl") / "bench-pgdata")
    with throwaway_database(server, "schemactl_bench") as url:
        dsn = libpq_dsn(url)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in SETUP.format(rows=args.rows).split(";"):
                if statement.strip():
                    conn.execute(statement)
        print(f"table big: {args.rows:,} rows; writer: one INSERT + one UPDATE per loop\n")
        print(f"{'change':<20} {'blocking: worst wait':>19} {'(took)':>8}   "
              f"{'safe form: worst wait':>22} {'(took)':>8}")
        for name, (blocking, safe, undo) in CHANGES.items():
            results = []
            for form in (blocking, safe):
                with psycopg.connect(dsn, autocommit=True) as conn:
                    for statement in PREPARE.get(name, []):
                        conn.execute(statement)
                results.append(measure(dsn, form, one_transaction=form is blocking))
                with psycopg.connect(dsn, autocommit=True) as conn:
                    for statement in undo if name != "drop index" else []:
                        conn.execute(statement)
            (b_wait, b_took, b_failed), (s_wait, s_took, s_failed) = results
            print(f"{name:<20} {b_wait * 1000:>16.0f} ms {b_took:>7.2f}s   "
                  f"{s_wait * 1000:>19.0f} ms {s_took:>7.2f}s"
                  + "".join(f"  ({form} form failed: {failed})" for form, failed in
                            (("blocking", b_failed), ("safe", s_failed)) if failed))


if __name__ == "__main__":
    main()
