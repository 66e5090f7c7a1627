"""schemactl: declarative PostgreSQL schema migrations from YAML."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import MetaData

__version__ = "0.1.0"
__all__ = ["__version__", "load_metadata"]


def load_metadata(project_dir: str | os.PathLike[str] | None = None) -> MetaData:
    """The MetaData of a project's YAML schema, as schemactl compiles it: for Core queries, or
    an Alembic env.py that wants target_metadata. No database is touched.

    project_dir: the project (holding schema/), or a directory below it; default: the nearest
    one at or above the current directory. Invalid YAML raises schemactl.errors.SpecError
    with every problem and its file:line:column.
    """
    # Imported here: `import schemactl` (the command line's version check) stays light.
    from schemactl.compile import compile_spec
    from schemactl.modelgen import project_spec
    from schemactl.project import find_project

    project = find_project(Path(project_dir) if project_dir is not None else None)
    return compile_spec(project_spec(project))
