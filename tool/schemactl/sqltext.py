"""Quoting for SQL we write ourselves (identifiers and literals, never pasted raw), and the
small text facts about SQL that several stages need."""

from __future__ import annotations

from functools import cache
from typing import Any

from schemactl.spec.types import DEFAULT_SCHEMA


@cache
def _preparer() -> Any:
    # Loaded on first use: validate quotes literals only, and must not load SQLAlchemy.
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect().identifier_preparer


def quote_ident(name: str) -> str:
    """Quote an identifier exactly when PostgreSQL needs it (reserved words, case, symbols)."""
    return str(_preparer().quote(name))


def qualified(schema: str | None, name: str) -> str:
    """schema.name; objects in public stay unqualified, as people write them."""
    if schema is None or schema == DEFAULT_SCHEMA:
        return quote_ident(name)
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def quote_literal(value: str) -> str:
    """A string literal. With standard_conforming_strings (on since PostgreSQL 9.1) a
    backslash is an ordinary character, so doubling quotes is all that is needed; an E''
    string is used when the value contains a backslash, so the script is right even on a
    session that turned the setting off."""
    body = value.replace("'", "''")
    if "\\" in value:
        return "E'" + body.replace("\\", "\\\\") + "'"
    return "'" + body + "'"


def balanced(text: str) -> bool:
    """Whether the parentheses of `text` close in order: `(a) + (b)` yes, `a) + (b` no (so
    outer parentheses around it may be taken off)."""
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
