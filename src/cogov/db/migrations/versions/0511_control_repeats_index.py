"""control: a partial index on case_workflows.duplicate_of

A reviewer's merge asks whether the case has repeats merged into it (merging it away
would leave them pointing at a merged case); this finds them without scanning every
workflow. Partial (``duplicate_of IS NOT NULL``), so the cases never merged cost nothing.

Revision ID: 0511_control_repeats_index
Revises: 0510_control
"""

import sqlalchemy as sa
from alembic import op

revision = "0511_control_repeats_index"
down_revision = "0510_control"
branch_labels = None
depends_on = None

WHERE = sa.text("duplicate_of IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_case_workflows_duplicate_of",
        "case_workflows",
        ["duplicate_of"],
        postgresql_where=WHERE,
        sqlite_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_case_workflows_duplicate_of", table_name="case_workflows")
