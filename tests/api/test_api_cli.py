"""`cogov tokens` (issue once, list without secrets, revoke), `cogov serve --help` and
the listening socket `cogov serve` hands its workers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cogov.cli import serve
from cogov.cli.main import app
from cogov.cli.serve import tcp_listener
from tests.api.nodelay_probe import DIR_VARIABLE

ROOT = Path(__file__).resolve().parents[2]

runner = CliRunner()


def cogov(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


class TestTokens:
    def test_issue_list_revoke(self, tmp_path: Path) -> None:
        data = ["--data-dir", str(tmp_path)]
        assert cogov("users", "add", "ops", "--role", "administrator", *data)[0] == 0
        code, out = cogov(
            "tokens", "issue", "ops", "--name", "cron", "--days", "30", "--json", *data
        )
        assert code == 0, out
        issued = json.loads(out)
        assert issued["secret"].startswith("cgv_")
        assert issued["token"]["expires_at"] is not None
        code, out = cogov("tokens", "list", "--json", *data)
        listed = json.loads(out)
        assert [token["id"] for token in listed] == [issued["token"]["id"]]
        assert issued["secret"] not in out
        code, out = cogov("tokens", "revoke", issued["token"]["id"], *data)
        assert code == 0, out
        assert json.loads(cogov("tokens", "list", "--json", *data)[1]) == []
        everything = json.loads(cogov("tokens", "list", "--all", "--json", *data)[1])
        assert everything[0]["revoked_at"] is not None

    def test_errors_are_one_line_with_exit_codes(self, tmp_path: Path) -> None:
        data = ["--data-dir", str(tmp_path)]
        code, out = cogov("tokens", "issue", "nobody", *data)
        assert code == 3
        assert "nobody" in out
        assert cogov("tokens", "revoke", "no-such-id", *data)[0] == 3
        cogov("users", "add", "ops", "--role", "auditor", *data)
        code, out = cogov("tokens", "issue", "ops", "--name", "   ", *data)
        assert code == 2
        assert "name" in out


class TestServe:
    def test_help_names_the_options(self) -> None:
        code, out = cogov("serve", "--help")
        assert code == 0
        for option in ("--host", "--port", "--workers", "--data-dir"):
            assert option in out

    def test_an_application_that_does_not_start_is_exit_1_not_3(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # 3 means "a thing named does not exist" in cogov (docs/cli.md), not uvicorn's 3.
        monkeypatch.setattr(serve, "run_uvicorn", lambda *args, **kwargs: False)
        code, out = cogov("serve", "--port", str(_free_port()), "--data-dir", str(tmp_path))
        assert code == 1
        assert "the server did not start" in out

    def test_run_uvicorn_says_when_start_up_failed(self) -> None:
        started = serve.run_uvicorn(
            "tests.api.failing_startup:app", host="127.0.0.1", port=_free_port(), workers=1,
            log_level="critical",
        )  # fmt: skip
        assert started is False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestServeListener:
    """Several workers: every accepted connection has TCP_NODELAY, so a keep-alive
    response is not held back waiting for the client's delayed ACK (uvicorn issue 3149:
    its own multi-worker socket has protocol 0, and asyncio then never sets it)."""

    def test_the_socket_is_tcp_and_inheritable(self) -> None:
        with tcp_listener("127.0.0.1", 0) as sock:
            assert sock.proto == socket.IPPROTO_TCP
            assert sock.type == socket.SOCK_STREAM
            assert sock.get_inheritable()

    def test_a_port_in_use_is_a_one_line_error(self, tmp_path: Path) -> None:
        with tcp_listener("127.0.0.1", 0) as taken:
            taken.listen()
            port = str(taken.getsockname()[1])
            code, out = cogov("serve", "--port", port, "--data-dir", str(tmp_path / "data"))
        assert code != 0
        assert f"cannot listen on 127.0.0.1:{port}" in out

    def test_connections_accepted_by_several_workers_have_nodelay(self, tmp_path: Path) -> None:
        port = _free_port()
        launcher = (
            "from cogov.cli.serve import run_uvicorn; "
            f"run_uvicorn('tests.api.nodelay_probe:app', host='127.0.0.1', port={port}, "
            "workers=2, http='tests.api.nodelay_probe:ProbeProtocol', lifespan='off', "
            "log_level='warning', timeout_worker_healthcheck=120)"
        )
        process = subprocess.Popen(
            [sys.executable, "-c", launcher],
            cwd=ROOT,
            env={**os.environ, DIR_VARIABLE: str(tmp_path)},
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            answered = 0
            while answered < 8:
                assert process.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not answer"
                try:
                    # A new connection each time, so both workers get some.
                    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                        for _ in range(2):
                            assert client.get("/").text == "ok"
                    answered += 1
                except httpx.TransportError:
                    time.sleep(0.2)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        seen = {path.name: path.read_text() for path in tmp_path.iterdir()}
        assert len(seen) >= answered
        assert set(seen.values()) == {"1"}, seen
