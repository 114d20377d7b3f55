"""Every page and form of the web UI over HTTP (no browser): what each role may see
and do, every refusal with its status and message tied to the field, and the
security headers. The agency (tests/web/agency.py) runs a real router agent."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cogov.db.session import unit_of_work
from cogov.identity import change_departments
from cogov.ledger import LedgerEntryRead
from cogov.ledger.service import entries_for_case
from cogov.web.forms import field_id
from tests.conftest import BACKENDS
from tests.web.agency import AGENT_ID, seed_requests
from tests.web.conftest import app_on, csrf_of, sign_in

EXAMPLE_FILING = Path(__file__).resolve().parents[2] / "docs" / "examples" / "router-agent.yaml"


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """The pages on SQLite, and on PostgreSQL when COGOV_TEST_DATABASE_URL is set."""
    with app_on(request.param, tmp_path_factory.mktemp("pages"), agents=True) as application:
        yield application


@pytest.fixture(scope="module")
def seeded(app: FastAPI) -> FastAPI:
    """The application with requests of its own on several channels (and their
    ledger entries), so a test that reads them needs no earlier test to have run."""
    seed_requests(app, count=12)
    return app


def client_for(app: FastAPI, username: str | None = None, **headers: str) -> TestClient:
    client = TestClient(app, follow_redirects=False, headers=headers)
    if username:
        sign_in(client, username)
    return client


def report(client: TestClient, **fields: str) -> tuple[int, str, str]:
    """Post the citizen form; returns (status, location or body, token)."""
    form = csrf_of(client.get("/requests/new").text)
    data = {"csrf_token": form, "idempotency_key": fields.pop("key", "k-" + str(id(fields)))}
    data.update(fields)
    response = client.post("/requests", data=data)
    location = response.headers.get("location", "")
    token = location.split("/track/")[1].split("?")[0] if "/track/" in location else ""
    return response.status_code, location or response.text, token


def field_error(html: str, control: str) -> str:
    found = re.search(rf'id="{re.escape(control)}-error"><span[^>]*>[^<]*</span>\s*([^<]+)', html)
    return html_lib.unescape(found.group(1).strip()) if found else ""


SUMMARY_LINK = re.compile(r'<a href="#([^"]+)">')


def assert_summary_links_land(html: str) -> None:
    """Every link of the refused form's error summary leads to an element of the page
    (a control, or the fieldset of a group of choices)."""
    summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    targets = SUMMARY_LINK.findall(summary)
    assert targets, "the error summary links to no field"
    for target in targets:
        assert f'id="{target}"' in html, f"the summary links to #{target}, which is not on the page"


POTHOLE = {
    "service_code": "pothole",
    "description": "deep pothole near the school",
    "address_string": "1 Harbour Road",
}


class TestFrame:
    def test_language_from_accept_language_and_cookie(self, app: FastAPI) -> None:
        chinese = client_for(app, **{"Accept-Language": "zh-CN,zh;q=0.9"})
        page = chinese.get("/")
        assert '<html lang="zh-Hans">' in page.text
        assert page.headers["content-language"] == "zh-Hans"
        switched = chinese.get("/language/en?next=/register")
        assert switched.status_code == 303
        assert switched.headers["location"] == "/register"
        assert '<html lang="en">' in chinese.get("/").text

    def test_language_switch_never_leaves_the_site(self, app: FastAPI) -> None:
        client = client_for(app)
        for target in ("//evil.example/x", "https://evil.example", "/\\evil"):
            response = client.get("/language/zh-Hans", params={"next": target})
            assert response.headers["location"] == "/"

    def test_unknown_language_is_a_page_not_json(self, app: FastAPI) -> None:
        response = client_for(app).get("/language/tlh")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")

    def test_security_headers(self, app: FastAPI) -> None:
        headers = client_for(app).get("/").headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"

    def test_static_files(self, app: FastAPI) -> None:
        client = client_for(app)
        page = client.get("/").text
        css_url = re.search(r'href="(/static/cogov\.css\?v=[0-9a-f]+)"', page)
        assert css_url
        css = client.get(css_url.group(1))
        assert css.status_code == 200
        assert "immutable" in css.headers["cache-control"]
        assert client.get("/static/cogov.css?v=old").headers["cache-control"] == "no-cache"
        htmx = client.get("/static/htmx.min.js")
        assert htmx.text.startswith("/*! htmx 4.0.1")
        assert "Zero-Clause BSD" in htmx.text[:600]
        assert client.get("/static/../i18n.py").status_code == 404
        assert client.get("/static/messages.pot").status_code == 404


class TestSignIn:
    def test_wrong_password_is_refused_on_the_field(self, app: FastAPI) -> None:
        client = client_for(app)
        token = csrf_of(client.get("/staff/sign-in").text)
        response = client.post(
            "/staff/sign-in", data={"username": "rita", "password": "nope", "csrf_token": token}
        )
        assert response.status_code == 401
        assert field_error(response.text, "password").startswith("The username or password")
        assert 'aria-invalid="true"' in response.text

    def test_empty_fields(self, app: FastAPI) -> None:
        client = client_for(app)
        token = csrf_of(client.get("/staff/sign-in").text)
        response = client.post("/staff/sign-in", data={"csrf_token": token})
        assert response.status_code == 422
        assert field_error(response.text, "username") == "Enter your username."

    def test_form_without_its_csrf_token_is_refused(self, app: FastAPI) -> None:
        client = client_for(app)
        client.get("/staff/sign-in")
        response = client.post("/staff/sign-in", data={"username": "rita", "password": "x"})
        assert response.status_code == 403

    def test_staff_page_sends_a_visitor_to_sign_in_and_back(self, app: FastAPI) -> None:
        client = client_for(app)
        response = client.get("/staff/review")
        assert response.status_code == 303
        assert response.headers["location"] == "/staff/sign-in?next=/staff/review"

    def test_sign_out(self, app: FastAPI) -> None:
        client = client_for(app, "aud")
        token = csrf_of(client.get("/staff").text)
        assert client.post("/staff/sign-out", data={"csrf_token": token}).status_code == 303
        assert client.get("/staff/ledger").status_code == 303


class TestCitizenRequest:
    def test_refused_form_names_each_field(self, app: FastAPI) -> None:
        status, html, _ = report(client_for(app), service_code="pothole", description="")
        assert status == 422
        assert field_error(html, "description").startswith("Describe the problem")
        assert 'href="#description"' in html  # the summary links to the field
        _, html, _ = report(client_for(app), service_code="pothole", description="a hole")
        assert field_error(html, "address_string").startswith("This kind of problem needs a place")
        status, html, _ = report(client_for(app), **{**POTHOLE, "description": "a\x07hole"})
        assert status == 422
        assert field_error(html, "description") == (
            "Remove the invisible control characters from this text."
        )

    def test_wrong_answers(self, app: FastAPI) -> None:
        status, html, _ = report(client_for(app), **POTHOLE, **{"attribute[size]": "huge"})
        assert status == 422
        assert field_error(html, "attribute-size").startswith("This answer does not fit")
        _, html, _ = report(client_for(app), **POTHOLE, email="not-an-email")
        assert field_error(html, "email").startswith("Enter an email address")

    def test_chinese_visitor_reads_chinese_errors(self, app: FastAPI) -> None:
        client = client_for(app, **{"Accept-Language": "zh-CN"})
        status, html, _ = report(client, service_code="", description="")
        assert status == 422
        assert field_error(html, "service_code") == "请选择问题类别。"

    def test_submitted_request_walks_the_pipeline(self, app: FastAPI) -> None:
        client = client_for(app)
        status, location, token = report(client, **POTHOLE, key="walk-1")
        assert status == 303
        assert location.endswith("?received=1")
        page = client.get(f"/track/{token}").text
        assert "Which department should handle it" in page
        assert "Waiting for a person to decide" in page  # threshold 0.99: a person decides
        assert AGENT_ID in page

    def test_a_retried_form_makes_one_request(self, app: FastAPI) -> None:
        client = client_for(app)
        _, _, first = report(client, **POTHOLE, key="same-key")
        _, _, second = report(client, **POTHOLE, key="same-key")
        assert first == second

    def test_unknown_link(self, app: FastAPI) -> None:
        response = client_for(app).get("/track/not-a-real-token")
        assert response.status_code == 404
        assert "No request matches this link" in response.text

    def test_find_by_pasted_link(self, app: FastAPI) -> None:
        client = client_for(app)
        token = csrf_of(client.get("/track").text)
        response = client.post(
            "/track", data={"csrf_token": token, "link": "https://x.example/track/abc123?x=1"}
        )
        assert response.headers["location"] == "/track/abc123"
        empty = client.post("/track", data={"csrf_token": token, "link": " "})
        assert empty.status_code == 422

    def test_questions_fragment_for_htmx(self, app: FastAPI) -> None:
        html = client_for(app).get("/requests/new/questions?service_code=pothole").text
        assert 'name="attribute[size]"' in html
        assert "<html" not in html


class TestRatingAndAppeal:
    def test_rating_once_from_one_to_five(self, app: FastAPI) -> None:
        client = client_for(app)
        _, _, token = report(client, **POTHOLE, key="rate-1")
        form = csrf_of(client.get(f"/track/{token}").text)
        assert (
            client.post(
                f"/track/{token}/rating", data={"csrf_token": form, "score": "9"}
            ).status_code
            == 422
        )
        assert (
            client.post(
                f"/track/{token}/rating", data={"csrf_token": form, "score": "5"}
            ).status_code
            == 303
        )
        again = client.post(f"/track/{token}/rating", data={"csrf_token": form, "score": "4"})
        assert again.status_code == 409
        with unit_of_work(app.state.cogov.engine) as session:
            from cogov.intake import case_for_token

            case = case_for_token(session, token=token)
            kinds = [entry.kind for entry in entries_for_case(session, case.id)]
        assert kinds.count("case.rated") == 1

    def test_undecided_proposal_cannot_be_appealed(self, app: FastAPI) -> None:
        client = client_for(app)
        _, _, token = report(client, **POTHOLE, key="appeal-early")
        page = client.get(f"/track/{token}").text
        assert 'name="proposal_id"' not in page  # no appeal form while a person decides
        form = csrf_of(page)
        response = client.post(
            f"/track/{token}/appeal",
            data={"csrf_token": form, "proposal_id": "nope", "grounds": "wrong"},
        )
        assert response.status_code == 409

    def test_appeal_needs_grounds(self, app: FastAPI) -> None:
        client = client_for(app)
        _, _, token = report(client, **POTHOLE, key="appeal-empty")
        form = csrf_of(client.get(f"/track/{token}").text)
        response = client.post(
            f"/track/{token}/appeal", data={"csrf_token": form, "proposal_id": "x", "grounds": ""}
        )
        assert response.status_code == 422


class TestMergedRequest:
    def test_the_timeline_says_why_the_ai_suggestion_was_withdrawn(self, app: FastAPI) -> None:
        """A request merged into another while the AI's routing waited for a person:
        control cancels the proposal and review closes its item, and the citizen reads
        why in their language instead of a general label."""
        from cogov.control import Actor, proposals_for_case, transition
        from cogov.intake import case_for_token
        from cogov.review import cancel_items

        _, _, token = report(client_for(app), **POTHOLE, key="merged-timeline")
        with unit_of_work(app.state.cogov.engine) as session:
            case_id = case_for_token(session, token=token).id
            transition(
                session,
                case_id=case_id,
                to_state="merged",
                actor=Actor.human("rita"),
                config=app.state.cogov.control,
                reason="same pothole as an open request",
            )
            waiting = proposals_for_case(session, case_id=case_id)
            assert cancel_items(session, proposals=waiting)  # its review item closes
            kinds = {entry.kind for entry in entries_for_case(session, case_id)}
        assert {"proposal.cancelled", "review.cancelled"} <= kinds
        page = html_lib.unescape(client_for(app).get(f"/track/{token}").text)
        assert "An AI suggestion was withdrawn because this request was merged into another" in page
        assert (
            "A person's review was no longer needed because this request was merged into another"
            in page
        )
        assert "A step was recorded" not in page  # no kind left with the general label
        assert "Withdrawn: this request was merged into another" in page
        assert "Waiting for a person to decide" not in page
        assert 'name="proposal_id"' not in page  # nothing decided, so nothing to appeal
        chinese = client_for(app, **{"Accept-Language": "zh-CN"}).get(f"/track/{token}").text
        assert "由于本诉求已并入另一诉求，人工智能的建议已撤回" in chinese
        assert "由于本诉求已并入另一诉求，无需再由工作人员审核" in chinese
        assert "已撤回：本诉求已并入另一诉求，该建议不会生效" in chinese


class TestAssistedEntry:
    def test_field_staff_enter_a_request_by_phone(self, app: FastAPI) -> None:
        staff = client_for(app, "fay")
        form = csrf_of(staff.get("/staff/intake").text)
        response = staff.post(
            "/staff/intake",
            data={
                "csrf_token": form,
                "channel": "counter",
                "idempotency_key": "assist-1",
                **POTHOLE,
            },
        )
        assert response.status_code == 200
        link = re.search(r"/track/([A-Za-z0-9_-]+)", response.text)
        assert link
        page = client_for(app).get(f"/track/{link.group(1)}").text
        assert "entered for you by a staff member" in page
        assert "Service counter" in page

    def test_channel_must_be_an_assisted_one(self, app: FastAPI) -> None:
        staff = client_for(app, "fay")
        form = csrf_of(staff.get("/staff/intake").text)
        response = staff.post(
            "/staff/intake", data={"csrf_token": form, "channel": "web", **POTHOLE}
        )
        assert response.status_code == 422
        assert field_error(response.text, "channel") == "Choose how the citizen contacted us."
        assert_summary_links_land(response.text)

    def test_auditors_do_not_enter_requests(self, app: FastAPI) -> None:
        assert client_for(app, "aud").get("/staff/intake").status_code == 403


def queued_item(app: FastAPI, reviewer: TestClient, key: str) -> tuple[str, str]:
    citizen = client_for(app)
    _, _, token = report(citizen, **POTHOLE, key=key)
    queue = reviewer.get("/staff/review").text
    items = re.findall(r'href="/staff/review/([0-9a-f-]+)"', queue)
    assert items
    return items[-1], token


class TestReview:
    def test_roles(self, app: FastAPI) -> None:
        assert client_for(app, "aud").get("/staff/review").status_code == 403
        assert client_for(app, "fay").get("/staff/review").status_code == 403

    def test_item_shows_explanation_and_evidence(self, app: FastAPI) -> None:
        rita = client_for(app, "rita")
        item, _ = queued_item(app, rita, "review-show")
        page = rita.get(f"/staff/review/{item}").text
        assert "Evidence the AI used" in page
        assert "pothole" in page
        assert "Checks by the rules" in page

    def test_reject_needs_a_reason_and_edit_a_value(self, app: FastAPI) -> None:
        rita = client_for(app, "rita")
        item, _ = queued_item(app, rita, "review-reasons")
        form = csrf_of(rita.get(f"/staff/review/{item}").text)
        rejected = rita.post(
            f"/staff/review/{item}/decide", data={"csrf_token": form, "decision": "reject"}
        )
        assert rejected.status_code == 422
        assert field_error(rejected.text, "reason_code").startswith("Choose the reason")
        assert_summary_links_land(rejected.text)
        undecided = rita.post(f"/staff/review/{item}/decide", data={"csrf_token": form})
        assert field_error(undecided.text, "decision").startswith("Choose approve")
        assert_summary_links_land(undecided.text)
        edited = rita.post(
            f"/staff/review/{item}/decide",
            data={"csrf_token": form, "decision": "edit", "reason_code": "wrong_department"},
        )
        assert field_error(edited.text, "new_value").startswith("Enter the value")
        needs_note = rita.post(
            f"/staff/review/{item}/decide",
            data={
                "csrf_token": form,
                "decision": "edit",
                "new_value": "Parks",
                "reason_code": "local_knowledge",
            },
        )
        assert needs_note.status_code == 422

    def test_a_repeat_is_merged_into_the_request_it_repeats(self, app: FastAPI) -> None:
        from cogov.intake import case_for_token
        from cogov.review import get_item, merge_case

        rita = client_for(app, "rita")
        item, token = queued_item(app, rita, "review-merge")
        _, _, first_token = report(client_for(app), **POTHOLE, key="review-merge-original")
        with unit_of_work(app.state.cogov.engine) as session:
            repeat = case_for_token(session, token=token).id
            original = case_for_token(session, token=first_token).id
        page = rita.get(f"/staff/review/{item}").text
        assert "Is this request a repeat?" in page
        form = csrf_of(page)
        merge = f"/staff/review/{item}/merge"
        empty = rita.post(merge, data={"csrf_token": form, "into": " "})
        assert empty.status_code == 422
        assert field_error(empty.text, "into").startswith("Enter the number of the request")
        assert_summary_links_land(empty.text)
        itself = rita.post(merge, data={"csrf_token": form, "into": repeat})
        assert field_error(itself.text, "into").startswith("A request cannot repeat itself")
        unknown = rita.post(merge, data={"csrf_token": form, "into": "no-such"})
        assert field_error(unknown.text, "into") == "No request has the number no-such."
        chinese = client_for(app, "rita", **{"Accept-Language": "zh-CN"})
        unknown_zh = chinese.post(
            merge, data={"csrf_token": csrf_of(chinese.get(f"/staff/review/{item}").text),
                         "into": "no-such"},
        )  # fmt: skip
        assert field_error(unknown_zh.text, "into") == "没有编号为 no-such 的诉求。"
        hidden = rita.post(
            merge, data={"csrf_token": form, "into": original, "merge_reason": "a\x07"}
        )
        assert hidden.status_code == 422
        assert field_error(hidden.text, "merge_reason")

        merged = rita.post(
            merge, data={"csrf_token": form, "into": original, "merge_reason": "same pothole"}
        )
        assert merged.status_code == 303
        assert merged.headers["location"] == "/staff/review?merged=1"
        assert "merged into the one it repeats" in html_lib.unescape(
            rita.get("/staff/review?merged=1").text
        )
        assert "Is this request a repeat?" not in rita.get(f"/staff/review/{item}").text
        followed = html_lib.unescape(client_for(app).get(f"/track/{token}").text)
        assert "Withdrawn: this request was merged into another" in followed
        assert f"It reports the same problem as request {original}" in followed
        zh = client_for(app, **{"Accept-Language": "zh-CN"}).get(f"/track/{token}").text
        assert f"本诉求与诉求 {original} 反映的是同一问题" in zh

        # A request that others were merged into is not merged away from under them.
        holder, _ = queued_item(app, rita, "review-merge-holder")
        _, _, late_token = report(client_for(app), **POTHOLE, key="review-merge-late")
        with unit_of_work(app.state.cogov.engine) as session:
            held = get_item(session, item_id=holder).case_id
            late = case_for_token(session, token=late_token).id
            merge_case(session, case_id=late, into=held, reviewer="rita",
                       config=app.state.cogov.control)  # fmt: skip
        refused = rita.post(
            f"/staff/review/{holder}/merge",
            data={"csrf_token": csrf_of(rita.get(f"/staff/review/{holder}").text),
                  "into": original},
        )  # fmt: skip
        assert refused.status_code == 422
        assert field_error(refused.text, "into") == (
            f"Other requests were merged into this one (request {late}, for one): "
            f"merge request {original} into this one instead."
        )

    def test_decision_is_final_and_reaches_the_citizen(self, app: FastAPI) -> None:
        rita = client_for(app, "rita")
        item, token = queued_item(app, rita, "review-final")
        form = csrf_of(rita.get(f"/staff/review/{item}").text)
        done = rita.post(
            f"/staff/review/{item}/decide",
            data={
                "csrf_token": form,
                "decision": "edit",
                "new_value": "Parks",
                "reason_code": "local_knowledge",
                "note": "The lane is in the park.",
            },
        )
        assert done.status_code == 303
        again = rita.post(
            f"/staff/review/{item}/decide", data={"csrf_token": form, "decision": "approve"}
        )
        assert again.status_code == 409
        page = client_for(app).get(f"/track/{token}").text
        assert "Changed by a person" in page
        assert "Parks" in page

    def test_appeal_is_heard_by_someone_uninvolved(self, app: FastAPI) -> None:
        rita = client_for(app, "rita")
        item, token = queued_item(app, rita, "review-appeal")
        form = csrf_of(rita.get(f"/staff/review/{item}").text)
        rita.post(f"/staff/review/{item}/decide", data={"csrf_token": form, "decision": "approve"})
        citizen = client_for(app)
        page = citizen.get(f"/track/{token}").text
        proposal = re.search(r'name="proposal_id" value="([^"]+)"', page)
        assert proposal
        hidden = citizen.post(
            f"/track/{token}/appeal",
            data={"csrf_token": csrf_of(page), "proposal_id": proposal.group(1),
                  "grounds": "wrong\x1b[8m"},
        )  # fmt: skip
        assert hidden.status_code == 422
        assert field_error(hidden.text, f"grounds-{proposal.group(1)}") == (
            "Remove the invisible control characters from this text."
        )
        filed = citizen.post(
            f"/track/{token}/appeal",
            data={
                "csrf_token": csrf_of(page),
                "proposal_id": proposal.group(1),
                "grounds": "It is not the transport office's road.",
            },
        )
        assert filed.status_code == 303
        assert 'href="/staff/appeals/' not in rita.get("/staff/review").text.split("Appeals")[-1]
        ray = client_for(app, "ray")
        appeal = re.findall(r'href="/staff/appeals/([0-9a-f-]+)"', ray.get("/staff/review").text)
        assert appeal
        form = csrf_of(ray.get(f"/staff/appeals/{appeal[-1]}").text)
        empty = ray.post(f"/staff/appeals/{appeal[-1]}", data={"csrf_token": form})
        assert empty.status_code == 422
        assert field_error(empty.text, "outcome").startswith("Choose uphold")
        assert 'id="outcome"' in empty.text  # the radio group's fieldset, for the link
        assert_summary_links_land(empty.text)
        hidden = ray.post(
            f"/staff/appeals/{appeal[-1]}",
            data={"csrf_token": form, "outcome": "upheld", "reason": "Right\x07"},
        )
        assert hidden.status_code == 422
        assert field_error(hidden.text, "reason") == (
            "Remove the invisible control characters from this text."
        )
        decided = ray.post(
            f"/staff/appeals/{appeal[-1]}",
            data={"csrf_token": form, "outcome": "upheld", "reason": "The port owns that road."},
        )
        assert decided.status_code == 303
        assert "Upheld" in client_for(app).get(f"/track/{token}").text


def decided_case(app: FastAPI, key: str) -> tuple[str, str]:
    """A citizen's request whose routing a reviewer approved: (case id, citizen token)."""
    rita = client_for(app, "rita")
    item, token = queued_item(app, rita, key)
    form = csrf_of(rita.get(f"/staff/review/{item}").text)
    decided = rita.post(
        f"/staff/review/{item}/decide", data={"csrf_token": form, "decision": "approve"}
    )
    assert decided.status_code == 303
    with unit_of_work(app.state.cogov.engine) as session:
        from cogov.intake import case_for_token

        return case_for_token(session, token=token).id, token


