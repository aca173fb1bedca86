"""The estimators calibration fits with: empirical distributions, Kaplan-Meier for durations some of which
have not ended, arrival profiles, and the small sums and shares they need."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

GRID = np.linspace(0.0, 1.0, 21)  # probabilities of the fitted empirical distributions


def empirical(values: np.ndarray) -> dict[str, Any] | None:
    """An empirical distribution at 21 evenly spaced probabilities; the top value is set so the fitted
    mean equals the observed one (the last segment carries the mean of the top 5 %)."""
    v = np.sort(np.asarray(values, dtype=np.float64)[np.isfinite(values)])
    v = np.maximum(v, 0.0)
    if len(v) == 0:
        return None
    q = np.quantile(v, GRID)
    top = v[v >= q[-2]]
    q[-1] = max(q[-2], 2 * top.mean() - q[-2]) if len(top) else q[-2]
    return {"distribution": "empirical", "quantiles": [round(float(x), 4) for x in q]}


def kaplan_meier(durations: np.ndarray, ended: np.ndarray) -> dict[str, Any] | None:
    """Quantiles of a duration some of whose spells have not ended (censored), by Kaplan-Meier. Where the
    estimate stops short (the longest spells are still running), an exponential tail takes over, with the
    rate of ends per day at risk beyond the median observed end."""
    d = np.asarray(durations, dtype=np.float64)
    e = np.asarray(ended, dtype=bool)
    ok = np.isfinite(d)
    d, e = np.maximum(d[ok], 0.0), e[ok]
    if len(d) == 0 or not e.any():
        return None
    order = np.argsort(d, kind="stable")
    d, e = d[order], e[order]
    survival = np.cumprod(1 - e / (len(d) - np.arange(len(d))))
    cdf = 1 - survival
    middle = np.median(d[e])
    exposure = np.clip(d - middle, 0, None).sum()
    rate = e[d > middle].sum() / exposure if exposure > 0 and e[d > middle].any() else 1 / max(d.mean(), 1e-9)
    last = np.flatnonzero(e)[-1]
    q = np.zeros(len(GRID))
    for i, p in enumerate(GRID[1:-1], start=1):
        j = np.searchsorted(cdf, p - 1e-12, side="left")
        q[i] = d[j] if j <= last else d[last] + np.log(survival[last] / (1 - p)) / rate
    beyond = d[e & (d >= q[-2])]
    q[-1] = q[-2] + 2 * ((beyond.mean() - q[-2]) if len(beyond) and cdf[last] >= GRID[-2] else 1 / rate)
    return {"distribution": "empirical", "quantiles": [round(float(x), 4) for x in np.maximum.accumulate(q)]}


def profile(times: pd.Series, first: date, last: date) -> dict[str, list[float]]:
    """Hour-of-day, day-of-week and month profiles (relative, mean 1), per calendar day available."""
    t = pd.to_datetime(times)
    days = pd.date_range(first, last, freq="D")
    by_hour = np.bincount(t.dt.hour, minlength=24).astype(float)
    by_dow = np.bincount(t.dt.weekday, minlength=7) / np.maximum(np.bincount(days.weekday, minlength=7), 1)
    by_month = np.bincount(t.dt.month - 1, minlength=12) / np.maximum(np.bincount(days.month - 1, minlength=12), 1)
    out = {}
    for name, counts in (("hour_of_day", by_hour), ("day_of_week", by_dow), ("month", by_month)):
        if counts.sum() > 0:
            # months the data do not cover take the mean, rather than zero demand
            counts = np.where(counts > 0, counts, counts[counts > 0].mean()) if name == "month" else counts
            out[name] = [round(float(x), 4) for x in counts / counts.mean()]
    return out


def pathway_mix(pathways: pd.Series) -> list[float]:
    counts = np.bincount(pathways.fillna(0).astype(int).clip(0, 3), minlength=4).astype(float)
    return [round(float(x), 5) for x in counts / counts.sum()] if counts.sum() else [1.0, 0.0, 0.0, 0.0]


def normalise(mix: list[float]) -> list[float]:
    total = sum(mix)
    out = [round(x / total, 5) for x in mix]
    out[int(np.argmax(out))] += round(1 - sum(out), 5)
    return [max(0.0, x) for x in out]


def weighted_count(times: np.ndarray, weight: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """For each point of the grid, the total weight of the times at or before it."""
    order = np.argsort(times, kind="stable")
    total = np.concatenate([[0.0], np.cumsum(weight[order])])
    return total[np.searchsorted(times[order], grid, side="right")]


def within(counts: dict[str, int], total: int) -> dict[str, int]:
    """Counts scaled down (if need be) so that they add up to no more than total."""
    have = sum(counts.values())
    if have <= total:
        return counts
    return {k: v * total // have for k, v in counts.items()}


def normalise_dict(shares: dict[str, float]) -> dict[str, float]:
    keys = list(shares)
    values = normalise(list(shares.values()))
    return dict(zip(keys, values, strict=True))
