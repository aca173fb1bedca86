"""The measure engine: every standard of the catalogue for any organisation at any level and any period.

A rule (icsys.performance.rules) turns the dataset into contributions tagged with the practice, site or
provider they belong to. Sums are taken in the database once per standard, at the finest level, and
rolled up the hierarchy here (practice > PCN > ICP > ICS; site > trust > ICS); a centile cannot be
rolled up, so it is taken in the database for each level. Rows are
{standard, org, period, numerator, denominator, value, target}.
"""

from __future__ import annotations

import warnings
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icsys.performance.catalogue import MULTIPLIER, Catalogue, Standard, load_catalogue
from icsys.performance.frame import Frame, MeasureError
from icsys.performance.organisations import (
    POPULATION_KINDS,
    Hierarchy,
    Organisation,
    OrgKind,
)
from icsys.performance.rules import RULES, Attribution, Contributions

if TYPE_CHECKING:
    from icsys.dataset.store import Store

CENTILES = {"p90": 0.9, "p50": 0.5}  # statistics taken as a centile of x (continuous, linear between ranks)
COLUMNS = ["standard", "org", "period", "numerator", "denominator", "value", "target"]
_ATTRIBUTE = {"practice": "practice_code", "site": "site_code", "provider": "provider_code"}


def applies_to(attribution: tuple[Attribution, ...], kind: OrgKind) -> bool:
    """Whether a standard attributed this way can be measured for an organisation of this kind."""
    if kind == "ics":
        return True
    if kind in POPULATION_KINDS:
        return "practice" in attribution
    if kind == "site":
        return "site" in attribution
    return "site" in attribution or "provider" in attribution


def shape_of(standard: Standard) -> tuple[tuple[Attribution, ...], str]:
    rule = RULES[standard.rule]
    return rule.check_params(standard.params).shape()


def measure(con: Any, catalogue: Catalogue, hierarchy: Hierarchy, *, standards: list[str] | None = None,
            org: str | None = None, period: str = "month", start: date, end: date,
            bed_scale: float = 1.0, orgs: list[str] | None = None, strict: bool = True) -> pd.DataFrame:
    """Rows for each standard asked (all by default) and each organisation it applies to: `org`, or
    those of `orgs` it applies to, or every one with something to count. A standard asked for by name
    that does not apply to `org` is an error when strict."""
    frame = Frame.create(con, period, start, end, hierarchy, bed_scale)
    chosen = [catalogue.get(s) for s in standards] if standards else list(catalogue.standard)
    only = hierarchy.get(org) if org else None
    if only is not None and standards and strict:
        for s in chosen:
            if not applies_to(shape_of(s)[0], only.kind):
                raise MeasureError(f"standard {s.id!r} is not measured for a {only.kind} ({only.code}): it "
                                   f"belongs to {_described(shape_of(s)[0])}")
    among = [only] if only else [hierarchy.get(o) for o in orgs] if orgs is not None else None
    parts = [_one(frame, s, among) for s in chosen]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    with warnings.catch_warnings():  # all-empty numerators (centiles) are meant
        warnings.simplefilter("ignore", FutureWarning)
        return pd.concat(parts, ignore_index=True)


def _described(attribution: tuple[Attribution, ...]) -> str:
    words = {"practice": "the ICS, ICPs, PCNs and practices (by the person's practice)",
             "site": "sites and trusts", "provider": "trusts"}
    return " and ".join(words[a] for a in attribution)


def _one(frame: Frame, standard: Standard, among: list[Organisation] | None) -> pd.DataFrame:
    rule = RULES[standard.rule]
    params = rule.check_params(standard.params)
    attribution, _ = params.shape()
    candidates = among if among is not None else frame.hierarchy.organisations.values()
    orgs = [o for o in candidates if applies_to(attribution, o.kind)]
    if not orgs:
        return pd.DataFrame(columns=COLUMNS)
    contributions = rule.build(frame, params)
    if contributions.statistic in CENTILES:
        rows = _centiles(frame, contributions, orgs, standard.id)
    else:
        rows = _sums(frame, contributions, orgs)
    if among is None:  # organisations with nothing to count in the whole range are left out
        counted = rows["den"].fillna(0).abs().groupby(rows["org"]).sum()
        keep = set(counted.index[counted > 0]) | {frame.hierarchy.ics.code}
        rows = rows[rows["org"].isin(keep)]
    return _finish(frame, standard, contributions.statistic, rows)


