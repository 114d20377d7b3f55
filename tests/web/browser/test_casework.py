"""The staff journeys that close a case in a real browser, in English and Chinese:
field staff start work on a request routed to their department and resolve it with a
note, the citizen reads the note; then the citizen phones and a reviewer files an
appeal for them. Every page visited is scanned with axe-core and saved as a
screenshot in test-artifacts/web/, like the journeys in test_journeys.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.browser.conftest import sign_in
from tests.web.browser.test_journeys import WORDS, check

STAFF_WORDS = {
    "en": {
        "start": "Start work",
        "started": "Work started",
        "resolve": "Resolve",
        "resolved": "The request is resolved",
        "staff_reply": "Written by a member of staff",
        "open": "Open the request",
        "file": "File the appeal for the citizen",
        "filed": "The appeal was recorded as entered by you",
        "under_appeal": "A person who took no part in the decision will look at it",
    },
    "zh-Hans": {
        "start": "开始办理",
        "started": "已开始办理",
        "resolve": "办结",
        "resolved": "诉求已办结",
        "staff_reply": "由工作人员撰写",
        "open": "打开诉求",
        "file": "代市民提交申诉",
        "filed": "申诉已记录为由您代市民提交",
        "under_appeal": "将由未参与原决定的工作人员处理",
    },
}


def submit_request(page: Any, tag: str, description: str) -> str:
    """A citizen sends a pothole report through the form; returns their private link."""
    page.goto("/requests/new")
    page.locator("#service_code").select_option("pothole")
    page.locator("#attribute-size").wait_for()
    page.locator("#attribute-size").select_option("large")
    page.locator("#description").fill(description)
    page.locator("#address_string").fill("3 Market Square")
    page.get_by_role("button", name=WORDS[tag]["send"]).click()
    page.wait_for_url(re.compile(r"/track/[A-Za-z0-9_-]+\?received=1$"))
    return str(page.url).split("?")[0]


def approve_routing(page: Any, tag: str, marker: str) -> None:
    """The guardian approves the AI's routing of the request carrying ``marker``."""
    sign_in(page, "rita")
    page.goto("/staff/review")
    row = page.locator("table").first.locator("tbody tr", has_text=marker)
    row.locator("a").click()
    page.wait_for_url(re.compile(r"/staff/review/[0-9a-f-]+$"))
    page.get_by_label(WORDS[tag]["approve"]).check()
    page.get_by_role("button", name=WORDS[tag]["record"]).click()
    page.wait_for_url("**/staff/review?decided=1")


@pytest.mark.parametrize("tag", list(STAFF_WORDS))
def test_field_staff_resolve_and_a_reviewer_appeals_for_the_citizen(
    new_context: Any, tag: str
) -> None:
    words, staff_words = WORDS[tag], STAFF_WORDS[tag]
    marker = f"near the market ({tag})"
    citizen = new_context(words["locale"]).new_page()
    link = submit_request(citizen, tag, f"Deep pothole in the road {marker}")
    approve_routing(new_context(words["locale"]).new_page(), tag, marker)

    # Field staff find it in their work list, with what the AI did, and work it.
    field = new_context(words["locale"]).new_page()
    sign_in(field, "fay")
    field.goto("/staff/work")
    check(field, f"field-work-{tag}")
    field.locator("table tbody tr", has_text=marker).locator("a").click()
    field.wait_for_url(re.compile(r"/staff/work/[0-9a-f-]+$"))
    assert field.locator(".ai-label").first.is_visible()
    check(field, f"field-work-item-{tag}")
    field.get_by_role("button", name=staff_words["start"]).click()
    field.wait_for_url(re.compile(r"\?started=1$"))
    assert staff_words["started"] in field.locator("main").inner_text()
    note = f"Filled the pothole and resurfaced the lane ({tag})."
    field.locator("#note").fill(note)
    field.get_by_role("button", name=staff_words["resolve"], exact=True).click()
    field.wait_for_url(re.compile(r"resolved=1$"))
    assert staff_words["resolved"] in field.locator("main").inner_text()
    check(field, f"field-work-resolved-{tag}")

    # The citizen reads the note, written by a person, on their page.
    citizen.goto(link)
    main = citizen.locator("main").inner_text()
    assert note in main
    assert staff_words["staff_reply"] in main
    check(citizen, f"track-resolved-{tag}")
    number = citizen.locator("dd.mono").inner_text().strip()

    # The citizen phones to dispute the routing; a reviewer files the appeal for them.
    desk = new_context(words["locale"]).new_page()
    sign_in(desk, "rob")
    desk.goto("/staff/appeal-for-citizen")
    check(desk, f"appeal-for-citizen-find-{tag}")
    desk.locator("#number").fill(number)
    desk.get_by_role("button", name=staff_words["open"]).click()
    desk.wait_for_url(f"**/staff/cases/{number}/appeal")
    desk.get_by_role("button", name=staff_words["file"]).click()  # empty: refused
    desk.locator("#error-summary").wait_for()
    assert desk.locator("#citizen_code").get_attribute("aria-invalid") == "true"
    check(desk, f"appeal-for-citizen-errors-{tag}")
    desk.locator("#citizen_code").fill(link)
    desk.locator("#proposal_id-1").check()
    desk.locator("#grounds").fill("The lane belongs to the market, not the transport office.")
    desk.locator("#channel-phone").check()
    desk.get_by_role("button", name=staff_words["file"]).click()
    desk.wait_for_url(re.compile(r"\?filed=1$"))
    assert staff_words["filed"] in desk.locator("main").inner_text()
    check(desk, f"appeal-for-citizen-filed-{tag}")

    citizen.goto(link)
    assert staff_words["under_appeal"] in citizen.locator("main").inner_text()