def ledger_kinds(app: FastAPI, case_id: str, kind: str) -> list[LedgerEntryRead]:
    with unit_of_work(app.state.cogov.engine) as session:
        return [entry for entry in entries_for_case(session, case_id) if entry.kind == kind]


def refused_to(app: FastAPI, usernames: list[str], *, pages: list[str], forms: list[str]) -> None:
    """Each of these signed-in users gets 403 on every page and every form post."""
    for username in usernames:
        staff = client_for(app, username)
        for path in pages:
            assert staff.get(path).status_code == 403, (username, path)
        token = csrf_of(staff.get("/staff").text)
        for path in forms:
            assert staff.post(path, data={"csrf_token": token}).status_code == 403, (username, path)


class TestAssistedAppeal:
    def test_roles(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "assisted-roles")
        refused_to(
            app,
            ["admin", "aud", "fay"],
            pages=["/staff/appeal-for-citizen", f"/staff/cases/{case_id}/appeal"],
            forms=[f"/staff/cases/{case_id}/appeal"],
        )
        visitor = client_for(app).get(f"/staff/cases/{case_id}/appeal")
        assert visitor.status_code == 303  # sent to sign in

    def test_find_the_request_by_its_number(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "assisted-find")
        rob = client_for(app, "rob")
        found = rob.get("/staff/appeal-for-citizen", params={"number": f" {case_id} "})
        assert found.headers["location"] == f"/staff/cases/{case_id}/appeal"
        missing = rob.get("/staff/appeal-for-citizen", params={"number": "no-such-request"})
        assert missing.status_code == 404
        assert field_error(missing.text, "number").startswith("No request has this number")

    def test_each_field_is_checked(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "assisted-fields")
        _, other_token = decided_case(app, "assisted-other")
        rob = client_for(app, "rob")
        page = rob.get(f"/staff/cases/{case_id}/appeal").text
        assert "AI suggestion" in page  # the AI label on the decision it took part in
        form = csrf_of(page)
        empty = rob.post(f"/staff/cases/{case_id}/appeal", data={"csrf_token": form})
        assert empty.status_code == 422
        assert field_error(empty.text, "citizen_code").startswith("Ask the citizen")
        assert field_error(empty.text, "proposal_id").startswith("Choose the decision")
        assert field_error(empty.text, "grounds").startswith("Write down why")
        assert field_error(empty.text, "channel") == "Choose how the citizen contacted us."
        assert_summary_links_land(empty.text)
        proposal = re.search(r'name="proposal_id" value="([^"]+)"', page)
        assert proposal
        wrong_case = rob.post(
            f"/staff/cases/{case_id}/appeal",
            data={
                "csrf_token": form,
                "citizen_code": f"https://x.example/track/{other_token}",
                "proposal_id": proposal.group(1),
                "grounds": "Wrong office.",
                "channel": "web",
            },
        )
        assert wrong_case.status_code == 422
        assert field_error(wrong_case.text, "citizen_code").startswith("This code does not belong")
        assert field_error(wrong_case.text, "channel")  # web is not an assisted channel

    def test_staff_file_for_the_citizen_and_take_no_part_in_deciding(self, app: FastAPI) -> None:
        case_id, token = decided_case(app, "assisted-file")
        rob = client_for(app, "rob")
        page = rob.get(f"/staff/cases/{case_id}/appeal").text
        proposal = re.search(r'name="proposal_id" value="([^"]+)"', page)
        assert proposal
        data = {
            "csrf_token": csrf_of(page),
            "citizen_code": f"https://x.example/track/{token}",
            "proposal_id": proposal.group(1),
            "grounds": "The citizen says the road belongs to the port.",
            "channel": "phone",
        }
        filed = rob.post(f"/staff/cases/{case_id}/appeal", data=data)
        assert filed.status_code == 303, filed.text
        assert filed.headers["location"] == f"/staff/cases/{case_id}/appeal?filed=1"
        after = rob.get(filed.headers["location"]).text
        assert "recorded as entered by you" in after
        assert 'name="proposal_id"' not in after  # appealed once only
        again = rob.post(f"/staff/cases/{case_id}/appeal", data=data)
        assert again.status_code == 409
        (entry,) = ledger_kinds(app, case_id, "appeal.filed")
        assert entry.actor == "user:rob"
        assert entry.payload["assisted"] is True
        assert entry.payload["channel"] == "phone"
        assert "rob" in entry.payload["excluded_deciders"]
        # The citizen sees the appeal on their page; the filer may not decide it.
        assert "A person who took no part" in client_for(app).get(f"/track/{token}").text
        queue = rob.get("/staff/review").text.split("Appeals you may decide")[-1]
        assert "The citizen says the road" not in queue
        ray = client_for(app, "ray").get("/staff/review").text
        assert "The citizen says the road" in ray.split("Appeals you may decide")[-1]

    def test_chinese_page(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "assisted-zh")
        rob = client_for(app, "rob", **{"Accept-Language": "zh-CN"})
        page = rob.get(f"/staff/cases/{case_id}/appeal")
        assert '<html lang="zh-Hans">' in page.text
        assert "代市民申诉" in page.text
        empty = rob.post(f"/staff/cases/{case_id}/appeal", data={"csrf_token": csrf_of(page.text)})
        assert field_error(empty.text, "channel") == "请选择市民联系我们的方式。"


