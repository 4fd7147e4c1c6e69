"""The XES export is clean for process mining (issue 16): a simulated history, exported and read
back with pm4py, fits the model pm4py's inductive miner finds in it, and its steps take time."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from lxml import etree
from sqlmodel import Session

from cases import exports
from cases.exports import ExportFilter
from cases.simulate import Patterns, simulate
from tests.cases.test_exports import XES_NS, xes_schema
from tests.conftest import T0, fresh_sqlite

END = T0 + timedelta(days=21)
PROCESSES = ("install_service", "restore_service", "billing_inquiry")
X = {"x": XES_NS}


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """A simulated history on a SQLite file, exported as one XES file per process."""
    from cases.db import make_engine

    folder = tmp_path_factory.mktemp("mining")
    url = fresh_sqlite(folder / 'sim.sqlite3')
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        result = simulate(s, cases=45, days=20, seed=7, end=END, patterns=Patterns(
            mix={"install_service": 0.4, "restore_service": 0.35, "billing_inquiry": 0.25},
            breach_rate=0.3))
        assert not result.errors, result.errors[:3]
        paths = {}
        for pid in PROCESSES:
            paths[pid] = folder / f"{pid}.xes"
            with open(paths[pid], "w", encoding="utf-8") as fh:
                exports.write_xes(s, fh, ExportFilter(process_id=pid))
    engine.dispose()
    return paths


def _events(path):
    doc = etree.parse(str(path))
    assert xes_schema().validate(doc), xes_schema().error_log
    for trace in doc.getroot().iterfind("x:trace", X):
        attrs = [{a.get("key"): a.get("value") for a in event} for event in
                 trace.iterfind("x:event", X)]
        yield {a.get("key"): a.get("value") for a in trace if a.tag != f"{{{XES_NS}}}event"}, attrs


def test_sla_marks_and_deadline_changes_are_their_own_events(logs):
    seen = Counter()
    for pid in PROCESSES:
        for _, events in _events(logs[pid]):
            for e in events:
                if e["event_type"] in ("sla_at_risk", "sla_breached", "deadline_extended"):
                    seen[e["event_type"]] += 1
                    assert e["lifecycle:transition"] == "unknown", e
                    assert e["concept:name"].startswith(("SLA at risk", "SLA breached",
                                                         "Deadline extended")), e
                if e["lifecycle:transition"] == "complete":
                    assert not e["event_type"].startswith(("sla_", "deadline_")), e
    assert seen["sla_breached"] > 0 and seen["sla_at_risk"] > 0


def test_each_step_carries_its_work_item_team_and_real_start(logs):
    starts = completes = 0
    for pid in PROCESSES:
        for trace, events in _events(logs[pid]):
            assert {"customer_id", "priority", "channel", "contacted_at"} <= set(trace)
            assert pid != "install_service" or "promised_at" in trace
            times = [e["time:timestamp"] for e in events]
            assert times == sorted(times) and len(set(times)) == len(times), "strictly increasing"
            seqs = [int(e["seq"]) for e in events]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            by_instance: dict[str, list[dict]] = {}
            for e in events:
                if e["event_type"].startswith("task_"):
                    assert "concept:instance" in e, e
                if "concept:instance" in e:
                    by_instance.setdefault(e["concept:instance"], []).append(e)
            for instance, steps in by_instance.items():
                transitions = [e["lifecycle:transition"] for e in steps]
                assert transitions.count("start") <= 1, (instance, transitions)
                names = {e["concept:name"] for e in steps if e["lifecycle:transition"]
                         in ("schedule", "start", "complete")}
                assert len(names) <= 1, (instance, names)
                if not instance.startswith("external-") and transitions[0] == "schedule":
                    assert all(e.get("org:group") for e in steps if e["event_type"].startswith(
                        "task_")), steps
                starts += transitions.count("start")
                completes += transitions.count("complete")
    assert starts > 0.8 * completes > 0


def test_pm4py_mines_a_model_that_fits_and_steps_take_time(logs):
    # Imported here, not at the top: pm4py takes seconds to import, and every test process
    # collects this file.
    pm4py = pytest.importorskip("pm4py")
    from pm4py.objects.log.util import interval_lifecycle

    for pid in PROCESSES:
        log = pm4py.read_xes(str(logs[pid]), return_legacy_log_object=True)
        intervals = interval_lifecycle.to_interval(log)  # start and complete paired by instance
        net, initial, final = pm4py.discover_petri_net_inductive(intervals)
        fitness = pm4py.fitness_token_based_replay(intervals, net, initial, final)
        assert fitness["log_fitness"] >= 0.99, (pid, fitness)
        done = [e for trace in intervals for e in trace if e["event_type"] == "task_completed"]
        worked = [e["@@duration"] for e in done if "@@startevent_seq" in e]  # had a start
        assert worked and min(worked) > 0, pid
        assert len(worked) >= 0.8 * len(done), pid
