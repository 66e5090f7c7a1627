"""Content hashes of what a plan depends on: schemactl's own code, the YAML under schema/ and
the migration history. The caches (desired_cache, shadow_cache, noop_cache) and the sum
file's `planned` marks are keyed by them.

Input: a project. Output: hex digests. Only hashlib and the files: no SQLAlchemy, Alembic,
psycopg or pydantic is imported, so that a plan answered from a key starts in a moment.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import schemactl
from schemactl.project import Project

_PACKAGE = Path(schemactl.__file__).parent


@functools.cache  # the code does not change while it runs
def code_fingerprint() -> str:
    """A hash of schemactl's own code: what it builds and reads depends on it (a few ms)."""
    digest = hashlib.sha256(schemactl.__version__.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def schema_key(project: Project, server_version: int) -> str:
    """Every file under schema/ (path and content), the code, and a server version (0: none)."""
    digest = hashlib.sha256(f"{code_fingerprint()} {server_version}\n".encode())
    for path in sorted(p for p in project.schema_dir.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(project.schema_dir).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def history_key(project: Project, leaving_out: Path | None = None) -> str | None:
    """The history's content hash: every revision file's name and content, what runs the
    replay (migrations/env.py, alembic.ini: Alembic's settings) and the code; None for an
    empty history. leaving_out: a revision file not counted (the history before it was added)."""
    revisions = sorted(p for p in project.versions_dir.glob("*.py")
                       if leaving_out is None or p.name != leaving_out.name)
    if not revisions:
        return None
    digest = hashlib.sha256(f"{code_fingerprint()}\n".encode())
    runners = [p for p in (project.alembic_ini, project.migrations_dir / "env.py") if p.exists()]
    for path in [*runners, *revisions]:
        digest.update(f"{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
