"""fleet.yaml -> FleetSpec: which databases and tenant schemas a fleet is made of.

Input: the project root (its fleet.yaml) and the environment. Output: a FleetSpec of frozen
dataclasses, or SpecError with every problem at file:line:column (codes FL001-FL006).

    # fleet.yaml: the top-level keys are the default fleet (`--fleet`)
    databases:                      # database per tenant: one URL each
      - postgresql://app@db1.internal:5432/tenant_a
    schemas:                        # schema per tenant: a LIKE pattern or names in a database
      - {database: "postgresql://app@db2.internal/app", match: "tenant_%"}
      - {database: "postgresql://app@db2.internal/app", names: [tenant_new]}
    query:                          # targets listed by a control database
      database: postgresql://ops@control.internal/ops
      sql: SELECT url FROM tenants WHERE active
      # schemas_in: URL -> the query returns schema names in that database instead of URLs
    canary: [tenant_a]              # default canary targets (or a number)
    concurrency: 4
    fleets:                         # further fleets, chosen with `--fleet NAME`
      eu: {databases: [...]}

A password is never written in the file: libpq finds it (PGPASSWORD, ~/.pgpass), or a URL
refers to an environment variable, `postgresql://app:${APP_DB_PASSWORD}@db1/tenant_a`
(`${VAR}` works in any text value; the project's .env counts as environment).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy.engine import URL

from schemactl.db.urls import normalize
from schemactl.errors import Diagnostic, SpecError
from schemactl.spec.yamlnodes import did_you_mean, kind_name, mark_of

FILE_NAME = "fleet.yaml"
DEFAULT = ""  # the name of the fleet made of the file's top-level keys
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FLEET_KEYS = ("databases", "schemas", "query", "canary", "concurrency")
_SCHEMA_KEYS = ("database", "match", "names")
_QUERY_KEYS = ("database", "sql", "schemas_in")


@dataclass(frozen=True)
class SchemaSource:
    """Tenant schemas in one database: those whose name is LIKE match, and/or named ones."""

    database: URL
    match: str | None
    names: tuple[str, ...]


@dataclass(frozen=True)
class QuerySource:
    """A query on a control database; its first column lists URLs, or schema names in
    schemas_in when that is set."""

    database: URL
    sql: str
    schemas_in: URL | None


@dataclass(frozen=True)
class FleetSpec:
    name: str
    databases: tuple[URL, ...] = ()
    schemas: tuple[SchemaSource, ...] = ()
    queries: tuple[QuerySource, ...] = ()
    canary: tuple[str, ...] = ()  # target names
    canary_count: int = 0
    concurrency: int | None = None


@dataclass
class FleetFile:
    path: Path
    fleets: dict[str, FleetSpec] = field(default_factory=dict)

    def get(self, name: str | None) -> FleetSpec:
        from schemactl.errors import SchemactlError

        key = name or DEFAULT
        if key in self.fleets:
            return self.fleets[key]
        named = sorted(k for k in self.fleets if k)
        if not key:
            raise SchemactlError(f"{self.path.name} has no default fleet (top-level "
                                 "databases, schemas or query)",
                                 hint=f"name one: --fleet {' | '.join(named) or 'NAME'}")
        close = did_you_mean(key, named)
        raise SchemactlError(f"{self.path.name} has no fleet named {key!r}"
                             + (f"; {close}" if close else ""),
                             hint=f"fleets in the file: {', '.join(named) or 'none'}")


def environment(project_root: Path) -> dict[str, str]:
    """Variables for ${VAR}: the process environment over the project's .env."""
    from dotenv import dotenv_values

    dotenv = project_root / ".env"
    values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None} \
        if dotenv.exists() else {}
    return {**values, **os.environ}


def load(project_root: Path, env: dict[str, str] | None = None) -> FleetFile:
    """Read and check the project's fleet.yaml."""
    from schemactl.errors import SchemactlError

    path = project_root / FILE_NAME
    if not path.exists():
        raise SchemactlError(f"no {FILE_NAME} in {project_root}",
                             hint="list the databases in fleet.yaml; see docs/fleet.md")
    return parse(path.read_text(encoding="utf-8"), path,
                 environment(project_root) if env is None else env)


def parse(text: str, path: Path, env: dict[str, str]) -> FleetFile:
    reader = _Reader(path.name, env)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError([Diagnostic(
            "FL001", f"not valid YAML: {getattr(exc, 'problem', exc)}", path.name,
            mark.line + 1 if mark else None, mark.column + 1 if mark else None)]) from None
    result = FleetFile(path)
    if root is None or not isinstance(root, yaml.MappingNode):
        reader.error(root, "the file must be a mapping (databases:, schemas:, query:, fleets:)")
        raise SpecError(reader.diagnostics)
    own = [(k, v) for k, v in root.value if k.value != "fleets"]
    if own:
        result.fleets[DEFAULT] = reader.fleet(DEFAULT, own, root)
    for key, value in root.value:
        if key.value != "fleets":
            continue
        if not isinstance(value, yaml.MappingNode):
            reader.error(value, f"fleets must map names to fleets, not {kind_name(value)}")
            continue
        for name_node, body in value.value:
            if not isinstance(body, yaml.MappingNode):
                reader.error(body, f"fleet {name_node.value!r} must be a mapping")
                continue
            result.fleets[str(name_node.value)] = reader.fleet(
                str(name_node.value), list(body.value), body)
    if reader.diagnostics:
        raise SpecError(reader.diagnostics)
    return result


