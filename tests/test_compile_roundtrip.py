"""The compiled MetaData through the whole pipeline: plan -> revision file -> apply -> plan.

test_compile.py proves the MetaData creates the right catalog; this proves the revision
that plan writes from it creates the SAME catalog, and that planning again finds nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL

from schemactl.compile import compile_spec
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn
from schemactl.pipeline import make_plan
from schemactl.project import Project
from schemactl.spec.validate import load_schema

from .helpers import make_project, migrate, plan_and_write, settings_for
from .test_compile import FULL, REPO, catalog, create_from_metadata


def _project_with_full_schema(root: Path) -> Project:
    project = make_project(root)
    for source in FULL.glob("*.yaml"):
        shutil.copy(source, project.schema_dir / source.name)
    return project


_OWN_TABLES = ("alembic_version", "schemactl_history")  # the tool's own bookkeeping


def _catalog_of(url: URL) -> list[str]:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        lines = catalog(conn).splitlines()
    return [line for line in lines if not any(t in line for t in _OWN_TABLES)]


def test_revision_creates_the_same_catalog_and_plan_again_is_empty(
    tmp_path: Path, server_url: URL, db_url: URL
) -> None:
    project = _project_with_full_schema(tmp_path)
    settings = settings_for(server_url)
    plan, revision = plan_and_write(project, settings, "full schema")
    assert plan.has_changes and revision is not None

    migrate(project, db_url)
    with throwaway_database(server_url, prefix="schemactl_test") as direct:
        create_from_metadata(direct, compile_spec(load_schema(project.schema_dir, REPO)))
        assert _catalog_of(db_url) == _catalog_of(direct)

    again = make_plan(project, settings, against=db_url)
    assert not again.has_changes, again.steps
    assert not make_plan(project, settings).has_changes  # against the shadow of the history


def test_colon_percent_and_backslash_survive_the_revision_file(
    tmp_path: Path, server_url: URL, db_url: URL
) -> None:
    """Alembic writes SQL fragments as sa.text(...), which would read `:x` as a bind
    parameter (stored as NULL) and, rendered for psycopg, double every `%`."""
    project = make_project(tmp_path)
    shutil.copy(FULL / "app.yaml", project.schema_dir / "app.yaml")
    plan_and_write(project, settings_for(server_url), "full schema")
    migrate(project, db_url)
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        default = conn.execute(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef JOIN pg_attribute"
            " ON attrelid = adrelid AND attnum = adnum WHERE attname = 'motto'"
        ).fetchone()
        check = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname = 'motto_no_colon_bind'"
        ).fetchone()
    assert default == ("'it''s a \"test\" \\ ü :x 100%'::text",)
    assert check == ("CHECK ((motto <> 'a :b \\:c %'::text))",)
