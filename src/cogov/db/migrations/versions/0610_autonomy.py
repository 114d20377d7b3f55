"""autonomy: each agent's autonomy level and every change of it

Revision ID: 0610_autonomy
Revises: 0600_review
"""

import sqlalchemy as sa
from alembic import op

revision = "0610_autonomy"
down_revision = "0600_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_autonomy",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.String(27), nullable=True),
        sa.Column("changed_by", sa.String(128), nullable=True),
        sa.Column("evaluated_at", sa.String(27), nullable=True),
        sa.Column("last_metrics", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name="pk_agent_autonomy"),
    )
    op.create_table(
        "autonomy_changes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("from_level", sa.Integer(), nullable=True),
        sa.Column("to_level", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_autonomy_changes"),
    )
    op.create_index("ix_autonomy_changes_agent_id", "autonomy_changes", ["agent_id"])
    op.create_index("ix_autonomy_changes_changed_at", "autonomy_changes", ["changed_at"])


def downgrade() -> None:
    op.drop_table("autonomy_changes")
    op.drop_table("agent_autonomy")
