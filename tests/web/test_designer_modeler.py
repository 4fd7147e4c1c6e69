"""The modeler's routes through the real app on a SQLite file: open a version for editing, save the
edited XML as a new draft (validated like an upload, nothing half-stored), and the heatmap figures
the modeler draws."""
from __future__ import annotations

import base64
import html

import pytest

from tests.engine import versions as engine_versions

from .designer_helpers import signed_in, versions

EDITED = engine_versions.deviations_with_review()
JSON = {"Accept": "application/json"}


def _save(client, token: str, xml: str, version: int = 1, headers=JSON):
    return client.post(f"/designer/versions/{version}/edit", data={"csrf_token": token, "bpmn": xml},
                       headers=headers, follow_redirects=False)


def test_the_modeler_page_loads_the_version_and_links_its_figures(app, client):
    signed_in(client, "designer")
    page = client.get("/designer/versions/1").text
    assert 'href="/designer/versions/1/edit"' in page and "Edit as a new version" in page
    editor = client.get("/designer/versions/1/edit")
    assert editor.status_code == 200
    text = editor.text
    assert 'data-bpmn-url="/designer/versions/1/bpmn"' in text
    assert 'data-heatmap-url="/designer/versions/1/heatmap"' in text
    assert "/static/vendor/bpmn-js-modeler/bpmn-js-modeler.min.js" in text
    assert "<script>" not in text  # the CSP allows no inline script


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_only_designers_open_the_modeler_or_save(app, client, role):
    token = signed_in(client, role)
    assert client.get("/designer/versions/1/edit").status_code == 403
    assert _save(client, token, EDITED).status_code == 403
    assert len(versions(app)) == 1
    assert "/edit" not in client.get("/designer/versions/1").text


def test_saving_an_edit_stores_a_draft_of_the_same_process(app, client):
    token = signed_in(client, "designer")
    answer = _save(client, token, EDITED)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stored"] and body["new"] and body["version"] == 2
    stored = versions(app)
    assert [(v.process_id, v.version, v.status) for v in stored] == [
        ("dev_process", 1, "active"), ("dev_process", 2, "draft")]
    assert stored[1].filename == stored[0].filename == "deviations.bpmn"
    assert stored[1].uploaded_by == "designer"
    page = client.get(body["url"]).text
    assert "Saved as draft dev_process v2" in page and "Review the order" in page
    again = _save(client, token, EDITED).json()
    assert again["stored"] and not again["new"] and again["version_id"] == body["version_id"]
    assert len(versions(app)) == 2


def test_a_faulty_edit_is_refused_with_each_element_and_nothing_is_stored(app, client):
    token = signed_in(client, "designer")
    broken = (EDITED.replace('value="PT8H"', 'value="eight hours"')
              .replace("amount &gt; 100", "amount &gt;&gt; (100"))
    answer = _save(client, token, broken)
    assert answer.status_code == 422
    body = answer.json()
    assert not body["stored"]
    ids = {p["element_id"] for p in body["problems"]}
    assert "Check" in ids, body
    assert any("caseflow.sla" in p["message"] and "eight hours" in p["message"]
               for p in body["problems"])
    assert len(versions(app)) == 1


@pytest.mark.parametrize("xml, words", [
    ("", "empty"),
    ("this is not XML", "XML"),
    (EDITED.replace('id="dev_process"', 'id="other_process"'), "no longer has the process"),
    (EDITED.replace('isExecutable="true"', 'isExecutable="false"'), "not executable"),
])
def test_a_drawing_that_cannot_be_a_version_of_the_process_stores_nothing(app, client, xml, words):
    token = signed_in(client, "designer")
    answer = _save(client, token, xml)
    assert 400 <= answer.status_code < 500
    messages = " ".join(p["message"] for p in answer.json()["problems"])
    assert words in messages, messages
    assert len(versions(app)) == 1


def test_without_javascript_a_refusal_gives_the_modeler_back_with_the_drawing(app, client):
    token = signed_in(client, "designer")
    broken = EDITED.replace('value="PT8H"', 'value="eight hours"')
    answer = _save(client, token, broken, headers={})
    assert answer.status_code == 422
    page = html.unescape(answer.text)
    assert "Not saved: 1 problem to fix" in page and "eight hours" in page
    inline = "data:text/xml;base64," + base64.b64encode(broken.encode()).decode()
    assert inline in page  # the drawing comes back as it was posted
    ok = _save(client, token, EDITED, headers={})
    assert ok.status_code == 303 and ok.headers["location"] == "/designer/versions/2"


def test_a_large_drawing_is_sent_as_a_file_part(app, client):
    token = signed_in(client, "designer")
    notes = "Read the whole contract first. " * 50_000  # 1.5 MB: over the 1 MB form-field cap
    big = EDITED.replace('<bpmn:userTask id="Review" name="Review the order" />',
                         '<bpmn:userTask id="Review" name="Review the order"><bpmn:documentation>'
                         f'{notes}</bpmn:documentation></bpmn:userTask>')
    assert len(big) > 1024 * 1024
    answer = client.post("/designer/versions/1/edit", data={"csrf_token": token},
                         files={"file": ("drawing.bpmn", big.encode(), "application/xml")},
                         headers=JSON)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["version"] == 2


def test_a_save_without_the_csrf_token_is_refused(app, client):
    signed_in(client, "designer")
    answer = client.post("/designer/versions/1/edit", data={"bpmn": EDITED}, headers=JSON)
    assert answer.status_code == 403
    assert len(versions(app)) == 1


@pytest.mark.parametrize("role", ["designer", "supervisor"])
def test_the_heatmap_figures_for_the_modeler(app, client, role):
    signed_in(client, role)
    answer = client.get("/designer/versions/1/heatmap?metric=rework")
    assert answer.status_code == 200
    heat = answer.json()
    assert heat["metric"] == "rework" and heat["version"] == 1 and heat["cases"] == 0
    assert set(heat) >= {"fills", "badges", "legend", "label"}
    bad = client.get("/designer/versions/1/heatmap?metric=colour")
    assert bad.status_code == 400 and "metric" in bad.text
    assert client.get("/designer/versions/99/heatmap").status_code == 404


def test_agents_do_not_get_the_heatmap_figures(app, client):
    signed_in(client, "agent")
    assert client.get("/designer/versions/1/heatmap").status_code == 403
