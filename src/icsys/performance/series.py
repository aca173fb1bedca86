"""What a board pack needs for one organisation and month: every standard that applies to it, as a
monthly series up to that month, with its target and, where a plan gives one, its trajectory.

    from icsys.performance.series import board_series
    frame = board_series(Store.open("km.duckdb"), "RPA", "2026-03", months=24, plan="plan.csv")
    frame[frame.standard == "ae_4h"][["period", "value", "target", "planned"]]
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from icsys.performance.catalogue import Catalogue, load_catalogue
from icsys.performance.frame import MeasureError
from icsys.performance.measure import applies_to, measure_store, shape_of
from icsys.performance.organisations import Hierarchy

if TYPE_CHECKING:
    from icsys.dataset.store import Store

COLUMNS = ["standard", "name", "domain", "unit", "direction", "period", "numerator", "denominator", "value",
           "target", "planned", "planned_of", "variance", "on_track"]


def parse_month(text: str) -> date:
    """The first day of a month written YYYY-MM."""
    try:
        return date.fromisoformat(f"{text}-01") if len(text) == 7 else date.fromisoformat("bad")
    except ValueError:
        raise MeasureError(f"month {text!r}: use YYYY-MM") from None


def board_series(store: Store, org: str, month: str | date, *, months: int = 24, plan: Path | str | None = None,
                 catalogue: Catalogue | None = None, hierarchy: Hierarchy | None = None) -> pd.DataFrame:
    """Every standard measured for `org`, month by month for `months` months ending with `month`."""
    from icsys.performance.trajectory import compare, load_plan
    from icsys.system import load_system

    catalogue = catalogue or load_catalogue()
    hierarchy = hierarchy or Hierarchy(load_system())
    kind = hierarchy.get(org).kind
    last = parse_month(month) if isinstance(month, str) else month.replace(day=1)
    if months < 1:
        raise MeasureError(f"months {months}: at least 1")
    first = _months_before(last, months - 1)
    _within_store(store, last)
    mine = [p for p in load_plan(plan, catalogue, hierarchy) if p.org == org] if plan is not None else []
    wanted = [s.id for s in catalogue.live if applies_to(shape_of(s)[0], kind)]
    rows = measure_store(store, standards=wanted, org=org, period="month", start=first,
                         end=_months_before(last, -1) - timedelta(days=1), catalogue=catalogue, hierarchy=hierarchy)
    about = pd.DataFrame([{"standard": s.id, "name": s.name, "domain": s.domain, "unit": s.unit,
                           "direction": s.direction} for s in catalogue.standard])
    out = rows.merge(about, on="standard", how="left")
    out["planned"], out["variance"], out["on_track"], out["planned_of"] = float("nan"), float("nan"), None, None
    if mine:
        versus = compare(rows, mine, catalogue).rename(columns={"month": "period_month"})
        keyed = out.assign(period_month=out["period"].str[:7]).drop(
            columns=["planned", "variance", "on_track", "planned_of"])
        out = keyed.merge(versus[["standard", "period_month", "planned", "variance", "on_track", "of"]].rename(
            columns={"of": "planned_of"}), on=["standard", "period_month"], how="left")
    return out[COLUMNS].reset_index(drop=True)


def _within_store(store: Store, month: date) -> None:
    """The month must be one the store covers whole: a later month would silently come back as the
    store's last, a month it covers in part would be counted short."""
    covered = store.covers
    if covered is None:
        return
    first = covered[0] if covered[0].day == 1 else _months_before(covered[0].replace(day=1), -1)
    last = _months_before(covered[1].replace(day=1), 0 if (covered[1] + timedelta(days=1)).day == 1 else 1)
    if not first <= month <= last:
        raise MeasureError(f"month {month:%Y-%m}: {store.location} covers {covered[0]} to {covered[1]}; use a month "
                           f"from {first:%Y-%m} to {last:%Y-%m}")


def _months_before(month: date, n: int) -> date:
    total = month.year * 12 + month.month - 1 - n
    return date(total // 12, total % 12 + 1, 1)
