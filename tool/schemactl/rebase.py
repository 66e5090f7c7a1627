"""schemactl rebase: two branches each planned revisions; put this branch's on top of the other's.

Input: a project whose migrations have two heads (after `git merge main`).
Output: a RebaseResult; on disk, one linear history: this branch's revisions get new ids after
the other head, their offline SQL is regenerated and the sum file re-recorded.

Which side is "this branch" is git's answer: the revisions whose files the upstream branch
(default main) does not have; `--move HEAD` says it directly. The moved revisions keep their
reviewed upgrade()/downgrade() code (data migrations too); each records the id it had in
`schemactl_rebased_from`, so a database that applied the old id gets a diagnosis that says
so. Everything is then rehearsed on a shadow database (the whole history, then the YAML
compared with it). If the moved code no longer applies, every file is put back as it was and
`--replan` is the way out: drop this branch's revisions and plan one new one from the YAML.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory

from schemactl.apply import checksums, revisions
from schemactl.errors import SchemactlError
from schemactl.pipeline import make_plan, next_revision_id, write_revision
from schemactl.project import Project
from schemactl.render.offline_sql import write_revision_sql
from schemactl.settings import Settings


@dataclass
class RebaseResult:
    onto: str = ""  # the other branch's head, now below ours
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old name, new name)
    replanned: str | None = None  # the new revision's name with --replan
    pending_yaml_changes: bool = False  # the YAML still needs `schemactl plan`


def rebase(project: Project, settings: Settings, move: str | None = None,
           upstream: str = "main", replan: bool = False) -> RebaseResult:
    script = revisions.script_directory(project)
    heads = list(script.get_heads())
    if len(heads) < 2:
        raise SchemactlError("nothing to rebase: the migrations have one head",
                             hint="run it after merging a branch that added revisions")
    if len(heads) > 2:
        raise SchemactlError(f"the migrations have {len(heads)} heads ({', '.join(heads)}); "
                             "rebase handles two at a time", hint="use --move HEAD")
    chains = {h: _own_revisions(script, h, next(o for o in heads if o != h)) for h in heads}
    ours = move or _ours_by_git(project, chains, upstream)
    if ours not in chains:
        raise SchemactlError(f"--move {ours}: not one of the heads ({', '.join(heads)})")
    onto = next(h for h in heads if h != ours)
    backup = _snapshot(project)
    try:
        result = (_replan(project, settings, chains[ours], onto) if replan
                  else _move(project, settings, chains[ours], onto))
    except BaseException:
        _restore(project, backup)
        raise
    return result


def _own_revisions(script: ScriptDirectory, head: str, other: str) -> list[Path]:
    """The files of head's revisions that are not below other, oldest first."""
    theirs = {s.revision for s in script.walk_revisions("base", other)}
    own = [s for s in script.walk_revisions("base", head) if s.revision not in theirs]
    return [Path(s.path) for s in reversed(own)]


def _ours_by_git(project: Project, chains: dict[str, list[Path]], upstream: str) -> str:
    """The head whose revision files the upstream branch does not have."""
    absent = [head for head, files in chains.items()
              if not any(_in_git(project, upstream, f) for f in files)]
    if len(absent) != 1:
        listed = "; ".join(f"{h}: {', '.join(f.stem for f in fs)}" for h, fs in chains.items())
        raise SchemactlError(
            f"cannot tell which branch's revisions to move from git branch {upstream!r} "
            f"({listed})",
            hint="name the head to move on top of the other: `schemactl rebase --move HEAD`, "
                 "or the branch you merged with --upstream")
    return absent[0]


def _in_git(project: Project, upstream: str, path: Path) -> bool:
    try:
        done = subprocess.run(
            ["git", "cat-file", "-e", f"{upstream}:./{path.relative_to(project.root).as_posix()}"],
            cwd=project.root, capture_output=True, check=False)
    except OSError:  # no git at all
        return False
    return done.returncode == 0


