"""The journeys of the issue, in a real browser, in English and in Chinese: a citizen
reports a problem and follows it; staff sign in; each main page passes an axe scan."""

from __future__ import annotations

import re
from typing import Any

import pytest

from web.browser.conftest import assert_accessible, screenshot, sign_in

LANGUAGES = {
    "en": {
        "locale": "en-US",
        "lang": "en",
        "report": "Report a problem",
        "send": "Send my request",
        "received": "We received your request",
        "switch": "简体中文",
    },
    "zh-Hans": {
        "locale": "zh-CN",
        "lang": "zh-Hans",
        "report": "反映问题",
        "send": "提交诉求",
        "received": "我们已收到您的诉求",
        "switch": "English",
    },
}


@pytest.mark.parametrize("tag", list(LANGUAGES))
def test_citizen_reports_and_follows_a_request(new_context: Any, tag: str) -> None:
    words = LANGUAGES[tag]
    page = new_context(words["locale"]).new_page()
    page.goto("/")
    # Accept-Language chose the language; the page says so for screen readers.
    assert page.locator("html").get_attribute("lang") == words["lang"]
    assert_accessible(page, f"home {tag}")
    screenshot(page, f"home-{tag}")

    page.locator("nav.main-nav").get_by_role("link", name=words["report"]).click()
    page.wait_for_url("**/requests/new")
    # Submitting empty shows errors tied to their fields.
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url("**/requests")
    assert page.locator("#error-summary").is_visible()
    assert page.locator("#service_code").get_attribute("aria-invalid") == "true"
    assert_accessible(page, f"report form with errors {tag}")
    screenshot(page, f"report-errors-{tag}")

    page.locator("#service_code").select_option("pothole")
    # htmx loads the service's own questions.
    page.locator("#attribute-size").wait_for()
    page.locator("#attribute-size").select_option("large")
    page.locator("#description").fill("Deep pothole in the bike lane, 深坑")
    page.locator("#address_string").fill("12 Harbour Road")
    page.locator("#group-age_band").select_option("65_plus")
    assert_accessible(page, f"report form {tag}")
    screenshot(page, f"report-form-{tag}")
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url(re.compile(r"/track/[A-Za-z0-9_-]+\?received=1$"))
    assert words["received"] in page.locator("main").inner_text()
    assert "Deep pothole in the bike lane" in page.locator("main").inner_text()
    assert_accessible(page, f"tracking page {tag}")
    screenshot(page, f"track-{tag}")


def test_language_switch_is_remembered(new_context: Any) -> None:
    page = new_context("en-US").new_page()
    page.goto("/requests/new")
    page.get_by_role("link", name="简体中文").click()
    page.wait_for_url("**/requests/new")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.get_by_role("heading", level=1).inner_text() == "反映问题"
    page.goto("/")  # the cookie outranks the browser's English Accept-Language
    assert page.locator("html").get_attribute("lang") == "zh-Hans"


def test_keyboard_reaches_the_skip_link_first(new_context: Any) -> None:
    page = new_context().new_page()
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert focused == "#main"
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"


def test_staff_sign_in(new_context: Any) -> None:
    page = new_context().new_page()
    page.goto("/staff/sign-in")
    assert_accessible(page, "sign-in")
    screenshot(page, "sign-in-en")
    sign_in(page, "fay")
    page.goto("/staff/intake")
    assert_accessible(page, "assisted entry")
    screenshot(page, "assisted-entry-en")
