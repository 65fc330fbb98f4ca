"""Sustained load on MariaDB, against ``python main.py`` and against two uvicorn workers.

    .venv/bin/python tests/system/load/run.py --duration 60 --clients 50            # the full run, both modes
    .venv/bin/python tests/system/load/run.py --duration 10 --clients 20 --mode main

Needs a MariaDB/MySQL database the load may write to: ``--database-url``, or
``TEST_DATABASE_URL``, or ``til_test_load`` on 127.0.0.1 (create it with
``mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS til_test_load CHARACTER SET utf8mb4"``).
The servers are started and stopped here, on free ports. Prints a summary a
mode (throughput, p50/p99 latency, statuses by request, the database checks);
exits 1 if any mode saw a 5xx, a transport error, an unexpected status, or a
database that disagrees with what the clients were told. See tests/system/load/driver.py.
"""

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.system.load.driver import MODES, run_load

DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/til_test_load?charset=utf8mb4"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load a mode (default 60)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both", help="which server (default both)")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--seed", type=int, default=1, help="the clients' random choices")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    modes = MODES if args.mode == "both" else (args.mode,)
    results = []
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix=f"til-load-{mode}-") as workdir:
            result = run_load(
                mode=mode,
                database_url=args.database_url,
                clients=args.clients,
                duration=args.duration,
                workdir=Path(workdir),
                seed=args.seed,
            )
        results.append(result)
        report_lines = [result.summary(), *(f"  FAILURE: {failure}" for failure in result.failures())]
        sys.stdout.write("\n".join(report_lines) + "\n")
        sys.stdout.flush()
    if args.json:
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "results": [result.as_json() for result in results],
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if any(result.failures() for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
