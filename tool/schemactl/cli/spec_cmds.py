"""Commands: spec_cmds (filled in by its issue)."""
