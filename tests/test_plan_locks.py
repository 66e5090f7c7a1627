"""Each step of a plan on an existing table says its lock and cost; `plan --max-lock` holds
the plan to a lock budget. Plans run against the real server (shadow database), and the
rewrite claims are checked by applying the revision to a database holding rows."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.urls import libpq_dsn
from schemactl.pipeline import make_plan, write_revision
from schemactl.render.human import render_plan

from .helpers import make_project, migrate, set_schema, settings_for

BEFORE = """
tables:
  a:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      n: integer
      code: varchar(10)
      label: varchar(10)
      note: {type: text, nullable: true}
      qty: {type: integer, nullable: true}
    indexes:
      - {name: a_note_idx, columns: [note]}
  b:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      name: varchar(20)
"""

AFTER = """
tables:
  a:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      n: bigint
      code: varchar(40)
      label: text
      note: {type: text, nullable: true}
      qty: integer
      token: {type: uuid, default_sql: gen_random_uuid()}
    indexes:
      - {name: a_n_idx, columns: [n]}
    checks:
      n_positive: "n > 0"
  b:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      name: integer
  c:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      a_id: {type: bigint, references: a.id}
    indexes:
      - columns: [a_id]
"""


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _run(project_dir: Path, server_url: URL, *args: str, env: dict[str, str] | None = None
         ) -> Result:
    return CliRunner().invoke(main, ["-C", str(project_dir), *args],
                              env={"SHADOW_DATABASE_URL": _url(server_url), **(env or {})})


def _lines(text: str) -> dict[str, str]:
    """Each step line of the plan text by its object ('column n'), with its hazard lines."""
    found: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("+ ", "~ ", "- ", "-/+ ")):
            key = " ".join(stripped.split(":")[0].split()[1:3])
            found[key] = stripped
        elif stripped.startswith("!") and key:
            found[key] += "\n" + stripped
    return found


def _planned(tmp_path: Path, server_url: URL):  # type: ignore[no-untyped-def]
    project = make_project(tmp_path, BEFORE)
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings), "before")
    set_schema(project, AFTER)
    return project, settings


def test_each_step_on_an_existing_table_shows_its_lock_and_cost(
        tmp_path: Path, server_url: URL) -> None:
    """In the blocking forms of an atomic plan, each step's lock and cost and LK hazard."""
    project, settings = _planned(tmp_path, server_url)
    plan = make_plan(project, settings.model_copy(update={"atomic": True}))
    steps = _lines(render_plan(plan))
    assert "[ACCESS EXCLUSIVE, rewrite]" in steps["column n"]  # integer -> bigint
    assert "LK101" in steps["column n"]
    for widened in ("column code", "column label"):  # varchar widening, varchar -> text
        assert "[ACCESS EXCLUSIVE, catalog only]" in steps[widened], steps[widened]
        assert "!" not in steps[widened], steps[widened]
    assert "[ACCESS EXCLUSIVE, scan]" in steps["column qty"]  # SET NOT NULL
    assert "LK105" in steps["column qty"] and "NOT VALID" in steps["column qty"]
    assert "[ACCESS EXCLUSIVE, rewrite]" in steps["column token"]  # volatile default
    assert "LK101" in steps["column token"]
    assert "[SHARE, index build]" in steps["index a_n_idx"] and "LK102" in steps["index a_n_idx"]
    assert "CONCURRENTLY" in steps["index a_n_idx"]
    assert "[ACCESS EXCLUSIVE, catalog only]" in steps["index a_note_idx"]
    assert "LK106" in steps["index a_note_idx"]
    assert "[ACCESS EXCLUSIVE, scan]" in steps["check n_positive"]
    # text -> integer may fail on a row, but loses nothing: not a data-loss hazard.
    assert "MF105" in steps["column name"] and "DS106" not in steps["column name"]
    # A table created in the same plan is empty: no lock, no cost, no lock hazard.
    assert "[" not in steps["table c"] and "LK" not in steps["table c"]
    assert not plan.destructive


