"""The desired catalog kept per YAML content, so that a plan of an unchanged schema/ builds
no desired database.

Input: the project, the server's version and a Catalog read from a desired database.
Output: that Catalog again on the next plan, from <project>/.schemactl/cache/desired/.

The key hashes everything the catalog depends on: every file under schema/ (path and
content), schemactl's own code (diff/content_keys.py) and the server's version
(PostgreSQL's printed forms of expressions change between versions). A changed file gives
another key; an entry that cannot be read is rebuilt. The files are written by this user's
own runs of schemactl into the project's private .schemactl/ directory (like the embedded
server's data) and read back with pickle, which must only ever read such files.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from schemactl.diff.catalog import Catalog
from schemactl.diff.content_keys import schema_key
from schemactl.project import Project


def cache_dir(project: Project) -> Path:
    return project.root / ".schemactl" / "cache" / "desired"


def key(project: Project, server_version: int) -> str:
    return schema_key(project, server_version)


def load(project: Project, key_: str) -> Catalog | None:
    path = cache_dir(project) / f"{key_}.pickle"
    try:
        found = pickle.loads(path.read_bytes())  # noqa: S301  our own file, see above
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return found if isinstance(found, Catalog) else None


def store(project: Project, key_: str, catalog: Catalog) -> None:
    folder = cache_dir(project)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{key_}.{os.getpid()}.partial"
    partial.write_bytes(pickle.dumps(catalog))
    partial.replace(folder / f"{key_}.pickle")  # whole or not at all, also with two runs


def entries(project: Project) -> list[tuple[str, int]]:
    """(file name, size in bytes) of every entry."""
    folder = cache_dir(project)
    return [(p.name, p.stat().st_size) for p in sorted(folder.glob("*.pickle"))]


def clear(project: Project) -> list[str]:
    names = []
    for path in sorted(cache_dir(project).glob("*")):
        path.unlink(missing_ok=True)
        names.append(path.name)
    return names
