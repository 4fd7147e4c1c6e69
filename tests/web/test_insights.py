"""Insights pages on the known history of tests/cases/test_insights.py (SQLite file, real app)."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cases import insights
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.simulate import without_step
from cases.users import create_user
from tests.cases.conftest import People
from tests.cases.test_insights import build_history
from tests.conftest import BPMN_DIR, T0
from tests.web.conftest import PASSWORD, sign_in


def make_history(engine) -> dict:
    with Session(engine, expire_on_commit=False) as s:
        def user(name, role, teams):
            return create_user(s, username=name, password=PASSWORD, role=role, now=T0, teams=teams)

        people = People(user("ann", "agent", ["Customer Care"]), user("bob", "agent", ["Customer Care"]),
                        user("fran", "agent", ["Field Operations", "Network Operations"]),
                        user("sam", "supervisor", ["Supervisors"]))
        s.commit()
        customer = create_customer(s, actor="ann", now=T0, name="Ada Byrne", account_number="C-1")
        return build_history(s, people, customer)


@pytest.fixture
def history(app):
    return make_history(app.state.engine)


@pytest.fixture
def boss(client, history):
    assert sign_in(client, "supervisor").status_code == 303
    return client


def test_only_supervisors_and_admins(client, history):
    sign_in(client, "agent")
    assert client.get("/insights").status_code == 403
    assert client.get(f"/insights/versions/{history['version'].id}").status_code == 403


def test_index_links_every_version(boss, history):
    page = boss.get("/insights")
    assert page.status_code == 200
    v = history["version"].id
    assert f'href="/insights/versions/{v}/cases?measure=cases">4</a>' in page.text
    assert f'href="/insights/versions/{v}/heatmap"' in page.text
    deployed = history["version"].activated_at.strftime("%Y-%m-%d")
    assert f'<td data-label="In use">from {deployed}</td>' in page.text


def test_report_numbers_drill_down_to_cases(boss, history):
    v = history["version"].id
    page = boss.get(f"/insights/versions/{v}")
    assert page.status_code == 200
    row = re.search(r'<tr data-element-id="Task_AgreeAppointment".*?</tr>', page.text, re.DOTALL).group(0)
    assert ">50%</a>" in row and "skip 2" in row and "customer driven" in row
    link = unescape(re.search(r'href="([^"]*measure=kind[^"]*)"', row).group(1))
    cases = boss.get(link)
    assert cases.status_code == 200
    c2, c3 = history["cases"][1:3]
    listed = re.findall(r'href="/cases/(\d+)"', cases.text)
    assert sorted(map(int, listed)) == sorted([c2, c3])


def test_report_filters_and_bad_input(boss, history):
    v = history["version"].id
    page = boss.get(f"/insights/versions/{v}?channel=web")
    assert "1 cases</a>" in page.text and 'value="web" selected' in page.text
    bad = boss.get(f"/insights/versions/{v}?since=yesterday")
    assert bad.status_code == 400 and "must be a date" in bad.text
    assert boss.get(f"/insights/versions/{v}?channel=fax").status_code == 400
    assert boss.get(f"/insights/versions/{v}?since=2026-03-09&until=2026-03-02").status_code == 400
    assert boss.get("/insights/versions/999").status_code == 404
    assert boss.get(f"/insights/versions/{v}/cases?measure=kind").status_code == 400


def test_heatmap_fills_badges_and_switch(boss, history):
    v = history["version"].id
    page = boss.get(f"/insights/versions/{v}/heatmap")
    assert page.status_code == 200
    fills = json.loads(unescape(re.search(r"data-fills='([^']*)'", page.text).group(1)))
    badges = json.loads(unescape(re.search(r"data-badges='([^']*)'", page.text).group(1)))
    assert fills["Task_AgreeAppointment"] == insights.HEAT_COLOURS[-1] and badges["Task_AgreeAppointment"] == "2"
    assert f'data-bpmn-url="/insights/versions/{v}/bpmn"' in page.text
    rework = boss.get(f"/insights/versions/{v}/heatmap?metric=rework")
    assert '"Task_InstallOnSite"' in unescape(rework.text) and 'aria-current="true">Rework' in rework.text
    assert boss.get(f"/insights/versions/{v}/heatmap?metric=colour").status_code == 400
    xml = boss.get(f"/insights/versions/{v}/bpmn")
    assert xml.status_code == 200 and "Task_AgreeAppointment" in xml.text


def test_scorecard_and_candidates(boss, history):
    v = history["version"].id
    card = boss.get(f"/insights/versions/{v}/scorecard").text
    assert '<p class="big">75%</p>' in card and '<p class="big">33%</p>' in card
    assert "measure=first_time_right" in card
    found = boss.get(f"/insights/versions/{v}/candidates").text
    assert "Skipped often: make the step optional" in found and "small sample" in found
    assert f'href="/cases/{history["cases"][2]}"' in found


def test_compare_versions_page(boss, history, app):
    with Session(app.state.engine) as s:
        data = without_step((BPMN_DIR / "install_service.bpmn").read_bytes(), "Task_AgreeAppointment")
        v2 = deploy_file(s, data, filename="install_service.bpmn", actor="designer",
                         now=history["now"], activate=True).versions[0].id
    page = boss.get("/insights/compare?process=install_service")
    assert page.status_code == 200
    row = re.search(r'<tr data-element-id="Task_AgreeAppointment".*?</tr>', page.text, re.DOTALL).group(0)
    assert "removed" in row and "not in this version" in row
    assert f'data-bpmn-url="/insights/versions/{v2}/bpmn"' in page.text
    v1_from = history["version"].activated_at.strftime("%Y-%m-%d")
    switched = history["now"].strftime("%Y-%m-%d")  # v2 deployed: v1 retired on the same day
    assert f"v1 (in use from {v1_from} to {switched})" in page.text
    assert f"v2 (in use from {switched})" in page.text
    with Session(app.state.engine) as s:
        deploy_file(s, (BPMN_DIR / "complaint.bpmn").read_bytes(), filename="complaint.bpmn",
                    actor="designer", now=history["now"], activate=True)
    one = boss.get("/insights/compare?process=complaint")  # one version: a page, not an error
    assert one.status_code == 200 and "has one version so far" in one.text
    assert boss.get("/insights/compare?process=no_such_process").status_code == 404
    assert boss.get("/insights/compare").status_code == 400


def test_trends_use_the_vendored_chart_library(boss, history):
    page = boss.get("/insights/trends?process=install_service")
    assert page.status_code == 200
    assert '/static/vendor/chartjs/chart.umd.min.js' in page.text and "cdn" not in page.text.lower()
    data = json.loads(re.search(r'id="trend-data">(.*?)</script>', page.text, re.DOTALL).group(1))
    assert data["weeks"] == ["2026-03-02", "2026-03-09"]
    assert data["processes"][0]["data"] == [66.7, 100.0]
    assert boss.get("/static/vendor/chartjs/chart.umd.min.js").status_code == 200
    assert boss.get("/insights/trends?process=nope").status_code == 404


def test_exports_download(boss, history):
    xes = boss.get("/insights/export?format=xes&process=install_service")
    assert xes.status_code == 200 and xes.text.count("<trace>") == 4
    cases = boss.get("/insights/export?format=csv&table=cases")
    assert cases.text.count("\n") == 5
    assert boss.get("/insights/export?format=pdf").status_code == 400


def test_admin_passes(client, history, app):
    with Session(app.state.engine) as s:
        create_user(s, username="root", password=PASSWORD, role="admin", now=T0)
        s.commit()
    sign_in(client, "root")
    assert client.get("/insights").status_code == 200


def test_new_client(app):
    with TestClient(app) as c:
        assert c.get("/insights", follow_redirects=False).status_code in (303, 307)
