"""The application side, wired: which model files a project keeps, whether they are up to date,
and an application's own MetaData compared with the YAML. Stages stay in their modules
(render/models.py, render/pydantic_models.py, diff/models_check.py); this one only connects.

A project names its generated files in its pyproject.toml, so that `schemactl models` knows
where to write them and `schemactl check` can tell when they are stale:

    [tool.schemactl]
    models = "app/models.py"
    pydantic_models = "app/schemas.py"

A file is stale when generating it again from the YAML would not give the same bytes.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from schemactl.apply.status import CheckProblem
from schemactl.diff.models_check import ModelDifference, compare_models
from schemactl.errors import EXIT_USAGE, SchemactlError
from schemactl.project import Project
from schemactl.render.models import render_models
from schemactl.render.pydantic_models import render_pydantic
from schemactl.spec.load import load
from schemactl.spec.types import SchemaSpec
from schemactl.spec.validate import validate

PYPROJECT = "pyproject.toml"
SECTION = "schemactl"  # [tool.schemactl]
KEYS = {"models": False, "pydantic_models": True}  # key -> pydantic variant


@dataclass(frozen=True)
class ModelsFile:
    path: Path  # as written in pyproject.toml, relative to the project
    pydantic: bool

    def render(self, spec: SchemaSpec) -> str:
        return render_pydantic(spec) if self.pydantic else render_models(spec)


class UsageError(SchemactlError):
    exit_code = EXIT_USAGE


def project_spec(project: Project) -> SchemaSpec:
    return validate(load(project.schema_dir, base=project.root))


def configured_files(project: Project) -> list[ModelsFile]:
    """The generated model files pyproject.toml's [tool.schemactl] names (none: none kept)."""
    path = project.root / PYPROJECT
    if not path.is_file():
        return []
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get(SECTION, {})
    except tomllib.TOMLDecodeError as exc:
        raise SchemactlError(f"{PYPROJECT}: {exc}") from None
    files = []
    for key, pydantic in KEYS.items():
        value = table.get(key)
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise SchemactlError(f"{PYPROJECT}: [tool.{SECTION}] {key} must be a file path, "
                                 f"found {value!r}")
        if value is not None:
            files.append(ModelsFile(Path(value.strip()), pydantic))
    return files


def stale_files(project: Project, spec: SchemaSpec) -> list[tuple[ModelsFile, str]]:
    """Configured files that differ from what the YAML generates, each with why."""
    stale = []
    for file in configured_files(project):
        path = project.root / file.path
        if not path.is_file():
            stale.append((file, "does not exist"))
        elif path.read_text(encoding="utf-8") != file.render(spec):
            stale.append((file, "is out of date with the YAML (or was edited by hand)"))
    return stale


def regenerate_command(file: ModelsFile) -> str:
    return f"schemactl models{' --pydantic' if file.pydantic else ''} -o {file.path.as_posix()}"


def app_metadata(project: Project, reference: str) -> sa.MetaData:
    """The MetaData that `module:attribute` names (a declarative base, a registry, or a
    MetaData), imported with the project directory on sys.path."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"--models {reference!r}: expected MODULE:ATTRIBUTE",
                         hint="e.g. --models app.models:Base")
    root = str(project.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        target: object = importlib.import_module(module_name)
    except Exception as exc:  # the application's own import error, whatever it is
        raise SchemactlError(f"cannot import {module_name}: {type(exc).__name__}: {exc}",
                             hint=f"run from the project directory ({project.root}); the module "
                                  "must import without side effects") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise SchemactlError(f"{module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    metadata = target if isinstance(target, sa.MetaData) else getattr(target, "metadata", None)
    if not isinstance(metadata, sa.MetaData):
        raise SchemactlError(f"{reference} is not a declarative base, registry or MetaData")
    return metadata


def model_differences(project: Project, reference: str) -> list[ModelDifference]:
    return compare_models(app_metadata(project, reference), project_spec(project))


def check_problems(project: Project, reference: str | None) -> list[CheckProblem]:
    """For `schemactl check`: stale generated files, and with reference, every difference
    between the application's models and the YAML. Without either, the YAML is not read."""
    if reference is None and not configured_files(project):
        return []
    spec = project_spec(project)
    problems = [CheckProblem(f"{file.path.as_posix()} {why}", f"run `{regenerate_command(file)}`")
                for file, why in stale_files(project, spec)]
    if reference is not None:
        fix = f"make the models in {reference.partition(':')[0]} agree with the YAML (or the YAML with them)"
        problems += [CheckProblem(f"models {reference}: {difference}", fix)
                     for difference in compare_models(app_metadata(project, reference), spec)]
    return problems
