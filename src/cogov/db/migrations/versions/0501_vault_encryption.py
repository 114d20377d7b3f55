"""intake: the contact vault encrypted at rest (a sealed blob and its key id per row)

Rows already in the vault stay in plaintext (``key_id`` NULL) until
``cogov vault rotate`` seals them: the key is not the migration's to read.

Revision ID: 0501_vault_encryption
Revises: 0500_intake
"""

import sqlalchemy as sa
from alembic import op

revision = "0501_vault_encryption"
down_revision = "0500_intake"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_contacts") as batch:
        batch.add_column(sa.Column("key_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))
        batch.create_index("ix_case_contacts_key_id", ["key_id"])


def downgrade() -> None:
    sealed = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM case_contacts WHERE key_id IS NOT NULL")
    )
    if sealed.scalar_one():
        raise RuntimeError(
            "case_contacts holds encrypted rows; a downgrade would lose them (erase or "
            "decrypt them first)"
        )
    with op.batch_alter_table("case_contacts") as batch:
        batch.drop_index("ix_case_contacts_key_id")
        batch.drop_column("sealed")
        batch.drop_column("key_id")
