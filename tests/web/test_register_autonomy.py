"""The public register shows how each agent is doing now, in English and Chinese: its
autonomy level in plain words and its grade's ceiling, the last change with the
controller's reasons and numbers, and the measures of the controller's window (the
numbers the domain computes, and the proposals stored), naming nobody; on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cogov.control.autonomy import AutonomyPolicy, evaluate, public_standing
from cogov.control.config import load_control_config
from cogov.control.models import ProposalRecord
from cogov.db.session import unit_of_work
from cogov.review import decide, list_queue
from tests.conftest import BACKENDS
from tests.web.agency import AGENT_ID, seed_requests
from tests.web.conftest import app_on

# Thresholds small enough for a dozen requests to be judged.
SMALL = {"autonomy_min_decisions": 5, "autonomy_min_reviewed": 2, "autonomy_min_group_size": 2}


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    with app_on(request.param, tmp_path_factory.mktemp("register"), agents=True) as application:
        state = application.state.cogov
        # The register reads the controller's thresholds from the application's settings.
        state.settings = state.settings.model_copy(update=SMALL)
        seed_requests(application, count=12)
        yield application


def policy(app: FastAPI) -> AutonomyPolicy:
    return AutonomyPolicy.from_settings(app.state.cogov.settings)


def visitor(app: FastAPI, language: str = "en-GB") -> TestClient:
    return TestClient(app, follow_redirects=False, headers={"Accept-Language": language})


def stored_proposals(app: FastAPI) -> int:
    with unit_of_work(app.state.cogov.engine) as session:
        query = select(func.count()).where(ProposalRecord.agent_id == AGENT_ID)
        return int(session.execute(query).scalar_one())


class TestAutonomyOnTheRegister:
    def test_the_page_shows_the_controllers_window(self, app: FastAPI) -> None:
        with unit_of_work(app.state.cogov.engine) as session:
            window = public_standing(session, agent_id=AGENT_ID, policy=policy(app)).window
        # Every proposal the router made is in the window (no change, all recent).
        assert window.proposals == stored_proposals(app) == 12
        assert window.applied_without_person is not None
        page = visitor(app).get(f"/register/{AGENT_ID}")
        assert page.status_code == 200
        text = page.text
        assert "Level 1 of 3 (assisting)" in text  # the initial level, under grade II's 2
        assert "Level 2 (supervised)" in text
        assert "Never changed: it holds the level it started with." in text
        assert "12 suggestions in this window" in text
        share = round(100 * window.applied_without_person / window.proposals)
        assert f"<td>{share}% ({window.applied_without_person} of 12)</td>" in text
        # Nobody decided any of them yet: too few to judge overrides (2 needed).
        assert "<td>Not enough cases yet</td>" in text
        assert "<td>0%, by Age band</td>" in text
        assert "18 to 34: 0% of 4" in text
        listed = visitor(app).get("/register").text
        assert "Level 1 of 3 (assisting)" in listed
        assert f"/register/{AGENT_ID}#autonomy" in listed

    def test_in_chinese(self, app: FastAPI) -> None:
        text = visitor(app, "zh-CN").get(f"/register/{AGENT_ID}").text
        assert '<html lang="zh-Hans">' in text
        assert "目前的表现" in text
        assert "第 1 级（共 3 级，辅助）" in text
        assert "此窗口内有 12 项建议" in text
        assert "Not enough" not in text
        assert "目前的自主程度" in visitor(app, "zh-CN").get("/register").text

    def test_a_controller_lowering_says_why_with_its_numbers(self, app: FastAPI) -> None:
        state = app.state.cogov
        config = load_control_config(state.settings)
        with unit_of_work(state.engine) as session:
            items = list_queue(session, agent_id=AGENT_ID, limit=2)
            assert len(items) == 2
            for item in items:
                decide(
                    session,
                    item_id=item.id,
                    reviewer="rita",
                    decision="reject",
                    reason_code="wrong_department",
                    config=config,
                    clock=state.clock,
                )
            # The controller with the application's thresholds: 2 of 2 overridden.
            evaluated = evaluate(session, agent_id=AGENT_ID, policy=policy(app), clock=state.clock)
        assert (evaluated.from_level, evaluated.to_level) == (1, 0)
        text = visitor(app).get(f"/register/{AGENT_ID}").text
        assert "Level 0 of 3 (suggesting only)" in text
        assert "the automatic controller lowered it from level 1 to level 0 at once." in text
        assert (
            "The share of its suggestions a person changed or rejected was 100%, above the "
            "limit of 15%." in text
        )
        # A new window begins at the change.
        assert "0 suggestions in this window" in text
        assert "this window has 0." in text
        assert "rita" not in text
        chinese = visitor(app, "zh-CN").get(f"/register/{AGENT_ID}").text
        assert "自动控制器" in chinese