def _sums(frame: Frame, c: Contributions, orgs: list[Organisation]) -> pd.DataFrame:
    """num and den by period and organisation: summed once at the finest level, rolled up here, every level
    in one group-by (each fine row once a level, keyed by its place in that level's period x organisation
    grid), then each level's grid completed with 0 where nothing happened."""
    keys = ["period"] + [_ATTRIBUTE[a] for a in c.attribution]
    t = c.table
    fine = _with_levels(frame.hierarchy, t.group_by(keys).aggregate(num=t.num.sum(), den=t.den.sum()).execute())
    starts = frame.starts()
    period = _period_of(starts, fine["period"])
    levels = [(kind, [o.code for o in orgs if o.kind == kind]) for kind in sorted({o.kind for o in orgs})]
    places, rows, offset = [], [], 0
    for kind, codes in levels:
        org = pd.Index(codes).get_indexer(fine[kind])
        kept = (org >= 0) & (period >= 0)
        places.append(offset + period[kept] * len(codes) + org[kept])
        rows.append(np.flatnonzero(kept))
        offset += len(starts) * len(codes)
    taken = np.concatenate(rows)
    summed = pd.DataFrame({"place": np.concatenate(places), "num": fine["num"].to_numpy(dtype=float)[taken],
                           "den": fine["den"].to_numpy(dtype=float)[taken]}).groupby("place", sort=False).sum()
    grid = {column: np.zeros(offset) for column in ("num", "den")}
    for column, values in grid.items():
        values[summed.index.to_numpy()] = summed[column].to_numpy()
    when = pd.DatetimeIndex(frame.starts())
    return pd.DataFrame({"period": np.concatenate([when.repeat(len(codes)) for _, codes in levels]),
                         "org": np.concatenate([np.tile(np.asarray(codes, dtype=object), len(starts))
                                                for _, codes in levels]), **grid})


def _with_levels(h: Hierarchy, fine: pd.DataFrame) -> pd.DataFrame:
    """Adds the organisation of every level each fine row belongs to."""
    fine = fine.copy()
    fine["ics"] = h.system.ics.code
    fine.loc[~_the_systems(h, fine), "ics"] = None
    if "practice_code" in fine:
        fine["practice"] = fine["practice_code"]
        fine["pcn"] = fine["practice_code"].map(h.pcn_of_practice)
        fine["icp"] = fine["pcn"].map(h.icp_of_pcn)
    if "site_code" in fine:
        fine["site"] = fine["site_code"]
        fine["trust"] = fine["site_code"].map(h.trust_of_site)
    if "provider_code" in fine:
        fine["trust"] = fine["provider_code"]
    return fine


def _own(h: Hierarchy, columns: list[str]) -> tuple[str, list[str]] | None:
    """The column and codes that make a record the ICS's own. A provider's standard is the sum of the ICS's
    providers, as NHS England adds them up for an ICB, so activity at a site or trust outside it (kept, with
    provider_in_ics false) is left out; a standard of the population counts people registered at its
    practices."""
    if "site_code" in columns:
        return "site_code", list(h.trust_of_site)
    if "provider_code" in columns:
        return "provider_code", [o.code for o in h.of_kind("trust")]
    if "practice_code" in columns:
        return "practice_code", list(h.pcn_of_practice)
    return None


def _the_systems(h: Hierarchy, fine: pd.DataFrame) -> pd.Series:
    own = _own(h, list(fine.columns))
    return fine[own[0]].isin(own[1]) if own else pd.Series(True, index=fine.index)


def _period_of(starts: list[date], periods: pd.Series) -> np.ndarray:
    """Each row's place among the periods' first days (-1 for a day that does not start one)."""
    first = np.array(starts, dtype="datetime64[D]")
    days = periods.to_numpy().astype("datetime64[D]")
    if not len(first):
        return np.full(len(days), -1)
    place = np.minimum(np.searchsorted(first, days), len(first) - 1)
    return np.where(first[place] == days, place, -1)


