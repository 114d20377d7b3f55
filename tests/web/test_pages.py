"""Every page and form of the web UI over HTTP (no browser): what each role may see
and do, every refusal with its status and message tied to the field, and the
security headers. The agency (tests/web/agency.py) runs a real router agent."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cogov.db.session import unit_of_work
from cogov.identity import change_departments
from cogov.ledger import LedgerEntryRead
from cogov.ledger.service import entries_for_case
from tests.conftest import BACKENDS, PG_URL, fresh_postgres_database
from tests.web.agency import AGENT_ID, seed_requests
from tests.web.conftest import csrf_of, make_app, sign_in

EXAMPLE_FILING = Path(__file__).resolve().parents[2] / "docs" / "examples" / "router-agent.yaml"


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """The pages on SQLite, and on PostgreSQL when COGOV_TEST_DATABASE_URL is set."""
    data_dir = tmp_path_factory.mktemp("pages")
    if request.param == "sqlite":
        application = make_app(data_dir, agents=True)
        yield application
        application.state.cogov.engine.dispose()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set COGOV_TEST_DATABASE_URL to run on it")
    with fresh_postgres_database(PG_URL) as url:
        application = make_app(data_dir, agents=True, database_url=url)
        yield application
        application.state.cogov.engine.dispose()


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
