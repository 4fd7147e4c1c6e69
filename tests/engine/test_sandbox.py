"""Model code runs under RestrictedPython with a wall-clock limit."""
from __future__ import annotations

import threading
import time

import pytest

from engine.sandbox import SandboxEnvironment, ScriptTimeout, check_model_code

ESCAPES = [
    "import os\nos.system('id')",
    "__import__('os').system('id')",
    "open('/etc/passwd').read()",
    "x = ().__class__.__base__.__subclasses__()",
    "x = getattr(1, '__class__')",
    "x = [].__class__.__mro__[1]",
    "x = eval('1')",
    "exec('x = 1')",
    "x = globals()",
    "f = (lambda: 0).__globals__",
    "x = type(1).__subclasses__",
    "import subprocess",
    "from os import path",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_fail(source):
    env = SandboxEnvironment(1.0)
    with pytest.raises(Exception) as err:
        env.execute(source, {})
    assert not isinstance(err.value, ScriptTimeout)


@pytest.mark.parametrize("source", ["import os", "x = a.__class__", "open = 1\nx = _private"])
def test_refused_code_is_reported_with_a_reason(source):
    reason = check_model_code(source)
    assert reason and ("import" in reason.lower() or "_" in reason)


def test_ordinary_business_scripts_work():
    env = SandboxEnvironment(1.0)
    data = {"items": [{"price": 10, "qty": 2}, {"price": 5, "qty": 1}], "vip": True}
    env.execute("total = sum(i['price'] * i['qty'] for i in items)\n"
                "discount = round(total * 0.1, 2) if vip else 0\n"
                "lines = sorted({'a', 'b'})\n"
                "due = (datetime(2026, 1, 1) + timedelta(days=14)).date().isoformat()", data)
    assert data["total"] == 25 and data["discount"] == 2.5 and data["lines"] == ["a", "b"]
    assert data["due"] == "2026-01-15"
    assert env.evaluate("total > 20 and vip", data) is True


def test_runaway_script_stops_at_the_limit_and_other_threads_keep_working():
    env = SandboxEnvironment(0.5)
    outcome = {}

    def runaway():
        started = time.monotonic()
        try:
            env.execute("while True:\n    pass", {})
        except ScriptTimeout:
            outcome["stopped_after"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    other = SandboxEnvironment(1.0)
    answers = [other.evaluate("n * 2", {"n": i}) for i in range(200)]
    thread.join(timeout=5)
    assert answers[-1] == 398 and not thread.is_alive()
    assert 0.4 < outcome["stopped_after"] < 3


def test_runaway_expression_stops_too():
    env = SandboxEnvironment(0.3)
    with pytest.raises(ScriptTimeout):
        env.evaluate("[x for x in items for y in items for z in items]", {"items": list(range(1000))})
