"""The revision files as apply sees them: id, message, file, recorded hazards, and paths.

Alembic's ScriptDirectory does the graph work (heads, ranges, "head", "-1"); this module
only turns its answers into our own small dataclass and our own errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError

from schemactl.errors import SchemactlError
from schemactl.plan.hazards import HazardKind
from schemactl.project import Project


@dataclass(frozen=True)
class RevisionHazard:
    """A record of plan.hazards.Hazard as written into a revision file."""

    code: str
    kind: str
    object: str
    message: str

    @property
    def destructive(self) -> bool:
        return self.kind == HazardKind.DATA_LOSS.value

    def __str__(self) -> str:
        return f"{self.code} ({self.kind}) {self.object}: {self.message}"


@dataclass(frozen=True)
class Revision:
    id: str
    down_id: str | None
    message: str
    path: Path
    hazards: tuple[RevisionHazard, ...]

    @property
    def name(self) -> str:
        """The file's stem, e.g. 0002_add_posts: what users see in their tree."""
        return self.path.stem

    @property
    def destructive(self) -> bool:
        return any(h.destructive for h in self.hazards)

    @property
    def transactional(self) -> bool:
        """False when the file commits part way itself (autocommit_block, for statements
        such as CREATE INDEX CONCURRENTLY that cannot run in a transaction)."""
        return "autocommit_block" not in self.path.read_text()


def script_directory(project: Project) -> ScriptDirectory:
    if not project.versions_dir.is_dir():
        raise SchemactlError(f"no migrations directory at {project.versions_dir}",
                             hint="run `schemactl init`, then `schemactl plan`")
    return ScriptDirectory.from_config(project.alembic_config())


def _hazards(script: Script) -> tuple[RevisionHazard, ...]:
    # Their shape was checked when the project's files were (Project.alembic_config).
    records = getattr(script.module, "schemactl_hazards", None) or []
    return tuple(
        RevisionHazard(r.get("code", "?"), r.get("kind", ""), r.get("object", ""),
                       r.get("message", ""))
        for r in records
    )


def to_revision(script: Script) -> Revision:
    down = script.down_revision
    if isinstance(down, (tuple, list)):
        raise SchemactlError(f"revision {script.revision} merges branches; schemactl keeps one "
                             "linear history")
    return Revision(
        id=script.revision,
        down_id=down,
        message=(script.doc or "").strip(),
        path=Path(script.path),
        hazards=_hazards(script),
    )


def get(project: Project, rev: str) -> Revision:
    script = script_directory(project)
    try:
        found = script.get_revision(rev)
    except CommandError as exc:
        raise SchemactlError(f"unknown revision {rev!r}: {exc}") from exc
    if found is None:
        raise SchemactlError(f"unknown revision {rev!r}")
    return to_revision(found)


def heads(project: Project) -> list[str]:
    return list(script_directory(project).get_heads())


def head(project: Project) -> str | None:
    found = heads(project)
    if len(found) > 1:
        raise SchemactlError(f"the migrations have {len(found)} heads: {', '.join(found)}",
                             hint="schemactl keeps one linear history; re-plan one of the "
                                  "branches on top of the other")
    return found[0] if found else None


def check_known(project: Project, current: str | None) -> None:
    """The database's revision must exist in migrations/versions, or nothing can be planned."""
    if current is None:
        return
    try:
        found = script_directory(project).get_revision(current)
    except CommandError:
        found = None
    if found is None:
        raise SchemactlError(
            f"the database is at revision {current}, which is not in migrations/versions",
            hint="restore that revision file (the database was migrated from another checkout?)",
        )


def _ordered(scripts: Iterable[Script]) -> list[Revision]:
    return [to_revision(s) for s in scripts]


def upgrade_path(project: Project, current: str | None, to: str = "head") -> list[Revision]:
    """Revisions to run, oldest first, to go from current up to `to`."""
    check_known(project, current)
    script = script_directory(project)
    try:
        steps = script._upgrade_revs(to, current or ())  # type: ignore[arg-type]
    except CommandError as exc:
        raise _range_error("upgrade", current, to, exc,
                           "to go back, use `schemactl downgrade REV`") from None
    if not steps and current is not None and _resolve(script, to) not in (None, current):
        raise SchemactlError(f"the database is at revision {current}, already past {to}",
                             hint=f"to go back, use `schemactl downgrade {to}`")
    return _ordered(step.revision for step in steps)


def _resolve(script: ScriptDirectory, rev: str) -> str | None:
    found = script.get_revision(rev)
    return found.revision if found is not None else None


def _range_error(verb: str, current: str | None, to: str, exc: CommandError,
                 direction_hint: str) -> SchemactlError:
    unknown = "Can't locate revision" in str(exc)
    return SchemactlError(
        f"cannot {verb} from {current or 'base'} to {to}: {exc}",
        hint="the revision ids are the numbers that start the files in migrations/versions"
        if unknown else direction_hint,
    )


def downgrade_path(project: Project, current: str | None, to: str) -> list[Revision]:
    """Revisions to undo, newest first, to go from current down to `to` ("base" for empty)."""
    check_known(project, current)
    script = script_directory(project)
    try:
        steps = script._downgrade_revs(to, current)
    except CommandError as exc:
        raise _range_error("downgrade", current, to, exc,
                           "to go forward, use `schemactl apply --to REV`") from None
    return _ordered(step.revision for step in steps)


def chain_to(project: Project, rev: str | None) -> list[Revision]:
    """Every revision from the first up to rev (inclusive), oldest first."""
    if rev is None:
        return []
    return upgrade_path(project, None, rev)
