"""drop legacy table and users.image_file

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-03 00:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Hazards found when this revision was planned (codes in schemactl.plan.hazards).
schemactl_hazards: list[dict[str, str]] = [
    {'code': 'DS101', 'kind': 'data loss', 'object': 'table public.legacy',
     'message': 'drops the table and all its rows'},
    {'code': 'DS102', 'kind': 'data loss', 'object': 'table public.users, column image_file',
     'message': 'drops the column and its values'},
]


def upgrade() -> None:
    op.drop_index('users_image_file_idx', table_name='users')
    op.drop_column('users', 'image_file')
    op.drop_table('legacy')


def downgrade() -> None:
    op.create_table(
        'legacy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='legacy_pkey'),
    )
    op.add_column('users', sa.Column('image_file', sa.String(length=200),
                                     server_default=sa.text("'default.jpg'"), nullable=True))
    op.create_index('users_image_file_idx', 'users', ['image_file'])
