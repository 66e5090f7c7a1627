"""Upgrade or downgrade a database, one revision per transaction, under the migration lock.

The order of a run:
  1. the migration files must match migrations/schemactl.sum (nothing unreviewed runs);
  2. one session (session.py) takes the advisory lock (lock.py), waiting at most lock_wait;
  3. under the lock, read where the database is: a second run that waited finds nothing left;
  4. files of revisions already applied must not have changed since (schemactl_history);
  5. hooks.confirm sees the revisions about to run and may refuse (the CLI asks the user);
  6. each revision: BEGIN; Alembic runs it; the history row is written; COMMIT. A failing
     statement rolls the whole revision back; a lock timeout (55P03) is retried with backoff.

A target is a database (its public schema), or a tenant's schema in one (schema=NAME): then
the session's search_path is that schema alone, the version table and the history live in it,
the lock is that schema's, and the schema is created when missing (a new tenant).

Nothing here prints: progress goes to the hooks, the outcome is an ApplyResult.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy.exc
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

from schemactl.alembic_env import SCHEMA_ATTRIBUTE, VERSION_TABLE
from schemactl.apply import checksums, history, revisions
from schemactl.apply.lock import LockHolder, key_for, migration_lock
from schemactl.apply.revisions import Revision
from schemactl.apply.session import migration_session
from schemactl.db.errors import pg_message
from schemactl.diff.ops import NOTE_OPTION, PROGRESS_OPTION, RESUME_OPTION
from schemactl.errors import SchemactlError
from schemactl.project import Project
from schemactl.settings import Settings
from schemactl.sqltext import quote_ident

Direction = Literal["up", "down"]
LOCK_NOT_AVAILABLE = "55P03"
BACKOFF_SECONDS = 0.5  # doubled after every lock timeout
DEFAULT_LOCK_WAIT = 300.0


class MigrationFailed(SchemactlError):
    """A revision failed and was rolled back; the database stays at the revision before it."""


class FilesChanged(SchemactlError):
    """Migration files differ from what was reviewed (sum file) or applied (history)."""


@dataclass(frozen=True)
class StepResult:
    revision: Revision
    direction: Direction
    duration_ms: int
    attempts: int


@dataclass
class ApplyResult:
    direction: Direction
    before: str | None  # the database's revision before the run (None = empty)
    after: str | None
    steps: list[StepResult] = field(default_factory=list)


def _ignore(*args: object) -> None:
    return None


@dataclass
class Hooks:
    """How a run talks to its caller. confirm may raise to refuse the run."""

    confirm: Callable[[Direction, list[Revision]], None] = _ignore
    on_lock_wait: Callable[[LockHolder | None], None] = _ignore
    on_start: Callable[[Revision, int, int], None] = _ignore  # revision, index (1-based), total
    on_retry: Callable[[Revision, int, float], None] = _ignore  # revision, attempt, sleep seconds
    on_done: Callable[[StepResult], None] = _ignore
    # Something the run did by itself, or skipped: PostgreSQL's "... already exists,
    # skipping" of a statement an earlier run had completed, an INVALID index dropped.
    on_note: Callable[[Revision, str], None] = _ignore


def current_revision(conn: Connection, schema: str | None = None) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE,
                                                     "version_table_schema": schema})
    try:
        current = context.get_current_revision()
    except Exception as exc:  # several rows in alembic_version: a branched database
        raise SchemactlError(f"cannot read the database's revision: {exc}") from None
    finally:
        conn.commit()
    return current


def verify_files(project: Project) -> None:
    problems = checksums.verify(project)
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        raise FilesChanged(
            f"migration files do not match {project.sum_file.name}:\n{listed}",
            hint="review the change; if it is deliberate, run `schemactl hash` to re-record",
        )


def edited_after_apply(project: Project, conn: Connection, current: str | None,
                       schema: str | None = None) -> list[str]:
    """Files of applied revisions whose content differs from when they were applied."""
    recorded = history.applied_checksums(conn, schema)
    edited = []
    for rev in revisions.chain_to(project, current):
        applied = recorded.get(rev.id)
        if applied is not None and applied != checksums.file_checksum(rev.path):
            edited.append(f"migrations/versions/{rev.path.name}")
    return edited


def _refuse_edited(project: Project, conn: Connection, current: str | None,
                   schema: str | None) -> None:
    edited = edited_after_apply(project, conn, current, schema)
    if edited:
        raise FilesChanged(
            "revision files changed after they were applied to this database: "
            + ", ".join(edited),
            hint="restore them as they were applied (git checkout); to change the schema, "
                 "edit the YAML and run `schemactl plan` for a new revision",
        )


def upgrade(project: Project, settings: Settings, url: URL, to: str = "head",
            hooks: Hooks | None = None, lock_wait: float = DEFAULT_LOCK_WAIT,
            verify: bool = True, schema: str | None = None,
            rebased: bool = False) -> ApplyResult:
    """Bring the database at url (or its tenant schema) up to revision `to` (default: head).

    verify=False only for throwaway shadows, whose callers report file problems themselves.
    rebased=True: a database at a revision `schemactl rebase` moved first undoes it (and the
    moved revisions below it) with the moved files' downgrade(), then goes up as usual."""
    project.alembic_config()  # a broken revision file is named before anything else
    if verify:
        verify_files(project)
    return _run(project, settings, url, "up", to, hooks or Hooks(), lock_wait, schema, rebased)


