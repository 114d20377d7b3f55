"""An ASGI application whose start-up fails, for `run_uvicorn`'s test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    raise RuntimeError("start-up refused on purpose")
    yield  # pragma: no cover - never reached


app = FastAPI(lifespan=_lifespan)
