"""The CSP in a real browser: injected code is blocked and reported, htmx still runs."""
from __future__ import annotations

import pytest

from .conftest import PASSWORD, REPORT_CSP, _is_csp

pytestmark = pytest.mark.browser


def test_injected_inline_script_and_style_are_blocked_and_reported(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(REPORT_CSP)
    page = context.new_page()
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if _is_csp(m.text) else None)
    page.goto(f"{server}/login")
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.injected = true";
        document.head.appendChild(s);
        document.body.setAttribute("style", "background: red");
    }""")
    page.wait_for_function("() => true")  # let the violation events reach the console
    assert page.evaluate("() => window.injected === undefined"), "the inline script did not run"
    assert any("script-src" in text for text in seen), seen
    assert any("style-src" in text for text in seen), seen
    context.close()


def test_htmx_works_under_the_policy_without_injecting_styles(server, page):
    page.goto(f"{server}/login")
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/work")
    assert page.evaluate("() => htmx.config.includeIndicatorStyles === false")
    assert page.evaluate("() => htmx.config.allowEval === false")
    assert page.locator("style").count() == 0, "no <style> element was injected"
    page.get_by_role("link", name="Customers").click()
    page.get_by_label("Find by name or account number").fill("zzz-nobody")  # an htmx request
    results = page.locator("#customer-results")
    results.get_by_text("No customer matches").wait_for()
    assert page.url.endswith("/customers"), "swapped in place, no page load"
