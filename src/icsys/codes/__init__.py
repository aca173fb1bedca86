"""Codelists kept as data (CSV: codelist, code, term, source), read once."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Code:
    codelist: str
    code: str
    term: str
    source: str


@cache
def read(name: str) -> tuple[Code, ...]:
    """Every row of codes/<name>.csv."""
    path = HERE / f"{name}.csv"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in HERE.glob("*.csv")))
        raise KeyError(f"no codelist file {name!r}; there are: {known}")
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(Code(**row) for row in csv.DictReader(handle))


def codelists(name: str) -> dict[str, list[str]]:
    """codelist -> its codes, from codes/<name>.csv, in file order."""
    out: dict[str, list[str]] = {}
    for row in read(name):
        out.setdefault(row.codelist, []).append(row.code)
    return out
