"""Type spellings -> canonical TypeRef -> DDL, without a database.

Each row: what a user (or format_type()) writes, the canonical spelling validate keeps, and
the type compile puts in CREATE TABLE. Two spellings of one type must give one TypeRef, or
the diff would see a change where there is none.
"""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from schemactl.compile import column_type
from schemactl.spec.load import load_text
from schemactl.spec.typenames import parse_type
from schemactl.spec.validate import validate

CASES = [
    ("timestamptz(3)", "timestamptz(3)", "TIMESTAMP(3) WITH TIME ZONE"),
    ("timestamp(3) with time zone", "timestamptz(3)", "TIMESTAMP(3) WITH TIME ZONE"),
    ("TIMESTAMP WITHOUT TIME ZONE", "timestamp", "TIMESTAMP WITHOUT TIME ZONE"),
    ("time(0) without time zone", "time(0)", "TIME(0) WITHOUT TIME ZONE"),
    ("time with time zone", "timetz", "TIME WITH TIME ZONE"),
    ("interval day to second(3)", "interval day to second(3)", "INTERVAL day to second (3)"),
    ("interval  YEAR  to  MONTH", "interval year to month", "INTERVAL year to month"),
    ("interval(2)", "interval(2)", "INTERVAL (2)"),
    ("bit varying(5)", "varbit(5)", "BIT VARYING(5)"),
    ("bit", "bit", "BIT(1)"),  # PostgreSQL's bit is bit(1) too
    ("tsvector[]", "tsvector[]", "TSVECTOR[]"),
    ("int4range[][]", "int4range[][]", "INT4RANGE[][]"),
    ("tstzmultirange", "tstzmultirange", "TSTZMULTIRANGE"),
    ("money", "money", "MONEY"),
    ("xml", "xml", "xml"),
    ("pg_lsn", "pg_lsn", "pg_lsn"),
    ("polygon[]", "polygon[]", "polygon[]"),
    ("macaddr8", "macaddr8", "MACADDR8"),
    ("regclass", "regclass", "REGCLASS"),
    ("name", "name", "name"),
]


@pytest.mark.parametrize(("written", "canonical", "ddl"), CASES, ids=[c[0] for c in CASES])
def test_spelling_canonical_and_ddl(written: str, canonical: str, ddl: str) -> None:
    ref = parse_type(written).ref()
    assert ref.sql() == canonical
    assert parse_type(canonical).ref() == ref  # the canonical spelling reads back the same
    assert column_type(ref, {}).compile(dialect=postgresql.dialect()) == ddl


def test_extension_types_live_in_the_extensions_schema() -> None:
    spec = validate([load_text(
        "extensions: [{name: vector, schema: ai}, citext]\n"
        "tables:\n  t:\n    columns:\n"
        "      a: vector(3)\n      b: ai.vector(3)\n      c: citext\n      d: \"ai.halfvec(2)[]\"\n",
        "types.yaml")])
    columns = {c.name: c.type for c in spec.tables[0].columns}
    assert columns["a"] == columns["b"]
    assert columns["a"].sql() == "ai.vector(3)" and columns["c"].sql() == "citext"
    dialect = postgresql.dialect()
    assert column_type(columns["a"], {}).compile(dialect=dialect) == "ai.vector(3)"
    assert column_type(columns["d"], {}).compile(dialect=dialect) == "ai.halfvec(2)[]"
    assert spec.schemas == ("ai",)  # the extension's schema is created with it
