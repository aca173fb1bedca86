"""The difference in AUROC between two scores on the same people, with its 95 % interval by DeLong's method
for correlated ROC curves (DeLong ER, DeLong DM, Clarke-Pearson DL. Biometrics 1988;44:837-45), computed by
the fast algorithm of Sun X, Xu W (IEEE Signal Processing Letters 2014;21:1389-93): the structural
components come from midranks, so the cost is that of sorting rather than of comparing every pair.

Plain numpy, so that reading a card never loads scipy or scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5th centile


@dataclass(frozen=True)
class Difference:
    """AUROC of score a minus AUROC of score b, its DeLong variance and 95 % interval."""

    auroc_a: float
    auroc_b: float
    difference: float
    variance: float
    lower: float
    upper: float


def midranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing the mean of the ranks they span."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2)[inverse].astype(float)


def components(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AUROCs, V10, V01) for k scores (rows of `scores`): V10[r, i] is the share of negatives that positive i
    outranks on score r (ties count a half), V01[r, j] the share of positives that outrank negative j."""
    y = np.asarray(y).astype(bool)
    pos, neg = scores[:, y], scores[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    if m == 0 or n == 0:
        raise ValueError("an AUROC needs people with and without the outcome")
    v10, v01, aucs = np.empty((len(scores), m)), np.empty((len(scores), n)), np.empty(len(scores))
    for r in range(len(scores)):
        tz = midranks(np.concatenate([pos[r], neg[r]]))
        tx, ty = midranks(pos[r]), midranks(neg[r])
        v10[r] = (tz[:m] - tx) / n
        v01[r] = 1 - (tz[m:] - ty) / m
        aucs[r] = v10[r].mean()
    return aucs, v10, v01


def covariance(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(AUROCs, their DeLong covariance matrix S10/m + S01/n)."""
    aucs, v10, v01 = components(y, scores)
    s10 = np.atleast_2d(np.cov(v10)) if v10.shape[1] > 1 else np.zeros((len(aucs), len(aucs)))
    s01 = np.atleast_2d(np.cov(v01)) if v01.shape[1] > 1 else np.zeros((len(aucs), len(aucs)))
    return aucs, s10 / v10.shape[1] + s01 / v01.shape[1]


def difference(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> Difference:
    """AUROC(a) - AUROC(b) on the same people with the DeLong 95 % interval of the paired difference."""
    aucs, cov = covariance(y, np.vstack([np.asarray(a, float), np.asarray(b, float)]))
    variance = max(float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]), 0.0)
    d = float(aucs[0] - aucs[1])
    half = Z95 * variance ** 0.5
    return Difference(float(aucs[0]), float(aucs[1]), d, variance, d - half, d + half)
