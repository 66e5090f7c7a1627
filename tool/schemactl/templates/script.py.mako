"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

# Hazards found when this revision was planned (codes in schemactl.plan.hazards).
schemactl_hazards: list[dict[str, str]] = ${hazards if hazards else "[]"}
# The hazards of downgrade(), shown by `schemactl downgrade`.
schemactl_downgrade_hazards: list[dict[str, str]] = ${downgrade_hazards if downgrade_hazards else "[]"}
# What the plan knew of some statements that their SQL does not say (an old type, a
# generated column), by statement digest: `schemactl lint` judges them with it.
schemactl_facts: dict[str, dict[str, object]] = ${facts if facts else "{}"}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
