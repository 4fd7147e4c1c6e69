"""The designer's pages through the real app on a SQLite file: upload, view, compare, deploy, retire,
migrate, and who may do what."""
from __future__ import annotations

import html
import json
import re

import pytest
from sqlmodel import Session, select

from cases.case_models import Case
from cases.case_service import open_case
from cases.customers import create_customer
from cases.events import CaseEvent
from cases.users import User
from tests.conftest import CORPUS, DATA, T0
from tests.engine import versions as engine_versions

from .designer_helpers import signed_in, upload, versions

V2 = engine_versions.deviations_with_review().encode()


def _markers(page: str, index: int = 0) -> dict:
    found = re.findall(r"data-markers='([^']*)'", page)
    return json.loads(html.unescape(found[index]))


def _open_case(app, account: str = "C-1") -> int:
    with Session(app.state.engine, expire_on_commit=False) as s:
        agent = s.exec(select(User).where(User.username == "agent")).one()
        customer = create_customer(s, actor="agent", now=T0, name="Ada Byrne", account_number=account,
                                   email="ada@example.com", phone="+353 1 555 0101")
        case = open_case(s, actor=agent, now=T0, customer_id=customer.id, process_id="dev_process",
                         channel="phone", data={})
        return case.id


# ---- viewing ----------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_agents_and_supervisors_see_the_pages_without_actions(app, client, role):
    signed_in(client, role)
    page = client.get("/designer").text
    assert "dev_process" in page and "v1" in page and "active" in page
    assert 'action="/designer/upload"' not in page
    version = client.get("/designer/versions/1").text
    assert "Capture order" in version and "/designer/versions/1/bpmn" in version
    assert "/activate" not in version and "/retire" not in version
    download = client.get("/designer/versions/1/bpmn")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="deviations-v1.bpmn"'
    assert b'id="dev_process"' in download.content


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/designer", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/designer/versions/1/bpmn", follow_redirects=False).status_code == 303


def test_version_page_lists_steps_with_sla_and_form(app, client):
    signed_in(client, "designer")
    token = signed_in(client, "designer")
    assert upload(client, token, "deviations.bpmn", V2).status_code == 303
    page = client.get("/designer/versions/2").text
    assert "Check credit score" in page and "PT8H" in page
    assert "Amount" in page and "(long)" in page  # the form of Capture
    assert 'action="/designer/versions/2/activate"' in page
    assert "/designer/compare?left=1&amp;right=2" in page
    assert client.get("/designer/versions/99").status_code == 404
    # The compare form starts from two different versions: the one before and this one (or, on
    # v1, this one and the next).
    def chosen(text, name):
        select = re.search(rf'<select id="cmp-{name}".*?</select>', text, re.DOTALL).group(0)
        return re.findall(r'<option value="(\d+)" selected', select)
    assert (chosen(page, "left"), chosen(page, "right")) == (["1"], ["2"])
    first = client.get("/designer/versions/1").text
    assert (chosen(first, "left"), chosen(first, "right")) == (["1"], ["2"])


# ---- upload -----------------------------------------------------------------------------------
def test_valid_upload_becomes_a_draft_and_the_same_bytes_are_recognised(app, client):
    token = signed_in(client, "designer")
    first = upload(client, token, "deviations.bpmn", V2)
    assert first.status_code == 303 and first.headers["location"] == "/designer/versions/2"
    assert "uploaded as draft dev_process v2" in client.get("/designer/versions/2").text
    again = upload(client, token, "deviations.bpmn", V2)
    assert again.headers["location"] == "/designer/versions/2"
    assert "already uploaded as dev_process v2" in client.get("/designer/versions/2").text
    old = upload(client, token, "deviations.bpmn", (DATA / "deviations.bpmn").read_bytes())
    assert old.headers["location"] == "/designer/versions/1"
    assert [(v.version, v.status, v.uploaded_by) for v in versions(app)] == [
        (1, "active", "designer"), (2, "draft", "designer")]
    index = client.get("/designer").text
    assert index.count("status-draft") == 1


