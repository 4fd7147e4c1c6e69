"""Hardened parsing of uploaded BPMN bytes: no DTD, no entities, no network, bounded size and depth.

Beyond the size cap, a file is refused as too complex when it has more elements, attributes on
one element, or levels of nesting than any modeler writes (the largest real files have about
730 elements and 15 attributes on an element): the checks after parsing then cost time in
proportion to the file, and no upload can keep a worker busy for minutes.

Every refusal is an `InvalidBpmn` carrying a designer-readable `Problem`; no lxml or Unicode
exception leaves this module.
"""
from __future__ import annotations

import re

from lxml import etree

from .errors import InvalidBpmn, Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 200
MAX_ELEMENTS = 25_000
MAX_ATTRIBUTES = 256  # on one element

_KNOWN_ROOTS = {
    "http://www.w3.org/2000/svg": "This is an SVG file (a picture of a diagram), not BPMN",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "This is a DMN decision table, not BPMN",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "This is a DMN decision table, not BPMN",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "This is a DMN decision table, not BPMN",
    "http://www.w3.org/1999/xhtml": "This is an HTML page, not BPMN",
}
_EXPORT_HINT = "export the diagram from your modeler as BPMN 2.0 XML (.bpmn) and upload that file"
# What may precede the root element: XML declaration, comments, processing instructions, space.
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_LXML_POSITION = re.compile(r",? line \d+, column \d+$")
_MAGIC = {
    b"PK\x03\x04": "a ZIP archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "an old Microsoft Office document",
}


def _refuse(message: str, line: int | None = None) -> InvalidBpmn:
    return InvalidBpmn([Problem(message=message, line=line)])


def _check_size(data: bytes, filename: str, max_bytes: int) -> None:
    if not data or not data.strip():
        raise _refuse(f"{filename} is empty: {_EXPORT_HINT}.")
    if len(data) > max_bytes:
        raise _refuse(f"{filename} is {len(data) / 1048576:.1f} MB; the limit is "
                      f"{max_bytes / 1048576:.1f} MB for one BPMN file. Split the model into "
                      "several files linked by call activities.")


def _check_text(data: bytes, filename: str) -> None:
    """Refuse binary files and anything that is not UTF-8 text."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            hint = " (unzip it and upload the .bpmn inside)" if magic == b"PK\x03\x04" else ""
            raise _refuse(f"{filename} is {kind}, not a BPMN file{hint}: {_EXPORT_HINT}.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(f"{filename} is saved as UTF-16; save it as UTF-8 BPMN XML and upload again.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise _refuse(f"{filename} is not UTF-8 text (unreadable byte 0x{data[err.start]:02x} on "
                      f"line {line}); it may be a binary file. Save the model as UTF-8 BPMN "
                      "XML and upload again.", line) from None
    if b"\x00" in data:
        raise _refuse(f"{filename} contains NUL bytes, so it is a binary file, not BPMN XML: "
                      f"{_EXPORT_HINT}.")


def _check_no_doctype(data: bytes, filename: str) -> None:
    """Refuse a DOCTYPE before the parser sees it (entity expansion, file and network reads)."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    pos = 0
    while True:
        match = _PROLOG_ITEM.match(body, pos)
        if not match:
            break
        pos = match.end()
    # A DOCTYPE is only legal in the prolog; anywhere else lxml refuses it as a syntax error.
    if body[pos:pos + 9].upper() == b"<!DOCTYPE":
        line = body[:pos].count(b"\n") + 1
        raise _refuse(f"{filename} contains a DOCTYPE declaration (line {line}). BPMN "
                      "files never need one, and it can be used to read files from the server or "
                      "exhaust its memory, so Caseflow refuses it. Remove the <!DOCTYPE ...> block "
                      "and upload again.", line)


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_blank_text=False)


def _parse(data: bytes, filename: str) -> etree._Element:
    try:
        root = etree.fromstring(data, _hardened_parser())
    except etree.XMLSyntaxError as err:
        raise _syntax_problem(err, data, filename) from None
    except (ValueError, UnicodeError, etree.LxmlError) as err:
        raise _refuse(f"{filename} cannot be read as XML ({type(err).__name__}: {err}). "
                      f"{_EXPORT_HINT[0].upper()}{_EXPORT_HINT[1:]}.") from None
    if root is None:
        raise _refuse(f"{filename} contains no XML element: {_EXPORT_HINT}.")
    return root


def _syntax_problem(err: etree.XMLSyntaxError, data: bytes, filename: str) -> InvalidBpmn:
    line = err.lineno or None
    msg = _LXML_POSITION.sub("", (err.msg or str(err)).strip())
    if "Excessive depth" in msg:
        return _depth_problem(filename, line)
    if _looks_truncated(data, line, msg):
        cause = "The file ends too early; it was probably cut off while saving or copying"
    else:
        cause = "The file is not well-formed XML"
    column = f", column {err.offset}" if err.offset else ""
    return _refuse(f"{cause} ({filename}, line {line}{column}: {msg}). Export it again from "
                   "your modeler.", line)


