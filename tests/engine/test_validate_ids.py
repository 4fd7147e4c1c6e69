"""Process ids must be XML NCNames: they become page addresses, labels and chart data."""
from __future__ import annotations

from html import escape

import pytest

from tests.engine.bpmn_snippets import check, doc, line_of, process

HOSTILE = "p</script><script>alert(document.cookie)</script>"


@pytest.mark.parametrize("pid", [HOSTILE, "1st_process", "has space", "a:b", "x\"y", "-lead"])
def test_a_process_id_that_is_not_an_ncname_is_an_error_naming_element_and_line(pid):
    xml = doc(process(pid=escape(pid, quote=True)))
    report = check(xml)
    assert not report.valid
    found = [p for p in report.errors if p.element_id == pid]
    assert len(found) == 1, report.problems
    assert found[0].line == line_of(xml, "<bpmn:process")
    assert "process id" in found[0].message.lower() and "letter or underscore" in found[0].message


@pytest.mark.parametrize("pid", ["install_service", "P", "_x", "Process_1a2b.v-2",
                                 "Prozess_Störung"])
def test_ncname_process_ids_pass(pid):
    report = check(doc(process(pid=pid)))
    assert report.valid, report.problems
