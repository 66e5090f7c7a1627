"""Offline SQL for DBAs: one reviewed, checked script per revision or range of revisions.

Alembic's offline mode renders the SQL; we capture it one statement at a time (Alembic
writes each statement to the output buffer in a single write), check every statement with
sqlglot (render.sqlcheck), and lay it out for a person:

- a header per revision: revision, parent, message, hazards;
- SET lock_timeout / statement_timeout at the top;
- each revision in BEGIN; ... COMMIT; with the alembic_version update inside, so that
  `psql -v ON_ERROR_STOP=1 -f script.sql` leaves the database at the same revision as an
  online upgrade;
- statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY, ...) between
  transactions, with a comment saying why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.script import Script, ScriptDirectory

from schemactl.diff.ops import GROUP_BREAK
from schemactl.errors import SchemactlError
from schemactl.plan.locks import classify
from schemactl.project import Project
from schemactl.render.sqlcheck import CheckedStatement, EnumLabels, SqlCheckError, check_sql
from schemactl.settings import Settings, load_settings, pg_duration

BASE = "base"
_RUNNING = re.compile(r"^-- Running (upgrade|downgrade) (.*?) ->(.*)$")


@dataclass
class RevisionSql:
    """One revision's checked statements and what the header says about it."""

    revision: str
    parent: str | None
    message: str
    hazards: list[dict[str, str]]
    statements: list[CheckedStatement] = field(default_factory=list)
    # Where a transaction group ends: the index of the statement that starts the next one.
    breaks: set[int] = field(default_factory=set)


# --- public API -----------------------------------------------------------------------------


def offline_script(
    project: Project,
    start: str | None,
    end: str,
    downgrade: bool = False,
    settings: Settings | None = None,
) -> str:
    """The checked SQL script from start to end (start None or "base": from the beginning).

    Upgrade: start is the revision the database is at, end the one to reach (e.g. "head").
    Downgrade: start is the revision the database is at, end the one to go back to.
    """
    settings = settings or load_settings(project.root)
    _check_timeout("lock_timeout", settings.lock_timeout)
    _check_timeout("statement_timeout", settings.statement_timeout)
    revisions = revisions_sql(project, start, end, downgrade)
    return render_script(revisions, settings, downgrade, start or BASE, end)


def revision_sql(
    project: Project, revision_id: str, settings: Settings | None = None
) -> tuple[Path, str]:
    """Where a revision's offline SQL lives (same stem as the revision file), and its text."""
    script = _scripts(project).get_revision(revision_id)
    if script is None:
        raise SchemactlError(f"no revision {revision_id} in {project.versions_dir}")
    text = offline_script(project, _parent(script), script.revision, settings=settings)
    return project.sql_dir / (Path(script.path).stem + ".sql"), text


