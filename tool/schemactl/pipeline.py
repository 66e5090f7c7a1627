"""The plan pipeline end to end: YAML -> SchemaSpec -> MetaData -> ops (vs shadow) -> Plan.

Commands call these; each stage stays in its own module and this one only wires them.
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import string
import textwrap
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy
import sqlalchemy.exc
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.operations.ops import DowngradeOps, UpgradeOps
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Connection

import schemactl.sqltypes
from schemactl import progress
from schemactl.apply import checksums, revisions
from schemactl.compile import compile_spec, existing_row_fills, stated_backfills
from schemactl.db.errors import pg_message
from schemactl.db.throwaway import check_prefix, drop_leftovers, server_version
from schemactl.diff import noop_cache
from schemactl.diff.autogen import reverse
from schemactl.diff.catalog import Catalog, read_catalog
from schemactl.diff.compare import diff, is_empty, without_renames
from schemactl.diff.content_keys import history_key
from schemactl.diff.online import filled_in_place, lock_safe
from schemactl.diff.shadow import copy_of, desired_catalog, shadow
from schemactl.errors import SchemactlError
from schemactl.files import FileTransaction, check_writable
from schemactl.ignore import load_ignore_list
from schemactl.inspect.catalog import Inspection, inspect_database
from schemactl.inspect.sizes import table_sizes
from schemactl.plan.build import Plan, build_plan
from schemactl.plan.lint import Finding, lint
from schemactl.plan.locate import located_error
from schemactl.project import Project
from schemactl.render.human import render_plan
from schemactl.render.offline_sql import revision_sql, write_revision_sql
from schemactl.render.revision import python_body, revision_parts
from schemactl.settings import Settings, shadow_server_url
from schemactl.spec.load import load
from schemactl.spec.types import SchemaSpec
from schemactl.spec.validate import validate


def load_spec(project: Project) -> SchemaSpec:
    return validate(load(project.schema_dir, base=project.root))


def make_plan(project: Project, settings: Settings, against: URL | None = None,
              cache: bool = True, inspection: Inspection | None = None) -> Plan:
    """Plan the change from the baseline to the YAML.

    The baseline is a shadow database built from the migration history. With `against`, it
    is a scratch copy of what `inspect` reads from that live database instead: the live
    database only answers catalog queries (no lock, no DDL, not even rolled back), and the
    diff runs on the copy like on any shadow. Without cache, the shadow is replayed from the
    history even when a kept copy of it exists (the result is the same). With cache, a
    project whose YAML and history are known to plan to "No changes." (an earlier plan
    found them equal, or plan wrote head from this very YAML: diff/noop_cache.py) is not
    compared again, and no database is connected to.

    With `against`, the plan also says what it did not compare: what inspect reports the
    YAML cannot express, sorted out by the project's ignore list (ignore.py) into what is
    left alone on purpose and what is simply not compared. `inspection`: that database as
    the caller has already inspected it (it is not read twice)."""
    noop = noop_cache.key(project) if cache and against is None else None
    if noop is not None and noop_cache.known_empty(project, noop) is not None:
        return build_plan(UpgradeOps(ops=[]))
    spec = load_spec(project)
    ignore = load_ignore_list(project.root) if against is not None else None
    metadata = compile_spec(spec)
    _one_head(project)
    server = shadow_server_url(settings, project.root)
    prefix = check_prefix(settings.shadow_database_prefix)
    drop_leftovers(server, prefix)
    # The two databases are independent and mostly DDL the server executes: build the
    # desired one in a thread while the baseline is built (about halves the time).
    with ThreadPoolExecutor(max_workers=1) as pool:
        desired_future = pool.submit(desired_catalog, metadata, spec, server, prefix,
                                     project if cache else None)
        if against is not None and inspection is None:
            inspection = inspect_database(against)
        baseline: AbstractContextManager[Connection] = (
            copy_of(against, server, prefix, inspection.spec)
            if against is not None and inspection is not None
            else shadow(project, server, prefix=prefix, cache=cache))
        with baseline as conn:
            try:
                desired = desired_future.result()
            except sqlalchemy.exc.DBAPIError as exc:
                # The YAML's own DDL, run on an empty database: what only PostgreSQL can
                # judge (a function's existence, an expression's type) is refused here.
                raise located_error(spec, exc) from None
            with progress.step("comparing, and rehearsing the plan on the shadow"):
                plan = build_plan(_diff(metadata, spec, conn, desired, settings.atomic),
                                  frozenset(desired.partition_keys))
    if against is not None:  # a live database knows how big the tables the steps touch are
        plan = plan.with_sizes(table_sizes(against, plan.costly_tables()))
        if inspection is not None and ignore is not None:
            plan = plan.with_left(ignore.sort_out(inspection.unsupported))
    if noop is not None and not plan.has_changes:
        noop_cache.remember_empty(project, noop, server_version(server))
    return plan


def _diff(metadata: MetaData, spec: SchemaSpec, conn: Connection, desired: Catalog,
          atomic: bool = False) -> UpgradeOps:
    """Diff (in lock-safe forms unless atomic), then rehearse the revision on the baseline:
    upgrade() must leave nothing to do, and downgrade() must give the baseline's catalog back.
    All in one transaction that is rolled back (a revision in transaction groups commits each
    group, on a baseline that is thrown away afterwards)."""
    conn.begin()
    try:
        before = read_catalog(conn)
        upgrade_ops = diff(metadata, spec, conn, desired)
        if atomic:
            upgrade_ops = filled_in_place(upgrade_ops, existing_row_fills(spec),
                                          stated_backfills(spec))
        else:
            upgrade_ops = lock_safe(upgrade_ops, existing_row_fills(spec), stated_backfills(spec),
                                    set(before.partition_keys) | set(desired.partition_keys))
        if not is_empty(upgrade_ops):
            _rehearse(conn, without_renames(upgrade_ops), "upgrade", spec)
            remaining = diff(metadata, spec, conn, desired)
            if not is_empty(remaining):
                raise SchemactlError(
                    "internal error: the plan does not reach the schema in the YAML; "
                    "after it, these steps would remain:\n"
                    + render_plan(build_plan(remaining)),
                    hint="please report this with your schema files")
            _rehearse(conn, reverse(upgrade_ops), "downgrade", spec)
            if read_catalog(conn) != before:
                raise SchemactlError(
                    "internal error: the planned downgrade() does not give the schema back: "
                    + _catalog_difference(before, read_catalog(conn)),
                    hint="please report this with your schema files")
        return upgrade_ops
    finally:
        conn.rollback()


def _catalog_difference(expected: Catalog, got: Catalog) -> str:
    parts = []
    for name in ("schemas", "extensions", "enums", "tables", "sequences", "columns",
                 "constraints", "indexes", "sequence_types", "unlogged_tables", "table_storage",
                 "partition_keys", "partitions",
                 "busy_schemas", "objects"):
        a, b = getattr(expected, name), getattr(got, name)
        keys = set(a) ^ set(b) if isinstance(a, set) else {k for k in set(a) | set(b)
                                                           if a.get(k) != b.get(k)}
        if keys:
            parts.append(f"{name} {sorted(map(str, keys))[:5]}")
    return "; ".join(parts)


def _rehearse(conn: Connection, ops_: UpgradeOps | DowngradeOps, which: str,
              spec: SchemaSpec) -> None:
    """Run the upgrade() or downgrade() the revision file will contain, as Python, on conn:
    what is checked is the very code that will run, not the ops it was rendered from."""
    namespace = {"op": Operations(MigrationContext.configure(conn)), "sa": sqlalchemy,
                 "postgresql": postgresql, "schemactl": schemactl}
    code = textwrap.dedent("    " + python_body(ops_))  # the body as in upgrade()
    try:
        exec(compile(code, f"<planned {which}>", "exec"), namespace)
    except sqlalchemy.exc.DBAPIError as exc:
        hint = ("some changes cannot be made in one revision (a new enum value used at once, a "
                "column type a generated column depends on): plan part of the change, then "
                "the rest") if which == "upgrade" else "please report this with your schema files"
        [where] = located_error(spec, exc).diagnostics  # the YAML object, when one is named
        source = f" (from {where.obj}, {where.location()})" if where.obj else ""
        raise SchemactlError(f"PostgreSQL refuses the planned {which}() when it is rehearsed "
                             f"on the shadow database{source}: {pg_message(exc)}",
                             hint=hint) from None


def next_revision_id(project: Project, now: datetime | None = None) -> str:
    """A new revision id: the UTC time to the second and four random letters, e.g.
    20261201093012kqzx.

    Two branches that each plan a revision get different ids (unlike a sequence number,
    which both would take as 0005), even when they plan in the same second: the letters tell
    them apart (one chance in 457,000 of a tie, and a tie is caught as two files with one id).
    Ids still sort in the order they were made, and they stay readable. Should the clock give
    a time not above the newest existing id's (a clock behind), the next second after it is
    taken, so ids only ever grow."""
    stamp = int((now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S"))
    newest = max(existing_revision_ids(project), default=0)
    tag = "".join(secrets.choice(string.ascii_lowercase) for _ in range(_TAG_LETTERS))
    return str(max(stamp, newest + 1)).zfill(4) + tag


_TAG_LETTERS = 4


def existing_revision_ids(project: Project) -> list[int]:
    """The numbers that start the revision files' names, without a tag's letters
    (0001_..., 20261201093012_..., 20261201093012kqzx_...)."""
    return [int(m.group(1)) for p in project.versions_dir.glob("*.py")
            if (m := re.match(r"^(\d+)[a-z]*_", p.name))]


def planned_from(project: Project) -> tuple[str, str | None]:
    """What a plan is made from, taken before it loads anything: the YAML's key and the
    history's (diff/noop_cache.py); for write_revision."""
    return noop_cache.yaml_key(project), history_key(project)


