"""An administrator manages staff users in a real browser, in English and Chinese:
the list (reached from the menu), the add form refused and then filled in for a field
staff member with a department, the new user's page; then that user signs in with the
initial password and finds a request of their department in their work list. Every
page is scanned with axe-core and saved as a screenshot in test-artifacts/web/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.browser.conftest import sign_in
from tests.web.browser.test_casework import approve_routing, submit_request
from tests.web.browser.test_journeys import WORDS, check

USER_WORDS = {
    "en": {"menu": "Staff users", "add": "Add a user", "added": "The user was added"},
    "zh-Hans": {"menu": "工作人员用户", "add": "添加用户", "added": "用户已添加"},
}
INITIAL_PASSWORD = "first day on the field team"


@pytest.mark.parametrize("tag", list(USER_WORDS))
def test_an_administrator_adds_field_staff_who_then_see_their_work(
    new_context: Any, tag: str
) -> None:
    words, user_words = WORDS[tag], USER_WORDS[tag]
    username = f"field.{tag.split('-')[0].lower()}"
    marker = f"by the bus stop ({tag})"
    # A request routed to Transport (a reviewer approves the AI's routing), waiting there.
    submit_request(new_context(words["locale"]).new_page(), tag, f"Broken kerb {marker}")
    approve_routing(new_context(words["locale"]).new_page(), tag, marker)

    admin = new_context(words["locale"]).new_page()
    sign_in(admin, "admin")
    admin.locator("nav.main-nav").get_by_role("link", name=user_words["menu"]).click()
    admin.wait_for_url("**/staff/users")
    assert admin.locator("table th[scope=row] a", has_text="rita").is_visible()
    check(admin, f"staff-users-{tag}")
    admin.get_by_role("link", name=user_words["add"]).click()
    admin.wait_for_url("**/staff/users/new")
    check(admin, f"staff-users-new-{tag}")

    submit = admin.locator("form[action='/staff/users/new'] button[type=submit]")
    submit.click()  # empty: refused, each field named
    admin.locator("#error-summary").wait_for()
    assert admin.locator("#username").get_attribute("aria-invalid") == "true"
    assert admin.locator("#password").get_attribute("aria-invalid") == "true"
    admin.locator("#error-summary a[href='#roles']").click()
    assert admin.evaluate("document.activeElement && document.activeElement.id") == "roles"
    check(admin, f"staff-users-new-errors-{tag}")

    admin.locator("#username").fill(username)
    admin.locator("#display_name").fill(f"Field worker {tag}")
    admin.locator("#roles-field_staff").check()
    admin.locator("#departments").fill("Transport")
    admin.locator("#password").fill(INITIAL_PASSWORD)
    submit.click()
    admin.wait_for_url(f"**/staff/users/{username}?done=added")
    main = admin.locator("main").inner_text()
    assert user_words["added"] in main
    assert "Transport" in main
    assert INITIAL_PASSWORD not in admin.content()
    check(admin, f"staff-user-added-{tag}")

    # The new field staff member signs in with the initial password and sees the work.
    field = new_context(words["locale"]).new_page()
    field.goto("/staff/sign-in")
    field.locator("#username").fill(username)
    field.locator("#password").fill(INITIAL_PASSWORD)
    field.locator("form[action='/staff/sign-in'] button[type=submit]").click()
    field.wait_for_url(re.compile(r"/staff$"))
    field.goto("/staff/work")
    assert field.locator("table tbody tr", has_text=marker).is_visible()
    check(field, f"staff-work-new-user-{tag}")
