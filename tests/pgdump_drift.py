"""pg_dump as a test oracle for drift: `pg_dump --schema-only` of a database, split into
objects by the "-- Name: ...; Type: ...; Schema: ..." header pg_dump writes before every
object, and compared object by object. status reads drift from the catalog model
(schemactl/apply/drift.py); the tests check that both name the same objects.
"""

from __future__ import annotations

import os
import re
import subprocess

from sqlalchemy.engine import URL

from schemactl.apply.drift import DriftItem, paired
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
    """What the database dump has that the expected dump has not, and the other way round
    (paired as the product pairs its catalog objects: only how objects are read differs)."""
    return paired(objects(database), objects(expected))
