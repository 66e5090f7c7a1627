"""migrations/schemactl.sum: a checksum of every revision file and its offline SQL.

A reviewed revision must run exactly as reviewed. `plan` records the sum after writing a
revision; `apply` and `check` refuse to go on when a file no longer matches it, naming the
file; `schemactl hash` re-records after a deliberate edit. The first line is a checksum of
all the other lines, so a hand-edited sum file is caught as well.

Format (sorted by path, paths relative to migrations/):

    total sha256:<hex of the lines below>
    rendered sql/0001_create_users.sql sha256:<hex>
    sql/0001_create_users.sql sha256:<hex>
    versions/0001_create_users.py sha256:<hex>

A `rendered` line says that schemactl itself wrote that SQL file from its revision file (at
plan, `hash --sql`, rebase): it holds the hash of the two files' checksums at that moment.
While both files still have those checksums, `check` trusts the SQL to say what the revision
does instead of rendering it again; a file edited since (and re-hashed) has no valid mark, so
its SQL is rendered and compared.

A `planned` line says what a revision written by `plan` was planned from: the key
diff/noop_cache.py gives the project's files just after the write (the YAML under schema/,
the whole history with that revision, env.py, schemactl's code). plan rehearsed that
revision on the shadow and found nothing left to do, so while the files still hash to that
key (and this file verifies), the next plan is "No changes." without replaying anything:

    planned versions/0001_create_users.py sha256:<noop key>
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from schemactl.errors import SchemactlError
from schemactl.project import Project

_TOTAL = "total"
_RENDERED = "rendered "
_PLANNED = "planned "
_MARKS = (_RENDERED, _PLANNED)


@dataclass(frozen=True)
class ChecksumProblem:
    """One file that does not match the sum file (path relative to migrations/)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def file_checksum(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def tracked_files(project: Project) -> list[Path]:
    """The files the sum covers: revision modules and their offline SQL."""
    files = [*project.versions_dir.glob("*.py"), *project.sql_dir.glob("*.sql")]
    return sorted(files, key=lambda p: _relative(project, p))


def _relative(project: Project, path: Path) -> str:
    return path.relative_to(project.migrations_dir).as_posix()


def _entries(project: Project) -> dict[str, str]:
    return {_relative(project, p): file_checksum(p) for p in tracked_files(project)}


def _body(entries: dict[str, str]) -> list[str]:
    return [f"{path} {digest}" for path, digest in sorted(entries.items())]


def _total(body: list[str]) -> str:
    return "sha256:" + hashlib.sha256("\n".join(body).encode()).hexdigest()


def render(entries: dict[str, str]) -> str:
    body = _body(entries)
    return "\n".join([f"{_TOTAL} {_total(body)}", *body]) + "\n"


def record(project: Project, rendered: Iterable[Path] = (),
           planned: tuple[Path, str] | None = None) -> None:
    """(Re-)write the sum file from the files as they are now. rendered: SQL files schemactl
    has just written from their revisions (marked as such); planned: a revision plan has just
    written and the key of the files it was planned from (diff/noop_cache.py). Earlier marks
    of files that still exist are kept: each says what it says of those files' contents only."""
    entries = _entries(project)
    marks = {name: digest for name, digest in _read_lines(project)[1].items()
             if name.startswith(_MARKS) and _marked(name) in entries}
    for path in rendered:
        sql = _relative(project, path)
        revision = f"versions/{path.stem}.py"
        if sql in entries and revision in entries:
            marks[_RENDERED + sql] = pair_digest(entries[revision], entries[sql])
    if planned is not None and _relative(project, planned[0]) in entries:
        marks[_PLANNED + _relative(project, planned[0])] = "sha256:" + planned[1]
    project.sum_file.write_text(render({**entries, **marks}))


def _marked(name: str) -> str:
    """The file a mark is about."""
    return name.removeprefix(_RENDERED).removeprefix(_PLANNED)


def pair_digest(revision_digest: str, sql_digest: str) -> str:
    return "sha256:" + hashlib.sha256(f"{revision_digest} {sql_digest}".encode()).hexdigest()


def rendered_marks(project: Project) -> dict[str, str]:
    """The `rendered sql/...` lines of the sum file, by their name."""
    return {name: digest for name, digest in _read_lines(project)[1].items()
            if name.startswith(_RENDERED)}


def planned_keys(project: Project) -> set[str]:
    """The keys (hex) the `planned` lines record; see diff/noop_cache.py."""
    return {digest.removeprefix("sha256:") for name, digest in _read_lines(project)[1].items()
            if name.startswith(_PLANNED)}


def trusted_sql(project: Project, revision_file: Path) -> bool:
    """The revision's SQL file is as schemactl rendered it from the revision file as it is
    now (both unchanged since), so it need not be rendered again to be compared."""
    sql = project.sql_dir / (revision_file.stem + ".sql")
    if not sql.is_file():
        return False
    mark = rendered_marks(project).get(_RENDERED + _relative(project, sql))
    return mark == pair_digest(file_checksum(revision_file), file_checksum(sql))


def read(project: Project) -> tuple[str | None, dict[str, str]]:
    """The recorded total and the per-file checksums; (None, {}) when there is no sum file."""
    total, lines = _read_lines(project)
    return total, {name: digest for name, digest in lines.items()
                   if not name.startswith(_MARKS)}


def _read_lines(project: Project) -> tuple[str | None, dict[str, str]]:
    """The recorded total and every other line (checksums and marks), by name."""
    if not project.sum_file.exists():
        return None, {}
    total: str | None = None
    entries: dict[str, str] = {}
    try:
        text = project.sum_file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise SchemactlError(
            f"{project.sum_file}: not a checksum file (binary, not UTF-8 text)",
            hint="restore it from version control; if the revisions are the reviewed ones, "
            "`schemactl hash` records it again",
        ) from None
    for line in text.splitlines():
        if not line.strip():
            continue
        name, _, digest = line.rpartition(" ")
        if name == _TOTAL:
            total = digest
        else:
            entries[name] = digest
    return total, entries


def verify(project: Project) -> list[ChecksumProblem]:
    """Every way the migration files and the sum file disagree; empty when they agree."""
    actual = _entries(project)
    total, recorded = read(project)
    sum_name = project.sum_file.name
    if total is None:
        if not actual:
            return []
        return [ChecksumProblem(sum_name, "missing (run `schemactl hash` to record it)")]
    problems: list[ChecksumProblem] = []
    if total != _total(_body(_read_lines(project)[1])):
        problems.append(ChecksumProblem(sum_name, "edited by hand: its total does not match"))
    for path in sorted(set(actual) | set(recorded)):
        if path not in recorded:
            problems.append(ChecksumProblem(path, "not recorded in the sum file"))
        elif path not in actual:
            problems.append(ChecksumProblem(path, "recorded in the sum file but missing"))
        elif actual[path] != recorded[path]:
            problems.append(ChecksumProblem(path, "changed since it was recorded"))
    return problems
