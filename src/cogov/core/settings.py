"""Settings as data: every field has a description, and a test fails if one is
missing from docs/settings.md. Read from the environment with the prefix
``COGOV_`` (e.g. ``COGOV_DATA_DIR``) or from a ``.env`` file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
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
    agency_config_dir: Path | None = Field(
        default=None,
        description="Directory with the agency's own configuration files, each optional: "
        "services.yaml (service catalogue), groups.yaml (group attributes recorded), "
        "processes.yaml (standard processes), negative-list.yaml (rules), routing.yaml "
        "(routing policy), review-reasons.yaml (reason codes of human review). A file that is "
        "absent falls back to cogov's default.",
    )
    ledger_origin: str | None = Field(
        default=None,
        pattern=r"^[^\s+]+$",
        description="Origin line of signed ledger checkpoints (the log's name, e.g. "
        "`ledger.example-city.gov/311`). Unset: `cogov.ledger/` and the signing key's "
        "fingerprint. Keep it fixed for the life of a ledger.",
    )
    vault_key_file: Path | None = Field(
        default=None,
        description="Keys (JSON, mode 0600) that encrypt the contact vault with AES-256-GCM. "
        "Unset: `intake/vault-keys.json` in the data directory, created on first use. "
        "Not read when COGOV_VAULT_KEYS is set.",
    )
    vault_keys: SecretStr | None = Field(
        default=None,
        description="Contact-vault keys given directly, as `id:base64key` pairs separated by "
        "commas, the first one current (32 random bytes each). Overrides the key file.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="How long a SQLite writer waits for the write lock before failing.",
    )

    # --- HTTP service (cogov.api) ---
    session_cookie_secure: bool = Field(
        default=False,
        description="Mark the web session and CSRF cookies Secure (sent over HTTPS only). "
        "Turn on whenever the service is reached over HTTPS.",
    )
    session_lifetime_hours: float = Field(
        default=12.0,
        gt=0,
        description="A web session ends this many hours after sign-in, however active.",
    )
    session_idle_minutes: float = Field(
        default=60.0,
        gt=0,
        description="A web session ends after this many minutes without a request.",
    )
    open311_api_key_required: bool = Field(
        default=False,
        description="Open311 POST /requests needs an `api_key` (an API token from "
        "`cogov tokens issue`). Off: anyone may post, within the rate limit.",
    )
    open311_jurisdiction_id: str | None = Field(
        default=None,
        description="The Open311 `jurisdiction_id` this endpoint serves (e.g. `city.gov`). "
        "Set: requests naming another jurisdiction are refused; unset: the parameter is "
        "ignored.",
    )
    rate_limit_per_minute: float = Field(
        default=30.0,
        ge=0,
        description="Public POSTs (new requests, appeals, ratings, sign-in) each client may "
        "make per minute, refilled continuously; 0 turns the limit off. Kept in the "
        "database, so it holds across every worker and server.",
    )
    rate_limit_burst: int = Field(
        default=10,
        ge=1,
        description="How many public POSTs a client may make at once before the per-minute "
        "rate applies (the token bucket's size).",
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="Take the client address for rate limits from the first "
        "`X-Forwarded-For` entry. Turn on only behind a proxy that sets that header.",
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description="Web origins whose pages may call the API from a browser (CORS), as a "
        'JSON list, e.g. `["https://map.city.example"]`; `["*"]` for any. Cookies are never '
        "sent cross-origin: such pages use Open311 or a bearer token.",
    )

    # --- Human review and dynamic autonomy (cogov.review, cogov.control.autonomy) ---
    review_deadline_hours: float = Field(
        default=24.0,
        gt=0,
        description="A proposal queued for human review must be decided within this many "
        "hours (when the caller names no deadline); past it, undecided, it is escalated to "
        "the agent's backup guardian, never applied by default.",
    )
    review_claim_minutes: float = Field(
        default=30.0,
        gt=0,
        description="A reviewer's claim on a queue item lapses after this many minutes "
        "undecided; the item is then open to the team again (and escalated if overdue).",
    )
    review_escalation_hours: float = Field(
        default=8.0,
        gt=0,
        description="The backup guardian's deadline for an escalated item, in hours from "
        "the escalation.",
    )
    review_escalation_interval_seconds: float = Field(
        default=0.0,
        ge=0,
        description="`cogov serve` escalates overdue review items to the backup guardian "
        "every this many seconds, in the background (0: off; run `cogov review escalate` "
        "from cron, or `--every N`). Safe with several workers: one sweeps at a time.",
    )
    autonomy_initial_level: int = Field(
        default=1,
        ge=0,
        le=3,
        description="Autonomy level (0 suggest only, 1 assist, 2 supervised, 3 autonomous) "
        "of an agent whose level was never set; its grade's ceiling still caps it. Only the "
        "agent's guardian can raise it.",
    )
    autonomy_window_decisions: int = Field(
        default=500,
        ge=1,
        description="The autonomy controller judges each agent on at most this many of its "
        "latest decisions (proposals).",
    )
    autonomy_window_days: float = Field(
        default=30.0,
        gt=0,
        description="The autonomy controller judges only decisions made within this many "
        "days, and none made before the agent's level last changed.",
    )
    autonomy_min_decisions: int = Field(
        default=30,
        ge=1,
        description="Decisions in the window before the upheld-appeal and negative-list rates "
        "are judged (fewer: too few to judge).",
    )
    autonomy_min_reviewed: int = Field(
        default=20,
        ge=1,
        description="Human-reviewed decisions in the window before the override rate is judged.",
    )
    autonomy_max_override_rate: float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="Share of an agent's reviewed proposals that humans edited or rejected, "
        "above which the controller lowers its level at once (two levels above twice this).",
    )
    autonomy_max_upheld_appeal_rate: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Share of an agent's decisions overturned by an upheld appeal, above "
        "which the controller lowers its level at once.",
    )
    autonomy_max_negative_list_rate: float = Field(
        default=0.10,
        ge=0,
        le=1,
        description="Share of an agent's proposals a negative-list rule spoke against, above "
        "which the controller lowers its level at once.",
    )
    autonomy_max_group_gap: float = Field(
        default=0.20,
        ge=0,
        le=1,
        description="Largest tolerated gap between groups (group attributes recorded at "
        "intake) in the share of an agent's decisions handled without a human; wider, the "
        "controller lowers its level at once.",
    )
    autonomy_min_group_size: int = Field(
        default=20,
        ge=1,
        description="Decisions a group needs in the window before it counts in the group gap.",
    )

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_not_empty(cls, value: object) -> object:
        # Path("") is the current directory: an empty COGOV_DATA_DIR (a variable set to
        # nothing) would put the database wherever the command was run, silently.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty (unset it for the default ./.cogov)")
        return value

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