def _looks_truncated(data: bytes, line: int | None, msg: str) -> bool:
    if "Premature end of data" in msg:
        return True
    last_line = data.rstrip().count(b"\n") + 1
    return (line is not None and line >= last_line and not data.rstrip().endswith(b">")
            and "Start tag expected" not in msg)


def _too_complex(filename: str, what: str, line: int | None,
                 element: etree._Element | None = None) -> InvalidBpmn:
    return InvalidBpmn([Problem(
        message=f"{filename} is too complex for Caseflow to check: {what}. No modeler writes "
                "that; the file is damaged or hostile. Split the model or export it again.",
        element_id=element.get("id") if element is not None else None, line=line)])


def _depth_problem(filename: str, line: int | None) -> InvalidBpmn:
    return _too_complex(filename, f"elements nest more than {MAX_DEPTH} levels deep (line "
                        f"{line})", line)


def _label(element: etree._Element) -> str:
    qname = etree.QName(element)
    prefix = element.prefix + ":" if element.prefix else ""
    eid = element.get("id")
    return f"<{prefix}{qname.localname}>" + (f" {eid}" if eid else "")


def _check_complexity(root: etree._Element, filename: str) -> None:
    """Refuse too deep nesting, too many elements and too many attributes on one element."""
    depth = elements = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth, elements = depth + 1, elements + 1
        if depth > MAX_DEPTH:
            raise _depth_problem(filename, element.sourceline)
        if elements > MAX_ELEMENTS:
            raise _too_complex(filename, f"it has more than {MAX_ELEMENTS:,} elements (the "
                               f"limit is passed at {_label(element)} on line "
                               f"{element.sourceline})", element.sourceline, element)
        attributes = len(element.attrib)
        if attributes > MAX_ATTRIBUTES:
            raise _too_complex(filename, f"{_label(element)} on line {element.sourceline} has "
                               f"{attributes:,} attributes (at most {MAX_ATTRIBUTES:,} on one "
                               "element)", element.sourceline, element)


def _check_root(root: etree._Element, filename: str) -> None:
    if root.getroottree().docinfo.doctype:
        raise _refuse(f"{filename} contains a DOCTYPE declaration; remove it and upload again.")
    qname = etree.QName(root)
    if qname.namespace == BPMN_NS and qname.localname == "definitions":
        return
    known = _KNOWN_ROOTS.get(qname.namespace or "")
    if known is None and qname.localname == "definitions":
        known = (f"The root element is <definitions> in namespace '{qname.namespace}', which is "
                 f"not BPMN 2.0 (expected {BPMN_NS})")
    if known is None:
        known = (f"The root element is <{qname.localname}>, but a BPMN file starts with "
                 f"<bpmn:definitions xmlns:bpmn=\"{BPMN_NS}\">")
    raise _refuse(f"{known}: {_EXPORT_HINT}.", root.sourceline)


def parse_bpmn_xml(data: bytes, filename: str = "upload.bpmn",
                   max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse uploaded BPMN bytes safely and return the bpmn:definitions root; raise InvalidBpmn."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    _check_size(data, filename, max_bytes)
    _check_text(data, filename)
    _check_no_doctype(data, filename)
    root = _parse(data, filename)
    _check_complexity(root, filename)
    _check_root(root, filename)
    from .parser import name_anonymous_flows  # parser imports this module

    name_anonymous_flows(root)  # every check sees the ids SpiffWorkflow will run with
    return root


DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/",
                  "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "http://www.omg.org/spec/DMN/20151101/dmn.xsd")


def parse_dmn_xml(data: bytes, filename: str = "upload.dmn",
                  max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse uploaded DMN bytes as safely as BPMN and return the dmn:definitions root."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data or not data.strip():
        raise _refuse(f"{filename} is empty: export the decision from your modeler as DMN "
                      "(.dmn) and upload that file.")
    _check_size(data, filename, max_bytes)
    _check_text(data, filename)
    _check_no_doctype(data, filename)
    root = _parse(data, filename)
    _check_complexity(root, filename)
    if root.getroottree().docinfo.doctype:
        raise _refuse(f"{filename} contains a DOCTYPE declaration; remove it and upload again.")
    qname = etree.QName(root)
    if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
        raise _refuse(f"{filename} is not a DMN file: its root element is <{qname.localname}> "
                      f"in namespace '{qname.namespace}', but a DMN 1.1, 1.2 or 1.3 file starts "
                      "with <definitions xmlns=\"https://www.omg.org/spec/DMN/20191111/MODEL/\">. "
                      "Export the decision from your modeler as DMN and upload that file.",
                      root.sourceline)
    return root


def process_ids(data: bytes, filename: str = "upload.bpmn") -> list[str]:
    """Return the ids of the processes a BPMN file defines (parsed as safely as any upload)."""
    root = parse_bpmn_xml(data, filename)
    return [p.get("id") for p in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")
            if p.get("id")]


__all__ = ["DMN_NAMESPACES", "parse_bpmn_xml", "parse_dmn_xml", "process_ids", "MAX_ATTRIBUTES", "MAX_BYTES", "MAX_DEPTH",
           "MAX_ELEMENTS"]
