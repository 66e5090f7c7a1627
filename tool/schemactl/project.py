"""Where a project's files are: schema/, migrations/, alembic.ini, and its Alembic Config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config

from schemactl.errors import SchemactlError


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def schema_dir(self) -> Path:
        return self.root / "schema"

    @property
    def migrations_dir(self) -> Path:
        return self.root / "migrations"

    @property
    def versions_dir(self) -> Path:
        return self.migrations_dir / "versions"

    @property
    def sql_dir(self) -> Path:
        return self.migrations_dir / "sql"

    @property
    def sum_file(self) -> Path:
        return self.migrations_dir / "schemactl.sum"

    @property
    def alembic_ini(self) -> Path:
        return self.root / "alembic.ini"

    def alembic_config(self) -> Config:
        """Alembic's Config for this project; script_location is always our migrations dir."""
        cfg = Config(str(self.alembic_ini)) if self.alembic_ini.exists() else Config()
        cfg.set_main_option("script_location", str(self.migrations_dir))
        cfg.attributes["schemactl_project"] = self
        return cfg


def find_project(start: Path | None = None) -> Project:
    """The nearest directory at or above start that holds alembic.ini or schema/."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "alembic.ini").exists() or (candidate / "schema").is_dir():
            return Project(candidate)
    raise SchemactlError(
        f"no schemactl project at or above {here}",
        hint="run `schemactl init` to create one, or pass --project-dir",
    )
