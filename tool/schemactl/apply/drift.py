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
from dataclasses import dataclass, field
from typing import Literal

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
_ATTVER = re.compile(r"^ALTER TABLE ONLY .* ALTER COLUMN .* SET \(pg_attver=\d+\);$")


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
    for line in dump.splitlines():
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


def _line_diff(expected: list[str], actual: list[str]) -> list[str]:
    diff = difflib.ndiff(expected, actual)
    return [f"{d[0]} {d[2:].strip()}" for d in diff if d[:1] in "+-"]
