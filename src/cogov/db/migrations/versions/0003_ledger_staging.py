"""ledger: entries staged in a transaction and chained at its commit (PostgreSQL)

Revision ID: 0003_ledger_staging
Revises: 0002_ledger_checkpoints

A writer that stages an entry inserts it into ``ledger_staged`` without taking the
ledger's lock; a deferred constraint trigger chains it into ``ledger_entries`` when the
transaction commits, under the lock, and deletes the staged row. The lock is then held
for the trigger and the commit only, never across a round trip to the client. The
trigger hashes exactly as ``cogov.ledger.rules.leaf_input`` does (``verify`` recomputes
every hash in Python, and the tests cross-check the two). SQLite has the table (one
schema for both) but never writes it: its transactions already take the one write lock
at BEGIN, so staging there is appending.

The constants below are frozen here on purpose: the lock key and the genesis hash are
part of the ledger's format.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_ledger_staging"
down_revision = "0002_ledger_checkpoints"
branch_labels = None
depends_on = None

LEDGER_ADVISORY_LOCK = 0x636F676F76
GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "ledger_staged",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.String(27), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("responsible", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_staged"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION cogov_ledger_integrate() RETURNS trigger AS $$
        DECLARE
            last_seq bigint;
            last_hash text;
            body text;
        BEGIN
            PERFORM pg_advisory_xact_lock({LEDGER_ADVISORY_LOCK});
            -- A statement of its own, so its snapshot is taken after the lock is granted.
            SELECT seq, entry_hash INTO last_seq, last_hash
                FROM ledger_entries ORDER BY seq DESC LIMIT 1;
            IF NOT FOUND THEN
                last_seq := 0;
                last_hash := '{GENESIS_HASH}';
            END IF;
            body := '[1,' || (last_seq + 1) || ',"' || NEW.recorded_at || '","'
                || NEW.kind || '",'
                || CASE WHEN NEW.case_id IS NULL THEN 'null'
                        ELSE '"' || NEW.case_id || '"' END
                || ',"' || NEW.actor || '","' || last_hash || '",'
                || length(NEW.responsible) || ',' || NEW.responsible || ','
                || length(NEW.payload) || ',' || NEW.payload || ']';
            INSERT INTO ledger_entries (seq, recorded_at, kind, case_id, actor,
                                        responsible, payload, prev_hash, entry_hash)
            VALUES (last_seq + 1, NEW.recorded_at, NEW.kind, NEW.case_id, NEW.actor,
                    NEW.responsible, NEW.payload, last_hash,
                    encode(sha256('\\x00'::bytea || convert_to(body, 'UTF8')), 'hex'));
            DELETE FROM ledger_staged WHERE id = NEW.id;
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER ledger_staged_integrate
        AFTER INSERT ON ledger_staged
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION cogov_ledger_integrate()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_staged_integrate ON ledger_staged")
        op.execute("DROP FUNCTION IF EXISTS cogov_ledger_integrate()")
    op.drop_table("ledger_staged")
