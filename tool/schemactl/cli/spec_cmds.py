"""Commands about the YAML schema alone (no database): validate, schema-json."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from schemactl.cli.common import Context, echo, handle_errors, main, pass_context
from schemactl.spec.load import load, schema_files
from schemactl.spec.types import SchemaSpec
from schemactl.spec.validate import validate


@main.command("validate")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@pass_context
@handle_errors
def validate_cmd(ctx: Context, path: Path | None) -> None:
    """Check the YAML schema without touching any database.

    PATH is a schema file or a directory of them (default: the project's schema/).
    Every problem is reported, each as file:line:column with its error code and a
    hint; the exit code is 1 when there is any. See docs/schema-language.md.
    """
    target = path if path is not None else ctx.project().schema_dir
    docs = load(target)
    spec = validate(docs)
    echo(f"OK: {summary(len(schema_files(target)), spec)}.")


def summary(files: int, spec: SchemaSpec) -> str:
    """E.g. "2 files, 2 tables, 13 columns, 3 indexes, 6 constraints, 1 enum"."""
    constraints = sum(
        (t.primary_key is not None) + len(t.uniques) + len(t.foreign_keys) + len(t.checks)
        for t in spec.tables
    )
    counts = [
        (files, "file", "files"),
        (len(spec.tables), "table", "tables"),
        (sum(len(t.columns) for t in spec.tables), "column", "columns"),
        (sum(len(t.indexes) for t in spec.tables), "index", "indexes"),
        (constraints, "constraint", "constraints"),
        (len(spec.enums), "enum", "enums"),
    ]
    if spec.extensions:
        counts.append((len(spec.extensions), "extension", "extensions"))
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)


@main.command("schema-json")
def schema_json() -> None:
    """Print the JSON Schema of the YAML schema language.

    Point your editor at it for completion and checks while you type, e.g. with the
    YAML language server: `# yaml-language-server: $schema=schemactl-schema.json`
    after `schemactl schema-json > schemactl-schema.json`. It checks shape only;
    `schemactl validate` checks meaning (types, references, names).
    """
    echo(resources.files("schemactl").joinpath("schema.json").read_text(encoding="utf-8").rstrip())
