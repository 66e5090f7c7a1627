"""The `schemactl` program's entry point: loads the command line, then runs it.

A command loads SQLAlchemy, Alembic and sqlglot when it runs (cli/registry.py), which takes
a noticeable moment; Ctrl-C in that moment must end the program quietly like Ctrl-C anywhere
else, so the command line is imported here, inside a handler, and nothing heavy above it.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention


def main() -> None:
    try:
        from schemactl.cli import main as cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    cli()