def test_broken_file_lists_problems_and_marks_them_on_the_preview(app, client):
    token = signed_in(client, "designer")
    data = (CORPUS / "broken" / "broken_04_flow_to_missing_id.bpmn").read_bytes()
    response = upload(client, token, "broken_04_flow_to_missing_id.bpmn", data)
    assert response.status_code == 422
    page = response.text
    assert "was not stored" in page and 'class="grid problems"' in page
    faulty = re.findall(r'<tr class="problem" data-element-id="([^"]+)"', page)
    assert faulty, "the problems name their elements"
    assert set(_markers(page)) == set(faulty) and all(v == ["fault"] for v in _markers(page).values())
    assert 'data-bpmn-url="data:text/xml;base64,' in page
    assert len(versions(app)) == 1


REFUSALS = [
    ("notes.bpmn", b"just some words, not XML at all", "not well-formed XML"),
    ("picture.bpmn", (CORPUS / "broken" / "broken_03_svg_not_bpmn.bpmn").read_bytes(), "SVG"),
    ("archive.bpmn", (CORPUS / "broken" / "broken_02_zip_not_xml.bpmn").read_bytes(), "ZIP"),
    ("laughs.bpmn", (CORPUS / "broken" / "broken_08_billion_laughs.bpmn").read_bytes(), "DOCTYPE"),
    ("xxe.bpmn", (CORPUS / "broken" / "broken_09_xxe_etc_passwd.bpmn").read_bytes(), "DOCTYPE"),
    ("escape.bpmn", (CORPUS / "broken" / "broken_10_script_os_system.bpmn").read_bytes(),
     "is refused: Line 1: &#34;__import__&#34;"),
    ("note.xml", b"<note>hello</note>", "but a BPMN file starts with"),
    ("dmn.bpmn", b'<?xml version="1.0"?><definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>',
     "DMN"),
]


