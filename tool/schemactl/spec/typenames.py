"""Column type spellings: parse what the user wrote into a canonical TypeRef.

The one place that knows PostgreSQL's type names: the built-in types below, the types an
extension brings (EXTENSION_TYPES), and PostgreSQL's own spellings with modifiers in the
middle (`timestamp(3) with time zone`, `interval day to second(3)`). Enums declared in the
spec are resolved by validate. Aliases are normalised so that `int4`, `INTEGER` and `int`
all give the same TypeRef, and the diff never sees two spellings of one type. inspect
reads format_type() through the same parser, so what it writes is what validate accepts.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from schemactl.spec.types import TypeRef

# Canonical name -> (min args, max args). Arguments are integer type modifiers.
_NO_ARGS = (0, 0)
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
    # Fractional digits of the seconds (0-6).
    "time": (0, 1),
    "timetz": (0, 1),
    "timestamp": (0, 1),
    "timestamptz": (0, 1),
    "interval": (0, 1),  # and optional fields: interval day to second(3)
    "uuid": (0, 0),
    "json": (0, 0),
    "jsonb": (0, 0),
    "bytea": (0, 0),
    "bit": (0, 1),
    "varbit": (0, 1),
    **dict.fromkeys((
        "money", "xml", "tsvector", "tsquery",
        "inet", "cidr", "macaddr", "macaddr8",
        "point", "line", "lseg", "box", "path", "polygon", "circle",
        "pg_lsn", "txid_snapshot", "pg_snapshot",
        "name", "oid", "regclass", "regtype", "regproc", "regprocedure", "regconfig", "regnamespace",
        "regrole", "xid", "xid8",
        "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
        "int4multirange", "int8multirange", "nummultirange", "tsmultirange",
        "tstzmultirange", "datemultirange",
    ), _NO_ARGS),
}

# Types an extension brings: canonical name -> (extension, min args, max args). Usable
# when the YAML declares the extension; the type lives in the extension's schema.
EXTENSION_TYPES: dict[str, tuple[str, int, int]] = {
    "citext": ("citext", 0, 0),
    "hstore": ("hstore", 0, 0),
    "ltree": ("ltree", 0, 0),
    "lquery": ("ltree", 0, 0),
    "ltxtquery": ("ltree", 0, 0),
    "cube": ("cube", 0, 0),
    "seg": ("seg", 0, 0),
    "isbn": ("isn", 0, 0),
    "ean13": ("isn", 0, 0),
    "vector": ("vector", 0, 1),
    "halfvec": ("vector", 0, 1),
    "sparsevec": ("vector", 0, 1),
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
    "time with time zone": "timetz",
    "bit varying": "varbit",
}

INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
NUMBER_TYPES = INTEGER_TYPES | {"numeric", "real", "double precision"}
STRING_TYPES = frozenset({"text", "varchar", "char", "citext"})
JSON_TYPES = frozenset({"json", "jsonb"})
TIME_TYPES = frozenset({"time", "timetz", "timestamp", "timestamptz", "interval"})

# Types with a default operator class for gin / gist (beyond arrays and jsonb for gin).
GIN_TYPES = frozenset({"jsonb", "tsvector", "hstore"})
GIST_TYPES = frozenset({
    "tsvector", "tsquery", "point", "box", "polygon", "circle", "hstore", "ltree", "cube", "seg",
    "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
    "int4multirange", "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange",
    "datemultirange",
})

# interval's optional fields, as PostgreSQL's grammar names them.
INTERVAL_FIELDS = (
    "year", "month", "day", "hour", "minute", "second", "year to month", "day to hour",
    "day to minute", "day to second", "hour to minute", "hour to second", "minute to second",
)

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
MAX_TIME_PRECISION = 6
MAX_BIT_LENGTH = 83_886_080
MAX_VECTOR_DIMENSIONS = 16_000

_SHAPE = re.compile(
    r"""^(?P<name>[a-z_][a-z0-9_ .]*?)\s*
        (?:\(\s*(?P<args>[^()]*)\)\s*)?
        (?P<dims>(?:\[\s*\]\s*)*)$""",
    re.VERBOSE | re.IGNORECASE,
)
# PostgreSQL's spellings with the modifier before more words (format_type prints these).
_ZONED = re.compile(
    r"^(?P<name>time|timestamp)\s*(?:\((?P<args>[^()]*)\))?\s+(?P<zone>with|without)\s+time\s+zone"
    r"\s*(?P<dims>(?:\[\s*\]\s*)*)$", re.IGNORECASE)
_INTERVAL = re.compile(
    r"^interval(?:\s+(?P<fields>[a-z]+(?:\s+[a-z]+)*?))?\s*(?:\((?P<args>[^()]*)\))?"
    r"\s*(?P<dims>(?:\[\s*\]\s*)*)$", re.IGNORECASE)


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
    fields: str | None = None  # interval's fields: "day to second"
    extension: str | None = None  # the extension that brings the type, if one does

    def ref(self, enum_schema: str | None = None, type_schema: str | None = None) -> TypeRef:
        name = self.name.rsplit(".", 1)[-1] if enum_schema or self.extension else self.name
        return TypeRef(name, self.args, self.array_dims, enum_schema, self.fields, type_schema)


class TypeSpellingError(ValueError):
    """The type text is malformed or its arguments are out of range. hint may say why."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_type(text: str) -> ParsedType:
    """Parse `varchar(50)`, `NUMERIC(10, 2)`, `text[]`, `blog.mood`, `timestamptz(3)`,
    `time(0) with time zone`, `interval day to second(3)` ... (case-insensitive).

    An extension's type may be written with its schema (`ext.citext`); `name` is then
    the qualified name and `extension` says which extension brings it."""
    spelled = " ".join(text.strip().split())
    special = _special(spelled, text)
    if special is not None:
        return special
    match = _SHAPE.match(spelled)
    if not match:
        raise TypeSpellingError(f"cannot read type {text!r}", hint="write e.g. varchar(50) or text[]")
    written = match["name"].strip()
    args = _parse_args(match["args"], text) if match["args"] is not None else ()
    dims = match["dims"].count("[")
    name = ALIASES.get(written.lower(), written.lower())
    base = name.rsplit(".", 1)[-1]
    if base in EXTENSION_TYPES and base == written.rsplit(".", 1)[-1].lower():
        extension, low, high = EXTENSION_TYPES[base]
        _check_count(base, args, low, high)
        if base in ("vector", "halfvec", "sparsevec") and args:
            _check_range(f"{base}({args[0]})", "dimensions", args[0], 1, MAX_VECTOR_DIMENSIONS)
        return ParsedType(name, args, dims, builtin=True, extension=extension)
    if name not in BUILTINS:
        # Not built-in: an enum's name, whose case matters (it is an identifier).
        return ParsedType(written, args, dims, builtin=False)
    _check_args(name, args)
    return ParsedType(name, args, dims, builtin=True)


