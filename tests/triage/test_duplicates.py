from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest

from cogov.triage import ActionKind, CaseView, EvidenceKind, TriageEngine
from cogov.triage.duplicates import (
    DuplicateIndex,
    DuplicateSettings,
    ReplayedCase,
    fit_service_bias,
    haversine_m,
    replay,
)
from cogov.triage.presets import nyc311_cases
from tests.conftest import shared_data

T0 = datetime(2024, 1, 15, 8, 0, tzinfo=UTC)


def case(
    case_id: str,
    text: str,
    *,
    service: str | None = "streetlight",
    address: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    hours: float = 0.0,
) -> CaseView:
    return CaseView(
        case_id=case_id,
        description=text,
        service_code=service,
        address_key=address,
        latitude=lat,
        longitude=lon,
        created_at=T0 + timedelta(hours=hours),
    )


@pytest.fixture
def index() -> DuplicateIndex:
    index = DuplicateIndex()
    index.add(case("A1", "Street light out on the corner", address="12 Elm St", hours=0))
    index.add(
        case(
            "A2",
            "Pothole in front of the school",
            service="pothole",
            lat=40.7128,
            lon=-74.0060,
            hours=1,
        )
    )
    index.add(case("A3", "路灯不亮，晚上很黑", address="人民路 88 号", service="路灯", hours=2))
    return index


class TestDuplicateIndex:
    def test_same_place_same_problem_close_in_time_is_a_duplicate(
        self, index: DuplicateIndex
    ) -> None:
        (proposal,) = index.propose(
            case("B1", "streetlight is out at the corner", address="12 ELM ST", hours=3)
        )
        assert proposal.action is ActionKind.MARK_DUPLICATE
        assert proposal.value == "A1"
        assert proposal.confidence >= 0.8
        labels = [e.label for e in proposal.explanation.evidence if e.kind is EvidenceKind.SIGNAL]
        assert "same address" in labels
        assert "same service" in labels
        assert any(label.startswith("word similarity") for label in labels)
        assert any(label.endswith("h apart") for label in labels)
        assert "A1" in proposal.explanation.summary
        # The same facts as plain values, for a page to word in its own language.
        evidence = proposal.explanation.evidence
        facts = {e.data["signal"]: e.data for e in evidence if e.kind is EvidenceKind.SIGNAL}
        assert {"same_address", "same_service", "hours_apart", "word_similarity"} <= set(facts)
        assert facts["hours_apart"]["hours"] == pytest.approx(3.0)
        similar = [e for e in evidence if e.kind is EvidenceKind.SIMILAR_CASE]
        assert [e.data for e in similar] == [{"case_id": "A1"}]

    def test_nearby_coordinates_count_as_the_same_place(self, index: DuplicateIndex) -> None:
        # ~11 m north of A2.
        (proposal,) = index.propose(
            case(
                "B2",
                "big pothole by the school",
                service="pothole",
                lat=40.7129,
                lon=-74.0060,
                hours=2,
            )
        )
        assert proposal.value == "A2"
        assert any(e.label.endswith("m apart") for e in proposal.explanation.evidence)

    def test_chinese_repeat_is_found(self, index: DuplicateIndex) -> None:
        (proposal,) = index.propose(
            case("B3", "人民路88号路灯坏了不亮", address="人民路 88 号", service="路灯", hours=5)
        )
        assert proposal.value == "A3"

    @pytest.mark.parametrize(
        "new",
        [
            case("C1", "Street light out", address="14 Elm St", hours=3),  # another place
            case("C2", "Street light out", address="12 Elm St", hours=24 * 30),  # long after
            case("C3", "Loud party upstairs", service="noise", address="12 Elm St", hours=3),
            case("C4", "Street light out", hours=3),  # no place at all
        ],
    )
    def test_different_place_time_or_problem_is_not(
        self, index: DuplicateIndex, new: CaseView
    ) -> None:
        assert index.propose(new) == []

    def test_closed_cases_leave_the_index(self, index: DuplicateIndex) -> None:
        index.remove("A1")
        assert "A1" not in index
        assert index.propose(case("B1", "street light out", address="12 Elm St", hours=3)) == []
        index.remove("unknown")  # harmless

    def test_placeholder_coordinates_name_no_place(self) -> None:
        index = DuplicateIndex()
        index.add(case("P1", "street light out", lat=39.0, lon=-77.0))
        assert index.propose(case("P2", "street light out", lat=39.0, lon=-77.0, hours=1)) == []

    def test_is_an_engine_with_a_stable_identity(self) -> None:
        assert isinstance(DuplicateIndex(), TriageEngine)
        assert DuplicateIndex().identity == DuplicateIndex().identity
        other = DuplicateIndex(DuplicateSettings(max_distance_m=80))
        assert other.identity.model_hash != DuplicateIndex().identity.model_hash

    def test_haversine(self) -> None:
        assert haversine_m(40.0, -74.0, 40.001, -74.0) == pytest.approx(111.2, abs=0.5)


