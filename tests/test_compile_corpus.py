"""Compile on a real-world schema: inspect a database, compile what was read, compare.

Pagila (shared/corpus, a hand-written sample database) is loaded with psql; inspect turns
what the YAML language can express into a SchemaSpec; compile turns that into MetaData;
Alembic's compare_metadata against the SAME database must find nothing for every object
the spec describes. This exercises compile with defaults, checks and indexes as people
write them, not only as our own tests spell them.

(Checked by hand the same way: musicbrainz, 510 tables, and PostgREST's apflora, 545 tables,
show nothing either beyond the serial noise filtered below and columns inspect leaves out.)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import URL

from schemactl.compile import compile_spec
from schemactl.db import embedded
from schemactl.db.urls import libpq_dsn
from schemactl.inspect.catalog import inspect_database

REPO = Path(__file__).resolve().parent.parent
PAGILA = REPO.parent / "shared" / "corpus" / "schemas" / "pagila-schema.sql"
pytestmark = pytest.mark.skipif(not PAGILA.is_file(), reason=f"no corpus at {PAGILA}")
_NEXTVAL = re.compile(r"^nextval\(")


# Pagila is dumped from PostgreSQL 18: spell its two 18-only features the 15 way, so that
# the film table (generated column, tsvector, domain, enum, defaults) loads on both servers.
_PG15_SPELLINGS = {"uuidv7()": "gen_random_uuid()", ") VIRTUAL": ") STORED"}


def _load(url: URL, script: Path, tmp_path: Path) -> None:
    text = script.read_text(encoding="utf-8")
    for new, old in _PG15_SPELLINGS.items():
        text = text.replace(new, old)
    patched = tmp_path / script.name
    patched.write_text(text, encoding="utf-8")
    # ON_ERROR_STOP off: the pgvector table fails (no such extension here); the rest loads.
    subprocess.run(
        [str(embedded.bin_path("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=0", "-f", str(patched),
         libpq_dsn(url)],
        check=True, capture_output=True, text=True,
    )


def _is_serial_noise(op: Any) -> bool:
    """Alembic compares a serial column's nextval() default by RUNNING both sides
    (SELECT nextval(..) = nextval(..)), which is never true; plan compares defaults
    itself (diff/comparators/columns.py), so this is not a difference plan would see."""
    if isinstance(op, list) and len(op) == 1:
        op = op[0]
    if not (isinstance(op, tuple) and op[0] == "modify_default"):
        return False
    return any(_NEXTVAL.match(str(getattr(d, "arg", d))) for d in op[5:7] if d is not None)


def test_compiled_inspection_of_pagila_matches_pagila(db_url: URL, tmp_path: Path) -> None:
    _load(db_url, PAGILA, tmp_path)
    spec = inspect_database(db_url).spec
    film = spec.table("public", "film")  # partitioned payment is left out by inspect
    assert film is not None and film.column("length_hours") is not None
    metadata = compile_spec(spec)
    described = {(t.schema, t.name) for t in metadata.tables.values()}

    def only_described(obj: Any, name: str | None, type_: str, reflected: bool,
                       compare_to: Any) -> bool:
        """Objects inspect left out (a tsvector column, a domain, its index) are not
        compile's business; everything compile built is compared."""
        if type_ == "table":
            return (obj.schema, name) in described
        return not reflected or compare_to is not None

    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True, "include_schemas": True,
            "include_object": only_described,
        })
        diff = compare_metadata(context, metadata)
    engine.dispose()
    remaining = [op for op in diff if not _is_serial_noise(op)]
    assert remaining == [], "\n".join(map(str, remaining))
