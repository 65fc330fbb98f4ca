"""What the request-context and activity-log middlewares cost, in requests per second.

One run serves the same app two ways — as ``create_app`` builds it, and with
those two middlewares taken out (the body-size limit stays in both) — each
in its own uvicorn process started the same way (``uvicorn.run`` on one
worker, JSON logs on, stdout to a file, as ``python main.py`` does), and
loads both with ``wrk`` in alternating rounds, so both see the same machine.

    .venv/bin/python bench/middleware_cost.py                  # GET /bench/ping, a trivial route
    .venv/bin/python bench/middleware_cost.py --path /health   # GET /health (one SELECT 1)

Needs ``wrk`` (``apt-get install wrk``). See bench/README.md.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = ("with", "without")
PING_PATH = "/bench/ping"
JWT_SECRET = "bench-only-secret-that-is-long-enough-0123456789"


def serve(*, variant: str, port: int, database_url: str) -> None:
    """The server side: the production app, minus the two middlewares for ``without``."""
    import uvicorn  # noqa: PLC0415 - only the server process needs these

    from config import load_settings  # noqa: PLC0415
    from main import create_app  # noqa: PLC0415
    from middlewares.activity_log import ActivityLogMiddleware  # noqa: PLC0415
    from middlewares.request_context import RequestContextMiddleware  # noqa: PLC0415

    app = create_app(load_settings(_env_file=None, database_url=database_url, jwt_secret=JWT_SECRET))

    async def ping() -> dict[str, bool]:
        return {"ok": True}

    app.add_api_route(PING_PATH, ping, methods=["GET"])
    if variant == "without":
        measured = (RequestContextMiddleware, ActivityLogMiddleware)
        app.user_middleware = [m for m in app.user_middleware if m.cls not in measured]
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(*, variant: str, database_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, __file__, "--serve", variant, "--port", str(port), "--database-url", database_url]
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=log.parent, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {variant} server exited; see {log}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the {variant} server did not start; see {log}")


def wrk(url: str, *, seconds: int, connections: int, threads: int) -> float:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"wrk got {errors.group(1)} error responses from {url}:\n{output}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not found:
        raise SystemExit(f"no Requests/sec in wrk's output:\n{output}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", default=PING_PATH, help=f"endpoint to load (default {PING_PATH})")
    parser.add_argument("--seconds", type=int, default=5, help="length of one measured round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant, alternating")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(variant=args.serve, port=args.port, database_url=args.database_url)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    from main import upgrade_database  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="til-bench-") as scratch:
        database_url = f"sqlite:///{Path(scratch) / 'til.db'}"
        upgrade_database(database_url)
        servers = {
            variant: start(variant=variant, database_url=database_url, log=Path(scratch) / f"{variant}.log")
            for variant in VARIANTS
        }
        try:
            results: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
            for _, base_url in servers.values():  # warm-up, not counted
                wrk(f"{base_url}{args.path}", seconds=1, connections=args.connections, threads=args.threads)
            for _ in range(args.rounds):
                for variant, (_, base_url) in servers.items():
                    rps = wrk(
                        f"{base_url}{args.path}",
                        seconds=args.seconds,
                        connections=args.connections,
                        threads=args.threads,
                    )
                    results[variant].append(rps)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=10)
        logged = sum(1 for _ in (Path(scratch) / "with.log").open())

    median = {variant: statistics.median(values) for variant, values in results.items()}
    load = f"wrk -t{args.threads} -c{args.connections}, {args.rounds} x {args.seconds}s rounds, median"
    print(f"GET {args.path}: {load}; cpus: {os.cpu_count()}")
    for variant in VARIANTS:
        rounds = ", ".join(f"{value:.0f}" for value in results[variant])
        print(f"{variant:>7} request context + activity log: {median[variant]:8.0f} req/s  (rounds: {rounds})")
    print(f"  ratio with/without: {median['with'] / median['without']:.2f}  ({logged} log lines written by 'with')")


if __name__ == "__main__":
    main()
