"""Browser tests: the real application served by uvicorn on 127.0.0.1 (a free port,
a background thread, a fresh data directory), driven by Debian's chromium through
Playwright. No browser is downloaded: where /usr/bin/chromium is absent the tests
skip and say why (``sh dev test`` installs it when it can, see ./dev).
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.web.agency import seed_requests
from tests.web.conftest import PASSWORD, make_app

CHROMIUM = Path(os.environ.get("COGOV_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web"
AXE_SOURCE = Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js"
# WCAG 2.1 A and AA rules; "serious" and "critical" findings fail a test.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = make_app(tmp_path_factory.mktemp("browser-data"), agents=True)
    seed_requests(app)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="cogov-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    app.state.cogov.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need chromium at {CHROMIUM}: run `apt-get install chromium` "
            "(sh dev test does it when run as root) or set COGOV_CHROMIUM"
        )
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except PlaywrightError as failed:
            pytest.skip(f"chromium at {CHROMIUM} would not start: {failed.message[:300]}")
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Any, live_server: str) -> Iterator[Any]:
    """Make browser contexts (each one a separate person with their own cookies)."""
    contexts: list[Any] = []

    def make(locale: str = "en-US") -> Any:
        context = browser.new_context(
            base_url=live_server, locale=locale, viewport={"width": 1200, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core in the page (WCAG 2.1 A/AA) and return the serious or critical
    violations, each with the elements it found."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluate() runs outside the page's CSP, which forbids inline scripts.
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def assert_accessible(page: Any, name: str) -> None:
    found = axe_violations(page)
    assert not found, f"{name}: {json.dumps(found, ensure_ascii=False, indent=1)}"


def sign_in(page: Any, username: str) -> None:
    page.goto("/staff/sign-in")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/staff/sign-in'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff$"))
