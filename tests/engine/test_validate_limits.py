"""Validation stays linear: absurd files are refused as too complex, floods of findings capped."""
from __future__ import annotations

from engine.validate import MAX_PER_KIND, validate_bpmn
from engine.xmlsafe import MAX_ATTRIBUTES, MAX_ELEMENTS

from .bpmn_snippets import LINEAR, check, doc, line_of, process

TASK = '<bpmn:userTask id="Task_1" name="Review"/>'


def _with_task(task: str) -> str:
    return doc(process(LINEAR.replace(TASK, task)))


def _attributes(n: int, prefix: str = "a") -> str:
    return " ".join(f'{prefix}{i}="1"' for i in range(n))


def _listed_and_summary(report, severity: str):
    """Return the problems of one severity and the 'more like these' summary among them."""
    found = [p for p in report.problems if p.severity == severity]
    summaries = [p for p in found if "more" in p.message and "not listed" in p.message]
    return found, summaries


def test_200000_attributes_on_one_element_are_refused_as_too_complex():
    # The attack: 2.2 MB, the id and name after 200,000 unknown attributes (every lookup of
    # either scanned them all, once per schema warning).
    xml = _with_task(f'<bpmn:userTask {_attributes(200_000)} id="Task_1" name="Review"/>')
    assert len(xml.encode()) > 2_000_000
    report = validate_bpmn(xml.encode(), "attack.bpmn")
    assert not report.valid and report.processes == []
    [problem] = report.problems
    assert "too complex" in problem.message and "200,002 attributes" in problem.message
    assert problem.element_id == "Task_1" and "<bpmn:userTask> Task_1" in problem.message
    assert f"at most {MAX_ATTRIBUTES:,}" in problem.message
    assert problem.line == line_of(xml, 'id="Task_1"')


def test_attributes_up_to_the_limit_give_a_capped_list_of_schema_warnings():
    xml = _with_task(f'<bpmn:userTask {_attributes(MAX_ATTRIBUTES - 2)} id="Task_1" '
                     'name="Review"/>')
    report = check(xml)
    assert report.valid
    warnings, [summary] = _listed_and_summary(report, "warning")
    assert len(warnings) == MAX_PER_KIND + 1
    assert f"{MAX_ATTRIBUTES - 2 - MAX_PER_KIND} more" in summary.message
    listed = [p for p in warnings if p is not summary]
    assert all(p.element_id == "Task_1" and p.line == line_of(xml, 'id="Task_1"') for p in listed)


def test_too_many_elements_are_refused_naming_where_the_limit_was_passed():
    docs = "".join("<bpmn:documentation/>" for _ in range(MAX_ELEMENTS))
    xml = _with_task(f'<bpmn:userTask id="Task_1" name="Review">\n{docs}\n</bpmn:userTask>')
    report = validate_bpmn(xml.encode(), "big.bpmn")
    [problem] = report.problems
    assert not report.valid and "too complex" in problem.message
    assert f"more than {MAX_ELEMENTS:,} elements" in problem.message
    assert problem.line == line_of(xml, "<bpmn:documentation/>")


def test_many_misspelled_elements_are_capped_but_stay_errors():
    # The schema reports the first unexpected child of each element, so one typo per task.
    tasks = "".join(f'    <bpmn:task id="Typo_{i}"><bpmn:documentaton/></bpmn:task>\n'
                    for i in range(60))
    report = check(doc(process(LINEAR + tasks)))
    assert not report.valid
    errors, [summary] = _listed_and_summary(report, "error")
    assert len(errors) == MAX_PER_KIND + 1
    assert "40 more" in summary.message and summary.severity == "error"
    assert all("documentaton" in p.message for p in errors if p is not summary)


def test_many_findings_of_one_structural_check_are_capped_per_kind():
    tasks = "".join(f'    <bpmn:serviceTask id="Service_{i}" name="Call {i}"/>\n'
                    for i in range(45))
    report = check(doc(process(LINEAR + tasks)))
    service = [p for p in report.problems if "runs as a human step" in p.message]
    assert len(service) == MAX_PER_KIND
    [summary] = [p for p in report.problems if "25 more" in p.message]
    assert summary.severity == "warning" and "not listed" in summary.message


def test_a_few_findings_are_all_listed_with_no_summary():
    tasks = "".join(f'    <bpmn:serviceTask id="Service_{i}"/>\n' for i in range(3))
    report = check(doc(process(LINEAR + tasks)))
    assert [p.element_id for p in report.problems] == ["Service_0", "Service_1", "Service_2"]


def test_an_id_repeated_thousands_of_times_gives_one_short_message():
    copies = "".join('    <bpmn:task id="Task_1"/>\n' for _ in range(3000))
    report = check(doc(process(LINEAR + copies)))
    [problem] = [p for p in report.problems if "is used by" in p.message]
    assert "is used by 3001 elements" in problem.message and "and 2991 more" in problem.message
    assert len(problem.message) < 1000
