"""Figure: `icsys population stratify` on a store (the full Kent and Medway: 1.86 M people, 3 years;
target <= 30 s on 2 cores, issue 3). Build the store first with benchmarks/synth_full.py --db PATH.

    .venv/bin/python benchmarks/stratify_full.py --db /tmp/km.duckdb [--as-of 2025-03-31]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from icsys.population.stratify import stratify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2025, 3, 31))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "store.duckdb"
        shutil.copy(args.db, work)  # the source store is left as it was
        start = time.perf_counter()
        people = stratify(work, args.as_of)
        seconds = time.perf_counter() - start
        with duckdb.connect(str(work), read_only=True) as con:
            events = con.execute("SELECT count(*) FROM clinical_event").fetchone()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"icsys population stratify --as-of {args.as_of}: {people:,} people, {events:,} coded events")
    print(f"  wall time {seconds:6.1f} s  (target <= 30 s)   {people / seconds:,.0f} people/s")


if __name__ == "__main__":
    main()
