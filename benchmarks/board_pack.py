"""Figure: one board pack (HTML and PDF) for the ICS on the full Kent and Medway store, 24 months.

Times each stage: measuring every standard that applies (icsys.performance.series.board_series, the
same work as `icsys performance measure --org QKS` for 24 months: the named peer), the SPC charts, the
escalation (OPEL) history computed for the pack's three months (the store has none), then the
same read from a stored history, and writing the HTML and the PDF. Never writes to the store it is
given: it works on a copy (escalation history is written to the copy for the second run).

    .venv/bin/python benchmarks/board_pack.py --db /work/tmp/km.duckdb [--org QKS] [--month 2026-03]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(job: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = job()
    return out, time.perf_counter() - start


def stage_timer() -> tuple[Callable[[str, int, int], None], dict[str, float]]:
    """A progress callback that records when each stage starts; stage times are the gaps."""
    marks: list[tuple[str, float]] = []
    times: dict[str, float] = {}

    def update(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if marks:
            times[marks[-1][0]] = now - marks[-1][1]
        marks.append((stage, now))

    return update, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="A full-scale store (copied, never written).")
    parser.add_argument("--org", default="QKS")
    parser.add_argument("--month", default="2026-03")
    parser.add_argument("--months", type=int, default=24)
    args = parser.parse_args()

    from icsys.dataset.store import Store
    from icsys.performance.escalation import escalation
    from icsys.performance.series import board_series
    from icsys.reports.board.pack import OPEL_MONTHS, build_pack, write_pack

    with tempfile.TemporaryDirectory(dir=os.environ.get("ICSYS_BENCH_TMP")) as tmp:
        work, out = Path(tmp) / "store.duckdb", Path(tmp) / "out"
        out.mkdir()
        shutil.copy(args.db, work)
        print(f"store: {args.db} ({args.db.stat().st_size / 1e9:.2f} GB), copied to {work}; org {args.org}, "
              f"month {args.month}, {args.months} months; {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} (other jobs on the machine slow every figure)")

        series, peer = timed(lambda: board_series(Store.open(work), args.org, args.month, months=args.months))
        print(f"peer: measuring the {series['standard'].nunique()} standards that apply "
              f"({len(series):,} monthly rows) alone: {peer:.1f} s")

        update, stages = stage_timer()
        (pack, written), total = timed(lambda: (p := build_pack(Store.open(work), args.org, args.month,
                                                                 months=args.months,
                                                                 progress=update), write_pack(p, out, update)))
        html, pdf = written
        print(f"board pack, OPEL computed (no history in the store): {total:.1f} s wall")
        for stage, seconds in stages.items():
            if stage not in ("done", "written"):
                print(f"  {stage:28s} {seconds:6.1f} s")
        print(f"  HTML {html.stat().st_size / 1e6:.1f} MB, PDF {pdf.stat().st_size / 1e6:.2f} MB")

        first = pack.escalation.first
        _, write_history = timed(lambda: escalation(Store.open(work, read_only=False), start=first,
                                                    end=pack.escalation.last))
        update, stages = stage_timer()
        _, stored = timed(lambda: write_pack(build_pack(Store.open(work), args.org, args.month, months=args.months,
                                                        progress=update), out, update))
        print(f"board pack, OPEL read from the stored history ({OPEL_MONTHS} months written first in "
              f"{write_history:.1f} s): {stored:.1f} s wall; escalation stage {stages['escalation (OPEL)']:.1f} s")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