def downgrade(project: Project, settings: Settings, url: URL, to: str,
              hooks: Hooks | None = None, lock_wait: float = DEFAULT_LOCK_WAIT,
              schema: str | None = None) -> ApplyResult:
    """Take the database at url (or its tenant schema) down to revision `to` ("base" undoes
    everything)."""
    project.alembic_config()
    verify_files(project)
    return _run(project, settings, url, "down", to, hooks or Hooks(), lock_wait, schema)


def _run(project: Project, settings: Settings, url: URL, direction: Direction, to: str,
         hooks: Hooks, lock_wait: float, schema: str | None = None,
         rebased: bool = False) -> ApplyResult:
    with migration_session(url, settings, schema) as conn, \
            migration_lock(conn, lock_wait, hooks.on_lock_wait, key_for(schema)):
        before = current_revision(conn, schema)
        if rebased and before is not None and not revisions.is_known(project, before):
            _prepare(conn, schema)
            before = _undo_moved(project, conn, before, hooks, schema)
        # The path first: an unknown revision is refused before anything is created.
        if direction == "up":
            path = revisions.upgrade_path(project, before, to)
        else:
            path = revisions.downgrade_path(project, before, to)
        _prepare(conn, schema)
        _refuse_edited(project, conn, before, schema)
        hooks.confirm(direction, path)
        result = ApplyResult(direction, before, before)
        for index, rev in enumerate(path, start=1):
            hooks.on_start(rev, index, len(path))
            step = _run_step(project, settings, conn, rev, direction, result.after, hooks,
                             schema)
            result.steps.append(step)
            result.after = rev.id if direction == "up" else rev.down_id
            hooks.on_done(step)
        return result


def _prepare(conn: Connection, schema: str | None) -> None:
    """The tenant's schema and the history table, made when missing (both idempotent)."""
    if schema is not None:
        _create_schema(conn, schema)
    history.ensure(conn, schema)


def _create_schema(conn: Connection, schema: str) -> None:
    """A new tenant: its schema is created by the first run of the history into it."""
    conn.execute(text("SET LOCAL client_min_messages = warning"))  # no "already exists" notice
    conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}"))
    conn.commit()


