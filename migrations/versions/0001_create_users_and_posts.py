"""create users and posts

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 16:32:46.779992
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# Hazards found when this revision was planned (codes in schemactl.plan.hazards).
schemactl_hazards: list[dict[str, str]] = []


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.BIGINT(), sa.Identity(always=False), autoincrement=True, nullable=False),
    sa.Column('username', sa.VARCHAR(length=50), autoincrement=False, nullable=False),
    sa.Column('email', sa.VARCHAR(length=120), autoincrement=False, nullable=False),
    sa.Column('display_name', sa.VARCHAR(length=100), autoincrement=False, nullable=True),
    sa.Column('image_file', sa.VARCHAR(length=200), server_default=sa.literal_column("'default.jpg'::character varying"), autoincrement=False, nullable=False),
    sa.Column('password_hash', sa.VARCHAR(length=200), autoincrement=False, nullable=False),
    sa.Column('is_admin', sa.BOOLEAN(), server_default=sa.literal_column('false'), autoincrement=False, nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.literal_column('now()'), autoincrement=False, nullable=False),
    sa.CheckConstraint(sa.literal_column('length(trim(username)) > 0'), name=op.f('username_not_blank')),
    sa.PrimaryKeyConstraint('id', name=op.f('users_pkey')),
    sa.UniqueConstraint('email', name=op.f('users_email_key')),
    sa.UniqueConstraint('username', name=op.f('users_username_key')),
    comment='People who write posts'
    )
    op.create_table('posts',
    sa.Column('id', sa.BIGINT(), sa.Identity(always=False), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BIGINT(), autoincrement=False, nullable=False),
    sa.Column('title', sa.VARCHAR(length=100), autoincrement=False, nullable=False),
    sa.Column('slug', sa.VARCHAR(length=120), autoincrement=False, nullable=False),
    sa.Column('content', sa.TEXT(), autoincrement=False, nullable=False),
    sa.Column('tags', postgresql.ARRAY(sa.TEXT()), server_default=sa.literal_column("'{}'::text[]"), autoincrement=False, nullable=False),
    sa.Column('date_posted', postgresql.TIMESTAMP(timezone=True), server_default=sa.literal_column('now()'), autoincrement=False, nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), autoincrement=False, nullable=True),
    sa.CheckConstraint(sa.literal_column('length(trim(title)) > 0'), name=op.f('title_not_blank')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('posts_user_id_fkey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('posts_pkey')),
    sa.UniqueConstraint('slug', name=op.f('posts_slug_key')),
    comment='Articles; only published ones are shown to readers'
    )
    op.create_index(op.f('posts_tags_idx'), 'posts', ['tags'], unique=False, postgresql_using='gin')
    op.create_index(op.f('posts_user_id_date_posted_idx'), 'posts', ['user_id', 'date_posted'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('posts_user_id_date_posted_idx'), table_name='posts')
    op.drop_index(op.f('posts_tags_idx'), table_name='posts', postgresql_using='gin')
    op.drop_table('posts')
    op.drop_table('users')
