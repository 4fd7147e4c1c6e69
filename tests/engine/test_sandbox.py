"""Model code runs in script worker processes: hostile code costs its own limits and fails its step.

Every hostile payload is run while the test thread keeps doing ordinary work on the same pool, and
after each one an ordinary script must still run: the server process stays healthy.
"""
from __future__ import annotations

import os
import pickle
import select
import threading
from decimal import Decimal
from datetime import date, datetime, timedelta, timezone
from xml.sax.saxutils import escape

import pytest

from engine import runtime
from engine.definitions import compile_processes
from engine.errors import InvalidBpmn, ScriptFailed
from engine.sandbox import (
    SandboxEnvironment,
    ScriptError,
    ScriptRefused,
    ScriptTimeout,
    check_model_code,
)
from engine.sandbox_bounded import is_bounded_expression
from engine.sandbox_pool import ScriptPool, configure_pool, script_pool
from engine.sandbox_wire import load_plain
from tests.conftest import T0
from tests.engine.bpmn_snippets import doc, linear, process, script_task

LIMIT = 0.5
MEMORY_MB = 128

# The attack pass: each of these once hung, froze or ended the server process.
RUNAWAYS = [
    "try:\n    while True: pass\nexcept Exception: pass\nwhile True: pass",
    "x = 10**10**8",
    "def f():\n    try:\n        return f()\n    except Exception:\n        return f()\nf()",
    "items = []\nwhile True:\n    try:\n        items = [items]\n"
    "    except Exception:\n        pass",
]
MEMORY_BOMBS = ["x = [1]*10**9", "x = 'a' * 10**9", "x = '%*d' % (10**9, 1)",
                "x = f'{1:>{10**9}}'"]
EXITS = ["raise SystemExit(0)", "raise KeyboardInterrupt", "raise GeneratorExit",
         "try:\n    x = 1/0\nexcept BaseException:\n    pass"]

# Classic sandbox escapes: each must be refused at compile time or fail at run time.
ESCAPES = [
    "x = ().__class__.__base__.__subclasses__()",                        # subclass walk
    "x = [].__class__.__mro__[1].__subclasses__()",
    "x = str.mro()[1].__subclasses__()",
    "f = (lambda: 0).__globals__",                                       # function globals
    "def f(): pass\ng = f.func_globals['__builtins__']",
    "def f(): pass\nc = f.__code__",
    "x = '{0.__class__.__base__}'.format(1)",                            # format-string attributes
    "x = '{a.__class__}'.format_map({'a': 1})",
    "x = str.format('{0.__class__}', 1)",
    "g = (i for i in [1])\nf = g.gi_frame.f_back.f_globals",             # generator frames
    "g = (i for i in [1])\nc = g.gi_code",
    "try:\n    1/0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame",    # tracebacks
    "try:\n    1/0\nexcept Exception as e:\n    t = e.with_traceback(None)\n    x = t",
    "t = type(1)\nx = t.__subclasses__()",                               # type() tricks
    "X = type('X', (), {})",
    "b = __builtins__",                                                  # builtins lookups
    "o = __builtins__['open']",
    "x = sorted.__self__.open('/etc/passwd')",
    "x = getattr(1, '_' + '_class_' + '_')",                  # getattr by a built name
    "x = _getattr_(1, '__cl' + 'ass__')",
    "import operator\nx = operator.attrgetter('__class__')(1)",          # operator module
    "from operator import attrgetter",
    "m = {'a': 1}.keys().mapping",                                       # dict views
    "v = {}.items()\nx = v.mapping",
    "@eval\n@str\nclass X: pass",                                        # decorators
    "def deco(f):\n    return f.__globals__\n@deco\ndef g(): pass",
    "x = __import__('os').system('id')",
    "x = open('/etc/passwd').read()",
    "exec('x = 1')",
    "x = eval('1')",
    "x = compile('1', 'x', 'eval')",
    "x = globals()",
    "x = vars()",
    "x = math.__loader__",
    "x = datetime.__class__.__subclasses__(datetime)",
    "setattr(math, 'pi', 3)",
    "class A:\n    pass\na = A()\nx = a",
    "import os\nos.system('id')",
]

