"""control: case workflow state, proposals with their verdicts, configurations in force

Revision ID: 0510_control
Revises: 0001_ledger
Depends on: 0500_intake (proposals and workflows refer to cases)
"""

import sqlalchemy as sa
from alembic import op

revision = "0510_control"
down_revision = "0001_ledger"
branch_labels = ("control",)
depends_on = ("0500_intake",)


def upgrade() -> None:
    op.create_table(
        "control_configs",
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("first_used_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("config_hash", name="pk_control_configs"),
    )
    op.create_table(
        "case_workflows",
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("process_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("priority", sa.String(16), nullable=True),
        sa.Column("duplicate_of", sa.String(36), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("reply_ai_drafted", sa.Boolean(), nullable=False),
        sa.Column("routed_at", sa.String(27), nullable=True),
        sa.Column("routed_by", sa.String(128), nullable=True),
        sa.Column("updated_at", sa.String(27), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_workflows_case_id_cases"),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["cases.id"], name="fk_case_workflows_duplicate_of_cases"
        ),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_workflows"),
    )
    op.create_index("ix_case_workflows_state", "case_workflows", ["state"])

    op.create_table(
        "proposals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("agent_version", sa.String(32), nullable=False),
        sa.Column("engine_ref", sa.String(200), nullable=False),
        sa.Column("model_hash", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("ai_drafted", sa.Boolean(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("verdict_by", sa.String(160), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("final_value", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.String(27), nullable=True),
        sa.Column("reviewer_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_proposals_case_id_cases"),
        sa.ForeignKeyConstraint(
            ["config_hash"],
            ["control_configs.config_hash"],
            name="fk_proposals_config_hash_control_configs",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
    )
    op.create_index("ix_proposals_case_id", "proposals", ["case_id"])
    op.create_index("ix_proposals_agent_id", "proposals", ["agent_id"])
    op.create_index("ix_proposals_verdict", "proposals", ["verdict"])
    op.create_index("ix_proposals_state", "proposals", ["state"])


def downgrade() -> None:
    op.drop_table("proposals")
    op.drop_table("case_workflows")
    op.drop_table("control_configs")