def _undo_moved(project: Project, conn: Connection, old_id: str, hooks: Hooks,
                schema: str | None = None) -> str | None:
    """Undo the moved revisions this database applied under their old ids (newest first),
    each in one transaction: the version row is pointed at the moved file, its downgrade()
    runs, and the row is set to the parent the revision had before the move."""
    chain = revisions.moved_chain(project, old_id)
    if not chain:
        raise revisions.unknown_revision(project, old_id)
    hooks.confirm("down", [moved.revision for moved in chain])
    config = project.alembic_config()
    config.attributes["connection"] = conn
    config.attributes[SCHEMA_ATTRIBUTE] = schema
    for moved in chain:
        started = time.monotonic()
        with conn.begin():
            _set_version(conn, moved.revision.id, schema)
            _alembic(config, moved.revision, "down")
            _set_version(conn, moved.old_parent, schema)
            history.insert(conn, moved.old_id, checksums.file_checksum(moved.revision.path),
                           "down", round((time.monotonic() - started) * 1000), schema)
    return chain[-1].old_parent


def _set_version(conn: Connection, revision: str | None, schema: str | None = None) -> None:
    # Alembic's own table, made as Alembic makes it when a database has none yet.
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE,
                                                     "version_table_schema": schema})
    context._ensure_version_table()
    table = f"{quote_ident(schema)}.{VERSION_TABLE}" if schema else VERSION_TABLE
    conn.execute(text(f"DELETE FROM {table}"))
    if revision is not None:
        conn.execute(text(f"INSERT INTO {table} (version_num) VALUES (:v)"), {"v": revision})


def _run_step(project: Project, settings: Settings, conn: Connection, rev: Revision,
              direction: Direction, at: str | None, hooks: Hooks,
              schema: str | None = None) -> StepResult:
    attempt = 1
    started = time.monotonic()
    while True:
        try:
            with _notes_shown(conn, rev, hooks):
                return _run_once(project, conn, rev, direction, attempt, schema,
                                 lambda message: hooks.on_note(rev, message))
        except sqlalchemy.exc.DBAPIError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            # A revision in transaction groups is retried too: the next run resumes after its
            # last completed group (a concurrent index build that waited too long for old
            # transactions fails this way; the INVALID index it leaves is dropped at once).
            retry = (rev.transactional or rev.resumable) and attempt <= settings.lock_retries
            if sqlstate == LOCK_NOT_AVAILABLE and retry:
                if conn.in_transaction():
                    conn.rollback()
                pause = BACKOFF_SECONDS * 2 ** (attempt - 1)
                hooks.on_retry(rev, attempt, pause)
                time.sleep(pause)
                attempt += 1
                continue
            failure = _failure(conn, rev, direction, at, exc, attempt, settings, schema)
            _record_failure(conn, rev, direction, started, pg_message(exc), schema)
            raise failure from None
        except SchemactlError:
            raise
        except Exception as exc:  # a bug in the revision file itself (NameError, ...)
            _record_failure(conn, rev, direction, started, f"{type(exc).__name__}: {exc}",
                            schema)
            raise MigrationFailed(
                f"revision {rev.name} failed and was rolled back; the database stays at "
                f"revision {at or 'base (empty)'}.\n  error: {type(exc).__name__}: {exc}"
            ) from exc


def _record_failure(conn: Connection, rev: Revision, direction: Direction, started: float,
                    error: str, schema: str | None) -> None:
    """Best effort: a connection the failure broke cannot record it, and must not hide it."""
    try:
        if conn.in_transaction():
            conn.rollback()
        history.insert_failure(conn, rev.id, checksums.file_checksum(rev.path), direction,
                               round((time.monotonic() - started) * 1000), error, schema)
    except (sqlalchemy.exc.SQLAlchemyError, OSError):
        pass


@contextmanager
def _notes_shown(conn: Connection, rev: Revision, hooks: Hooks) -> Iterator[None]:
    """PostgreSQL's notices that a statement of the revision did nothing ("relation ...
    already exists, skipping": the IF NOT EXISTS of a concurrent index build that an
    earlier run completed but could not record) reach the user: nothing is skipped
    silently."""
    def forward(diagnostic: Any) -> None:
        message = diagnostic.message_primary or ""
        if message.endswith("skipping"):
            hooks.on_note(rev, f"PostgreSQL: {message}")

    driver = conn.connection.driver_connection
    assert driver is not None
    driver.add_notice_handler(forward)
    try:
        yield
    finally:
        driver.remove_notice_handler(forward)


