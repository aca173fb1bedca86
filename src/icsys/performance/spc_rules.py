"""The special cause rules of an XmR chart, each a small function from vectors to a vector.

Every rule returns a signed vector with one entry per point: +1 where the point is part of a signal
upwards (above the mean, beyond the upper limit, an increasing trend), -1 downwards, 0 where the rule
does not fire. Direction, not "improvement" or "concern": that is decided later from the direction of
improvement (see `icsys.performance.spc`). The rules see one segment of a chart (between rebases) at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Signal = NDArray[np.int8]
OnTie = Literal["break", "skip"]
Flag = Literal["all", "from_trigger"]

SCREEN_FACTOR = 3.267  # moving ranges this many times the average or more are screened out (Nelson 1982)
LIMIT_FACTOR = 2.66  # 3 / d2, d2 = 1.128 for ranges of two points: the process limits are 3 sigma
TWO_SIGMA_FACTOR = 2 * (LIMIT_FACTOR / 3)


def moving_ranges(values: ArrayLike) -> NDArray[np.float64]:
    """|x[i] - x[i-1]|; the first point has none (NaN)."""
    x = np.asarray(values, dtype=float)
    return np.concatenate(([np.nan], np.abs(np.diff(x)))) if len(x) else np.array([], dtype=float)


def screened(mr: ArrayLike, factor: float = SCREEN_FACTOR) -> NDArray[np.bool_]:
    """Which moving ranges count towards the average: those under `factor` times the average of all.

    Screening happens once: the average is recomputed from the kept ranges and not screened again.
    With an average of 0 (a flat line) nothing is screened."""
    m = np.asarray(mr, dtype=float)
    present = ~np.isnan(m)
    average = m[present].mean() if present.any() else np.nan
    if not average > 0:
        return present
    return present & (m < factor * average)


def side_of_mean(values: ArrayLike, mean: ArrayLike) -> Signal:
    """+1 above the mean, -1 below, 0 on it."""
    return np.sign(np.asarray(values, dtype=float) - np.asarray(mean, dtype=float)).astype(np.int8)


def outside_limits(values: ArrayLike, lpl: ArrayLike, upl: ArrayLike) -> Signal:
    """A point beyond a process limit (strictly; a point on a limit is inside)."""
    x = np.asarray(values, dtype=float)
    return (x > np.asarray(upl, dtype=float)).astype(np.int8) - (x < np.asarray(lpl, dtype=float)).astype(np.int8)


def beyond_two_sigma(values: ArrayLike, lower: ArrayLike, upper: ArrayLike, lpl: ArrayLike, upl: ArrayLike,
                     include_outside: bool) -> Signal:
    """A point beyond a two-sigma line; with include_outside False only those still inside the process
    limits count (NHSRplotthedots), with True those beyond the limits count too (Making Data Count, 2023)."""
    x = np.asarray(values, dtype=float)
    near = (x > np.asarray(upper, dtype=float)).astype(np.int8) - (x < np.asarray(lower, dtype=float)).astype(np.int8)
    if not include_outside:
        near[outside_limits(x, lpl, upl) != 0] = 0
    return near


def _runs(signs: NDArray[np.int8], on_zero: OnTie) -> list[tuple[int, int, int, list[int]]]:
    """Maximal runs of one non-zero sign: (first, last, sign, positions of its non-zero elements).

    A zero breaks a run ("break") or sits inside it without counting ("skip"); zeros at either end of a
    run are not part of it."""
    runs: list[tuple[int, int, int, list[int]]] = []
    current: list[int] = []
    sign = 0
    for i, s in enumerate(signs):
        if s == 0:
            if on_zero == "break" and current:
                runs.append((current[0], current[-1], sign, current))
                current, sign = [], 0
            continue
        if s != sign and current:
            runs.append((current[0], current[-1], sign, current))
            current = []
        sign = int(s)
        current.append(i)
    if current:
        runs.append((current[0], current[-1], sign, current))
    return runs


def shift(side: ArrayLike, length: int = 7, on_mean: OnTie = "break", flag: Flag = "all") -> Signal:
    """`length` or more points in a row on one side of the mean.

    side: `side_of_mean` of each point. A point on the mean breaks the run ("break") or neither adds to nor
    breaks it ("skip"). flag "all" marks every point of the run; "from_trigger" only the point that completes
    `length` and those after it."""
    s = np.asarray(side, dtype=np.int8)
    out = np.zeros(len(s), dtype=np.int8)
    for first, last, sign, counted in _runs(s, on_mean):
        if len(counted) >= length:
            start = first if flag == "all" else counted[length - 1]
            out[start:last + 1] = sign
    return out


def trend(values: ArrayLike, length: int = 7, on_tie: OnTie = "break", flag: Flag = "all") -> Signal:
    """`length` or more points in a row each higher (or each lower) than the one before.

    Two equal points in a row break the trend ("break", NHSRplotthedots) or neither add to nor break it
    ("skip", as the NHS run chart guide counts like values). The points of a trend carry its direction, so a
    trend that crosses the mean keeps one direction; a point where a rise turns into a fall takes the later
    trend. flag as in `shift`."""
    x = np.asarray(values, dtype=float)
    out = np.zeros(len(x), dtype=np.int8)
    steps = np.sign(np.diff(x)).astype(np.int8) if len(x) > 1 else np.zeros(0, dtype=np.int8)
    for first, last, sign, counted in _runs(steps, on_tie):
        if len(counted) + 1 >= length:  # n steps join n + 1 points
            start = first if flag == "all" else counted[length - 2] + 1
            out[start:last + 2] = sign
    return out


def two_in_three(near: ArrayLike, side: ArrayLike, flag: Literal["near", "all_three"] = "near",
                 third: Literal["same_side", "anywhere"] = "same_side") -> Signal:
    """Two or three of three points in a row beyond the same two-sigma line.

    near: `beyond_two_sigma` of each point; side: `side_of_mean`. third "same_side": all three points must be
    on that side of the mean (Making Data Count, NHSRplotthedots 0.2); "anywhere": the third point may be
    anywhere (the Western Electric rule, NHSRplotthedots before 0.2). flag "near" marks only the points
    beyond two sigma; "all_three" marks the whole window."""
    b = np.asarray(near, dtype=np.int8)
    s = np.asarray(side, dtype=np.int8)
    out = np.zeros(len(b), dtype=np.int8)
    for i in range(len(b) - 2):
        window = slice(i, i + 3)
        for sign in (1, -1):
            if (b[window] == sign).sum() < 2 or (third == "same_side" and not (s[window] == sign).all()):
                continue
            marked = np.ones(3, dtype=bool) if flag == "all_three" else b[window] == sign
            out[window][marked] = sign
    return out


def first_nonzero(signals: Sequence[Signal]) -> tuple[NDArray[np.int64], Signal]:
    """For each point, which of the signals (in order of precedence) is the first to fire, and its sign;
    -1 and 0 where none fires."""
    stacked = np.vstack(signals) if len(signals) else np.zeros((0, 0), dtype=np.int8)
    fired = stacked != 0
    which = np.where(fired.any(axis=0), fired.argmax(axis=0), -1)
    sign = np.where(which >= 0, stacked[np.maximum(which, 0), np.arange(stacked.shape[1])], 0).astype(np.int8)
    return which, sign