def _complete(frame: Frame, rows: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """Every organisation and period (period by period, in the order of `codes`), with 0 where nothing
    happened: each row's sums put in its place of the grid by position, not by a reindex of labels."""
    starts = frame.starts()
    period = _period_of(starts, rows["period"])
    org = pd.Index(codes).get_indexer(rows["org"])
    placed = (period >= 0) & (org >= 0)
    at = period[placed] * len(codes) + org[placed]
    sums = {}
    for column in ("num", "den"):
        sums[column] = np.zeros(len(starts) * len(codes))
        sums[column][at] = rows[column].to_numpy(dtype=float)[placed]
    return pd.DataFrame({"period": pd.DatetimeIndex(frame.starts()).repeat(len(codes)),
                         "org": np.tile(np.asarray(codes, dtype=object), len(starts)), **sums})


def _centiles(frame: Frame, c: Contributions, orgs: list[Organisation], key: str) -> pd.DataFrame:
    """The centile of x (CENTILES[statistic]) for each organisation and period, taken in the database level by level
    from the records computed once (kept lean: each level's codes are joined from the hierarchy as it is read)."""
    h = frame.hierarchy
    t = frame.materialise(f"{key}_centile", c.table)
    out = []
    for kind in sorted({o.kind for o in orgs}):
        codes = [o.code for o in orgs if o.kind == kind]
        level = _level_rows(h, t, kind)
        level = level.filter(level[kind].isin(codes)) if kind != "ics" else level
        got = level.group_by(["period", kind]).aggregate(num=level.x.quantile(CENTILES[c.statistic]),
                                                            den=level.x.count()).execute()
        got = got.rename(columns={kind: "org"}).assign(period=lambda g: pd.to_datetime(g["period"]))
        done = _complete(frame, got.assign(num=got["num"].astype(float), den=got["den"].astype(float)), codes)
        done.loc[done["den"] == 0, "num"] = float("nan")
        out.append(done)
    return pd.concat(out, ignore_index=True)


def _level_rows(h: Hierarchy, t: ir.Table, kind: OrgKind) -> ir.Table:
    """The records with a column `kind` holding the organisation of that level each belongs to."""
    if kind == "ics":
        return _systems_rows(h, t)
    if kind in ("pcn", "icp"):
        practices = list(h.pcn_of_practice)
        pcn = [h.pcn_of_practice[p] for p in practices]
        mapping = ibis.memtable({"practice_code": practices, kind: pcn if kind == "pcn" else
                                 [h.icp_of_pcn[n] for n in pcn]})
        return t.join(mapping, "practice_code")
    if kind == "trust" and "site_code" in t.columns:
        sites = list(h.trust_of_site)
        return t.join(ibis.memtable({"site_code": sites, "trust": [h.trust_of_site[s] for s in sites]}), "site_code")
    column = {"practice": "practice_code", "site": "site_code", "trust": "provider_code"}[kind]
    return t.mutate(**{kind: t[column]})


def _systems_rows(h: Hierarchy, t: ir.Table) -> ir.Table:
    """The records of the ICS's own figure, tagged with its code."""
    own = _own(h, list(t.columns))
    return (t.filter(t[own[0]].isin(own[1])) if own else t).mutate(ics=ibis.literal(h.system.ics.code))


def _finish(frame: Frame, standard: Standard, statistic: str, rows: pd.DataFrame) -> pd.DataFrame:
    from datetime import timedelta

    from icsys.performance.frame import next_period

    num, den = rows["num"].astype(float), rows["den"].astype(float)
    starts = {d: next_period(d, frame.period) for d in frame.starts()}  # each period's first and next day
    key = rows["period"].dt.date
    if statistic == "mean_per_day":
        den = key.map({d: float((n - d).days) for d, n in starts.items()})
    if statistic in CENTILES:
        value, numerator = num, pd.Series(float("nan"), index=rows.index)
    elif statistic == "count":
        value, numerator, den = num, num, pd.Series(float("nan"), index=rows.index)
    else:
        value = (MULTIPLIER[standard.unit] * num / den).where(den > 0)
        numerator = num
    targets = {d: standard.target_on(n - timedelta(days=1)) for d, n in starts.items()}
    out = pd.DataFrame({
        "standard": standard.id, "org": rows["org"], "period": key.map({d: d.isoformat() for d in starts}),
        "numerator": numerator, "denominator": den, "value": value,
        "target": key.map(targets).astype(float),
    })
    return out.sort_values(["org", "period"], ignore_index=True)


def json_rows(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts for JSON: missing numbers become null, whole counts stay floats."""
    out = []
    for rec in rows[COLUMNS].to_dict("records"):
        out.append({k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()})
    return out


def within_store(store: Store, start: date | None, end: date | None) -> tuple[date, date]:
    """The dates asked, kept within those the store covers (past its end a waiting list would only grow,
    as nothing more is recorded to stop the clocks); the store's own dates by default."""
    covered = store.covers
    if covered is None:
        if start is None or end is None:
            raise MeasureError(f"{store.location}: the store does not record the dates it covers; give --from and --to")
        return start, end
    first, last = max(start or covered[0], covered[0]), min(end or covered[1], covered[1])
    if first > last:
        raise MeasureError(f"{store.location}: covers {covered[0]} to {covered[1]}; nothing to measure from {start} "
                           f"to {end}")
    return first, last


def whole_periods(where: str, start: date, end: date, period: str,
                  covered: tuple[date, date]) -> tuple[date, date]:
    """The dates asked widened to whole periods, less a period at either end that the store covers only
    in part: it would be counted short, and a waiting list's census would fall outside the store."""
    from datetime import timedelta

    from icsys.performance.frame import PERIOD_WORDS, PERIODS, next_period, period_start

    if period not in PERIODS:
        raise MeasureError(f"--period {period!r}: use {PERIOD_WORDS}")
    first = period_start(start, period)  # type: ignore[arg-type]
    if first < covered[0]:
        first = next_period(first, period)  # type: ignore[arg-type]
    last_start = period_start(end, period)  # type: ignore[arg-type]
    last = next_period(last_start, period) - timedelta(days=1)  # type: ignore[arg-type]
    if last > covered[1]:
        last = last_start - timedelta(days=1)
    if first > last:
        raise MeasureError(f"{where}: covers {covered[0]} to {covered[1]}, no whole {period} from {start} to {end}")
    return first, last


WORKERS = 2  # two connections: one standard's pandas roll-up runs while the other's query runs


def measure_store(store: Store, *, standards: list[str] | None = None, org: str | None = None,
                  period: str = "month", start: date | None = None, end: date | None = None,
                  catalogue: Catalogue | None = None, hierarchy: Hierarchy | None = None,
                  orgs: list[str] | None = None, workers: int = WORKERS) -> pd.DataFrame:
    """Measure standards on a store; dates default to the period the store covers. On DuckDB standards are
    shared among `workers` connections, those of one rule kept together (they share work); Spark runs its
    own work in parallel, so there it is one."""
    from concurrent.futures import ThreadPoolExecutor

    from icsys.system import load_system

    catalogue = catalogue or load_catalogue()
    hierarchy = hierarchy or Hierarchy(load_system())
    chosen = [catalogue.get(s).id for s in standards] if standards else catalogue.ids
    if org:
        hierarchy.get(org)
    start, end = within_store(store, start, end)
    if store.covers is not None:
        start, end = whole_periods(store.location, start, end, period, store.covers)

    def run(ids: list[str]) -> pd.DataFrame:
        mine = store.reader()
        try:
            return measure(mine, catalogue, hierarchy, standards=ids, org=org, period=period, start=start, end=end,
                           bed_scale=store.scale, orgs=orgs, strict=standards is not None)
        finally:
            if mine is not store.backend:
                mine.disconnect()

    groups = [g for g in _share(catalogue, chosen, max(1, workers if store.engine == "duckdb" else 1)) if g]
    with ThreadPoolExecutor(len(groups)) as pool:
        parts = [p for p in pool.map(run, groups) if len(p)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        rows = pd.concat(parts, ignore_index=True)
    order = {sid: i for i, sid in enumerate(chosen)}
    return rows.sort_values(["standard", "org", "period"], key=lambda c: c.map(order) if c.name == "standard" else c,
                            ignore_index=True)


# The CPU seconds of each rule's standards on the full store (all organisations, monthly over three years;
# measured on a shared machine, so read them as shares); a rule not named is about 0.2 s a standard.
_WORK = {"blood_pressure_to_target": 7.0, "delayed_discharge": 3.9, "ambulance_response": 3.3, "rtt_incomplete": 2.9,
         "gp_appointment_wait": 2.7, "ae_timing": 2.6, "ae_duration": 2.4, "ambulance_handover": 1.9,
         "dementia_diagnosis": 1.7, "diagnostic_incomplete": 1.3, "readmission": 1.2, "bed_occupancy": 1.0,
         "health_check": 0.9, "emergency_admission_rate": 0.7}


def _share(catalogue: Catalogue, ids: list[str], workers: int) -> list[list[str]]:
    """Standards in `workers` groups of about equal work, each rule's standards in one group."""
    by_rule: dict[str, list[str]] = {}
    for sid in ids:
        by_rule.setdefault(catalogue.get(sid).rule, []).append(sid)
    groups: list[list[str]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for rule, members in sorted(by_rule.items(), key=lambda kv: -_WORK.get(kv[0], len(kv[1]) * 0.2)):
        i = load.index(min(load))
        groups[i] += members
        load[i] += _WORK.get(rule, len(members) * 0.2)
    return groups