def _run_once(project: Project, conn: Connection, rev: Revision, direction: Direction,
              attempt: int, schema: str | None = None,
              note: Callable[[str], None] = _ignore) -> StepResult:
    config = project.alembic_config()
    config.attributes["connection"] = conn
    config.attributes[SCHEMA_ATTRIBUTE] = schema
    config.attributes[NOTE_OPTION] = note
    started = time.monotonic()
    if not rev.transactional:
        # The revision commits part way itself, so Alembic must own the transactions
        # (autocommit_block needs that); each completed group is recorded as it commits, a
        # run after a failure resumes after the last one, and the revision's own history
        # row follows in a transaction of its own.
        _resume_where_it_stopped(conn, rev, direction, config, started, schema)
        _alembic(config, rev, direction)
        with conn.begin():
            duration_ms = _record(conn, rev, direction, started, schema)
        return StepResult(rev, direction, duration_ms, attempt)
    # An explicit transaction: Alembic sees it as external and runs inside it, so the
    # revision, its alembic_version update and its history row commit or vanish together.
    with conn.begin():
        _alembic(config, rev, direction)
        duration_ms = _record(conn, rev, direction, started, schema)
    return StepResult(rev, direction, duration_ms, attempt)


def _resume_where_it_stopped(conn: Connection, rev: Revision, direction: Direction,
                             config: Any, started: float, schema: str | None) -> None:
    checksum = checksums.file_checksum(rev.path)
    with conn.begin():
        done, then = history.completed_groups(conn, rev.id, direction, schema)
    if done and then != checksum:
        raise SchemactlError(
            f"revision {rev.name} stopped part way in an earlier run ({done} transaction "
            "group(s) completed), and its file has changed since: schemactl cannot tell "
            "which of the new file's steps are already done",
            hint="restore the file as it was (version control), run apply to finish it, "
                 "then plan the further change as a new revision")

    def group_done(connection: Connection, number: int) -> None:
        history.insert(connection, rev.id, checksum, direction,
                       round((time.monotonic() - started) * 1000), schema, group_no=number)

    config.attributes[PROGRESS_OPTION] = group_done
    config.attributes[RESUME_OPTION] = done


def _alembic(config: Any, rev: Revision, direction: Direction) -> None:
    if direction == "up":
        command.upgrade(config, rev.id)
    else:
        command.downgrade(config, rev.down_id or "base")


def _record(conn: Connection, rev: Revision, direction: Direction, started: float,
            schema: str | None = None) -> int:
    duration_ms = round((time.monotonic() - started) * 1000)
    history.insert(conn, rev.id, checksums.file_checksum(rev.path), direction, duration_ms,
                   schema)
    return duration_ms


def _failure(conn: Connection, rev: Revision, direction: Direction, at: str | None,
             exc: sqlalchemy.exc.DBAPIError, attempts: int, settings: Settings,
             schema: str | None = None) -> MigrationFailed:
    verb = "upgrade" if direction == "up" else "downgrade"
    lines = [
        f"{verb} of revision {rev.name} failed and was rolled back; the database stays at "
        f"revision {at or 'base (empty)'}." if rev.transactional else
        f"{verb} of revision {rev.name} failed; the database stays at revision "
        f"{at or 'base (empty)'}. This revision runs in transaction groups: "
        f"{_groups_done(conn, rev, direction, schema)} completed and stay; the failing group was "
        "rolled back (a CREATE INDEX CONCURRENTLY that fails leaves an INVALID index, which "
        "apply drops at once, or when it could not, on the next run).",
        f"  statement: {_shorten(str(exc.statement or ''))}",
        f"  PostgreSQL: {pg_message(exc)}",
    ]
    if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        lines.insert(1, f"  could not get a lock within lock_timeout={settings.lock_timeout} "
                        f"in {attempts} tries")
        lines.extend(f"  blocked by: {held}" for held in _locks_held_by_others(conn))
    hint = "fix the cause and run again" + (
        "; nothing of this revision remains" if rev.transactional else
        ": apply resumes after the last completed group")
    return MigrationFailed("\n".join(lines), hint=hint)