class _Reader:
    """Walks the composed nodes, collecting every problem instead of stopping at the first."""

    def __init__(self, file: str, env: dict[str, str]) -> None:
        self.file = file
        self.env = env
        self.diagnostics: list[Diagnostic] = []

    def error(self, node: yaml.Node | None, message: str, code: str = "FL002",
              hint: str | None = None) -> None:
        mark = mark_of(self.file, node) if node is not None else None
        self.diagnostics.append(Diagnostic(
            code, message, self.file, mark.line if mark else None,
            mark.column if mark else None, hint))

    def fleet(self, name: str, pairs: list[tuple[yaml.Node, yaml.Node]],
              node: yaml.Node) -> FleetSpec:
        values: dict[str, yaml.Node] = {}
        for key, value in pairs:
            if key.value not in _FLEET_KEYS:
                close = did_you_mean(str(key.value), [*_FLEET_KEYS, "fleets"])
                self.error(key, f"unknown key {key.value!r}", "FL001", close)
                continue
            values[key.value] = value
        if not {"databases", "schemas", "query"} & set(values):
            self.error(node, f"fleet {name or '(default)'} lists no targets: give databases, "
                             "schemas or query")
        canary, count = self.canary(values.get("canary"))
        return FleetSpec(
            name=name,
            databases=tuple(u for u in (self.url(n) for n in self.items(values.get("databases")))
                            if u is not None),
            schemas=tuple(s for s in (self.schema_source(n)
                                      for n in self.items(values.get("schemas"))) if s),
            queries=tuple(q for q in (self.query_source(n)
                                      for n in self.items(values.get("query"), True)) if q),
            canary=canary, canary_count=count,
            concurrency=self.positive(values.get("concurrency")),
        )

    def items(self, node: yaml.Node | None, single_ok: bool = False) -> list[yaml.Node]:
        if node is None:
            return []
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if single_ok and isinstance(node, yaml.MappingNode):
            return [node]
        self.error(node, f"expected a list, not {kind_name(node)}")
        return []

    def text(self, node: yaml.Node) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.error(node, f"expected text, not {kind_name(node)}")
            return None
        return str(node.value)

    def expand(self, node: yaml.Node, raw: str) -> str | None:
        missing = [m for m in _VARIABLE.findall(raw) if m not in self.env]
        if missing:
            self.error(node, f"environment variable {missing[0]} is not set", "FL004",
                       "set it in the environment or the project's .env")
            return None
        return _VARIABLE.sub(lambda m: self.env[m.group(1)], raw)

    def url(self, node: yaml.Node) -> URL | None:
        raw = self.text(node)
        if raw is None:
            return None
        if _written_password(raw):
            self.error(node, "a password is written in the file", "FL003",
                       "leave it out (libpq reads PGPASSWORD or ~/.pgpass) or refer to a "
                       "variable: postgresql://user:${DB_PASSWORD}@host/db")
            return None
        expanded = self.expand(node, raw)
        if expanded is None:
            return None
        try:
            return normalize(expanded)
        except Exception:  # noqa: BLE001  make_url's ArgumentError, or not PostgreSQL
            self.error(node, "not a PostgreSQL URL", "FL005",
                       "e.g. postgresql://app@db1.internal:5432/tenant_a")
            return None

    def mapping(self, node: yaml.Node, keys: tuple[str, ...], what: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping ({', '.join(keys)}), not "
                             f"{kind_name(node)}")
            return {}
        values = {}
        for key, value in node.value:
            if key.value not in keys:
                self.error(key, f"unknown key {key.value!r} in {what}", "FL001",
                           did_you_mean(str(key.value), keys))
            else:
                values[str(key.value)] = value
        return values

    def schema_source(self, node: yaml.Node) -> SchemaSource | None:
        values = self.mapping(node, _SCHEMA_KEYS, "a schemas entry")
        if not values:
            return None
        if "database" not in values or not ({"match", "names"} & set(values)):
            self.error(node, "a schemas entry needs database: and match: (a LIKE pattern "
                             "such as tenant_%) or names:", "FL006")
            return None
        database = self.url(values["database"])
        match = self.text(values["match"]) if "match" in values else None
        names = tuple(n for n in (self.text(x) for x in self.items(values.get("names"))) if n)
        if database is None:
            return None
        return SchemaSource(database, match, names)

    def query_source(self, node: yaml.Node) -> QuerySource | None:
        values = self.mapping(node, _QUERY_KEYS, "query")
        if not values:
            return None
        if "database" not in values or "sql" not in values:
            self.error(node, "query needs database: (the control database) and sql:", "FL006")
            return None
        database = self.url(values["database"])
        sql = self.text(values["sql"])
        schemas_in = self.url(values["schemas_in"]) if "schemas_in" in values else None
        if database is None or sql is None or ("schemas_in" in values and schemas_in is None):
            return None
        return QuerySource(database, self.expand(values["sql"], sql) or sql, schemas_in)

    def canary(self, node: yaml.Node | None) -> tuple[tuple[str, ...], int]:
        if node is None:
            return (), 0
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int"):
            count = self.positive(node)
            return (), count or 0
        return tuple(n for n in (self.text(x) for x in self.items(node)) if n), 0

    def positive(self, node: yaml.Node | None) -> int | None:
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int") \
                and int(node.value) > 0:
            return int(node.value)
        self.error(node, f"expected a whole number of at least 1, not {kind_name(node)}")
        return None


def _written_password(raw: str) -> bool:
    """True when the URL text carries a password that is not only a ${VAR} reference."""
    match = re.match(r"^[\w+.-]+://([^/@?#]*)@", raw)
    if match and ":" in match.group(1):
        secret = match.group(1).split(":", 1)[1]
        if secret and not _VARIABLE.fullmatch(secret):
            return True
    query = re.search(r"[?&]password=([^&]*)", raw, re.IGNORECASE)
    return bool(query and query.group(1) and not _VARIABLE.fullmatch(query.group(1)))
