"""Benchmark: the JSON API over HTTP, GET a case then complete its next step, on `caseflow serve`.

Starts `caseflow serve --workers N` on a SQLite file, or on a fresh schema of a PostgreSQL database
(`--pg URL`, or CASEFLOW_BENCH_PG_URL), deploys a process of ten steps in a row, opens cases
through the API, and then, measured in one run on this machine:
1. a few cycles one at a time: SQL statements and server CPU per GET and per complete;
2. closed loop: `--clients` clients (16), each GETs its case then completes its next step, again;
3. open loop: cycles started on a fixed schedule at `--rate` completions/s (150), however long
   the answers take (a late answer does not hold back the next start);
and prints per run completions/s, latency p50/p95/p99 (of the complete request, and of the whole
cycle from its scheduled start), errors by status, server CPU ms per cycle (/proc/<pid>/stat of
the server and every process under it), SQL statements, transactions, pool checkouts and new
database connections per cycle (counted inside the server by the driver's cursors and the ORM
sessions: cases/db.py, CASEFLOW_BENCH_SQL_COUNTS), the CPU of the local PostgreSQL server's
processes per cycle (they share the two cores) and the ratio to bench/engine.py's in-process
persisted loop measured now on the same database. Then it checks that every acknowledged
completion is a `task_completed` event and that `caseflow audit verify` passes (exit 1 if not).

    python bench/http.py                       # SQLite, one process
    python bench/http.py --pg postgresql://postgres@127.0.0.1:5432/test --workers 2
    python bench/http.py --quick               # a smoke run of a few seconds
    python bench/http.py --sequential 400      # only GET + complete one at a time, 400 cycles
    python bench/http.py --sequential 400 --code /tmp/main   # the server runs another checkout
    python bench/http.py --sequential 400 --py-spy /tmp/w.txt   # and profiles the workers

`--sequential N` is the measure of issue 15: server CPU per GET + complete, one request at a
time (no queueing, no contention), N cycles over N/8 cases (after one warm-up cycle each),
reported per GET and per complete, with the kernel's share.
`--code DIR` serves the code of another checkout (say `git archive main | tar -x -C DIR`) with
this database and driver, so two versions are measured back to back on the same machine.
`--py-spy FILE` records the server's processes with py-spy (non-blocking, collapsed stacks, only
the thread holding the GIL) while the sequential cycles run; py-spy on PATH or in the venv.
"""
from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path, and this file's name would hide
# the standard library's `http` package from httpx: take the folder off the path first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import asyncio
import importlib.util
import json
import secrets
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
AUDIT_KEY = "bench-only-audit-key-" + "x" * 32
os.environ.setdefault("CASEFLOW_AUDIT_KEY", AUDIT_KEY)

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from cases.api_tokens import issue_token  # noqa: E402
from cases.db import SQL_COUNT_DIR, make_engine, normalize_url, upgrade  # noqa: E402
from cases.definitions import deploy_file  # noqa: E402
from cases.events import CaseEvent  # noqa: E402
from cases.users import create_user  # noqa: E402
from bench.loadgen import ClientError, LeanClient, run as run_loop  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
TICK = os.sysconf("SC_CLK_TCK")


def _bench_engine():
    """bench/engine.py as a module (its name would shadow the `engine` package)."""
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "bench" / "engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH_ENGINE = _bench_engine()


# ---- the database ---------------------------------------------------------------------------

class Database:
    """A SQLite file in a temporary folder, or a fresh schema on PostgreSQL (dropped at the end)."""

    def __init__(self, folder: Path, pg_url: str | None):
        self.pg_url, self.schema = pg_url, None
        if pg_url is None:
            self.url = f"sqlite:///{folder / 'bench.sqlite3'}"
            self.kind = "SQLite"
        else:
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            with make_engine(pg_url).begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            url = sa.engine.make_url(normalize_url(pg_url))
            self.url = url.update_query_dict({"options": f"-csearch_path={self.schema}"}) \
                .render_as_string(hide_password=False)
            self.kind = "PostgreSQL"
        upgrade(self.url)

    def drop(self) -> None:
        if self.schema:
            admin = make_engine(self.pg_url)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


