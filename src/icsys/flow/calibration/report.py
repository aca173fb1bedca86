"""The report of fit written beside a calibrated scenario: for each fitted part, what the data show next
to what the fitted model gives, and the observed occupancy and delays a simulation of the calibrated
scenario should reproduce."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from icsys.dataset.definitions import TYPE_1_AE
from icsys.flow import distributions as dist
from icsys.flow.calibration.fit import Fit
from icsys.flow.model import Empirical

POINTS = (0.1, 0.5, 0.9)


def fit_report(fit: Fit, source: str) -> str:
    d = fit.data
    lines = [f"# Report of fit: {source}", "",
             f"Data from {d.first} to {d.last} ({d.days} days): {len(d.ae):,} A&E attendances, {len(d.spells):,} "
             f"ordinary admissions (day cases, maternity and transfers left out), {len(d.community):,} community "
             f"bed stays, {len(d.packages):,} social care packages started by a discharge. Census of "
             f"{fit.census_day}.", ""]
    if fit.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in fit.notes], ""]
    lines += _arrivals(fit) + _stays(fit) + _pathways(fit) + _ed(fit) + _services(fit) + _targets(fit)
    return "\n".join(lines) + "\n"


def _arrivals(fit: Fit) -> list[str]:
    """Hour-of-day, day-of-week and month profiles multiply; the check is how well their product reproduces
    arrivals in each hour of the week, which the separate profiles do not fit directly."""
    d = fit.data
    lines = ["## Arrivals", "",
             "Each stream's rate is its mean a day times hour-of-day, day-of-week and month profiles. The check: "
             "arrivals in each of the 168 hours of the week against the product of the hour-of-day and "
             "day-of-week profiles (chi-square over degrees of freedom: about 1 when they differ only by "
             "chance; the p-value of that).", "",
             "| stream | a day | chi-square / df | p |", "| --- | ---: | ---: | ---: |"]
    groups = [(f"{site} A&E {mode.replace('_', ' ')}", g["arrival_time"])
              for (site, mode), g in d.ae.groupby(["site_code", "arrival_mode"])]
    groups += [(f"{site} {src}", g["admission_time"]) for (site, src), g in d.spells.groupby(["site_code", "source"])
               if src != "ae"]
    for name, times in groups:
        ratio, p = _week_fit(times)
        lines.append(f"| {name} | {len(times) / d.days:,.1f} | {ratio:.2f} | {p:.3f} |")
    total = pd.to_datetime(d.ae.loc[d.ae["department_type"] == TYPE_1_AE, "arrival_time"])
    hours = np.bincount(total.dt.hour, minlength=24) / d.days
    lines += ["", "Type 1 A&E arrivals by hour of day (all sites, a day):", "",
              "| hour | " + " | ".join(str(h) for h in range(0, 24, 2)) + " |", "| --- |" + " ---: |" * 12,
              "| arrivals | " + " | ".join(f"{hours[h] + hours[h + 1]:,.0f}" for h in range(0, 24, 2)) + " |", ""]
    return lines


def _week_fit(times: pd.Series) -> tuple[float, float]:
    """Chi-square of arrivals by hour of the week against the product of the two profiles."""
    t = pd.to_datetime(times)
    observed = np.bincount(t.dt.weekday * 24 + t.dt.hour, minlength=168).astype(float)
    expected = np.outer(np.bincount(t.dt.weekday, minlength=7), np.bincount(t.dt.hour, minlength=24)).ravel() / max(
        len(t), 1)
    used = expected > 0
    chi2 = float(((observed[used] - expected[used]) ** 2 / expected[used]).sum())
    df = max(int(used.sum()) - 1 - 6 - 23, 1)
    return chi2 / df, float(stats.chi2.sf(chi2, df))


def _sample(rows: list[tuple[float, dict[str, Any]]], n: int = 200_000) -> np.ndarray:
    rng = np.random.default_rng(0)
    shares = np.array([s for s, _ in rows])
    pick = rng.choice(len(rows), n, p=shares / shares.sum())
    out = np.empty(n)
    for i in np.unique(pick):
        sel = pick == i
        out[sel] = dist.quantile(Empirical.model_validate(rows[i][1]), rng.random(int(sel.sum())))
    return out


def _stays(fit: Fit) -> list[str]:
    lines = ["## Length of stay (admission to ready for discharge, days)", "",
             "Observed against a large sample from the fitted case mix (each group's empirical distribution "
             "weighted by its share). KS: the largest gap between the two distribution functions.", "",
             "| case mix | groups | | 10th | median | 90th | mean | KS |", "| --- | ---: | --- | ---: | ---: | ---: |"
             " ---: | ---: |"]
    for name, (observed, rows) in fit.fitted_los.items():
        if not rows or not len(observed):
            continue
        fitted = _sample(rows)
        ks = stats.ks_2samp(observed, fitted).statistic
        for label, v in (("observed", observed), ("fitted", fitted)):
            q = np.quantile(v, POINTS)
            lines.append(f"| {name if label == 'observed' else ''} | {len(rows) if label == 'observed' else ''} | "
                         f"{label} | {q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} | {v.mean():.2f} | "
                         f"{f'{ks:.3f}' if label == 'fitted' else ''} |")
    return [*lines, ""]


def _pathways(fit: Fit) -> list[str]:
    s = fit.data.spells
    lines = ["## Discharge pathways", "", "| source | P0 | P1 | P2 | P3 | admissions |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for source, g in s.groupby("source"):
        mix = np.bincount(g["pathway"].fillna(0).astype(int).clip(0, 3), minlength=4) / len(g)
        lines.append(f"| {source} | " + " | ".join(f"{100 * x:.1f} %" for x in mix) + f" | {len(g):,} |")
    return [*lines, "", "Each group's pathway mix is its own where it has 30 admissions or more, else that of its "
            "age band and specialty, so the fitted mix by source equals the observed one up to rounding.", ""]


def _ed(fit: Fit) -> list[str]:
    ae = fit.data.ae
    lines = ["## Time in A&E (hours)", "", "| attendances | 10th | median | 90th | over 4 h | over 12 h |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, v in (("type 1, not admitted", ae.loc[(ae["department_type"] == TYPE_1_AE) & ~ae["admitted"], "hours"]),
                     ("type 1, admitted (simulated: waits for a bed)",
                      ae.loc[(ae["department_type"] == TYPE_1_AE) & ae["admitted"], "hours"]),
                     ("arrival to decision to admit", ae.loc[ae["admitted"], "dta_hours"]),
                     ("other types", ae.loc[ae["department_type"] != TYPE_1_AE, "hours"])):
        v = v.dropna().to_numpy()
        if len(v):
            q = np.quantile(v, POINTS)
            lines.append(f"| {label} | {q[0]:.1f} | {q[1]:.1f} | {q[2]:.1f} | {100 * (v > 4).mean():.1f} % | "
                         f"{100 * (v > 12).mean():.1f} % |")
    return [*lines, "", "Times of those not admitted and to the decision to admit are fitted (empirical, per "
            "stream); how long admitted patients then wait for a bed is not: the model makes it.", ""]


def _services(fit: Fit) -> list[str]:
    lines = ["## Services people are discharged to", "",
             "Capacity open to discharges: the most held at once by packages that started a discharge on any day "
             "of the last year of data, or, where more, the steady load of today's starts and stays (Little's "
             "law) with a square-root margin; beside them, what the system definition commissions in all (most "
             "of which serves people who were not in hospital).", "",
             "| pool | unit | most held | steady load + margin | fitted capacity | commissioned |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for code, held, steady, capacity, commissioned, unit in getattr(fit, "capacities", []):
        lines.append(f"| {code} | {unit} | {held:,.0f} | {steady:,.0f} | {capacity:,.0f} | "
                     f"{'-' if commissioned is None else f'{commissioned:,.0f}'} |")
    return [*lines, "", "Stays in these services are fitted by Kaplan-Meier (packages still running at the end "
            "of the data count as at least that long); the time from ready for discharge to moving is fitted "
            "from the delays observed in the last year, so the calibrated model reproduces today's delays when "
            "capacity is as it was, and adds queueing when demand outgrows it.", ""]


def _targets(fit: Fit) -> list[str]:
    """Observed occupancy and MFFD in the last year of data, for checking a simulation of the scenario."""
    d = fit.data
    s = d.spells
    end = pd.Timestamp(d.last) + pd.Timedelta(days=1)
    begin = max(pd.Timestamp(d.first), end - pd.Timedelta(days=365))
    span = (end - begin).days
    lines = ["## What a simulation should reproduce (last year of data)", "",
             "Beds are the scenario's; occupancy and MFFD are what the data show in the last year.", "",
             "| site | beds | mean occupied | occupancy | MFFD (P1-P3) | emergency admissions a day |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    beds = fit.beds_used
    for site in fit.sites:
        g = s[s["site_code"] == site]
        occupied = _overlap(g["admission_time"], g["discharge_time"], begin, end) / span
        late = g[g["pathway"].isin([1, 2, 3])]
        mffd = _overlap(late["ready"], late["discharge_time"], begin, end) / span
        adm = ((g["source"] != "elective") & (pd.to_datetime(g["admission_time"]) >= begin)).sum() / span
        lines.append(f"| {site} | {beds[site]} | {occupied:,.1f} | {100 * occupied / beds[site]:.1f} % | "
                     f"{mffd:,.1f} | {adm:,.1f} |")
    return [*lines, ""]


def _overlap(start: pd.Series, stop: pd.Series, begin: pd.Timestamp, end: pd.Timestamp) -> float:
    a = pd.to_datetime(start).clip(lower=begin)
    b = pd.to_datetime(stop).fillna(end).clip(upper=end)
    return float(((b - a).dt.total_seconds().clip(lower=0) / 86_400).sum())
