"""What plan keeps between runs (kept shadows, desired catalogs) never changes a plan: every
evolution case plans the same revision cold, warm and with the cache disabled. And the
throwaway databases: named under the user's prefix, leftovers of killed runs dropped."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.throwaway import LEFTOVER_SECONDS, admin, drop_leftovers
from schemactl.db.urls import libpq_dsn
from schemactl.diff import desired_cache, shadow_cache
from schemactl.pipeline import make_plan, write_revision
from schemactl.render.revision import revision_parts

from .helpers import make_project, set_schema, settings_for
from .test_plan_roundtrip import CASES


def _databases(server_url: URL, like: str) -> list[str]:
    with psycopg.connect(libpq_dsn(server_url), autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY datname", (like,))]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_cold_warm_and_no_cache_plan_the_same_revision(case: dict[str, Any], tmp_path: Path,
                                                       server_url: URL) -> None:
    project = make_project(tmp_path, case["before"])
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings, cache=False), "before")
    set_schema(project, case["after"])
    key = shadow_cache.history_key(project)
    assert key is not None
    kept = shadow_cache.entry_name(settings.shadow_database_prefix, key)
    assert not _databases(server_url, kept)

    cold = make_plan(project, settings)
    assert _databases(server_url, kept) == [kept]  # the cold plan kept the shadow
    assert desired_cache.entries(project)
    warm = make_plan(project, settings)
    uncached = make_plan(project, settings, cache=False)
    assert revision_parts(warm) == revision_parts(cold) == revision_parts(uncached)
    assert warm.as_dict() == cold.as_dict() == uncached.as_dict()


def test_an_edited_revision_is_never_served_from_the_cache(tmp_path: Path,
                                                           server_url: URL) -> None:
    project = make_project(tmp_path, "tables:\n  t:\n    columns:\n      id: bigint\n")
    settings = settings_for(server_url)
    revision = write_revision(project, make_plan(project, settings), "t")
    assert not make_plan(project, settings).has_changes  # keeps the shadow of this history
    # Someone edits the revision by hand: the history is another one, the kept shadow unused.
    revision.write_text(revision.read_text().replace("'id'", "'ident'"))
    plan = make_plan(project, settings)
    assert {step.name for step in plan.steps} == {"id", "ident"}, plan.steps


def test_a_plan_of_files_found_equal_before_reads_no_database(tmp_path: Path,
                                                             server_url: URL) -> None:
    """The same YAML and history that planned to "No changes." plan so again without a
    shadow: none is kept again after the kept one is dropped. Any change to either is
    compared afresh."""
    project = make_project(tmp_path, "tables:\n  t:\n    columns:\n      id: bigint\n")
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings), "t")
    assert not make_plan(project, settings).has_changes  # remembered from here on
    key = shadow_cache.history_key(project)
    assert key is not None
    kept = shadow_cache.entry_name(settings.shadow_database_prefix, key)
    with admin(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(kept)))

    assert not make_plan(project, settings).has_changes
    assert not _databases(server_url, kept), "the remembered plan built a shadow"
    assert not make_plan(project, settings, cache=False).has_changes  # --no-cache compares
    assert _databases(server_url, kept) == []  # (and keeps nothing)

    set_schema(project, "tables:\n  t:\n    columns:\n      id: bigint\n      n: text\n")
    assert [step.name for step in make_plan(project, settings).steps] == ["n"]
    set_schema(project, "tables:\n  t:\n    columns:\n      id: bigint\n")
    revision = next(project.versions_dir.glob("*.py"))
    revision.write_text(revision.read_text().replace("'id'", "'ident'"))
    assert {step.name for step in make_plan(project, settings).steps} == {"id", "ident"}


def test_cache_list_and_clear(tmp_path: Path, server_url: URL,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Its own entries: a prefix of this process, so that another run on the same server
    # (a second checkout, a colleague) cannot add or remove entries under it meanwhile.
    monkeypatch.setenv("SHADOW_DATABASE_PREFIX", f"schemactl_lc{os.getpid()}")
    project = make_project(tmp_path, "tables:\n  t:\n    columns:\n      id: bigint\n")
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings), "t")
    make_plan(project, settings)
    env = {"SHADOW_DATABASE_URL": server_url.render_as_string(hide_password=False),
           "DATABASE_URL": None}
    key = shadow_cache.history_key(project)
    assert key is not None
    kept = shadow_cache.entry_name(settings.shadow_database_prefix, key)

    listed = CliRunner().invoke(main, ["-C", str(tmp_path), "cache", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert f"shadow   {kept}" in listed.output and "desired  " in listed.output

    cleared = CliRunner().invoke(main, ["-C", str(tmp_path), "cache", "clear"], env=env)
    assert cleared.exit_code == 0, cleared.output
    assert "Removed 1 kept shadows and 1 desired catalogs." in cleared.output
    assert not _databases(server_url, kept) and not desired_cache.entries(project)
    assert not make_plan(project, settings).has_changes  # and plan rebuilds what it needs


def test_a_bad_prefix_is_an_error_naming_the_setting(tmp_path: Path, server_url: URL) -> None:
    make_project(tmp_path, "tables:\n  t:\n    columns:\n      id: bigint\n")
    env = {"SHADOW_DATABASE_URL": server_url.render_as_string(hide_password=False),
           "SHADOW_DATABASE_PREFIX": "My-Prefix"}
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "plan"], env=env)
    assert result.exit_code == 1
    assert "SHADOW_DATABASE_PREFIX 'My-Prefix'" in result.output
    assert "Traceback" not in result.output


def test_leftovers_of_a_killed_run_are_dropped_and_live_ones_kept(server_url: URL) -> None:
    prefix = f"schemactl_left{os.getpid()}"  # not shared with another run
    old = f"{int(time.time()) - LEFTOVER_SECONDS - 5:08x}"
    names = {"killed": f"{prefix}_shadow_{old}_{'a' * 12}",
             "in_use": f"{prefix}_desired_{old}_{'b' * 12}",
             "young": f"{prefix}_shadow_{int(time.time()):08x}_{'c' * 12}",
             "other": f"{prefix}x_shadow_{old}_{'d' * 12}"}
    with admin(server_url) as conn:
        for name in names.values():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        busy = server_url.set(database=names["in_use"])
        with psycopg.connect(libpq_dsn(busy)):
            assert drop_leftovers(server_url, prefix) == [names["killed"]]
        assert sorted(_databases(server_url, f"{prefix}%")) == sorted(
            [names["in_use"], names["young"], names["other"]])
    finally:
        with admin(server_url) as conn:
            for name in names.values():
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
