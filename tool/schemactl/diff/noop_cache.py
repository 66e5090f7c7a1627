"""Plans known to have nothing to do, so that planning an unchanged project again connects to
no database, builds no shadow and does not even load the YAML.

Input: the project. Output: whether these very files are known to plan to "No changes.",
and how it is known:

- a marker under .schemactl/cache/noop/ (local, not committed): an earlier plan of exactly
  these files compared them and found no changes;
- a `planned` mark in migrations/schemactl.sum (committed, apply/checksums.py): `plan`
  wrote the head revision from exactly this YAML, and before writing it, rehearsed it on the
  shadow and found that after its upgrade() nothing was left to do. So a fresh checkout (CI)
  whose schema/ is the one head was planned from needs no replay to say "No changes.".

Both are keyed by key(): a hash joining the YAML's content (every file under schema/), the
history's (every revision file, env.py) and schemactl's own code (content_keys.py). Any
change to any of them gives another key, so neither is ever used for files it was not made
from: an edited revision or YAML file is compared afresh, and so is everything after an
upgrade of schemactl (whose compiler may read the same YAML differently). A mark is only
read from a sum file that verifies (no revision or SQL file edited since it was recorded,
the file itself not edited by hand): what a broken history plans to is for the full plan
to say, with its errors. A key is computed from the files alone, so the YAML, once valid,
is not validated again (the same bytes were valid when the marker or mark was made).

What neither records is the PostgreSQL version the comparison ran on: the shadow and the
desired database are always built on the same server, so that both print expressions alike;
`plan --no-cache` compares afresh on the server configured now.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from schemactl.apply import checksums
from schemactl.diff.content_keys import history_key, schema_key
from schemactl.project import Project

MARKER = "marker"  # how a plan was known to be empty: the local marker
PLANNED = "planned"  # the sum file's mark of the revision plan wrote last


def cache_dir(project: Project) -> Path:
    return project.root / ".schemactl" / "cache" / "noop"


def yaml_key(project: Project) -> str:
    """The YAML's part of the key (taken before the YAML is loaded for a plan)."""
    return schema_key(project, 0)


def key(project: Project, yaml: str | None = None) -> str:
    """The key of the project's files as they are now (yaml: the YAML's part, when taken
    earlier: the YAML a plan was made from)."""
    history = history_key(project) or "empty history"
    return hashlib.sha256(f"{yaml or yaml_key(project)} {history}".encode()).hexdigest()


def known_empty(project: Project, key_: str) -> str | None:
    """How these files are known to plan to "No changes." (MARKER, PLANNED); None: not known."""
    if (cache_dir(project) / key_).is_file():
        return MARKER
    if project.sum_file.is_file() and key_ in checksums.planned_keys(project) \
            and not checksums.verify(project):
        return PLANNED
    return None


def remember_empty(project: Project, key_: str, server_version: int) -> None:
    """Mark the files of key_ as planned to "No changes." (on that server version: for
    whoever reads the marker; it is not a condition of using it)."""
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
