"""Commands: inspect_cmds (filled in by its issue)."""
