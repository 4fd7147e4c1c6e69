"""The case page and the API say where a deviation leads before it happens, on the shipped install
process: a skip of the eligibility check asks for its data and never declines the order on a
default, going back shows what was captured and stays with its person, the first form starts
from the customer record."""
from __future__ import annotations

import html as htmllib

from tests.web import test_work_pages as pages
from tests.web.test_work_pages import section, sign_in

world, client = pages.world, pages.client  # the same fixtures: a SQLite file, an install case

ORDER = {"customer_id": "C-1001", "product": "fibre_broadband",
         "installation_address": "12 Harbour Road, Dunmore", "contact_phone": "+353 1 555 0101"}
REASON = {"reason_code": "customer_already_confirmed", "note": "Checked on the first call"}


def _capture(client, world, csrf) -> int:
    """Complete "Capture order" through its form; return the eligibility check's work item id."""
    [item] = world.items()
    r = client.post(f"/cases/{world.case_id}/items/{item.id}/complete", follow_redirects=False,
                    data={**ORDER, "csrf_token": csrf,
                          "expected_version": str(world.case().row_version)})
    assert r.status_code == 303, r.text[:300]
    [check] = world.items()
    assert check.name == "Check eligibility and credit"
    return check.id


def _skip(client, world, csrf, item_id: int, **fields):
    return client.post(f"/cases/{world.case_id}/deviations/skip", follow_redirects=False, data={
        "csrf_token": csrf, "expected_version": str(world.case().row_version),
        "work_item_id": str(item_id), **REASON, **fields})


def test_the_skip_dialog_asks_for_what_the_eligibility_decision_reads(client, world):
    csrf = sign_in(client)
    item_id = _capture(client, world, csrf)
    dialog = htmllib.unescape(section(client.get(f"/cases/{world.case_id}").text,
                                      'id="dialog-skip"'))
    assert "If you skip “Check eligibility and credit”" in dialog
    assert f'name="skip-{item_id}-address_serviceable"' in dialog
    assert "(read by Decide eligibility)" in dialog
    before = world.events()
    refused = _skip(client, world, csrf, item_id)
    assert refused.status_code == 400
    assert "The change was not made" in refused.text and "Decide eligibility" in htmllib.unescape(refused.text)
    assert f'id="skip-{item_id}-credit_result-error"' in refused.text
    assert world.events() == before and [i.id for i in world.items()] == [item_id]


def test_the_preview_says_where_the_skip_leads_and_changes_nothing(client, world):
    csrf = sign_in(client)
    item_id = _capture(client, world, csrf)
    before = world.events()
    given = {f"skip-{item_id}-address_serviceable": "true", f"skip-{item_id}-credit_result": "passed"}
    shown = _skip(client, world, csrf, item_id, preview="1", **given)
    assert shown.status_code == 200
    box = htmllib.unescape(section(shown.text, 'id="preview-skip"', "</div>"))
    assert "Next: Agree installation appointment." in box
    assert '"Task_AgreeAppointment": ["preview"]' in htmllib.unescape(shown.text)
    defaults = _skip(client, world, csrf, item_id, preview="1")
    box = htmllib.unescape(section(defaults.text, 'id="preview-skip"', "</div>"))
    assert "Next: Explain decline and offer alternatives." in box
    assert "“Decide eligibility” reads address_serviceable, credit_result" in box
    assert world.events() == before
    done = _skip(client, world, csrf, item_id, **given)
    assert done.status_code == 303
    page = htmllib.unescape(client.get(done.headers["location"]).text)
    assert "Done: skip a step. Waiting now: Agree installation appointment." in page
    assert [i.name for i in world.items()] == ["Agree installation appointment"]


