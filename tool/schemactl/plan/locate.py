"""Where in the YAML a statement PostgreSQL refused at plan time came from.

Input: the validated SchemaSpec and the database error (its statement, and the position
PostgreSQL points at). Output: a SpecError with one Diagnostic naming the YAML
file:line:column and object, so that what only PostgreSQL can judge (a function that does
not exist, an expression of the wrong type, an extension not installed) reads like any
validate error instead of a bare database message.

The statement names its objects (CREATE TABLE t, ALTER TABLE t ADD CONSTRAINT c, CREATE
INDEX i ON t, CREATE EXTENSION e); of the YAML objects named in it, the one written last
before the position PostgreSQL reports is the one whose SQL was refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
import sqlalchemy.exc

from schemactl.db.errors import pg_message
from schemactl.errors import Diagnostic, SpecError
from schemactl.spec.types import DEFAULT_SCHEMA, Mark, SchemaSpec, TableSpec

CODE = "E901"  # PostgreSQL refused the SQL made from this YAML object


@dataclass(frozen=True)
class _Object:
    label: str  # e.g. "table posts, column title"
    name: str  # the SQL name that appears in statements
    mark: Mark


def located_error(spec: SchemaSpec, exc: sqlalchemy.exc.DBAPIError | psycopg.Error,
                  statement: str | None = None) -> SpecError:
    """The error as a diagnostic at the YAML object the refused statement came from."""
    statement = statement or str(getattr(exc, "statement", "") or "")
    orig = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    diag = getattr(orig, "diag", None)
    position = _position(getattr(diag, "statement_position", None))
    found = _find(spec, statement, position)
    message = f"PostgreSQL refuses it: {pg_message(exc)}"
    if found is None:
        return SpecError([Diagnostic(CODE, message, hint=_hint(statement))])
    mark = found.mark
    return SpecError([Diagnostic(CODE, message, mark.file, mark.line, mark.column,
                                 _hint(statement), found.label)])


def _position(value: object) -> int | None:
    try:
        return int(str(value)) - 1 if value else None  # PostgreSQL counts from 1
    except ValueError:
        return None


def _hint(statement: str) -> str | None:
    first = " ".join(statement.split())
    return f"the SQL made from it: {first[:200]}{'...' if len(first) > 200 else ''}" if first else None


def _occurrences(name: str, text: str) -> list[int]:
    """Where an identifier appears in SQL text, quoted or bare."""
    quoted = '"' + name.replace('"', '""') + '"'
    pattern = re.escape(quoted) + "|" + r"(?<![\w$\"])" + re.escape(name) + r"(?![\w$\"])"
    return [m.start() for m in re.finditer(pattern, text)]


def _find(spec: SchemaSpec, statement: str, position: int | None) -> _Object | None:
    head = statement[:position] if position is not None else statement
    for extension in spec.extensions:
        if re.match(r"\s*CREATE EXTENSION", statement, re.I) and _occurrences(extension.name, statement):
            return _Object(f"extension {extension.name}", extension.name, extension.mark)
    for enum in spec.enums:
        if re.match(r"\s*(CREATE|ALTER) TYPE", statement, re.I) and _occurrences(enum.name, statement):
            return _Object(f"enum {enum.name}", enum.name, enum.mark)
    table = _table_of(spec, statement)
    if table is None:
        return None
    named = re.match(r"\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX(?:\s+CONCURRENTLY)?(?:\s+IF\s+NOT\s+EXISTS)?"
                     r"|ALTER\s+TABLE\s+.*?\s+ADD\s+CONSTRAINT)"
                     r"\s+(\"(?:[^\"]|\"\")+\"|[\w$]+)", statement, re.I | re.S)
    if position is None and named is not None:
        # No position: the statement is about the index or constraint it creates.
        name = named.group(1)
        name = name[1:-1].replace('""', '"') if name.startswith('"') else name
        part = next((p for p in _parts(table) if p.name == name), None)
        if part is not None:
            return part
    best: tuple[int, _Object] | None = None
    for part in _parts(table):
        before = _occurrences(part.name, head)
        if before and (best is None or before[-1] > best[0]):
            best = (before[-1], part)
    return best[1] if best is not None else _Object(_label(table), table.name, table.mark)


def _table_of(spec: SchemaSpec, statement: str) -> TableSpec | None:
    """The table the statement is about: the one named right after TABLE or ON."""
    match = re.match(r"\s*(?:CREATE\s+TABLE|ALTER\s+TABLE|CREATE\s+(?:UNIQUE\s+)?INDEX"
                     r"(?:\s+CONCURRENTLY)?(?:\s+IF\s+NOT\s+EXISTS)?\s+\S+\s+ON"
                     r"|COMMENT\s+ON\s+(?:TABLE|COLUMN))\s+(?:ONLY\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?",
                     statement, re.I)
    if match is None:
        return None
    rest = statement[match.end():]
    for table in spec.tables:
        for name in (table.name, f"{table.schema}.{table.name}"):
            if any(i == 0 or rest[:i].endswith(".") for i in _occurrences(name, rest[:200])):
                return table
    return None


def _label(table: TableSpec) -> str:
    return f"table {table.name if table.schema == DEFAULT_SCHEMA else f'{table.schema}.{table.name}'}"


def _parts(table: TableSpec) -> list[_Object]:
    where = _label(table)
    parts = [_Object(f"{where}, column {c.name}", c.name, c.mark) for c in table.columns]
    parts += [_Object(f"{where}, check {c.name}", c.name, c.mark) for c in table.checks]
    parts += [_Object(f"{where}, index {i.name}", i.name, i.mark) for i in table.indexes]
    parts += [_Object(f"{where}, unique {u.name}", u.name, u.mark) for u in table.uniques]
    parts += [_Object(f"{where}, foreign key {f.name}", f.name, f.mark) for f in table.foreign_keys]
    if table.primary_key is not None:
        parts.append(_Object(f"{where}, primary key", table.primary_key.name, table.primary_key.mark))
    return parts
