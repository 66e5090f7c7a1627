"""pg_dump as the oracle of drift: on databases changed by hand, the drift status reads from
the catalog model names the same objects as a comparison of `pg_dump --schema-only` texts,
and an unchanged copy is no drift to either."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import URL

from schemactl.apply import drift
from schemactl.apply.status import read_catalog_of
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn

from . import pgdump_drift

SCHEMA_SQL = """
CREATE TABLE users (id integer PRIMARY KEY, email text CHECK (length(email) > 3));
CREATE INDEX users_email ON users (email);
CREATE TABLE posts (id integer PRIMARY KEY, author integer REFERENCES users (id), body text);
CREATE FUNCTION greet(n integer) RETURNS text LANGUAGE sql AS $$SELECT 'hi'$$;
CREATE VIEW user_emails AS SELECT id, email FROM users;
CREATE TABLE schemactl_history (id serial PRIMARY KEY, revision text);
"""

BY_HAND = {
    "a column added": "ALTER TABLE users ADD COLUMN nickname text",
    "an index dropped": "DROP INDEX users_email",
    "a check changed": "ALTER TABLE users DROP CONSTRAINT users_email_check, "
                       "ADD CONSTRAINT users_email_check CHECK (length(email) > 5)",
    "a table added": "CREATE TABLE scratch (x int)",
    "a function changed": "CREATE OR REPLACE FUNCTION greet(n integer) RETURNS text "
                          "LANGUAGE sql AS $$SELECT 'hello'$$",
    "a column's type changed": "DROP VIEW user_emails; "
                               "ALTER TABLE posts ALTER COLUMN body TYPE varchar(200)",
    "a foreign key dropped": "ALTER TABLE posts DROP CONSTRAINT posts_author_fkey",
    "schemactl's own table": "INSERT INTO schemactl_history (revision) VALUES ('0001'); "
                             "ALTER TABLE schemactl_history ADD COLUMN note text",
}


def run(url: URL, sql: str) -> None:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # our own literal SQL


@pytest.mark.parametrize("change", BY_HAND, ids=list(BY_HAND))
def test_catalog_drift_names_what_pg_dump_drift_names(change: str, db_url: URL,
                                                      server_url: URL) -> None:
    with throwaway_database(server_url, prefix="schemactl_test") as reference:
        run(reference, SCHEMA_SQL)
        run(db_url, SCHEMA_SQL)
        assert drift.compare(read_catalog_of(db_url), read_catalog_of(reference)) == []
        run(db_url, BY_HAND[change])

        from_catalog = drift.compare(read_catalog_of(db_url), read_catalog_of(reference))
        from_dump = pgdump_drift.compare(pgdump_drift.dump_schema(db_url),
                                         pgdump_drift.dump_schema(reference))

    assert [str(item) for item in from_catalog] == [str(item) for item in from_dump]
    if change == "schemactl's own table":
        assert from_catalog == []
