"""Validation of real files written by others (shared/corpus): no crash, clear refusals."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.bpmntree import Model
from engine.validate import ValidationReport, validate_bpmn
from engine.xmlsafe import parse_bpmn_xml

CORPUS = Path(__file__).parents[2].parent / "shared" / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.bpmn"))
BROKEN = sorted((CORPUS / "broken").glob("*.bpmn"))
EXECUTABLE = sorted((CORPUS / "executable").glob("*.bpmn"))

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")


def validate(path: Path, **kwargs) -> ValidationReport:
    report = validate_bpmn(path.read_bytes(), path.name, **kwargs)
    assert isinstance(report, ValidationReport)
    json.dumps(report.as_dict())
    return report


def assert_located(path: Path, report: ValidationReport) -> None:
    """Every problem has words; one that names an element points at the line that holds its id."""
    lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    for problem in report.problems:
        assert problem.message.strip() and problem.severity in ("error", "warning")
        assert "Traceback" not in problem.message
        if problem.element_id and problem.line:
            window = "\n".join(lines[problem.line - 1: problem.line + 5])
            assert f'"{problem.element_id}"' in window, (problem, window)


def test_the_corpus_is_there():
    assert len(VALID) >= 30 and len(BROKEN) >= 9 and len(EXECUTABLE) >= 10


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_a_valid_corpus_file_validates_or_gets_clear_problems(path):
    report = validate(path)
    if not report.valid:
        assert report.errors, "invalid without an error"
    assert_located(path, report)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.name)
def test_a_broken_corpus_file_is_refused_with_a_clear_message(path):
    report = validate(path)
    assert not report.valid and report.errors
    assert all(len(p.message) > 30 for p in report.errors)
    assert_located(path, report)


EXPECTED_REFUSALS = {
    "broken_01_truncated.bpmn": "ends too early",
    "broken_02_zip_not_xml.bpmn": "is a ZIP archive, not a BPMN file",
    "broken_03_svg_not_bpmn.bpmn": "This is an SVG file",
    "broken_04_flow_to_missing_id.bpmn":
        "points to 'EndEvent_DOES_NOT_EXIST', which does not exist",
    "broken_05_no_start_event.bpmn": "has no start event",
    "broken_06_duplicate_ids.bpmn": "Id 'UserTask_1' is used by 2 elements",
    "broken_08_billion_laughs.bpmn": "contains a DOCTYPE declaration",
    "broken_09_xxe_etc_passwd.bpmn": "contains a DOCTYPE declaration",
    "broken_10_script_os_system.bpmn": '"__import__" is an invalid variable name',
}


@pytest.mark.parametrize("name, words", sorted(EXPECTED_REFUSALS.items()))
def test_each_broken_file_is_refused_for_its_own_reason(name, words):
    report = validate(CORPUS / "broken" / name)
    assert any(words in p.message for p in report.errors), report.problems


def test_the_xxe_file_leaks_nothing_from_etc_passwd():
    report = validate(CORPUS / "broken" / "broken_09_xxe_etc_passwd.bpmn")
    text = json.dumps(report.as_dict())
    passwd = Path("/etc/passwd")
    secrets = [line for line in passwd.read_text().splitlines() if line.strip()] \
        if passwd.is_file() else []
    assert "root:" not in text
    assert not [line for line in secrets if line in text]


def test_the_shell_script_file_is_refused_at_its_script_task():
    report = validate(CORPUS / "broken" / "broken_10_script_os_system.bpmn")
    task_id = "hot_script_task_OH_YEEEEEEEEEEEEEEEEEEEEAH"
    problem = next(p for p in report.errors if p.element_id == task_id)
    assert "script" in problem.message and problem.line == 19


def _processes_in(path: Path) -> set[str]:
    return {p.get("id") for p in Model(parse_bpmn_xml(path.read_bytes())).processes}


@pytest.mark.parametrize("path", EXECUTABLE, ids=lambda p: p.name)
def test_an_executable_corpus_file_is_valid(path):
    """Call activities may call processes of the other executable files, as after deploying them."""
    others = set().union(*(_processes_in(p) for p in EXECUTABLE if p != path))
    report = validate(path, available_processes=others)
    assert report.valid, [p for p in report.errors]
    assert report.processes
    assert_located(path, report)


@pytest.mark.parametrize("name, callee", [("arena_call_activity_test.bpmn", "process_to_call"),
                                          ("camunda_mainProcess.bpmn", "subProcess")])
def test_an_executable_file_alone_names_the_process_it_is_missing(name, callee):
    report = validate(CORPUS / "executable" / name)
    assert any(f"calls process '{callee}', which is not in this file" in p.message
               for p in report.errors)


@pytest.mark.parametrize("name, words", [
    ("camunda_order-handling.bpmn", "cron timers are not supported"),
    ("miwg_ref_C.3.0.bpmn", "has no start event; an embedded subprocess needs exactly one"),
    ("miwg_ref_B.1.0.bpmn", "has no data stores"),
    ("miwg_ref_C.9.0.bpmn", "which is neither in this upload nor deployed. Upload its .dmn"),
    ("spiffwf_call_activity_level_3.bpmn", "leads back to the calling process (Level3 → Level3)"),
    ("miwg_trisotech_A.2.0-export.bpmn", "without a condition and is not the gateway's default"),
    ("miwg_ref_A.1.0.bpmn", "no executable process"),
    ("camunda_testing-job-announcement.bpmn", "Camunda (JUEL) expression"),
])
def test_real_files_from_other_modelers_get_designer_words(name, words):
    report = validate(CORPUS / "valid" / name)
    assert not report.valid
    assert any(words in p.message for p in report.errors), report.problems


@pytest.mark.parametrize("name", ["bpmnio_kitchen-sink.bpmn", "spiffex_multi-instance.bpmn"])
def test_schema_quirks_of_real_modelers_are_warnings(name):
    """A link event without a name, and SpiffArena data items sharing an id, fail strict XSD."""
    report = validate(CORPUS / "valid" / name)
    quirks = [p for p in report.problems
              if "link name" in p.message or "Id 'composer_in_form'" in p.message]
    assert quirks and all(p.severity == "warning" for p in quirks)