ORDINARY = ("total = sum(i['price'] * i['qty'] for i in items)\n"
            "discount = round(total * 0.1, 2) if vip else 0\n"
            "lines = sorted({'a', 'b'})\n"
            "due = (datetime(2026, 1, 1) + timedelta(days=14)).date().isoformat()")


def ordinary_data() -> dict:
    return {"items": [{"price": 10, "qty": 2}, {"price": 5, "qty": 1}], "vip": True}


@pytest.fixture(scope="module")
def pool():
    shared = ScriptPool(size=2, memory_mb=MEMORY_MB)
    yield shared
    shared.close()


@pytest.fixture
def env(pool) -> SandboxEnvironment:
    return SandboxEnvironment(LIMIT, pool)


def run_beside(hostile, ordinary) -> tuple[BaseException | None, int, bool]:
    """Run `hostile` in a thread while this thread keeps calling `ordinary`.

    Return what `hostile` raised, how many ordinary calls completed meanwhile, and whether the first
    of them completed while `hostile` was still running.
    """
    outcome: dict = {}

    def target():
        try:
            hostile()
        except BaseException as err:  # noqa: BLE001 - the test inspects whatever it was
            outcome["error"] = err

    thread = threading.Thread(target=target)
    thread.start()
    done, during = 0, None
    while True:
        ordinary()
        done += 1
        if during is None:
            during = thread.is_alive()
        thread.join(timeout=0.01)
        if not thread.is_alive():
            break
    return outcome.get("error"), done, bool(during)


def assert_still_healthy(env: SandboxEnvironment) -> None:
    data = ordinary_data()
    env.execute(ORDINARY, data)
    assert data["total"] == 25 and data["discount"] == 2.5 and data["due"] == "2026-01-15"


# ---- ordinary model code ----------------------------------------------------------------------
def test_ordinary_business_scripts_work(env):
    data = ordinary_data()
    env.execute(ORDINARY, data)
    assert data["total"] == 25 and data["discount"] == 2.5 and data["lines"] == ["a", "b"]
    assert data["due"] == "2026-01-15"
    assert env.evaluate("total > 20 and vip", data) is True
    assert env.evaluate("len(items) == 2", data) is True  # a call: evaluated by a worker


def test_task_data_types_cross_both_ways(env):
    data = {"at": datetime(2026, 3, 2, 9, tzinfo=timezone.utc), "on": date(2026, 3, 2),
            "amount": Decimal("10.25"), "tags": ["a", "b"], "nested": {"n": None, "ok": True}}
    env.execute("later = at + timedelta(hours=2)\nday = on.isoformat()\n"
                "twice = amount * 2\ndel tags", data)
    assert data["later"] == datetime(2026, 3, 2, 11, tzinfo=timezone.utc)
    assert data["day"] == "2026-03-02" and data["twice"] == Decimal("20.50")
    assert "tags" not in data and data["nested"] == {"n": None, "ok": True}
    assert env.evaluate("timedelta(days=len(tags_again))", {"tags_again": [1, 2]}) == timedelta(2)


def test_values_that_cannot_cross_fail_with_a_clear_message(env):
    with pytest.raises(ScriptError, match="'s' holds a set"):
        env.execute("s = {1, 2}", {})
    with pytest.raises(ScriptError, match="cannot be passed to model code"):
        env.execute("x = 1", {"lock": threading.Lock()})
    with pytest.raises(ScriptError, match="contains itself"):
        env.execute("a = []\na.append(a)", {})
    with pytest.raises(ScriptError, match="larger than 16 MB"):
        env.execute("x = 'a' * (17 * 1024 * 1024)", {})
    assert_still_healthy(env)


def test_errors_in_model_code_keep_their_kind_and_line(env):
    with pytest.raises(NameError, match="'missing' is not defined") as err:
        env.execute("a = 1\nb = missing + 1", {})
    assert err.value.sandbox_line == 2
    with pytest.raises(ZeroDivisionError):
        env.evaluate("1 / zero", {"zero": 0})


