"""Column type spellings: parse what the user wrote into a canonical TypeRef.

Only the built-in types below are accepted (plus enums declared in the spec, which
validate resolves). Aliases are normalised so that `int4`, `INTEGER` and `int` all give
the same TypeRef, and the diff never sees two spellings of one type.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from schemactl.spec.types import TypeRef

# Canonical name -> (min args, max args). Arguments are integer type modifiers.
BUILTINS: dict[str, tuple[int, int]] = {
    "smallint": (0, 0),
    "integer": (0, 0),
    "bigint": (0, 0),
    "numeric": (0, 2),
    "real": (0, 0),
    "double precision": (0, 0),
    "boolean": (0, 0),
    "text": (0, 0),
    "varchar": (0, 1),
    "char": (0, 1),
    "date": (0, 0),
    "time": (0, 0),
    "timestamp": (0, 0),
    "timestamptz": (0, 0),
    "interval": (0, 0),
    "uuid": (0, 0),
    "json": (0, 0),
    "jsonb": (0, 0),
    "bytea": (0, 0),
    "inet": (0, 0),
    "cidr": (0, 0),
    "citext": (0, 0),
}

# Other spellings PostgreSQL (or habit) uses for the same types.
ALIASES: dict[str, str] = {
    "int": "integer",
    "int4": "integer",
    "int2": "smallint",
    "int8": "bigint",
    "bool": "boolean",
    "float8": "double precision",
    "float": "double precision",
    "double": "double precision",
    "float4": "real",
    "decimal": "numeric",
    "character varying": "varchar",
    "character": "char",
    "bpchar": "char",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
}

INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
NUMBER_TYPES = INTEGER_TYPES | {"numeric", "real", "double precision"}
STRING_TYPES = frozenset({"text", "varchar", "char", "citext"})
JSON_TYPES = frozenset({"json", "jsonb"})

# Types people reach for that we deliberately do not offer, and what to write instead.
INSTEAD: dict[str, str] = {
    "serial": "use {type: integer, identity: true}",
    "serial4": "use {type: integer, identity: true}",
    "bigserial": "use {type: bigint, identity: true}",
    "serial8": "use {type: bigint, identity: true}",
    "smallserial": "use {type: smallint, identity: true}",
    "string": "use text or varchar(n)",
    "datetime": "use timestamptz (or timestamp, without time zone)",
}

MAX_VARCHAR = 10_485_760  # PostgreSQL's limit for varchar(n) / char(n)
MAX_NUMERIC_PRECISION = 1000

_SHAPE = re.compile(
    r"""^(?P<name>[a-z_][a-z0-9_ .]*?)\s*
        (?:\(\s*(?P<args>[^()]*)\)\s*)?
        (?P<dims>(?:\[\s*\]\s*)*)$""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True)
class ParsedType:
    """A type as written: base name (canonical if built-in), args, array depth.

    builtin is False when the name is not a built-in type: validate then looks for an
    enum of that name (`name` may be `schema.enum`).
    """

    name: str
    args: tuple[int, ...]
    array_dims: int
    builtin: bool

    def ref(self, enum_schema: str | None = None) -> TypeRef:
        name = self.name.rsplit(".", 1)[-1] if enum_schema else self.name
        return TypeRef(name, self.args, self.array_dims, enum_schema)


class TypeSpellingError(ValueError):
    """The type text is malformed or its arguments are out of range. hint may say why."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_type(text: str) -> ParsedType:
    """Parse `varchar(50)`, `NUMERIC(10, 2)`, `text[]`, `blog.mood` ... (case-insensitive)."""
    spelled = " ".join(text.strip().split())
    match = _SHAPE.match(spelled)
    if not match:
        raise TypeSpellingError(f"cannot read type {text!r}", hint="write e.g. varchar(50) or text[]")
    written = match["name"].strip()
    args = _parse_args(match["args"], text) if match["args"] is not None else ()
    dims = match["dims"].count("[")
    name = ALIASES.get(written.lower(), written.lower())
    if name not in BUILTINS:
        # Not built-in: an enum's name, whose case matters (it is an identifier).
        return ParsedType(written, args, dims, builtin=False)
    _check_args(name, args)
    return ParsedType(name, args, dims, builtin=True)


def _parse_args(raw: str, text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in raw.split(",")]
    if not all(p.isdigit() for p in parts):
        raise TypeSpellingError(f"type arguments must be whole numbers in {text!r}")
    return tuple(int(p) for p in parts)


def _check_args(name: str, args: tuple[int, ...]) -> None:
    low, high = BUILTINS[name]
    if not low <= len(args) <= high:
        if high == 0:
            raise TypeSpellingError(f"type {name} takes no arguments")
        raise TypeSpellingError(f"type {name} takes at most {high} argument{'s' if high > 1 else ''}")
    if name in ("varchar", "char") and args and not 1 <= args[0] <= MAX_VARCHAR:
        raise TypeSpellingError(f"{name}({args[0]}): length must be between 1 and {MAX_VARCHAR}")
    if name == "numeric" and args:
        precision = args[0]
        if not 1 <= precision <= MAX_NUMERIC_PRECISION:
            raise TypeSpellingError(
                f"numeric({precision}): precision must be between 1 and {MAX_NUMERIC_PRECISION}"
            )
        if len(args) == 2 and args[1] > precision:
            raise TypeSpellingError(
                f"numeric({precision},{args[1]}): scale must not exceed precision",
                hint="numeric(p,s) holds p digits, s of them after the point",
            )


def known_spellings() -> list[str]:
    return sorted({*BUILTINS, *ALIASES})


def suggest(name: str, extra: list[str] | None = None) -> str | None:
    """A hint for an unknown type: our advice for it, or the closest known spelling."""
    if name in INSTEAD:
        return INSTEAD[name]
    close = difflib.get_close_matches(name, [*known_spellings(), *(extra or [])], n=1)
    return f"did you mean {close[0]!r}?" if close else None