def test_the_first_form_is_prefilled_and_going_back_shows_what_was_captured(client, world):
    csrf = sign_in(client)
    page = client.get(f"/cases/{world.case_id}").text
    [item] = world.items()
    assert f'id="i{item.id}-customer_id" name="customer_id" value="C-1001"' in page
    assert f'id="i{item.id}-contact_phone" name="contact_phone" value="+353 1 555 0101"' in page
    assert f'id="i{item.id}-installation_address" name="installation_address" value=""' in page
    _capture(client, world, csrf)
    r = client.post(f"/cases/{world.case_id}/deviations/go_back", follow_redirects=False, data={
        "csrf_token": csrf, "expected_version": str(world.case().row_version),
        "element_id": "Task_CaptureOrder", "reason_code": "wrong_data_captured",
        "note": "Customer gave the wrong flat number"})
    assert r.status_code == 303
    [item] = world.items()
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    step = section(page, f'id="item-form-{item.id}"', "</article>")
    assert "<strong>yours</strong>" in step and "Claim" not in step
    assert 'value="12 Harbour Road, Dunmore"' in step
    assert 'value="fibre_broadband" selected' in step


def _api(client, world, kind: str, body: dict, suffix: str = ""):
    csrf = sign_in(client)
    return client.post(f"/api/cases/{world.case_id}/deviations/{kind}{suffix}", json=body,
                       headers={"X-CSRF-Token": csrf})


def test_the_api_skip_names_the_fields_a_later_decision_needs_and_takes_them(client, world):
    csrf = sign_in(client)
    item_id = _capture(client, world, csrf)
    body = {"expected_version": world.case().row_version, "work_item_id": item_id, **REASON}
    refused = _api(client, world, "skip", body)
    assert refused.status_code == 422
    assert set(refused.json()["detail"]["errors"]) == {"address_serviceable", "credit_result"}
    look = _api(client, world, "skip", {"work_item_id": item_id}, "/preview")
    assert look.status_code == 200
    assert look.json()["missing"] == ["address_serviceable", "credit_result"]
    assert [s["name"] for s in look.json()["next_steps"]] == ["Explain decline and offer alternatives"]
    done = _api(client, world, "skip", {**body, "data": {"address_serviceable": True,
                                                         "credit_result": "passed"}})
    assert done.status_code == 200, done.text
    assert [i["name"] for i in done.json()["work_items"]] == ["Agree installation appointment"]


def test_the_jump_and_override_dialogs_and_the_api_preview_too(client, world):
    csrf = sign_in(client, "supervisor")
    before = world.events()
    common = {"csrf_token": csrf, "expected_version": str(world.case().row_version), "preview": "1"}
    jump = client.post(f"/cases/{world.case_id}/deviations/jump_to",
                       data={**common, "element_id": "Task_AgreeAppointment"})
    box = htmllib.unescape(section(jump.text, 'id="preview-jump_to"', "</div>"))
    assert "Steps passed without being done: Capture order, Check eligibility and credit." in box
    assert "Next: Agree installation appointment." in box
    override = client.post(f"/cases/{world.case_id}/deviations/override_decision",
                           data={**common, "branch": "Gateway_Eligible|Task_ExplainDecline"})
    box = htmllib.unescape(section(override.text, 'id="preview-override_decision"', "</div>"))
    assert "Next: Capture order." in box
    assert ("When the case reaches the decision “Eligible?”, it goes to “Explain decline and offer "
            "alternatives”.") in box
    nowhere = client.post(f"/cases/{world.case_id}/deviations/jump_to", data={**common})
    assert nowhere.status_code == 400 and "Choose the step" in nowhere.text
    api = f"/api/cases/{world.case_id}/deviations/jump_to/preview"
    look = client.post(api, json={"element_id": "Task_AgreeAppointment"},
                       headers={"X-CSRF-Token": csrf})
    assert look.status_code == 200
    assert look.json()["skipped"] == ["Capture order", "Check eligibility and credit"]
    assert look.json()["next_steps"][0]["element_id"] == "Task_AgreeAppointment"
    wrong = client.post(api, json={"element_id": "Task_AgreeAppointment", "data": {"x": 1}},
                        headers={"X-CSRF-Token": csrf})
    assert wrong.status_code == 422 and "data" in wrong.json()["detail"]["errors"]
    assert world.events() == before