# ---- the attack pass --------------------------------------------------------------------------
@pytest.mark.parametrize("source", RUNAWAYS)
def test_runaway_code_is_stopped_at_its_limit_while_the_server_goes_on(env, source):
    error, done, during = run_beside(lambda: env.execute(source, {}),
                                     lambda: assert_still_healthy(env))
    assert isinstance(error, ScriptTimeout), error
    assert f"longer than {LIMIT:g} s" in str(error)
    assert during and done >= 1
    assert_still_healthy(env)


@pytest.mark.parametrize("source", MEMORY_BOMBS)
def test_memory_bombs_are_stopped_by_the_address_space_limit(env, source):
    error, done, _ = run_beside(lambda: env.execute(source, {}), lambda: assert_still_healthy(env))
    assert isinstance(error, ScriptError), error
    assert f"memory limit of {MEMORY_MB} MB" in str(error)
    assert done >= 1
    assert_still_healthy(env)


@pytest.mark.parametrize("source", EXITS)
def test_exit_tricks_are_refused(env, source):
    assert "not available to model code" in check_model_code(source)
    with pytest.raises(SyntaxError):
        env.execute(source, {})
    assert_still_healthy(env)


@pytest.mark.parametrize("exit_class",
                         [SystemExit, KeyboardInterrupt, GeneratorExit, BaseException])
def test_exit_exceptions_fail_the_job_never_the_worker(pool, exit_class):
    """Even handed in through the data, an exiting exception only fails the job."""
    env = SandboxEnvironment(LIMIT, pool)
    assert_still_healthy(env)
    workers, started = pool.worker_pids(), pool.started
    with pytest.raises(ScriptRefused, match="is not allowed in model code"):
        pool.run({"mode": "exec", "source": "raise boom", "context": {"boom": exit_class},
                  "external": {}, "limit": LIMIT}, LIMIT)
    assert_still_healthy(env)
    assert pool.worker_pids() == workers and pool.started == started


@pytest.mark.parametrize("source", ESCAPES)
def test_classic_escapes_fail(env, source):
    error, done, _ = run_beside(lambda: env.execute(source, {}), lambda: assert_still_healthy(env))
    assert isinstance(error, Exception), f"{source!r} did not fail"
    assert not isinstance(error, ScriptTimeout) and done >= 1
    assert_still_healthy(env)


def test_there_are_at_least_25_classic_escapes():
    assert len(set(ESCAPES)) >= 25


# ---- the pool ---------------------------------------------------------------------------------
def test_workers_run_under_os_limits(env, pool):
    assert_still_healthy(env)
    for pid in pool.worker_pids():
        limits = open(f"/proc/{pid}/limits").read()
        address_space = next(line for line in limits.splitlines() if "address space" in line)
        assert str(MEMORY_MB * 1024 * 1024) in address_space
        cpu = next(line for line in limits.splitlines() if "cpu time" in line)
        assert "unlimited" not in cpu
        assert open(f"/proc/{pid}/environ", "rb").read() == b"LC_ALL=C.UTF-8\x00"


def test_a_killed_worker_is_replaced():
    pool = ScriptPool(size=1, memory_mb=MEMORY_MB)
    env = SandboxEnvironment(LIMIT, pool)
    try:
        assert_still_healthy(env)
        (first,) = pool.worker_pids()
        with pytest.raises(ScriptTimeout):
            env.execute("while True:\n    pass", {})
        assert pool.worker_pids() == []
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)
        assert_still_healthy(env)
        (second,) = pool.worker_pids()
        assert second != first and pool.started == 2
    finally:
        pool.close()


def test_a_worker_that_dies_between_jobs_is_replaced(env, pool):
    assert_still_healthy(env)
    for pid in pool.worker_pids():
        handle = os.pidfd_open(pid)
        os.kill(pid, 9)
        select.select([handle], [], [])  # readable once the process has ended
        os.close(handle)
    assert_still_healthy(env)
    assert_still_healthy(env)


