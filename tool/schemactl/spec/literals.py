"""Does a YAML literal default fit its column type? Checked where it is cheap and certain.

Input: a literal (as YAML read it), the column's type and enum. Output: a problem (code,
message, hint) or None.

The database has the last word (compile casts every literal to the column type); this
catches what PostgreSQL would refuse, or take to mean something else, with a line and
column: text for a number, a value missing from an enum, `yes` read by YAML as a boolean,
a string too long, a date, time or interval PostgreSQL cannot read, a number too wide
for numeric(p, s), NaN in JSON, and `now` / `today`, which PostgreSQL would freeze to the
moment the migration runs.

Checks are chosen by the type's family (FAMILIES, one entry per type name), so that a new
type slots in with one line.
"""

from __future__ import annotations

import datetime
import ipaddress
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from schemactl.spec.typenames import INTEGER_TYPES, JSON_TYPES, STRING_TYPES
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


# type name -> family; the family picks the check. Types not listed are left to PostgreSQL.
FAMILIES: dict[str, str] = {
    **{name: "integer" for name in INTEGER_TYPES},
    "numeric": "numeric",
    "real": "float",
    "double precision": "float",
    "boolean": "boolean",
    **{name: "string" for name in STRING_TYPES},
    **{name: "json" for name in JSON_TYPES},
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "time": "time",
    "timetz": "time",
    "interval": "interval",
    "money": "money",
    "uuid": "uuid",
    "inet": "inet",
    "cidr": "cidr",
    "bytea": "bytea",
}

# PostgreSQL reads these once, when the DDL runs: a default would be frozen at that moment.
_RELATIVE_TIMES = {"now", "today", "tomorrow", "yesterday"}
_TIME_FUNCTIONS = {"date": "current_date", "time": "localtime", "timetz": "current_time",
                   "timestamp": "localtimestamp", "timestamptz": "now()"}
# Constants every date/time type accepts (`epoch` and the infinities are fixed values).
_SPECIAL_TIMES = {"epoch", "infinity", "-infinity"}


def _scalar_problem(value: Any, type_: TypeRef, written: str | None) -> Problem | None:
    """written: the YAML text of the value, to show `yes` rather than YAML's reading True."""
    family = FAMILIES.get(type_.name)
    shown = written if written is not None and not isinstance(value, str) else repr(value)
    found = f"default {shown} does not fit {type_.sql()}"
    if family == "json":
        return _json_problem(value)
    if family == "boolean":
        return None if isinstance(value, bool) else ("E504", found, "write true or false")
    if family in ("integer", "numeric", "float"):
        return _number_problem(value, type_, family, found)
    if family == "money" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return None  # PostgreSQL reads '12.5'::money as $12.50
    if not isinstance(value, str):
        return "E504", found, f'quote it to make it text: "{shown}"'
    check = _TEXT_CHECKS.get(family) if family is not None else None
    return check(value, type_) if check is not None else None


def _number_problem(value: Any, type_: TypeRef, family: str, found: str) -> Problem | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "E504", found, "write a number (unquoted)"
    if family == "integer":
        if not isinstance(value, int):
            return "E504", found, "write a whole number"
        if not -_INT_RANGES[type_.name] <= value < _INT_RANGES[type_.name]:
            return "E504", f"default {value} is out of range for {type_.name}", None
    if family == "numeric" and type_.args:
        return _numeric_width(value, type_)
    return None


def _numeric_width(value: int | float, type_: TypeRef) -> Problem | None:
    """numeric(p, s) holds numbers below 10^(p-s) once rounded to s decimals."""
    precision, scale = type_.args[0], (type_.args[1] if len(type_.args) > 1 else 0)
    if isinstance(value, float) and math.isinf(value):
        return "E504", f"{type_.sql()} cannot hold infinity", None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        rounded = round(Decimal(repr(value) if isinstance(value, float) else value), scale)
    except InvalidOperation:
        rounded = None
    if rounded is None or abs(rounded) >= Decimal(10) ** (precision - scale):
        return ("E504", f"default {value} is too wide for {type_.sql()}",
                f"{type_.sql()} holds at most {precision - scale} digits before the point")
    return None


def _json_problem(value: Any) -> Problem | None:
    if isinstance(value, float) and not math.isfinite(value):
        return ("E504", f"default holds {value!r}, which JSON cannot express",
                "JSON numbers are finite; write null or a string")
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        if (problem := _json_problem(item)) is not None:
            return problem
    return None


def _string_problem(value: str, type_: TypeRef) -> Problem | None:
    if type_.args and len(value) > type_.args[0]:
        return "E504", f"default is {len(value)} characters, longer than {type_.sql()}", None
    return None


def _uuid_problem(value: str, _type: TypeRef) -> Problem | None:
    return None if _parses(uuid.UUID, value) else ("E504", f"default {value!r} is not a UUID", None)


def _address_problem(value: str, type_: TypeRef) -> Problem | None:
    parse = ipaddress.ip_network if type_.name == "cidr" else ipaddress.ip_interface
    if _parses(parse, value):
        return None
    return "E504", f"default {value!r} is not an {type_.name} address", None


