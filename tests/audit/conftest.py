"""Fixed, hand-built case data for the audit tests (no real records here)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from cogov.audit import CaseFrame, case_frame

GROUP_SIZES = {"north": 900, "south": 700, "east": 400, "west": 250, "harbour": 12}
ROUTES = ["sanitation", "transport", "housing", "police"]


def fixed_cases(seed: int = 7) -> pl.DataFrame:
    """Cases whose outcomes differ by district and channel on purpose, with gaps
    (nulls) in every outcome column so null handling is exercised too."""
    rng = np.random.default_rng(seed)
    districts = np.concatenate([np.full(size, name) for name, size in GROUP_SIZES.items()])
    n = districts.size
    start = datetime(2024, 1, 1)
    created = [start + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 200, n)]
    slow = np.isin(districts, ["east", "harbour"])
    hours_to_close = rng.gamma(2.0, 30.0, n) * np.where(slow, 2.2, 1.0)
    closed: list[datetime | None] = [
        c + timedelta(hours=float(h)) for c, h in zip(created, hours_to_close, strict=True)
    ]
    for index in rng.choice(n, 60, replace=False):
        closed[index] = None
    due = [c + timedelta(hours=72) for c in created]
    channel = rng.choice(["web", "phone", "app", "counter"], n, p=[0.45, 0.3, 0.2, 0.05])
    without_human = rng.random(n) < np.where(channel == "phone", 0.3, 0.7)
    final_route = rng.choice(ROUTES, n)
    wrong = rng.random(n) < np.where(districts == "west", 0.35, 0.12)
    proposed = np.where(wrong, np.roll(final_route, 1), final_route)
    appealed = rng.random(n) < np.where(districts == "south", 0.08, 0.03)
    upheld = appealed & (rng.random(n) < 0.5)
    overridden = (~without_human) & (rng.random(n) < np.where(districts == "west", 0.4, 0.15))

    def with_gaps(values: np.ndarray, share: float) -> list[object]:
        out = values.tolist()
        for index in rng.choice(n, int(n * share), replace=False):
            out[index] = None
        return out

    return pl.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "created_at": created,
            "routed_at": [
                c + timedelta(minutes=int(m))
                for c, m in zip(created, rng.integers(1, 600, n), strict=True)
            ],
            "closed_at": closed,
            "due_at": due,
            "service": rng.choice(["noise", "pothole", "heat"], n),
            "agent": rng.choice(["router-1", "router-2"], n),
            "channel": channel,
            "area": districts,
            "district": districts,
            "age_band": rng.choice(["18-39", "40-64", "65+"], n, p=[0.5, 0.35, 0.15]),
            "handled_without_human": with_gaps(without_human, 0.05),
            "overridden": with_gaps(overridden, 0.05),
            "appealed": with_gaps(appealed, 0.02),
            "appeal_upheld": upheld.tolist(),
            "proposed_route": with_gaps(proposed, 0.03),
            "final_route": final_route.tolist(),
            "duplicate_of": [f"c{i - 1}" if i % 17 == 0 else None for i in range(n)],
            "draft_seconds": rng.gamma(2.0, 20.0, n),
        },
        schema_overrides={"closed_at": pl.Datetime("us")},
    )


@pytest.fixture(scope="session")
def cases() -> pl.DataFrame:
    return fixed_cases()


@pytest.fixture(scope="session")
def frame(cases: pl.DataFrame) -> CaseFrame:
    return case_frame(cases, groups=("district", "channel", "district*age_band"), source="fixed")
