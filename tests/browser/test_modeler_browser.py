"""A designer opens the active version in the in-browser modeler, turns the heatmap on, changes a
step in the properties panel, has a faulty save refused (problems beside the drawing, the drawing
kept), saves the fixed change as a draft, compares it with the active version and deploys it; at
desktop and phone widths, with no Content-Security-Policy violation (the `page` fixture fails on any)."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from cases.db import make_engine
from cases.simulate import Patterns, simulate
from cases.users import create_user
from engine.clock import utcnow
from engine.store import DefinitionVersion
from tests.conftest import T0

from .conftest import PASSWORD, REPORT_CSP, _is_csp, running_server, screenshot

pytestmark = pytest.mark.browser


def _setup(s: Session) -> None:
    create_user(s, username="designer", password=PASSWORD, role="designer", now=T0)
    s.commit()
    simulate(s, cases=40, days=20, seed=5, end=utcnow(),
             patterns=Patterns(mix={"billing_inquiry": 1.0}))


@pytest.fixture(scope="module")
def modeler_server(tmp_path_factory):
    db = tmp_path_factory.mktemp("modeler") / "caseflow.sqlite3"
    with running_server(db, _setup) as base:
        yield base, db


def _sign_in(page, base):
    page.goto(f"{base}/login?next=/designer")
    page.get_by_label("Username").fill("designer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/designer")


def _billing_version(db) -> int:
    """Version 1 of billing_inquiry: the one with the simulated cases."""
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        found = s.exec(select(DefinitionVersion.id).where(
            DefinitionVersion.process_id == "billing_inquiry",
            DefinitionVersion.version == 1)).one()
    engine.dispose()
    return found


def _select(page, element_id: str):
    page.locator(f'#modeler-canvas .djs-element[data-element-id="{element_id}"]').first.click()
    page.locator(".bio-properties-panel-header-label", has_text="Review").first.wait_for()


def _group(page, group_id: str):
    group = page.locator(f'[data-group-id="group-{group_id}"]')
    if not group.locator(".bio-properties-panel-group-entries.open").count():
        group.locator(".bio-properties-panel-group-header").click()
    return group


def _set_sla(page, value: str):
    field = _group(page, "caseflow").get_by_label("Step target (SLA)")
    field.fill(value)
    field.press("Tab")


def test_designer_edits_with_the_heatmap_saves_a_draft_compares_and_deploys(modeler_server, page):
    base, db = modeler_server
    v1 = _billing_version(db)
    _sign_in(page, base)
    page.goto(f"{base}/designer/versions/{v1}")
    page.get_by_role("link", name="Edit as a new version").click()
    page.wait_for_url(f"{base}/designer/versions/{v1}/edit")
    page.locator("body.modeler-ready").wait_for()
    assert page.locator(".djs-palette").is_visible(), "the modeler's palette is there"

    # The heatmap of the version being edited, on the same drawing.
    page.get_by_label("Show where agents deviate").check()
    page.locator("#heat-legend .heat-swatch").first.wait_for()
    assert page.locator("#modeler-canvas .diagram-badge").count() >= 1
    assert page.locator("#modeler-canvas .heat-filled").count() >= 1
    page.get_by_label("Measure").select_option("breaches")
    page.locator("#heat-legend", has_text="SLA").wait_for()

    # A change in the properties panel: rename the review step and give it a faulty SLA.
    _select(page, "Task_ReviewInvoice")
    name = _group(page, "general").get_by_label("Name", exact=True)
    name.fill("Review the invoice and usage")
    name.press("Tab")
    _set_sla(page, "one day")
    screenshot(page, "modeler-1280-editing")
    page.get_by_role("button", name="Save as draft").click()
    problems = page.locator("#modeler-problems")
    problems.get_by_text("caseflow.sla").wait_for()
    assert "Not saved" in page.locator("#modeler-problems-title").inner_text()
    assert page.locator('#modeler-canvas .djs-element.fault[data-element-id="Task_ReviewInvoice"]').count() == 1
    kept = page.evaluate("() => window.caseflowModeler.get('elementRegistry')"
                         ".get('Task_ReviewInvoice').businessObject.name")
    assert kept == "Review the invoice and usage", "the drawing is kept after a refusal"
    screenshot(page, "modeler-1280-refused")
    with Session(make_engine(f"sqlite:///{db}")) as s:
        assert len(s.exec(select(DefinitionVersion).where(
            DefinitionVersion.process_id == "billing_inquiry")).all()) == 1, "nothing stored"

    # Fixed: saved as a draft, then compared and deployed as today.
    _set_sla(page, "P1D")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(lambda url: "/edit" not in url)
    assert "Saved as draft billing_inquiry v2" in page.locator(".flash").inner_text()
    page.get_by_role("link", name="Compare with active v1").click()
    page.locator("figure.diagram.diagram-ready").first.wait_for()
    changed = page.locator("main").inner_text()
    assert "Review the invoice and usage" in changed and "P1D" in changed
    screenshot(page, "modeler-1280-compare")
    page.go_back()
    page.get_by_role("button", name="Deploy v2 (make active)").click()
    assert "is now active" in page.locator(".flash").inner_text()


def test_the_modeler_at_phone_width(modeler_server, browser):
    base, db = modeler_server
    context = browser.new_context(viewport={"width": 420, "height": 900})
    context.add_init_script(REPORT_CSP)
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if _is_csp(m.text) else None)
    _sign_in(page, base)
    page.goto(f"{base}/designer/versions/{_billing_version(db)}/edit")
    page.locator("body.modeler-ready").wait_for()
    page.get_by_label("Show where agents deviate").check()
    page.locator("#heat-legend .heat-swatch").first.wait_for()
    save = page.get_by_role("button", name="Save as draft")
    assert save.is_visible() and save.is_enabled()
    box = page.locator("#modeler-canvas").bounding_box()
    assert box["width"] <= 420
    screenshot(page, "modeler-420")
    context.close()
    assert not violations, violations
