"""Funnel plots: organisations against the system's average, with control limits that narrow as the
denominator grows (Spiegelhalter, Funnel plots for comparing institutional performance, Stat Med
2005;24:1185-1202, the method of the PHE/APHO technical briefing on statistical process control).

The limits are exact: for a proportion, of the binomial with the system's proportion p0 and the
organisation's denominator n; for a rate or ratio, of the Poisson with the organisation's expected count
E (its denominator x the system's rate). A limit at probability q is the q-quantile r of that distribution,
interpolated so the limits move smoothly with n (Spiegelhalter 2005, appendix A.1):
    r = the smallest count with F(r) >= q,  a = (F(r) - q) / (F(r) - F(r - 1)),  limit = (r - a) / n
(for the Poisson, divided by E and times the system's rate). 95 % limits are at 0.025 and 0.975, 99.8 %
limits at 0.001 and 0.999. An organisation with fewer than SMALL_NUMBER in its denominator (patients) or
numerator (events, for a rate) is not placed on the funnel.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from icsys.disclosure import SMALL_NUMBER

Kind = Literal["proportion", "rate"]
PROBABILITIES = {"95": (0.025, 0.975), "99.8": (0.001, 0.999)}


def _interpolated(cdf: stats.rv_discrete, q: float) -> float:
    """The q-quantile of a discrete distribution on 0, 1, 2, ... interpolated between counts."""
    r = float(cdf.ppf(q))
    at, below = float(cdf.cdf(r)), float(cdf.cdf(r - 1)) if r > 0 else 0.0
    a = (at - q) / (at - below) if at > below else 0.0
    return r - a


def binomial_limit(n: float, p0: float, q: float) -> float:
    """The limit, as a proportion, at probability q for a denominator of n around p0 (kept within 0-1)."""
    if n <= 0:
        return float("nan")
    return float(min(max(_interpolated(stats.binom(round(n), p0), q) / n, 0.0), 1.0))


def poisson_limit(expected: float, q: float) -> float:
    """The limit, as a ratio to the expected count, at probability q for an expected count (0 and up)."""
    if expected <= 0:
        return float("nan")
    return float(max(_interpolated(stats.poisson(expected), q) / expected, 0.0))


def limits(denominator: float, centre: float, kind: Kind) -> dict[str, float]:
    """The four limits (lower/upper 95 and 99.8) for one denominator, in the measure's own scale (a
    proportion 0-1, or a rate per unit of denominator)."""
    out = {}
    for level, (low, high) in PROBABILITIES.items():
        for side, q in (("lower", low), ("upper", high)):
            if kind == "proportion":
                out[f"{side}_{level}"] = binomial_limit(denominator, centre, q)
            else:
                out[f"{side}_{level}"] = centre * poisson_limit(denominator * centre, q)
    return out


def funnel(frame: pd.DataFrame, kind: Kind, multiplier: float) -> tuple[float, pd.DataFrame]:
    """Each organisation (columns org, numerator, denominator) against the centre of them all (their
    summed numerator over their summed denominator): its value, limits, where it lies and whether it is
    left off as a small number. Values and limits are times `multiplier` (100 for a percentage)."""
    rows = frame.dropna(subset=["numerator", "denominator"])
    rows = rows[rows["denominator"] > 0].copy()
    centre = float(rows["numerator"].sum() / rows["denominator"].sum()) if len(rows) else float("nan")
    base = rows["denominator"] if kind == "proportion" else rows["numerator"]
    rows["small"] = base < SMALL_NUMBER
    rows["value"] = multiplier * rows["numerator"] / rows["denominator"]
    found = [limits(d, centre, kind) for d in rows["denominator"]]
    for column in ("lower_95", "upper_95", "lower_99.8", "upper_99.8"):
        rows[column] = [multiplier * f[column] for f in found]
    rows["position"] = [_position(r) for r in rows.to_dict("records")]
    return multiplier * centre, rows.reset_index(drop=True)


def _position(row: dict) -> str:
    if row["small"]:
        return "small number"
    v = row["value"]
    if v > row["upper_99.8"]:
        return "above 99.8 % limit"
    if v > row["upper_95"]:
        return "above 95 % limit"
    if v < row["lower_99.8"]:
        return "below 99.8 % limit"
    if v < row["lower_95"]:
        return "below 95 % limit"
    return "within the limits"


def curve(centre: float, largest: float, kind: Kind, multiplier: float, points: int = 60) -> pd.DataFrame:
    """The limits along denominators from 1 to `largest` (log-spaced), for drawing the funnel; `centre`
    is in the multiplied scale."""
    grid = np.unique(np.round(np.geomspace(1, max(largest * 1.05, 2), points)))
    rows = [{"denominator": n, **{k: multiplier * v for k, v in limits(n, centre / multiplier, kind).items()}}
            for n in grid]
    return pd.DataFrame(rows)
