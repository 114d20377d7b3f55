"""The review and follow pages word an AI proposal's explanation and control's checks
in the page's language from their structured data, and never repeat an engine's
claim about routing: the threshold a person reads is the one in force."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cogov.control.models import ProposalRecord
from cogov.db.session import unit_of_work
from cogov.web.explain import percent
from tests.conftest import BACKENDS
from tests.web.conftest import app_on, csrf_of, sign_in

# What the default engine's summary said before it stopped claiming anything about
# routing: the engine's threshold (0.78), not the one in force, and a verdict that
# only control may give. A row stored then must not bring it back to a page.
ENGINE_CLAIM = (
    "route -> Transport (confidence 0.99, threshold 0.78: may be applied automatically); "
    "driven by 'pothole'; 3 of the 3 most similar past cases had this label."
)
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+")


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    with app_on(request.param, tmp_path_factory.mktemp("explain"), agents=True) as application:
        yield application


def client_for(app: FastAPI, username: str | None = None, language: str = "en") -> TestClient:
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("cogov_lang", language)
    if username:
        sign_in(client, username)
    return client


def queued(app: FastAPI, key: str) -> tuple[str, str, ProposalRecord]:
    """A citizen's pothole report, sent to review; its item, the citizen's token, and
    the proposal, whose stored summary is made to carry the old engine claim."""
    citizen = client_for(app)
    form = csrf_of(citizen.get("/requests/new").text)
    response = citizen.post(
        "/requests",
        data={
            "csrf_token": form,
            "idempotency_key": key,
            "service_code": "pothole",
            "description": "deep pothole near the school",
            "address_string": "1 Harbour Road",
        },
    )
    token = response.headers["location"].split("/track/")[1].split("?")[0]
    reviewer = client_for(app, "rita")
    items = re.findall(r'href="/staff/review/([0-9a-f-]+)"', reviewer.get("/staff/review").text)
    with unit_of_work(app.state.cogov.engine) as session:
        record = session.scalars(
            select(ProposalRecord).order_by(ProposalRecord.created_at.desc()).limit(1)
        ).one()
        explanation = json.loads(record.explanation)
        explanation["summary"] = ENGINE_CLAIM
        record.explanation = json.dumps(explanation)
        session.flush()
        session.expunge(record)
    return items[-1], token, record


def why(page: str, label: str) -> str:
    found = re.search(rf"<dt>{label}</dt><dd[^>]*>(.*?)</dd>", page, re.S)
    assert found, f"no {label!r} on the page"
    return html_lib.unescape(found.group(1)).strip()


def checks(page: str) -> list[str]:
    section = page.split('id="evidence-title"', 1)[1].split("</section>", 1)[0]
    return [html_lib.unescape(text) for text in re.findall(r"· <span[^>]*>([^<]*)</span>", section)]


class TestReviewItem:
    def test_english_shows_the_threshold_in_force_and_no_engine_claim(self, app: FastAPI) -> None:
        item, _, record = queued(app, "explain-en")
        page = client_for(app, "rita").get(f"/staff/review/{item}").text
        assert "0.78" not in page
        assert "78%" not in page
        assert "may be applied automatically" not in page
        assert ENGINE_CLAIM not in html_lib.unescape(page)
        # The only threshold a person reads is the one in force.
        assert f"threshold {percent(record.threshold)}" in page
        # Confidence and threshold read apart when the one is below the other.
        assert f"{percent(record.confidence)} · threshold" in page
        assert percent(record.confidence) != percent(record.threshold)
        text = why(page, "Why")
        assert text.startswith(f"Suggests the department {record.value}, with confidence ")
        assert any("needs autonomy level" in check for check in checks(page))

    def test_chinese_shows_no_english_sentence(self, app: FastAPI) -> None:
        item, _, record = queued(app, "explain-zh")
        page = html_lib.unescape(
            client_for(app, "rita", "zh-Hans").get(f"/staff/review/{item}").text
        )
        text = why(page, "理由")
        assert text.startswith(f"建议交由 {record.value} 办理，置信度 ")
        # Data (the department, the request's words) may be English; sentences not.
        assert not ENGLISH_SENTENCE.search(text.replace("deep pothole near the school", ""))
        assert "threshold 0.78" not in page
        assert "needs autonomy level" not in page
        assert checks(page)
        for check in checks(page):
            assert not ENGLISH_SENTENCE.search(check), check
        assert f"阈值 {percent(record.threshold)}" in page


class TestQueue:
    def test_why_it_needs_a_person_in_the_page_language(self, app: FastAPI) -> None:
        queued(app, "explain-queue")
        english = html_lib.unescape(client_for(app, "rita").get("/staff/review").text)
        chinese = html_lib.unescape(client_for(app, "rita", "zh-Hans").get("/staff/review").text)
        assert "This action needs autonomy level" in english
        assert "这一操作需要自主级别" in chinese
        # The item's recorded reason (control's English) is not what the page shows.
        assert "needs autonomy level" not in chinese
        assert "may be applied automatically" not in english + chinese


class TestFollowPage:
    def test_the_citizen_reads_the_explanation_in_their_language(self, app: FastAPI) -> None:
        _, token, record = queued(app, "explain-track")
        english = html_lib.unescape(client_for(app).get(f"/track/{token}").text)
        chinese = html_lib.unescape(client_for(app, language="zh-Hans").get(f"/track/{token}").text)
        for page in (english, chinese):
            assert ENGINE_CLAIM not in page
            assert "may be applied automatically" not in page
        assert f"Suggests the department {record.value}" in english
        assert f"建议交由 {record.value} 办理" in chinese
