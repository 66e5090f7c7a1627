"""status (where a database is, what is pending, how it drifted) and check (CI, no database).

Both return reports; the CLI turns them into text and exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL

from schemactl import progress
from schemactl.apply import checksums, drift, revisions, runner
from schemactl.apply.checksums import ChecksumProblem
from schemactl.apply.drift import DriftItem
from schemactl.apply.revisions import Revision
from schemactl.apply.session import migration_session
from schemactl.db.throwaway import create_database, drop_database
from schemactl.db.urls import display, normalize, redact
from schemactl.db.versions import mismatch
from schemactl.diff import shadow_cache
from schemactl.diff.catalog import Catalog, read_catalog
from schemactl.errors import SchemactlError
from schemactl.ignore import IgnoreList, Left, load_ignore_list
from schemactl.inspect.sizes import TableSize, sizes_by_name
from schemactl.project import Project
from schemactl.settings import Settings, shadow_server_url


@dataclass
class StatusReport:
    current: str | None
    head: str | None
    pending: list[Revision]
    drift: list[DriftItem]
    file_problems: list[ChecksumProblem] = field(default_factory=list)
    edited_after_apply: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # shown, but do not make it unclean
    # Objects of the database that the project's ignore list names: never drift.
    left_alone: list[Left] = field(default_factory=list)
    # Objects the YAML (and so the drift comparison) cannot express, not named by the ignore
    # list: drift in them is not seen, and the report says so.
    not_compared: list[Left] = field(default_factory=list)
    # The tables the pending revisions rewrite or lock long, with their size (catalog read).
    sizes: dict[str, TableSize] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """At head, no drift, files as reviewed and as applied: exit 0."""
        return not (self.pending or self.drift or self.file_problems or self.edited_after_apply)


def status(project: Project, settings: Settings, url: URL, schema: str | None = None,
           with_drift: bool = True) -> StatusReport:
    """Where the database (or its tenant schema) is; drift needs a shadow, so it can be left
    out (with_drift=False) where only revisions matter."""
    head = revisions.head(project)
    with migration_session(url, settings, schema) as conn:
        current = runner.current_revision(conn, schema)
        pending = revisions.upgrade_path(project, current, "head") if head else []
        edited = runner.edited_after_apply(project, conn, current, schema)
    report = StatusReport(current, head, pending, [], checksums.verify(project), edited)
    report.sizes = costly_table_sizes(url, pending, schema)
    shadow = settings.shadow_database_url
    warning = mismatch(url, normalize(shadow.get_secret_value())) if shadow else None
    report.warnings.extend([warning] if warning else [])
    if with_drift:
        ignore = load_ignore_list(project.root)
        report.drift = drift_of(project, settings, url, current, schema)
        report.drift = _left_alone(report, ignore, url, schema)
    return report


def costly_table_sizes(url: URL, pending: list[Revision],
                       schema: str | None = None) -> dict[str, TableSize]:
    """How big each table is that a pending revision rewrites or locks while it scans: what
    its LK hazards cost on this database."""
    names = {table for rev in pending for hazard in rev.hazards
             if (table := hazard.costly_table) is not None}
    return sizes_by_name(url, names, schema) if names else {}


def _left_alone(report: StatusReport, ignore: IgnoreList, url: URL,
                schema: str | None) -> list[DriftItem]:
    """The report's drift without the objects the ignore list names, which are recorded
    as left alone (as inspect names them); an entry that names nothing is a warning. What
    inspect reports the YAML cannot express and the list does not name is recorded as not
    compared: the catalog comparison does not read those kinds."""
    from schemactl.inspect.catalog import inspect_database

    left = ignore.sort_out(inspect_database(url, [schema] if schema else None).unsupported)
    report.left_alone = list(left.left_alone)
    report.not_compared = list(left.not_compared)
    report.warnings.extend(left.stale_warnings())
    kept, _ = drift.without_left_alone(report.drift, left.left_alone)
    return kept


def drift_of(project: Project, settings: Settings, url: URL,
             revision: str | None, schema: str | None = None) -> list[DriftItem]:
    """Differences between the database and a shadow migrated to the same revision (a
    tenant schema is compared with a schema of the same name in the shadow)."""
    server = shadow_server_url(settings, project.root)
    if schema is None and revision is not None and revision == revisions.head(project):
        kept = _kept_shadow(project, settings, server)
        if kept is not None:
            return drift.compare(_read_database(url), kept)
    try:
        shadow = create_database(server, prefix=f"{settings.shadow_database_prefix}_shadow")
    except psycopg.Error as exc:
        raise SchemactlError(
            f"cannot create a shadow database on {display(server)}: "
            f"{redact(str(exc).strip())}",
            hint="set SHADOW_DATABASE_URL to a server where you may create databases",
        ) from None
    try:
        with progress.step("building the shadow database from the migrations"):
            if revision is not None:
                # Unverified: status reports changed files itself, and must still show drift.
                runner.upgrade(project, settings, shadow, to=revision, verify=False,
                               schema=schema)
            expected = read_catalog_of(shadow)
    finally:
        drop_database(shadow)
    return drift.compare(_read_database(url), expected, schema)


def _read_database(url: URL) -> Catalog:
    with progress.step("reading the database's schema"):
        return read_catalog_of(url)


def _kept_shadow(project: Project, settings: Settings, server: URL) -> Catalog | None:
    """The catalog of a copy of the shadow at head that plan keeps for this very history
    (diff/shadow_cache.py: its key is every revision file and schemactl's code), when there
    is one: a file copy on the server instead of replaying every migration."""
    prefix = settings.shadow_database_prefix
    key = shadow_cache.history_key(project)
    name = shadow_cache.entry_name(prefix, key) if key else None
    if name is None or not shadow_cache.exists(server, name):
        return None
    try:
        copy = create_database(server, prefix=f"{prefix}_shadow", template=name)
    except (psycopg.errors.InvalidCatalogName, psycopg.errors.ObjectInUse):
        return None  # cleared or being copied meanwhile: build a shadow as without it
    try:
        with progress.step("copying the kept shadow database"):
            return read_catalog_of(copy)
    finally:
        drop_database(copy)


def read_catalog_of(url: URL) -> Catalog:
    """The catalog model of the database at url, read in a read-only transaction: catalog
    queries only, the way `plan --against` reads it. With an empty search_path, as pg_dump
    reads: a search_path set on the target's role or database (a tenant's schema first) is
    not on the shadow, and would print every name of that schema otherwise than there."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            conn.exec_driver_sql("SET LOCAL search_path = ''")
            try:
                return read_catalog(conn)
            finally:
                conn.rollback()
    finally:
        engine.dispose()


