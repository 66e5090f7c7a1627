"""Helpers for tests that plan and migrate a whole project on real PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic import command
from sqlalchemy.engine import URL

from schemactl.diff.shadow import connect, upgrade
from schemactl.pipeline import make_plan, write_revision
from schemactl.plan.build import Plan
from schemactl.project import Project
from schemactl.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def make_project(root: Path, schema_yaml: str | None = None) -> Project:
    """A project like `schemactl init` makes, using this repository's own Alembic files."""
    (root / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "sql").mkdir(parents=True, exist_ok=True)
    (root / "schema").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "alembic.ini", root / "alembic.ini")
    for name in ("env.py", "script.py.mako"):
        shutil.copy(REPO / "migrations" / name, root / "migrations" / name)
    project = Project(root)
    if schema_yaml is not None:
        set_schema(project, schema_yaml)
    return project


def set_schema(project: Project, schema_yaml: str) -> None:
    (project.schema_dir / "app.yaml").write_text(schema_yaml)


def settings_for(server_url: URL, database: URL | None = None) -> Settings:
    """Settings with shadows on the test server (and an explicit target when given)."""
    values: dict[str, object] = {"shadow_database_url": server_url.render_as_string(False)}
    if database is not None:
        values["database_url"] = database.render_as_string(False)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


def plan_and_write(project: Project, settings: Settings, message: str) -> tuple[Plan, Path | None]:
    plan = make_plan(project, settings)
    path = write_revision(project, plan, message) if plan.has_changes else None
    return plan, path


def migrate(project: Project, url: URL, revision: str = "heads") -> None:
    with connect(url) as conn:
        upgrade(project, conn, revision)


def downgrade(project: Project, url: URL, revision: str) -> None:
    with connect(url) as conn:
        config = project.alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()
