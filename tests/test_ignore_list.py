"""The ignore list (schemactl-ignore.yaml): what schemactl leaves alone, and says so.

The file's parsing and matching are tested without a database; baseline, `plan --against`
and status are run as a user runs them, on real PostgreSQL databases.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from schemactl.apply.drift import DriftItem, without_left_alone
from schemactl.cli import main
from schemactl.errors import SpecError
from schemactl.ignore import FILE_NAME, IgnoreList, Left, load_ignore_list, parse_ignore_list
from schemactl.project import Project
from tests.helpers import REPO, make_project

GOOD = """\
# objects schemactl leaves alone: the DBA manages them by hand
ignore:
  - kind: policy
    name: public.accounts.owner_only
    reason: managed by the DBA
  - kind: function
    name: public.audit_*
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_ignore_list(text)
    return [str(d) for d in caught.value.diagnostics]


def test_a_good_file_reads_as_its_entries_with_their_lines() -> None:
    ignore = parse_ignore_list(GOOD)
    assert [(e.kind, e.name, e.reason, e.line) for e in ignore.entries] == [
        ("policy", "public.accounts.owner_only", "managed by the DBA", 3),
        ("function", "public.audit_*", "", 6)]


def test_a_project_without_the_file_ignores_nothing(tmp_path: Path) -> None:
    assert not load_ignore_list(tmp_path)
    (tmp_path / FILE_NAME).write_text("# nothing yet\n")
    assert not load_ignore_list(tmp_path)
    (tmp_path / FILE_NAME).write_text(GOOD)
    assert len(load_ignore_list(tmp_path).entries) == 2


@pytest.mark.parametrize(("text", "expected"), [
    ("ignore: 3\n", "schemactl-ignore.yaml:1:9: error[E902]: `ignore:` must be a list"),
    ("- kind: policy\n", "schemactl-ignore.yaml:1:1: error[E902]: expected a mapping"),
    ("ignored:\n  - {kind: policy, name: a}\n",
     "schemactl-ignore.yaml:1:1: error[E902]: unknown key 'ignored'"),
    ("ignore:\n  - policy public.a\n",
     "schemactl-ignore.yaml:2:5: error[E902]: an entry must be a mapping"),
    ("ignore:\n  - {kind: policy, nmae: public.a}\n",
     "schemactl-ignore.yaml:2:20: error[E902]: unknown key 'nmae' in an entry\n"
     "  hint: did you mean 'name'?"),
    ("ignore:\n  - kind: [policy]\n    name: a\n",
     "schemactl-ignore.yaml:2:11: error[E902]: `kind` must be text, found a list"),
    ("ignore:\n  - kind: policy\n", "schemactl-ignore.yaml:2:5: error[E903]: an entry needs `name`"),
    ("ignore:\n  - {kind: policy, name: ''}\n",
     "schemactl-ignore.yaml:2:5: error[E903]: `name` must not be empty"),
    ("ignore:\n  - {kind: policy, name: a}\n  - {kind: policy, name: a}\n",
     "schemactl-ignore.yaml:3:5: error[E904]: entry policy a is listed twice (first at line 2)"),
    ("ignore: [\n", "schemactl-ignore.yaml:2:1: error[E002]: YAML syntax error"),
])
def test_a_bad_file_is_an_error_at_its_line_and_column(text: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(text)), problems(text)


def test_every_problem_is_reported_at_once() -> None:
    found = problems("ignore:\n  - {kind: policy}\n  - {name: a}\n  - 7\n")
    assert [p.split(": error[")[0] for p in found] == [
        "schemactl-ignore.yaml:2:5", "schemactl-ignore.yaml:3:5", "schemactl-ignore.yaml:4:5"]


