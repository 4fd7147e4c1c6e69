"""Hardened parsing of uploads: size, DOCTYPE, depth, binary and non-BPMN input, no raw errors."""
from __future__ import annotations

import pytest

from engine.errors import InvalidBpmn
from engine.xmlsafe import parse_bpmn_xml

from .bpmn_snippets import HEAD, TAIL, doc, line_of


def test_parse_returns_definitions_root():
    root = parse_bpmn_xml(doc().encode())
    assert root.tag == "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"
    assert root.find(".//{*}userTask").sourceline == line_of(doc(), 'id="Task_1"')


def refused(data: bytes, **kwargs) -> str:
    with pytest.raises(InvalidBpmn) as caught:
        parse_bpmn_xml(data, "upload.bpmn", **kwargs)
    problems = caught.value.problems
    assert problems and all(p.severity == "error" and p.message for p in problems)
    return problems[0].message


def test_parse_refuses_files_over_the_size_limit():
    assert "limit" in refused(doc().encode(), max_bytes=100)


def test_parse_refuses_empty_files():
    assert "empty" in refused(b"  \n")


@pytest.mark.parametrize("prolog", [
    "", '<?xml version="1.0"?>\n', '<?xml version="1.0"?>\n<!-- exported -->\n',
])
def test_parse_refuses_any_doctype(prolog):
    data = (prolog + '<!DOCTYPE x [<!ENTITY e "boom">]>\n' + doc().split("\n", 1)[1]).encode()
    assert "DOCTYPE" in refused(data)


def test_parse_never_reads_external_entities():
    xxe = ('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
           + doc().split("\n", 1)[1].replace('name="Review"', 'name="&xxe;"'))
    message = refused(xxe.encode())
    assert "root:" not in message


def test_parse_refuses_deep_nesting():
    deep = HEAD + "<bpmn:documentation>" * 250 + "</bpmn:documentation>" * 250 + TAIL
    assert "200 levels" in refused(deep.encode())


def test_parse_refuses_a_zip_renamed_bpmn():
    assert "ZIP archive" in refused(b"PK\x03\x04\x14\x00\x00\x00\x08\x00binary\xff\xfe\x00")


def test_parse_refuses_binary_and_non_utf8_text():
    assert "not UTF-8" in refused(doc().replace("Review", "Prüfung").encode("latin-1"))
    assert "binary" in refused(b"<a>\x00\x01</a>")


def test_parse_reports_the_line_of_malformed_xml():
    broken = doc().replace('<bpmn:userTask id="Task_1" name="Review"/>',
                           '<bpmn:userTask id="Task_1" name="Review">')
    with pytest.raises(InvalidBpmn) as caught:
        parse_bpmn_xml(broken.encode())
    problem = caught.value.problems[0]
    assert "not well-formed" in problem.message
    assert problem.line is not None and problem.line >= line_of(broken, 'id="Task_1"')


def test_parse_says_when_a_file_was_cut_off():
    data = doc().encode()
    assert "ends too early" in refused(data[: len(data) // 2])


def test_parse_refuses_svg_and_other_xml():
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><g/></svg>'
    assert "This is an SVG file" in refused(svg)
    assert "root element is <note>" in refused(b"<note>hi</note>")
    dmn = b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>'
    assert "DMN" in refused(dmn)


@pytest.mark.parametrize("data", [
    b"\x00", b"\xef\xbb\xbf", b"<", b"<?xml?>", b"<a xmlns='\xff'/>", b"\x1f\x8b\x08junk",
    "<a>\u2028</a>".encode("utf-16"), b"<a>" + b"&#0;" + b"</a>", b"<a b='1' b='2'/>",
])
def test_parse_lets_no_lxml_or_unicode_error_escape(data):
    refused(data)
