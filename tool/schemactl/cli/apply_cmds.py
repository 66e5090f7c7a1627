"""Commands: apply_cmds (filled in by its issue)."""
