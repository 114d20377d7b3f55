"""Open311 GeoReport v2 as a plain client uses it, in JSON and in XML (parsed with
the standard library), plus every error in the spec's error shape."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from cogov.api import create_app
from cogov.api.open311 import routes
from cogov.control import Actor, load_control_config
from cogov.control.service import open_workflow, transition
from cogov.core.clock import FixedClock
from cogov.core.settings import load_settings
from cogov.core.types import Role
from cogov.db.session import unit_of_work
from cogov.intake import list_cases
from tests.api.support import Staff, build_app

V2 = "/open311/v2"
CONTROL = load_control_config()


def post_form(client: TestClient, fmt: str = "json", **fields: str) -> httpx.Response:
    body = {
        "service_code": "pothole",
        "description": "Deep hole by the bus stop",
        "lat": "40.7",
        "long": "-74",
        **fields,
    }
    return client.post(f"{V2}/requests.{fmt}", data=body)


def xml(text: str) -> ElementTree.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ElementTree.fromstring(text.encode("utf-8"))


class TestClientWalkJson:
    def test_list_services_post_read_back_and_look_up_the_token(self, client: TestClient) -> None:
        services = client.get(f"{V2}/services.json")
        assert services.status_code == 200
        assert services.headers["content-type"].startswith("application/json")
        codes = {service["service_code"] for service in services.json()}
        assert "pothole" in codes
        pothole = next(s for s in services.json() if s["service_code"] == "pothole")
        assert set(pothole) == {
            "service_code", "service_name", "description", "metadata", "type", "keywords", "group"
        }  # fmt: skip
        assert pothole["metadata"] is True
        assert pothole["type"] == "realtime"

        definition = client.get(f"{V2}/services/pothole.json").json()
        size = next(a for a in definition["attributes"] if a["code"] == "size")
        assert size["datatype"] == "singlevaluelist"
        assert {value["key"] for value in size["values"]} == {"small", "medium", "large"}

        posted = post_form(
            client,
            lat="40.71",
            long="-74.0",
            email="citizen@example.org",
            **{"attribute[size]": "large"},
        )
        assert posted.status_code == 200, posted.text
        [answer] = posted.json()
        request_id = answer["service_request_id"]
        token = answer["cogov"]["citizen_token"]
        assert answer["account_id"] is None

        [record] = client.get(f"{V2}/requests/{request_id}.json").json()
        assert record["service_request_id"] == request_id
        assert record["status"] == "open"
        assert record["service_code"] == "pothole"
        assert record["description"] == "Deep hole by the bus stop"
        assert record["lat"] == pytest.approx(40.71)
        assert record["requested_datetime"].endswith("Z")
        assert "cogov" not in record  # plain clients see the plain record

        assert client.get(f"{V2}/tokens/{token}.json").json() == [
            {"service_request_id": request_id, "token": token}
        ]

    def test_no_contact_detail_ever_comes_back(self, client: TestClient) -> None:
        posted = post_form(
            client,
            email="private@example.org",
            phone="+1 555 0100",
            first_name="Ada",
            last_name="Lovelace",
            lat="40.7",
            long="-74",
        )
        request_id = posted.json()[0]["service_request_id"]
        for path in (f"{V2}/requests/{request_id}.json", f"{V2}/requests/{request_id}.xml"):
            text = client.get(path, params={"extensions": "true"}).text
            for secret in ("private@example.org", "555 0100", "Ada", "Lovelace"):
                assert secret not in text
        listing = client.get(f"{V2}/requests.json", params={"service_request_id": request_id})
        assert "private@example.org" not in listing.text


class TestClientWalkXml:
    def test_the_same_walk_in_xml(self, client: TestClient) -> None:
        services = client.get(f"{V2}/services.xml")
        assert services.headers["content-type"].startswith("text/xml")
        root = xml(services.text)
        assert root.tag == "services"
        codes = [service.findtext("service_code") for service in root.findall("service")]
        assert "pothole" in codes
        assert root.find("service/metadata") is not None

        definition = xml(client.get(f"{V2}/services/pothole.xml").text)
        assert definition.tag == "service_definition"
        keys = [v.findtext("key") for v in definition.findall("attributes/attribute/values/value")]
        assert keys == ["small", "medium", "large"]

        posted = post_form(client, "xml", lat="40.7", long="-74")
        assert posted.status_code == 200, posted.text
        answer = xml(posted.text)
        assert answer.tag == "service_requests"
        request_id = answer.findtext("request/service_request_id")
        token = answer.findtext("request/cogov/citizen_token")
        assert request_id
        assert token

        record = xml(client.get(f"{V2}/requests/{request_id}.xml").text)
        assert record.findtext("request/service_request_id") == request_id
        assert record.findtext("request/status") == "open"
        assert record.find("request/cogov") is None

        lookup = xml(client.get(f"{V2}/tokens/{token}.xml").text)
        assert lookup.findtext("request/service_request_id") == request_id
        assert lookup.findtext("request/token") == token


class TestPostRequest:
    def test_multivaluelist_attributes_and_empty_fields(self, client: TestClient) -> None:
        posted = client.post(
            f"{V2}/requests.json",
            data={
                "service_code": "pothole",
                "description": "Hole",
                "lat": "40.7",
                "long": "-74",
                "address_string": "",
                "attribute[size]": "small",
            },
        )
        assert posted.status_code == 200, posted.text

    def test_idempotency_key_returns_the_same_request(self, client: TestClient) -> None:
        key = uuid.uuid4().hex
        body = {"service_code": "noise", "description": "Loud music at 2am"}
        first = client.post(f"{V2}/requests.json", data=body, headers={"Idempotency-Key": key})
        again = client.post(f"{V2}/requests.json", data=body, headers={"Idempotency-Key": key})
        assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
        assert again.json()[0]["cogov"]["replayed"] is True
        changed = client.post(
            f"{V2}/requests.json",
            data={**body, "description": "something else"},
            headers={"Idempotency-Key": key},
        )
        assert changed.status_code == 409
        assert changed.json()[0]["code"] == 409

    @pytest.mark.parametrize("fmt", ["json", "xml"])
    def test_a_bad_field_is_a_400_naming_it_in_the_spec_error_shape(
        self, client: TestClient, fmt: str
    ) -> None:
        response = post_form(client, fmt, lat="400", long="-74")
        assert response.status_code == 400
        if fmt == "json":
            [error] = response.json()
            assert error["code"] == 400
            assert error["description"].startswith("lat:")
        else:
            root = xml(response.text)
            assert root.tag == "errors"
            assert root.findtext("error/code") == "400"
            assert (root.findtext("error/description") or "").startswith("lat:")

    def test_a_control_character_in_the_description_is_a_400_naming_where(
        self, client: TestClient
    ) -> None:
        body = {"service_code": "noise", "description": "Loud\x1b[8m music", "lat": "40.7",
                "long": "-74"}  # fmt: skip
        response = client.post(f"{V2}/requests.json", data=body)
        assert response.status_code == 400
        assert response.json()[0]["description"] == (
            "description: contains a control character U+001B at position 5"
        )

    @pytest.mark.parametrize(
        ("field", "value", "problem"),
        [
            # White space to str.strip(): refused as typed, not trimmed off.
            ("description", "Loud music\x1c", "U+001C at position 11"),
            ("address_string", "\x85 1 Main St", "U+0085 at position 1"),
            ("first_name", "Ada\x1f", "U+001F at position 4"),
        ],
    )
    def test_a_control_character_at_an_end_is_a_400_not_trimmed_off(
        self, client: TestClient, field: str, value: str, problem: str
    ) -> None:
        body = {"service_code": "noise", "description": "Loud music", "lat": "40.7",
                "long": "-74", field: value}  # fmt: skip
        response = client.post(f"{V2}/requests.json", data=body)
        assert response.status_code == 400
        said = response.json()[0]["description"]
        assert said == f"{field}: contains a control character {problem}"

    def test_unknown_service_is_400(self, client: TestClient) -> None:
        response = client.post(
            f"{V2}/requests.json", data={"service_code": "no-such", "description": "x"}
        )
        assert response.status_code == 400
        assert "service_code" in response.json()[0]["description"]

    def test_files_are_refused(self, client: TestClient) -> None:
        response = client.post(
            f"{V2}/requests.json",
            data={"service_code": "noise", "description": "x"},
            files={"media": ("a.jpg", b"x", "image/jpeg")},
        )
        assert response.status_code == 400


class TestAssistedEntry:
    def test_staff_enter_a_request_for_a_citizen(
        self, client: TestClient, staff: dict[Role, Staff]
    ) -> None:
        clerk = staff[Role.FIELD_STAFF]
        body = {
            "service_code": "noise",
            "description": "Caller reports drilling at night",
            "channel": "phone",
            "phone": "+1 555 0199",
            "group": {},
        }
        entered = client.post("/api/v1/requests", json=body, headers=clerk.headers)
        assert entered.status_code == 201, entered.text
        request_id = entered.json()["service_request_id"]
        [record] = client.get(
            f"{V2}/requests/{request_id}.json", params={"extensions": "true"}
        ).json()
        assert record["cogov"]["channel"] == "phone"
        assert "555 0199" not in str(record)
        lookup = client.get(f"{V2}/tokens/{entered.json()['citizen_token']}.json").json()
        assert lookup[0]["service_request_id"] == request_id

    def test_bad_fields_are_named(self, client: TestClient, staff: dict[Role, Staff]) -> None:
        response = client.post(
            "/api/v1/requests",
            json={"service_code": "noise", "description": "x", "phone": "call me"},
            headers=staff[Role.FIELD_STAFF].headers,
        )
        assert response.status_code == 422
        assert response.json()["field"] == "phone"


class TestApiKeyAndJurisdiction:
    def test_api_key_required_when_configured(
        self, engine: Engine, data_dir: Path, staff: dict[Role, Staff]
    ) -> None:
        app = build_app(engine, data_dir, open311_api_key_required=True)
        body = {"service_code": "noise", "description": "Drilling"}
        with TestClient(app) as client:
            missing = client.post(f"{V2}/requests.json", data=body)
            wrong = client.post(f"{V2}/requests.xml", data={**body, "api_key": "cgv_nope"})
            right = client.post(
                f"{V2}/requests.json", data={**body, "api_key": staff[Role.FIELD_STAFF].token}
            )
        assert missing.status_code == 403
        assert missing.json()[0]["code"] == 403
        assert wrong.status_code == 403
        assert xml(wrong.text).findtext("error/code") == "403"
        assert right.status_code == 200

    def test_a_wrong_api_key_is_refused_even_when_optional(self, client: TestClient) -> None:
        response = post_form(client, api_key="cgv_nope")
        assert response.status_code == 403

    def test_jurisdiction(self, engine: Engine, data_dir: Path) -> None:
        app = build_app(engine, data_dir, open311_jurisdiction_id="city.example")
        with TestClient(app) as client:
            assert client.get(f"{V2}/services.json?jurisdiction_id=city.example").status_code == 200
            assert client.get(f"{V2}/services.json").status_code == 200
            other = client.get(f"{V2}/services.json?jurisdiction_id=elsewhere")
            posted = client.post(
                f"{V2}/requests.json",
                data={"service_code": "noise", "description": "x", "jurisdiction_id": "elsewhere"},
            )
        assert other.status_code == 400
        assert "jurisdiction_id" in other.json()[0]["description"]
        assert posted.status_code == 400

    def test_post_arguments_in_the_query_string_count(
        self, engine: Engine, data_dir: Path, staff: dict[Role, Staff]
    ) -> None:
        """Existing clients put a POST's jurisdiction_id (node open311 0.0.12) or api_key
        (Python open311 1.1) in the query string rather than the form: cogov reads them
        there too, so a client naming another jurisdiction is refused, not let through."""
        app = build_app(
            engine, data_dir, open311_jurisdiction_id="city.example", open311_api_key_required=True
        )
        body = {"service_code": "noise", "description": "Drilling"}
        key = staff[Role.FIELD_STAFF].token
        with TestClient(app) as client:
            elsewhere = client.post(
                f"{V2}/requests.json?jurisdiction_id=elsewhere", data={**body, "api_key": key}
            )
            keyed = client.post(
                f"{V2}/requests.json?jurisdiction_id=city.example&api_key={key}", data=body
            )
            wrong_key = client.post(f"{V2}/requests.json?api_key=cgv_nope", data=body)
        assert elsewhere.status_code == 400
        assert elsewhere.json()[0]["description"].startswith("jurisdiction_id")
        assert keyed.status_code == 200, keyed.text
        assert wrong_key.status_code == 403


class TestGetRequests:
    def test_filters_by_ids_service_and_status(self, client: TestClient) -> None:
        ids = [post_form(client).json()[0]["service_request_id"] for _ in range(2)]
        noise = client.post(
            f"{V2}/requests.json", data={"service_code": "noise", "description": "x"}
        )
        noise_id = noise.json()[0]["service_request_id"]
        by_ids = client.get(f"{V2}/requests.json", params={"service_request_id": ",".join(ids)})
        assert {record["service_request_id"] for record in by_ids.json()} == set(ids)
        by_code = client.get(f"{V2}/requests.json", params={"service_code": "noise"}).json()
        assert noise_id in {record["service_request_id"] for record in by_code}
        assert {record["service_code"] for record in by_code} == {"noise"}
        closed = client.get(f"{V2}/requests.json", params={"status": "closed"}).json()
        assert noise_id not in {record["service_request_id"] for record in closed}
        opened = client.get(f"{V2}/requests.json", params={"status": "open"}).json()
        assert noise_id in {record["service_request_id"] for record in opened}

    def test_date_range(self, client: TestClient) -> None:
        request_id = post_form(client).json()[0]["service_request_id"]
        inside = client.get(
            f"{V2}/requests.json",
            params={"start_date": "2000-01-01T00:00:00Z", "end_date": "2000-02-01T00:00:00Z"},
        )
        assert inside.status_code == 200
        assert request_id not in {record["service_request_id"] for record in inside.json()}

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"start_date": "yesterday"}, "start_date"),
            ({"end_date": "2020-01-01T00:00:00"}, "end_date"),
            (
                {"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-06-01T00:00:00Z"},
                "end_date",
            ),
            (
                {"start_date": "2020-02-01T00:00:00Z", "end_date": "2020-01-01T00:00:00Z"},
                "end_date",
            ),
            ({"status": "pending"}, "status"),
        ],
    )
    def test_bad_filters_are_400_naming_the_field(
        self, client: TestClient, params: dict[str, str], field: str
    ) -> None:
        response = client.get(f"{V2}/requests.json", params=params)
        assert response.status_code == 400
        assert response.json()[0]["description"].startswith(f"{field}:")

    def test_unknown_request_and_token_are_404(self, client: TestClient) -> None:
        for path in (f"{V2}/requests/nope.json", f"{V2}/tokens/nope.json"):
            response = client.get(path)
            assert response.status_code == 404
            assert response.json()[0]["code"] == 404
        assert xml(client.get(f"{V2}/requests/nope.xml").text).findtext("error/code") == "404"

    def test_extensions_show_state_and_ai_outputs(self, client: TestClient) -> None:
        request_id = post_form(client).json()[0]["service_request_id"]
        [record] = client.get(
            f"{V2}/requests/{request_id}.json", params={"extensions": "true"}
        ).json()
        assert record["cogov"]["state"] == "received"
        assert record["cogov"]["ai"] == []


class TestServices:
    def test_unknown_service_definition_is_404(self, client: TestClient) -> None:
        assert client.get(f"{V2}/services/nope.json").status_code == 404

    def test_unknown_format_is_an_error_in_the_spec_shape(self, client: TestClient) -> None:
        response = client.get(f"{V2}/services.html")
        assert response.status_code == 400
        assert response.json()[0]["code"] == 400

    def test_chinese_labels_on_request(self, client: TestClient) -> None:
        services = client.get(f"{V2}/services.json", params={"lang": "zh"}).json()
        pothole = next(s for s in services if s["service_code"] == "pothole")
        assert pothole["service_name"] == "路面坑洼或破损"

    def test_unknown_paths_and_methods_answer_in_the_spec_shape(self, client: TestClient) -> None:
        missing = client.get(f"{V2}/nothing-here.xml")
        assert missing.status_code == 404
        assert xml(missing.text).findtext("error/code") == "404"
        wrong_method = client.delete(f"{V2}/services.json")
        assert wrong_method.status_code == 405
        assert wrong_method.json()[0]["code"] == 405

    def test_discovery(self, client: TestClient) -> None:
        body = client.get(f"{V2}/discovery.json").json()
        assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert xml(client.get(f"{V2}/discovery.xml").text).tag == "discovery"


class TestCors:
    def test_configured_origins_may_call_from_a_browser_without_cookies(
        self, engine: Engine, data_dir: Path
    ) -> None:
        app = build_app(engine, data_dir, cors_allow_origins=["https://map.city.example"])
        with TestClient(app) as client:
            allowed = client.get(
                f"{V2}/services.json", headers={"Origin": "https://map.city.example"}
            )
            other = client.get(f"{V2}/services.json", headers={"Origin": "https://evil.example"})
            preflight = client.options(
                f"{V2}/requests.json",
                headers={
                    "Origin": "https://map.city.example",
                    "Access-Control-Request-Method": "POST",
                },
            )
        assert allowed.headers["access-control-allow-origin"] == "https://map.city.example"
        assert "access-control-allow-credentials" not in allowed.headers
        assert "access-control-allow-origin" not in other.headers
        assert preflight.status_code == 200

    def test_off_by_default(self, client: TestClient) -> None:
        response = client.get(f"{V2}/services.json", headers={"Origin": "https://map.example"})
        assert "access-control-allow-origin" not in response.headers


class TestRateLimit:
    def test_public_posts_are_limited_per_client_across_app_instances(
        self, engine: Engine, data_dir: Path
    ) -> None:
        # Two applications stand for two worker processes sharing the database.
        settings = {"rate_limit_per_minute": 1, "rate_limit_burst": 2}
        address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"
        headers = {"X-Forwarded-For": address}
        first = build_app(engine, data_dir, trust_forwarded_for=True, **settings)
        second = build_app(engine, data_dir, trust_forwarded_for=True, **settings)
        body = {"service_code": "noise", "description": "x"}
        with TestClient(first) as one, TestClient(second) as two:
            assert one.post(f"{V2}/requests.json", data=body, headers=headers).status_code == 200
            assert two.post(f"{V2}/requests.json", data=body, headers=headers).status_code == 200
            limited = one.post(f"{V2}/requests.json", data=body, headers=headers)
            other_client = two.post(
                f"{V2}/requests.json", data=body, headers={"X-Forwarded-For": address + "0"}
            )
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()[0]["code"] == 429
        assert other_client.status_code == 200

    def test_bad_requests_count_too(self, engine: Engine, data_dir: Path) -> None:
        app = build_app(
            engine, data_dir, rate_limit_per_minute=1, rate_limit_burst=1, trust_forwarded_for=True
        )
        headers = {"X-Forwarded-For": f"192.0.2.{uuid.uuid4().int % 250}"}
        with TestClient(app) as client:
            bad = client.post(f"{V2}/requests.json", data={"service_code": "x"}, headers=headers)
            after = client.post(
                f"{V2}/requests.json",
                data={"service_code": "noise", "description": "x"},
                headers=headers,
            )
        assert bad.status_code == 400
        assert after.status_code == 429


def _dated_app(engine: Engine, data_dir: Path) -> tuple[TestClient, FixedClock, datetime]:
    """An application whose clock stands at a moment of this test's own (a random
    minute in the 1900s), so date-range queries see only the cases made here."""
    start = datetime(1900, 1, 1, tzinfo=UTC) + timedelta(minutes=secrets.randbelow(40_000_000))
    clock = FixedClock(start)
    settings = load_settings(data_dir=data_dir, rate_limit_per_minute=0)
    app = create_app(settings, engine=engine, clock=clock, migrate=False)
    return TestClient(app), clock, start


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [record["service_request_id"] for record in response.json()]


def _reject(engine: Engine, case_id: str) -> None:
    with unit_of_work(engine) as session:
        [case] = list_cases(session, ids=[case_id])
        open_workflow(session, case=case, config=CONTROL)
        transition(
            session,
            case_id=case_id,
            to_state="rejected",
            actor=Actor.human("api-tests"),
            config=CONTROL,
            reason="not a city matter",
        )


class TestListStatusAndLimit:
    """GET requests.json: the status filter is applied before the 1,000-record limit,
    so status=open finds the open requests even when newer closed ones would fill it."""

    def test_status_filters_before_the_limit(
        self, engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        client, clock, start = _dated_app(engine, data_dir)
        opened: list[str] = []
        closed: list[str] = []
        for index in range(6):
            clock.set(start + timedelta(seconds=index))
            request_id = post_form(client).json()[0]["service_request_id"]
            (opened if index < 3 else closed).append(request_id)
        for request_id in closed:
            _reject(engine, request_id)
        monkeypatch.setattr(routes, "MAX_REQUESTS", 3)
        window = {"start_date": _stamp(start), "end_date": _stamp(start + timedelta(minutes=1))}
        newest_first = list(reversed(opened))
        assert _ids(client.get(f"{V2}/requests.json", params=window)) == closed[::-1]
        found = client.get(f"{V2}/requests.json", params={**window, "status": "open"})
        assert _ids(found) == newest_first
        assert {record["status"] for record in found.json()} == {"open"}
        found = client.get(f"{V2}/requests.json", params={**window, "status": "closed"})
        assert _ids(found) == closed[::-1]
        assert {record["status"] for record in found.json()} == {"closed"}
        both = client.get(f"{V2}/requests.json", params={**window, "status": "open,closed"})
        assert _ids(both) == closed[::-1]

    @staticmethod
    def _selects_listing(engine: Engine, data_dir: Path, made: int, **params: str) -> int:
        """The SELECTs one GET requests.json runs over ``made`` requests (every other
        one rejected, so both statuses are listed)."""
        client, clock, start = _dated_app(engine, data_dir)
        for index in range(made):
            clock.set(start + timedelta(seconds=index))
            request_id = post_form(client).json()[0]["service_request_id"]
            if index % 2:
                _reject(engine, request_id)
        window = {"start_date": _stamp(start), "end_date": _stamp(start + timedelta(minutes=1))}
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            listed = client.get(f"{V2}/requests.json", params={**window, **params})
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(_ids(listed)) == made
        return len([text for text in statements if text.lstrip().upper().startswith("SELECT")])

    def test_one_query_however_many_requests(self, engine: Engine, data_dir: Path) -> None:
        assert self._selects_listing(engine, data_dir, 1) == 1
        assert self._selects_listing(engine, data_dir, 6) == 1

    def test_extensions_cost_the_same_queries_however_many_requests(
        self, engine: Engine, data_dir: Path
    ) -> None:
        """The cases, then their proposals, ratings and newest appeals: one query
        each for the whole page, never one per request."""
        assert self._selects_listing(engine, data_dir, 1, extensions="true") == 4
        assert self._selects_listing(engine, data_dir, 7, extensions="true") == 4


class TestListDefaults:
    """GeoReport v2's defaults: no dates, the last 90 days; one date given, 90 days
    from it; a range of at most 90 days."""

    def test_the_last_90_days_by_default(self, engine: Engine, data_dir: Path) -> None:
        client, clock, start = _dated_app(engine, data_dir)
        old = post_form(client).json()[0]["service_request_id"]
        clock.set(start + timedelta(days=100))
        recent = post_form(client).json()[0]["service_request_id"]
        clock.set(start + timedelta(days=100, hours=1))
        listed = _ids(client.get(f"{V2}/requests.json"))
        assert recent in listed
        assert old not in listed

    def test_one_date_means_90_days_from_it(self, engine: Engine, data_dir: Path) -> None:
        client, clock, start = _dated_app(engine, data_dir)
        first = post_form(client).json()[0]["service_request_id"]
        clock.set(start + timedelta(days=100))
        later = post_form(client).json()[0]["service_request_id"]
        clock.set(start + timedelta(days=300))
        since = _ids(
            client.get(
                f"{V2}/requests.json", params={"start_date": _stamp(start - timedelta(hours=1))}
            )
        )
        assert first in since
        assert later not in since
        until = _ids(
            client.get(
                f"{V2}/requests.json",
                params={"end_date": _stamp(start + timedelta(days=100, hours=1))},
            )
        )
        assert later in until
        assert first not in until
