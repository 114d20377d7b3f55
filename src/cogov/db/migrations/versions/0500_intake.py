"""intake: cases as submitted, and the contact vault kept apart from them

Revision ID: 0500_intake
Revises: 0001_ledger
"""

import sqlalchemy as sa
from alembic import op

revision = "0500_intake"
down_revision = "0001_ledger"
branch_labels = ("intake",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("address_string", sa.String(500), nullable=True),
        sa.Column("address_id", sa.String(128), nullable=True),
        sa.Column("address_key", sa.String(200), nullable=True),
        sa.Column("media_url", sa.String(2000), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("group_attributes", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=True),
        sa.Column("source_ref", sa.String(128), nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("citizen_token_hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("idempotency_key", name="uq_cases_idempotency_key"),
        sa.UniqueConstraint("citizen_token_hash", name="uq_cases_citizen_token_hash"),
    )
    op.create_index("ix_cases_service_code", "cases", ["service_code"])
    op.create_index("ix_cases_channel", "cases", ["channel"])
    op.create_index("ix_cases_source_ref", "cases", ["source_ref"])
    op.create_index("ix_cases_received_at", "cases", ["received_at"])

    op.create_table(
        "case_contacts",
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("first_name", sa.String(200), nullable=True),
        sa.Column("last_name", sa.String(200), nullable=True),
        sa.Column("device_id", sa.String(200), nullable=True),
        sa.Column("account_id", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name="fk_case_contacts_case_id_cases",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_contacts"),
    )


def downgrade() -> None:
    op.drop_table("case_contacts")
    op.drop_table("cases")
