"""migrations/schemactl.sum: a checksum of every revision file and its offline SQL.

A reviewed revision must run exactly as reviewed. `plan` records the sum after writing a
revision; `apply` and `check` refuse to go on when a file no longer matches it, naming the
file; `schemactl hash` re-records after a deliberate edit. The first line is a checksum of
all the other lines, so a hand-edited sum file is caught as well.

Format (sorted by path, paths relative to migrations/):

    total sha256:<hex of the lines below>
    sql/0001_create_users.sql sha256:<hex>
    versions/0001_create_users.py sha256:<hex>
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from schemactl.errors import SchemactlError
from schemactl.project import Project

_TOTAL = "total"


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


def record(project: Project) -> None:
    """(Re-)write the sum file from the files as they are now."""
    project.sum_file.write_text(render(_entries(project)))


def read(project: Project) -> tuple[str | None, dict[str, str]]:
    """The recorded total and the per-file checksums; (None, {}) when there is no sum file."""
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
    if total != _total(_body(recorded)):
        problems.append(ChecksumProblem(sum_name, "edited by hand: its total does not match"))
    for path in sorted(set(actual) | set(recorded)):
        if path not in recorded:
            problems.append(ChecksumProblem(path, "not recorded in the sum file"))
        elif path not in actual:
            problems.append(ChecksumProblem(path, "recorded in the sum file but missing"))
        elif actual[path] != recorded[path]:
            problems.append(ChecksumProblem(path, "changed since it was recorded"))
    return problems
