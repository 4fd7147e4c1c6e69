"""Benchmark: in-memory SpiffWorkflow loop vs Caseflow's persisted path, and cost growth with history.

Prints, measured in one run on this machine:
1. completions/s of the bare SpiffWorkflow load -> complete -> save loop on a 10-task process,
2. completions/s through Caseflow's persisted path (SQLite file, spec stored once, one commit a step),
   and their ratio (goal >= 0.5);
3. the cost of one step in a looping process after 10 vs after 200 completed steps (goal <= 1.5x);
4. what model code costs per evaluation: a gateway condition evaluated in the server (bounded
   expressions), the same condition and a tiny script through a script worker (a pool round trip);
5. the persisted/bare ratio again on 10-task processes with a gateway condition after each step
   (evaluated in the server) and with a script task after each step (a worker round trip each).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

# The repository first, not bench/: bench/http.py would hide the standard library's http.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402  (the bare-library baseline)
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlmodel import Session  # noqa: E402

from cases.db import make_engine, upgrade  # noqa: E402
from engine import runtime, store  # noqa: E402
from engine.definitions import compile_processes  # noqa: E402
from engine.parser import new_serializer  # noqa: E402
from engine.sandbox import SandboxEnvironment  # noqa: E402

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


def model_code_bpmn(kind: str, n: int = 10) -> bytes:
    """n user tasks in a row, each followed by a gateway condition ("gated") or a script."""
    condition = ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">approved == True'
                 '</bpmn:conditionExpression>')
    parts = [HEADER, f'<bpmn:process id="{kind}" isExecutable="true"><bpmn:startEvent id="S"/>'
             '<bpmn:endEvent id="Refused"/>']
    prev = "S"
    for i in range(1, n + 1):
        parts.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{prev}" targetRef="T{i}"/>'
                     f'<bpmn:userTask id="T{i}" name="Step {i}"/>')
        if kind == "gated":
            parts.append(f'<bpmn:sequenceFlow id="g{i}" sourceRef="T{i}" targetRef="G{i}"/>'
                         f'<bpmn:exclusiveGateway id="G{i}" default="no{i}"/>'
                         f'<bpmn:sequenceFlow id="no{i}" sourceRef="G{i}" targetRef="Refused"/>'
                         f'<bpmn:sequenceFlow id="ok{i}" sourceRef="G{i}" targetRef="N{i}">'
                         f'{condition}</bpmn:sequenceFlow><bpmn:intermediateThrowEvent id="N{i}"/>')
            prev = f"N{i}"
        else:
            parts.append(f'<bpmn:sequenceFlow id="s{i}" sourceRef="T{i}" targetRef="C{i}"/>'
                         f'<bpmn:scriptTask id="C{i}"><bpmn:script>total = total + {i}'
                         '</bpmn:script></bpmn:scriptTask>')
            prev = f"C{i}"
    parts.append(f'<bpmn:sequenceFlow id="fe" sourceRef="{prev}" targetRef="E"/>'
                 '<bpmn:endEvent id="E"/></bpmn:process></bpmn:definitions>')
    return "".join(parts).encode()


MODEL_DATA = {"approved": True, "total": 0}


def bare_spiff_rate(process, cases: int, data: dict | None = None) -> float:
    """Completions/s of SpiffWorkflow alone: deserialize, complete one task, serialize (full JSON)."""
    serializer = new_serializer()
    done, start = 0, time.perf_counter()
    for _ in range(cases):
        wf = BpmnWorkflow(process.spec, process.subprocess_specs)
        for task in (wf.task_tree, *wf.task_tree.children):
            task.data.update(data or {})
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


def persisted_rate(engine, version, cases: int, data: dict | None = None) -> float:
    """Completions/s through Caseflow: load row -> complete -> save with version check -> commit."""
    done, start = 0, time.perf_counter()
    for _ in range(cases):
        with Session(engine, expire_on_commit=False) as s:
            row, _ = store.create_instance(s, version, data or {}, now=NOW)
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


def model_code_costs(samples: int = 2000) -> tuple[float, float, float]:
    """Seconds per evaluation: a condition in the server, the same through a worker, a script."""
    env, data = SandboxEnvironment(2.0), dict(MODEL_DATA)
    env.execute("warm = True", dict(data))  # start the pool's worker outside the timing
    costs = []
    for run in (lambda: env.evaluate("approved == True", data),
                lambda: env.evaluate("(approved == True) == True and len('') == 0", data),
                lambda: env.execute("total = total + 1", data)):
        start = time.perf_counter()
        for _ in range(samples):
            run()
        costs.append((time.perf_counter() - start) / samples)
    return costs[0], costs[1], costs[2]


def rate_rounds(engine, pairs: list, rounds: int) -> list[tuple[float, float, list[float]]]:
    """Interleave bare and persisted loops for each (process, version, data); return medians."""
    rates: list[tuple[list, list]] = [([], []) for _ in pairs]
    for _ in range(rounds):
        for (process, version, data), (bare, persisted) in zip(pairs, rates):
            bare.append(bare_spiff_rate(process, 8, data))
            persisted.append(persisted_rate(engine, version, 8, data))
    return [(statistics.median(b), statistics.median(p), sorted(x / y for x, y in zip(p, b)))
            for b, p in rates]


def deployed(engine, data: bytes, filename: str):
    with Session(engine, expire_on_commit=False) as s:
        version = store.deploy(s, data, filename=filename, uploaded_by="bench", now=NOW,
                               activate=True)[0]
        s.commit()
    return version


def main(rounds: int = 7) -> None:
    files = {"linear": linear_bpmn(10), "gated": model_code_bpmn("gated"),
             "scripted": model_code_bpmn("scripted")}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        pairs = [(compile_processes(data, f"{key}.bpmn")[key],
                  deployed(engine, data, f"{key}.bpmn"), MODEL_DATA if key != "linear" else None)
                 for key, data in files.items()]
        # Interleave the loops so load from other processes hits them all alike.
        (bare, persisted, ratios), gated, scripted = rate_rounds(engine, pairs, rounds)
        engine.dispose()
    c10, c200 = step_costs(compile_processes(looping_bpmn(), "loop.bpmn")["loop"])
    inline, pooled, script = model_code_costs()
    print(f"Caseflow engine benchmark (one process; medians of {rounds} interleaved rounds; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  bare SpiffWorkflow load->complete->save, 10-task process : {bare:8.0f} completions/s")
    print(f"  Caseflow persisted path (SQLite file, commit per step)  : {persisted:8.0f} completions/s")
    print(f"  ratio persisted / bare (median of rounds)                : "
          f"{statistics.median(ratios):8.2f}  (goal >= 0.5; range {ratios[0]:.2f}-{ratios[-1]:.2f})")
    print(f"  looping process, one step after  10 completed steps      : {c10 * 1000:8.2f} ms")
    print(f"  looping process, one step after 200 completed steps      : {c200 * 1000:8.2f} ms")
    print(f"  growth 200 vs 10                                         : {c200 / c10:8.2f}x (goal <= 1.5x)")
    print("Model code (sandbox: bounded expressions in the server, the rest in a script worker)")
    print(f"  condition `approved == True` evaluated in the server     : {inline * 1e6:8.1f} us")
    print(f"  a condition with a call, through a script worker         : {pooled * 1e6:8.1f} us"
          f"  ({pooled / inline:.0f}x the in-server condition)")
    print(f"  script `total = total + 1`, through a script worker      : {script * 1e6:8.1f} us")
    print(f"  persisted step vs one worker round trip                  : "
          f"{1 / persisted * 1e6:8.0f} us vs {pooled * 1e6:.0f} us")
    for label, (b, p, r) in (("gateway condition after each step", gated),
                             ("script task after each step      ", scripted)):
        print(f"  10 tasks + {label}: ratio persisted / bare "
              f"{statistics.median(r):5.2f}  (goal >= 0.5; range {r[0]:.2f}-{r[-1]:.2f};"
              f" {b:.0f} vs {p:.0f}/s)")


if __name__ == "__main__":
    main()
