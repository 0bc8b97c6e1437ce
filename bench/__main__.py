"""``python -m bench [--quick] [--only NAME ...]``: run every benchmark, print one table.

Each benchmark runs in its own interpreter (``python -m bench.<name> --json FILE``), so
configuration read at import and process-wide state (the Dramatiq broker) never leak between
them, and a crash in one is reported without stopping the rest. Exit status 1 if a benchmark
crashed; a missed target is reported in the table but does not fail the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PY, ROOT, Result, install_signal_handlers, print_results, stop_group

BENCHMARKS = ["api_create", "pipeline", "dashboard_scale", "renderer", "queue_stats"]
TIMEOUTS = {
    "api_create": 480,
    "pipeline": 300,
    "dashboard_scale": 600,
    "renderer": 180,
    "queue_stats": 180,
}


def machine() -> str:
    from bench.common import server_versions

    try:
        versions = server_versions()
    except Exception as exc:  # noqa: BLE001 - still print what we can
        versions = {"error": str(exc)}
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {versions.get('postgresql', '?')}, Redis {versions.get('redis', '?')}, "
        f"load average {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} at start"
    )


def run_one(name: str, quick: bool, profile: bool, out: Path) -> list[Result]:
    args = [PY, "-m", f"bench.{name}", "--json", str(out)]
    if quick:
        args.append("--quick")
    if profile:
        args.append("--profile")
    proc = subprocess.Popen(args, cwd=ROOT, start_new_session=True)
    try:
        code = proc.wait(timeout=TIMEOUTS[name] * (1 if not quick else 0.6))
    except subprocess.TimeoutExpired:
        code = None
    finally:
        stop_group(proc, grace=20)  # also on SystemExit/KeyboardInterrupt: its finally blocks run
    if code != 0 or not out.exists():
        reason = "timed out" if code is None else f"exit status {code}"
        return [Result(f"{name} (crashed)", None, None, None, "-", False, note=reason)]
    return [Result(**row) for row in json.loads(out.read_text())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster runs")
    parser.add_argument("--profile", action="store_true", help="print profiles where supported")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()
    install_signal_handlers()
    print(f"reelqueue benchmarks ({'quick' if args.quick else 'full'}): {machine()}", flush=True)
    started = time.monotonic()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="rq-bench-") as tmp:
        for name in args.only or BENCHMARKS:
            print(f"\n=== {name}", flush=True)
            results += run_one(name, args.quick, args.profile, Path(tmp) / f"{name}.json")
    print(f"\n=== all benchmarks ({time.monotonic() - started:.0f}s)")
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return 1 if any(r.name.endswith("(crashed)") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
