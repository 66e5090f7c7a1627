"""The command line: the only place that imports click, prints, and turns errors into exit codes.

Each group of commands lives in its own module and registers itself on `main`.
"""

from __future__ import annotations

from schemactl.cli.common import main
from schemactl.cli import spec_cmds, plan_cmds, sql_cmds, apply_cmds, inspect_cmds  # noqa: E402,F401,I001

__all__ = ["main"]