def write_revision(project: Project, plan: Plan, message: str,
                   settings: Settings | None = None,
                   made_from: tuple[str, str | None] | None = None) -> Path:
    """Write the revision for the plan, its offline SQL (checked statement by statement),
    and re-record migrations/schemactl.sum. All or nothing: every target is checked for
    writing first, and on any failure (the SQL check included) the project is left as it was.

    made_from: planned_from() taken before the plan was made (the plan compared that YAML with
    that history). The sum file then marks the new revision as planned from that YAML, so
    that the next plan of the same files is "No changes." without a database (noop_cache):
    the plan rehearsed this revision on the shadow and found nothing left to do after it.
    Not when the history is no longer the one compared (a revision added meanwhile)."""
    check_writable([project.versions_dir / "new.py", project.sql_dir / "new.sql", project.sum_file])
    with FileTransaction() as files:
        files.track(project.sum_file)
        path = files.created(_write_revision_file(project, plan, message))
        files.track(project.sql_dir / (path.stem + ".sql"))
        sql = write_revision_sql(project, path.name.split("_", 1)[0], settings)
        planned = None
        if made_from is not None and history_key(project, leaving_out=path) == made_from[1]:
            planned = (project.versions_dir / path.name, noop_cache.key(project, made_from[0]))
        checksums.record(project, [sql], planned)
    return path