def _special(spelled: str, text: str) -> ParsedType | None:
    """The two spellings whose modifier is not at the end of the name (None: neither)."""
    zoned = _ZONED.match(spelled)
    if zoned:
        name = zoned["name"].lower() + ("tz" if zoned["zone"].lower() == "with" else "")
        args = _parse_args(zoned["args"], text) if zoned["args"] is not None else ()
        _check_args(name, args)
        return ParsedType(name, args, zoned["dims"].count("["), builtin=True)
    interval = _INTERVAL.match(spelled)
    if interval is None:
        return None
    fields = " ".join((interval["fields"] or "").lower().split()) or None
    if fields is not None and fields not in INTERVAL_FIELDS:
        raise TypeSpellingError(f"interval fields {fields!r} in {text!r} are not PostgreSQL's",
                                hint="e.g. interval day to second, interval year to month")
    args = _parse_args(interval["args"], text) if interval["args"] is not None else ()
    _check_args("interval", args)
    if args and fields is not None and not fields.endswith("second"):
        raise TypeSpellingError(f"interval {fields}({args[0]}): only fields that end in "
                                "second take a precision")
    return ParsedType("interval", args, interval["dims"].count("["), builtin=True, fields=fields)


def _parse_args(raw: str, text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in raw.split(",")]
    if not all(p.isdigit() for p in parts):
        raise TypeSpellingError(f"type arguments must be whole numbers in {text!r}")
    return tuple(int(p) for p in parts)


def _check_count(name: str, args: tuple[int, ...], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        if high == 0:
            raise TypeSpellingError(f"type {name} takes no arguments")
        raise TypeSpellingError(f"type {name} takes at most {high} argument{'s' if high > 1 else ''}")


def _check_range(shown: str, what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise TypeSpellingError(f"{shown}: {what} must be between {low} and {high}")


def _check_args(name: str, args: tuple[int, ...]) -> None:
    _check_count(name, args, *BUILTINS[name])
    if name in ("varchar", "char") and args and not 1 <= args[0] <= MAX_VARCHAR:
        raise TypeSpellingError(f"{name}({args[0]}): length must be between 1 and {MAX_VARCHAR}")
    if name in TIME_TYPES and args:
        _check_range(f"{name}({args[0]})", "precision", args[0], 0, MAX_TIME_PRECISION)
    if name in ("bit", "varbit") and args:
        _check_range(f"{name}({args[0]})", "length", args[0], 1, MAX_BIT_LENGTH)
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
    return sorted({*BUILTINS, *ALIASES, *EXTENSION_TYPES})


def suggest(name: str, extra: list[str] | None = None) -> str | None:
    """A hint for an unknown type: our advice for it, or the closest known spelling."""
    if name in INSTEAD:
        return INSTEAD[name]
    close = difflib.get_close_matches(name, [*known_spellings(), *(extra or [])], n=1)
    return f"did you mean {close[0]!r}?" if close else None
