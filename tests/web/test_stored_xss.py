"""Stored XSS: a hostile process id is refused at upload, and data reaches scripts only as JSON."""
from __future__ import annotations

import json
import re
from html import escape, unescape

import sqlalchemy as sa

from tests.engine import versions as engine_versions
from tests.web.test_insights import make_history

from .conftest import sign_in
from .designer_helpers import signed_in, upload, versions

HOSTILE = "p</script><script>alert(document.cookie)</script>"


def test_upload_refuses_a_process_id_that_is_not_an_ncname(app, client):
    token = signed_in(client, "designer")
    xml = engine_versions.deviations_with_review().replace('id="dev_process"',
                                                           f'id="{escape(HOSTILE)}"')
    response = upload(client, token, "hostile.bpmn", xml.encode())
    assert response.status_code == 422 and "was not stored" in response.text
    assert "a process id must start with a letter or underscore" in unescape(response.text)
    line = next(i for i, text in enumerate(xml.splitlines(), 1) if "<bpmn:process" in text)
    assert re.search(rf"<td[^>]*>{line}</td>", response.text), "the problem names its line"
    assert "<script>alert" not in response.text
    assert len(versions(app)) == 1


def _trend_data(page: str) -> dict:
    island = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', page,
                       re.S)
    assert island, "the chart data is in a JSON data island"
    return json.loads(island.group(1))


def test_trends_carry_a_stored_hostile_id_as_inert_json(app, client):
    # A process id stored before upload refused it: the page must still not run it.
    make_history(app.state.engine)
    with app.state.engine.begin() as conn:
        conn.execute(sa.text("UPDATE definition_version SET process_id = :p "
                             "WHERE process_id = 'install_service'"), {"p": HOSTILE})
    assert sign_in(client, "supervisor").status_code == 303
    page = client.get("/insights/trends").text
    assert "<script>alert" not in page and "</script><script>" not in page
    labels = [p["label"] for p in _trend_data(page)["processes"]]
    assert HOSTILE in labels, "the id is shown as text, not dropped"
