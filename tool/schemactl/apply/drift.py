"""Drift: how a database differs from what its migrations say it should be.

The reference is a shadow database built by running the migrations up to the target's own
revision; both are dumped with `pg_dump --schema-only` (the embedded PostgreSQL 18 client,
which reads older servers too) and compared object by object, using the
"-- Name: ...; Type: ...; Schema: ..." header pg_dump writes before every object.
schemactl's own tables are left out: they are bookkeeping, not schema.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy.engine import URL

from schemactl.apply.history import TABLE as HISTORY_TABLE
from schemactl.db import embedded
from schemactl.db.urls import libpq_dsn, redact
from schemactl.errors import SchemactlError

IGNORED_TABLES = (HISTORY_TABLE, "alembic_version")  # in the target's schema
_HEADER = re.compile(r"^-- Name: (?P<name>.*); Type: (?P<type>[^;]*); Schema: (?P<schema>[^;]*);")
_NOISE = ("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict", "\\unrestrict")
# Some servers stamp every column with a per-database attribute option (pg_attver=N) that
# pg_dump then restores; it is not schema, and it differs between two identical databases.
_ATTVER = re.compile(r"^ALTER TABLE ONLY .* ALTER COLUMN .* SET \(pg_attver=\d+\);$", re.S)
_DOLLAR = re.compile(r"\$(?:[A-Za-z_]\w*)?\$")


@dataclass(frozen=True)
class DriftItem:
    object: str  # e.g. "table public.users"
    change: Literal["extra", "missing", "changed"]  # as seen from the database
    diff: list[str] = field(default_factory=list)  # "+ line" in the database, "- line" expected

    def __str__(self) -> str:
        what = {"extra": "only in the database", "missing": "missing from the database",
                "changed": "differs"}[self.change]
        return f"{self.object}: {what}"


def dump_schema(url: URL, schema: str | None = None) -> str:
    """`pg_dump --schema-only` without owners, privileges and schemactl's own tables; of one
    tenant schema only when schema is given."""
    # The password goes through the environment, never the command line (visible in ps).
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = [str(embedded.bin_path("pg_dump")), "--schema-only", "--no-owner", "--no-privileges",
            *(f"--exclude-table={_pattern(schema or 'public')}.{t}" for t in IGNORED_TABLES),
            *([f"--schema={_pattern(schema)}"] if schema else []),
            libpq_dsn(url.set(password=None))]
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SchemactlError(f"pg_dump failed: {redact(done.stderr.strip())}")
    return done.stdout


def _pattern(name: str) -> str:
    """A name as a pg_dump pattern matching exactly it (double quotes keep case and dots)."""
    return '"' + name.replace('"', '""') + '"'


def objects(dump: str) -> dict[str, list[str]]:
    """The dump split into objects: "type schema.name" -> its normalised lines."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in logical_lines(dump):
        header = _HEADER.match(line)
        if header:
            schema = header["schema"]
            qualified = header["name"] if schema == "-" else f"{schema}.{header['name']}"
            current = found.setdefault(f"{header['type'].lower()} {qualified}", [])
        elif (current is not None and line.strip() and not line.startswith(_NOISE)
              and not _ATTVER.match(line)):
            # Without the separating comma, adding a last column changes one line, not two.
            current.append(line.rstrip().removesuffix(","))
    return found


def logical_lines(dump: str) -> list[str]:
    """The dump's lines, except that a line break inside a quoted identifier, a string or a
    dollar-quoted body does not end one: `CREATE TABLE "a<newline>b"` stays one line, so
    that an identifier holding a newline is not compared (or filtered) as two halves."""
    lines: list[str] = []
    pending: list[str] = []
    closer: str | None = None  # what ends the quote we are in: ", ' or a $tag$
    for line in dump.splitlines():
        if closer is None and line.startswith("--"):
            lines.append(line)
            continue
        pending.append(line)
        closer = _quote_state(line, closer)
        if closer is None:
            lines.append("\n".join(pending))
            pending = []
    if pending:
        lines.append("\n".join(pending))
    return lines


def _quote_state(line: str, closer: str | None) -> str | None:
    """Which quote is still open at the end of line, given the one open at its start."""
    i = 0
    while i < len(line):
        if closer is not None:
            end = line.find(closer, i)
            if end < 0:
                return closer
            i = end + len(closer)
            if closer in "\"'" and line.startswith(closer, i):  # a doubled quote: still inside
                i += 1
                continue
            closer = None
            continue
        char = line[i]
        if char in "\"'":
            closer = char
            i += 1
        elif char == "$" and (tag := _DOLLAR.match(line, i)):
            closer = tag.group(0)
            i = tag.end()
        else:
            i += 1
    return closer


def compare(database: str, expected: str) -> list[DriftItem]:
    """What the database dump has that the expected dump has not, and the other way round."""
    actual_objects, expected_objects = objects(database), objects(expected)
    items = []
    for key in sorted(set(actual_objects) | set(expected_objects)):
        if key not in expected_objects:
            items.append(DriftItem(key, "extra", [f"+ {x}" for x in actual_objects[key]]))
        elif key not in actual_objects:
            items.append(DriftItem(key, "missing", [f"- {x}" for x in expected_objects[key]]))
        elif actual_objects[key] != expected_objects[key]:
            items.append(DriftItem(key, "changed", _line_diff(expected_objects[key],
                                                              actual_objects[key])))
    return items


