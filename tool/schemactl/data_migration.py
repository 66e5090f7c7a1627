"""schemactl new: a hand-written revision (a data migration) that is still a reviewed revision.

Input: a project, a message, and the body: SQL statements (upgrade, and optionally downgrade)
or a Python template to fill in.
Output: migrations/versions/<id>_<slug>.py after the current head, its offline SQL (checked
statement by statement like every revision: a statement that loses data is refused, since a
data migration declares no hazards) and the re-recorded sum file. All or nothing.

SQL goes through op.run_sql, which runs it verbatim online and shows it in the offline script.
The file says `schemactl_kind = 'data'`, so that `schemactl rebase --replan` never throws it
away for a re-plan of the YAML.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from schemactl.apply import checksums, revisions
from schemactl.errors import SchemactlError
from schemactl.pipeline import next_revision_id, safe_message
from schemactl.project import Project
from schemactl.render.offline_sql import write_revision_sql
from schemactl.settings import Settings

KIND_LINE = "schemactl_kind = 'data'  # written by `schemactl new`: a hand-written revision"

_PYTHON_UPGRADE = """# A data migration in Python, run in the revision's transaction. Prefer
    # op.run_sql("UPDATE ...") for SQL: the offline script for the DBA shows it. Rows in
    # Python: conn = op.get_bind(); conn.execute(sa.text("SELECT ..."))
    # After editing: `schemactl hash --sql REV` re-renders the offline SQL and the sum.
    pass"""


def _sql_body(statements: list[str]) -> str:
    if not statements:
        return "pass"
    return "\n    ".join(f"op.run_sql({s.strip().rstrip(';').strip()!r})" for s in statements)


def new_revision(project: Project, message: str, upgrade_sql: list[str],
                 downgrade_sql: list[str], python: bool,
                 settings: Settings | None = None) -> Path:
    if python and (upgrade_sql or downgrade_sql):
        raise SchemactlError("--python writes a template to fill in; give either --python or "
                             "--sql, not both")
    if not python and not upgrade_sql:
        raise SchemactlError("nothing to write: give the upgrade's SQL with --sql (repeatable), "
                             "or --python for a Python template")
    script = revisions.script_directory(project)
    if len(script.get_heads()) > 1:
        raise revisions.two_heads(list(script.get_heads()))
    rev_id = next_revision_id(project)
    parts = {
        "upgrades": _PYTHON_UPGRADE if python else _sql_body(upgrade_sql),
        "downgrades": "pass" if python or not downgrade_sql else _sql_body(downgrade_sql),
        "hazards": "[]",
    }
    with contextlib.redirect_stdout(io.StringIO()):  # Alembic announces "Generating ..."
        made = script.generate_revision(rev_id, safe_message(message), head="head",
                                        refresh=True, version_path=str(project.versions_dir),
                                        **parts)  # type: ignore[arg-type]
    assert made is not None
    path = Path(made.path)
    try:
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"^(depends_on = .*)$", rf"\1\n{KIND_LINE}", text, count=1,
                               flags=re.M), encoding="utf-8")
        write_revision_sql(project, rev_id, settings)
    except BaseException:
        path.unlink(missing_ok=True)
        (project.sql_dir / f"{path.stem}.sql").unlink(missing_ok=True)
        raise
    checksums.record(project)
    return path