def test_steps_take_their_lock_safe_forms_by_default(tmp_path: Path, server_url: URL) -> None:
    """The same change, planned by default: indexes built and dropped concurrently, checks
    and NOT NULL proven by a VALIDATE that lets reads and writes go on; what has no safe
    form yet (a rewrite) keeps its hazard."""
    project, settings = _planned(tmp_path, server_url)
    plan = make_plan(project, settings)
    steps = _lines(render_plan(plan))
    assert "[SHARE UPDATE EXCLUSIVE, index build]" in steps["index a_n_idx"]
    assert "[SHARE UPDATE EXCLUSIVE, catalog only]" in steps["index a_note_idx"]
    for validated in ("column qty", "check n_positive"):
        assert "[SHARE UPDATE EXCLUSIVE, scan]" in steps[validated], steps[validated]
    for step in ("index a_n_idx", "index a_note_idx", "column qty", "check n_positive"):
        assert "LK" not in steps[step], steps[step]
    assert "MF101" in steps["column qty"] and "MF103" in steps["check n_positive"]
    assert "[ACCESS EXCLUSIVE, rewrite]" in steps["column n"] and "LK101" in steps["column n"]
    sql = {s.name: s.sql for s in plan.steps}
    assert sql["a_n_idx"] == ("CREATE INDEX CONCURRENTLY IF NOT EXISTS a_n_idx ON a (n)",)
    assert sql["qty"][-2:] == ("ALTER TABLE a ALTER COLUMN qty SET NOT NULL",
                               "ALTER TABLE a DROP CONSTRAINT a_qty_not_null")


def test_plan_json_carries_lock_and_cost(tmp_path: Path, server_url: URL) -> None:
    project, _ = _planned(tmp_path, server_url)
    result = _run(project.root, server_url, "plan", "--json", "--check", "--atomic")
    assert result.exit_code == 3, result.output
    document = result.output[result.output.index('{\n  "schemactl_json"'):]
    steps = json.loads(document[:document.rindex("}") + 1])["steps"]
    by_name = {(s["table"], s["name"]): s for s in steps}
    assert (by_name[("a", "n")]["lock"], by_name[("a", "n")]["cost"]) == (
        "ACCESS EXCLUSIVE", "rewrite")
    assert (by_name[("a", "a_n_idx")]["lock"], by_name[("a", "a_n_idx")]["cost"]) == (
        "SHARE", "index build")
    assert by_name[("c", "c")]["lock"] is None


def test_rewrite_claims_hold_when_the_revision_is_applied(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    """The plan says integer -> bigint rewrites and varchar widening / varchar -> text do
    not: apply each to a table with rows and compare its relfilenode."""
    before = """
tables:
  wide: {columns: {id: {type: integer, primary_key: true}, n: integer}}
  vc: {columns: {id: {type: integer, primary_key: true}, s: varchar(10)}}
  vt: {columns: {id: {type: integer, primary_key: true}, s: varchar(10)}}
  num: {columns: {id: {type: integer, primary_key: true}, p: "numeric(10,2)"}}
"""
    after = before.replace("n: integer", "n: bigint").replace(
        'p: "numeric(10,2)"', 'p: "numeric(12,2)"').replace(
        "vc: {columns: {id: {type: integer, primary_key: true}, s: varchar(10)}}",
        "vc: {columns: {id: {type: integer, primary_key: true}, s: varchar(50)}}").replace(
        "vt: {columns: {id: {type: integer, primary_key: true}, s: varchar(10)}}",
        "vt: {columns: {id: {type: integer, primary_key: true}, s: text}}")
    project = make_project(tmp_path, before)
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings), "before")
    migrate(project, db_url)
    set_schema(project, after)
    plan = make_plan(project, settings)
    claims = {step.table: step.cost.value for step in plan.steps if step.cost}
    assert claims == {"wide": "rewrite", "vc": "catalog only", "vt": "catalog only",
                      "num": "catalog only"}
    write_revision(project, plan, "after")
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        for table in ("wide", "vc", "vt", "num"):
            conn.execute(f"INSERT INTO {table} SELECT g, g FROM generate_series(1, 100) g"
                         if table in ("wide", "num") else
                         f"INSERT INTO {table} SELECT g, 'x' FROM generate_series(1, 100) g")

        def filenodes() -> dict[str, int]:
            return {t: conn.execute("SELECT pg_relation_filenode(%s)", (t,)).fetchone()[0]  # type: ignore[index]
                    for t in ("wide", "vc", "vt", "num")}

        old = filenodes()
        migrate(project, db_url)
        new = filenodes()
    rewritten = {t: ("rewrite" if old[t] != new[t] else "catalog only") for t in old}
    assert rewritten == claims


