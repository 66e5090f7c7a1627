"""The command line: the only place that imports click, prints, and turns errors into exit codes.

Each group of commands lives in its own module and registers itself on `main`; the group
imports a module only when one of its commands runs (cli/registry.py), so that --help and
the light commands start quickly.
"""

from __future__ import annotations

from schemactl.cli.common import main
from schemactl.cli.output import add_common_options

add_common_options(main)  # -q, -v, --no-color on every command
__all__ = ["main"]
