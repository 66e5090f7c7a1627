"""The property that matters most: plan, apply, plan again gives "No changes.", the data in
surviving columns is still there, and downgrade + upgrade gives the same catalog. And for
every case, the offline SQL script run by psql gives the same database as the online upgrade
(and downgrade).

Cases are data: tests/data/evolutions.yaml. Golden plan texts: tests/golden/plans/
(regenerate with SCHEMACTL_REGEN_GOLDEN=1 and review the diff like code).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy.engine import URL

from schemactl.db.urls import libpq_dsn
from schemactl.pipeline import make_plan, write_revision
from schemactl.plan.analyze import statement_facts
from schemactl.plan.lint import lint
from schemactl.render.human import render_plan

from .conftest import pg_dump_schema
from .helpers import downgrade, make_project, migrate, set_schema, settings_for
from .offline_check import assert_offline_matches_online
from .squawk_check import unmarked_findings

DATA = Path(__file__).parent / "data" / "evolutions.yaml"
GOLDEN = Path(__file__).parent / "golden" / "plans"
CASES: list[dict[str, Any]] = yaml.safe_load(DATA.read_text())


def _run_sql(url: URL, sql: str | None) -> None:
    if sql:
        with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
            conn.execute(sql)


def _query(url: URL, sql: str) -> list[list[Any]]:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        return [list(row) for row in conn.execute(sql).fetchall()]


def _truncate_all(url: URL) -> str | None:
    tables = _query(url, "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                         "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
                         "AND tablename <> 'alembic_version'")
    return f"TRUNCATE {', '.join(t[0] for t in tables)} CASCADE" if tables else None


def _check_golden(case_id: str, text: str) -> None:
    path = GOLDEN / f"{case_id}.txt"
    if os.environ.get("SCHEMACTL_REGEN_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    assert text + "\n" == path.read_text(), f"plan text changed; see {path}"


def test_the_table_has_at_least_forty_evolutions() -> None:
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_plan_apply_replan(case: dict[str, Any], tmp_path: Path, server_url: URL,
                           db_url: URL) -> None:
    project = make_project(tmp_path, case["before"])
    settings = settings_for(server_url)
    first = make_plan(project, settings)
    assert first.has_changes and not first.destructive
    first_id = write_revision(project, first, "before").name.split("_")[0]
    migrate(project, db_url)
    _run_sql(db_url, case.get("seed"))
    catalog_before = pg_dump_schema(db_url)

    set_schema(project, case["after"])
    plan = make_plan(project, settings)
    text = render_plan(plan)
    for expected in case.get("expect", []):
        assert expected in text, f"{expected!r} not in plan:\n{text}"
    assert bool(plan.destructive) == bool(case.get("destructive")), text
    if case.get("golden"):
        _check_golden(case["id"], text)
    after_path = write_revision(project, plan, "after")
    sql_file = project.sql_dir / (after_path.stem + ".sql")
    unmarked, exempt = unmarked_findings(sql_file, [h.as_record() for h in plan.hazards],
                                         plan.steps)
    assert not unmarked, f"squawk lock rules fired on steps with no hazard: {unmarked}"
    # lint, the same analyzers without the plan's typed facts, finds nothing the plan missed.
    findings = lint(after_path.stem, sql_file.read_text(), [h.as_record() for h in plan.hazards],
                    statement_facts(plan.steps))
    assert not [str(f) for f in findings if not f.acknowledged], text
    if os.environ.get("SCHEMACTL_SQUAWK_REPORT"):  # the remaining findings, with their reason
        with open(os.environ["SCHEMACTL_SQUAWK_REPORT"], "a") as report:
            report.writelines(f"{case['id']}: {line}\n" for line in exempt)
    assert_offline_matches_online(project, server_url, tmp_path, back_to=first_id)
    migrate(project, db_url)
    _run_sql(db_url, case.get("seed_after"))
    for check in case.get("checks", []):
        assert _query(db_url, check["sql"]) == check["rows"], check["sql"]

    again = make_plan(project, settings)
    assert not again.has_changes, render_plan(again)
    assert render_plan(again) == "No changes. The schema matches the migrations."

    catalog_after = pg_dump_schema(db_url)
    if case.get("destructive"):
        # What a destructive step dropped cannot come back; a NOT NULL column that returns
        # needs an empty table. The catalog must still round-trip.
        _run_sql(db_url, _truncate_all(db_url))
    downgrade(project, db_url, first_id)
    assert pg_dump_schema(db_url) == catalog_before
    migrate(project, db_url)
    assert pg_dump_schema(db_url) == catalog_after
