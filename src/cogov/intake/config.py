"""What intake needs to know about the agency: its catalogue, the group attributes
it records, the key behind citizen tokens, and the contact vault's keys."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cogov.core.settings import Settings
from cogov.intake.catalogue import Catalogue, GroupAttributes, load_catalogue, load_group_attributes
from cogov.intake.vault import VaultKeyring, load_keyring

TOKEN_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class IntakeConfig:
    catalogue: Catalogue
    groups: GroupAttributes
    token_key: bytes
    #: Keys of the contact vault (None: a request with contact details is refused).
    vault: VaultKeyring | None = None

    def __post_init__(self) -> None:
        if len(self.token_key) < 16:
            raise ValueError("token_key: must be at least 16 bytes")


def load_or_create_token_key(path: Path) -> bytes:
    """The agency's citizen-token key, created (owner-only) on first use."""
    if path.exists():
        key = path.read_bytes()
        if len(key) < 16:
            raise ValueError(f"{path}: a citizen-token key must be at least 16 bytes")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(TOKEN_KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key


def load_intake_config(settings: Settings, *, catalogue: Catalogue | None = None) -> IntakeConfig:
    """The agency's files from ``agency_config_dir`` where present, else cogov's defaults."""
    folder = settings.agency_config_dir

    def agency_file(name: str) -> Path | None:
        if folder is None:
            return None
        path = folder / name
        return path if path.exists() else None

    return IntakeConfig(
        catalogue=catalogue or load_catalogue(agency_file("services.yaml")),
        groups=load_group_attributes(agency_file("groups.yaml")),
        token_key=load_or_create_token_key(settings.data_dir / "intake" / "citizen-token.key"),
        vault=load_keyring(settings),
    )
