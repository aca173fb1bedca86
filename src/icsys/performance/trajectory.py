"""Trajectories: the values an organisation plans, month by month, for a standard (the improvement
trajectory agreed with NHS England, as the seeds describe for 18 weeks), against what happened.

A plan is a CSV with columns standard, org, month (YYYY-MM) and planned, or a TOML file of
[[trajectory]] entries, each with standard, org and a table planned = {"YYYY-MM" = value}. A measure
planned as a count (12-hour waits, 52-week waiters: the numbers operational plans set) says so with an
optional column (or entry key) of = "count": its planned values are compared with the standard's numerator
(the count of 12-hour waits), not its percentage; of = "value" (the default) compares with the value. Every row
is checked (a known standard, an organisation it is measured for, a month, a number, no month twice)
and every problem is named with its row or entry before anything is measured.
"""

from __future__ import annotations

import csv
import math
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from icsys.errors import InputError
from icsys.performance.catalogue import Catalogue, CatalogueError
from icsys.performance.measure import applies_to, shape_of
from icsys.performance.organisations import Hierarchy, UnknownOrganisation

if TYPE_CHECKING:
    from icsys.dataset.store import Store

PLAN_COLUMNS = ("standard", "org", "month", "planned")
COLUMNS = ["standard", "org", "month", "of", "planned", "actual", "variance", "on_track", "target"]
PLANNED_OF = ("value", "count")


class TrajectoryError(InputError):
    """A plan of trajectories that cannot be used, naming the file and every row or entry at fault."""


@dataclass(frozen=True)
class Planned:
    standard: str
    org: str
    month: date  # first day of the month
    planned: float
    of: str = "value"  # value: the standard's value; count: its numerator (a count of patients or events)


def load_plan(path: Path | str, catalogue: Catalogue, hierarchy: Hierarchy) -> list[Planned]:
    path = Path(path)
    if not path.exists():
        raise TrajectoryError(f"{path}: no such plan file")
    if path.suffix.lower() == ".csv":
        raw = _read_csv(path)
    elif path.suffix.lower() == ".toml":
        raw = _read_toml(path)
    else:
        raise TrajectoryError(f"{path}: a plan is a .csv or .toml file")
    plan, problems, seen = [], [], {}
    for where, row in raw:
        item, trouble = (None, [row["problem"]]) if "problem" in row else _check(row, catalogue, hierarchy)
        problems += [f"  {where}: {t}" for t in trouble]
        if item is None:
            continue
        key = (item.standard, item.org, item.month)
        if key in seen:
            problems.append(f"  {where}: {item.standard} for {item.org} in {item.month:%Y-%m} is planned again "
                            f"(first at {seen[key]})")
        seen.setdefault(key, where)
        plan.append(item)
    if problems:
        raise TrajectoryError(f"{path}: invalid plan:\n" + "\n".join(problems))
    if not plan:
        raise TrajectoryError(f"{path}: the plan has no rows")
    return plan


