"""A designer signs in with the keyboard and sees the deployed processes."""
from __future__ import annotations

import pytest

from .conftest import PASSWORD, screenshot

pytestmark = pytest.mark.browser


def test_wrong_password_then_sign_in_and_see_definitions(server, page):
    page.goto(f"{server}/")
    assert page.url.startswith(f"{server}/login")
    page.get_by_label("Username").fill("designer")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That username and password")
    assert page.get_by_label("Username").input_value() == "designer", "typed input is kept"
    screenshot(page, "login-error")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{server}/designer")  # a designer lands on the designer's workspace
    table = page.get_by_role("table")
    assert "deviations.bpmn" in table.inner_text() and "dev_process" in page.content()
    assert page.get_by_text("active", exact=True).is_visible()
    screenshot(page, "definitions")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{server}/login")
