"""Store benchmark: how many page views `chaperone serve` answers with N clients at once,
with and without an audit saving findings at the same time, on SQLite or PostgreSQL.

Every finding or case page a signed-in user opens appends an entry to the audit log, so
each view is a write transaction: on SQLite these take turns for the one write lock (WAL
mode: readers never wait), on PostgreSQL they wait only for the audit log's head row.

Builds the demo district into a temporary home (``chaperone demo`` on the real code paths,
``--records`` communication records), adds a compliance officer, starts ``chaperone serve``
in a subprocess and, for each client count, runs that many threads opening finding pages
for ``--seconds``; with ``--audit`` a loop runs ``chaperone audit`` meanwhile. Prints per
run the views answered, errors (any status but 200), views per second and the latency
percentiles. The machine is shared and noisy: read the ratios between rows.

    python bench/store_bench.py [--clients 1,8,32] [--seconds 20] [--records 20000]
                                [--audit] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

RUN = [sys.executable, "-c", "from chaperone.cli import main; main()"]
PASSWORD = "correct horse battery staple"


def environment(home: Path, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "CHAPERONE_HOME": str(home), "CHAPERONE_WEB_SECURE_COOKIES": "false",
           "CHAPERONE_AUDIT_LOG_SYSLOG": "false", "CHAPERONE_NEW_PASSWORD": PASSWORD}
    env.pop("CHAPERONE_DATABASE_URL", None)
    if database_url:
        env["CHAPERONE_DATABASE_URL"] = database_url
    return env


def prepare(env: dict[str, str], students: int, records: int) -> None:
    subprocess.run([*RUN, "demo", "--students", str(students), "--staff", str(students // 12),
                    "--records", str(records)], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*RUN, "users", "create", "co", "--role", "compliance_officer"], env=env,
                   check=True, stdout=subprocess.DEVNULL)


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*RUN, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/login", timeout=2)
            return server, base
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("chaperone serve did not start")


def client(base: str) -> httpx.Client:
    own = httpx.Client(base_url=base, timeout=120)
    answer = own.post("/api/v1/session", json={"username": "co", "password": PASSWORD})
    answer.raise_for_status()
    return own


def measure(base: str, ids: list[str], clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    signed_in = [client(base) for _ in range(clients)]  # sign-ins are not measured
    end = time.monotonic() + seconds

    def browse(n: int) -> None:
        own = signed_in[n]
        i = n
        while time.monotonic() < end:
            started = time.perf_counter()
            status = own.get(f"/findings/{ids[i % len(ids)]}").status_code
            took = time.perf_counter() - started
            with lock:
                if status == 200:
                    latencies.append(took)
                else:
                    errors.append(status)
            i += clients
        own.close()

    threads = [threading.Thread(target=browse, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies) or [0.0]
    return {
        "views": len(latencies), "errors": len(errors), "per_second": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
        "max_ms": 1000 * ordered[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--students", type=int, default=1200)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--audit", action="store_true", help="run audits in a loop meanwhile")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--home", type=Path, default=None, help="reuse (or keep) this home")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        home = args.home or Path(work) / "home"
        env = environment(home, args.database_url)
        if not (home / "demo-input").exists():
            prepare(env, args.students, args.records)
        server, base = serve(env)
        try:
            first = client(base)
            ids = [f["finding_id"] for f in first.get(
                "/api/v1/findings", params={"per_page": 500}).json()["findings"]]
            first.close()
            stop, audits = threading.Event(), []

            def audit_loop() -> None:
                while not stop.is_set():
                    started = time.perf_counter()
                    done = subprocess.run([*RUN, "audit"], env=env, capture_output=True)
                    audits.append((done.returncode, time.perf_counter() - started))

            looping = threading.Thread(target=audit_loop)
            if args.audit:
                looping.start()
                time.sleep(3)
            store = "PostgreSQL" if args.database_url else "SQLite (WAL)"
            print(f"{store}, {len(ids)} findings shown, audit running: {args.audit}")
            print("clients  views  errors  views/s  p50 ms  p95 ms  max ms")
            for clients in [int(c) for c in args.clients.split(",")]:
                got = measure(base, ids, clients, args.seconds)
                print(f"{clients:7d} {got['views']:6.0f} {got['errors']:7.0f} "
                      f"{got['per_second']:8.1f} {got['p50_ms']:7.0f} {got['p95_ms']:7.0f} "
                      f"{got['max_ms']:7.0f}")
            stop.set()
            if args.audit:
                looping.join()
                print(f"audits: {len(audits)}, failed: {sum(1 for c, _ in audits if c)}, "
                      f"seconds each: {', '.join(f'{s:.1f}' for _, s in audits)}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
