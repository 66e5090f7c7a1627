"""Offline SQL == online migration, for every case of the plan round-trip suite.

Each case of tests/data/evolutions.yaml is planned into two revisions (before, after).
One fresh database runs the offline script with psql, another is migrated online; their
`pg_dump --schema-only` and alembic_version must match after the upgrade to head and after
the downgrade back to the first revision.

Planning dominates the cost (two shadow databases per case); a test that already planned
the revisions can call assert_offline_matches_online() instead of planning again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import URL

from schemactl.db.throwaway import throwaway_database
from schemactl.project import Project
from schemactl.render.offline_sql import offline_script
from schemactl.settings import Settings

from .helpers import downgrade, make_project, migrate, plan_and_write, set_schema, settings_for
from .test_offline_sql import run_psql, same_database

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "evolutions.yaml").read_text())
SCRIPT_SETTINGS = Settings(lock_timeout="5s", statement_timeout="0")


def assert_offline_matches_online(project: Project, server_url: URL, tmp_path: Path,
                                  back_to: str | None = None) -> None:
    """psql + the offline script on one fresh database == Alembic online on another; then,
    if back_to is given, the same for the downgrade from head to back_to."""
    with throwaway_database(server_url, "schemactl_test") as offline, \
            throwaway_database(server_url, "schemactl_test") as online:
        run_psql(offline, offline_script(project, None, "head", settings=SCRIPT_SETTINGS),
                 tmp_path)
        migrate(project, online)
        same_database(offline, online)
        if back_to is None:
            return
        script = offline_script(project, "head", back_to, downgrade=True,
                                settings=SCRIPT_SETTINGS)
        run_psql(offline, script, tmp_path)
        downgrade(project, online, back_to)
        same_database(offline, online)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_offline_script_equals_online_migration(
    case: dict[str, Any], tmp_path: Path, server_url: URL
) -> None:
    project = make_project(tmp_path / "project", case["before"])
    settings = settings_for(server_url)
    plan_and_write(project, settings, "before")
    set_schema(project, case["after"])
    _, after = plan_and_write(project, settings, "after")
    assert_offline_matches_online(project, server_url, tmp_path,
                                  back_to="0001" if after is not None else "base")
