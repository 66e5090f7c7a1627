"""Turn a column default as PostgreSQL prints it back into what a person writes in YAML.

`'draft'::post_status` becomes `default: draft`, `0` becomes `default: 0`; anything that is
not plainly one literal of the column's own type (now(), nextval(...), 1.5, an ARRAY[...]
constructor, a cast to another type) stays `default_sql`, verbatim, because that is exact:
PostgreSQL stores it again as the same text. Converting only the unambiguous cases keeps the
round trip (inspect -> YAML -> create -> inspect) an identity.
"""

from __future__ import annotations

import json
import re

from schemactl.spec.types import LiteralValue, TypeRef

_QUOTED_CAST = re.compile(r"^'((?:[^']|'')*)'::(.+)$", re.DOTALL)
_INTEGER = re.compile(r"^-?[0-9]+$")
_INTEGER_TYPES = {"smallint", "integer", "bigint"}
# Types whose literal is just its text: a YAML string says it exactly.
_TEXT_LIKE = {
    "text", "varchar", "char", "citext", "uuid", "date", "time", "timestamp", "timestamptz",
    "interval", "inet", "cidr",
}
# Array elements we can split without a real parser: no quotes, braces, backslashes or NULL.
_SIMPLE_ELEMENT = re.compile(r"^[A-Za-z0-9_.:@ -]+$")


def _strip_typmod(formatted: str) -> str:
    """format_type without modifiers: 'character varying(50)' -> 'character varying'."""
    return re.sub(r"\([^)]*\)", "", formatted)


def literal_default(
    expr: str, type_: TypeRef, formatted_type: str
) -> tuple[bool, LiteralValue | None]:
    """(True, value) when expr is one literal of the column's type, else (False, None)."""
    quoted = _QUOTED_CAST.match(expr)
    if quoted:
        text, cast = quoted.group(1).replace("''", "'"), quoted.group(2)
        # A negative number is printed '-5'::integer also for a bigint or smallint column.
        integer_cast = type_.name in _INTEGER_TYPES and cast in _INTEGER_TYPES
        if cast != _strip_typmod(formatted_type) and not integer_cast:
            return False, None  # a cast to another type: keep the expression as written
        return _from_text(text, type_)
    if type_.array_dims:
        return False, None
    if type_.name == "boolean" and expr in ("true", "false"):
        return True, expr == "true"
    if type_.name in _INTEGER_TYPES and _INTEGER.match(expr):
        return True, int(expr)
    return False, None


def _from_text(text: str, type_: TypeRef) -> tuple[bool, LiteralValue | None]:
    if type_.array_dims:
        return _array(text, type_)
    if type_.is_enum or type_.name in _TEXT_LIKE:
        return True, text
    if type_.name in _INTEGER_TYPES and _INTEGER.match(text):
        return True, int(text)
    if type_.name == "jsonb":
        # jsonb prints itself canonically ({"a": 1}), as json.dumps does; plain json keeps
        # the user's spacing, so it stays default_sql.
        value = json.loads(text)
        if isinstance(value, (dict, list)) and json.dumps(value) == text:
            return True, value
    return False, None


def _array(text: str, type_: TypeRef) -> tuple[bool, LiteralValue | None]:
    if text == "{}":
        return True, []
    if type_.array_dims != 1 or not (text.startswith("{") and text.endswith("}")):
        return False, None
    items = text[1:-1].split(",")
    if not all(_SIMPLE_ELEMENT.match(i) and i.upper() != "NULL" for i in items):
        return False, None
    if type_.name in _INTEGER_TYPES:
        if all(_INTEGER.match(i) for i in items):
            return True, [int(i) for i in items]
        return False, None
    if type_.is_enum or type_.name in _TEXT_LIKE:
        return True, list(items)
    return False, None