def write_revision_sql(
    project: Project, revision_id: str, settings: Settings | None = None
) -> Path:
    """Write migrations/sql/<rev>_<slug>.sql; return its path."""
    path, text = revision_sql(project, revision_id, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def revisions_sql(
    project: Project, start: str | None, end: str, downgrade: bool = False
) -> list[RevisionSql]:
    """Every revision in the range with its checked statements, in the order they run.

    Upgrades are checked from the base, so that what earlier revisions created (enum labels
    in particular) is known when a later one drops it; only the range is returned.
    """
    scripts = _scripts(project)
    if downgrade:
        groups = _statement_groups(project, f"{start or 'head'}:{end}", downgrade=True)
        return _check_groups(scripts, groups, cross_check=False)
    groups = _statement_groups(project, end, downgrade=False)
    checked = _check_groups(scripts, groups, cross_check=True)
    already = _applied(scripts, start)
    if start not in (None, BASE) and not _on_the_way(scripts, start, checked):
        raise SchemactlError(f"revision {start} is not on the way from base to {end}",
                             hint="to go back to an older revision, use --downgrade")
    return [r for r in checked if r.revision not in already]


# --- running Alembic offline ----------------------------------------------------------------


class _Capture:
    """An output buffer that keeps each of Alembic's writes (one statement each) apart."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def _statement_groups(
    project: Project, range_: str, downgrade: bool
) -> list[tuple[str, list[str]]]:
    """(revision, its statements) in running order; Alembic's own BEGIN/COMMIT dropped."""
    capture = _Capture()
    config = project.alembic_config()
    config.output_buffer = capture  # type: ignore[assignment]
    run = command.downgrade if downgrade else command.upgrade
    try:
        run(config, range_, sql=True)
    except SchemactlError:
        raise
    except Exception as exc:  # Alembic's errors: unknown revision, bad range, ...
        raise SchemactlError(f"cannot render offline SQL for {range_}: {exc}") from exc
    return _group(capture.writes)


def _group(writes: Sequence[str]) -> list[tuple[str, list[str]]]:
    groups: list[tuple[str, list[str]]] = []
    pending: list[str] = []  # statements before the first revision (CREATE TABLE alembic_version)
    for write in writes:
        text = write.strip()
        marker = _RUNNING.match(text)
        if marker:
            direction, old, new = marker.groups()
            groups.append((new.strip() if direction == "upgrade" else old.strip(), pending))
            pending = []
        elif text == GROUP_BREAK and groups:
            groups[-1][1].append(GROUP_BREAK)
        elif text in ("BEGIN;", "COMMIT;") or _only_comments(text):
            continue  # we lay out the transactions ourselves; comments carry no SQL
        elif groups:
            groups[-1][1].append(text)
        else:
            pending.append(text)
    return groups


def _breaks(written: Sequence[str]) -> set[int]:
    """Indexes (among the statements) of the first statement of each group but the first."""
    breaks, index = set(), 0
    for item in written:
        if item == GROUP_BREAK:
            breaks.add(index)
        else:
            index += 1
    return breaks


def _only_comments(text: str) -> bool:
    return all(line.strip().startswith("--") or not line.strip() for line in text.splitlines())


def _check_groups(
    scripts: ScriptDirectory, groups: Sequence[tuple[str, list[str]]], cross_check: bool
) -> list[RevisionSql]:
    """Check every revision's statements; raise one error listing every problem found."""
    enums = EnumLabels()
    result: list[RevisionSql] = []
    problems: list[str] = []
    for revision, written in groups:
        info = _revision_info(scripts, revision)
        statements = [s for s in written if s != GROUP_BREAK]
        info.breaks = _breaks(written)
        try:
            info.statements = check_sql(
                statements, revision, info.hazards if cross_check else None, enums
            )
        except SqlCheckError as exc:
            problems += exc.problems
        result.append(info)
    if problems:
        raise SqlCheckError(problems)
    return result


def _scripts(project: Project) -> ScriptDirectory:
    return project.scripts()


def _parent(script: Script) -> str | None:
    down = script.down_revision
    if isinstance(down, (tuple, list)):
        return ", ".join(down)
    return down


def _revision_info(scripts: ScriptDirectory, revision: str) -> RevisionSql:
    script = scripts.get_revision(revision)
    if script is None:  # a merge of several heads is named "a, b" and has no single script
        return RevisionSql(revision, None, "", [])
    hazards = list(getattr(script.module, "schemactl_hazards", []))
    return RevisionSql(revision, _parent(script), script.doc or "", hazards)


def _applied(scripts: ScriptDirectory, start: str | None) -> set[str]:
    """Revisions at or below start (already in the database)."""
    if start in (None, BASE):
        return set()
    try:
        return {s.revision for s in scripts.iterate_revisions(start, BASE)}
    except Exception as exc:
        raise SchemactlError(f"unknown revision {start!r}: {exc}") from exc


def _on_the_way(scripts: ScriptDirectory, start: str, chain: Sequence[RevisionSql]) -> bool:
    script = scripts.get_revision(start)
    return script is not None and script.revision in {r.revision for r in chain}


def _check_timeout(name: str, value: str) -> None:
    """Settings validates durations; this guards what reaches the script's SET lines."""
    try:
        pg_duration(value)
    except ValueError as exc:
        raise SchemactlError(f"{name}: {exc}") from None


# --- layout -------------------------------------------------------------------------------


def render_script(
    revisions: Sequence[RevisionSql], settings: Settings, downgrade: bool, start: str, end: str
) -> str:
    direction = "downgrade" if downgrade else "upgrade"
    opaque = sum(s.opaque for r in revisions for s in r.statements)
    lines = [
        _comment(f"schemactl offline SQL: {direction} {start} -> {end}"),
        "-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>",
        "-- Every statement was checked with sqlglot (PostgreSQL dialect).",
        f"-- Statements sqlglot could only check as opaque commands: {opaque} (marked below).",
        "",
        f"SET lock_timeout = '{settings.lock_timeout.strip()}';",
        f"SET statement_timeout = '{settings.statement_timeout.strip()}';",
        "-- String literals below are standard SQL: a backslash is an ordinary character.",
        "SET standard_conforming_strings = on;",
        "",
    ]
    if not revisions:
        lines += ["-- Nothing to do: no revisions in this range.", ""]
    for revision in revisions:
        lines += _render_revision(revision, downgrade)
    return "\n".join(lines).rstrip() + "\n"


def _render_revision(revision: RevisionSql, downgrade: bool) -> list[str]:
    """The revision's statements in its transaction groups: one BEGIN ... COMMIT each, and
    the statements that cannot run in a transaction between them, each a group of its own.
    A revision of several groups says which group each is, so that a DBA whose run stopped
    knows where to start again (apply does the same by itself)."""
    lines = _header(revision, downgrade)
    groups = _groups(revision)
    for number, group in enumerate(groups, 1):
        label = f"-- Transaction group {number} of {len(groups)}" if len(groups) > 1 else ""
        first = group[0]
        if len(group) == 1 and _outside(first, revision):
            lines += [f"{label}: outside a transaction"] if label else []
            lines += [f"-- Outside a transaction: {first.outside_transaction}.",
                      "-- If the script stops after this point, this revision is partly applied."]
            kind = classify(first.sql)
            if kind is not None and kind.key == "create index concurrently":
                lines += _invalid_index_note(first.sql)
            lines += _statement_notes(first) + [first.sql + ";", ""]
            continue
        lines += [label] if label else []
        lines += ["BEGIN;", ""]
        for statement in group:
            lines += _statement_notes(statement) + [statement.sql + ";", ""]
        lines += ["COMMIT;", ""]
    return lines


_INDEX_NAME = re.compile(
    r'^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(IF\s+NOT\s+EXISTS\s+)?'
    r'((?:"(?:[^"]|"")+"|[^\s."(]+))\s+ON\s+(?:ONLY\s+)?(?:((?:"(?:[^"]|"")+"|[^\s."(]+))\.)?',
    re.IGNORECASE)


def _invalid_index_note(sql: str) -> list[str]:
    """What a DBA does when the build fails: drop the INVALID index it leaves (a unique one
    goes on refusing duplicates on writes), which IF NOT EXISTS would otherwise skip."""
    match = _INDEX_NAME.match(sql)
    if match is None:
        return ["-- If it fails, it leaves an INVALID index: drop it "
                "(DROP INDEX CONCURRENTLY) before running it again."]
    guarded, index, schema = match.groups()
    name = f"{schema}.{index}" if schema else index
    return [f"-- If it fails, it leaves an INVALID index: drop it at once "
            f"(DROP INDEX CONCURRENTLY IF EXISTS {name};)"
            + (", or running it again skips it as existing." if guarded
               else " before running it again.")]


def _outside(statement: CheckedStatement, revision: RevisionSql) -> bool:
    """Whether the statement runs outside a transaction. In a revision schemactl cut into
    groups (it has breaks), the groups are apply's own, and ALTER TYPE ... ADD VALUE runs in
    its group's transaction as apply runs it (PostgreSQL 12 and later allow it); a
    hand-written revision's autocommit blocks leave no breaks, so the statement decides."""
    if not statement.outside_transaction:
        return False
    return not (revision.breaks and statement.sql.upper().startswith("ALTER TYPE"))


def _groups(revision: RevisionSql) -> list[list[CheckedStatement]]:
    """The statements by transaction group: cut at the breaks apply counts, and around
    each statement that runs outside a transaction."""
    groups: list[list[CheckedStatement]] = []
    for index, statement in enumerate(revision.statements):
        if (not groups or index in revision.breaks or _outside(statement, revision)
                or _outside(groups[-1][0], revision)):
            groups.append([])
        groups[-1].append(statement)
    return groups


def _header(revision: RevisionSql, downgrade: bool) -> list[str]:
    verb = "Downgrade: undo revision" if downgrade else "Revision"
    lines = [
        "-- " + "=" * 76,
        _comment(f"{verb} {revision.revision}: {revision.message}"),
        _comment(f"Parent: {revision.parent or '(none: first revision)'}"),
    ]
    if revision.hazards:
        lines.append("-- Hazards (of the upgrade):")
        lines += [_comment(f"  {_hazard_line(h)}") for h in revision.hazards]
    else:
        lines.append("-- Hazards: none")
    drops = [str(d) for s in revision.statements for d in s.drops]
    if downgrade and drops:
        lines.append(_comment(f"This downgrade drops: {', '.join(drops)}"))
    lines += ["-- " + "=" * 76, ""]
    return lines


def _hazard_line(hazard: dict[str, str]) -> str:
    return (
        f"{hazard.get('code', '?')} ({hazard.get('kind', '?')}) "
        f"{hazard.get('object', '')}: {hazard.get('message', '')}"
    )


def _statement_notes(statement: CheckedStatement) -> list[str]:
    notes = []
    if statement.drops:
        notes.append(_comment("Drops " + ", ".join(str(d) for d in statement.drops)))
    if statement.opaque:
        notes.append("-- Checked as opaque command: sqlglot could not read its structure.")
    notes += [_comment(note) for note in statement.notes if "opaque" not in note]
    return notes


def _comment(text: str) -> str:
    """A one-line SQL comment; line breaks and control characters in text cannot end it."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return f"-- {flat}".rstrip()