class TestFieldWork:
    def test_roles(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "field-roles")
        refused_to(
            app,
            ["admin", "rita", "aud"],
            pages=["/staff/work", f"/staff/work/{case_id}"],
            forms=[f"/staff/work/{case_id}/start", f"/staff/work/{case_id}/resolve"],
        )
        assert client_for(app).get("/staff/work").status_code == 303

    def test_work_list_of_their_departments(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "field-list")
        fay = client_for(app, "fay")
        page = fay.get("/staff/work").text  # by default: all of their departments
        assert f'href="/staff/work/{case_id}"' in page
        assert "Waiting for your departments" in page
        assert re.findall(r'<option value="([^"]+)"', page) == ["Transport"]
        narrowed = fay.get("/staff/work", params={"department": "Transport"}).text
        assert f'href="/staff/work/{case_id}"' in narrowed
        sam = client_for(app, "sam")
        theirs = sam.get("/staff/work").text
        assert f'href="/staff/work/{case_id}"' not in theirs
        assert re.findall(r'<option value="([^"]+)"', theirs) == ["Environment", "Sanitation"]
        item = fay.get(f"/staff/work/{case_id}").text
        assert "AI suggestion" in item  # the AI label
        assert "What the AI did and why" in item
        assert "Transport" in item

    def test_start_and_resolve_with_a_note_the_citizen_reads(self, app: FastAPI) -> None:
        case_id, token = decided_case(app, "field-resolve")
        fay = client_for(app, "fay")
        form = csrf_of(fay.get(f"/staff/work/{case_id}").text)
        started = fay.post(f"/staff/work/{case_id}/start", data={"csrf_token": form})
        assert started.headers["location"] == f"/staff/work/{case_id}?started=1"
        assert fay.post(f"/staff/work/{case_id}/start", data={"csrf_token": form}).status_code == (
            409
        )
        assert "Being worked on" in client_for(app).get(f"/track/{token}").text
        empty = fay.post(f"/staff/work/{case_id}/resolve", data={"csrf_token": form, "note": " "})
        assert empty.status_code == 422
        assert field_error(empty.text, "note").startswith("Write what was done")
        hidden = fay.post(
            f"/staff/work/{case_id}/resolve", data={"csrf_token": form, "note": "Filled\x00 it"}
        )
        assert hidden.status_code == 422
        assert field_error(hidden.text, "note") == (
            "Remove the invisible control characters from this text."
        )
        note = "Filled the pothole with asphalt on Tuesday."
        done = fay.post(f"/staff/work/{case_id}/resolve", data={"csrf_token": form, "note": note})
        assert done.status_code == 303
        assert done.headers["location"] == "/staff/work?department=Transport&resolved=1"
        assert f'href="/staff/work/{case_id}"' not in fay.get("/staff/work").text
        kept = fay.get(done.headers["location"]).text  # still says which department
        assert '<option value="Transport" selected>' in kept
        again = fay.post(f"/staff/work/{case_id}/resolve", data={"csrf_token": form, "note": note})
        assert again.status_code == 409
        citizen = client_for(app).get(f"/track/{token}").text
        assert note in citizen
        assert "Resolved" in citizen
        assert "Written by a member of staff" in citizen
        steps = ledger_kinds(app, case_id, "case.transitioned")
        assert [(e.payload["to"], e.actor) for e in steps[-2:]] == [
            ("in_progress", "user:fay"),
            ("resolved", "user:fay"),
        ]
        assert steps[-1].payload["reply_length"] == len(note)
        assert note not in str(steps[-1].payload)  # the ledger keeps its hash only

    def test_another_departments_work_is_refused(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "field-other")  # routed to Transport
        sam = client_for(app, "sam")
        listed = sam.get("/staff/work", params={"department": "Transport"})
        assert listed.status_code == 403
        assert "This is work for the department Transport, which you do not work for" in (
            listed.text
        )
        assert "You work for: Environment, Sanitation." in listed.text
        item = sam.get(f"/staff/work/{case_id}")
        assert item.status_code == 403
        assert "Not your department" in item.text
        assert POTHOLE["description"] not in item.text  # nothing of the request shows
        token = csrf_of(sam.get("/staff").text)
        started = sam.post(f"/staff/work/{case_id}/start", data={"csrf_token": token})
        assert started.status_code == 403
        resolved = sam.post(
            f"/staff/work/{case_id}/resolve", data={"csrf_token": token, "note": "Done."}
        )
        assert resolved.status_code == 403
        assert [e.payload["to"] for e in ledger_kinds(app, case_id, "case.transitioned")][
            -1
        ] == "assigned"  # neither step was taken
        assert client_for(app, "sam").get("/staff/work/no-such-case").status_code == 404

    def test_a_member_of_no_department_is_told_to_ask(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "field-none")
        fred = client_for(app, "fred")
        page = fred.get("/staff/work")
        assert page.status_code == 200
        assert "You are not in a department yet" in page.text
        assert "Ask an administrator to add you" in page.text
        assert "<table" not in page.text
        item = fred.get(f"/staff/work/{case_id}")
        assert item.status_code == 403
        assert "You are not in any department yet." in item.text
        chinese = client_for(app, "fred", **{"Accept-Language": "zh-CN"}).get("/staff/work")
        assert "您尚未加入任何部门" in chinese.text

    def test_an_administrator_adds_them_and_the_work_shows(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "field-joins")
        with unit_of_work(app.state.cogov.engine) as session:
            change_departments(
                session, username="fred", add=["Transport"], by="admin", reason="joined"
            )
        fred = client_for(app, "fred")
        assert f'href="/staff/work/{case_id}"' in fred.get("/staff/work").text
        assert fred.get(f"/staff/work/{case_id}").status_code == 200
        with unit_of_work(app.state.cogov.engine) as session:
            change_departments(
                session, username="fred", remove=["Transport"], by="admin", reason="moved"
            )
        assert fred.get(f"/staff/work/{case_id}").status_code == 403

    def test_chinese_page(self, app: FastAPI) -> None:
        case_id, _ = decided_case(app, "field-zh")
        fay = client_for(app, "fay", **{"Accept-Language": "zh-CN"})
        assert '<html lang="zh-Hans">' in fay.get("/staff/work").text
        item = fay.get(f"/staff/work/{case_id}")
        assert "开始办理" in item.text
        empty = fay.post(f"/staff/work/{case_id}/resolve", data={"csrf_token": csrf_of(item.text)})
        assert field_error(empty.text, "note") == "请写明办理情况：市民会看到这条说明。"


