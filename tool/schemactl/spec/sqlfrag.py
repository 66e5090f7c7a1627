"""SQL fragments from the YAML (defaults, generated columns, predicates, checks, index keys).

A fragment is pasted into DDL by the tool, so it must be exactly ONE SQL expression:
never a statement, never a list, never something that closes a parenthesis and starts a
new statement (`now()); drop table users; --`). We let sqlglot (PostgreSQL dialect) read
it as the single projection of a SELECT and refuse anything else.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType


class FragmentError(ValueError):
    """Why a fragment is not one SQL expression."""


def parse_fragment(fragment: str) -> exp.Expression:
    """The fragment's expression tree, or FragmentError saying what is wrong with it."""
    if not fragment.strip():
        raise FragmentError("empty SQL expression")
    _refuse_separators(fragment)
    try:
        statements = sqlglot.parse(f"SELECT {fragment}", read="postgres")
    except ParseError as exc:
        raise FragmentError(f"not a valid SQL expression: {_describe(exc)}") from None
    except TokenError as exc:
        raise FragmentError(f"not a valid SQL expression: {_first_line(exc)}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise FragmentError("must be one SQL expression, not a statement")
    select = statements[0]
    extra = [key for key, value in select.args.items() if value and key != "expressions"]
    if extra or len(select.expressions) != 1:
        raise FragmentError("must be exactly one SQL expression (no list, alias or clause)")
    expression = select.expressions[0]
    if isinstance(expression, (exp.Alias, exp.Star)):
        raise FragmentError("must be exactly one SQL expression (no list, alias or clause)")
    if expression.find(exp.Query) is not None:
        # PostgreSQL refuses them in DEFAULT, CHECK, GENERATED and index expressions alike.
        raise FragmentError("must not contain a subquery: PostgreSQL does not allow one here")
    return expression


def _refuse_separators(fragment: str) -> None:
    """No `;` and no comment outside string literals: both could end or hide our DDL."""
    try:
        tokens = sqlglot.tokenize(fragment, read="postgres")
    except (TokenError, ParseError) as exc:
        raise FragmentError(f"not a valid SQL expression: {_first_line(exc)}") from None
    if any(t.token_type == TokenType.SEMICOLON for t in tokens):
        raise FragmentError("contains ';': must be one SQL expression, not statements")
    if any(t.comments for t in tokens) or (not tokens and fragment.strip()):
        raise FragmentError("contains an SQL comment: write the expression only")


def _describe(exc: ParseError) -> str:
    """sqlglot's message, pointing into the fragment rather than our SELECT wrapper."""
    if not exc.errors:
        return _first_line(exc)
    near = (exc.errors[0].get("highlight") or "").strip()
    return f"syntax error near {near!r}" if near else "syntax error"


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.strip()


def column_names(expression: exp.Expression) -> list[str]:
    """Column identifiers an expression uses, in order of appearance, without repeats."""
    seen: list[str] = []
    for column in expression.find_all(exp.Column):
        if column.name and column.name not in seen and not column.table:
            seen.append(column.name)
    return seen
