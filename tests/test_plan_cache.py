"""What plan keeps between runs (kept shadows, desired catalogs) never changes a plan: every
evolution case plans the same revision cold, warm and with the cache disabled. A plan known
to be empty (a local marker, or the sum file's mark of the YAML head was planned from)
answers "No changes." without any database, and only for the very files it was made from.
And the throwaway databases: named under the user's prefix, leftovers of killed runs dropped."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.operations import ops
from click.testing import CliRunner
from psycopg import sql
from sqlalchemy.engine import URL

from schemactl.apply import checksums
from schemactl.cli import main
from schemactl.db.throwaway import LEFTOVER_SECONDS, admin, drop_leftovers
from schemactl.db.urls import libpq_dsn
from schemactl.diff import content_keys, desired_cache, noop_cache, shadow_cache
from schemactl.pipeline import make_plan, planned_from, write_revision
from schemactl.plan.build import build_plan
from schemactl.project import Project
from schemactl.render.revision import revision_parts
from schemactl.render.texts import EMPTY_PLAN, NO_CHANGES

from .helpers import make_project, set_schema, settings_for
from .test_cli_startup import _run as run_probed
from .test_plan_roundtrip import CASES

# Nothing listens there: a plan that connected would fail.
CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


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
    made_from = planned_from(project)
    write_revision(project, make_plan(project, settings, cache=False), "before",
                   made_from=made_from)
    # The sum file's mark answers for the YAML head was planned from, as the comparison does.
    assert noop_cache.known_empty(project, noop_cache.key(project)) == noop_cache.PLANNED
    assert not make_plan(project, settings, cache=False).has_changes
    set_schema(project, case["after"])
    assert noop_cache.known_empty(project, noop_cache.key(project)) is None
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
    if uncached.has_changes:  # written, the next plan is "No changes." both ways again
        write_revision(project, uncached, "after", made_from=planned_from(project))
        assert noop_cache.known_empty(project, noop_cache.key(project)) == noop_cache.PLANNED
        assert not make_plan(project, settings, cache=False).has_changes


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


def test_a_remembered_empty_plan_connects_to_no_server(tmp_path: Path, server_url: URL) -> None:
    """The local marker is enough: the plan that reads it does not even ask the server's
    version (with nothing listening at the URL, the answer is the same)."""
    project = make_project(tmp_path, "tables:\n  t:\n    columns:\n      id: bigint\n")
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings), "t")  # no mark: written by hand, say
    assert not checksums.planned_keys(project)
    assert not make_plan(project, settings).has_changes  # compared, and remembered
    closed = CliRunner().invoke(main, ["-C", str(tmp_path), "-v", "plan", "--check"],
                                env={"DATABASE_URL": CLOSED_PORT_URL, "SHADOW_DATABASE_URL": None})
    assert closed.exit_code == 0, closed.output
    assert NO_CHANGES in closed.output
    assert "an earlier plan compared these very files" in closed.output


def _plan_cli(project_dir: Path, server_url: URL, *args: str) -> tuple[int, str]:
    env = {"SHADOW_DATABASE_URL": server_url.render_as_string(hide_password=False),
           "DATABASE_URL": None}
    result = CliRunner().invoke(main, ["-C", str(project_dir), "plan", *args], env=env)
    return result.exit_code, result.stdout if "--json" in args else result.output


def _fresh_clone(project: Project, to: Path) -> Project:
    """The project as a fresh checkout has it: no .schemactl/ (no marker, no kept catalog)."""
    shutil.copytree(project.root, to, ignore=shutil.ignore_patterns(".schemactl"))
    return Project(to)


_TABLE = "tables:\n  t:\n    columns:\n      id: bigint\n"


def test_a_fresh_checkout_of_the_yaml_head_was_planned_from_needs_no_database(
        tmp_path: Path, server_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """plan writes, beside the revision, the key of the files it planned from into the sum
    file. A fresh clone (CI) plans to "No changes." from it: nothing listens at the database
    URL, and the process never even loads a database library (so it cannot have connected),
    nor SQLAlchemy, Alembic, pydantic or sqlglot. Its JSON is the compared plan's."""
    project = make_project(tmp_path / "dev", _TABLE)
    code, output = _plan_cli(project.root, server_url, "-m", "t")
    assert code == 0, output
    [mark] = [line for line in project.sum_file.read_text().splitlines()
              if line.startswith("planned ")]
    assert mark.startswith("planned versions/") and "_t.py sha256:" in mark
    clone = _fresh_clone(project, tmp_path / "ci")

    monkeypatch.setenv("DATABASE_URL", CLOSED_PORT_URL)
    monkeypatch.delenv("SHADOW_DATABASE_URL", raising=False)
    code, loaded, out = run_probed("plan", "--check", cwd=clone.root)
    assert (code, out.strip()) == (0, NO_CHANGES)
    assert loaded == set(), f"a plan known to be empty loaded {sorted(loaded)}"
    assert not (clone.root / ".schemactl").exists()  # and wrote nothing

    quick = CliRunner().invoke(main, ["-C", str(clone.root), "plan", "--check", "--json"])
    code, compared = _plan_cli(clone.root, server_url, "--check", "--json", "--no-cache")
    assert quick.exit_code == code == 0, (quick.output, compared)
    assert json.loads(quick.stdout) == json.loads(compared)
    assert build_plan(ops.UpgradeOps(ops=[])).as_dict() == EMPTY_PLAN