def _relative_time(value: str, type_: TypeRef) -> Problem | None:
    if value.strip().lower() not in _RELATIVE_TIMES:
        return None
    function = _TIME_FUNCTIONS[type_.name]
    return ("E504",
            f"default {value!r} would be frozen to the moment the migration runs, not the "
            "time of each insert",
            f"write `default_sql: {function}` for the time of each insert")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"
_TIMESTAMP = re.compile(rf"^(\d{{4}}-\d{{2}}-\d{{2}})(?:[ T]({_TIME}))?({_OFFSET})?$", re.I)
_CLOCK = re.compile(rf"^({_TIME})$")


def _date_problem(value: str, type_: TypeRef) -> Problem | None:
    if (problem := _relative_time(value, type_)) or value.strip().lower() in _SPECIAL_TIMES:
        return problem
    if _DATE.match(value) and _parses(datetime.date.fromisoformat, value):
        return None
    return ("E504", f"default {value!r} is not a date",
            "write it as YYYY-MM-DD (other spellings depend on the server's DateStyle)")


def _timestamp_problem(value: str, type_: TypeRef) -> Problem | None:
    if (problem := _relative_time(value, type_)) or value.strip().lower() in _SPECIAL_TIMES:
        return problem
    match = _TIMESTAMP.match(value)
    if not match or not _parses(datetime.date.fromisoformat, match.group(1)) or (
            match.group(2) and _clock_problem(match.group(2))):
        return ("E504", f"default {value!r} is not a timestamp",
                "write it as YYYY-MM-DD HH:MM:SS, with an offset such as +00 for timestamptz")
    if match.group(3) and type_.name == "timestamp":
        return ("E504", f"default {value!r} has a time zone offset, which timestamp without "
                "time zone silently ignores", "drop the offset, or use timestamptz")
    return None


def _clock_problem(text: str) -> bool:
    parts = [float(p) for p in text.split(":")]
    hours, minutes, seconds = (parts + [0.0])[:3]
    return hours > 24 or minutes > 59 or seconds >= 61 or (hours == 24 and minutes + seconds > 0)


def _time_problem(value: str, type_: TypeRef) -> Problem | None:
    if (problem := _relative_time(value, type_)) or value.strip().lower() == "allballs":
        return problem
    clock = re.sub(rf"{_OFFSET}$", "", value) if type_.name == "timetz" else value
    if _CLOCK.match(clock) and not _clock_problem(clock):
        return None
    return "E504", f"default {value!r} is not a time of day", "write it as HH:MM or HH:MM:SS"


_UNITS = ("microseconds?|us|usecs?|milliseconds?|ms|msecs?|seconds?|secs?|s|minutes?|mins?|m"
          "|hours?|hrs?|h|days?|d|weeks?|w|months?|mons?|years?|yrs?|y|decades?|decs?"
          "|centur(?:y|ies)|c|millenni(?:um|a|ums)|mils?")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_VERBOSE = re.compile(
    rf"^@?\s*(?:{_NUMBER}\s*(?:{_UNITS})\s*)*(?:[+-]?\d+:\d{{1,2}}(?::\d{{1,2}}(?:\.\d+)?)?\s*)?"
    rf"(?:ago)?\s*$", re.I)
_ISO = re.compile(r"^P(?=.)(?:\d+(?:\.\d+)?[YMWD])*(?:T(?=.)(?:\d+(?:\.\d+)?[HMS])*)?$", re.I)


def _interval_problem(value: str, _type: TypeRef) -> Problem | None:
    text = value.strip()
    if text and (re.fullmatch(_NUMBER, text) or _ISO.match(text) or _VERBOSE.match(text)):
        return None
    return ("E504", f"default {value!r} is not an interval",
            "e.g. '1 day', '2 hours 30 minutes', '01:30:00' or 'P1DT2H'")


_BYTEA_ESCAPE = re.compile(r"^(?:[^\\]|\\\\|\\[0-3][0-7]{2})*$")
_BYTEA_HEX = re.compile(r"^\\x(?:\s*[0-9a-f]{2})*\s*$", re.I)


def _bytea_problem(value: str, _type: TypeRef) -> Problem | None:
    if _BYTEA_HEX.match(value) or (not value.startswith("\\x") and _BYTEA_ESCAPE.match(value)):
        return None
    return ("E504", f"default {value!r} is not bytea input",
            "write hex as \\x0aff (pairs of hex digits) or text with \\\\ for a backslash")


_TEXT_CHECKS: dict[str, Callable[[str, TypeRef], Problem | None]] = {
    "string": _string_problem,
    "uuid": _uuid_problem,
    "inet": _address_problem,
    "cidr": _address_problem,
    "date": _date_problem,
    "timestamp": _timestamp_problem,
    "timestamptz": _timestamp_problem,
    "time": _time_problem,
    "interval": _interval_problem,
    "bytea": _bytea_problem,
}


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True
