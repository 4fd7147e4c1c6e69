"""Benchmark: validation time grows with the file, never with the square of it.

Times validate_bpmn (the CLI's and the upload's check) on the attack file (200,000 attributes on
one element, 2.2 MB), on files just under the complexity limits, on wide processes of growing
size (the ratio per doubling shows whether the cost is linear: about 2 is, about 4 is not), and
on every shipped file. Prints seconds (best of a few runs) and the number of problems reported.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository first, not bench/: bench/http.py would hide the standard library's http.
sys.path[0] = str(ROOT)

from engine.validate import validate_bpmn  # noqa: E402
from engine.xmlsafe import MAX_ATTRIBUTES, MAX_ELEMENTS  # noqa: E402

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs" '
        'targetNamespace="http://example.com/bench">\n'
        '  <bpmn:process id="P" isExecutable="true">\n')
TAIL = "  </bpmn:process>\n</bpmn:definitions>\n"


def _linear(task: str) -> str:
    return (HEAD + '    <bpmn:startEvent id="S"/>\n'
            '    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Task_1"/>\n'
            f"    {task}\n"
            '    <bpmn:sequenceFlow id="F2" sourceRef="Task_1" targetRef="E"/>\n'
            '    <bpmn:endEvent id="E"/>\n' + TAIL)


def attack(attributes: int = 200_000) -> bytes:
    """One user task with the id and name after `attributes` unknown attributes."""
    attrs = " ".join(f'a{i}="1"' for i in range(attributes))
    return _linear(f'<bpmn:userTask {attrs} id="Task_1" name="Review"/>').encode()


def many_attributes(tasks: int) -> bytes:
    """`tasks` user tasks, each with as many unknown attributes as the limit allows."""
    attrs = " ".join(f'a{i}="1"' for i in range(MAX_ATTRIBUTES - 2))
    extra = "".join(f'    <bpmn:userTask {attrs} id="U_{i}" name="Step {i}"/>\n'
                    for i in range(tasks))
    return _linear('<bpmn:userTask id="Task_1" name="Review"/>\n' + extra).encode()


def wide(branches: int) -> bytes:
    """A parallel split into `branches` tasks, each behind an exclusive gateway, then a join."""
    parts = ['    <bpmn:startEvent id="S"/>\n',
             '    <bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="Split"/>\n',
             '    <bpmn:parallelGateway id="Split"/>\n    <bpmn:parallelGateway id="Join"/>\n',
             '    <bpmn:sequenceFlow id="FE" sourceRef="Join" targetRef="E"/>\n',
             '    <bpmn:endEvent id="E"/>\n']
    for i in range(branches):
        parts.append(
            f'    <bpmn:sequenceFlow id="A{i}" sourceRef="Split" targetRef="G{i}"/>\n'
            f'    <bpmn:exclusiveGateway id="G{i}" default="C{i}"/>\n'
            f'    <bpmn:sequenceFlow id="B{i}" sourceRef="G{i}" targetRef="T{i}">'
            f'<bpmn:conditionExpression>amount &gt; {i}</bpmn:conditionExpression>'
            '</bpmn:sequenceFlow>\n'
            f'    <bpmn:sequenceFlow id="C{i}" sourceRef="G{i}" targetRef="Join"/>\n'
            f'    <bpmn:userTask id="T{i}" name="Step {i}"/>\n'
            f'    <bpmn:sequenceFlow id="D{i}" sourceRef="T{i}" targetRef="Join"/>\n')
    return (HEAD + "".join(parts) + TAIL).encode()


def calls_and_data(n: int) -> bytes:
    """`n` call activities that call back into their own process, each writing a data object."""
    parts = ['    <bpmn:startEvent id="S"/>\n    <bpmn:endEvent id="E"/>\n',
             '    <bpmn:dataObject id="DO"/>\n',
             '    <bpmn:dataObjectReference id="DOR" dataObjectRef="DO"/>\n']
    parts += [f'    <bpmn:callActivity id="C{i}" calledElement="P">'
              f'<bpmn:dataOutputAssociation id="O{i}"><bpmn:targetRef>DOR</bpmn:targetRef>'
              '</bpmn:dataOutputAssociation></bpmn:callActivity>\n' for i in range(n)]
    return (HEAD + "".join(parts) + TAIL).encode()


def timed(data: bytes, rounds: int = 3) -> tuple[float, int, bool]:
    """Return the best seconds of `rounds` validations, the problem count and validity."""
    best, report = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        report = validate_bpmn(data, "bench.bpmn")
        best = min(best, time.perf_counter() - start)
    return best, len(report.problems), report.valid


def _line(label: str, data: bytes, rounds: int = 3) -> float:
    seconds, problems, valid = timed(data, rounds)
    print(f"{label:52} {len(data) / 1e6:6.2f} MB {seconds:8.3f} s  "
          f"{problems:3} problems{'' if valid else ' (not valid)'}")
    return seconds


def main() -> None:
    print(f"limits: {MAX_ELEMENTS:,} elements, {MAX_ATTRIBUTES:,} attributes on one element")
    _line("attack: 200,000 attributes on one element", attack(), rounds=1)
    _line(f"100 tasks with {MAX_ATTRIBUTES - 2} unknown attributes each", many_attributes(100))
    for label, build, sizes in (("wide process, {:,} gated branches", wide,
                                 (750, 1_500, 3_000)),
                                ("{:,} self-calls writing a data object", calls_and_data,
                                 (1_000, 2_000, 4_000, 8_000))):
        previous = None
        for size in sizes:
            seconds = _line(label.format(size), build(size), rounds=1)
            if previous:
                print(f"{'':52} {'':9} ratio to half the size: {seconds / previous:.2f}")
            previous = seconds
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        _line(f"shipped: {path.name}", path.read_bytes())


if __name__ == "__main__":
    main()
