"""A live database's table sizes: URL + tables -> {(schema, table): TableSize}.

What a plan against a live database (`plan --against`) can say about the cost of a scan or
rewrite: the planner's row estimate (pg_class.reltuples, kept by VACUUM/ANALYZE) and the
size on disk with indexes and TOAST. Catalog reads only: no lock beyond ACCESS SHARE on
pg_class, nothing written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import URL

from schemactl.diff.shadow import connect


@dataclass(frozen=True)
class TableSize:
    rows: int | None  # None: never analyzed
    total_bytes: int

    def __str__(self) -> str:
        rows = "rows unknown" if self.rows is None else f"~{self.rows:,} rows"
        return f"{rows}, {_bytes(self.total_bytes)}"


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def sizes_by_name(url: URL, names: Iterable[str],
                  schema: str | None = None) -> dict[str, TableSize]:
    """Sizes by a table's name as a hazard gives it ("users" or "billing.invoices"); a bare
    name is in `schema` (a tenant's), else in public."""
    keys = {name: _key(name, schema) for name in set(names)}
    found = table_sizes(url, keys.values())
    return {name: found[key] for name, key in keys.items() if key in found}


def _key(name: str, schema: str | None) -> tuple[str, str]:
    owner, _, table = name.rpartition(".")
    return owner or schema or "public", table


def table_sizes(url: URL, tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TableSize]:
    wanted = sorted(set(tables))
    if not wanted:
        return {}
    with connect(url) as conn:
        rows = conn.execute(text(
            "SELECT n.nspname, c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND (n.nspname, c.relname) IN "
            "(SELECT * FROM unnest(CAST(:schemas AS text[]), CAST(:names AS text[])))"),
            {"schemas": [s for s, _ in wanted], "names": [t for _, t in wanted]}).all()
    # reltuples is -1 for a table never vacuumed or analyzed (PostgreSQL 14+).
    return {(r[0], r[1]): TableSize(r[2] if r[2] >= 0 else None, r[3]) for r in rows}