def test_an_edited_yaml_revision_sum_file_or_schemactl_is_never_answered_from_the_mark(
        tmp_path: Path, server_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "dev", _TABLE)
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings), "t", made_from=planned_from(project))
    clone = _fresh_clone(project, tmp_path / "ci")
    closed = {"DATABASE_URL": CLOSED_PORT_URL, "SHADOW_DATABASE_URL": None}

    def known() -> str | None:
        return noop_cache.known_empty(clone, noop_cache.key(clone))

    assert known() == noop_cache.PLANNED
    # Another YAML: compared (here: it tries to connect, and cannot), and the change found.
    original = (clone.schema_dir / "app.yaml").read_text()
    set_schema(clone, original + "      n: {type: text, nullable: true}\n")
    assert known() is None
    tried = CliRunner().invoke(main, ["-C", str(clone.root), "plan", "--check"], env=closed)
    assert tried.exit_code == 1 and NO_CHANGES not in tried.output, tried.output
    assert [step.name for step in make_plan(clone, settings).steps] == ["n"]
    # A mark forged by hand for that YAML: the sum file no longer verifies.
    with clone.sum_file.open("a") as sums:
        sums.write(f"planned versions/x.py sha256:{noop_cache.key(clone)}\n")
    assert known() is None
    set_schema(clone, original)
    assert known() is None  # (the forged line still breaks the sum file's total)
    checksums.record(clone)  # `schemactl hash`: the sum verifies again, the mark stays
    assert known() == noop_cache.PLANNED

    # A revision edited by hand, then re-hashed: the sum verifies, the history is another.
    revision = next(clone.versions_dir.glob("*.py"))
    revision.write_text(revision.read_text().replace("'id'", "'ident'"))
    assert known() is None
    checksums.record(clone)
    assert not checksums.verify(clone) and checksums.planned_keys(clone)
    assert known() is None
    assert {step.name for step in make_plan(clone, settings, cache=False).steps} == {"id", "ident"}

    # Another schemactl (its code is in every key): the same files are compared again.
    monkeypatch.setattr(content_keys, "code_fingerprint", lambda: "another schemactl")
    assert noop_cache.known_empty(project, noop_cache.key(project)) is None


def test_no_mark_when_the_history_changed_while_planning(tmp_path: Path,
                                                         server_url: URL) -> None:
    """The mark says that this history plus the new revision reach the YAML; a revision
    that arrived between the comparison and the write is not part of what was compared."""
    project = make_project(tmp_path, _TABLE)
    settings = settings_for(server_url)
    made_from = planned_from(project)
    plan = make_plan(project, settings)
    write_revision(project, plan, "meanwhile")  # e.g. another plan in the same checkout
    write_revision(project, plan, "stale", made_from=made_from)
    assert not checksums.planned_keys(project)
    assert noop_cache.known_empty(project, noop_cache.key(project)) is None


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
