"""Shared fixtures of the triage tests: the hand-written Chinese hotline history and
one engine trained on it once per session (training is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogov.triage import TrainedEngine, read_history, train
from cogov.triage.history import History

FIXTURES = Path(__file__).parent / "fixtures"
HOTLINE_ZH = FIXTURES / "hotline_zh.csv"


@pytest.fixture(scope="session")
def hotline_history() -> History:
    return read_history(
        HOTLINE_ZH, text_columns=["诉求内容"], label_column="承办部门", id_column="工单号"
    )


@pytest.fixture(scope="session")
def hotline_engine(hotline_history: History) -> TrainedEngine:
    assert hotline_history.labels is not None
    return train(
        hotline_history.texts,
        hotline_history.labels,
        case_ids=hotline_history.case_ids,
        text_columns=["诉求内容"],
        label_column="承办部门",
    )