@dataclass(frozen=True)
class CheckProblem:
    message: str
    fix: str  # what to run

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}"


@dataclass
class CheckReport:
    problems: list[CheckProblem]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(project: Project, settings: Settings) -> CheckReport:
    """For CI: one head, files match the sum, and the YAML needs no new revision."""
    report = CheckReport([])
    heads = revisions.heads(project) if project.versions_dir.is_dir() else []
    if len(heads) > 1:
        report.problems.append(CheckProblem(
            f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}); "
            "schemactl needs one line of history",
            "`schemactl rebase` (it moves this branch's new revisions on top of the other's)",
        ))
    for problem in checksums.verify(project):
        report.problems.append(CheckProblem(
            f"{problem}", "review the change, then `schemactl hash` to re-record the sum"))
    if len(heads) <= 1 and not report.problems:
        _check_sql_files(project, settings, report)
        _check_yaml(project, settings, report)
    return report


def _without_timeouts(text: str) -> list[str]:
    """The script minus its SET lock_timeout/statement_timeout lines (settings of the day)."""
    return [line for line in text.splitlines()
            if not line.startswith(("SET lock_timeout", "SET statement_timeout"))]


def _check_sql_files(project: Project, settings: Settings, report: CheckReport) -> None:
    """Each migrations/sql file says what its revision does: the DBA runs the SQL, not the .py."""
    from schemactl.render.offline_sql import revision_sql

    for revision in revisions.chain_to(project, revisions.head(project)):
        # Written by schemactl from the revision file as it is, both recorded in the sum
        # file since: it says what the revision does without being rendered again.
        if checksums.trusted_sql(project, revision.path):
            continue
        path, expected = revision_sql(project, revision.id, settings)
        if not path.exists():
            continue
        if _without_timeouts(path.read_text(encoding="utf-8")) != _without_timeouts(expected):
            report.problems.append(CheckProblem(
                f"{path.relative_to(project.root)} does not match its revision "
                f"{revision.id} (edited by hand?)",
                f"regenerate it: `schemactl sql {revision.down_id or 'base'}:"
                f"{revision.id} -o {path.relative_to(project.root)}`, then "
                "`schemactl hash`"))


def _check_yaml(project: Project, settings: Settings, report: CheckReport) -> None:
    try:
        from schemactl.pipeline import make_plan
    except ImportError:
        report.notes.append("YAML not compared with head: schemactl.pipeline is not available")
        return
    if make_plan(project, settings).has_changes:
        report.problems.append(CheckProblem(
            "the YAML schema has changes that no revision contains",
            "run `schemactl plan` and commit the new revision",
        ))
