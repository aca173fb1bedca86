"""Figure of issue 4: every standard of the catalogue for every organisation (ICS, ICPs, PCNs, practices,
trusts, sites), monthly over the store's three years, on the full Kent and Medway (target <= 15 s on
2 cores). Peer in the same run: one hand-written DuckDB query for the 4-hour standard at every site and
practice by month, beside the engine's time for that standard. Then the daily OPEL escalation over the
same years, on a copy of the store (it writes opel_status). Build the store with
benchmarks/synth_full.py --db PATH.

    .venv/bin/python benchmarks/performance_full.py --db /tmp/km.duckdb [--no-escalation]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from icsys.dataset.store import Store
from icsys.performance.catalogue import load_catalogue
from icsys.performance.escalation import escalation
from icsys.performance.measure import measure_store

T = TypeVar("T")
PEER_SQL = """
SELECT date_trunc('month', a.arrival_time) AS period, a.site_code, p.practice_code,
       count(*) FILTER (WHERE a.departure_time - a.arrival_time <= INTERVAL 4 HOUR) AS within, count(*) AS attendances
FROM ae_attendance a JOIN person p USING (person_id)
WHERE a.arrival_time >= TIMESTAMP '2023-04-01' AND a.arrival_time < TIMESTAMP '2026-04-01'
GROUP BY ALL
"""


def timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """The result, wall time and CPU time (all threads of this process) of work()."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--no-escalation", action="store_true", help="Skip the daily escalation figure.")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}; load average at start {os.getloadavg()[0]:.1f}")
    with duckdb.connect(str(args.db), read_only=True) as con:
        people = con.execute("SELECT count(*) FROM person").fetchone()[0]
    standards = load_catalogue().ids
    rows, wall, cpu = timed(lambda: measure_store(Store.open(args.db), period="month"))
    orgs, months = rows["org"].nunique(), rows["period"].nunique()
    print(f"icsys performance measure, every standard, every organisation, monthly ({people:,} people):")
    print(f"  {len(standards)} standards x {orgs} organisations x {months} months = {len(rows):,} rows")
    print(f"  wall time {wall:6.1f} s  (target <= 15 s on 2 cores)   CPU time {cpu:6.1f} s")
    print(f"  peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    one, one_wall, _ = timed(lambda: measure_store(Store.open(args.db), standards=["ae_4h"], period="month"))
    with duckdb.connect(str(args.db), read_only=True) as con:
        peer, peer_wall, _ = timed(lambda: con.execute(PEER_SQL).fetchall())
    print(f"ae_4h alone: engine {one_wall:5.2f} s for {len(one):,} rows at every level; "
          f"peer (one DuckDB query, site x practice x month only) {peer_wall:5.2f} s for {len(peer):,} groups")
    if args.no_escalation:
        return
    with tempfile.TemporaryDirectory(dir=args.db.parent) as tmp:
        work = Path(tmp) / "store.duckdb"
        shutil.copy(args.db, work)  # escalation writes opel_status; the source store is left as it was
        status, esc_wall, _ = timed(lambda: escalation(Store.open(work, read_only=False)))
    days = status["day"].nunique()
    print(f"icsys performance escalation: OPEL for {status['org'].nunique()} organisations (acute sites, trusts, "
          f"ICS) x {days:,} days in {esc_wall:.1f} s; ICS days at OPEL 1-4: "
          + ", ".join(f"{int(k)}: {v}" for k, v in status[status.kind == "ics"]["level"].value_counts()
                      .sort_index().items()))


if __name__ == "__main__":
    main()