def seed(url: str) -> tuple[str, object]:
    """Deploy the ten-step process and an agent with an API token; return the token and version."""
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        version = deploy_file(s, BENCH_ENGINE.linear_bpmn(10), filename="linear.bpmn",
                              actor="bench", now=NOW, activate=True).versions[0]
        agent = create_user(s, username="bench", password="a long enough passphrase 81",
                            role="agent", now=NOW, teams=["Customer Care"])
        s.commit()
        _, secret = issue_token(s, user=agent, name="bench", now=NOW)
    engine.dispose()
    return secret, version


def in_process_rate(url: str, version, rounds: int, cases: int) -> float:
    """bench/engine.py's persisted loop (load -> complete -> save -> commit) on this database."""
    engine = make_engine(url)
    try:
        return statistics.median(BENCH_ENGINE.persisted_rate(engine, version, cases)
                                 for _ in range(rounds))
    finally:
        engine.dispose()


# ---- the server -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _cpu_seconds(pid: int, system_only: bool = False) -> float:
    """utime + stime of a process and its reaped children (or stime + cstime), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    if system_only:
        return (int(fields[12]) + int(fields[14])) / TICK  # stime cstime
    return sum(int(f) for f in fields[11:15]) / TICK  # utime stime cutime cstime


def database_cpu() -> float:
    """CPU seconds of every `postgres` process on this machine (the local database server's share
    of the two cores; other sessions' work on it counts too), 0 if there is none."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += _cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


class Server:
    """`caseflow serve --workers N` in its own session, with SQL counting switched on."""

    def __init__(self, url: str, workers: int, folder: Path, code: Path = ROOT):
        self.port, self.workers = _free_port(), workers
        self.counts = folder / f"sql-counts-{self.port}"
        self.counts.mkdir()
        self.log = open(folder / f"server-{self.port}.log", "wb")
        env = {**os.environ, "CASEFLOW_DATABASE_URL": url, "CASEFLOW_SECRET_KEY":
               secrets.token_urlsafe(32), "CASEFLOW_AUDIT_KEY": os.environ["CASEFLOW_AUDIT_KEY"],
               SQL_COUNT_DIR: str(self.counts), "CASEFLOW_RUN_JOBS": "true"}
        env.pop("CASEFLOW_DEMO_MODE", None)
        env["PYTHONPATH"] = str(code)  # the server runs this checkout's code (or --code's)
        self.env = env
        caseflow = Path(sys.executable).parent / "caseflow"
        self.proc = subprocess.Popen(
            [str(caseflow), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)], env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"The server stopped (exit {self.proc.returncode}):\n"
                                 + self.log_tail())
            try:
                if httpx.get(self.base + "/api/health", timeout=1).status_code == 200 \
                        and len(self.counting_pids()) >= self.workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("The server did not answer in time:\n" + self.log_tail())

    def log_tail(self) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-30:])

    def last_error(self) -> str:
        lines = Path(self.log.name).read_text(errors="replace").splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
        return "\n".join(lines[starts[-1]:][-40:]) if starts else "(no traceback in the log)"

    def pids(self) -> list[int]:
        """The server and every process under it (workers, script workers)."""
        tree, found, todo = _children(), [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(tree.get(pid, []))
        return found

    def counting_pids(self) -> list[int]:
        """The worker processes that count SQL. With --workers N > 1, uvicorn's supervisor also
        left a count file (`caseflow serve` checks the schema before it starts the workers), but
        it serves nothing and does not answer SIGUSR1: asking it cost a 10 s wait per snapshot,
        and that idle time's CPU and job polls were counted as the cycles' own."""
        pids = [int(p.stem) for p in self.counts.glob("*.json")]
        return [pid for pid in pids if self.workers == 1 or pid != self.proc.pid]

    def cpu(self) -> float:
        return sum(_cpu_seconds(pid) for pid in self.pids())

    def system_cpu(self) -> float:
        """The part of cpu() spent in the kernel (sockets, wake-ups, file writes)."""
        return sum(_cpu_seconds(pid, system_only=True) for pid in self.pids())

    def sql(self) -> Counter:
        """Ask every server process for its SQL counts (SIGUSR1) and add them up."""
        total: Counter = Counter()
        for pid in self.counting_pids():
            path = self.counts / f"{pid}.json"
            before = json.loads(path.read_text())["dumps"]
            os.kill(pid, signal.SIGUSR1)
            deadline = time.monotonic() + 10
            while True:
                now = json.loads(path.read_text())
                if now["dumps"] > before or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            total.update({k: v for k, v in now.items() if k in (
                "statements", "transactions", "commits", "checkouts", "pings", "connects")})
        return total

    def snapshot(self) -> tuple[float, Counter]:
        return self.cpu(), self.sql()

    def database_cpu(self) -> float:
        """database_cpu() when this server's database is PostgreSQL on this machine, else 0."""
        url = sa.engine.make_url(self.env["CASEFLOW_DATABASE_URL"])
        local = url.host in (None, "", "localhost", "127.0.0.1", "::1")  # None: a Unix socket
        return database_cpu() if url.get_backend_name() == "postgresql" and local else 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# ---- the clients ----------------------------------------------------------------------------

@dataclass
class Run:
    """What one load run saw."""

    name: str
    completions: int = 0
    complete_ms: list[float] = field(default_factory=list)
    cycle_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    acked: list[tuple[int, int]] = field(default_factory=list)
    seconds: float = 0.0
    cpu_ms_per_cycle: float = 0.0
    db_ms_per_cycle: float = 0.0  # the local PostgreSQL server's processes (0: SQLite)
    sql: Counter = field(default_factory=Counter)
    client_cpu: float = 0.0
    missed_starts: int = 0


def _fail(run: Run, what) -> None:
    run.errors[what if isinstance(what, str) else str(what)] += 1


async def cycle(client: LeanClient, case_id: int, run: Run, started: float) -> bool:
    """GET the case, complete its first open step; return whether the case has more to do."""
    try:
        got = await client.get(f"/api/cases/{case_id}")
        if got.status_code != 200:
            _fail(run, got.status_code)
            return False
        body = got.json()
        if not body["work_items"]:
            return False
        item = body["work_items"][0]["id"]
        sent = time.perf_counter()
        done = await client.post(f"/api/cases/{case_id}/work-items/{item}/complete",
                                 json={"data": {}, "expected_version": body["row_version"]})
        end = time.perf_counter()
    except ClientError as err:
        _fail(run, str(err))
        return False
    if done.status_code != 200:
        _fail(run, done.status_code)
        return done.status_code == 409
    run.completions += 1
    run.acked.append((case_id, item))
    run.complete_ms.append((end - sent) * 1000)
    run.cycle_ms.append((end - started) * 1000)
    return done.json()["status"] == "open"


async def open_cases(client: LeanClient, n: int, parallel: int = 8) -> list[int]:
    """Open n cases through the API (one new customer each)."""
    ids: list[int] = []

    async def opener(k: int) -> None:
        for i in range(k, n, parallel):
            r = await client.post("/api/cases", json={
                "process_id": "linear", "channel": "phone",
                "customer": {"name": f"Bench {i}", "account_number": f"B-{uuid.uuid4().hex[:12]}"}})
            if r.status_code != 201:
                raise SystemExit(f"Opening a case failed: {r.status_code} {r.text[:300]}")
            ids.append(r.json()["id"])

    await asyncio.gather(*(opener(k) for k in range(parallel)))
    return ids


async def sequential(client: LeanClient, server: Server, cases: list[int], n: int) -> dict:
    """Statements and CPU per GET and per complete, one request at a time (n of each)."""
    plan = [cases[i % len(cases)] for i in range(n)]
    run = Run("one at a time")
    gets = completes = 0
    get_cpu = complete_cpu = get_db = complete_db = 0.0
    get_sql: Counter = Counter()
    complete_sql: Counter = Counter()
    for start in range(0, n, len(cases)):  # in rounds: a case's next GET follows its completion
        batch = plan[start:start + len(cases)]
        db0, (cpu0, sql0) = server.database_cpu(), server.snapshot()
        got = [(case_id, (await client.get(f"/api/cases/{case_id}")).json()) for case_id in batch]
        db1, (cpu1, sql1) = server.database_cpu(), server.snapshot()
        for case_id, body in got:
            item = body["work_items"][0]["id"]
            r = await client.post(f"/api/cases/{case_id}/work-items/{item}/complete",
                                  json={"data": {}, "expected_version": body["row_version"]})
            if r.status_code == 200:
                run.acked.append((case_id, item))
            else:
                _fail(run, r.status_code)
        db2, (cpu2, sql2) = server.database_cpu(), server.snapshot()
        get_db, complete_db = get_db + db1 - db0, complete_db + db2 - db1
        gets, completes = gets + len(batch), completes + len(got)
        get_cpu, complete_cpu = get_cpu + cpu1 - cpu0, complete_cpu + cpu2 - cpu1
        get_sql.update(sql1 - sql0)
        complete_sql.update(sql2 - sql1)
    return {"get_sql": get_sql, "complete_sql": complete_sql, "n": n, "get_cpu": get_cpu,
            "complete_cpu": complete_cpu, "get_db": get_db, "complete_db": complete_db,
            "run": run}


async def closed_loop(client: LeanClient, queue: asyncio.Queue, clients: int,
                      total: int, run: Run) -> None:
    """`clients` clients, each completing one case's steps back to back, until `total` cycles."""
    started = [0]

    async def one_client() -> None:
        case_id = None
        while started[0] < total:
            if case_id is None:
                if queue.empty():
                    run.missed_starts += 1
                    return
                case_id = queue.get_nowait()
            started[0] += 1
            if not await cycle(client, case_id, run, time.perf_counter()):
                case_id = None
        if case_id is not None:
            queue.put_nowait(case_id)

    await asyncio.gather(*(one_client() for _ in range(clients)))


async def open_loop(client: LeanClient, queue: asyncio.Queue, rate: float, total: int,
                    run: Run) -> None:
    """Start a cycle every 1/rate s on a fixed schedule, on a case nobody is working on."""
    t0, tasks = time.perf_counter() + 0.05, []

    async def one(case_id: int, at: float) -> None:
        if await cycle(client, case_id, run, at):
            queue.put_nowait(case_id)

    for i in range(total):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if queue.empty():
            run.missed_starts += 1
            continue
        tasks.append(asyncio.create_task(one(queue.get_nowait(), at)))
    await asyncio.gather(*tasks)


async def measured(server: Server, run: Run, body) -> Run:
    """Run `body(run)` between two snapshots of the server's CPU and SQL counts."""
    cpu0, sql0 = server.snapshot()
    own0, t0, db0 = os.times(), time.perf_counter(), server.database_cpu()
    await body(run)
    run.seconds = time.perf_counter() - t0
    own1, db1 = os.times(), server.database_cpu()
    cpu1, sql1 = server.snapshot()
    cycles = max(run.completions, 1)
    run.cpu_ms_per_cycle = (cpu1 - cpu0) * 1000 / cycles
    run.db_ms_per_cycle = (db1 - db0) * 1000 / cycles
    run.sql = sql1 - sql0
    run.client_cpu = (own1.user + own1.system - own0.user - own0.system) * 1000 / cycles
    return run


# ---- checks and report ----------------------------------------------------------------------

def verify(url: str, acked: list[tuple[int, int]], env: dict) -> list[str]:
    """Every acknowledged completion is an event; the audit chain verifies."""
    problems = []
    engine = make_engine(url)
    with Session(engine) as s:
        rows = s.exec(select(CaseEvent.case_id, CaseEvent.details)
                      .where(CaseEvent.type == "task_completed")).all()
    engine.dispose()
    recorded = Counter((case_id, json.loads(details)["work_item_id"]) for case_id, details in rows)
    missing = [a for a in acked if not recorded[a]]
    doubled = [k for k, n in recorded.items() if n > 1]
    if missing:
        problems.append(f"{len(missing)} acknowledged completions have no event, "
                        f"e.g. {missing[:3]}")
    if doubled:
        problems.append(f"{len(doubled)} steps were completed twice, e.g. {doubled[:3]}")
    audit = subprocess.run([str(Path(sys.executable).parent / "caseflow"), "audit", "verify"],
                           env=env, capture_output=True, text=True)
    last = (audit.stdout.strip().splitlines() or [audit.stderr.strip()])[-1]
    if audit.returncode != 0:
        problems.append(f"caseflow audit verify failed: {audit.stdout[-500:]}{audit.stderr[-500:]}")
    print(f"  acknowledged completions {len(acked)}, task_completed events {sum(recorded.values())}"
          f"; audit: {last}")
    return problems


def reference_ms() -> float:
    """CPU ms of a fixed pure-Python loop (the best of three): how fast this machine runs Python
    just now. On a shared machine it varies by half from one minute to the next, and the CPU
    per cycle with it; compare runs by this figure, or count instructions
    (bench/instructions.py)."""
    best = float("inf")
    for _ in range(3):
        start, total = time.process_time(), 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.process_time() - start)
    return best * 1000


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(run: Run, in_process: float) -> None:
    rate = run.completions / run.seconds if run.seconds else 0
    per = max(run.completions, 1)
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(run.errors.items(), key=str)) or "none"
    print(f"  {run.name}")
    print(f"    completions/s {rate:7.1f}  ({run.completions} in {run.seconds:.1f} s; "
          f"{rate / in_process:.2f} of the in-process persisted loop)")
    print(f"    complete request ms  p50 {pct(run.complete_ms, 50):6.1f}  p95 "
          f"{pct(run.complete_ms, 95):6.1f}  p99 {pct(run.complete_ms, 99):6.1f}")
    print(f"    whole cycle ms       p50 {pct(run.cycle_ms, 50):6.1f}  p95 "
          f"{pct(run.cycle_ms, 95):6.1f}  p99 {pct(run.cycle_ms, 99):6.1f}"
          f"{'  (from its scheduled start)' if 'open' in run.name else ''}")
    print(f"    errors {errors}; starts without a free case {run.missed_starts}")
    print(f"    server CPU {run.cpu_ms_per_cycle:5.2f} ms/cycle; SQL per cycle: statements "
          f"{run.sql['statements'] / per:5.1f}, transactions {run.sql['transactions'] / per:4.1f},"
          f" commits {run.sql['commits'] / per:4.1f}, pool checkouts "
          f"{run.sql['checkouts'] / per:4.1f}"
          f", pings {run.sql['pings'] / per:4.2f}, new connections "
          f"{run.sql['connects'] / per:4.2f}; client CPU "
          f"{run.client_cpu:4.2f} ms/cycle")
    if run.db_ms_per_cycle:
        print(f"    database server CPU {run.db_ms_per_cycle:5.2f} ms/cycle (local postgres processes)")


