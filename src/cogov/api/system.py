"""Liveness and readiness, for load balancers and `cogov serve` checks."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from cogov import __version__
from cogov.api.deps import DbSession

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    version: str
    database: str


@router.get("/healthz", response_model=Health, summary="Liveness and database reachability")
def health(session: DbSession) -> Health:
    session.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__, database=session.get_bind().dialect.name)
