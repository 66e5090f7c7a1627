"""SQL text that is more than one expression: view queries, function bodies, type names.

Input: a piece of SQL from the YAML; output: None, or a BodyError saying why PostgreSQL's
grammar refuses it and where (a character offset into the piece, when the parser knows it).

The parser is pglast: PostgreSQL's own grammar (libpg_query), so what it accepts is what
the server accepts, PL/pgSQL bodies included; sqlglot cannot read PL/pgSQL and reads some
PostgreSQL statements differently. Only the grammar is checked here: whether the tables and
functions a body names exist is known only when the plan creates it (diff/shadow.py names
the YAML object in that error).
"""

from __future__ import annotations

from dataclasses import dataclass

import pglast
from pglast import ast
from pglast.parser import ParseError


@dataclass(frozen=True)
class BodyError:
    message: str
    offset: int | None = None  # character offset into the checked text


def body_error(language: str, body: str, create_statement: str) -> BodyError | None:
    """A function body's grammar, for the languages that have one here (sql, plpgsql)."""
    if language == "sql":
        return sql_body_error(body)
    if language == "plpgsql":
        return plpgsql_error(create_statement)
    return None


def _parse(sql: str) -> tuple[tuple[ast.Node, ...] | None, BodyError | None]:
    try:
        return tuple(s.stmt for s in pglast.parse_sql(sql) if s.stmt is not None), None
    except ParseError as exc:
        message, position = exc.args[0], exc.args[1] if len(exc.args) > 1 else None
        return None, _error(str(message), position)


def query_error(query: str) -> BodyError | None:
    """A view's query must be exactly one SELECT (VALUES and WITH ... SELECT included)."""
    statements, error = _parse(query)
    if error is not None:
        return error
    assert statements is not None
    if len(statements) != 1 or not isinstance(statements[0], ast.SelectStmt):
        return BodyError("must be exactly one SELECT statement")
    return None


def sql_body_error(body: str) -> BodyError | None:
    """A LANGUAGE sql body: statements, or a standard BEGIN ATOMIC ... END / RETURN body."""
    if is_standard_body(body):
        _, error = _parse(f"CREATE FUNCTION f() RETURNS void LANGUAGE sql\n{body}")
        return None if error is None else BodyError(error.message)
    _, error = _parse(body)
    return error


def is_standard_body(body: str) -> bool:
    """A SQL-standard body (parsed by PostgreSQL at creation) rather than a string."""
    words = body.lstrip().split(None, 2)
    return bool(words) and (words[0].upper() == "RETURN"
                            or [w.upper() for w in words[:2]] == ["BEGIN", "ATOMIC"])


def plpgsql_error(create_statement: str) -> BodyError | None:
    """A whole CREATE FUNCTION ... LANGUAGE plpgsql statement: its body is compiled as
    PostgreSQL's PL/pgSQL validator does (syntax and variable names)."""
    try:
        pglast.parse_plpgsql(create_statement)
    except ParseError as exc:
        return _error(str(exc.args[0]))
    return None


def _error(message: str, position: int | None = None) -> BodyError | None:
    """None for what the parser library itself does not implement (e.g. PL/pgSQL's
    schema.table.column%TYPE): that is no fault of the SQL."""
    if message.startswith("Not implemented"):
        return None
    return BodyError(message, position)


def type_error(type_sql: str) -> BodyError | None:
    """A type name (integer, text[], character varying(20), myschema.mytype), nothing more."""
    statements, error = _parse(f"SELECT NULL::{type_sql}")
    if error is not None:
        return BodyError(error.message)
    assert statements is not None
    if len(statements) != 1 or not _one_cast(statements[0]):
        return BodyError("must be one type name")
    return None


def returns_error(returns: str) -> BodyError | None:
    """What a function returns: a type, SETOF a type, or TABLE(name type, ...)."""
    statements, error = _parse(f"CREATE FUNCTION f() RETURNS {returns} LANGUAGE sql AS ''")
    if error is not None:
        return BodyError(error.message)
    assert statements is not None
    if len(statements) != 1 or not isinstance(statements[0], ast.CreateFunctionStmt):
        return BodyError("must be a type, SETOF a type or TABLE(...)")
    options = statements[0].options or ()
    if len(options) != 2:  # LANGUAGE and AS: nothing else slipped in after the type
        return BodyError("must be a type, SETOF a type or TABLE(...)")
    return None


def _one_cast(statement: ast.Node) -> bool:
    if not isinstance(statement, ast.SelectStmt) or not statement.targetList:
        return False
    if len(statement.targetList) != 1 or statement.fromClause or statement.whereClause:
        return False
    value = statement.targetList[0].val
    return isinstance(value, ast.TypeCast) and isinstance(value.arg, ast.A_Const)
