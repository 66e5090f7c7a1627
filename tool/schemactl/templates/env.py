"""Alembic environment: all the logic is in schemactl.alembic_env (sync engine, psycopg 3)."""

from alembic import context

from schemactl.alembic_env import run

run(context)
