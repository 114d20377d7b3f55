"""ledger: the database checks each entry's link instead of unique hash indexes (ADR 0004)

Revision ID: 0004_ledger_link_check
Revises: 0003_ledger_staging

0001 guarded the chain with unique indexes on ``prev_hash`` and ``entry_hash``, two
B-trees keyed by random 64-character strings that every append inserts into at a random
place. This migration drops both and adds an insert trigger that checks the link itself:
entry ``seq`` must name as ``prev_hash`` the ``entry_hash`` of entry ``seq - 1`` (the
genesis hash for entry 1), a primary-key lookup. It refuses everything the unique
``prev_hash`` refused (a second entry on one predecessor) and more (an entry on a
missing or wrong predecessor). ``entry_hash`` hashes ``seq``, the primary key, so its
own unique index refused nothing.

On SQLite a constraint declared in ``CREATE TABLE`` goes only with a table rebuild: the
rows are copied into the new table in one transaction, and the append-only triggers,
which go with the old table, are created again exactly as 0001 made them.

The genesis hash is frozen here on purpose: it is part of the ledger's format.
"""

from alembic import op

revision = "0004_ledger_link_check"
down_revision = "0003_ledger_staging"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
UNIQUE_COLUMNS = ("prev_hash", "entry_hash")
SQLITE_VERBS = ("UPDATE", "DELETE")
REFUSAL = "ledger_entries: prev_hash is not the entry_hash of the entry before"


def _drop_sqlite_append_only() -> None:
    for verb in SQLITE_VERBS:
        op.execute(f"DROP TRIGGER IF EXISTS ledger_entries_no_{verb.lower()}")


def _create_sqlite_append_only() -> None:
    for verb in SQLITE_VERBS:
        op.execute(
            f"""
            CREATE TRIGGER ledger_entries_no_{verb.lower()}
            BEFORE {verb} ON ledger_entries
            BEGIN
                SELECT RAISE(ABORT, 'ledger_entries is append-only: {verb} refused');
            END
            """
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _drop_sqlite_append_only()
        with op.batch_alter_table("ledger_entries", recreate="always") as batch:
            for column in UNIQUE_COLUMNS:
                batch.drop_constraint(f"uq_ledger_entries_{column}", type_="unique")
        _create_sqlite_append_only()
        op.execute(
            f"""
            CREATE TRIGGER ledger_entries_link
            BEFORE INSERT ON ledger_entries
            WHEN NEW.prev_hash IS NOT (
                CASE WHEN NEW.seq = 1 THEN '{GENESIS_HASH}'
                ELSE (SELECT entry_hash FROM ledger_entries WHERE seq = NEW.seq - 1) END
            )
            BEGIN
                SELECT RAISE(ABORT, '{REFUSAL}');
            END
            """
        )
        return
    for column in UNIQUE_COLUMNS:
        op.drop_constraint(f"uq_ledger_entries_{column}", "ledger_entries", type_="unique")
    # VOLATILE (the default) so that, in a multi-row INSERT, the lookup sees the rows
    # the same statement inserted before this one.
    op.execute(
        f"""
        CREATE FUNCTION cogov_ledger_link() RETURNS trigger AS $$
        DECLARE
            expected text;
        BEGIN
            IF NEW.seq = 1 THEN
                expected := '{GENESIS_HASH}';
            ELSE
                SELECT entry_hash INTO expected FROM ledger_entries WHERE seq = NEW.seq - 1;
            END IF;
            IF expected IS DISTINCT FROM NEW.prev_hash THEN
                RAISE EXCEPTION '{REFUSAL} (entry %)', NEW.seq
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE TRIGGER ledger_entries_link
        BEFORE INSERT ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION cogov_ledger_link()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_link")
        _drop_sqlite_append_only()
        with op.batch_alter_table("ledger_entries", recreate="always") as batch:
            for column in UNIQUE_COLUMNS:
                batch.create_unique_constraint(f"uq_ledger_entries_{column}", [column])
        _create_sqlite_append_only()
        return
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_link ON ledger_entries")
    op.execute("DROP FUNCTION IF EXISTS cogov_ledger_link()")
    for column in UNIQUE_COLUMNS:
        op.create_unique_constraint(f"uq_ledger_entries_{column}", "ledger_entries", [column])
