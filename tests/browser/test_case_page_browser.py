"""The case page at 420 px: a header that wraps cleanly, a readable diagram with zoom, one
change dialog at a time and the timeline one link away (its own server: a fresh open case)."""
from __future__ import annotations

import re

import pytest

from .conftest import running_server, screenshot
from .test_work_browser import _setup, _sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def work_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("case-page") / "caseflow.sqlite3", _setup) as base:
        yield base


def _scale(page) -> float:
    """The diagram's zoom: the first number of the viewport group's transform matrix."""
    transform = page.locator("figure.diagram g.viewport").first.get_attribute("transform")
    return float(re.match(r"matrix\(([-\d.e]+)", transform).group(1))


def _overlaps(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize("username", ["ann", "sam"])
def test_the_case_page_at_420_px_header_diagram_zoom_and_one_dialog_at_a_time(
        work_server, browser, username):
    base = work_server
    context = browser.new_context(viewport={"width": 420, "height": 800})
    page = context.new_page()
    _sign_in(page, base, username)
    page.goto(f"{base}/cases/1")

    # The header wraps without drawing anything over anything else (the supervisor has most links).
    header = page.locator("header.topbar")
    boxes = [el.bounding_box() for el in header.locator("a, .who, button").all()]
    assert len(boxes) >= 6
    for i, a in enumerate(boxes):
        assert a["x"] >= 0 and a["x"] + a["width"] <= 420, f"header item {i} leaves the screen"
        for b in boxes[i + 1:]:
            assert not _overlaps(a, b), f"header items overlap: {a} {b}"

    # The diagram opens around the step waiting now at a zoom where labels can be read.
    page.locator("figure.diagram.diagram-ready").wait_for()
    start = _scale(page)
    assert start >= 0.79, f"labels drawn at zoom {start:.2f}"
    assert page.locator('g.djs-element.current[data-element-id]').first.is_visible()
    page.get_by_role("button", name="Zoom in").click()
    assert _scale(page) == pytest.approx(start * 1.25, rel=0.01)
    page.get_by_role("button", name="Zoom out").focus()
    page.keyboard.press("Enter")
    assert _scale(page) == pytest.approx(start, rel=0.01)
    page.get_by_role("button", name="Show the whole process").click()
    assert _scale(page) < start, "the whole process needs a smaller zoom at 420 px"
    screenshot(page, f"case-page-420-{username}")

    # The timeline is one link away; the dialogs open one at a time.
    page.get_by_role("link", name=re.compile(r"^Timeline \(\d+\)")).click()
    page.wait_for_url(re.compile("#timeline-h$"))
    assert page.locator("#timeline-h").is_visible()
    dialogs = page.locator("details.dialog")
    if dialogs.count() >= 2:
        dialogs.nth(0).locator("summary").click()
        assert dialogs.nth(0).get_attribute("open") is not None
        dialogs.nth(1).locator("summary").focus()
        page.keyboard.press("Enter")
        assert dialogs.nth(1).get_attribute("open") is not None
        assert dialogs.nth(0).get_attribute("open") is None, "opening one dialog closes the other"
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{base}/cases/1")
    page.locator("figure.diagram.diagram-ready").wait_for()
    screenshot(page, f"case-page-1280-{username}")
    context.close()
