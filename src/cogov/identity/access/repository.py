"""Every query on api_tokens, web_sessions and rate_buckets. Nothing else touches them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cogov.identity.access.models import ApiToken, RateBucket, WebSession


def add(session: Session, row: ApiToken | WebSession) -> None:
    session.add(row)
    session.flush()


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()


def token_by_id(session: Session, token_id: str) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def tokens(session: Session, *, username: str | None, include_revoked: bool) -> Sequence[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if username is not None:
        query = query.where(ApiToken.username == username)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return session.scalars(query).all()


def web_session(session: Session, id_hash: str) -> WebSession | None:
    return session.get(WebSession, id_hash)


def end_sessions_of(session: Session, username: str) -> int:
    """End every live session of ``username`` in one statement; how many were live."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.username == username, WebSession.ended.is_(False))
        .values(ended=True)
        .execution_options(synchronize_session="evaluate")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def delete_expired_sessions(session: Session, now: datetime) -> int:
    result = session.execute(
        delete(WebSession).where((WebSession.expires_at < now) | WebSession.ended.is_(True))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def take_from_bucket(
    session: Session, *, key: str, now: float, capacity: float, per_second: float
) -> tuple[bool, float]:
    """Refill and take one token in ONE statement (an upsert), so concurrent workers
    never both spend the last token. Returns (granted, tokens left)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    smallest = func.least if dialect == "postgresql" else func.min
    largest = func.greatest if dialect == "postgresql" else func.max
    table = RateBucket.__table__
    elapsed = largest(literal(now) - table.c.updated, literal(0.0))
    refilled = smallest(literal(capacity), table.c.tokens + elapsed * literal(per_second))
    fresh = insert(RateBucket).values(key=key, tokens=capacity - 1.0, updated=now, granted=True)
    statement = fresh.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "tokens": case((refilled >= 1.0, refilled - 1.0), else_=refilled),
            "updated": literal(now),
            "granted": refilled >= 1.0,
        },
    ).returning(table.c.granted, table.c.tokens)
    granted, tokens = session.execute(statement).one()
    return bool(granted), float(tokens)


def delete_full_buckets(session: Session, *, older_than: float) -> int:
    """Forget buckets untouched long enough to be full again (they hold no state)."""
    result = session.execute(delete(RateBucket).where(RateBucket.updated < older_than))
    return int(getattr(result, "rowcount", 0) or 0)
