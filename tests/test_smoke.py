"""The test fixtures themselves: each test gets its own empty database on a real server."""

import psycopg


def test_each_test_gets_an_empty_database(db: psycopg.Connection) -> None:
    tables = db.execute(
        "select count(*) from information_schema.tables where table_schema = 'public'"
    ).fetchone()
    assert tables == (0,)
    name = db.execute("select current_database()").fetchone()
    assert name is not None and name[0].startswith("schemactl_test_")
