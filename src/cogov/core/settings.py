"""Settings as data: every field has a description, and a test fails if one is
missing from docs/settings.md. Read from the environment with the prefix
``COGOV_`` (e.g. ``COGOV_DATA_DIR``) or from a ``.env`` file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COGOV_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(
        default=Path(".cogov"),
        description="Directory for cogov's own files: the SQLite database, the ledger "
        "signing key, trained models and cached downloads.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database. Unset: a SQLite file "
        "`cogov.sqlite3` in the data directory. `postgresql+psycopg://user@host/db` "
        "switches to PostgreSQL with no other change.",
    )
    ledger_key_file: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs ledger checkpoints. Unset: "
        "`ledger/signing-key.pem` in the data directory, created on first use.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="How long a SQLite writer waits for the write lock before failing.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cogov.sqlite3').resolve()}"

    @property
    def resolved_ledger_key_file(self) -> Path:
        return self.ledger_key_file or self.data_dir / "ledger" / "signing-key.pem"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. ``--data-dir``) on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)  # type: ignore[arg-type]
