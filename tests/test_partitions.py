"""Partitioning pieces that the round trip (evolutions.yaml), the inspect round trip
(data/inspect/partitions.sql) and the invalid cases (data/invalid/partitions.yaml) do not
show on their own: the SQL written for keys and bounds, the reading of PostgreSQL's printed
bounds and keys back into the spec, and the changes a plan refuses because PostgreSQL cannot
make them in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from schemactl.compile import bound_sql, partition_key_sql, partition_sql
from schemactl.errors import SchemactlError
from schemactl.inspect.catalog import partition_bound, partition_key
from schemactl.pipeline import make_plan, write_revision
from schemactl.spec.load import load_text
from schemactl.spec.types import IndexElement, PartitionBound, PartitionKey
from schemactl.spec.validate import validate

from .helpers import make_project, set_schema, settings_for

EVENTS = """
tables:
  events:
    columns:
      id: bigint
      at: date
      city: {type: text, nullable: true}
    partition_by: {range: [at, {expression: "lower(city)"}]}
  events_old:
    schema: archive
    partition_of: public.events
    values: {from: [MINVALUE, MINVALUE], to: ["2024-01-01", "it's"]}
    partition_by: {hash: [id]}
"""


def test_keys_and_bounds_become_sql() -> None:
    spec = validate([load_text(EVENTS, "app.yaml")])
    [table] = spec.tables
    assert table.partition_by is not None
    assert partition_key_sql(table.partition_by) == "RANGE (at, lower(city))"
    [partition] = spec.partitions
    assert (partition.schema, partition.parent_schema) == ("archive", "public")
    assert partition_sql(partition) == (
        "CREATE TABLE archive.events_old PARTITION OF events FOR VALUES FROM (MINVALUE, "
        "MINVALUE) TO ('2024-01-01', 'it''s') PARTITION BY HASH (id)")
    assert bound_sql(PartitionBound("list", values=("1", "NULL"))) == "FOR VALUES IN (1, NULL)"
    assert bound_sql(PartitionBound("hash", modulus=4, remainder=3)) == \
        "FOR VALUES WITH (MODULUS 4, REMAINDER 3)"
    assert bound_sql(PartitionBound("default")) == "DEFAULT"


@pytest.mark.parametrize(("printed", "bound"), [
    ("DEFAULT", PartitionBound("default")),
    ("FOR VALUES FROM ('2024-01-01', MINVALUE) TO ('a, b', 10)",
     PartitionBound("range", lower=("'2024-01-01'", "MINVALUE"), upper=("'a, b'", "10"))),
    ("FOR VALUES IN ('it''s', NULL, true)",
     PartitionBound("list", values=("'it''s'", "NULL", "true"))),
    ("FOR VALUES FROM (1.50) TO (2)", PartitionBound("range", lower=("'1.50'",), upper=("2",))),
    ("FOR VALUES WITH (modulus 8, remainder 5)", PartitionBound("hash", modulus=8, remainder=5)),
])
def test_printed_bounds_read_back(printed: str, bound: PartitionBound) -> None:
    assert partition_bound(printed) == bound


def test_printed_keys_read_back() -> None:
    assert partition_key('RANGE ("Order", lower(city))', ["Order", "city"]) == PartitionKey(
        "range", (IndexElement(column="Order"), IndexElement(expression="lower(city)")))
    assert partition_key("LIST (((a + 1)))", ["a"]) == PartitionKey(
        "list", (IndexElement(expression="(a + 1)"),))
    # An operator class or a collation on a key: the YAML cannot write it.
    assert partition_key("LIST (city text_pattern_ops)", ["city"]) is None
    assert partition_key('LIST (city COLLATE "C")', ["city"]) is None


BEFORE = """
tables:
  events:
    columns:
      id: bigint
      at: date
    partition_by: {range: [at]}
  plain:
    columns:
      id: bigint
"""


@pytest.mark.parametrize(("after", "message"), [
    (BEFORE.replace("{range: [at]}", "{list: [at]}"),
     "table events: partition key RANGE (at) -> LIST (at)"),
    (BEFORE + "    partition_by: {hash: [id]}\n", "table plain becomes partitioned"),
])
def test_what_postgresql_cannot_alter_is_refused(after: str, message: str, tmp_path: Path,
                                                  server_url: URL) -> None:
    project = make_project(tmp_path, BEFORE)
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings), "before")
    set_schema(project, after)
    with pytest.raises(SchemactlError) as error:
        make_plan(project, settings)
    assert message in str(error.value)
    assert "cannot plan a change PostgreSQL cannot make in place" in str(error.value)
