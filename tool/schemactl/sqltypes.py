"""A SQLAlchemy column type for the PostgreSQL types SQLAlchemy has no class for.

Input: the type's SQL spelling (`xml`, `pg_lsn`, `ext.citext`, `vector(3)`); output: that
same text in DDL. Revision files name it (`schemactl.sqltypes.PgType('xml')`), so it stays
this small and never changes meaning: the text is the type.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.types import UserDefinedType


class PgType(UserDefinedType[Any]):
    """A column type given by its SQL text, used verbatim in CREATE / ALTER statements."""

    cache_ok = True

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def get_col_spec(self, **kw: Any) -> str:
        return self.sql

    def __repr__(self) -> str:
        return f"PgType({self.sql!r})"
