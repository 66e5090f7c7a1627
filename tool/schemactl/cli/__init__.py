"""The command line: the only place that imports click, prints, and turns errors into exit codes.

Each group of commands lives in its own module and registers itself on `main`.
"""

from __future__ import annotations

from schemactl.cli import (  # noqa: F401  (each registers its commands)
    apply_cmds,
    fleet_cmds,
    history_cmds,
    inspect_cmds,
    models_cmds,
    plan_cmds,
    spec_cmds,
    sql_cmds,
)
from schemactl.cli.common import main

__all__ = ["main"]
