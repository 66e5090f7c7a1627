"""add users.bio

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:32:48.623208
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Hazards found when this revision was planned (codes in schemactl.plan.hazards).
schemactl_hazards: list[dict[str, str]] = []


def upgrade() -> None:
    op.add_column('users', sa.Column('bio', sa.TEXT(), autoincrement=False, nullable=True))


def downgrade() -> None:
    op.drop_column('users', 'bio')
