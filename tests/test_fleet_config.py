"""fleet.yaml parsing: what a fleet file means, and every mistake named at file:line:column.
Pure: no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemactl.errors import SchemactlError, SpecError
from schemactl.fleet import config
from schemactl.fleet.targets import Target, select

PATH = Path("/project/fleet.yaml")


def parse(text: str, **env: str) -> config.FleetFile:
    return config.parse(text, PATH, env)


def errors(text: str, **env: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(text, **env)
    return [str(d) for d in caught.value.diagnostics]


def test_the_simplest_fleet_file_is_a_list_of_database_urls() -> None:
    fleet = parse("""
databases:
  - postgresql://app@db1.internal:5432/tenant_a
  - postgresql://app@db1.internal:5432/tenant_b
""").get(None)

    assert [(u.host, u.port, u.database, u.username) for u in fleet.databases] == [
        ("db1.internal", 5432, "tenant_a", "app"), ("db1.internal", 5432, "tenant_b", "app")]
    assert [Target(u).name for u in fleet.databases] == [
        "db1.internal:5432/tenant_a", "db1.internal:5432/tenant_b"]


def test_schemas_queries_canary_and_named_fleets() -> None:
    file = parse("""
schemas:
  - {database: "postgresql://app@db2/app", match: "tenant_%", names: [tenant_new]}
query:
  database: postgresql://ops@control/ops
  sql: SELECT url FROM tenants WHERE active
canary: 2
concurrency: 6
fleets:
  eu:
    query:
      - {database: "postgresql://ops@control/ops", sql: "SELECT name FROM t",
         schemas_in: "postgresql://app@db3/app"}
    canary: [tenant_x, tenant_y]
""")
    default, eu = file.get(None), file.get("eu")

    assert default.schemas[0].match == "tenant_%"
    assert default.schemas[0].names == ("tenant_new",)
    assert default.queries[0].sql == "SELECT url FROM tenants WHERE active"
    assert default.queries[0].schemas_in is None
    assert (default.canary_count, default.concurrency) == (2, 6)
    assert eu.queries[0].schemas_in is not None and eu.queries[0].schemas_in.database == "app"
    assert eu.canary == ("tenant_x", "tenant_y")


def test_a_password_comes_from_a_variable_never_from_the_file() -> None:
    fleet = parse("databases: ['postgresql://app:${APP_PW}@db1/tenant_a']",
                  APP_PW="s3cret").get(None)
    assert fleet.databases[0].password == "s3cret"

    found = errors("databases:\n  - postgresql://app:hunter2@db1/tenant_a\n")
    assert found[0].startswith("fleet.yaml:2:5: error[FL003]: a password is written in the file")
    assert "hunter2" not in "".join(found)
    found = errors("databases: ['postgresql://app@db1/a?password=hunter2']")
    assert "FL003" in found[0]


def test_every_mistake_is_named_with_its_position() -> None:
    found = errors("""
databses: []
schemas:
  - {database: "postgresql://app@db2/app"}
  - {database: "mysql://app@db/x", match: "t_%"}
query: {database: "postgresql://app:${NOPE}@control/ops", sql: "SELECT 1"}
concurrency: 0
""")

    assert found == [
        "fleet.yaml:2:1: error[FL001]: unknown key 'databses'\n  hint: did you mean 'databases'?",
        "fleet.yaml:4:5: error[FL006]: a schemas entry needs database: and match: (a LIKE "
        "pattern such as tenant_%) or names:",
        "fleet.yaml:5:16: error[FL005]: not a PostgreSQL URL\n"
        "  hint: e.g. postgresql://app@db1.internal:5432/tenant_a",
        "fleet.yaml:6:19: error[FL004]: environment variable NOPE is not set\n"
        "  hint: set it in the environment or the project's .env",
        "fleet.yaml:7:14: error[FL002]: expected a whole number of at least 1, not 0",
    ]


def test_a_fleet_without_targets_and_an_unknown_fleet_name() -> None:
    assert "lists no targets" in errors("canary: 1\n")[0]
    assert "not valid YAML" in errors("databases: [\n")[0]
    file = parse("fleets:\n  eu: {databases: ['postgresql://a@h/x']}\n")
    with pytest.raises(SchemactlError, match="no default fleet"):
        file.get(None)
    with pytest.raises(SchemactlError, match="no fleet named 'euu'; did you mean 'eu'"):
        file.get("euu")
    with pytest.raises(SchemactlError, match="fleets in the file: eu"):
        file.get("us")


def test_targets_are_selected_by_full_or_tenant_name() -> None:
    fleet = parse("databases: ['postgresql://a@h/x', 'postgresql://a@h/y']").get(None)
    found = [Target(u) for u in fleet.databases] + [Target(fleet.databases[0], "tenant_1")]

    assert [t.name for t in select(found, ("tenant_1", "h/x"))] == ["h/x", "h/x/tenant_1"]
    with pytest.raises(SchemactlError, match="no target named 'z'"):
        select(found, ("z",))


def test_the_fleet_files_in_the_docs_parse() -> None:
    import re

    docs = (Path(__file__).resolve().parent.parent / "docs" / "fleet.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", docs, re.DOTALL)
    assert len(blocks) == 2
    simplest, full = (parse(b, APP_DB_PASSWORD="x") for b in blocks)
    assert len(simplest.get(None).databases) == 2
    assert full.get(None).schemas[0].match == "tenant\\_%"
    assert full.get(None).canary == ("tenant_a",) and full.get("eu").databases
