"""ledger: signed checkpoints and the Merkle tree's node store, both append-only

Revision ID: 0002_ledger_checkpoints
Revises: 0001_ledger
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger_checkpoints"
down_revision = "0001_ledger"
branch_labels = ("ledger",)
depends_on = None

TABLES = ("ledger_checkpoints", "ledger_tree_nodes")


def upgrade() -> None:
    op.create_table(
        "ledger_checkpoints",
        sa.Column("number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.String(27), nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("key_hash", sa.String(8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_ledger_checkpoints"),
        sa.UniqueConstraint("tree_size", name="uq_ledger_checkpoints_tree_size"),
    )
    op.create_table(
        "ledger_tree_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("node_index", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name="pk_ledger_tree_nodes"),
    )

    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"""
                    CREATE TRIGGER {table}_no_{verb.lower()}
                    BEFORE {verb} ON {table}
                    BEGIN
                        SELECT RAISE(ABORT, '{table} is append-only: {verb} refused');
                    END
                    """
                )
        return
    op.execute(
        """
        CREATE FUNCTION cogov_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
        END
        $$ LANGUAGE plpgsql
        """
    )
    for table in TABLES:
        op.execute(
            f"""
            CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION cogov_append_only()
            """
        )
        op.execute(
            f"""
            CREATE TRIGGER {table}_no_truncate
            BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION cogov_append_only()
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS cogov_append_only()")
    op.drop_table("ledger_tree_nodes")
    op.drop_table("ledger_checkpoints")
