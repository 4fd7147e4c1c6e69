"""Benchmark: what the fuller form description costs the API's case answer.

GET /api/cases/{id} describes each open work item's form. Before branch forms2 a field was
five keys; now it carries everything the page draws it with (19 keys, its default typed). This
times both descriptions of the refund set's start form (7 fields, tests/engine/data/refund_set)
and the JSON text they become, and the example `data` the start-form route builds. Prints
microseconds per form and the ratios, measured in one run.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its http.py would hide the standard library's http

from cases.start_forms import example_data  # noqa: E402
from engine.definitions import compile_processes  # noqa: E402
from engine.formjs import FormLibrary, read_form_file  # noqa: E402
from web.api_models import form_json  # noqa: E402

ROUNDS = 20_000
SET = ROOT / "tests" / "engine" / "data" / "refund_set"


def _before(form) -> list[dict]:
    """The description GET /api/cases/{id} gave before forms2."""
    return [{"id": f.id, "label": f.label, "type": f.type, "required": f.required,
             "values": [v.id for v in f.values] or None} for f in form.fields]


def _per_form(fn, form) -> float:
    began = time.perf_counter()
    for _ in range(ROUNDS):
        fn(form)
    return (time.perf_counter() - began) / ROUNDS * 1e6


def main() -> None:
    library = FormLibrary.of([read_form_file((SET / "refund_request.form").read_bytes(),
                                             "refund_request.form")])
    form = compile_processes((SET / "refund_request.bpmn").read_bytes(), "refund_request.bpmn",
                             forms=library)["Process_RefundRequest"].start_form
    before = _per_form(_before, form)
    after = _per_form(form_json, form)
    before_json = _per_form(lambda f: json.dumps(_before(f)), form)
    after_json = _per_form(lambda f: json.dumps(form_json(f)), form)
    example = _per_form(lambda f: example_data(f, date(2026, 12, 1)), form)
    size = (len(json.dumps(_before(form))), len(json.dumps(form_json(form))))
    print(f"refund start form, {len(form.fields)} fields, {ROUNDS} rounds")
    print(f"describe: before {before:.1f} us, now {after:.1f} us ({after / before:.1f}x)")
    print(f"describe + JSON text: before {before_json:.1f} us, now {after_json:.1f} us "
          f"({after_json / before_json:.1f}x); {size[0]} -> {size[1]} bytes")
    print(f"example data for the start-form route: {example:.1f} us")


if __name__ == "__main__":
    main()
