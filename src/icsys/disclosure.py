"""Statistical disclosure control and the small-number rule: the one place icsys decides which counts may be
shown and from how few people a rate, an SPC signal or a funnel position may be read.

The rules are NHS England's for hospital statistics (HES Analysis Guide), as OpenSAFELY also applies them:
a count from 1 to SMALL_NUMBER - 1 (1-7) is suppressed, every other count is rounded to the nearest
ROUND_TO (5), and every figure of an output meant for sharing is derived from the rounded counts or
rounded itself, so nothing in the output is finer than the rounded counts. Outputs published at several
levels (practices and their PCN, PCNs and their ICP) can be differenced: `protect` finds every total
that, set against the rounded figures of its parts, would pin a count to one value, and suppresses it.

The same SMALL_NUMBER is the count below which a reported rate is flagged as resting on too few people
and shows no SPC signal (the board pack) or funnel position.

The ground layer (ADR 008): no icsys imports, so population, performance and reports all use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

SMALL_NUMBER = 8  # counts below this (1-7) are suppressed; rates on fewer people are flagged
ROUND_TO = 5
SMALLEST_SHOWN = SMALL_NUMBER  # the old name


def round_count(n: float) -> float:
    """A count as it may be shared: NaN (suppressed) for 1-7, else rounded to the nearest 5 (halves up)."""
    if pd.isna(n):
        return np.nan
    if 0 < n < SMALL_NUMBER:
        return np.nan
    return float(ROUND_TO * np.floor(n / ROUND_TO + 0.5))


def rounded(values: pd.Series | Sequence[float]) -> pd.Series:
    """round_count of each value."""
    return pd.Series(values).map(round_count).astype(float)


def is_small(n: float | None) -> bool:
    """Whether a count is too small to read a rate from (below SMALL_NUMBER; a missing count is small)."""
    return n is None or pd.isna(n) or n < SMALL_NUMBER


def bounds(shared: float) -> tuple[int, int]:
    """The true counts a shared figure allows: 0 for 0; 1-7 for a suppressed count (NaN); for r, the counts
    that round to r (r-2 to r+2 for rounding to 5), never below SMALL_NUMBER."""
    if pd.isna(shared):
        return 1, SMALL_NUMBER - 1
    r = int(shared)
    if r == 0:
        return 0, 0
    return max(r - ROUND_TO // 2, SMALL_NUMBER), r + (ROUND_TO - 1) // 2


def for_sharing(frame: pd.DataFrame, counts: list[str], derived: dict[str, list[str]]) -> pd.DataFrame:
    """A copy with `counts` rounded and every column in derived[count] blanked where count is suppressed.
    A `suppressed` column says which rows lost figures. The caller recomputes the derived figures from the
    rounded counts (or rounds them) so that none is finer than the counts."""
    out = frame.copy()
    suppressed = pd.Series(False, index=out.index)
    for column in counts:
        small = out[column].between(1, SMALL_NUMBER - 1)
        suppressed |= small
        for dependent in derived.get(column, []):
            out.loc[small, dependent] = np.nan
        out[column] = out[column].map(round_count)
    return out.assign(suppressed=suppressed)


# --- differencing across levels -------------------------------------------------------------------------

Groups = Sequence[tuple[str, Sequence[str]]]  # (a total's key, the keys of the parts it sums), one per sum


def feasible(shared: Mapping[str, float], groups: Groups) -> dict[str, tuple[int, int]]:
    """The range of true counts each key can have, given every shared figure (NaN for suppressed; a key
    missing from `shared` is unpublished, 0 and up) and that each total is the sum of its parts: interval
    propagation to a fixed point, the differencing an analyst would do with a spreadsheet."""
    keys = set(shared) | {t for t, _ in groups} | {k for _, parts in groups for k in parts}
    low = {k: bounds(shared[k])[0] if k in shared else 0 for k in keys}
    high = {k: bounds(shared[k])[1] if k in shared else 10**12 for k in keys}
    sums = [(total, list(parts)) for total, parts in groups]
    changed = True
    while changed:
        changed = False
        for total, parts in sums:
            lo_sum, hi_sum = sum(low[p] for p in parts), sum(high[p] for p in parts)
            changed |= _narrow(low, high, total, lo_sum, hi_sum)
            for p in parts:
                changed |= _narrow(low, high, p, low[total] - (hi_sum - high[p]), high[total] - (lo_sum - low[p]))
    return {k: (low[k], high[k]) for k in keys}


def _narrow(low: dict[str, int], high: dict[str, int], key: str, lo: int, hi: int) -> bool:
    new_lo, new_hi = max(low[key], lo), min(high[key], hi)
    if (new_lo, new_hi) == (low[key], high[key]):
        return False
    low[key], high[key] = new_lo, new_hi
    return True


def disclosed(shared: Mapping[str, float], groups: Groups) -> list[str]:
    """Keys whose true count differencing pins to one value, though the figure shown is not that count
    (a shown 0 is exact and discloses nothing more)."""
    ranges = feasible(shared, groups)
    return sorted(k for k, (lo, hi) in ranges.items() if lo == hi and not (k in shared and shared[k] == 0 == lo))


def protect(true: Mapping[str, float], groups: Groups) -> dict[str, float]:
    """The shared figure of every key (round_count of its true count), with totals suppressed (NaN) where
    they would let a count be recovered by differencing: the largest total whose parts include a pinned key
    goes first, until nothing is pinned."""
    shared = {k: round_count(v) for k, v in true.items()}
    withheld: set[str] = set()
    while pinned := disclosed({k: v for k, v in shared.items() if k not in withheld}, groups):
        culprits = [t for t, parts in groups if t not in withheld
                    and (t in pinned or set(parts) & set(pinned))]
        if not culprits:
            break
        withheld.add(max(culprits, key=lambda t: (true.get(t, 0), t)))
    return {k: (np.nan if k in withheld else v) for k, v in shared.items()}


def place_groups(places: pd.DataFrame, levels: Iterable[str]) -> list[tuple[str, list[str]]]:
    """The sums a set of outputs by place can be differenced along: each organisation of `levels` (pcn, icp,
    locality, district, ics: columns of `places`, a row per practice) is the sum of its practices. Keys are
    "level:code"."""
    groups = []
    for level in levels:
        for code, rows in places.groupby(level, sort=True):
            if code != "":
                groups.append((f"{level}:{code}", [f"practice:{p}" for p in rows["practice"]]))
    return groups
