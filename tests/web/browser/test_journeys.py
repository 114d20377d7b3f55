"""The journeys of the issue in a real browser, each in English and in Chinese:
a citizen reports a problem, a reviewer approves the AI's proposal, the citizen sees
the decision and appeals, an uninvolved reviewer decides the appeal, and an auditor
verifies the ledger. Every page visited is scanned with axe-core (no serious or
critical WCAG 2.1 A/AA violation) and saved as a screenshot in test-artifacts/web/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.browser.conftest import assert_accessible, screenshot, sign_in

WORDS = {
    "en": {
        "locale": "en-US",
        "report": "Report a problem",
        "send": "Send my request",
        "received": "We received your request",
        "approve": "Approve as proposed",
        "record": "Record my decision",
        "approved": "Approved by a person",
        "appeal": "Appeal to a person",
        "appeal_sent": "Your appeal was sent",
        "dismiss": "Dismiss: the original decision stands",
        "dismissed": "Not upheld: the decision stands",
        "verify": "Verify the whole ledger",
        "verifies": "The ledger verifies",
        "proof_ok": "Checked with the public key only",
        "sign_checkpoint": "Sign a checkpoint now",
        "why": "Why",
        "suggests": "Suggests the department",
        "checks": "Checks by the rules",
    },
    "zh-Hans": {
        "locale": "zh-CN",
        "report": "反映问题",
        "send": "提交诉求",
        "received": "我们已收到您的诉求",
        "approve": "按建议批准",
        "record": "记录我的决定",
        "approved": "已由工作人员批准",
        "appeal": "向工作人员申诉",
        "appeal_sent": "您的申诉已提交",
        "dismiss": "不成立：维持原决定",
        "dismissed": "不成立：维持原决定",
        "verify": "校验整个台账",
        "verifies": "台账校验通过",
        "proof_ok": "仅用公钥即完成校验",
        "sign_checkpoint": "立即签署检查点",
        "why": "理由",
        "suggests": "建议交由",
        "checks": "规则检查",
    },
}
LANGUAGES = list(WORDS)
GROUNDS = "The road belongs to the port, not the city."
# Three English words in a row: a sentence, not a word of data (a department, a token).
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+")


def check(page: Any, name: str) -> None:
    """Scan the page with axe and keep a screenshot of it."""
    assert_accessible(page, name)
    screenshot(page, name)


def report_problem(page: Any, tag: str, description: str) -> str:
    """A citizen reports a pothole through the form; returns their private link."""
    words = WORDS[tag]
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == tag
    check(page, f"home-{tag}")
    page.locator("nav.main-nav").get_by_role("link", name=words["report"]).click()
    page.wait_for_url("**/requests/new")
    # Sent empty: errors tied to their fields, summarised at the top.
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url("**/requests")
    assert page.locator("#error-summary").is_visible()
    assert page.locator("#service_code").get_attribute("aria-invalid") == "true"
    assert "service_code-error" in (
        page.locator("#service_code").get_attribute("aria-describedby") or ""
    )
    check(page, f"report-errors-{tag}")
    page.locator("#service_code").select_option("pothole")
    page.locator("#attribute-size").wait_for()  # htmx brought the service's own questions
    page.locator("#attribute-size").select_option("large")
    page.locator("#description").fill(description)
    page.locator("#address_string").fill("12 Harbour Road")
    page.locator("#group-age_band").select_option("65_plus")
    check(page, f"report-form-{tag}")
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url(re.compile(r"/track/[A-Za-z0-9_-]+\?received=1$"))
    main = page.locator("main").inner_text()
    assert words["received"] in main
    assert description in main
    check(page, f"track-received-{tag}")
    return page.url.split("?")[0]


def assert_explained_in(page: Any, tag: str) -> None:
    """The review page words the AI's explanation and the rules' checks in its own
    language (no English sentence on the Chinese page), and makes no claim about
    automatic application beside the threshold in force."""
    words = WORDS[tag]
    main = page.locator("main")
    why = main.locator("dt", has_text=words["why"]).locator("xpath=following-sibling::dd[1]")
    explanation = why.inner_text()
    assert explanation.startswith(words["suggests"]), explanation
    checks = main.locator("h3", has_text=words["checks"]).locator("xpath=following-sibling::ul[1]")
    checked = checks.locator("li").all_inner_texts()
    assert checked
    assert "may be applied automatically" not in main.inner_text()
    if tag == "zh-Hans":
        assert not ENGLISH_SENTENCE.search(explanation), explanation
        for text in checked:
            assert not ENGLISH_SENTENCE.search(text), text


@pytest.mark.parametrize("tag", LANGUAGES)
def test_citizen_reviewer_appeal_journey(new_context: Any, tag: str) -> None:
    words = WORDS[tag]
    citizen = new_context(words["locale"]).new_page()
    link = report_problem(citizen, tag, f"Deep pothole in the road near the school ({tag})")

    # The guardian's reviewer finds the proposal with its explanation and approves it.
    reviewer = new_context(words["locale"]).new_page()
    sign_in(reviewer, "rita")
    reviewer.goto("/staff/review")
    check(reviewer, f"review-queue-{tag}")
    ours = reviewer.locator("table").first.locator("tbody tr", has_text=f"school ({tag})")
    ours.locator("a").click()
    reviewer.wait_for_url(re.compile(r"/staff/review/[0-9a-f-]+$"))
    assert "Deep pothole in the road near the school" in reviewer.locator("main").inner_text()
    check(reviewer, f"review-item-{tag}")
    assert_explained_in(reviewer, tag)
    reviewer.get_by_label(words["approve"]).check()
    reviewer.get_by_role("button", name=words["record"]).click()
    reviewer.wait_for_url("**/staff/review?decided=1")

    # The citizen sees the decision, and appeals it to a person.
    citizen.goto(link)
    assert words["approved"] in citizen.locator("main").inner_text()
    citizen.locator("textarea[name=grounds]").first.fill(GROUNDS)
    citizen.get_by_role("button", name=words["appeal"]).first.click()
    citizen.wait_for_url(re.compile(r"\?appealed=1"))
    assert words["appeal_sent"] in citizen.locator("main").inner_text()
    check(citizen, f"track-appealed-{tag}")

    # A reviewer who took no part decides the appeal; the citizen reads the outcome.
    hearer = new_context(words["locale"]).new_page()
    sign_in(hearer, "ray")
    hearer.goto("/staff/review")
    # This citizen's appeal (other journeys file appeals too), oldest first.
    hearer.locator("a[href^='/staff/appeals/']", has_text=GROUNDS).first.click()
    check(hearer, f"appeal-{tag}")
    hearer.get_by_label(words["dismiss"]).check()
    hearer.locator("#reason").fill("The road is the city's: the port handed it over in 2019.")
    hearer.get_by_role("button", name=words["record"]).click()
    hearer.wait_for_url("**/staff/review?decided=1")
    citizen.goto(link)
    assert words["dismissed"] in citizen.locator("main").inner_text()
    citizen.locator("#score-4").check()
    citizen.locator("#rating button").click()
    citizen.wait_for_url(re.compile(r"\?rated=1"))
    check(citizen, f"track-decided-{tag}")


@pytest.mark.parametrize("tag", LANGUAGES)
def test_auditor_verifies_the_ledger(new_context: Any, tag: str) -> None:
    words = WORDS[tag]
    admin = new_context(words["locale"]).new_page()
    sign_in(admin, "admin")
    admin.goto("/staff/ledger")
    admin.get_by_role("button", name=words["sign_checkpoint"]).click()
    admin.wait_for_url("**/staff/ledger")

    auditor = new_context(words["locale"]).new_page()
    sign_in(auditor, "aud")
    auditor.goto("/staff/ledger")
    check(auditor, f"ledger-{tag}")
    auditor.get_by_role("link", name=words["verify"]).click()  # htmx swaps the result in
    auditor.locator("#verify-result .notice").wait_for()
    assert words["verifies"] in auditor.locator("#verify-result").inner_text()
    assert auditor.url.endswith("/staff/ledger")  # stayed on the page: htmx did the work
    check(auditor, f"ledger-verified-{tag}")
    auditor.locator("#seq").fill("3")
    auditor.locator("#seq").press("Enter")
    auditor.wait_for_url("**/staff/ledger/3")
    assert words["proof_ok"] in auditor.locator("main").inner_text()
    check(auditor, f"ledger-entry-{tag}")


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
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#main"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"
