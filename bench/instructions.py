"""Benchmark: CPU instructions per GET a case and per complete a step, counted by callgrind.

On a shared two-core machine the CPU time of the same code varies by ±50% from one minute to
the next (a fixed pure-Python loop took 1.35 s, then 2.0 s), so timings cannot tell a 5% change
from noise. Instructions can: `valgrind --tool=callgrind` counts what the process executes,
whatever else the machine is doing (two runs of the same code agree within 0.2%).

For each checkout given (`--code DIR`, default this one) this runs itself under callgrind: it
builds the app (`web.app.create_app`, no HTTP server, no job executor), deploys the ten-step
process of bench/engine.py, opens `--cases` cases through the JSON API and completes one step of
each (warm-up), then GETs every case and completes its next step, through the ASGI app as
uvicorn would call it. Callgrind's counters are dumped (`callgrind_control -d`) around the GETs
and around the completes, so start-up and warm-up are not counted. The checkouts run side by
side (one per core) and the figures are printed with their ratio to the first.

    python bench/instructions.py                         # this checkout, SQLite
    python bench/instructions.py --code /tmp/before --code .   # two versions compared
    python bench/instructions.py --pg postgresql://postgres@127.0.0.1:5432/test

Each run takes 3-5 minutes (Python under callgrind is about 40 times slower). valgrind is a
Debian package (`apt-get install valgrind`). HTTP parsing (uvicorn, httptools) is not included:
bench/http.py measures the whole server.
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# ---- the child: runs under callgrind ---------------------------------------------------------

def _mark(prefix: str) -> None:
    """Dump callgrind's counters (and zero them); wait until the dump file is written. The wait
    sleeps, so it adds next to nothing to the next dump."""
    before = set(glob.glob(prefix + "*"))
    ask = subprocess.Popen(["callgrind_control", "-d", str(os.getpid())],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while ask.poll() is None or not set(glob.glob(prefix + "*")) - before:
        time.sleep(0.05)


def child(cases: int, pg: str | None, prefix: str) -> None:
    import importlib.util
    from datetime import datetime, timezone

    import sqlalchemy as sa
    from sqlmodel import Session

    from cases.api_tokens import issue_token
    from cases.db import make_engine, normalize_url, upgrade
    from cases.definitions import deploy_file
    from cases.settings import Settings
    from cases.users import create_user
    from web.app import create_app

    spec = importlib.util.spec_from_file_location("bench_engine", Path(_HERE) / "engine.py")
    bench_engine = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_engine)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    folder, schema = tempfile.mkdtemp(prefix="caseflow-instructions-"), None
    if pg:
        schema = f"instr_{os.getpid()}"
        with make_engine(pg).begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = sa.engine.make_url(normalize_url(pg)).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{folder}/bench.sqlite3"
    upgrade(url)
    app = create_app(Settings(database_url=url, secret_key="x" * 40, run_jobs=False))
    with Session(app.state.engine, expire_on_commit=False) as s:
        deploy_file(s, bench_engine.linear_bpmn(10), filename="linear.bpmn", actor="bench",
                    now=now, activate=True)
        agent = create_user(s, username="bench", password="a long enough passphrase 81",
                            role="agent", now=now, teams=["Customer Care"])
        s.commit()
        _, secret = issue_token(s, user=agent, name="bench", now=now)
    auth = (b"authorization", f"Bearer {secret}".encode())

    async def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """One request through the ASGI app, as uvicorn would make it."""
        raw = json.dumps(body).encode() if body is not None else b""
        headers = [(b"host", b"bench"), auth]
        if body is not None:
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(raw)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "headers": headers,
                 "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}
        given, answer = [False], {}

        async def receive():
            if given[0]:
                return {"type": "http.disconnect"}
            given[0] = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            else:
                answer["body"] = answer.get("body", b"") + message.get("body", b"")

        await app(scope, receive, send)
        return answer["status"], json.loads(answer["body"])

    async def complete(case_id: int, body: dict) -> None:
        status, done = await call(
            "POST", f"/api/cases/{case_id}/work-items/{body['work_items'][0]['id']}/complete",
            {"data": {}, "expected_version": body["row_version"]})
        assert status == 200, done

    async def main() -> None:
        ids = []
        for i in range(cases):
            status, body = await call("POST", "/api/cases", {
                "process_id": "linear", "channel": "phone",
                "customer": {"name": f"Bench {i}", "account_number": f"B-{i}"}})
            assert status == 200 or status == 201, body
            ids.append(body["id"])
        for case_id in ids:  # warm up: one whole cycle each
            await complete(case_id, (await call("GET", f"/api/cases/{case_id}"))[1])
        _mark(prefix)
        got = [(case_id, (await call("GET", f"/api/cases/{case_id}"))[1]) for case_id in ids]
        _mark(prefix)
        for case_id, body in got:
            await complete(case_id, body)
        _mark(prefix)

    asyncio.run(main())
    app.state.engine.dispose()
    if schema:
        with make_engine(pg).begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    shutil.rmtree(folder, ignore_errors=True)


# ---- the parent ------------------------------------------------------------------------------

def _summary(path: str) -> int:
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"No summary line in {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", type=Path, action="append",
                        help="a checkout to measure (repeat to compare; default this one)")
    parser.add_argument("--cases", type=int, default=40, help="GETs and completes counted")
    parser.add_argument("--pg", help="PostgreSQL URL (a schema is made and dropped)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, os.environ["PYTHONPATH"].split(os.pathsep)[0])
        child(args.cases, args.pg, args.child)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    codes = [c.resolve() for c in (args.code or [ROOT])]
    runs = []
    with tempfile.TemporaryDirectory(prefix="caseflow-callgrind-") as tmp:
        for n, code in enumerate(codes):
            prefix = f"{tmp}/cg{n}."
            env = {**os.environ, "PYTHONPATH": str(code),
                   "CASEFLOW_AUDIT_KEY": "bench-only-audit-key-" + "x" * 32}
            env.pop("CASEFLOW_DEMO_MODE", None)
            command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={prefix}%p",
                       sys.executable, __file__, "--child", prefix, "--cases", str(args.cases)]
            if args.pg:
                command += ["--pg", args.pg]
            busy = [r for r in runs if r[2].poll() is None]
            if len(busy) >= (os.cpu_count() or 1):  # one run per core at a time
                busy[0][2].wait()
            out = open(f"{tmp}/out{n}", "w+b")
            runs.append((code, prefix, subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT), out))
        first = None
        print(f"Instructions per request (callgrind), {args.cases} of each, "
              f"{'PostgreSQL' if args.pg else 'SQLite'}:")
        for code, prefix, proc, out in runs:
            proc.wait()
            out.seek(0)
            out = out.read().decode(errors="replace")
            dumps = sorted(glob.glob(prefix + "*.[0-9]*"), key=lambda p: int(p.rsplit(".", 1)[1]))
            if proc.returncode != 0 or len(dumps) < 3:
                print(f"  {code}: the run failed\n{out[-3000:]}")
                return 1
            get, complete = (_summary(d) / args.cases for d in dumps[1:3])
            first = first or get + complete
            print(f"  {code}: GET {get / 1e6:6.2f} M, complete {complete / 1e6:6.2f} M, "
                  f"GET + complete {(get + complete) / 1e6:6.2f} M "
                  f"({(get + complete) / first:.3f} of the first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
