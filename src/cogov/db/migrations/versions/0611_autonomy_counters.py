"""autonomy: an index on proposals (agent, time) for the controller's window

The controller counts an agent's latest proposals with one aggregate query on every
human decision; this index hands it the window without sorting all of them.

Revision ID: 0611_autonomy_counters
Revises: 0610_autonomy
"""

from alembic import op

revision = "0611_autonomy_counters"
down_revision = "0610_autonomy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_proposals_agent_id_created_at", "proposals", ["agent_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_proposals_agent_id_created_at", table_name="proposals")
