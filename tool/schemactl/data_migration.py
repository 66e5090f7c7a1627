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
from schemactl.files import FileTransaction, check_writable
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
    # All or nothing, as `plan` writes (pipeline.write_revision): every target is checked
    # first, and on any failure (the offline SQL check included) the project is as it was.
    check_writable([project.versions_dir / "new.py", project.sql_dir / "new.sql",
                    project.sum_file])
    with FileTransaction() as files:
        files.track(project.sum_file)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # Alembic announces "Generating ..."
                made = script.generate_revision(rev_id, safe_message(message), head="head",
                                                refresh=True,
                                                version_path=str(project.versions_dir),
                                                **parts)  # type: ignore[arg-type]
        except BaseException:
            for partial in project.versions_dir.glob(f"{rev_id}_*.py"):
                partial.unlink()
            raise
        assert made is not None
        path = files.created(Path(made.path))
        files.track(project.sql_dir / f"{path.stem}.sql")
        text = path.read_text(encoding="utf-8")
        files.write_text(path, re.sub(r"^(depends_on = .*)$", rf"\1\n{KIND_LINE}", text,
                                      count=1, flags=re.M))
        checksums.record(project, [write_revision_sql(project, rev_id, settings)])
    return path
