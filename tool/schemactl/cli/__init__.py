"""The command line: the only place that imports click, prints, and turns errors into exit codes.

Each group of commands lives in its own module and registers itself on `main`.
"""

from __future__ import annotations

# Each module registers its commands on main.
from schemactl.cli import (  # noqa: F401
    apply_cmds,
    cache_cmds,
    fleet_cmds,
    history_cmds,
    inspect_cmds,
    models_cmds,
    plan_cmds,
    spec_cmds,
    sql_cmds,
    team_cmds,
)
from schemactl.cli.common import main
from schemactl.cli.output import add_common_options

add_common_options(main)  # -q, -v, --no-color on every command
__all__ = ["main"]
