"""The default reason-code catalog: well formed, and a fitting code for every kind of deviation."""
from __future__ import annotations

import re
import tomllib
from collections import Counter

import pytest

from .harness import BPMN_DIR, PROCESS_IDS

KINDS = {"skip", "go_back", "jump_to", "override_decision", "add_task", "reassign",
         "extend_deadline", "hold", "resume", "cancel", "edit_data"}
CATEGORIES = {"customer_driven", "internal_failure", "system", "policy"}
FIELDS = {"code", "label", "category", "kinds", "processes", "note_required", "retired"}


@pytest.fixture(scope="module")
def catalog() -> dict:
    with open(BPMN_DIR / "reason_codes.toml", "rb") as f:
        return tomllib.load(f)


def test_catalog_names_every_kind_and_category(catalog):
    assert catalog["version"] == 1
    assert set(catalog["kinds"]) == KINDS and all(k["label"] for k in catalog["kinds"].values())
    assert set(catalog["categories"]) == CATEGORIES
    assert all(c["label"] and c["advice"] for c in catalog["categories"].values())


def test_every_code_is_well_formed(catalog):
    codes = catalog["codes"]
    counts = Counter(c["code"] for c in codes)
    assert [code for code, n in counts.items() if n > 1] == []
    for entry in codes:
        assert set(entry) <= FIELDS, f"{entry['code']}: unknown keys {set(entry) - FIELDS}"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", entry["code"])
        assert entry["label"].strip()
        assert entry["category"] in CATEGORIES
        kinds = entry["kinds"]
        assert kinds and set(kinds) <= KINDS and len(set(kinds)) == len(kinds)
        assert set(entry.get("processes", PROCESS_IDS)) <= set(PROCESS_IDS)
        assert isinstance(entry.get("note_required", False), bool)


def test_every_kind_has_several_codes_and_a_catch_all_per_category(catalog):
    for kind in KINDS:
        offered = [c for c in catalog["codes"] if kind in c["kinds"]]
        specific = [c["code"] for c in offered if not c.get("note_required")]
        assert len(specific) >= 3, f"{kind} has only {specific} besides the catch-alls"
        catch_all = {c["category"] for c in offered if c.get("note_required")}
        assert catch_all == CATEGORIES, f"{kind}: no catch-all for {CATEGORIES - catch_all}"


def test_one_code_serves_several_kinds(catalog):
    assert any(len(c["kinds"]) > 1 for c in catalog["codes"])


@pytest.mark.parametrize("code,category", [
    ("customer_not_at_home", "customer_driven"),
    ("customer_asked_to_reschedule", "customer_driven"),
    ("duplicate_order", "internal_failure"),
    ("billing_system_down", "system"),
    ("vip_goodwill", "policy"),
])
def test_the_everyday_reasons_are_there(catalog, code, category):
    (entry,) = [c for c in catalog["codes"] if c["code"] == code]
    assert entry["category"] == category


def test_specific_codes_outnumber_catch_alls(catalog):
    specific = [c for c in catalog["codes"] if not c.get("note_required")]
    assert len(specific) >= 3 * (len(catalog["codes"]) - len(specific))
