"""Offline SQL == online migration: the check the plan round trip runs on every case.

One fresh database runs the offline script with psql, another is migrated online; their
`pg_dump --schema-only` and alembic_version must match after the upgrade to head and after
the downgrade back to a given revision. (Called from tests/test_plan_roundtrip.py, which has
already planned the revisions, so each case is planned once.)
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

from schemactl.db.throwaway import throwaway_database
from schemactl.project import Project
from schemactl.render.offline_sql import offline_script
from schemactl.settings import Settings

from .helpers import downgrade, migrate
from .test_offline_sql import run_psql, same_database

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