# pg_dump's object types -> the kinds inspect reports such objects as (inspect/catalog.py).
_INSPECT_KINDS: dict[str, tuple[str, ...]] = {
    "policy": ("policy",),
    "row security": ("row level security",),
    "function": ("function", "window function"),
    "procedure": ("procedure",),
    "aggregate": ("aggregate",),
    "rule": ("rule",),
    "trigger": ("trigger",),
    "sequence": ("sequence",),
    "sequence owned by": ("sequence",),
    "table": ("partitioned table", "partition", "inherited table", "foreign table",
              "table with no column the YAML can express"),
    "table attach": ("partition",),
    "foreign table": ("foreign table",),
    "view": ("view",),
    "materialized view": ("materialized view",),
    "domain": ("domain",),
    "type": ("composite type", "range type", "base type",
             "enum whose name the YAML cannot write as a type"),
    "collation": ("collation",),
    "text search configuration": ("text search configuration",),
    "text search dictionary": ("text search dictionary",),
    "operator": ("operator",),
    "event trigger": ("event trigger",),
    "statistics": ("extended statistics",),
    "publication": ("publication",),
}
# pg_dump names these "table name"; inspect "schema.table.name".
_ON_A_TABLE = ("policy", "rule", "trigger")
_ROUTINES = ("function", "procedure", "aggregate")


class Named(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...


def without_left_alone(items: list[DriftItem],
                       left_alone: Sequence[Named]) -> tuple[list[DriftItem], list[DriftItem]]:
    """(drift, drift of objects left alone): an object the ignore list names (as inspect
    reports it) is no drift, whichever side has it. A part of a table left alone (a column,
    a constraint, FORCE ROW LEVEL SECURITY) takes its lines out of the table's difference;
    what else differs in that table is still drift."""
    wanted = {(record.kind, _comparable(record.name, record.kind in _ROUTINES))
              for record in left_alone}
    on_tables = [record for record in left_alone if record.kind not in _ROUTINES]
    kept: list[DriftItem] = []
    left: list[DriftItem] = []
    for item in items:
        # The longest type first: "table attach public.p1" is not a table "attach public.p1".
        dump_type = next((t for t in _DUMP_TYPES if item.object.startswith(t + " ")), "")
        qualified = item.object[len(dump_type) + 1:]
        kinds = _INSPECT_KINDS.get(dump_type, ())
        if dump_type in _ON_A_TABLE or dump_type in _TABLE_CONSTRAINTS:
            qualified = qualified.replace(" ", ".", 1)
        name = _comparable(qualified, dump_type in _ROUTINES)
        if any((kind, name) in wanted for kind in kinds) or \
                _part_left_alone(dump_type, name, on_tables):
            left.append(item)
        elif dump_type == "table" and item.change == "changed":
            lines = [line for line in item.diff if not _line_left_alone(name, line, on_tables)]
            if lines:
                kept.append(DriftItem(item.object, item.change, lines))
            else:
                left.append(item)
        else:
            kept.append(item)
    return kept, left


# pg_dump names these "table name" too; inspect reports such a constraint, when the YAML
# cannot hold it, as "<kind of constraint> ...", named "schema.table.name".
_TABLE_CONSTRAINTS = ("constraint", "fk constraint")
_CONSTRAINT_WORDS = ("constraint", "key", "check", "exclusion")
_DUMP_TYPES = sorted({*_INSPECT_KINDS, *_TABLE_CONSTRAINTS, "index"}, key=len, reverse=True)


def _part_left_alone(dump_type: str, name: str, records: Sequence[Named]) -> bool:
    """A constraint or index pg_dump lists on its own, whose inspect record is left alone.
    pg_dump names an index "schema.index", inspect "schema.table.index"."""
    if dump_type in _TABLE_CONSTRAINTS:
        return any(r.name == name and any(w in r.kind for w in _CONSTRAINT_WORDS)
                   for r in records)
    if dump_type == "index":
        schema, _, index = name.partition(".")
        return any(r.kind.startswith("index") and r.name.startswith(schema + ".")
                   and r.name.rsplit(".", 1)[-1] == index for r in records)
    return False


def _line_left_alone(table: str, line: str, records: Sequence[Named]) -> bool:
    """Whether a "+ ..." or "- ..." line of a table's difference is about a part of that
    table the ignore list leaves alone: its column, its inline constraint, or its FORCE ROW
    LEVEL SECURITY."""
    body = line[2:]
    for record in records:
        if record.kind == "force row level security" and record.name == table:
            if body.endswith(" FORCE ROW LEVEL SECURITY;"):
                return True
            continue
        owner, _, part = record.name.rpartition(".")
        if owner != table or not part:
            continue
        for spelled in (part, '"' + part.replace('"', '""') + '"'):
            if body.startswith((spelled + " ", "CONSTRAINT " + spelled + " ")):
                return True
    return False


def _comparable(name: str, routine: bool) -> str:
    """A routine's name with the number of its arguments, not their spelling: pg_dump and
    inspect need not qualify or spell an argument's type alike."""
    if not routine or "(" not in name:
        return name
    base, _, args = name.partition("(")
    args = args.rstrip(")").strip()
    return f"{base}/{args.count(',') + 1 if args else 0}"


def _line_diff(expected: list[str], actual: list[str]) -> list[str]:
    diff = difflib.ndiff(expected, actual)
    return [f"{d[0]} {d[2:].strip()}" for d in diff if d[:1] in "+-"]
