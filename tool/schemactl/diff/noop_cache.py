"""Plans known to have nothing to do, so that planning an unchanged project again reads no
catalog and builds or copies no database.

Input: the project, the shadow server's version. Output: whether an earlier plan of exactly
these files found "No changes." (an empty marker file under .schemactl/cache/noop/).

The key joins the two content hashes a plan's result depends on: the YAML's (the desired
catalog's key: every file under schema/, schemactl's code, the server's version) and the
history's (every revision file and env.py, schemactl's code). Any change to either gives
another key, so a marker is never used for files it was not made from. Only an empty plan
is remembered: a plan with changes is written, which changes the history and so the key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from schemactl.diff import desired_cache, shadow_cache
from schemactl.project import Project


def cache_dir(project: Project) -> Path:
    return project.root / ".schemactl" / "cache" / "noop"


def key(project: Project, server_version: int) -> str:
    desired = desired_cache.key(project, server_version)
    history = shadow_cache.history_key(project) or "empty history"
    return hashlib.sha256(f"{desired} {history}".encode()).hexdigest()


def known_empty(project: Project, key_: str) -> bool:
    return (cache_dir(project) / key_).is_file()


def remember_empty(project: Project, key_: str) -> None:
    folder = cache_dir(project)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / key_).touch()


def clear(project: Project) -> list[str]:
    folder = cache_dir(project)
    names = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        path.unlink(missing_ok=True)
        names.append(path.name)
    return names
