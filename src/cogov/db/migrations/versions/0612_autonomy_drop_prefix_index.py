"""autonomy: drop ix_proposals_agent_id, a prefix of ix_proposals_agent_id_created_at

The (agent_id, created_at, id) index made in 0611 answers every lookup by agent that the
single-column index did, so the older one only cost an index insert per proposal.

Revision ID: 0612_autonomy_drop_prefix_index
Revises: 0611_autonomy_counters
"""

from alembic import op

revision = "0612_autonomy_drop_prefix_index"
down_revision = "0611_autonomy_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_proposals_agent_id", table_name="proposals")


def downgrade() -> None:
    op.create_index("ix_proposals_agent_id", "proposals", ["agent_id"])
