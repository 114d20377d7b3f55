"""A `cogov serve` worker moves its start-up heap out of the garbage collector's reach,
so a full collection while serving walks only what requests made (docs/api.md)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from cogov.api import app as app_module


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # give the test process's objects back to the collector


def test_worker_app_freezes_what_start_up_made(
    unfrozen: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COGOV_DATABASE_URL", f"sqlite:///{tmp_path / 'cogov.sqlite3'}")
    built: list[FastAPI] = []

    def create_app(*_args: object, **_options: object) -> FastAPI:
        built.append(FastAPI())
        return built[-1]

    monkeypatch.setattr(app_module, "create_app", create_app)
    assert gc.get_freeze_count() == 0
    app = app_module.app_from_environment()
    assert app is built[0]
    # The application (and the rest of the heap) is now in the permanent generation:
    # no generation the collector walks holds it.
    assert gc.get_freeze_count() > 0
    assert not any(obj is app for generation in range(3) for obj in gc.get_objects(generation))
