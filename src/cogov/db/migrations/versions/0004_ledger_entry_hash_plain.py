"""ledger: no unique index on entry_hash (ADR 0004)

Revision ID: 0004_ledger_entry_hash_plain
Revises: 0003_ledger_staging

``entry_hash`` hashes the entry's ``seq``, which is the primary key, so two entries
cannot share it without a SHA-256 collision; nothing looks an entry up by it. Its
unique index only cost every append an insert into a B-tree keyed by random
64-character strings, the dearest part of an append once the ledger is large. The
unique ``prev_hash`` (ADR 0001's fork guard) stays.

On SQLite a constraint declared in ``CREATE TABLE`` goes only with a table rebuild:
the rows are copied into the new table in one transaction, and the append-only
triggers, which go with the old table, are created again exactly as 0001 made them.
"""

from alembic import op

revision = "0004_ledger_entry_hash_plain"
down_revision = "0003_ledger_staging"
branch_labels = None
depends_on = None

SQLITE_VERBS = ("UPDATE", "DELETE")


def _drop_sqlite_triggers() -> None:
    for verb in SQLITE_VERBS:
        op.execute(f"DROP TRIGGER IF EXISTS ledger_entries_no_{verb.lower()}")


def _create_sqlite_triggers() -> None:
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
        _drop_sqlite_triggers()
        with op.batch_alter_table("ledger_entries", recreate="always") as batch:
            batch.drop_constraint("uq_ledger_entries_entry_hash", type_="unique")
        _create_sqlite_triggers()
    else:
        op.drop_constraint("uq_ledger_entries_entry_hash", "ledger_entries", type_="unique")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _drop_sqlite_triggers()
        with op.batch_alter_table("ledger_entries", recreate="always") as batch:
            batch.create_unique_constraint("uq_ledger_entries_entry_hash", ["entry_hash"])
        _create_sqlite_triggers()
    else:
        op.create_unique_constraint(
            "uq_ledger_entries_entry_hash", "ledger_entries", ["entry_hash"]
        )