class TestReplayAndLearning:
    def test_replay_compares_with_cases_still_open(self) -> None:
        first = case("R1", "street light out", address="1 Main St", hours=0)
        again = case("R2", "street light out", address="1 Main St", hours=5)
        closed_before = [
            ReplayedCase(first, closed_at=T0 + timedelta(hours=2)),
            ReplayedCase(again),
        ]
        assert [p for _, p in replay(closed_before)] == [None, None]
        still_open = [ReplayedCase(again), ReplayedCase(first)]  # order given is irrelevant
        proposals = {c.case_id: p for c, p in replay(still_open)}
        assert proposals["R1"] is None
        assert proposals["R2"] is not None
        assert proposals["R2"].value == "R1"

    def test_learnt_service_bias_silences_services_that_never_merge(self) -> None:
        history = []
        for k in range(12):
            history.append(
                ReplayedCase(
                    case(f"N{k}a", "loud music", service="noise", address=f"{k} Oak St", hours=k)
                )
            )
            history.append(
                ReplayedCase(
                    case(
                        f"N{k}b",
                        "loud music",
                        service="noise",
                        address=f"{k} Oak St",
                        hours=k + 0.5,
                    )
                )
            )
            history.append(
                ReplayedCase(
                    case(f"H{k}a", "no heat", service="heat", address=f"{k} Pine St", hours=k)
                )
            )
            history.append(
                ReplayedCase(
                    case(f"H{k}b", "no heat", service="heat", address=f"{k} Pine St", hours=k + 0.5)
                )
            )
        labels = {
            item.case.case_id: item.case.case_id.startswith("H") and item.case.case_id.endswith("b")
            for item in history
        }
        settings = fit_service_bias(history, labels.get)
        bias = dict(settings.service_bias)
        assert bias["noise"] < -3  # never merged: pushed far below the proposal level
        assert bias["noise"] < bias["heat"]
        proposals = {c.case_id: p for c, p in replay(history, DuplicateIndex(settings))}
        assert all(proposals[f"N{k}b"] is None for k in range(12))
        assert all(proposals[f"H{k}b"] is not None for k in range(12))


@pytest.mark.realdata
class TestNycDuplicates:
    def test_precision_and_recall_against_the_agencies_own_labels(self) -> None:
        cases, labels = nyc311_cases(shared_data("nyc311_2018-10-21/311_sample.csv"))
        assert sum(labels.values()) == 1051
        # Cross-fitted: the service bias is learnt on one half of the labels and
        # measured on the other half, then the other way round.
        half = {cid: zlib.crc32(cid.encode()) % 2 for cid in labels}
        tp = fp = fn = 0
        for held in (0, 1):
            settings = fit_service_bias(
                cases, lambda cid, held=held: labels[cid] if half[cid] != held else None
            )
            for view, proposal in replay(cases, DuplicateIndex(settings)):
                if half[view.case_id] != held:
                    continue
                truth = labels[view.case_id]
                tp += proposal is not None and truth
                fp += proposal is not None and not truth
                fn += proposal is None and truth
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        # Measured 0.79 and 0.60. Only 608 of the 1,051 have an earlier case at the same
        # address and service in the file at all; the rest repeat one from before that day.
        assert precision >= 0.75, (precision, recall)
        assert recall >= 0.55, (precision, recall)