def test_entries_match_by_kind_and_name_or_glob_and_stale_ones_are_named() -> None:
    ignore = parse_ignore_list(GOOD + "  - {kind: polcy, name: public.gone}\n")
    reported = [Left("policy", "public.accounts.owner_only", ""),
                Left("function", "public.audit_log(integer)", "uses a table the YAML lacks"),
                Left("function", "public.audit_clear()", ""),
                Left("policy", "public.accounts.other", ""),
                Left("rule", "public.accounts.audit_x", "")]
    sorted_out = ignore.sort_out(reported)
    assert [str(x) for x in sorted_out.left_alone] == [
        "function public.audit_clear()",
        "function public.audit_log(integer) (uses a table the YAML lacks)",
        "policy public.accounts.owner_only (managed by the DBA)"]
    assert sorted_out.not_compared == (Left("policy", "public.accounts.other", ""),
                                       Left("rule", "public.accounts.audit_x", ""))
    assert sorted_out.stale_warnings() == [
        "schemactl-ignore.yaml:8:5: ignore list entry polcy public.gone matches nothing; "
        "did you mean kind 'policy'?"]


def test_without_a_list_everything_reported_is_not_compared() -> None:
    sorted_out = IgnoreList().sort_out([Left("policy", "public.t.p", "")])
    assert sorted_out.left_alone == () and len(sorted_out.not_compared) == 1
    assert sorted_out.stale_warnings() == []


# -- on real databases --------------------------------------------------------------------

# A table the YAML can express, with row-level security and a policy it cannot.
ACCOUNTS_SQL = """
CREATE TABLE accounts (id integer PRIMARY KEY, owner text NOT NULL);
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON accounts USING (owner = current_user);
"""
ACCOUNTS_YAML = """\
tables:
  accounts:
    columns:
      id: {type: integer, primary_key: true}
      owner: text
"""
BOTH_IGNORED = """\
ignore:
  - kind: policy
    name: public.accounts.owner_only
    reason: written by the DBA
  - kind: row level security
    name: public.accounts
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture
def accounts(db: psycopg.Connection, db_url: URL, server_url: URL, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[Project, str]:
    """A project whose YAML is the accounts table, and a database that has it with RLS."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SHADOW_DATABASE_URL", url_text(server_url))
    db.execute(ACCOUNTS_SQL)
    return make_project(tmp_path / "app", ACCOUNTS_YAML), url_text(db_url)


def test_plan_against_says_what_it_did_not_compare(accounts: tuple[Project, str]) -> None:
    project, target = accounts
    result = run("-C", str(project.root), "plan", "--against", target)
    assert result.exit_code == 0, result.output
    assert "Not compared (the YAML cannot express these):\n" \
           "  policy public.accounts.owner_only\n" \
           "  row level security public.accounts\n" in result.output
    assert "Left alone" not in result.output
    assert "No changes (2 objects not compared, listed above)." in result.output


def test_plan_against_lists_what_the_ignore_list_leaves_alone(
        accounts: tuple[Project, str]) -> None:
    project, target = accounts
    (project.root / FILE_NAME).write_text(BOTH_IGNORED + "  - {kind: rule, name: public.*}\n")
    result = run("-C", str(project.root), "plan", "--against", target)
    assert result.exit_code == 0, result.output
    assert "Left alone (schemactl-ignore.yaml):\n" \
           "  policy public.accounts.owner_only (written by the DBA)\n" \
           "  row level security public.accounts\n" in result.output
    assert "Not compared" not in result.output
    assert "No changes (2 objects left alone, listed above)." in result.output
    assert "warning: schemactl-ignore.yaml:7:5: ignore list entry rule public.* matches " \
           "nothing" in result.output

    as_json = run("-C", str(project.root), "plan", "--against", target, "--json")
    document = json.loads(as_json.stdout)
    assert document["left_alone"] == [
        {"kind": "policy", "name": "public.accounts.owner_only", "reason": "written by the DBA"},
        {"kind": "row level security", "name": "public.accounts", "reason": ""}]
    assert document["not_compared"] == [] and not document["changes"]
    assert any("rule public.* matches nothing" in w for w in document["warnings"])


def test_plan_against_with_a_bad_ignore_file_names_where(accounts: tuple[Project, str]) -> None:
    project, target = accounts
    (project.root / FILE_NAME).write_text("ignore:\n  - {kind: policy, names: x}\n")
    result = run("-C", str(project.root), "plan", "--against", target)
    assert result.exit_code == 1
    assert "schemactl-ignore.yaml:2:20: error[E902]: unknown key 'names' in an entry" \
        in result.output