def report_sequential(seq: dict) -> None:
    """Print the one-at-a-time figures: CPU and SQL per GET, per complete, and per cycle."""
    n = seq["n"]
    get_ms, complete_ms = seq["get_cpu"] * 1000 / n, seq["complete_cpu"] * 1000 / n
    print(f"  one request at a time ({n} each): GET {get_ms:.2f} ms CPU, "
          f"{seq['get_sql']['statements'] / n:.1f} statements, "
          f"{seq['get_sql']['transactions'] / n:.1f} transactions; complete "
          f"{complete_ms:.2f} ms CPU, "
          f"{seq['complete_sql']['statements'] / n:.1f} statements, "
          f"{seq['complete_sql']['transactions'] / n:.1f} transactions, "
          f"{seq['complete_sql']['commits'] / n:.1f} commits")
    print(f"  server CPU per GET + complete: {get_ms + complete_ms:.2f} ms")
    if seq["get_db"] or seq["complete_db"]:
        print(f"  database server CPU (local postgres processes): GET "
              f"{seq['get_db'] * 1000 / n:.2f} ms, complete {seq['complete_db'] * 1000 / n:.2f} ms")


class PySpy:
    """py-spy recording every server process while a block runs (collapsed stacks; only the
    thread holding the GIL is sampled, so waits do not count)."""

    def __init__(self, server: Server, out: str | None):
        self.server, self.out, self.procs = server, out, []

    def __enter__(self):
        if self.out:
            spy = Path(sys.executable).parent / "py-spy"
            for pid in self.server.counting_pids():
                self.procs.append(subprocess.Popen(
                    [str(spy) if spy.exists() else "py-spy", "record", "--nonblocking", "--gil",
                     "-r", "500", "-f", "raw", "-p", str(pid), "-o", f"{self.out}.{pid}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(1.0)  # let py-spy attach before the cycles start
        return self

    def __exit__(self, *_exc):
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for proc in self.procs:
            proc.wait(60)
        if self.procs:
            files = ", ".join(f"{self.out}.{pid}" for pid in self.server.counting_pids())
            print(f"  py-spy: {files}")


async def drive_sequential(args, server: Server, token: str) -> list[Run]:
    """Only the sequential phase: `args.sequential` GET + complete cycles, one at a time."""
    n = args.sequential
    client = LeanClient(server.base, {"Authorization": f"Bearer {token}"})
    try:
        cases = await open_cases(client, n // 8 + 1)  # 1 warm-up + at most 8 steps each
        await sequential(client, server, cases, len(cases))  # warm up: one cycle per case
        system0 = server.system_cpu()
        with PySpy(server, args.py_spy):
            seq = await sequential(client, server, cases, n)
        report_sequential(seq)
        print(f"    of it in the kernel {(server.system_cpu() - system0) * 1000 / n:.2f} ms")
    finally:
        await client.aclose()
    return [seq["run"]]


async def drive(args, server: Server, token: str, in_process: float) -> list[Run]:
    per_case = 9  # the tenth step closes the case: leave it open so GET always finds a step
    closed_total, open_total = args.cycles, int(args.rate * args.seconds)
    need = (closed_total + open_total + 40) // per_case + args.clients + int(args.rate) + 8
    # The lean client forgets idle connections before the server does (uvicorn closes them
    # after 5 s): reusing one the server is closing would be a client-side error, not an answer.
    client = LeanClient(server.base, {"Authorization": f"Bearer {token}"})
    try:
        t = time.perf_counter()
        cases = await open_cases(client, need)
        print(f"  opened {len(cases)} cases through the API in {time.perf_counter() - t:.1f} s")
        seq = await sequential(client, server, cases[:6], 40)
        queue: asyncio.Queue = asyncio.Queue()
        for case_id in cases[6:]:
            queue.put_nowait(case_id)
        report_sequential(seq)
        closed = await measured(server, Run(f"closed loop, {args.clients} clients"),
                                lambda run: closed_loop(client, queue, args.clients,
                                                        closed_total, run))
        report(closed, in_process)
        opened = await measured(server, Run(f"open loop, {args.rate:.0f} cycles/s offered"),
                                lambda run: open_loop(client, queue, args.rate, open_total, run))
        report(opened, in_process)
    finally:
        await client.aclose()
    return [seq["run"], closed, opened]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default=os.environ.get("CASEFLOW_BENCH_PG_URL"),
                        help="PostgreSQL URL (a fresh schema is made and dropped); default SQLite")
    parser.add_argument("--sqlite", action="store_true",
                        help="SQLite even if CASEFLOW_BENCH_PG_URL is set")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--clients", type=int, default=16, help="closed-loop clients")
    parser.add_argument("--cycles", type=int, default=3000, help="closed-loop cycles")
    parser.add_argument("--rate", type=float, default=150, help="open-loop cycles started per s")
    parser.add_argument("--seconds", type=float, default=20, help="open-loop duration")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--sequential", type=int, default=0, metavar="N",
                        help="only N GET + complete cycles one at a time (the CPU measure)")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the checkout whose code the server runs (default this one)")
    parser.add_argument("--py-spy", metavar="FILE",
                        help="with --sequential: record the server with py-spy to FILE.<pid>")
    args = parser.parse_args()
    if args.quick:
        args.cycles, args.seconds, args.rate = 150, 2, min(args.rate, 50)
    pg = None if args.sqlite else args.pg
    with tempfile.TemporaryDirectory(prefix="caseflow-bench-") as tmp:
        folder = Path(tmp)
        db = Database(folder, pg)
        server = None
        try:
            token, version = seed(db.url)
            in_process = 0.0 if args.sequential else in_process_rate(
                db.url, version, rounds=1 if args.quick else 3, cases=2 if args.quick else 8)
            print(f"Caseflow HTTP benchmark: {db.kind}, {args.workers} server process(es); "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
                  f"reference loop {reference_ms():.0f} ms")
            if args.code != ROOT:
                print(f"  the server runs the code in {args.code}")
            if not args.sequential:
                print(f"  in-process persisted loop (bench/engine.py, this database): "
                      f"{in_process:.0f} completions/s")
            server = Server(db.url, args.workers, folder, args.code.resolve())
            server.wait_ready()
            runs = run_loop(drive_sequential(args, server, token) if args.sequential
                               else drive(args, server, token, in_process))
            server.stop()
            acked = [a for run in runs for a in run.acked]
            problems = verify(db.url, acked, server.env)
            fives = sum(n for run in runs for code, n in run.errors.items()
                        if str(code).startswith("5"))
            if fives:
                problems.append(f"{fives} answers were 5xx; the server's last error:\n"
                                + server.last_error())
            print(f"  load average at the end {os.getloadavg()[0]:.1f}; reference loop "
                  f"{reference_ms():.0f} ms")
            for problem in problems:
                print(f"  PROBLEM: {problem}")
            return 1 if problems else 0
        finally:
            if server is not None:
                server.stop()
            db.drop()


if __name__ == "__main__":
    sys.exit(main())
