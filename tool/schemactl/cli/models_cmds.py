"""Command: models (the application's SQLAlchemy or pydantic models, generated from the YAML)."""

from __future__ import annotations

from pathlib import Path

import click

from schemactl.cli.common import Context, echo, handle_errors, main, pass_context
from schemactl.modelgen import ModelsFile, configured_files, project_spec
from schemactl.spec.types import SchemaSpec


@main.command("models")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the module to FILE ('-' for standard output). Default: the files "
                   "named in pyproject.toml's [tool.schemactl], else standard output.")
@click.option("--pydantic", is_flag=True,
              help="Generate pydantic models for an API layer (a Read and a Create model per "
                   "table) instead of SQLAlchemy models.")
@pass_context
@handle_errors
def models(ctx: Context, output: Path | None, pydantic: bool) -> None:
    """Generate typed models from the YAML schema: SQLAlchemy 2.0 declarative classes (one per
    table, with relationships from the foreign keys), or with --pydantic, pydantic models.

    The output is deterministic and marked as generated. Name the files in pyproject.toml
    so that `schemactl models` rewrites them all and `schemactl check` fails when they are
    stale:

    \b
      [tool.schemactl]
      models = "app/models.py"
      pydantic_models = "app/schemas.py"

    No database is needed.
    """
    project = ctx.project()
    spec = project_spec(project)
    configured = configured_files(project)
    if output is not None:
        targets = [(ModelsFile(output, pydantic), output)]
    else:  # every configured file (with --pydantic, the pydantic ones)
        targets = [(f, project.root / f.path) for f in configured if f.pydantic or not pydantic]
    if not targets or str(output) == "-":
        click.echo(render(spec, pydantic), nl=False)
        return
    watched = {(project.root / f.path).resolve() for f in configured}
    for target, path in targets:
        _write(target.render(spec), path, target.path)
        if path.resolve() not in watched:
            key = "pydantic_models" if target.pydantic else "models"
            echo(f"note: `schemactl check` does not watch {target.path}; to have it fail when "
                 f"the file is stale, add `{key} = \"{_relative(path, project.root)}\"` under "
                 "[tool.schemactl] in pyproject.toml", err=True)


def render(spec: SchemaSpec, pydantic: bool) -> str:
    return ModelsFile(Path("-"), pydantic).render(spec)


def _write(text: str, path: Path, shown: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    unchanged = path.is_file() and path.read_text(encoding="utf-8") == text
    if not unchanged:
        path.write_text(text, encoding="utf-8")
    echo(f"{'Unchanged' if unchanged else 'Wrote'} {shown}", err=True)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