def _groups_done(conn: Connection, rev: Revision, direction: Direction,
                 schema: str | None) -> str:
    try:
        if conn.in_transaction():
            conn.rollback()
        with conn.begin():
            done, _ = history.completed_groups(conn, rev.id, direction, schema)
    except sqlalchemy.exc.SQLAlchemyError:
        return "the groups before the failing one"
    return "no group" if not done else f"{done} group" + ("s" if done > 1 else "")


def _shorten(statement: str, limit: int = 600) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= limit else flat[:limit] + " ..."


def _locks_held_by_others(conn: Connection) -> list[str]:
    """Relation locks other sessions hold in this database: who kept us waiting."""
    try:
        rows = conn.execute(text(
            "SELECT l.relation::regclass::text, l.mode, l.pid, "
            "       coalesce(nullif(a.application_name, ''), a.usename, '?') "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid() "
            "  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "  AND l.relation >= 16384 "  # user objects, not the catalogs
            "ORDER BY l.mode = 'AccessExclusiveLock' DESC, 1 LIMIT 5"
        )).all()
        conn.commit()
    except sqlalchemy.exc.DBAPIError:
        conn.rollback()
        return []
    return [f"{r[1]} on {r[0]} held by pid {r[2]} ({r[3]})" for r in rows]


def preview(project: Project, settings: Settings, url: URL, direction: Direction,
            to: str) -> ApplyResult:
    """What a run would do (--dry-run): the revisions it would run, read without the lock and
    without writing anything; the steps have duration 0 and 0 attempts."""
    verify_files(project)
    with migration_session(url, settings) as conn:
        before = current_revision(conn)
    path = (revisions.upgrade_path(project, before, to) if direction == "up"
            else revisions.downgrade_path(project, before, to))
    after = (path[-1].id if direction == "up" else path[-1].down_id) if path else before
    return ApplyResult(direction, before, after, [StepResult(r, direction, 0, 0) for r in path])


def stamp(project: Project, settings: Settings, url: URL, to: str,
          hooks: Hooks | None = None, lock_wait: float = DEFAULT_LOCK_WAIT) -> ApplyResult:
    """Mark the database as being at revision `to` without running anything.

    Under the migration lock, in one transaction: the version row, and a history row per
    revision passed (duration 0) with its file's checksum, so that later runs notice an edit
    of a stamped revision like of any applied one. The files must match the sum file. From a
    revision the files do not have (another branch's), only the version row moves."""
    project.alembic_config()  # a broken revision file is named before anything else
    verify_files(project)
    hooks = hooks or Hooks()
    with migration_session(url, settings) as conn, \
            migration_lock(conn, lock_wait, hooks.on_lock_wait):
        before = current_revision(conn)
        # The target first: an unknown revision is refused before anything is created.
        target = revisions.resolve(project, to)
        direction, path = _stamp_path(project, before, target)
        history.ensure(conn)
        with conn.begin():
            _set_version(conn, target)
            for rev in path:
                history.insert(conn, rev.id, checksums.file_checksum(rev.path), direction, 0)
        return ApplyResult(direction, before, target,
                           [StepResult(rev, direction, 0, 0) for rev in path])


def _stamp_path(project: Project, before: str | None,
                target: str | None) -> tuple[Direction, list[Revision]]:
    if before is not None and not revisions.is_known(project, before):
        return "up", []
    below_before = {rev.id for rev in revisions.chain_to(project, before)}
    if target is None or target in below_before:
        return "down", revisions.downgrade_path(project, before, target or "base")
    return "up", revisions.upgrade_path(project, before, target)
