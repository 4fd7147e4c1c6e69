"""Process ids must be XML NCNames (what the BPMN schema's xs:ID requires).

A process id becomes the definition key: page addresses, page text, chart labels and JSON. The
schema check alone only warns, because modelers write other ids loosely; a process id is held to
the rule so that nothing like `</script>` can ever become a key.
"""
from __future__ import annotations

import re

from .bpmntree import Model, describe, problem
from .errors import Problem

# XML 1.0 (fifth edition) NameStartChar and NameChar, without ':' (namespaces reserve it).
_START = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
          "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
_MORE = "\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040"
NCNAME = re.compile(f"[{_START}][{_START}{_MORE}]*")


def is_ncname(value: str) -> bool:
    """Tell whether a value is an XML NCName."""
    return NCNAME.fullmatch(value) is not None


def check_process_ids(model: Model) -> list[Problem]:
    """Report every process whose id is not an NCName, naming the process and its line."""
    return [problem(p, f"{describe(p)}: a process id must start with a letter or underscore and "
                       "contain only letters, digits, '_', '-' and '.' (no spaces, ':' or markup).")
            for p in model.processes if p.get("id") is not None and not is_ncname(p.get("id"))]


ID_CHECKS = (check_process_ids,)
