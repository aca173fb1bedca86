"""What a run shows: measures per replication over the reported days (the warm-up left out), then
their mean with a 95 % confidence interval (Student t over independent replications) and their 5th,
50th and 95th percentiles across replications; daily series with the same percentiles; and for two
scenarios, the paired differences replication by replication (common random numbers make them
much tighter than the difference of two separate runs)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from scipy import stats

from icsys.flow import engine
from icsys.flow.compiled import Model
from icsys.flow.run import Replication

OVER = 0.92  # the occupancy planners aim to stay below
# name: (label, unit)
MEASURES: dict[str, tuple[str, str]] = {
    "acute_occupancy_pct": ("Acute bed occupancy", "%"),
    "acute_days_over_92_pct": ("Days acute occupancy > 92 %", "%"),
    "acute_occupied_beds": ("Acute beds occupied", "beds"),
    "escalation_bed_days": ("Escalation bed-days", "bed-days"),
    "mffd_mean": ("MFFD in acute beds (P1-P3)", "patients"),
    "mffd_p0_mean": ("Ready, going home today (P0)", "patients"),
    "mffd_p1_mean": ("MFFD waiting for P1", "patients"),
    "mffd_p2_mean": ("MFFD waiting for P2", "patients"),
    "mffd_p3_mean": ("MFFD waiting for P3", "patients"),
    "delay_bed_days": ("Acute delay bed-days (P1-P3)", "bed-days"),
    "community_delay_bed_days": ("Delay bed-days in other pools", "bed-days"),
    "ed_attendances": ("A&E attendances", "attendances"),
    "ed_4h_pct": ("A&E 4-hour, all types", "%"),
    "ed_4h_type1_pct": ("A&E 4-hour, type 1", "%"),
    "ed_12h": ("A&E over 12 hours from arrival", "attendances"),
    "ed_12h_pct": ("A&E over 12 hours, share", "%"),
    "ed_12h_dta": ("Over 12 hours from decision to admit", "patients"),
    "admissions": ("Acute admissions", "patients"),
    "turned_away": ("Turned away (no bed)", "patients"),
    "gave_up": ("Another route found after waiting", "patients"),
    "diverted": ("Diverted by 2-hour response", "patients"),
    "avoided": ("Avoided by frailty MDTs", "patients"),
}
POOL_MEASURES: dict[str, tuple[str, str]] = {
    "occupied": ("Occupied", "mean"),
    "occupancy_pct": ("Occupancy", "%"),
    "peak": ("Busiest day", "mean occupied"),
    "days_over_92_pct": ("Days > 92 %", "%"),
    "delayed": ("Ready, still here", "mean"),
    "delay_days": ("Delay days", "days"),
    "waiting": ("Waiting to get in", "mean"),
    "mean_wait_days": ("Mean wait to get in", "days"),
    "admitted": ("Admitted", "patients"),
    "turned_away": ("Turned away", "patients"),
    "gave_up": ("Gave up waiting", "patients"),
    "escalation_days": ("Escalation bed-days", "bed-days"),
}


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float  # 95 % confidence interval of the mean
    high: float
    p5: float
    p50: float
    p95: float

    @classmethod
    def of(cls, values: np.ndarray) -> Estimate:
        v = np.asarray(values, dtype=np.float64)
        half = _half_width(v)
        p5, p50, p95 = np.percentile(v, [5, 50, 95])
        return cls(float(v.mean()), float(v.mean() - half), float(v.mean() + half), float(p5), float(p50),
                   float(p95))


def _half_width(values: np.ndarray, level: float = 0.95) -> float:
    if len(values) < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def core_daily(model: Model) -> np.ndarray:
    """Beds (or places, hours) open each day without escalation: (pools, days)."""
    out = np.repeat(model.core[:, None], model.n_days, axis=1)
    for when, pool, delta in zip(model.change_time, model.change_pool, model.change_delta, strict=True):
        out[pool, int(when):] += delta
    return out


def measures(model: Model, rep: Replication) -> dict[str, Any]:
    """Scalar measures of one replication over the reported days, system-wide and by pool."""
    w = model.warm_up_days
    p = rep.pools[:, :, w:].astype(np.float64)
    core = core_daily(model)[:, w:]
    acute = model.is_acute
    occupied = p[engine.OCCUPANCY]
    acute_occ = occupied[acute].sum(axis=0)
    acute_core = core[acute].sum(axis=0)
    mffd = rep.mffd[0, :, w:].astype(np.float64)
    ed = rep.ed[:, :, w:].astype(np.float64)
    attend = ed[engine.ED_ADMITTED] + ed[4]
    within = ed[engine.ED_WITHIN_4H] + ed[5]
    over_12 = ed[engine.ED_OVER_12H] + ed[6]
    type1 = np.array([t == 1 for t in model.department_type], dtype=bool)
    system = {
        "acute_occupancy_pct": _pct(acute_occ.sum(), acute_core.sum()),
        "acute_days_over_92_pct": 100 * float(np.mean(acute_occ > OVER * acute_core)) if acute.any() else np.nan,
        "acute_occupied_beds": float(acute_occ.mean()) if acute.any() else np.nan,
        "escalation_bed_days": float(p[engine.ESCALATION][acute].sum()),
        "mffd_mean": float(mffd[1:].sum(axis=0).mean()),
        **{f"mffd_p{k}_mean": float(mffd[k].mean()) for k in range(4)},
        "delay_bed_days": float(mffd[1:].sum()),
        "community_delay_bed_days": float(p[engine.DELAYED][~acute & ~model.is_ed].sum()),
        "ed_attendances": float(attend.sum()),
        "ed_4h_pct": _pct(within.sum(), attend.sum()),
        "ed_4h_type1_pct": _pct(within[type1].sum(), attend[type1].sum()),
        "ed_12h": float(over_12.sum()),
        "ed_12h_pct": _pct(over_12.sum(), attend.sum()),
        "ed_12h_dta": float(ed[engine.ED_OVER_12H_DTA].sum()),
        "admissions": float(p[engine.ADMITTED][acute].sum()),
        "turned_away": float(p[engine.TURNED][~model.is_ed].sum()),  # in an A&E pool: seen in the corridor
        "gave_up": float(p[engine.GAVE_UP].sum()),
        "diverted": float(rep.diverted[w:].sum()),
        "avoided": float(rep.avoided[w:].sum()),
    }
    pools = {}
    for i, pool in enumerate(model.pools):
        admitted = p[engine.ADMITTED, i].sum()
        pools[pool.code] = {
            "occupied": float(occupied[i].mean()), "occupancy_pct": _pct(occupied[i].sum(), core[i].sum()),
            "peak": float(occupied[i].max()),
            "days_over_92_pct": 100 * float(np.mean(occupied[i] > OVER * core[i])),
            "delayed": float(p[engine.DELAYED, i].mean()), "delay_days": float(p[engine.DELAYED, i].sum()),
            "waiting": float(p[engine.QUEUE, i].mean()),
            "mean_wait_days": float(p[engine.WAIT_DAYS, i].sum() / admitted) if admitted else np.nan,
            "admitted": float(admitted), "turned_away": float(p[engine.TURNED, i].sum()),
            "gave_up": float(p[engine.GAVE_UP, i].sum()), "escalation_days": float(p[engine.ESCALATION, i].sum()),
        }
    departments = {d: _pct(within[j].sum(), attend[j].sum()) for j, d in enumerate(model.departments)}
    return {"system": system, "pools": pools, "departments_4h_pct": departments}


def _pct(part: float, whole: float) -> float:
    return 100 * float(part) / float(whole) if whole > 0 else float("nan")


def summarise(model: Model, reps: list[Replication], seed: int) -> dict[str, Any]:
    """Everything a report needs, JSON-ready."""
    per_rep = [measures(model, r) for r in reps]
    info = model.scenario.scenario
    out: dict[str, Any] = {
        "scenario": {"name": info.name, "description": info.description, "start": str(info.start),
                     "days": info.days, "warm_up_days": info.warm_up_days,
                     "census": sum(p.census for p in model.pools)},
        "run": {"replications": len(reps), "seed": seed, "events": int(sum(r.events for r in reps)),
                "seconds_per_replication": float(np.mean([r.seconds for r in reps]))},
        "measures": {k: _estimate([m["system"][k] for m in per_rep]) for k in MEASURES},
        "pools": {code: {k: _estimate([m["pools"][code][k] for m in per_rep]) for k in POOL_MEASURES}
                  for code in model.pool_codes},
        "departments_4h_pct": {d: _estimate([m["departments_4h_pct"][d] for m in per_rep])
                               for d in model.departments},
        "daily": daily(model, reps),
    }
    return out


def _estimate(values: list[float]) -> dict[str, float | None]:
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).all():
        return {k: None for k in ("mean", "low", "high", "p5", "p50", "p95")}
    e = asdict(Estimate.of(v[~np.isnan(v)]))
    return {k: (None if np.isnan(x) else round(x, 4)) for k, x in e.items()}


def daily(model: Model, reps: list[Replication]) -> dict[str, Any]:
    """Daily series over the reported days: mean and 5th and 95th percentiles across replications."""
    w = model.warm_up_days
    dates = [str(model.scenario.scenario.start + timedelta(days=d)) for d in range(model.n_days - w)]
    occupancy = np.array([r.pools[engine.OCCUPANCY, :, w:] for r in reps], dtype=np.float64)
    mffd = np.array([r.mffd[0, 1:, w:].sum(axis=0) for r in reps], dtype=np.float64)
    ed = np.array([r.ed[:, :, w:].sum(axis=1) for r in reps], dtype=np.float64)
    attend = ed[:, engine.ED_ADMITTED] + ed[:, 4]
    with np.errstate(invalid="ignore", divide="ignore"):
        four = 100 * (ed[:, engine.ED_WITHIN_4H] + ed[:, 5]) / attend
    out = {"dates": dates,
           "occupancy": {code: _band(occupancy[:, i]) for i, code in enumerate(model.pool_codes)},
           "mffd": _band(mffd)}
    if model.departments:
        out["ed_4h_pct"] = _band(four)
    return out


def _band(values: np.ndarray) -> dict[str, list[float | None]]:
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(values, axis=0) if len(values) else values
        p5, p95 = np.nanpercentile(values, [5, 95], axis=0)
    return {k: [None if np.isnan(x) else round(float(x), 2) for x in v]
            for k, v in (("mean", mean), ("p5", p5), ("p95", p95))}


def compare(model_a: Model, reps_a: list[Replication], model_b: Model, reps_b: list[Replication]) -> dict[str, Any]:
    """B minus A, replication by replication (same seed, same replication index: common random numbers)."""
    a = [measures(model_a, r)["system"] for r in reps_a]
    b = [measures(model_b, r)["system"] for r in reps_b]
    out = {}
    for key in MEASURES:
        va = np.array([m[key] for m in a], dtype=np.float64)
        vb = np.array([m[key] for m in b], dtype=np.float64)
        if np.isnan(va).all() or np.isnan(vb).all():
            continue
        diff = vb - va
        unpaired = _half_width_two(va, vb)
        out[key] = {"a": _round(va.mean()), "b": _round(vb.mean()), "difference": _round(diff.mean()),
                    "low": _round(diff.mean() - _half_width(diff)), "high": _round(diff.mean() + _half_width(diff)),
                    "p5": _round(np.percentile(diff, 5)), "p95": _round(np.percentile(diff, 95)),
                    "unpaired_half_width": _round(unpaired)}
    return out


def _half_width_two(a: np.ndarray, b: np.ndarray) -> float:
    """What the 95 % interval of the difference would be from two independent runs (Welch)."""
    if len(a) < 2:
        return float("nan")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return 0.0
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(stats.t.ppf(0.975, dof) * np.sqrt(va + vb))


def _round(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), 4)


__all__ = ["MEASURES", "POOL_MEASURES", "Estimate", "compare", "measures", "summarise"]