class TestRegistry:
    def test_public_register_lists_the_active_agent(self, app: FastAPI) -> None:
        client = client_for(app)
        assert "Request router" in client.get("/register").text
        entry = client.get(f"/register/{AGENT_ID}")
        assert entry.status_code == 200
        assert "ai-register@city.invalid" in entry.text
        assert client.get("/register/no-such-agent").status_code == 404

    def test_roles(self, app: FastAPI) -> None:
        assert client_for(app, "aud").get("/staff/registry").status_code == 200
        assert client_for(app, "aud").get("/staff/registry/file").status_code == 403
        assert client_for(app, "fay").get("/staff/registry").status_code == 403

    def test_upload_refused_names_each_field(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        form = csrf_of(admin.get("/staff/registry/file").text)
        response = admin.post(
            "/staff/registry/file",
            data={"csrf_token": form},
            files={"filing": ("f.yaml", b"agent_id: x\nname: [", "text/yaml")},
        )
        assert response.status_code == 422
        assert "not valid YAML" in response.text
        missing = admin.post("/staff/registry/file", data={"csrf_token": form})
        assert field_error(missing.text, "filing").startswith("Choose the agent's filing file")

    def test_file_submit_and_the_four_eyes_refusal(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        form = csrf_of(admin.get("/staff/registry/file").text)
        text = EXAMPLE_FILING.read_text().replace("g.chen", "rita").replace("m.lopez", "rob")
        filed = admin.post(
            "/staff/registry/file",
            data={"csrf_token": form},
            files={"filing": ("r.yaml", text.encode(), "text/yaml")},
        )
        assert filed.status_code == 303
        agent = filed.headers["location"].split("?")[0]
        no_reason = admin.post(f"{agent}/step", data={"csrf_token": form, "step": "submit"})
        assert field_error(no_reason.text, "reason").startswith("Give a reason")
        assert (
            admin.post(
                f"{agent}/step", data={"csrf_token": form, "step": "submit", "reason": "ready"}
            ).status_code
            == 303
        )
        refused = admin.post(
            f"{agent}/step", data={"csrf_token": form, "step": "approve", "reason": "fine"}
        )
        assert refused.status_code == 409
        assert "four-eyes" in refused.text

    def test_kill_switch_by_guardian_not_by_others(self, app: FastAPI) -> None:
        outsider = client_for(app, "ray")
        form = csrf_of(outsider.get(f"/staff/registry/{AGENT_ID}").text)
        refused = outsider.post(
            f"/staff/registry/{AGENT_ID}/kill-switch",
            data={"csrf_token": form, "action": "pause", "switch_reason": "x"},
        )
        assert refused.status_code == 409
        rita = client_for(app, "rita")
        form = csrf_of(rita.get(f"/staff/registry/{AGENT_ID}").text)
        paused = rita.post(
            f"/staff/registry/{AGENT_ID}/kill-switch",
            data={"csrf_token": form, "action": "pause", "switch_reason": "drift"},
        )
        assert paused.status_code == 303
        assert "Paused by its guardian" in client_for(app).get("/register").text
        resumed = rita.post(
            f"/staff/registry/{AGENT_ID}/kill-switch",
            data={"csrf_token": form, "action": "resume", "switch_reason": "ok"},
        )
        assert resumed.status_code == 303


class TestLedger:
    def test_roles(self, app: FastAPI) -> None:
        assert client_for(app, "rita").get("/staff/ledger").status_code == 403
        assert client_for(app, "aud").get("/staff/ledger").status_code == 200

    def test_verify_as_fragment_and_as_page(self, app: FastAPI) -> None:
        auditor = client_for(app, "aud")
        fragment = auditor.get("/staff/ledger/verify", headers={"HX-Request": "true"})
        assert "The ledger verifies" in fragment.text
        assert "<html" not in fragment.text
        assert "<html" in auditor.get("/staff/ledger/verify").text

    def test_entry_with_proof(self, app: FastAPI) -> None:
        auditor = client_for(app, "aud")
        unsigned = auditor.get("/staff/ledger/2").text
        assert "No signed checkpoint covers it yet" in unsigned
        admin = client_for(app, "admin")
        form = csrf_of(admin.get("/staff/ledger").text)
        assert auditor.post("/staff/ledger/checkpoint", data={"csrf_token": form}).status_code in (
            403,
        )
        assert admin.post("/staff/ledger/checkpoint", data={"csrf_token": form}).status_code == 303
        signed = auditor.get("/staff/ledger/2").text
        assert "Checked with the public key only" in signed
        assert auditor.get("/staff/ledger/999999").status_code == 404
        assert auditor.get("/staff/ledger/find?seq=2").headers["location"] == "/staff/ledger/2"

    def test_pages_of_entries(self, seeded: FastAPI) -> None:
        auditor = client_for(seeded, "aud")
        page = auditor.get("/staff/ledger").text
        assert "Older entries" in page
        older = re.search(r'href="(/staff/ledger\?before=\d+)">Older', page)
        assert older
        assert auditor.get(older.group(1)).status_code == 200


class TestAudits:
    def test_dashboard_and_publication(self, seeded: FastAPI) -> None:
        app = seeded
        auditor = client_for(app, "aud")
        board = auditor.get("/staff/audits?group=channel&group=assisted&period=week")
        assert board.status_code == 200
        assert 'role="img"' in board.text  # an inline SVG chart
        # A group no request recorded: the audit says why it cannot run.
        absent = auditor.get("/staff/audits?group=needs_assistance")
        assert "The audit could not run" in absent.text
        form = csrf_of(board.text)
        published = auditor.post(
            "/staff/audits/publish", data={"csrf_token": form, "group": ["channel"]}
        )
        assert published.status_code == 303
        audit_path = published.headers["location"]
        public = client_for(app)
        assert audit_path in public.get("/audits").text
        assert public.get(audit_path).status_code == 200
        report_html = public.get(audit_path + "/report.html")
        assert report_html.status_code == 200
        assert "default-src 'none'" in report_html.headers["content-security-policy"]
        assert public.get("/audits/not-an-id").status_code == 404

    def test_roles(self, app: FastAPI) -> None:
        assert client_for(app, "rita").get("/staff/audits").status_code == 403
        assert client_for(app, "fay").post("/staff/audits/publish").status_code == 403


class TestGuardians:
    def test_guardians_are_chosen_among_reviewers(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        page = admin.get(f"/staff/registry/{AGENT_ID}").text
        assert '<option value="rita" selected>' in page
        assert '<option value="ray">' in page
        form = csrf_of(page)
        same = admin.post(
            f"/staff/registry/{AGENT_ID}/guardians",
            data={
                "csrf_token": form,
                "guardian": "rita",
                "backup_guardian": "rita",
                "guardian_reason": "cover",
            },
        )
        assert field_error(same.text, "backup_guardian").startswith("The backup guardian")
        moved = admin.post(
            f"/staff/registry/{AGENT_ID}/guardians",
            data={
                "csrf_token": form,
                "guardian": "rita",
                "backup_guardian": "ray",
                "guardian_reason": "rob is on leave",
            },
        )
        assert moved.status_code == 303
        assert "rita / ray" in admin.get(f"/staff/registry/{AGENT_ID}").text
        back = admin.post(
            f"/staff/registry/{AGENT_ID}/guardians",
            data={
                "csrf_token": form,
                "guardian": "rita",
                "backup_guardian": "rob",
                "guardian_reason": "rob is back",
            },
        )
        assert back.status_code == 303


class TestNavigation:
    @pytest.mark.parametrize("username", [None, "admin", "rita", "aud", "fay"])
    def test_every_link_a_role_is_shown_opens(self, app: FastAPI, username: str | None) -> None:
        client = client_for(app, username)
        page = client.get("/staff" if username else "/").text
        nav = page.split('class="main-nav"', 1)[1].split("</nav>", 1)[0]
        links = re.findall(r'href="([^"]+)"', nav)
        assert links
        for link in links:
            assert client.get(link).status_code == 200, (username, link)


# --- staff users (administrators only) --------------------------------------------------
ARGON2_MARK = "$argon2"


def ledger_of_kind(app: FastAPI, kind: str) -> list[LedgerEntryRead]:
    """Every entry of ``kind``, oldest first."""
    from cogov.ledger.service import entries_before, entry_count

    with unit_of_work(app.state.cogov.engine) as session:
        size = entry_count(session)
        entries = entries_before(session, last=size, count=size)
    return [entry for entry in reversed(entries) if entry.kind == kind]


def signed_in(app: FastAPI, username: str, password: str) -> TestClient | None:
    """A client signed in as ``username`` with ``password``, or None when refused."""
    client = client_for(app)
    token = csrf_of(client.get("/staff/sign-in").text)
    response = client.post(
        "/staff/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )
    return client if response.status_code == 303 else None


def added_user_form(admin: TestClient, username: str, role: str) -> str:
    """Add ``username`` with ``role`` through the form; the CSRF token of their page."""
    added = add_through_the_form(admin, username=username, roles=[role], password=PASSWORD_FOR_NEW)
    assert added.status_code == 303, added.text
    return csrf_of(admin.get(f"/staff/users/{username}").text)


def add_through_the_form(admin: TestClient, **fields: str | list[str]) -> httpx.Response:
    form = csrf_of(admin.get("/staff/users/new").text)
    return admin.post("/staff/users/new", data={"csrf_token": form, **fields})


class TestStaffUsersAccess:
    """Who may use each page and form is proved in test_role_matrix.py (administrators
    only); here: the menu, and the CSRF token every form needs."""

    @pytest.mark.parametrize("username", ["admin", "rita", "aud", "fay"])
    def test_only_administrators_are_shown_the_link(self, app: FastAPI, username: str) -> None:
        page = client_for(app, username).get("/staff").text
        nav = page.split('class="main-nav"', 1)[1].split("</nav>", 1)[0]
        shown = username == "admin"
        assert ('href="/staff/users"' in nav) is shown
        assert ('href="/staff/users"' in page.split("</nav>")[-1]) is shown  # the staff page

    def test_a_form_without_its_csrf_token_is_refused(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        response = admin.post(
            "/staff/users/new",
            data={"username": "no.token", "roles": "auditor", "password": "x" * 20},
        )
        assert response.status_code == 403
        assert "no.token" not in admin.get("/staff/users").text


class TestStaffUsers:
    def test_add_a_field_staff_member_who_then_signs_in(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        added = add_through_the_form(
            admin,
            username="w.zhang",
            display_name="Wei Zhang",
            roles=["field_staff"],
            departments="Transport\n  Parks \n\nTransport",
            password=PASSWORD_FOR_NEW,
        )
        assert added.status_code == 303, added.text
        assert added.headers["location"] == "/staff/users/w.zhang?done=added"
        page = admin.get(added.headers["location"]).text
        assert "The user was added" in page
        assert "Departments</dt><dd>Parks, Transport</dd>" in re.sub(r"</?span>", "", page)
        assert ARGON2_MARK not in page
        assert PASSWORD_FOR_NEW not in page
        listing = admin.get("/staff/users").text
        assert 'href="/staff/users/w.zhang"' in listing
        assert "Wei Zhang" in listing
        assert ARGON2_MARK not in listing
        added_entry = [
            e for e in ledger_of_kind(app, "user.added") if e.payload["username"] == "w.zhang"
        ]
        assert [(e.actor, e.payload["roles"]) for e in added_entry] == [
            ("user:admin", ["field_staff"])
        ]
        departments = [
            e for e in ledger_of_kind(app, "user.departments_changed")
            if e.payload["username"] == "w.zhang"
        ]  # fmt: skip
        assert [(e.actor, e.payload["added"]) for e in departments] == [
            ("user:admin", ["Parks", "Transport"])
        ]
        worker = signed_in(app, "w.zhang", PASSWORD_FOR_NEW)
        assert worker is not None
        work = worker.get("/staff/work")
        assert work.status_code == 200
        assert '<option value="Transport">' in work.text

    def test_a_refused_form_names_each_field(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        before = admin.get("/staff/users").text.count('<th scope="row">')
        empty = add_through_the_form(admin)
        assert empty.status_code == 422
        assert field_error(empty.text, "username").startswith("Use 2 to 64 characters")
        assert field_error(empty.text, "roles") == "Choose at least one role."
        assert field_error(empty.text, "password") == "Enter a password of at least 12 characters."
        assert 'aria-invalid="true"' in empty.text
        assert_summary_links_land(empty.text)
        wrong = add_through_the_form(
            admin,
            username="Not Valid",
            roles=["wizard"],
            password="short",
            display_name="x" * 201,
        )
        assert field_error(wrong.text, "username").startswith("Use 2 to 64 characters")
        assert field_error(wrong.text, "roles") == "Choose roles from the list."
        assert field_error(wrong.text, "password") == "Use a password of at least 12 characters."
        assert field_error(wrong.text, "display_name") == "Use at most 200 characters."
        assert 'value="Not Valid"' in wrong.text  # kept to correct
        assert "short" not in re.findall(r'id="password"[^>]*', wrong.text)[0]  # never echoed
        hidden = add_through_the_form(
            admin, username="h.idden", roles=["auditor"], password=PASSWORD_FOR_NEW,
            display_name="Bell\x07name",
        )  # fmt: skip
        assert field_error(hidden.text, "display_name").startswith(
            "Remove the invisible control characters"
        )
        blank = add_through_the_form(admin, username="b.lank", roles=["auditor"], password=" " * 14)
        assert field_error(blank.text, "password") == "The password must not be only spaces."
        taken = add_through_the_form(
            admin, username="rita", roles=["auditor"], password=PASSWORD_FOR_NEW
        )
        assert taken.status_code == 422
        assert field_error(taken.text, "username") == "The username rita is taken: choose another."
        not_field = add_through_the_form(
            admin, username="d.ept", roles=["auditor"], departments="Transport",
            password=PASSWORD_FOR_NEW,
        )  # fmt: skip
        assert field_error(not_field.text, "departments").startswith("Only field staff work")
        assert_summary_links_land(not_field.text)
        assert admin.get("/staff/users").text.count('<th scope="row">') == before  # none added

    def test_change_roles_with_a_reason(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        form = added_user_form(admin, "r.oles", "reviewer")
        path = "/staff/users/r.oles/roles"
        no_reason = admin.post(path, data={"csrf_token": form, "roles": ["auditor"]})
        assert no_reason.status_code == 422
        assert field_error(no_reason.text, "roles_reason").startswith("Give a reason")
        assert 'id="roles-auditor" name="roles" value="auditor" checked' in no_reason.text
        none = admin.post(path, data={"csrf_token": form, "roles_reason": "moved"})
        assert field_error(none.text, "roles") == "Choose at least one role."
        hidden = admin.post(
            path, data={"csrf_token": form, "roles": ["auditor"], "roles_reason": "mov\x1fed"}
        )
        assert hidden.status_code == 422
        assert field_error(hidden.text, "roles_reason") == (
            "Remove the invisible control characters from this text."
        )
        assert_summary_links_land(hidden.text)
        assert_summary_links_land(none.text)
        done = admin.post(
            path,
            data={
                "csrf_token": form,
                "roles": ["auditor", "reviewer"],
                "roles_reason": "audit team",
            },
        )
        assert done.headers["location"] == "/staff/users/r.oles?done=roles"
        assert "<dd>Auditor, Reviewer (guardian)</dd>" in admin.get(done.headers["location"]).text
        changed = [
            e
            for e in ledger_of_kind(app, "user.roles_changed")
            if e.payload["username"] == "r.oles"
        ]
        assert [(e.actor, e.payload["roles_after"], e.payload["reason"]) for e in changed] == [
            ("user:admin", ["auditor", "reviewer"], "audit team")
        ]

    def test_the_last_administrator_and_oneself(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        form = csrf_of(admin.get("/staff/users/admin").text)
        own = admin.post(
            "/staff/users/admin/status",
            data={"csrf_token": form, "action": "disable", "status_reason": "leaving"},
        )
        assert own.status_code == 409
        assert field_error(own.text, "status_reason") == (
            "You cannot disable your own account: another administrator must."
        )
        admin2_status = "/staff/users/admin2/status"
        gone = admin.post(
            admin2_status, data={"csrf_token": form, "action": "disable", "status_reason": "leave"}
        )
        assert gone.status_code == 303
        try:
            demoted = admin.post(
                "/staff/users/admin/roles",
                data={"csrf_token": form, "roles": ["auditor"], "roles_reason": "change"},
            )
            assert demoted.status_code == 409
            assert field_error(demoted.text, "roles").startswith(
                "admin is the last active administrator"
            )
            assert_summary_links_land(demoted.text)
            alone = admin.post(
                "/staff/users/admin/status",
                data={"csrf_token": form, "action": "disable", "status_reason": "leaving"},
            )
            assert alone.status_code == 409
            assert "admin is the last active administrator" in field_error(
                alone.text, "status_reason"
            )
            assert client_for(app, "admin").get("/staff/users").status_code == 200  # still admin
        finally:
            back = admin.post(
                admin2_status,
                data={"csrf_token": form, "action": "enable", "status_reason": "back"},
            )
            assert back.status_code == 303

    def test_an_administrator_who_gives_up_the_role_leaves_the_pages(self, app: FastAPI) -> None:
        admin2 = client_for(app, "admin2")
        form = csrf_of(admin2.get("/staff/users/admin2").text)
        stepped_down = admin2.post(
            "/staff/users/admin2/roles",
            data={"csrf_token": form, "roles": ["auditor"], "roles_reason": "rotation"},
        )
        try:
            assert stepped_down.status_code == 303
            assert stepped_down.headers["location"] == "/staff"
            assert admin2.get("/staff/users").status_code == 403
        finally:
            admin = client_for(app, "admin")
            restored = admin.post(
                "/staff/users/admin2/roles",
                data={
                    "csrf_token": csrf_of(admin.get("/staff/users/admin2").text),
                    "roles": ["administrator"],
                    "roles_reason": "rotation over",
                },
            )
            assert restored.status_code == 303

    def test_disable_and_enable(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        form = added_user_form(admin, "d.isable", "reviewer")
        path = "/staff/users/d.isable/status"
        open_session = signed_in(app, "d.isable", PASSWORD_FOR_NEW)
        assert open_session is not None
        assert open_session.get("/staff/review").status_code == 200
        no_reason = admin.post(path, data={"csrf_token": form, "action": "disable"})
        assert no_reason.status_code == 422
        assert field_error(no_reason.text, "status_reason").startswith("Give a reason")
        done = admin.post(
            path, data={"csrf_token": form, "action": "disable", "status_reason": "left"}
        )
        assert done.headers["location"] == "/staff/users/d.isable?done=disabled"
        assert "Disabled" in admin.get("/staff/users/d.isable").text
        assert not signed_in(app, "d.isable", PASSWORD_FOR_NEW)
        assert open_session.get("/staff/review").status_code == 303  # their session ended
        again = admin.post(
            path, data={"csrf_token": form, "action": "disable", "status_reason": "x"}
        )
        assert again.status_code == 409  # a stale form: someone disabled them meanwhile
        assert field_error(again.text, "status_reason") == "This user is already disabled."
        password = admin.post(
            "/staff/users/d.isable/password",
            data={"csrf_token": form, "password": PASSWORD_FOR_NEW},
        )
        assert password.status_code == 409
        assert field_error(password.text, "password").startswith("This user is disabled")
        enabled = admin.post(
            path, data={"csrf_token": form, "action": "enable", "status_reason": "back"}
        )
        assert enabled.headers["location"] == "/staff/users/d.isable?done=enabled"
        assert signed_in(app, "d.isable", PASSWORD_FOR_NEW)
        kinds = [
            (e.kind, e.actor, e.payload["reason"])
            for e in ledger_of_kind(app, "user.disabled") + ledger_of_kind(app, "user.enabled")
            if e.payload["username"] == "d.isable"
        ]
        assert kinds == [
            ("user.disabled", "user:admin", "left"),
            ("user.enabled", "user:admin", "back"),
        ]

    def test_departments_of_field_staff(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        form = added_user_form(admin, "f.ield", "field_staff")
        path = "/staff/users/f.ield/departments"
        unchanged = admin.post(path, data={"csrf_token": form, "departments_reason": "x"})
        assert unchanged.status_code == 422
        assert field_error(unchanged.text, "departments").startswith("These are already")
        no_reason = admin.post(path, data={"csrf_token": form, "departments": "Parks"})
        assert field_error(no_reason.text, "departments_reason").startswith("Give a reason")
        assert ">Parks</textarea>" in no_reason.text  # kept to correct
        too_long = admin.post(
            path, data={"csrf_token": form, "departments": "P" * 201, "departments_reason": "x"}
        )
        assert field_error(too_long.text, "departments") == (
            "Each department name must be 1 to 200 characters."
        )
        hidden = admin.post(
            path, data={"csrf_token": form, "departments": "Par\x00ks", "departments_reason": "x"}
        )
        assert field_error(hidden.text, "departments").startswith(
            "Remove the invisible control characters"
        )
        joined = admin.post(
            path,
            data={
                "csrf_token": form,
                "departments": "Parks\nTransport",
                "departments_reason": "team",
            },
        )
        assert joined.headers["location"] == "/staff/users/f.ield?done=departments"
        moved = admin.post(
            path,
            data={"csrf_token": form, "departments": "Transport", "departments_reason": "moved"},
        )
        assert moved.status_code == 303
        changes = [
            (e.actor, e.payload["added"], e.payload["removed"])
            for e in ledger_of_kind(app, "user.departments_changed")
            if e.payload["username"] == "f.ield"
        ]
        assert changes == [
            ("user:admin", ["Parks", "Transport"], []),
            ("user:admin", [], ["Parks"]),
        ]
        reviewer = admin.post(
            "/staff/users/rob/departments",
            data={"csrf_token": form, "departments": "Parks", "departments_reason": "x"},
        )
        assert field_error(reviewer.text, "departments").startswith("Only field staff work")

    def test_no_longer_field_staff_leaves_their_departments(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        form = added_user_form(admin, "f.ormer", "field_staff")
        joined = admin.post(
            "/staff/users/f.ormer/departments",
            data={"csrf_token": form, "departments": "Parks\nTransport", "departments_reason": "x"},
        )
        assert joined.status_code == 303
        path = "/staff/users/f.ormer/roles"
        moved = admin.post(
            path, data={"csrf_token": form, "roles": ["auditor"], "roles_reason": "audit team"}
        )
        assert moved.headers["location"] == "/staff/users/f.ormer?done=roles-departments"
        page = admin.get(moved.headers["location"]).text
        assert "The user is no longer field staff, so they were also taken out" in page
        assert "<dt>Departments</dt><dd>–</dd>" in page
        [entry] = [
            e
            for e in ledger_of_kind(app, "user.roles_changed")
            if e.payload["username"] == "f.ormer"
        ]
        assert entry.payload["departments_removed"] == ["Parks", "Transport"]
        again = admin.post(
            path, data={"csrf_token": form, "roles": ["reviewer"], "roles_reason": "reviews"}
        )
        assert again.headers["location"] == "/staff/users/f.ormer?done=roles"

    def test_reset_a_password(self, app: FastAPI) -> None:
        admin = client_for(app, "admin")
        form = added_user_form(admin, "p.ass", "auditor")
        path = "/staff/users/p.ass/password"
        weak = admin.post(path, data={"csrf_token": form, "password": "tiny"})
        assert weak.status_code == 422
        assert field_error(weak.text, "password") == "Use a password of at least 12 characters."
        empty = admin.post(path, data={"csrf_token": form})
        assert field_error(empty.text, "password") == "Enter a password of at least 12 characters."
        # Signed in with the old password before the reset (say, whoever made it needed).
        before = signed_in(app, "p.ass", PASSWORD_FOR_NEW)
        assert before is not None
        assert before.get("/staff/ledger").status_code == 200
        new_password = "a fresh start for p.ass"
        done = admin.post(path, data={"csrf_token": form, "password": new_password})
        assert done.headers["location"] == "/staff/users/p.ass?done=password"
        assert new_password not in admin.get(done.headers["location"]).text
        # The reset ended that session: its cookie is sent to sign in again.
        refused = before.get("/staff/ledger")
        assert refused.status_code == 303
        assert refused.headers["location"] == "/staff/sign-in?next=/staff/ledger"
        assert signed_in(app, "p.ass", new_password)
        assert not signed_in(app, "p.ass", PASSWORD_FOR_NEW)
        assert admin.get("/staff/users").status_code == 200  # the administrator's stays
        entries = [
            e for e in ledger_of_kind(app, "user.password_set") if e.payload["username"] == "p.ass"
        ]
        assert [(e.actor, e.payload) for e in entries] == [
            ("user:admin", {"username": "p.ass", "sessions_ended": 1})
        ]

    def test_unknown_user(self, app: FastAPI) -> None:
        assert client_for(app, "admin").get("/staff/users/no.such.user").status_code == 404

    def test_chinese_pages(self, app: FastAPI) -> None:
        admin = client_for(app, "admin", **{"Accept-Language": "zh-CN"})
        assert "工作人员用户" in admin.get("/staff/users").text
        empty = add_through_the_form(admin)
        assert field_error(empty.text, "roles") == "请至少选择一个角色。"
        assert field_error(empty.text, "password") == "请输入至少 12 个字符的密码。"
        form = csrf_of(admin.get("/staff/users/admin").text)
        own = admin.post(
            "/staff/users/admin/status",
            data={"csrf_token": form, "action": "disable", "status_reason": "x"},
        )
        assert (
            field_error(own.text, "status_reason") == "您不能停用自己的账号：须由另一位管理员停用。"
        )


PASSWORD_FOR_NEW = "a long enough first password"


def ledger_size(app: FastAPI) -> int:
    from cogov.ledger.service import entry_count

    with unit_of_work(app.state.cogov.engine) as session:
        return entry_count(session)


HIDDEN = {
    "en": "Remove the invisible control characters from this text.",
    "zh-CN": "请删除其中不可见的控制字符。",
}


@pytest.mark.parametrize("language", list(HIDDEN))
class TestTypedTextIsCheckedAsSent:
    """Every form checks typed text as sent, before anything trims it: str.strip() and
    str.split() take U+001C-U+001F and U+0085 for white space, so a control character
    at an end (or the whole text) was dropped and the rest stored, where cogov.core.text's
    rule refuses it. Each refusal is on its field, in the visitor's language."""

    def test_the_request_form(self, app: FastAPI, language: str) -> None:
        citizen = client_for(app, **{"Accept-Language": language})
        for field, value in [
            ("description", "deep pothole near the school\x85"),
            ("address_string", "1 Harbour Road\x1f"),
            ("first_name", "\x1cAda"),
            ("last_name", "\x1e"),
            ("attribute[size]", "large\x1d"),
        ]:
            status, html, _ = report(citizen, **{**POTHOLE, field: value})
            assert status == 422, field
            assert field_error(html, field_id(field)) == HIDDEN[language], field

    def test_the_registry_reasons(self, app: FastAPI, language: str) -> None:
        admin = client_for(app, "admin", **{"Accept-Language": language})
        agent = f"/staff/registry/{AGENT_ID}"
        form = csrf_of(admin.get(agent).text)
        before = ledger_size(app)
        for reason in ("ready\x1c", "\x85"):
            step = admin.post(
                f"{agent}/step", data={"csrf_token": form, "step": "submit", "reason": reason}
            )
            assert step.status_code == 422
            assert field_error(step.text, "reason") == HIDDEN[language]
        guardians = admin.post(
            f"{agent}/guardians",
            data={"csrf_token": form, "guardian": "rita", "backup_guardian": "rob",
                  "guardian_reason": "the same pair\x1f"},
        )  # fmt: skip
        assert guardians.status_code == 422
        assert field_error(guardians.text, "guardian_reason") == HIDDEN[language]
        switch = admin.post(
            f"{agent}/kill-switch",
            data={"csrf_token": form, "action": "resume", "switch_reason": "\x1echecked"},
        )
        assert switch.status_code == 422
        assert field_error(switch.text, "switch_reason") == HIDDEN[language]
        assert ledger_size(app) == before  # nothing recorded, nothing changed

    def test_a_review_decision(self, app: FastAPI, language: str) -> None:
        rita = client_for(app, "rita", **{"Accept-Language": language})
        item, _ = queued_item(app, rita, f"typed-text-{language}")
        decide = f"/staff/review/{item}/decide"
        form = csrf_of(rita.get(f"/staff/review/{item}").text)
        noted = rita.post(
            decide, data={"csrf_token": form, "decision": "approve", "note": "ok\x1c"}
        )
        assert noted.status_code == 422
        assert field_error(noted.text, "note") == HIDDEN[language]
        edited = rita.post(
            decide,
            data={"csrf_token": form, "decision": "edit", "new_value": "Parks\x85",
                  "reason_code": "wrong_department"},
        )  # fmt: skip
        assert edited.status_code == 422
        assert field_error(edited.text, "new_value") == HIDDEN[language]
        approved = rita.post(decide, data={"csrf_token": form, "decision": "approve"})
        assert approved.status_code == 303  # nothing was decided before

    def test_texts_of_control_characters_only(self, app: FastAPI, language: str) -> None:
        """Blank to str.strip(), so they were asked for, not refused for what they hold."""
        case_id, token = decided_case(app, f"typed-note-{language}")
        fay = client_for(app, "fay", **{"Accept-Language": language})
        form = csrf_of(fay.get(f"/staff/work/{case_id}").text)
        resolve = f"/staff/work/{case_id}/resolve"
        hidden = fay.post(resolve, data={"csrf_token": form, "note": "\x1f"})
        assert hidden.status_code == 422
        assert field_error(hidden.text, "note") == HIDDEN[language]  # not "write what was done"
        citizen = client_for(app, **{"Accept-Language": language})
        page = citizen.get(f"/track/{token}").text
        proposal = re.search(r'name="proposal_id" value="([^"]+)"', page)
        assert proposal
        grounds = {"proposal_id": proposal.group(1), "grounds": "\x85"}
        form = csrf_of(page)
        appeal = citizen.post(f"/track/{token}/appeal", data={"csrf_token": form, **grounds})
        assert appeal.status_code == 422
        assert field_error(appeal.text, f"grounds-{proposal.group(1)}") == HIDDEN[language]
        rob = client_for(app, "rob", **{"Accept-Language": language})
        form = csrf_of(rob.get(f"/staff/cases/{case_id}/appeal").text)
        assisted = rob.post(
            f"/staff/cases/{case_id}/appeal",
            data={"csrf_token": form, "citizen_code": token, "channel": "phone", **grounds},
        )
        assert assisted.status_code == 422
        assert field_error(assisted.text, "grounds") == HIDDEN[language]

    def test_staff_users(self, app: FastAPI, language: str) -> None:
        admin = client_for(app, "admin", **{"Accept-Language": language})
        suffix = "en" if language == "en" else "zh"
        username = f"t.typed-{suffix}"
        refused = add_through_the_form(
            admin, username=f"{username}\x1c", roles=["field_staff"], password=PASSWORD_FOR_NEW,
            display_name="\x85", departments="Transport\x1cParks",
        )  # fmt: skip
        assert refused.status_code == 422
        assert field_error(refused.text, "display_name") == HIDDEN[language]
        assert field_error(refused.text, "departments") == HIDDEN[language]
        assert field_error(refused.text, "username") != ""  # not made without the \x1c
        form = added_user_form(admin, username, "field_staff")
        path = f"/staff/users/{username}"
        departments = admin.post(
            f"{path}/departments",
            data={"csrf_token": form, "departments": "Parks\x1e", "departments_reason": "x"},
        )
        assert field_error(departments.text, "departments") == HIDDEN[language]
        for action, field in (("roles", "roles_reason"), ("departments", "departments_reason")):
            alone = admin.post(
                f"{path}/{action}",
                data={"csrf_token": form, "roles": ["auditor"], "departments": "Parks",
                      field: "\x1d"},
            )  # fmt: skip
            assert field_error(alone.text, field) == HIDDEN[language], action
        status = admin.post(
            f"{path}/status",
            data={"csrf_token": form, "action": "disable", "status_reason": "\x85"},
        )
        assert field_error(status.text, "status_reason") == HIDDEN[language]
        assert signed_in(app, username, PASSWORD_FOR_NEW) is not None  # still enabled