def _read_csv(path: Path) -> list[tuple[str, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in PLAN_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise TrajectoryError(f"{path}: missing column(s) {', '.join(missing)}; a plan has columns "
                                  f"{', '.join(PLAN_COLUMNS)}")
        return [(f"row {i}", row) for i, row in enumerate(reader, start=2)]


def _read_toml(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TrajectoryError(f"{path}: not valid TOML: {exc}") from exc
    entries = data.get("trajectory")
    if not isinstance(entries, list) or not entries:
        raise TrajectoryError(f"{path}: no [[trajectory]] entries")
    rows = []
    for i, entry in enumerate(entries, start=1):
        planned = entry.get("planned") if isinstance(entry, dict) else None
        if not isinstance(planned, dict) or not planned:
            rows.append((f"trajectory {i}", {"problem": 'no planned = {"YYYY-MM" = value, ...} table'}))
            continue
        for month, value in planned.items():
            rows.append((f"trajectory {i} month {month}", {"standard": entry.get("standard"), "org": entry.get("org"),
                                                            "month": month, "planned": value,
                                                            "of": entry.get("of") or "value"}))
    return rows


def _check(row: dict[str, Any], catalogue: Catalogue, hierarchy: Hierarchy) -> tuple[Planned | None, list[str]]:
    trouble: list[str] = []
    standard, org = str(row.get("standard") or "").strip(), str(row.get("org") or "").strip()
    try:
        s = catalogue.get(standard)
    except CatalogueError:
        s = None
        trouble.append(f"standard {standard!r} is not in the catalogue")
    try:
        o = hierarchy.get(org)
    except UnknownOrganisation:
        o = None
        trouble.append(f"org {org!r} is not an organisation of {hierarchy.system.ics.name}")
    if s is not None and o is not None and not applies_to(shape_of(s)[0], o.kind):
        trouble.append(f"standard {standard!r} is not measured for a {o.kind} ({org})")
    month = _month(row.get("month"))
    if month is None:
        trouble.append(f"month {row.get('month')!r} is not a month (use YYYY-MM)")
    planned = _number(row.get("planned"))
    if planned is None:
        trouble.append(f"planned {row.get('planned')!r} is not a number")
    of = str(row.get("of") or "value").strip()
    if of not in PLANNED_OF:
        trouble.append(f"of {of!r}: use value (the standard's value) or count (its numerator)")
    if trouble:
        return None, trouble
    return Planned(standard, org, month, planned, of), []  # type: ignore[arg-type]


def _month(value: Any) -> date | None:
    text = str(value or "").strip()
    try:
        return date.fromisoformat(f"{text}-01") if len(text) == 7 else None
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def compare(measured: pd.DataFrame, plan: list[Planned], catalogue: Catalogue) -> pd.DataFrame:
    """Each planned month beside the actual value: variance (actual - planned) and on track (at or
    better than planned, in the standard's direction); no verdict where there is no actual value."""
    planned = pd.DataFrame([{"standard": p.standard, "org": p.org, "month": p.month.isoformat()[:7],
                             "planned": p.planned, "of": p.of} for p in plan])
    if "numerator" not in measured:
        measured = measured.assign(numerator=float("nan"))
    actual = measured.assign(month=measured["period"].str[:7])[["standard", "org", "month", "value", "numerator",
                                                                "target"]]
    out = planned.merge(actual, on=["standard", "org", "month"], how="left")
    out["actual"] = out["numerator"].where(out["of"] == "count", out["value"])
    out["variance"] = out["actual"] - out["planned"]
    higher = out["standard"].map(lambda s: catalogue.get(s).direction == "higher")
    better = (out["variance"] >= 0).where(higher, out["variance"] <= 0)
    out["on_track"] = better.where(out["actual"].notna(), None)
    return out[COLUMNS].sort_values(["standard", "org", "month"], ignore_index=True)


def trajectories(store: Store, plan_file: Path | str, catalogue: Catalogue | None = None,
                 hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """Load a plan, measure what it covers and compare, month by month."""
    from icsys.performance.catalogue import load_catalogue
    from icsys.performance.measure import measure_store
    from icsys.system import load_system

    catalogue = catalogue or load_catalogue()
    hierarchy = hierarchy or Hierarchy(load_system())
    plan = load_plan(plan_file, catalogue, hierarchy)
    covered = store.covers
    start, end = min(p.month for p in plan), _month_end(max(p.month for p in plan))
    if covered is not None:  # months the store does not cover have no actual value
        start, end = max(start, covered[0]), min(end, covered[1])
    parts = []
    for org in sorted({p.org for p in plan}) if start <= end else []:
        wanted = sorted({p.standard for p in plan if p.org == org})
        parts.append(measure_store(store, standards=wanted, org=org, period="month", start=start, end=end,
                                   catalogue=catalogue, hierarchy=hierarchy))
    empty = pd.DataFrame({"standard": [], "org": [], "period": [], "value": [], "target": []})
    return compare(pd.concat(parts, ignore_index=True) if parts else empty, plan, catalogue)


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)

