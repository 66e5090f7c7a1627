"""Does a YAML literal default fit its column type? Checked where it is cheap and certain.

The database has the last word (compile casts every literal to the column type); this
only catches the mistakes worth naming with a line and column: text for a number, a
value missing from an enum, `yes` read by YAML as a boolean, a string too long.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import replace
from typing import Any

from schemactl.spec.typenames import INTEGER_TYPES, JSON_TYPES, NUMBER_TYPES, STRING_TYPES
from schemactl.spec.types import EnumSpec, TypeRef

Problem = tuple[str, str, str | None]  # (diagnostic code, message, hint)

_INT_RANGES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}


def literal_problem(
    value: Any, type_: TypeRef, enum: EnumSpec | None, written: str | None = None
) -> Problem | None:
    """(code, message, hint) when a literal default cannot be a value of the type."""
    if type_.array_dims:
        if not isinstance(value, list):
            return "E504", f"default for {type_.sql()} must be a list, e.g. []", None
        element = replace(type_, array_dims=type_.array_dims - 1)
        for item in value:
            if item is not None and (problem := literal_problem(item, element, enum)):
                return problem
        return None
    if enum is not None:
        if not isinstance(value, str) or value not in enum.labels:
            return (
                "E505",
                f"default {value!r} is not a value of enum {enum.name}",
                f"one of: {', '.join(enum.labels)}",
            )
        return None
    return _scalar_problem(value, type_, written)


def _scalar_problem(value: Any, type_: TypeRef, written: str | None) -> Problem | None:
    """written: the YAML text of the value, to show `yes` rather than YAML's reading True."""
    name = type_.name
    shown = written if written is not None and not isinstance(value, str) else repr(value)
    found = f"default {shown} does not fit {type_.sql()}"
    if name in JSON_TYPES:
        return None
    if name == "boolean":
        return None if isinstance(value, bool) else ("E504", found, "write true or false")
    if name in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "E504", found, "write a number (unquoted)"
        if name in INTEGER_TYPES:
            if not isinstance(value, int):
                return "E504", found, "write a whole number"
            if not -_INT_RANGES[name] <= value < _INT_RANGES[name]:
                return "E504", f"default {value} is out of range for {name}", None
        return None
    if name == "money" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return None  # PostgreSQL reads '12.5'::money as $12.50
    if not isinstance(value, str):
        return "E504", found, f'quote it to make it text: "{shown}"'
    if name in STRING_TYPES and type_.args and len(value) > type_.args[0]:
        return "E504", f"default is {len(value)} characters, longer than {type_.sql()}", None
    if name == "uuid" and not _parses(uuid.UUID, value):
        return "E504", f"default {value!r} is not a UUID", None
    if name in ("inet", "cidr") and not _parses(
        ipaddress.ip_network if name == "cidr" else ipaddress.ip_interface, value
    ):
        return "E504", f"default {value!r} is not an {name} address", None
    return None


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True