@pytest.mark.parametrize("name,data,words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_bad_files_are_refused_clearly_and_nothing_is_stored(app, client, name, data, words):
    token = signed_in(client, "designer")
    response = upload(client, token, name, data)
    assert response.status_code == 422
    assert words.lower() in response.text.lower()
    assert "was not stored" in response.text
    assert len(versions(app)) == 1
    assert client.get("/designer").status_code == 200  # the server is unaffected


def test_oversized_file_is_refused_before_parsing(app, client):
    app.state.settings.max_upload_bytes = 2048
    token = signed_in(client, "designer")
    response = upload(client, token, "deviations.bpmn", V2)
    assert response.status_code == 413
    assert "larger than 2 KB, the limit for one BPMN file" in response.text
    assert len(versions(app)) == 1


def test_process_id_colliding_with_another_file_is_refused(app, client):
    token = signed_in(client, "designer")
    response = upload(client, token, "someone_elses.bpmn", V2)
    assert response.status_code == 422
    assert "already used by deviations.bpmn" in response.text
    assert len(versions(app)) == 1
    # The very same bytes under another name are the existing version, not a collision.
    same = upload(client, token, "copy.bpmn", (DATA / "deviations.bpmn").read_bytes())
    assert same.headers["location"] == "/designer/versions/1"
    assert len(versions(app)) == 1


def test_a_file_without_diagram_layout_is_reported_without_a_preview(app, client):
    token = signed_in(client, "designer")
    broken = V2.replace(b'targetRef="Review"', b'targetRef="Nowhere"')
    response = upload(client, token, "deviations.bpmn", broken)
    assert response.status_code == 422 and "F8" in response.text
    assert "data-bpmn-url" not in response.text
    assert "has no diagram layout" in response.text


def test_upload_without_a_file_or_token_or_role(app, client):
    token = signed_in(client, "designer")
    empty = client.post("/designer/upload", data={"csrf_token": token}, follow_redirects=False)
    assert empty.status_code == 400 and "Choose a .bpmn file" in empty.text
    no_token = client.post("/designer/upload", files={"file": ("d.bpmn", V2, "application/xml")})
    assert no_token.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    token = signed_in(client, "agent")
    assert upload(client, token, "deviations.bpmn", V2).status_code == 403
    assert len(versions(app)) == 1


def test_every_valid_corpus_file_gives_a_draft_or_a_clear_problem_list(app, client):
    token = signed_in(client, "designer")
    files = sorted((CORPUS / "valid").glob("*.bpmn"))
    assert len(files) >= 30
    stored = refused = 0
    for path in files:
        response = upload(client, token, path.name, path.read_bytes())
        assert response.status_code in (303, 422), (path.name, response.status_code)
        if response.status_code == 303:
            stored += 1
            page = client.get(response.headers["location"])
            assert page.status_code == 200 and "draft" in page.text, path.name
        else:
            refused += 1
            problems = re.findall(r'<tr class="problem"', response.text)
            assert problems, f"{path.name}: refused without a problem list"
            assert "Caseflow could not finish checking" not in response.text, path.name
    assert stored and refused
    assert client.get("/designer").status_code == 200


# ---- compare, deploy, retire ----------------------------------------------------------------
def test_compare_lists_changes_and_marks_both_diagrams(app, client):
    token = signed_in(client, "designer")
    upload(client, token, "deviations.bpmn", V2)
    page = client.get("/designer/compare?left=1&right=2").text
    assert re.search(r'diff-added" data-element-id="Review"', page)
    assert re.search(r'diff-changed" data-element-id="Check"', page)
    assert "Check credit → Check credit score" in html.unescape(page)
    assert _markers(page, 0)["Check"] == ["changed"]
    assert _markers(page, 1)["Review"] == ["added"]
    assert 'action="/designer/versions/2/activate"' in page
    assert client.get("/designer/compare?left=1").status_code == 400
    same = client.get("/designer/compare?left=1&right=1").text
    assert "No element differs" in same


def test_deploy_and_retire(app, client):
    token = signed_in(client, "designer")
    upload(client, token, "deviations.bpmn", V2)
    response = client.post("/designer/versions/2/activate", data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    assert "is now active" in client.get("/designer/versions/2").text
    assert [v.status for v in versions(app)] == ["retired", "active"]
    first, second = versions(app)
    assert (second.activated_by, first.retired_by) == ("designer", "designer")  # who, kept
    assert first.retired_at == second.activated_at is not None
    client.post("/designer/versions/2/retire", data={"csrf_token": token}, follow_redirects=False)
    assert [v.status for v in versions(app)] == ["retired", "retired"]
    page = client.get("/designer/versions/2").text
    assert re.search(r"<dt>Deployed</dt><dd>[0-9-]+ [0-9:]+ UTC by designer</dd>", page)
    assert re.search(r"<dt>Retired</dt><dd>[0-9-]+ [0-9:]+ UTC by designer</dd>", page)
    assert "No version of this process is active now" in page
    assert "No active version" in client.get("/designer").text
    assert client.post("/designer/versions/2/activate", data={}).status_code == 403  # no token
    assert client.post("/designer/versions/9/activate", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_other_roles_cannot_deploy_retire_or_migrate(app, client, role):
    token = signed_in(client, role)
    for path in ("/designer/versions/1/activate", "/designer/versions/1/retire"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403
    response = client.post("/designer/migrate", data={"csrf_token": token, "from": "1", "to": "1",
                                                      "all": "1"})
    assert response.status_code == 403
    assert [v.status for v in versions(app)] == ["active"]


# ---- migrate -----------------------------------------------------------------------------------
def test_dry_run_then_migrate_running_cases(app, client):
    case_id = _open_case(app)
    token = signed_in(client, "designer")
    upload(client, token, "deviations.bpmn", V2)
    client.post("/designer/versions/2/activate", data={"csrf_token": token})
    assert "dry run: move them to v2" in client.get("/designer/versions/2").text
    plan = client.get("/designer/migrate?from=1&to=2").text
    assert f'data-case-id="{case_id}"' in plan and "can move" in plan
    assert f'name="case_id" value="{case_id}" checked' in plan
    with Session(app.state.engine) as s:
        assert s.get(Case, case_id).definition_id == 1
    result = client.post("/designer/migrate", data={"csrf_token": token, "from": "1", "to": "2",
                                                    "case_id": str(case_id)})
    assert result.status_code == 200
    assert "1 of 1 case moved to v2" in result.text
    with Session(app.state.engine) as s:
        assert s.get(Case, case_id).definition_id == 2
        types = [e.type for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()]
    assert "process_migrated" in types
    again = client.get("/designer/migrate?from=1&to=2").text
    assert "No open case runs on v1" in again
    client.post("/logout", data={"csrf_token": token})
    signed_in(client, "agent")
    case_page = client.get(f"/cases/{case_id}")
    assert case_page.status_code == 200
    assert "moved the case from version 1 to version 2" in case_page.text


def test_dry_run_shows_cases_that_cannot_move_and_agents_see_no_button(app, client):
    case_id = _open_case(app)
    token = signed_in(client, "designer")
    no_capture = engine_versions.DEVIATIONS.replace('<bpmn:userTask id="Capture" name="Capture order">',
                                                    '<bpmn:manualTask id="Capture" name="Capture order">', 1)
    no_capture = re.sub(r'(<bpmn:manualTask id="Capture".*?)</bpmn:userTask>', r"\1</bpmn:manualTask>",
                        no_capture, count=1, flags=re.DOTALL)
    no_capture = re.sub(r"<camunda:formData>.*?</camunda:formData>", "", no_capture, count=1,
                        flags=re.DOTALL)
    assert upload(client, token, "deviations.bpmn", no_capture.encode()).status_code == 303
    plan = client.get("/designer/migrate?from=1&to=2").text
    assert "cannot move" in plan and "manual task in the new version" in plan
    assert "Move 0" not in plan and 'name="case_id"' not in plan
    result = client.post("/designer/migrate", data={"csrf_token": token, "from": "1", "to": "2",
                                                    "all": "1"})
    assert "0 of 1 case moved" in result.text and "not moved" in result.text
    with Session(app.state.engine) as s:
        assert s.get(Case, case_id).definition_id == 1
    client.post("/logout", data={"csrf_token": token})
    signed_in(client, "agent")
    plan = client.get("/designer/migrate?from=1&to=2").text
    assert "cannot move" in plan and 'type="submit">Move' not in plan
    assert client.get("/designer/migrate?from=1&to=1").status_code == 400
    assert client.get("/designer/migrate?from=1").status_code == 400


def test_dry_run_warns_about_steps_people_often_deviate_at(app, client):
    from cases import deviation_service as dev
    from cases.case_models import WorkItem

    case_ids = [_open_case(app, f"C-{n}") for n in range(3)]
    with Session(app.state.engine, expire_on_commit=False) as s:
        agent = s.exec(select(User).where(User.username == "agent")).one()
        for case_id in case_ids[:2]:
            item = s.exec(select(WorkItem).where(WorkItem.case_id == case_id,
                                                 WorkItem.state == "open")).one()
            dev.skip(s, actor=agent, now=T0, case_id=case_id, expected_version=s.get(Case, case_id).row_version,
                     reason_code="customer_already_confirmed", note="Said so on the phone",
                     work_item_id=item.id, data={"amount": 50})  # "Amount high?" reads it
    token = signed_in(client, "designer")
    upload(client, token, "deviations.bpmn", V2)
    plan = client.get("/designer/migrate?from=1&to=2").text
    assert "Steps people often deviate at" in plan
    assert "Step &#39;Capture order&#39; (Capture): 2 of 3 cases on the old version deviated there" in plan
