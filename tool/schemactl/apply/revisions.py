"""The revision files as apply sees them: id, message, file, recorded hazards, and paths.

Alembic's ScriptDirectory does the graph work (heads, ranges, "head", "-1"); this module
only turns its answers into our own small dataclass and our own errors.
"""

from __future__ import annotations

import re
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

    @property
    def costly_table(self) -> str | None:
        """The table a rewrite or a long lock is on, whose size tells how long it takes."""
        costly = (HazardKind.TABLE_REWRITE.value, HazardKind.LONG_LOCK.value)
        if self.kind not in costly or not self.object.startswith("table "):
            return None
        return self.object.removeprefix("table ").split(",")[0].strip() or None

    def __str__(self) -> str:
        return f"{self.code} ({self.kind}) {self.object}: {self.message}"


@dataclass(frozen=True)
class Revision:
    id: str
    down_id: str | None
    message: str
    path: Path
    hazards: tuple[RevisionHazard, ...]
    # None: planned before downgrade hazards were recorded (nothing known about the undo).
    downgrade_hazards: tuple[RevisionHazard, ...] | None = None

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
        such as CREATE INDEX CONCURRENTLY that cannot run in a transaction, or commit_group()
        between the transaction groups of a revision too large for one transaction)."""
        text = self.path.read_text()
        return not any(call in text for call in ("autocommit_block", "op.commit_group()",
                                                 "op.run_sql_outside_transaction("))

    @property
    def resumable(self) -> bool:
        """True when it commits part way only through transaction groups (commit_group(),
        run_sql_outside_transaction()), which apply records and resumes after; a hand-written
        autocommit_block is not counted, so a run after a failure starts it from the top."""
        text = self.path.read_text()
        return not self.transactional and "autocommit_block" not in text


TWO_HEADS_FIX = ("run `schemactl rebase`: it moves this branch's new revisions on top of the "
                 "other branch's, so the history stays one line")


def script_directory(project: Project) -> ScriptDirectory:
    if not project.versions_dir.is_dir():
        raise SchemactlError(f"no migrations directory at {project.versions_dir}",
                             hint="run `schemactl init`, then `schemactl plan`")
    _refuse_duplicate_ids(project)
    return project.scripts()


def _refuse_duplicate_ids(project: Project) -> None:
    """Two files with one id (hand-made, or from before ids were timestamps): Alembic would
    only warn and silently pick one of them."""
    seen: dict[str, str] = {}
    for path in sorted(project.versions_dir.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")  # not UTF-8: named later
        match = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
        if match is None:
            continue
        if match.group(1) in seen:
            raise SchemactlError(
                f"revision id {match.group(1)} is used by two files: {seen[match.group(1)]} "
                f"and {path.name}",
                hint="the two branches each planned a revision; " + TWO_HEADS_FIX)
        seen[match.group(1)] = path.name


def _hazards(script: Script, name: str = "schemactl_hazards") -> tuple[RevisionHazard, ...]:
    # Their shape was checked when the project's files were (Project.alembic_config).
    records = getattr(script.module, name, None) or []
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
        downgrade_hazards=_hazards(script, "schemactl_downgrade_hazards")
        if hasattr(script.module, "schemactl_downgrade_hazards") else None,
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


def resolve(project: Project, rev: str) -> str | None:
    """A revision as the user names it (an id, "head", "base", a unique prefix) -> its id;
    None for base."""
    if rev == "base":
        return None
    return get(project, rev).id


def heads(project: Project) -> list[str]:
    return list(script_directory(project).get_heads())


def two_heads(found: list[str]) -> SchemactlError:
    return SchemactlError(f"the migrations have {len(found)} heads ({', '.join(sorted(found))}): "
                          "two branches each added revisions", hint=TWO_HEADS_FIX)


def head(project: Project) -> str | None:
    found = heads(project)
    if len(found) > 1:
        raise two_heads(found)
    return found[0] if found else None


def is_known(project: Project, rev: str) -> bool:
    try:
        return script_directory(project).get_revision(rev) is not None
    except CommandError:
        return False


def check_known(project: Project, current: str | None) -> None:
    """The database's revision must exist in migrations/versions, or nothing can be planned."""
    if current is None:
        return
    try:
        found = script_directory(project).get_revision(current)
    except CommandError:
        found = None
    if found is None:
        raise unknown_revision(project, current)


@dataclass(frozen=True)
class Moved:
    """A revision `schemactl rebase` moved: its file now, and the id and parent it had."""

    revision: Revision
    old_id: str
    old_parent: str | None


def moved_chain(project: Project, old_id: str) -> list[Moved]:
    """The moved revisions a database at old_id applied under their old ids, newest first:
    what to undo (with the moved files' downgrade()) to bring it back to the shared parent."""
    by_old: dict[str, Moved] = {}
    for script in script_directory(project).walk_revisions():
        module = script.module
        old = getattr(module, "schemactl_rebased_from", None)
        if old is not None:
            by_old[old] = Moved(to_revision(script), old,
                                getattr(module, "schemactl_rebased_parent", None))
    chain: list[Moved] = []
    at: str | None = old_id
    while at is not None and at in by_old:
        chain.append(by_old[at])
        at = by_old[at].old_parent
    return chain


def unknown_revision(project: Project, current: str) -> SchemactlError:
    """The diagnosis for a database that applied a revision the files do not have."""
    moved = [path.name for path in sorted(project.versions_dir.glob("*.py"))
             if re.search(rf"^schemactl_rebased_from\s*=\s*['\"]{re.escape(current)}['\"]",
                          path.read_text(encoding="utf-8"), re.MULTILINE)]
    if moved:
        return SchemactlError(
            f"the database applied revision {current}, which `schemactl rebase` has since moved "
            f"(it is now {moved[0]}, after the other branch's revisions)",
            hint=f"run `schemactl apply --rebased` to undo {current} with the moved file's "
                 "downgrade() and apply the history in its new order (a development database; "
                 "it loses what that revision added)")
    return SchemactlError(
        f"the database applied revision {current}, which is not in migrations/versions: it "
        "comes from another branch or checkout, or its file was deleted or renamed",
        hint=f"check out the branch that has revision {current} (then `schemactl downgrade` "
             "to undo it, if you are leaving that branch), or restore its file")


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
    try:
        found = script.get_revision(rev)
    except CommandError:  # a relative target such as +1: nothing left to go up to
        return None
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
    check_known(project, rev)  # a database's revision: diagnosed, not "cannot upgrade"
    return upgrade_path(project, None, rev)
