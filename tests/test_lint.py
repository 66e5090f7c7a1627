"""`schemactl lint`: the plan's analyzers over the SQL of any revision, hand-edited or
hand-written ones too; findings with code, revision and line; `check` runs it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.plan.lint import lint, split_statements

from .helpers import make_project, set_schema
from .test_json_output import checked_document

SCRIPT = """\
SET lock_timeout = '5s';
BEGIN;
CREATE TABLE fresh (id int PRIMARY KEY, note text);
CREATE INDEX fresh_note_idx ON fresh (note);
COMMENT ON TABLE fresh IS 'a; b -- not a comment';
CREATE INDEX users_email_idx ON users (email);
ALTER TABLE users
    ALTER COLUMN email SET NOT NULL;
-- schemactl: ack LK105
ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age > 0);
ALTER TABLE posts ADD CONSTRAINT posts_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
COMMIT;
ALTER TABLE posts VALIDATE CONSTRAINT posts_user_fkey;
CREATE INDEX CONCURRENTLY posts_title_idx ON posts (title);
DROP TABLE legacy;
ALTER TABLE posts ALTER COLUMN id TYPE bigint USING id::bigint;
"""


def test_statements_keep_their_lines_and_strings() -> None:
    statements = split_statements(SCRIPT)
    assert [s.line for s in statements][:8] == [1, 2, 3, 4, 5, 6, 7, 10]
    assert statements[4].sql == "COMMENT ON TABLE fresh IS 'a; b -- not a comment'"
    assert statements[7].acks == frozenset({"LK105"})


def test_findings_name_code_and_line_and_follow_the_lock_model() -> None:
    findings = lint("0007", SCRIPT, recorded=[{"code": "DS101"}])
    got = [(f.line, f.hazard.code, f.acknowledged) for f in findings]
    assert got == [
        (6, "LK102", False),  # blocking index build on an existing table
        (7, "MF101", False),  # a row holding NULL makes it fail
        (7, "LK105", False),  # SET NOT NULL scans under ACCESS EXCLUSIVE
        (10, "MF103", False),  # existing rows may violate the check
        (10, "LK105", True),  # acknowledged by the comment above it
        (13, "MF104", False),  # VALIDATE is where a NOT VALID foreign key may fail
        (15, "DS101", True),  # recorded by the revision
        (16, "LK101", False),  # integer -> bigint rewrites
    ]
    # The new table's index, NOT VALID (no scan) and CONCURRENTLY need nothing; lint cannot
    # see the old type of line 16, so it says nothing of its cast (plan does).
    assert str(findings[0]).startswith("0007:6: LK102 (long lock) table users")
    assert "CONCURRENTLY" in findings[0].hazard.message


BEFORE = """
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      email: varchar(120)
"""


def _run(root: Path, server_url: URL, *args: str) -> Result:
    url = server_url.render_as_string(hide_password=False)
    return CliRunner().invoke(main, ["-C", str(root), *args], env={"SHADOW_DATABASE_URL": url})


def test_lint_and_check_on_planned_edited_and_hand_written_revisions(
        tmp_path: Path, server_url: URL) -> None:
    project = make_project(tmp_path, BEFORE)
    assert _run(project.root, server_url, "plan", "-m", "users").exit_code == 0
    set_schema(project, BEFORE + "    indexes:\n      - columns: [email]\n")
    # --atomic: the blocking form (CREATE INDEX in the revision's one transaction).
    assert _run(project.root, server_url, "plan", "--atomic", "-m", "email index").exit_code == 0
    # Planned revisions record their hazards: reviewed, acknowledged.
    clean = _run(project.root, server_url, "lint")
    assert clean.exit_code == 0, clean.output
    assert "0 unacknowledged findings, 1 acknowledged." in clean.output
    assert _run(project.root, server_url, "check").exit_code == 0

    # A DBA edits the offline SQL: the new statement is linted with its line.
    sql = next((project.root / "migrations" / "sql").glob("*_email_index.sql"))
    second = sql.name.split("_")[0]
    text = sql.read_text()
    line = text[:text.index("CREATE INDEX")].count("\n") + 1
    sql.write_text(text.replace("CREATE INDEX", "ALTER TABLE users ALTER COLUMN email TYPE "
                                "text;\nALTER TABLE users ALTER COLUMN id TYPE integer;\n"
                                "CREATE INDEX", 1))
    edited = _run(project.root, server_url, "lint", second)
    assert edited.exit_code == 4, edited.output
    assert f"{second}:{line + 1}: LK101 (table rewrite) table users" in edited.output
    as_json = _run(project.root, server_url, "lint", second, "--json")
    document = checked_document(as_json.stdout, as_json.exit_code, "lint")
    assert document["unacknowledged"] == 1 and not document["ok"]
    assert {(f["line"], f["hazard"]["code"], f["acknowledged"]) for f in document["findings"]
            if not f["acknowledged"]} == {(line + 1, "LK101", False)}
    assert "ALTER COLUMN email" not in edited.output and f"{second}:{line}:" not in edited.output
    sql.write_text(text)

    # A hand-written revision (no .sql file): rendered, then linted; check fails on it.
    (project.versions_dir / "99990101000000_by_hand.py").write_text(textwrap.dedent(f'''\
        """by hand"""
        from alembic import op

        revision = "99990101000000"
        down_revision = "{second}"
        branch_labels = None
        depends_on = None


        def upgrade():
            op.create_unique_constraint("users_email_key", "users", ["email"])


        def downgrade():
            op.drop_constraint("users_email_key", "users")
        '''))
    assert _run(project.root, server_url, "hash").exit_code == 0
    by_hand = _run(project.root, server_url, "lint")
    assert by_hand.exit_code == 4, by_hand.output
    assert "99990101000000:" in by_hand.output and "LK104" in by_hand.output
    assert "UNIQUE INDEX CONCURRENTLY" in by_hand.output
    set_schema(project, BEFORE.replace("email: varchar(120)", "email: {type: varchar(120), "
                                       "unique: true}") + "    indexes:\n      - columns: [email]\n")
    checked = _run(project.root, server_url, "check")
    assert checked.exit_code == 3, checked.output
    assert "lint: 99990101000000:" in checked.output and "schemactl: ack LK104" in checked.output


def test_lint_of_an_unknown_revision_is_an_error(tmp_path: Path, server_url: URL) -> None:
    project = make_project(tmp_path, BEFORE)
    assert _run(project.root, server_url, "plan", "-m", "users").exit_code == 0
    result = _run(project.root, server_url, "lint", "0099")
    assert result.exit_code == 1, result.output
    assert "no revision 0099" in result.output and "Traceback" not in result.output


def test_every_hazard_code_is_documented_with_an_example() -> None:
    from schemactl.plan.hazards import CODES

    text = (Path(__file__).parent.parent / "docs" / "hazards.md").read_text()
    documented = re.findall(r"^### ([A-Z]{2}\d{3}) ", text, flags=re.M)
    assert documented == list(CODES)
    for section in text.split("\n### ")[1:]:
        assert "```yaml" in section and f"! {section[:5]}" in section, section[:40]
