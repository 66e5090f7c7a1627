"""Which module defines each command, and the one line --help shows for it.

Input: a command name. Output: the module under schemactl.cli that registers it on `main`.

`schemactl --help` and a light command (validate) must not pay for importing SQLAlchemy,
Alembic, psycopg and sqlglot, which the database commands need: the group imports a command's
module only when that command runs (or asks for its own help). The summaries below are what
--help lists without importing; tests/test_cli_startup.py checks that each still says what
the command's docstring says, and that no command module registers a command missing here.
"""

from __future__ import annotations

# name -> (module in schemactl.cli, the docstring's first sentence)
COMMANDS: dict[str, tuple[str, str]] = {
    "apply": ("apply_cmds", "Bring the database to head (or --to REV, also relative: --to +1): "
              "pending revisions in order, each in its own transaction, under an advisory lock."),
    "baseline": ("inspect_cmds", "Adopt an existing database: the first revision = its schema, "
                 "marked as applied."),
    "cache": ("cache_cmds", "What plan keeps between runs, to rebuild nothing it already knows."),
    "check": ("apply_cmds", "For CI, no target database: the YAML matches head, the sum file is "
              "valid, there is exactly one head, the generated models named in pyproject.toml "
              "are up to date, and `schemactl lint` finds no unacknowledged hazard in any "
              "revision."),
    "downgrade": ("apply_cmds", "Take the database down to REVISION: an id, -1 (one back), -N, "
                  "or \"base\" (undo all); one revision per transaction, under the same lock "
                  "and checks as apply."),
    "fleet": ("fleet_cmds", "The fleet of databases and tenant schemas in fleet.yaml (see "
              "`--fleet` on apply, downgrade, status, history and sql)."),
    "hash": ("apply_cmds", "Re-record migrations/schemactl.sum after a deliberate, reviewed "
             "edit of a revision."),
    "history": ("history_cmds", "Revisions run on the database, newest first: revision, when, "
                "by whom, how long, and the result (a failed run is rolled back and recorded "
                "with its error)."),
    "init": ("plan_cmds", "Create a schemactl project in DIRECTORY (default: here)."),
    "inspect": ("inspect_cmds", "Write the schema of an existing database as YAML (to adopt it)."),
    "lint": ("lint_cmds", "Check the SQL of revisions (default: all) for hazards: locks held "
             "while a table is scanned or rewritten, blocking index builds, drops of data."),
    "models": ("models_cmds", "Generate typed models from the YAML schema: SQLAlchemy 2.0 "
               "declarative classes (one per table, with relationships from the foreign keys), "
               "or with --pydantic, pydantic models."),
    "new": ("team_cmds", "A hand-written revision after head, for a data migration (backfill, "
            "fix rows)."),
    "plan": ("plan_cmds", "Compare schema/*.yaml with the migrations and write the next "
             "revision."),
    "rebase": ("team_cmds", "After merging a branch that also added revisions: put yours on "
               "top of it."),
    "schema-json": ("spec_cmds", "Print the JSON Schema of the YAML schema language."),
    "sql": ("sql_cmds", "Print the offline SQL script for a range of revisions."),
    "stamp": ("team_cmds", "Mark the database as being at REVISION without running anything."),
    "status": ("apply_cmds", "The database's revision, pending revisions, and drift from what "
               "its migrations say."),
    "validate": ("spec_cmds", "Check the YAML schema without touching any database."),
}


def command_modules() -> list[str]:
    """Every module of schemactl.cli that registers commands (named *_cmds)."""
    import pkgutil

    import schemactl.cli

    return sorted(m.name for m in pkgutil.iter_modules(schemactl.cli.__path__)
                  if m.name.endswith("_cmds"))
