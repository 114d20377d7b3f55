"""Pure rules of access: secrets, their hashes, and the token bucket arithmetic."""

from __future__ import annotations

import hashlib
import secrets

from cogov.core.text import control_character_problem
from cogov.identity.access.errors import InvalidTokenInput

SECRET_BYTES = 32
# Tokens say what they are, so a leaked one is easy to spot in logs and scanners.
API_TOKEN_PREFIX = "cgv_"
PREFIX_SHOWN = 8
MAX_NAME = 100


def new_secret() -> str:
    """32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def new_api_token_secret() -> str:
    return API_TOKEN_PREFIX + new_secret()


def secret_hash(secret: str) -> str:
    """SHA-256 of the secret: a random 256-bit secret needs no slow hash or salt."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def shown_prefix(secret: str) -> str:
    return secret[: len(API_TOKEN_PREFIX) + PREFIX_SHOWN]


def check_token_name(name: str) -> str:
    problem = control_character_problem(name)
    if problem is not None:
        raise InvalidTokenInput("name", problem)
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidTokenInput("name", "must not be empty")
    if len(cleaned) > MAX_NAME:
        raise InvalidTokenInput("name", f"at most {MAX_NAME} characters")
    return cleaned


def refill(tokens: float, elapsed: float, *, capacity: float, per_second: float) -> float:
    """Tokens in a bucket after ``elapsed`` seconds (never above capacity)."""
    return min(capacity, tokens + max(0.0, elapsed) * per_second)


def wait_for_token(tokens: float, *, per_second: float) -> float:
    """Seconds until a bucket holding ``tokens`` has a whole one."""
    return 0.0 if tokens >= 1.0 else (1.0 - tokens) / per_second