def test_max_lock_refuses_steps_over_the_budget(tmp_path: Path, server_url: URL) -> None:
    project, _ = _planned(tmp_path, server_url)
    result = _run(project.root, server_url, "plan", "--atomic", "--max-lock",
                  "share update exclusive")
    assert result.exit_code == 4, result.output
    refused = result.output[result.output.index("Refused"):]
    assert "table a: + index a_n_idx holds SHARE during a index build" in refused
    assert "CREATE INDEX CONCURRENTLY" in refused  # the safe form is named
    assert "table a: ~ column n holds ACCESS EXCLUSIVE during a rewrite" in refused
    # Catalog-only steps (the dropped index, the widened varchar) do not count.
    assert "a_note_idx" not in refused and "column code" not in refused
    assert len(list((project.root / "migrations" / "versions").glob("*.py"))) == 1
    # By default the new column's volatile default is added apart and its rows filled in
    # batches; only the two type changes, which have no safe form yet, are over the budget.
    safe = _run(project.root, server_url, "plan", "--max-lock", "share update exclusive")
    assert safe.exit_code == 4, safe.output
    refused = safe.output[safe.output.index("Refused"):]
    assert "Refused: 2 step(s)" in refused and refused.count("during a rewrite") == 2, refused
    assert "column token" not in refused


def test_catalog_only_plans_pass_the_budget_from_the_setting(
        tmp_path: Path, server_url: URL) -> None:
    project = make_project(tmp_path, BEFORE)
    settings = settings_for(server_url)
    write_revision(project, make_plan(project, settings), "before")
    set_schema(project, BEFORE.replace("qty: {type: integer, nullable: true}",
                                       "qty: {type: integer, nullable: true}\n"
                                       "      bio: {type: text, nullable: true}"))
    result = _run(project.root, server_url, "plan", "-m", "bio",
                  env={"MAX_LOCK": "SHARE UPDATE EXCLUSIVE"})
    assert result.exit_code == 0, result.output
    assert "[ACCESS EXCLUSIVE, catalog only]" in result.output
    assert list((project.root / "migrations" / "versions").glob("*_bio.py"))


def test_max_lock_with_an_unknown_level_is_a_usage_error(
        tmp_path: Path, server_url: URL) -> None:
    project = make_project(tmp_path, BEFORE)
    result = _run(project.root, server_url, "plan", "--max-lock", "medium")
    assert result.exit_code == 2, result.output
    assert "unknown lock level 'medium'" in result.output
    assert "Traceback" not in result.output


def test_plan_against_a_live_database_shows_the_size_of_tables_it_rewrites(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    project, settings = _planned(tmp_path, server_url)
    migrate(project, db_url)
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO a (n, code, label, qty) SELECT g, 'c', 'l', g "
                     "FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE a")
    result = _run(project.root, server_url, "plan", "--against", _url(db_url))
    assert result.exit_code == 0, result.output
    steps = _lines(result.output)
    assert "[ACCESS EXCLUSIVE, rewrite; ~5,000 rows, " in steps["column n"], steps["column n"]
    assert " kB]" in steps["column n"] or " MB]" in steps["column n"]
    # Catalog-only steps do not depend on the size, and say none.
    assert steps["column code"].endswith("[ACCESS EXCLUSIVE, catalog only]")
