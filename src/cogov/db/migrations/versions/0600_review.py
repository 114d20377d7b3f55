"""review: the human review queue, claims, review teams and citizens' appeals

Revision ID: 0600_review
Revises: 0001_ledger
Depends on: 0510_control (items and appeals refer to proposals and cases),
0300_identity (team members are users)
"""

import sqlalchemy as sa
from alembic import op

revision = "0600_review"
down_revision = "0001_ledger"
branch_labels = ("review",)
depends_on = ("0510_control", "0300_identity")


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("team", sa.String(120), nullable=False),
        sa.Column("guardian", sa.String(64), nullable=False),
        sa.Column("backup_guardian", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("queued_by", sa.String(160), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", sa.String(27), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", sa.String(27), nullable=True),
        sa.Column("claim_expires_at", sa.String(27), nullable=True),
        sa.Column("escalated_to", sa.String(64), nullable=True),
        sa.Column("escalated_at", sa.String(27), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.String(27), nullable=True),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("final_value", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_review_items_case_id_cases"),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name="fk_review_items_proposal_id_proposals"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_review_items"),
        sa.UniqueConstraint("proposal_id", name="uq_review_items_proposal_id"),
    )
    op.create_index("ix_review_items_case_id", "review_items", ["case_id"])
    op.create_index("ix_review_items_agent_id", "review_items", ["agent_id"])
    op.create_index("ix_review_items_team", "review_items", ["team"])
    op.create_index("ix_review_items_state", "review_items", ["state"])
    op.create_index("ix_review_items_deadline", "review_items", ["deadline"])

    op.create_table(
        "review_claims",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.String(27), nullable=False),
        sa.Column("ended_at", sa.String(27), nullable=True),
        sa.Column("ended_how", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name="fk_review_claims_item_id_review_items"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_review_claims"),
    )
    op.create_index("ix_review_claims_item_id", "review_claims", ["item_id"])
    op.create_index("ix_review_claims_reviewer", "review_claims", ["reviewer"])

    op.create_table(
        "review_team_members",
        sa.Column("team", sa.String(120), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.String(27), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"], ["users.username"], name="fk_review_team_members_username_users"
        ),
        sa.PrimaryKeyConstraint("team", "username", name="pk_review_team_members"),
    )
    op.create_index("ix_review_team_members_username", "review_team_members", ["username"])

    op.create_table(
        "appeals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("review_item_id", sa.String(36), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=True),
        sa.Column("filed_at", sa.String(27), nullable=False),
        sa.Column("excluded", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.String(27), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_appeals_case_id_cases"),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name="fk_appeals_proposal_id_proposals"
        ),
        sa.ForeignKeyConstraint(
            ["review_item_id"], ["review_items.id"], name="fk_appeals_review_item_id_review_items"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_appeals"),
        sa.UniqueConstraint("proposal_id", name="uq_appeals_proposal_id"),
    )
    op.create_index("ix_appeals_case_id", "appeals", ["case_id"])
    op.create_index("ix_appeals_review_item_id", "appeals", ["review_item_id"])
    op.create_index("ix_appeals_agent_id", "appeals", ["agent_id"])
    op.create_index("ix_appeals_filed_at", "appeals", ["filed_at"])
    op.create_index("ix_appeals_state", "appeals", ["state"])
    op.create_index("ix_appeals_outcome", "appeals", ["outcome"])
    op.create_index("ix_appeals_decided_at", "appeals", ["decided_at"])


def downgrade() -> None:
    op.drop_table("appeals")
    op.drop_table("review_team_members")
    op.drop_table("review_claims")
    op.drop_table("review_items")
