"""identity: the departments each staff user's field team works

Revision ID: 0301_identity_departments
Revises: 0300_identity
"""

import sqlalchemy as sa
from alembic import op

revision = "0301_identity_departments"
down_revision = "0300_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_departments",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "department", name="pk_user_departments"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_user_departments_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_user_departments_department", "user_departments", ["department"])


def downgrade() -> None:
    op.drop_index("ix_user_departments_department", table_name="user_departments")
    op.drop_table("user_departments")