def test_many_threads_share_a_small_pool(env):
    answers: dict[int, int] = {}

    def user(n: int) -> None:
        for i in range(15):
            data = {"n": n, "i": i}
            env.execute("product = n * 100 + i", data)
            answers[n * 100 + i] = data["product"]

    threads = [threading.Thread(target=user, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8 * 15 and all(k == v for k, v in answers.items())


def test_the_composition_root_can_resize_the_shared_pool():
    before = script_pool()
    try:
        resized = configure_pool(1, MEMORY_MB)
        assert script_pool() is resized and resized.size == 1
        assert_still_healthy(SandboxEnvironment(LIMIT))
        assert len(resized.worker_pids()) == 1
    finally:
        configure_pool(before.size, before.memory_mb)
    assert resized.worker_pids() == []  # the replaced pool's idle worker was stopped


def test_a_reply_can_only_carry_plain_data():
    assert load_plain(pickle.dumps({"at": datetime(2026, 1, 1), "d": Decimal("1")}))
    with pytest.raises(pickle.UnpicklingError, match="may not cross"):
        load_plain(pickle.dumps(os.system))
    with pytest.raises(pickle.UnpicklingError, match="may not cross"):
        load_plain(pickle.dumps(ScriptPool))


# ---- bounded expressions stay in the server -----------------------------------------------------
@pytest.mark.parametrize("source", [
    "approved == True", "amount > 100", "a and not b", "request_type == 'req_move'",
    "order['lines'][0]['qty'] >= 2", "status in ('open', 'on_hold')", "'PT24H'",
    "-limit < delta <= limit", "x if flag else y", "due.year == 2026"])
def test_bounded_expressions_are_evaluated_in_process(source):
    assert is_bounded_expression(source)


@pytest.mark.parametrize("source", [
    "2 ** 10", "'a' * 3", "1 << 5", "'%s' % x", "a + b", "len(items)", "f'{x}'",
    "[x for x in items]", "(lambda: 0)", "{k: 1 for k in items}", "x.count('a')"])
def test_anything_else_goes_to_a_worker(source):
    assert not is_bounded_expression(source)


def test_a_bounded_condition_never_starts_a_worker():
    pool = ScriptPool(size=1, memory_mb=MEMORY_MB)
    env = SandboxEnvironment(LIMIT, pool)
    assert env.evaluate("amount > 100 and approved == True", {"amount": 150, "approved": True})
    assert env.evaluate("'PT24H'", {}) == "PT24H"
    assert pool.started == 0 and pool.worker_pids() == []


def test_a_bounded_expression_still_obeys_the_restricted_rules(env):
    with pytest.raises(SyntaxError):
        env.evaluate("x.__class__", {"x": 1})


# ---- through the runtime, with real SpiffWorkflow ------------------------------------------------
def _start_script(source: str) -> runtime.Instance:
    xml = doc(process(linear(script_task(escape(source)))))
    compiled = compile_processes(xml.encode(), "hostile.bpmn")
    return runtime.start(next(iter(compiled.values())), {"n": 1}, now=T0, time_limit=LIMIT)


def _ordinary_run() -> None:
    inst = _start_script("m = n + 1")
    assert inst.is_completed


@pytest.mark.parametrize("source", RUNAWAYS + MEMORY_BOMBS + EXITS + ESCAPES)
def test_hostile_scripts_fail_their_step_in_the_runtime(source):
    error, done, _ = run_beside(lambda: _start_script(source), _ordinary_run)
    assert isinstance(error, (ScriptFailed, InvalidBpmn)), repr(error)
    if isinstance(error, ScriptFailed):
        assert error.element_id == "Mid"
    assert done >= 1
    _ordinary_run()


def test_a_script_error_names_its_element_and_line():
    with pytest.raises(ScriptFailed) as err:
        _start_script("a = n\nb = missing + 1")
    assert err.value.element_id == "Mid" and err.value.line == 2
    assert "missing" in str(err.value)


def test_a_value_that_cannot_be_kept_fails_its_step_with_a_clear_message():
    with pytest.raises(ScriptFailed) as err:
        _start_script("tags = {'a', 'b'}")
    assert err.value.element_id == "Mid"
    assert str(err.value) == "variable 'tags' holds a set, which cannot be kept in case data in Mid"


def test_data_too_large_to_pass_fails_before_taking_a_worker():
    pool = ScriptPool(size=1, memory_mb=MEMORY_MB)
    env = SandboxEnvironment(LIMIT, pool)
    with pytest.raises(ScriptError, match="larger than 16 MB"):
        env.execute("x = 1", {"blob": "a" * (17 * 1024 * 1024)})
    assert pool.started == 0
