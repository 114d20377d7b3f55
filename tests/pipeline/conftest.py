"""A small agency for the pipeline's tests: a hand-written history of requests and
the departments that handled them (written for these tests, not real records),
the default engine trained on it once, and the agency set up in each test's
transaction exactly as `cogov demo` does."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from cogov.core.clock import SystemClock
from cogov.core.settings import load_settings
from cogov.pipeline import Deployment
from cogov.pipeline import demo as runner
from cogov.pipeline.history import HistoryColumns, SplitHistory, read_split
from cogov.triage.classifier import TrainedEngine

PHRASES = {
    "Sanitation": [
        "overflowing litter basket",
        "missed garbage pickup",
        "rubbish bags on kerb",
        "dirty sidewalk with trash",
        "recycling not collected",
    ],
    "Police": [
        "loud music from party next door",
        "car alarm all night",
        "noisy neighbours shouting",
        "blocked driveway by a car",
        "illegal parking on hydrant",
    ],
    "Transport": [
        "pothole in the road",
        "street light not working",
        "broken traffic signal",
        "damaged street sign",
        "cracked pavement on crossing",
    ],
    "Parks": [
        "fallen tree branch in park",
        "dead tree on the street",
        "overgrown tree blocking light",
        "broken bench in the playground",
        "park fountain not working",
    ],
}
COLUMNS = HistoryColumns(
    text=("what",), label="department", id="ref", service="service", channel="channel"
)


def write_history(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "what", "department", "service", "channel"])
        ref = 0
        for round_ in range(6):
            for department, phrases in PHRASES.items():
                for phrase in phrases:
                    ref += 1
                    place = ["near the school", "on Main St", "at the corner", "by the shop",
                             "outside number 4", "behind the library"][round_]  # fmt: skip
                    writer.writerow(
                        [ref, f"{phrase} {place}", department, department.lower(), "ONLINE"]
                    )
    return path


@pytest.fixture(scope="session")
def split(tmp_path_factory: pytest.TempPathFactory) -> SplitHistory:
    path = write_history(tmp_path_factory.mktemp("history") / "history.csv")
    return read_split(path, COLUMNS, train_share=0.8)


@pytest.fixture(scope="session")
def router(split: SplitHistory) -> TrainedEngine:
    return runner.train_router(split)


@pytest.fixture(scope="session")
def deployment(
    split: SplitHistory, router: TrainedEngine, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("data"))
    return Deployment.from_settings(
        settings, engines={runner.AGENT_ID: router}, catalogue=split.catalogue
    )


@pytest.fixture
def agency(db_session: Session, split: SplitHistory, router: TrainedEngine) -> str:
    return runner.set_up_agency(db_session, split=split, engine=router, clock=SystemClock())


@pytest.fixture
def request_for() -> Callable[..., dict[str, object]]:
    def make(text: str, service: str = "sanitation", **extra: object) -> dict[str, object]:
        return {"service_code": service, "description": text, "channel": "web", **extra}

    return make
