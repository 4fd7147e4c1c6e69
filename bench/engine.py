"""Benchmark: in-memory SpiffWorkflow loop vs Caseflow's persisted path, and cost growth with history.

Prints, measured in one run on this machine:
1. completions/s of the bare SpiffWorkflow load -> complete -> save loop on a 10-task process,
2. completions/s through Caseflow's persisted path (SQLite file, spec stored once, one commit a step),
   and their ratio (goal >= 0.5);
3. the cost of one step in a looping process after 10 vs after 200 completed steps (goal <= 1.5x).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402  (the bare-library baseline)
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlmodel import Session  # noqa: E402

from cases.db import make_engine, upgrade  # noqa: E402
from engine import runtime, store  # noqa: E402
from engine.definitions import compile_processes  # noqa: E402
from engine.parser import new_serializer  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
HEADER = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
          'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="http://x">')


def linear_bpmn(n: int = 10) -> bytes:
    """A process of n user tasks in a row."""
    parts = [HEADER, '<bpmn:process id="linear" isExecutable="true"><bpmn:startEvent id="S"/>']
    prev = "S"
    for i in range(1, n + 1):
        parts.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{prev}" targetRef="T{i}"/>'
                     f'<bpmn:userTask id="T{i}" name="Step {i}"/>')
        prev = f"T{i}"
    parts.append(f'<bpmn:sequenceFlow id="fe" sourceRef="{prev}" targetRef="E"/><bpmn:endEvent id="E"/>'
                 '</bpmn:process></bpmn:definitions>')
    return "".join(parts).encode()


def looping_bpmn() -> bytes:
    """One user task that loops back through a decision until `done` is true."""
    return (HEADER + '<bpmn:process id="loop" isExecutable="true"><bpmn:startEvent id="S"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Work"/>'
            '<bpmn:userTask id="Work" name="Work"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="Work" targetRef="G"/>'
            '<bpmn:exclusiveGateway id="G" default="again"/>'
            '<bpmn:sequenceFlow id="again" sourceRef="G" targetRef="Work"/>'
            '<bpmn:sequenceFlow id="out" sourceRef="G" targetRef="E">'
            '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">done == True'
            '</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:endEvent id="E"/>'
            '</bpmn:process></bpmn:definitions>').encode()


def bare_spiff_rate(process, cases: int) -> float:
    """Completions/s of SpiffWorkflow alone: deserialize, complete one task, serialize (full JSON)."""
    serializer = new_serializer()
    done, start = 0, time.perf_counter()
    for _ in range(cases):
        wf = BpmnWorkflow(process.spec, process.subprocess_specs)
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        while True:
            wf = serializer.deserialize_json(state)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            ready[0].run()
            wf.do_engine_steps()
            state = serializer.serialize_json(wf)
            done += 1
    return done / (time.perf_counter() - start)


def persisted_rate(engine, version, cases: int) -> float:
    """Completions/s through Caseflow: load row -> complete -> save with version check -> commit."""
    done, start = 0, time.perf_counter()
    for _ in range(cases):
        with Session(engine, expire_on_commit=False) as s:
            row, _ = store.create_instance(s, version, {}, now=NOW)
            s.commit()
            instance_id = row.id
        while True:
            with Session(engine, expire_on_commit=False) as s:
                row, live = store.load_instance(s, instance_id)
                ready = live.ready_tasks()
                if not ready:
                    break
                live.complete(ready[0].id, {}, now=NOW)
                store.save_instance(s, row, live, now=NOW)
                s.commit()
                done += 1
    return done / (time.perf_counter() - start)


def state_after(process, history: int) -> str:
    """Saved state of a looping instance after `history` completed iterations."""
    live = runtime.start(process, {"done": False}, now=NOW)
    for _ in range(history):
        live.complete(live.ready_tasks()[0].id, {}, now=NOW)
    return live.dump()


def one_step(process, state: str) -> float:
    """Seconds for load -> complete -> dump of one step."""
    t = time.perf_counter()
    inst = runtime.load(process, state)
    inst.complete(inst.ready_tasks()[0].id, {}, now=NOW)
    inst.dump()
    return time.perf_counter() - t


def step_costs(process, histories=(10, 200), samples: int = 60) -> list[float]:
    """Median step cost per history length, sampled alternately so noise hits all alike."""
    states = [state_after(process, h) for h in histories]
    times: list[list[float]] = [[] for _ in histories]
    for _ in range(samples):
        for i, state in enumerate(states):
            times[i].append(one_step(process, state))
    return [statistics.median(t) for t in times]


def main(rounds: int = 7) -> None:
    linear = compile_processes(linear_bpmn(10), "linear.bpmn")["linear"]
    loop = compile_processes(looping_bpmn(), "loop.bpmn")["loop"]
    bare_rates, persisted_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as s:
            version = store.deploy(s, linear_bpmn(10), filename="linear.bpmn", uploaded_by="bench",
                                   now=NOW, activate=True)[0]
            s.commit()
        # Interleave the two loops so load from other processes hits both alike.
        for _ in range(rounds):
            bare_rates.append(bare_spiff_rate(linear, 8))
            persisted_rates.append(persisted_rate(engine, version, 8))
        engine.dispose()
    ratios = sorted(p / b for p, b in zip(persisted_rates, bare_rates))
    bare, persisted = statistics.median(bare_rates), statistics.median(persisted_rates)
    c10, c200 = step_costs(loop)
    print(f"Caseflow engine benchmark (one process; medians of {rounds} interleaved rounds)")
    print(f"  bare SpiffWorkflow load->complete->save, 10-task process : {bare:8.0f} completions/s")
    print(f"  Caseflow persisted path (SQLite file, commit per step)  : {persisted:8.0f} completions/s")
    print(f"  ratio persisted / bare (median of rounds)                : "
          f"{statistics.median(ratios):8.2f}  (goal >= 0.5; range {ratios[0]:.2f}-{ratios[-1]:.2f})")
    print(f"  looping process, one step after  10 completed steps      : {c10 * 1000:8.2f} ms")
    print(f"  looping process, one step after 200 completed steps      : {c200 * 1000:8.2f} ms")
    print(f"  growth 200 vs 10                                         : {c200 / c10:8.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
