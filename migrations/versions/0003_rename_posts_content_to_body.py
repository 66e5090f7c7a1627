"""rename posts.content to body

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:32:50.258178
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Hazards found when this revision was planned (codes in schemactl.plan.hazards).
schemactl_hazards: list[dict[str, str]] = []


def upgrade() -> None:
    op.run_sql('ALTER TABLE posts RENAME COLUMN content TO body')


def downgrade() -> None:
    op.run_sql('ALTER TABLE posts RENAME COLUMN body TO content')
