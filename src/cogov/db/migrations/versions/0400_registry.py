"""registry: agents, filing versions and their history

Revision ID: 0400_registry
Revises: 0001_ledger
Depends on: 0300_identity (guardians are users)
"""

import sqlalchemy as sa
from alembic import op

revision = "0400_registry"
down_revision = "0001_ledger"
branch_labels = ("registry",)
depends_on = ("0300_identity",)


def upgrade() -> None:
    op.create_table(
        "registry_agents",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=True),
        sa.Column("guardian_username", sa.String(64), nullable=True),
        sa.Column("backup_guardian_username", sa.String(64), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_by", sa.String(64), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("agent_id", name="pk_registry_agents"),
        sa.ForeignKeyConstraint(
            ["guardian_username"],
            ["users.username"],
            name="fk_registry_agents_guardian_username_users",
        ),
        sa.ForeignKeyConstraint(
            ["backup_guardian_username"],
            ["users.username"],
            name="fk_registry_agents_backup_guardian_username_users",
        ),
    )
    op.create_table(
        "registry_filings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent_name", sa.String(200), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("document_hash", sa.String(64), nullable=False),
        sa.Column("grade", sa.String(4), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("prohibited", sa.Boolean(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sandbox_report_id", sa.String(200), nullable=True),
        sa.Column("sandbox_report_hash", sa.String(64), nullable=True),
        sa.Column("sandbox_report_approved_by", sa.String(64), nullable=True),
        sa.Column("sandbox_report_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_registry_filings"),
        sa.UniqueConstraint("agent_id", "version", name="uq_registry_filings_agent_id"),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["registry_agents.agent_id"],
            name="fk_registry_filings_agent_id_registry_agents",
        ),
    )
    op.create_index("ix_registry_filings_agent_id", "registry_filings", ["agent_id"])
    op.create_table(
        "registry_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "ledger_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_registry_events"),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["registry_agents.agent_id"],
            name="fk_registry_events_agent_id_registry_agents",
        ),
    )
    op.create_index("ix_registry_events_agent_id", "registry_events", ["agent_id"])


def downgrade() -> None:
    op.drop_index("ix_registry_events_agent_id", table_name="registry_events")
    op.drop_table("registry_events")
    op.drop_index("ix_registry_filings_agent_id", table_name="registry_filings")
    op.drop_table("registry_filings")
    op.drop_table("registry_agents")
