"""Export and import at volume (SPEC §12), against a live ``python main.py`` on MariaDB.

    .venv/bin/python bench/portability.py                        # exports of 10 000 and 100 000 notes, import of 10 000
    .venv/bin/python bench/portability.py --export-sizes 200 --import-notes 200 --create-notes 20   # a quick check

For each export size the database is created afresh, one user is bulk-loaded with that many notes
(bench/bulk_load.py) and a fresh server exports them, as JSON and as the Markdown zip; the figure is the
server's peak RSS (VmHWM) over its RSS before the export, and notes/s. The bound: the peak grows by less
than 30 MiB from the smallest size to the largest. Then the JSON export of the first size is imported
into a new account (notes/s) and compared with ``POST /notes`` one by one in the same run (the bound: at
least 20x its per-note rate). One line a figure is printed; the whole result goes to bench/results/.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk_load import PASSWORD, bulk_load  # noqa: E402
from main import upgrade_database  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = "mysql+pymysql://root@127.0.0.1:3306/til_bench_portability?charset=utf8mb4"
MIB = 1024 * 1024
RSS_GROWTH_BOUND_MIB = 30
IMPORT_SPEEDUP_BOUND = 20


@dataclass
class Results:
    exports: list[dict[str, float]] = field(default_factory=list)
    imported: dict[str, float] = field(default_factory=dict)
    bounds: dict[str, bool] = field(default_factory=dict)


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    # Connected to information_schema, which every server has: the database itself may not exist yet.
    admin = create_engine(parsed.set(database="information_schema"))
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
        connection.execute(text(f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4"))
    admin.dispose()
    upgrade_database(url)


def kib_of(pid: int, key: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (the peak so far) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not found for {pid}")


@contextmanager
def server(url: str, port: int, workdir: Path) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "JWT_SECRET": "bench-secret-that-is-long-enough-0123456789abcdef",
        "LOG_LEVEL": "WARNING",
        "IMPORT_MAX_BYTES": str(512 * MIB),
    }
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py")], cwd=workdir, env=env)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
    try:
        for _ in range(300):
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield process, client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


def token(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = client.post("/users/login", data={"username": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def new_account(client: httpx.Client) -> dict[str, str]:
    email, password = f"bench-{uuid.uuid4().hex[:12]}@bench.example.com", "bench password 1234"
    client.post("/users", json={"name": "Bench", "email": email, "password": password}).raise_for_status()
    return token(client, email, password)


def measure_export(client: httpx.Client, pid: int, headers: dict[str, str], fmt: str) -> tuple[float, float, bytes]:
    """Seconds, peak RSS growth (MiB) and the body of one streamed export."""
    before = kib_of(pid, "VmRSS")
    started = time.perf_counter()
    body = bytearray()
    with client.stream("GET", "/notes/export", params={"format": fmt}, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            body += chunk
    seconds = time.perf_counter() - started
    return seconds, (kib_of(pid, "VmHWM") - before) / 1024, bytes(body)


def run(args: argparse.Namespace) -> Results:
    results = Results()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="til-bench-portability-"))
    workdir.mkdir(parents=True, exist_ok=True)
    first_json: bytes | None = None
    for size in args.export_sizes:
        recreate_database(args.database_url)
        [user] = bulk_load(args.database_url, users=1, notes_per_user=size, sample=1, sample_notes_per_user=size)
        for fmt in ("json", "markdown"):
            with server(args.database_url, args.port, workdir) as (process, client):
                headers = token(client, user["email"], PASSWORD)
                seconds, growth, body = measure_export(client, process.pid, headers, fmt)
            if fmt == "json":
                assert len(json.loads(body)["notes"]) == size
                first_json = first_json or body
            figure = {"notes": size, "format": fmt, "seconds": seconds, "notes_per_s": size / seconds}
            figure |= {"peak_rss_growth_mib": growth, "bytes": len(body)}
            results.exports.append(figure)
            print(f"export {fmt:8} {size:>7} notes: {size / seconds:9.0f} notes/s, peak RSS +{growth:.1f} MiB")
    for fmt in ("json", "markdown"):
        growths = [figure["peak_rss_growth_mib"] for figure in results.exports if figure["format"] == fmt]
        results.bounds[f"export_{fmt}_rss_growth_under_{RSS_GROWTH_BOUND_MIB}_mib"] = (
            max(growths) - min(growths) < RSS_GROWTH_BOUND_MIB
        )
    assert first_json is not None
    notes = json.loads(first_json)["notes"][: args.import_notes]
    with server(args.database_url, args.port, workdir) as (_, client):
        importer = new_account(client)
        body = json.dumps({"notes": notes}).encode()
        started = time.perf_counter()
        response = client.post("/notes/import", content=body, headers={**importer, "content-type": "application/json"})
        import_seconds = time.perf_counter() - started
        assert response.json() == {"created": len(notes), "skipped": 0}, response.text
        creator = new_account(client)
        started = time.perf_counter()
        for note in notes[: args.create_notes]:
            fields = {key: note[key] for key in ("title", "content", "memo_date", "tags")}
            client.post("/notes", json=fields, headers=creator).raise_for_status()
        create_seconds = time.perf_counter() - started
    import_rate, create_rate = len(notes) / import_seconds, args.create_notes / create_seconds
    results.imported = {"notes": len(notes), "notes_per_s": import_rate, "create_note_notes_per_s": create_rate}
    results.bounds[f"import_at_least_{IMPORT_SPEEDUP_BOUND}x_create_note"] = (
        import_rate >= IMPORT_SPEEDUP_BOUND * create_rate
    )
    print(f"import {len(notes)} notes: {import_rate:.0f} notes/s; POST /notes: {create_rate:.0f} notes/s")
    print("bounds:", results.bounds)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="created and dropped here")
    parser.add_argument("--export-sizes", type=lambda v: [int(n) for n in v.split(",")], default=[10_000, 100_000])
    parser.add_argument("--import-notes", type=int, default=10_000)
    parser.add_argument("--create-notes", type=int, default=500, help="POST /notes calls for the per-note rate")
    parser.add_argument("--port", type=int, default=18750)
    parser.add_argument("--workdir", default=None, help="where the server runs (default: a new temporary folder)")
    args = parser.parse_args()
    results = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"portability-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(asdict(results), indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
