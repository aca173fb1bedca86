"""Drawing durations by inversion: one uniform number per draw, put through the inverse distribution
function. The same uniform gives a longer stay under a longer distribution, which is what makes common
random numbers couple two scenarios patient by patient."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from icsys.flow.model import Distribution, Empirical, Exponential, Fixed, Lognormal, Uniform

_GRID = 1024  # points of the numerical length-biased draw for a census


def lognormal_parameters(mean: float, sd: float) -> tuple[float, float]:
    """(mu, sigma) of the normal whose exponential has this mean and standard deviation."""
    sigma2 = math.log1p((sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def quantile(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """The values at cumulative probabilities u (uniform draws in [0, 1))."""
    u = np.asarray(u, dtype=np.float64)
    if isinstance(dist, Exponential):
        return -dist.mean * np.log1p(-u)
    if isinstance(dist, Lognormal):
        mu, sigma = lognormal_parameters(dist.mean, dist.sd)
        return np.exp(mu + sigma * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))
    if isinstance(dist, Fixed):
        return np.full(u.shape, dist.value)
    if isinstance(dist, Uniform):
        return dist.low + u * (dist.high - dist.low)
    if isinstance(dist, Empirical):
        if dist.probabilities is None:  # evenly spaced: straight to the segment, no search
            q = np.asarray(dist.quantiles, dtype=np.float64)
            x = np.clip(u, 0.0, 1.0) * (len(q) - 1)
            i = np.minimum(x.astype(np.int64), len(q) - 2)
            return q[i] + (x - i) * (q[i + 1] - q[i])
        return np.interp(u, dist.probabilities, dist.quantiles)
    raise TypeError(f"unknown distribution {dist!r}")


def probabilities(dist: Empirical) -> np.ndarray:
    if dist.probabilities is not None:
        return np.asarray(dist.probabilities, dtype=np.float64)
    return np.linspace(0.0, 1.0, len(dist.quantiles))


def mean(dist: Distribution) -> float:
    if isinstance(dist, Exponential | Lognormal):
        return dist.mean
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, Uniform):
        return (dist.low + dist.high) / 2
    p, q = probabilities(dist), np.asarray(dist.quantiles, dtype=np.float64)
    return float(np.sum(np.diff(p) * (q[1:] + q[:-1]) / 2))  # piecewise-linear inverse: trapezium rule


def exceeds(dist: Distribution, value: float) -> float:
    """P(X > value)."""
    if isinstance(dist, Exponential):
        return math.exp(-value / dist.mean)
    if isinstance(dist, Lognormal):
        mu, sigma = lognormal_parameters(dist.mean, dist.sd)
        return 0.5 * math.erfc((math.log(value) - mu) / (sigma * math.sqrt(2))) if value > 0 else 1.0
    if isinstance(dist, Fixed):
        return float(dist.value > value)
    if isinstance(dist, Uniform):
        if dist.high == dist.low:
            return float(dist.low > value)
        return float(np.clip((dist.high - value) / (dist.high - dist.low), 0, 1))
    p, q = probabilities(dist), np.asarray(dist.quantiles, dtype=np.float64)
    if value < q[0]:
        return 1.0
    if value >= q[-1]:
        return 0.0
    return float(1 - np.interp(value, q, p))


def residual(dist: Distribution, u_length: np.ndarray, u_elapsed: np.ndarray) -> np.ndarray:
    """Time left for people found in service at a random moment (a census): the stay of someone present is
    length-biased (long stays are more likely to be seen), and they are a uniform share of the way through it."""
    grid = quantile(dist, (np.arange(_GRID) + 0.5) / _GRID)
    total = grid.sum()
    if total <= 0:
        return np.zeros(np.shape(u_length))
    weights = np.cumsum(grid) / total
    stay = grid[np.minimum(np.searchsorted(weights, u_length, side="right"), _GRID - 1)]
    return stay * (1 - np.asarray(u_elapsed))
