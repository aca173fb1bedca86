"""Start-up out of the hot path (issue 8): `icsys population stratify` at scale 0.1 with a stored risk model,
timed as a user runs it (a new process each time; several runs, the median), and the time `icsys --help`
takes to import. Builds the scale 0.1 store (or reuses --db), trains the model once, then times.

    .venv/bin/python benchmarks/stratify_startup.py [--db /tmp/km01.duckdb] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ICSYS = [sys.executable, "-m", "icsys"]
# As a user runs it: from byte-compiled modules. A shell with PYTHONDONTWRITEBYTECODE set (as some sandboxes
# have) recompiles every module of pandas, ibis and scikit-learn on each start: seconds that are not icsys's.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
AS_OF = "2026-03-31"


CPU: list[float] = []  # CPU seconds (user + system) of each timed command: on a busy machine wall time is not


def run(*args: str) -> float:
    """Seconds of one command, as a user waits for it; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*ICSYS, *args], capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"icsys {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds


def import_seconds() -> float:
    """Cumulative import time of icsys.cli (what `icsys --help` imports), from python -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import icsys.cli"], capture_output=True,
                          text=True, env=ENV)
    cumulative = [int(m.group(1)) for m in re.finditer(r"\|\s*(\d+)\s*\|\s*icsys\.cli$", done.stderr, re.M)]
    return cumulative[-1] / 1e6 if cumulative else float("nan")


def compile_modules() -> None:
    """Byte-compile icsys and its dependencies once, as an installed package is (uv --compile-bytecode)."""
    import icsys

    folders = {str(Path(icsys.__file__).parent), *(p for p in sys.path if p.endswith("site-packages"))}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *sorted(folders)], capture_output=True,
                   env=ENV, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="A scale 0.1 store to reuse (default: build one in a temp folder).")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    compile_modules()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "km.duckdb"
        if args.db is not None:
            shutil.copyfile(args.db, work)  # the store given is left as it was
        else:
            print("building a scale 0.1 store (3 years) ...", flush=True)
            run("synth", "--scale", "0.1", "--years", "3", "--seed", "42", "--db", str(work), "--quiet")
        print("training the risk model once ...", flush=True)
        run("population", "train-risk", "--db", str(work))
        CPU.clear()
        times = [run("population", "stratify", "--db", str(work), "--as-of", AS_OF) for _ in range(args.runs)]
    print(f"icsys population stratify, scale 0.1, stored model: median {statistics.median(times):.1f} s "
          f"over {len(times)} runs (each {', '.join(f'{t:.1f}' for t in times)} s; CPU median "
          f"{statistics.median(CPU):.1f} s, each {', '.join(f'{c:.1f}' for c in CPU)} s); target < 5 s; "
          f"load average now {os.getloadavg()[0]:.1f}")
    print(f"import time of `icsys --help` (icsys.cli): {import_seconds():.2f} s; "
          f"`icsys --help` in all: {run('--help'):.2f} s")


if __name__ == "__main__":
    main()
