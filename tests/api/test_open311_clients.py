"""Existing, independently written Open311 GeoReport v2 clients against a running
`cogov serve` (a real process on a free loopback port, on this package's SQLite
database and, when COGOV_TEST_DATABASE_URL is set, its PostgreSQL one).

Each client works through its own API; nothing here builds a request for it:

* PyPI ``georeport`` 0.3.1 (in the dev extra): services, a service definition, a
  request by id and requests by ids and by filter, in JSON and in XML. It has no
  method to post, so its tests post with a plain form POST and read back with it.
* npm ``open311`` 0.0.12, installed at test time (it needs node and npm, and skips
  saying why without them or without the registry): service discovery, services, a
  service definition, a POST with an ``attribute[...]`` and an api_key, read back by
  id, by ids, by filter and by token, and the refusals it passes on. Its two XML
  parsers cannot be installed (docs/open311.md, "Client compatibility"), so the test
  puts in their place modules that throw if called: the client's own code is the
  published tarball, checked by its sha512, and its JSON walk never calls them.

PyPI ``open311`` 1.1 is not here: it is Python 2 only (docs/open311.md says why).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from georeport import GeoReport
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cogov.core.types import Channel, Role
from cogov.intake import get_case
from tests.api.support import make_staff

JURISDICTION = "city.example"
V2 = "/open311/v2/"
# The node client exactly as published: open311 0.0.12's tarball (npm's dist.integrity).
NODE_CLIENT = "open311@0.0.12"
NODE_CLIENT_SHA512 = (
    "jwK7RRrGKWaK7sC+g7G6d5AyKEQNfWp6tKCsLt6shjO712lgtW8Wkipc6vK84hYg8eyv0vcAPKH3Orj06K/YKQ=="
)
# Its dependencies that the registry has, at the versions its package.json names
# (request ~2.11.0, lodash ~0.6.1).
NODE_CLIENT_DEPENDENCIES = ("request@2.11.0", "lodash@0.6.1")
# Its dependencies that cannot be installed: sparkxml is a GitHub-only git dependency;
# xml2json 0.2.4 needs node-expat 1.4.1, a native module built with node-waf for
# Node 0.6. Both are XML parsers, required when the client loads.
NODE_CLIENT_XML_PARSERS = {"sparkxml": "parseXml", "xml2json": "toJson"}
NODE_WALK = Path(__file__).with_name("open311_node_walk.js")
NPM_SECONDS = 300


@dataclass(frozen=True)
class Served:
    """A running `cogov serve`: the Open311 endpoint and an API token to post with."""

    endpoint: str
    api_key: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Servers:
    """One `cogov serve` process per database, started on first use, stopped at the
    end of the run. It requires an api_key and serves one jurisdiction, so the
    clients' handling of both is exercised."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._served: dict[str, Served] = {}

    def get(self, engine: Engine, data_dir: Path) -> Served:
        key = engine.url.render_as_string()
        if key not in self._served:
            self._served[key] = self._start(engine, data_dir)
        return self._served[key]

    def _start(self, engine: Engine, data_dir: Path) -> Served:
        port = _free_port()
        log = data_dir / f"serve-{port}.log"
        env = {
            **os.environ,
            "COGOV_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "COGOV_RATE_LIMIT_PER_MINUTE": "0",
            "COGOV_OPEN311_JURISDICTION_ID": JURISDICTION,
            "COGOV_OPEN311_API_KEY_REQUIRED": "true",
        }
        command = [
            str(Path(sys.executable).with_name("cogov")),
            "serve", "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(data_dir), "--log-level", "warning",
        ]  # fmt: skip
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=data_dir,  # no developer's .env is read
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._stack.callback(_stop, process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"cogov serve did not start:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{base}{V2}discovery.json", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        app_user = make_staff(engine, Role.FIELD_STAFF)
        return Served(endpoint=f"{base}{V2}", api_key=app_user.token)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def _servers() -> Iterator[_Servers]:
    with ExitStack() as stack:
        yield _Servers(stack)


@pytest.fixture
def served(_servers: _Servers, engine: Engine, data_dir: Path) -> Served:
    return _servers.get(engine, data_dir)


def _as_list(parsed: Any) -> list[Any]:
    """xmltodict gives one child as a dict and many as a list."""
    if parsed is None:
        return []
    return parsed if isinstance(parsed, list) else [parsed]


def _w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TestGeoReport:
    """PyPI georeport 0.3.1: it reads (services, definitions, requests); it cannot post."""

    @pytest.mark.parametrize("output_format", ["json", "xml"])
    def test_lists_services_reads_a_definition_and_reads_a_request_back(
        self, served: Served, engine: Engine, output_format: str
    ) -> None:
        client = GeoReport(served.endpoint, jurisdiction=JURISDICTION, output_format=output_format)
        xml = output_format == "xml"

        services = client.get_service_list()
        pothole = next(service for service in services if service["service_code"] == "pothole")
        assert pothole["service_name"]
        assert pothole["metadata"] == ("true" if xml else True)
        assert pothole["type"] == "realtime"

        definition = client.get_service_definition("pothole")
        assert definition["service_code"] == "pothole"
        attributes = (
            _as_list(definition["attributes"]["attribute"]) if xml else definition["attributes"]
        )
        size = next(attribute for attribute in attributes if attribute["code"] == "size")
        values = _as_list(size["values"]["value"]) if xml else size["values"]
        assert {value["key"] for value in values} == {"small", "medium", "large"}

        # georeport has no method to post: a plain form POST, as the spec gives it.
        description = f"Pothole {uuid.uuid4().hex[:8]} by the bus stop"
        before = datetime.now(UTC) - timedelta(minutes=1)
        posted = httpx.post(
            f"{served.endpoint}requests.json",
            data={
                "service_code": "pothole",
                "description": description,
                "lat": "40.71",
                "long": "-74.0",
                "attribute[size]": "large",
                "jurisdiction_id": JURISDICTION,
                "api_key": served.api_key,
            },
        )
        assert posted.status_code == 200, posted.text
        request_id = posted.json()[0]["service_request_id"]

        record = client.get_service_request(request_id)
        assert record["service_request_id"] == request_id
        assert record["status"] == "open"
        assert record["service_code"] == "pothole"
        assert record["description"] == description
        assert float(record["lat"]) == pytest.approx(40.71)
        assert record["requested_datetime"].endswith("Z")

        by_id = _as_list(client.get_service_requests(service_request_id=request_id))
        assert [found["service_request_id"] for found in by_id] == [request_id]

        by_filter = _as_list(
            client.get_service_requests(
                service_code="pothole",
                status="open",
                start_date=_w3c(before),
                end_date=_w3c(datetime.now(UTC) + timedelta(minutes=1)),
            )
        )
        assert request_id in {found["service_request_id"] for found in by_filter}

    @pytest.mark.parametrize("output_format", ["json", "xml"])
    def test_refusals_reach_it_as_http_errors(self, served: Served, output_format: str) -> None:
        client = GeoReport(served.endpoint, output_format=output_format)
        with pytest.raises(requests.HTTPError) as unknown:
            client.get_service_definition("no-such-service")
        assert unknown.value.response.status_code == 404
        elsewhere = GeoReport(served.endpoint, jurisdiction="elsewhere")
        with pytest.raises(requests.HTTPError) as refused:
            elsewhere.get_service_list()
        assert refused.value.response.status_code == 400
        assert refused.value.response.json()[0]["description"].startswith("jurisdiction_id")


def _run(command: list[str], cwd: Path, what: str) -> None:
    """Run an npm command; skip the test, saying why, when the registry cannot be had."""
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=NPM_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm could not fetch {what}: no answer in {NPM_SECONDS} s")
    if done.returncode != 0:
        pytest.skip(f"npm could not fetch {what} from the registry: {done.stderr[-600:]}")


@pytest.fixture(scope="session")
def node_open311(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published node open311 client installed in a fresh folder (its node_modules)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "the node open311 client needs node and npm on PATH "
            "(apt-get install nodejs npm); not found"
        )
    folder = tmp_path_factory.mktemp("node-open311")
    quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
    _run([npm, "pack", NODE_CLIENT, *quiet], folder, NODE_CLIENT)
    [tarball] = folder.glob("open311-*.tgz")
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    assert digest == NODE_CLIENT_SHA512, f"{tarball.name} is not the published {NODE_CLIENT}"
    _run(
        [npm, "install", "--no-save", "--no-package-lock", "--ignore-scripts", *quiet,
         *NODE_CLIENT_DEPENDENCIES],
        folder,
        " and ".join(NODE_CLIENT_DEPENDENCIES),
    )  # fmt: skip
    modules = folder / "node_modules"
    with tarfile.open(tarball) as archive:
        archive.extractall(folder / "unpacked", filter="data")
    shutil.move(folder / "unpacked" / "package", modules / "open311")
    for parser, function in NODE_CLIENT_XML_PARSERS.items():
        (modules / parser).mkdir()
        (modules / parser / "index.js").write_text(
            "// Put here by tests/api/test_open311_clients.py: open311 0.0.12 loads this XML\n"
            "// parser, which cannot be installed; its JSON calls never use it.\n"
            f"exports.{function} = function () {{\n"
            f"  throw new Error('{parser} is not installed: only JSON is tested');\n"
            "};\n",
            encoding="utf-8",
        )
    return modules


class TestNodeOpen311:
    """npm open311 0.0.12 (Code for America's node client), in JSON."""

    def test_lists_services_posts_and_reads_back_by_id_and_token(
        self, served: Served, engine: Engine, node_open311: Path
    ) -> None:
        description = f"Street light {uuid.uuid4().hex[:8]} is out"
        config = {
            "endpoint": served.endpoint,
            "apiKey": served.api_key,
            "jurisdiction": JURISDICTION,
            "serviceCode": "pothole",
            "request": {
                "service_code": "pothole",
                "description": description,
                "lat": 40.71,
                "long": -74.0,
                "email": "citizen@example.org",
                "attributes": {"size": "large"},
            },
        }
        done = subprocess.run(
            ["node", str(NODE_WALK), json.dumps(config)],
            env={**os.environ, "NODE_PATH": str(node_open311)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)

        assert seen["discovery"]["error"] is None
        assert seen["discoveredEndpoint"] == served.endpoint
        assert "pothole" in {s["service_code"] for s in seen["discoveredServices"]["data"]}
        assert seen["services"]["error"] is None
        assert "pothole" in {service["service_code"] for service in seen["services"]["data"]}
        definition = seen["definition"]["data"]
        assert [attribute["code"] for attribute in definition["attributes"]] == ["size"]

        assert seen["posted"]["error"] is None, seen["posted"]["data"]
        [answer] = seen["posted"]["data"]
        request_id = answer["service_request_id"]
        token = answer["cogov"]["citizen_token"]

        [record] = seen["byId"]["data"]
        assert record["service_request_id"] == request_id
        assert record["status"] == "open"
        assert record["description"] == description
        assert record["lat"] == pytest.approx(40.71)
        # The client turns the times into JavaScript dates: they parsed.
        assert record["requested_datetime"] is not None
        assert record["updated_datetime"] is not None
        assert [found["service_request_id"] for found in seen["byIds"]["data"]] == [request_id]
        assert request_id in {found["service_request_id"] for found in seen["byFilter"]["data"]}
        assert seen["token"]["data"] == [{"service_request_id": request_id, "token": token}]

        # Its attributes={...} became attribute[size]=large on the wire; its e-mail went to
        # the contact vault, not to the case.
        with Session(engine) as session:
            case = get_case(session, case_id=request_id)
        assert case.attributes == {"size": "large"}
        assert case.channel is Channel.OPEN311
        assert case.longitude == pytest.approx(-74.0)

        # It sends jurisdiction_id in a POST's query string: refused all the same.
        assert seen["otherJurisdiction"]["error"] == 400
        assert "jurisdiction_id" in seen["otherJurisdiction"]["data"]
        assert seen["wrongKey"]["error"] == 403
        assert seen["unknownRequest"]["error"] is True  # its GET errors carry no status