def _move(project: Project, settings: Settings, files: list[Path], onto: str) -> RebaseResult:
    result = RebaseResult(onto=onto)
    down = onto
    for path in files:  # every file first: the graph is only whole again after the last
        new_id = next_revision_id(project)
        new_path = _rewrite(project, path, new_id, down)
        result.moved.append((path.stem, new_path.stem))
        down = new_id
    rendered = [write_revision_sql(project, new_name.split("_", 1)[0], settings)
                for _, new_name in result.moved]
    checksums.record(project, rendered)
    # The whole history on a shadow, then the YAML against it: the moved code must still run
    # after the other branch's, and together they must reach the YAML.
    try:
        result.pending_yaml_changes = make_plan(project, settings).has_changes
    except SchemactlError as exc:
        raise SchemactlError(
            f"the moved revisions do not apply after {onto}: {exc.message}",
            hint="nothing was changed; the branches touch the same objects: run "
                 "`schemactl rebase --replan` to replace this branch's revisions with one "
                 "planned from the merged YAML") from None
    return result


def _rewrite(project: Project, path: Path, new_id: str, down: str) -> Path:
    """The revision file under its new id and parent; its old offline SQL goes."""
    text = path.read_text(encoding="utf-8")
    old_id = _field(text, "revision")
    if old_id is None:
        raise SchemactlError(f"{path.name}: no `revision = ...` line to rewrite")
    text = re.sub(r"^revision\s*=.*$", f"revision = {new_id!r}", text, count=1, flags=re.M)
    text = re.sub(r"^down_revision\s*=.*$", f"down_revision = {down!r}", text, count=1,
                  flags=re.M)
    text = re.sub(r"^Revision ID: .*$", f"Revision ID: {new_id}", text, count=1, flags=re.M)
    text = re.sub(r"^Revises: .*$", f"Revises: {down}", text, count=1, flags=re.M)
    if _field(text, "schemactl_rebased_from") is None:  # keep the first id it was applied as
        old_down = _field(path.read_text(encoding="utf-8"), "down_revision")
        text = re.sub(r"^(down_revision = .*)$",
                      rf"\1\n# Moved by `schemactl rebase`: the id and parent it had before.\n"
                      rf"schemactl_rebased_from = {old_id!r}\n"
                      rf"schemactl_rebased_parent = {old_down!r}", text, count=1, flags=re.M)
    new_path = path.with_name(f"{new_id}_{path.name.split('_', 1)[1]}")
    new_path.write_text(text, encoding="utf-8")
    path.unlink()
    (project.sql_dir / f"{path.stem}.sql").unlink(missing_ok=True)
    return new_path


def _field(text: str, name: str) -> str | None:
    match = re.search(rf"^{name}\s*=\s*['\"]([^'\"]*)['\"]", text, re.M)
    return match.group(1) if match else None


def _replan(project: Project, settings: Settings, files: list[Path], onto: str) -> RebaseResult:
    hand_written = [f.name for f in files if "schemactl_kind = 'data'" in f.read_text()]
    if hand_written:
        raise SchemactlError(
            f"--replan would lose hand-written data migrations: {', '.join(hand_written)}",
            hint="rebase without --replan, and resolve the conflict in the YAML")
    messages = [_message(f) for f in files]
    for path in files:
        path.unlink()
        (project.sql_dir / f"{path.stem}.sql").unlink(missing_ok=True)
    checksums.record(project)
    result = RebaseResult(onto=onto)
    plan = make_plan(project, settings)
    if plan.has_changes:
        path = write_revision(project, plan, "; ".join(messages), settings)
        result.replanned = path.stem
    return result


def _message(path: Path) -> str:
    first = path.read_text(encoding="utf-8").split('"""')
    return first[1].strip().splitlines()[0] if len(first) > 1 and first[1].strip() else path.stem


def _snapshot(project: Project) -> dict[Path, bytes]:
    files = [*project.versions_dir.glob("*.py"), *project.sql_dir.glob("*.sql"), project.sum_file]
    return {p: p.read_bytes() for p in files if p.exists()}


def _restore(project: Project, backup: dict[Path, bytes]) -> None:
    """Put every migration file back as it was before the rebase started."""
    for path in [*project.versions_dir.glob("*.py"), *project.sql_dir.glob("*.sql")]:
        if path not in backup:
            path.unlink()
    for path, content in backup.items():
        path.write_bytes(content)