def test_baseline_refuses_a_database_with_what_the_yaml_cannot_express(
        accounts: tuple[Project, str], db: psycopg.Connection) -> None:
    project, target = accounts
    (project.schema_dir / "app.yaml").unlink()  # baseline inspects the database first
    refused = run("-C", str(project.root), "baseline", "--database-url", target)
    assert refused.exit_code == 1
    assert "holds 2 objects the YAML cannot express; the baseline would leave them out of " \
           "the project:\n  policy public.accounts.owner_only\n" \
           "  row level security public.accounts\n" in refused.output
    assert "hint: if a person manages them, name each in schemactl-ignore.yaml" in refused.output
    assert not any(project.schema_dir.iterdir()) and not any(project.versions_dir.iterdir())
    assert db.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,)

    # Naming one of the two is not enough: the other would still vanish.
    (project.root / FILE_NAME).write_text(BOTH_IGNORED.split("  - kind: row")[0])
    refused = run("-C", str(project.root), "baseline", "--database-url", target)
    assert refused.exit_code == 1
    assert "holds 1 object the YAML cannot express; the baseline would leave it out of the " \
           "project:\n  row level security public.accounts\n" in refused.output
    assert "owner_only" not in refused.output

    (project.root / FILE_NAME).write_text(BOTH_IGNORED)
    adopted = run("-C", str(project.root), "baseline", "--database-url", target)
    assert adopted.exit_code == 0, adopted.output
    [revision] = project.versions_dir.glob("*.py")
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
        (revision.name.split("_")[0],)]
    assert "Left alone (schemactl-ignore.yaml): 2 objects of the database that the revision " \
           "does not hold:\n  policy public.accounts.owner_only (written by the DBA)\n" \
           "  row level security public.accounts\n" in adopted.output
    assert "owner_only" not in revision.read_text()  # the revision holds the table only
    assert db.execute("SELECT count(*) FROM pg_policy").fetchone() == (1,)  # untouched


AUDIT_SQL = """
CREATE FUNCTION audit_log(p_id integer) RETURNS integer LANGUAGE sql
    SET work_mem = '64MB' AS 'SELECT p_id';
"""


def test_status_does_not_report_what_the_ignore_list_names_as_drift(
        accounts: tuple[Project, str], db: psycopg.Connection) -> None:
    project, target = accounts
    db.execute(AUDIT_SQL)  # a function setting work_mem: the YAML cannot say that
    (project.root / FILE_NAME).write_text(
        BOTH_IGNORED + "  - {kind: function, name: public.audit_*, reason: by hand}\n")
    adopted = run("-C", str(project.root), "baseline", "--database-url", target)
    assert adopted.exit_code == 0, adopted.output
    assert "  function public.audit_log(integer) (by hand)\n" in adopted.output

    status = run("-C", str(project.root), "status", "--database-url", target)
    assert status.exit_code == 0, status.output
    assert "Drift: none\n" in status.output
    assert "Left alone: 3 objects that schemactl-ignore.yaml names (never drift):\n" \
           "  function public.audit_log(integer) (by hand)\n" \
           "  policy public.accounts.owner_only (written by the DBA)\n" \
           "  row level security public.accounts\n" in status.output
    as_json = json.loads(run("-C", str(project.root), "status", "--database-url", target,
                             "--json").stdout)
    assert as_json["drift"] == [] and len(as_json["left_alone"]) == 3

    # What the list does not name is still drift, also on a table it leaves RLS alone on.
    db.execute("ALTER TABLE accounts ADD COLUMN note text")
    status = run("-C", str(project.root), "status", "--database-url", target)
    assert status.exit_code == 3
    assert "table public.accounts: differs" in status.output and "+ note text" in status.output
    db.execute("ALTER TABLE accounts DROP COLUMN note")

    # Without the list, each is drift again; with a stale entry, status warns.
    (project.root / FILE_NAME).write_text("ignore:\n  - {kind: policy, name: public.gone}\n")
    status = run("-C", str(project.root), "status", "--database-url", target)
    assert status.exit_code == 3
    for drift in ("function public.audit_log(integer): only in the database",
                  "policy public.accounts owner_only: only in the database",
                  "row security public.accounts: only in the database"):
        assert drift in status.output
    assert "warning: schemactl-ignore.yaml:2:5: ignore list entry policy public.gone " \
           "matches nothing" in status.output


