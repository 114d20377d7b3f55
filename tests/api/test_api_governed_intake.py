"""With engines deployed, an Open311 POST walks the whole governed path before it is
answered: the agency of `cogov demo` (its trained router, filed, approved, active and
guarded) on a database of its own, a request in, and what AI did with it out."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cogov.api import create_app
from cogov.control import Actor, proposals_for_case, transition
from cogov.core.clock import SystemClock
from cogov.core.settings import load_settings
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import unit_of_work
from cogov.intake import case_for_token
from cogov.pipeline import Deployment
from cogov.pipeline import demo as runner
from cogov.pipeline.history import read_split
from cogov.review import cancel_items
from tests.pipeline.conftest import COLUMNS, write_history


@pytest.fixture(scope="module")
def governed_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("governed")
    split = read_split(write_history(folder / "history.csv"), COLUMNS, train_share=0.8)
    router = runner.train_router(split)
    settings = load_settings(data_dir=folder / "data", rate_limit_per_minute=0)
    engine = make_engine(f"sqlite:///{folder / 'cogov.sqlite3'}")
    upgrade(engine)
    with unit_of_work(engine) as session:
        runner.set_up_agency(session, split=split, engine=router, clock=SystemClock())
    deployment = Deployment.from_settings(
        settings, engines={runner.AGENT_ID: router}, catalogue=split.catalogue
    )
    app = create_app(settings, engine=engine, migrate=False, deployment=deployment)
    with TestClient(app) as client:
        yield client
    engine.dispose()


def _post(client: TestClient, description: str) -> str:
    """POST a sanitation request; the citizen's token."""
    posted = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "sanitation", "description": description},
    )
    assert posted.status_code == 200, posted.text
    return str(posted.json()[0]["cogov"]["citizen_token"])


def _outputs(client: TestClient, follow: str, **params: str) -> list[dict[str, Any]]:
    """The follow extension's AI outputs (``cogov.ai``)."""
    ai: list[dict[str, Any]] = client.get(follow, params=params).json()["request"]["cogov"]["ai"]
    return ai


class TestGovernedIntake:
    def test_a_post_is_triaged_and_governed_before_the_answer(
        self, governed_client: TestClient, tmp_path: Path
    ) -> None:
        posted = governed_client.post(
            "/open311/v2/requests.json",
            data={"service_code": "sanitation", "description": "missed garbage pickup on Main St"},
        )
        assert posted.status_code == 200, posted.text
        [answer] = posted.json()
        request_id, token = answer["service_request_id"], answer["cogov"]["citizen_token"]

        [record] = governed_client.get(
            f"/open311/v2/requests/{request_id}.json", params={"extensions": "true"}
        ).json()
        outputs = record["cogov"]["ai"]
        assert outputs, "the deployed router proposed something"
        assert all(output["agent_id"] == runner.AGENT_ID for output in outputs)
        assert all(output["explanation"]["summary"] for output in outputs)
        assert record["cogov"]["state"] != "received"

        followed = governed_client.get(f"/open311/v2/cogov/follow/{token}.json").json()
        assert followed["request"]["service_request_id"] == request_id

    def test_a_bad_request_is_refused_before_anything_is_stored(
        self, governed_client: TestClient
    ) -> None:
        response = governed_client.post(
            "/open311/v2/requests.json", data={"service_code": "sanitation"}
        )
        assert response.status_code == 400
        assert response.json()[0]["description"].startswith("description")

    def test_the_follow_extension_words_the_explanation_in_the_language_asked(
        self, governed_client: TestClient
    ) -> None:
        token = _post(governed_client, "missed garbage pickup on Oak St")
        follow = f"/open311/v2/cogov/follow/{token}.json"
        english = _outputs(governed_client, follow)
        chinese = _outputs(governed_client, follow, lang="zh")
        by_header = governed_client.get(follow, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert english
        for mine, theirs in zip(english, chinese, strict=True):
            # The engine's English explanation stays the record, whatever was asked.
            assert mine["explanation"] == theirs["explanation"]
            assert mine["summary_language"] == "en"
            assert theirs["summary_language"] == "zh-Hans"
            assert "confidence" in mine["summary"]
            assert "置信度" in theirs["summary"]
            assert "confidence" not in theirs["summary"]
            # The AI label too; what machines read stays the same.
            assert mine["label"].startswith(("AI-suggested, ", "AI-drafted, "))
            assert theirs["label"].startswith(("人工智能建议，", "人工智能起草，"))
            assert not any(char.isascii() and char.isalpha() for char in theirs["label"])
            assert (mine["ai_drafted"], mine["outcome"]) == (
                theirs["ai_drafted"],
                theirs["outcome"],
            )
        [first, *_] = by_header.json()["request"]["cogov"]["ai"]
        assert first["summary_language"] == "zh-Hans"
        assert first["label"] == chinese[0]["label"]

    def test_a_suggestion_withdrawn_by_a_merge_is_not_waiting_in_the_follow_extension(
        self, governed_client: TestClient
    ) -> None:
        """A request merged into another as a repeat while the router's suggestion waited
        for a person: control cancels the suggestion. The follow extension says it was
        withdrawn, in the language asked, as the citizen's follow page does, and its
        ``state`` says ``cancelled`` for programs; it never reads as waiting."""
        # Words the router never learnt: its confidence (0.90) is under its threshold, so
        # a person must decide (a request it knows well may be applied instead).
        token = _post(governed_client, "something odd happened")
        follow = f"/open311/v2/cogov/follow/{token}.json"
        before = _outputs(governed_client, follow)
        waiting = [output for output in before if output["state"] == "pending_review"]
        assert waiting, [(o["state"], o["outcome"], o["label"]) for o in before]
        assert all("waiting" in output["label"] for output in waiting)

        cogov = governed_client.app.state.cogov  # type: ignore[attr-defined]
        with unit_of_work(cogov.engine) as session:
            case_id = case_for_token(session, token=token).id
            transition(
                session,
                case_id=case_id,
                to_state="merged",
                actor=Actor.human("rita"),
                config=cogov.control,
                reason="same pickup as an open request",
            )
            cancel_items(session, proposals=proposals_for_case(session, case_id=case_id))

        english = {o["proposal_id"]: o for o in _outputs(governed_client, follow)}
        chinese = {o["proposal_id"]: o for o in _outputs(governed_client, follow, lang="zh")}
        for output in waiting:
            mine, theirs = english[output["proposal_id"]], chinese[output["proposal_id"]]
            assert (mine["state"], mine["outcome"]) == ("cancelled", None)
            assert (theirs["state"], theirs["outcome"]) == ("cancelled", None)
            assert mine["label"].endswith("withdrawn because the request was merged into another")
            assert "waiting" not in mine["label"]
            assert "已撤回" in theirs["label"]
            assert "等待" not in theirs["label"]
            assert not any(char.isascii() and char.isalpha() for char in theirs["label"])
        page = html.unescape(governed_client.get(f"/track/{token}").text)
        assert "Withdrawn: this request was merged into another" in page
        assert "Waiting for a person to decide" not in page
