"""Confidence intervals as the Public Health England technical guide to public health analysis gives
them (and the PHEindicatormethods package implements): Wilson score intervals for proportions, Byar's
approximation to the exact Poisson interval for counts and indirectly standardised ratios, and Dobson's
method for directly standardised rates."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

Z95 = float(norm.ppf(0.975))


def wilson(successes: np.ndarray, trials: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits of a proportion (Wilson score interval); NaN where trials is 0."""
    x, n = np.asarray(successes, float), np.asarray(trials, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = 2 * x + z**2
        spread = z * np.sqrt(z**2 + 4 * x * (1 - p))
        denom = 2 * (n + z**2)
        return (centre - spread) / denom, (centre + spread) / denom


def byar(observed: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Limits of a Poisson count by Byar's method (exact-like for any count; 0 has lower limit 0)."""
    o = np.asarray(observed, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(o > 0, o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3, 0.0)
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    return lower, upper


def ratio_limits(observed: np.ndarray, expected: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Limits of observed / expected (an indirectly standardised ratio) with Byar's count limits."""
    lower, upper = byar(observed, z)
    e = np.asarray(expected, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return lower / e, upper / e


def dobson(counts: np.ndarray, populations: np.ndarray, weights: np.ndarray,
           z: float = Z95) -> tuple[float, float, float]:
    """A directly standardised rate per person and its limits (Dobson et al., Stat Med 1991): the
    weighted sum of age-specific rates, with the interval of the total count carried over. With no
    events the rate and its lower limit are 0 and the upper limit is NaN."""
    o, n, w = (np.asarray(a, float) for a in (counts, populations, weights))
    keep = n > 0
    o, n, w = o[keep], n[keep], w[keep] / w[keep].sum()
    rate = float(np.sum(w * o / n))
    total = o.sum()
    if total == 0:  # no events: no variance to carry over; the upper limit is left unknown
        return rate, 0.0, float("nan")
    spread = np.sqrt(np.sum((w / n) ** 2 * o) / total)
    lower, upper = (float(v[0]) for v in byar(np.array([total]), z))
    return rate, rate + spread * (lower - total), rate + spread * (upper - total)