def test_the_documented_example_and_codes_are_the_real_ones() -> None:
    doc = (REPO / "docs" / "ignore-list.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert [str(e) for e in parse_ignore_list(example).entries] == [
        "policy public.accounts.owner_only", "row level security public.accounts",
        "function public.audit_*"]
    source = (REPO / "tool" / "schemactl" / "ignore.py").read_text(encoding="utf-8")
    for code in ("E902", "E903", "E904"):
        assert f"| {code} |" in doc and f'"{code}"' in source
    assert "[docs/ignore-list.md](docs/ignore-list.md)" in (REPO / "README.md").read_text()


def test_parts_of_a_table_left_alone_are_taken_out_of_its_drift() -> None:
    records = [Left("column of type positive", "public.items.qty"),
               Left("check constraint on an unsupported column", "public.items.qty_small"),
               Left("index on an unsupported column", "public.items.items_qty"),
               Left("force row level security", "public.items"),
               Left("function", "public.audit(integer, text)")]
    items = [
        DriftItem("table public.items", "changed", [
            "+ qty public.positive", "+ CONSTRAINT qty_small CHECK (((qty)::integer < 100))",
            "+ ALTER TABLE ONLY public.items FORCE ROW LEVEL SECURITY;", "+ note text"]),
        DriftItem("index public.items_qty", "extra", ["+ CREATE INDEX items_qty ..."]),
        DriftItem("function public.audit(integer, character varying)", "extra"),
        DriftItem("function public.audit(integer)", "extra"),  # another function
        DriftItem("table public.other", "changed", ["+ qty public.positive"]),
    ]
    kept, left = without_left_alone(items, records)
    assert kept == [DriftItem("table public.items", "changed", ["+ note text"]),
                    DriftItem("function public.audit(integer)", "extra"),
                    DriftItem("table public.other", "changed", ["+ qty public.positive"])]
    assert [item.object for item in left] == [
        "index public.items_qty", "function public.audit(integer, character varying)"]


DOMAIN_SQL = """
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE items (id integer PRIMARY KEY, qty positive,
                    CONSTRAINT qty_small CHECK (qty < 100));
CREATE INDEX items_qty ON items (qty);
"""
DOMAIN_IGNORED = """\
ignore:
  - {kind: domain, name: public.positive, reason: the DBA's}
  - {kind: "column of type positive", name: public.items.qty}
  - {kind: "* on an unsupported column", name: public.items.*}
"""


def test_a_column_left_alone_is_not_drift_but_the_rest_of_its_table_is(
        db: psycopg.Connection, db_url: URL, server_url: URL, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SHADOW_DATABASE_URL", url_text(server_url))
    db.execute(DOMAIN_SQL)
    project = make_project(tmp_path / "app")
    (project.root / FILE_NAME).write_text(DOMAIN_IGNORED)
    target = url_text(db_url)
    adopted = run("-C", str(project.root), "baseline", "--database-url", target)
    assert adopted.exit_code == 0, adopted.output
    assert "Left alone (schemactl-ignore.yaml): 4 objects" in adopted.output

    status = run("-C", str(project.root), "status", "--database-url", target)
    assert status.exit_code == 0, status.output
    assert "Drift: none\n" in status.output and "Left alone: 4 objects" in status.output

    db.execute("ALTER TABLE items ADD COLUMN note text")
    status = run("-C", str(project.root), "status", "--database-url", target)
    assert status.exit_code == 3
    assert "  table public.items: differs\n      + note text\n  (+ in the database" \
        in status.output
