"""MetaData vs the baseline database -> Alembic UpgradeOps (Alembic's own plus ours)."""
