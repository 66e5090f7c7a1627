"""Commands: sql_cmds (filled in by its issue)."""
