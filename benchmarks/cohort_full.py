"""Figure: each shipped cohort on the full population (target <= 2 s each, issue 3), after
`icsys population stratify` has stored person_measures (and a risk model) for the same date. Works on a
copy of the store.

    .venv/bin/python benchmarks/cohort_full.py --db /tmp/km.duckdb [--as-of 2026-03-31]
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

from icsys.access import Actor, Auditor
from icsys.access.actor import os_user
from icsys.access.audit import beside
from icsys.population.cohort import SHIPPED, load_cohort, run
from icsys.population.stratify import stratify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 31))
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(dir=args.db.parent) as tmp:
        work = Path(tmp) / "store.duckdb"
        shutil.copy(args.db, work)
        auditor = Auditor(Actor(os_user(), ("data_manager",)), beside(work))
        people = stratify(work, args.as_of, say=lambda _: None, auditor=auditor)
        for name in sorted(p.stem for p in SHIPPED.glob("*.toml")):
            cohort = load_cohort(name)
            start = time.perf_counter()
            found = run(work, cohort, args.as_of, auditor=auditor)
            seconds = time.perf_counter() - start
            print(f"  {name:34s} {len(found):>7,} of {people:,} people in {seconds:5.2f} s  (target <= 2 s)")


if __name__ == "__main__":
    main()
