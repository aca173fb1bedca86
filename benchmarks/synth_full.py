"""Figure: build the full synthetic Kent and Medway (scale 1.0, 3 years) and report wall time,
peak memory, people/s and rows/s. Targets (issue 2): <= 90 s wall and <= 6 GB peak on 2 cores.
With --calibration, then each headline figure of the calibration suite against the full build's
(calibration.FULL_BUILD, issue 9): at scale 1.0 whether FULL_BUILD is still the generator's, at a smaller
scale whether the build reads as the full build does within its sampling error.

Runs `icsys synth` in a child process so its peak resident memory is measured on its own.

    .venv/bin/python benchmarks/synth_full.py [--scale 1.0] [--years 3] [--db /tmp/km.duckdb] [--calibration]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", type=Path, default=None, help="where to build (default: a temporary file)")
    parser.add_argument("--calibration", action="store_true", help="then the suite against the full build's figures")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "km.duckdb"
        cmd = [sys.executable, "-m", "icsys", "synth", "--scale", str(args.scale), "--years", str(args.years),
               "--seed", str(args.seed), "--db", str(db), "--quiet"]
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - start
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # ru_maxrss is KiB on Linux
        info = json.loads(subprocess.run([sys.executable, "-m", "icsys", "info", "--db", str(db), "--json"],
                                         check=True, capture_output=True, text=True).stdout)
        size_gb = db.stat().st_size / 1024**3
        calibration = subprocess.run([sys.executable, "-m", "icsys.synth.calibration", str(db), "--full-build"],
                                     capture_output=True, text=True) if args.calibration else None

    people = info["tables"]["person"]["rows"]
    rows = sum(t["rows"] for t in info["tables"].values())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"icsys synth --scale {args.scale} --years {args.years} --seed {args.seed}")
    # The machine is shared: the load average beside the time says how much of its 2 cores the build had.
    print(f"  load average   {' '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after (1, 5, 15 min)")
    print(f"  wall time      {wall:8.1f} s   (target <= 90 s at scale 1.0)")
    print(f"  peak memory    {peak_gb:8.2f} GB  (target <= 6 GB)")
    print(f"  people         {people:>12,}   {people / wall:>12,.0f} people/s")
    print(f"  rows           {rows:>12,}   {rows / wall:>12,.0f} rows/s")
    print(f"  store size     {size_gb:8.2f} GB")
    for name, t in info["tables"].items():
        print(f"    {name:24s} {t['rows']:>12,}")
    if calibration is not None:
        print("\nheadline figures against the full build (python -m icsys.synth.calibration STORE --full-build):")
        print(calibration.stdout + calibration.stderr, end="")
        raise SystemExit(calibration.returncode)


if __name__ == "__main__":
    main()
