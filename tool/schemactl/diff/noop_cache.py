"""Plans known to have nothing to do, so that planning an unchanged project again reads no
catalog and builds or copies no database.

Input: the project. Output: whether an earlier plan of exactly these files found "No
changes.", and on which server version (a marker file under .schemactl/cache/noop/ holding
it: PostgreSQL's printed forms, and so the comparison, can differ between versions).

The key joins the two content hashes a plan's result depends on: the YAML's (every file
under schema/ and schemactl's code, as for the desired catalog) and the history's (every
revision file and env.py, schemactl's code). Reading the marker needs no server, so a YAML
never seen is validated before any connection, as without the cache. Any change to either gives
another key, so a marker is never used for files it was not made from. Only an empty plan
is remembered: a plan with changes is written, which changes the history and so the key.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from schemactl.diff import desired_cache, shadow_cache
from schemactl.project import Project


def cache_dir(project: Project) -> Path:
    return project.root / ".schemactl" / "cache" / "noop"


def key(project: Project) -> str:
    desired = desired_cache.key(project, 0)  # the server's version is in the marker
    history = shadow_cache.history_key(project) or "empty history"
    return hashlib.sha256(f"{desired} {history}".encode()).hexdigest()


def recorded_version(project: Project, key_: str) -> int | None:
    """The server version an earlier plan of these files found no changes on; None: none."""
    try:
        return int((cache_dir(project) / key_).read_text())
    except (OSError, ValueError):
        return None


def remember_empty(project: Project, key_: str, server_version: int) -> None:
    folder = cache_dir(project)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{key_}.{os.getpid()}.partial"
    partial.write_text(str(server_version))
    partial.replace(folder / key_)


def clear(project: Project) -> list[str]:
    folder = cache_dir(project)
    names = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        path.unlink(missing_ok=True)
        names.append(path.name)
    return names
