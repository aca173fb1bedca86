"""Check: the flow model fits what it was fitted to (issue 9 item 7). Calibrates a scenario on the last year of
a store's data (starting from that year's first day, with its census), simulates the same year and prints, site
by site, the data's type 1 A&E 4-hour performance and mean occupied beds beside the model's (targets: within
3 percentage points and within 2 %).

    .venv/bin/python benchmarks/flow_fit.py --db /tmp/flow9-001/km.duckdb [--replications 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from icsys.flow.calibration.check import FOUR_HOUR_POINTS, OCCUPIED_SHARE, check_fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    fit = check_fit(args.db, args.replications, args.seed, args.workers)
    print(f"{args.db}: {fit.period[0]} to {fit.period[1]}, {args.replications} replications "
          f"({time.perf_counter() - started:.0f} s)")
    print(fit.table())
    bad = fit.misses()
    print(f"targets: 4-hour within {FOUR_HOUR_POINTS:g} points, occupied beds within {100 * OCCUPIED_SHARE:g} %: "
          + ("all met" if not bad else "missed at " + ", ".join(bad)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
