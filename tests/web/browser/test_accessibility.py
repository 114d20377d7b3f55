"""An axe-core scan (WCAG 2.1 A and AA) of every main page not already visited by
the journeys, in both languages, for the role that uses it. No serious or critical
violation may remain; each page is also saved as a screenshot."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.agency import AGENT_ID
from tests.web.browser.conftest import assert_accessible, screenshot, sign_in

PAGES = {
    None: ["/track", "/register", f"/register/{AGENT_ID}", "/audits", "/staff/sign-in"],
    "fay": ["/staff/intake", "/staff/work"],
    "rob": ["/staff/appeal-for-citizen"],
    "admin": [
        "/staff",
        "/staff/registry",
        f"/staff/registry/{AGENT_ID}",
        "/staff/registry/file",
        "/staff/users/rita",
    ],
    "aud": ["/staff/audits"],
}
LOCALES = {"en": "en-US", "zh-Hans": "zh-CN"}


@pytest.mark.parametrize("tag", list(LOCALES))
@pytest.mark.parametrize("user", list(PAGES), ids=lambda user: user or "public")
def test_main_pages_are_accessible(new_context: Any, tag: str, user: str | None) -> None:
    page = new_context(LOCALES[tag]).new_page()
    if user:
        sign_in(page, user)
    for path in PAGES[user]:
        response = page.goto(path)
        assert response is not None, path
        assert response.status == 200, path
        assert page.locator("html").get_attribute("lang") == tag
        name = f"{(path.strip('/') or 'home').replace('/', '-')}-{tag}"
        assert_accessible(page, name)
        screenshot(page, name)


def test_published_audit_is_accessible(new_context: Any) -> None:
    page = new_context().new_page()
    sign_in(page, "aud")
    page.goto("/staff/audits")
    page.locator("form[action='/staff/audits/publish'] button").click()
    page.wait_for_url("**/audits/*")
    assert_accessible(page, "published audit")
    screenshot(page, "published-audit-en")


@pytest.mark.parametrize("tag", list(LOCALES))
def test_field_pages_without_the_department_are_accessible(new_context: Any, tag: str) -> None:
    """A field staff member in no department: the empty state, and the 403 page of a
    department that is not theirs."""
    page = new_context(LOCALES[tag]).new_page()
    sign_in(page, "fred")
    page.goto("/staff/work")
    assert page.locator("main .notice").is_visible()
    assert_accessible(page, f"field work without a department ({tag})")
    screenshot(page, f"staff-work-no-department-{tag}")
    response = page.goto("/staff/work?department=Transport")
    assert response is not None
    assert response.status == 403
    assert_accessible(page, f"another department's field work ({tag})")
    screenshot(page, f"staff-work-not-your-department-{tag}")


def test_error_summary_link_lands_on_its_group_of_choices(new_context: Any) -> None:
    page = new_context().new_page()
    sign_in(page, "fay")
    page.goto("/staff/intake")
    # Telephone is chosen by default: clear it, so the channel is refused too.
    page.evaluate(
        "document.querySelectorAll('input[name=channel]').forEach(r => r.checked = false)"
    )
    page.locator("form[action='/staff/intake'] button[type=submit]").click()
    link = page.locator("#error-summary a[href='#channel']")
    link.click()
    assert page.evaluate("document.activeElement && document.activeElement.id") == "channel"
    assert page.locator("fieldset#channel legend").is_visible()