def _one_head(project: Project) -> ScriptDirectory:
    script = revisions.script_directory(project) if project.versions_dir.is_dir() \
        else ScriptDirectory.from_config(project.alembic_config())
    heads = script.get_heads()
    if len(heads) > 1:
        raise revisions.two_heads(list(heads))
    return script


def safe_message(message: str) -> str:
    """The message as it can stand in the revision's docstring: one line, no way out of it."""
    text = " ".join(message.split()).replace("\\", "\\\\").replace('"' * 3, "'" * 3)
    return text + " " if text.endswith('"') else text


def _write_revision_file(project: Project, plan: Plan, message: str) -> Path:
    if not plan.has_changes:
        raise SchemactlError("nothing to write: the plan has no changes")
    _one_head(project)
    # A ScriptDirectory of its own: generate_revision adds to its map, and the shared one
    # (Project.scripts) must not keep a revision whose file a failed write removes again.
    script = ScriptDirectory.from_config(project.alembic_config())
    rev_id = next_revision_id(project)
    project.versions_dir.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Alembic announces "Generating ..."
            revision = script.generate_revision(
                rev_id, safe_message(message), head="head", refresh=True,
                version_path=str(project.versions_dir),
                **revision_parts(plan))  # type: ignore[arg-type]  # template arguments
    except BaseException:
        for partial in project.versions_dir.glob(f"{rev_id}_*.py"):
            partial.unlink()
        raise
    assert revision is not None
    return Path(revision.path)


def lint_revisions(project: Project, settings: Settings,
                   wanted: Sequence[str] = ()) -> list[Finding]:
    """Lint the offline SQL of the wanted revisions (all when none), oldest first: the file
    in migrations/sql/ when there is one (a DBA may have edited it), else the SQL rendered
    from the revision file (a hand-written revision has no .sql yet)."""
    findings: list[Finding] = []
    scripts = project.scripts()
    for rev in wanted:
        if _script_or_none(scripts, rev) is None:
            raise SchemactlError(f"no revision {rev} in {project.versions_dir}",
                                 hint=f"the revisions are the files in {project.versions_dir}")
    # Oldest first. Only a revision without its SQL file is rendered (not the whole history).
    chosen = [scripts.get_revision(rev) for rev in wanted] if wanted else list(
        reversed(list(scripts.walk_revisions())))
    for script in chosen:
        assert script is not None
        path = project.sql_dir / (Path(script.path).stem + ".sql")
        text = path.read_text(encoding="utf-8") if path.is_file() else revision_sql(
            project, script.revision, settings)[1]
        facts = getattr(script.module, "schemactl_facts", None) or {}
        if not isinstance(facts, dict) or not all(isinstance(v, dict) for v in facts.values()):
            raise SchemactlError(f"{script.path}: schemactl_facts is not a dict of dicts",
                                 hint="restore the file from version control, or delete the "
                                 "line: lint then judges every statement on its SQL alone")
        findings += lint(script.revision, text,
                         list(getattr(script.module, "schemactl_hazards", None) or []), facts)
    return findings


def _script_or_none(scripts: ScriptDirectory, rev: str) -> object | None:
    try:
        return scripts.get_revision(rev)
    except Exception:  # Alembic raises several kinds for unknown or ambiguous ids
        return None
