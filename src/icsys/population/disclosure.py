"""Statistical disclosure control for figures meant for sharing, as NHS England applies it to hospital
statistics (HES Analysis Guide): counts from 1 to 7 are suppressed, other counts are rounded to the
nearest 5, and any rate or ratio built on a suppressed count is suppressed with it."""

from __future__ import annotations

import numpy as np
import pandas as pd

SMALLEST_SHOWN = 8
ROUND_TO = 5


def round_count(n: float) -> float:
    """A count as it may be shared: NaN (suppressed) for 1-7, else rounded to the nearest 5."""
    if pd.isna(n):
        return np.nan
    if 0 < n < SMALLEST_SHOWN:
        return np.nan
    return float(ROUND_TO * np.floor(n / ROUND_TO + 0.5))


def for_sharing(frame: pd.DataFrame, counts: list[str], derived: dict[str, list[str]]) -> pd.DataFrame:
    """A copy with `counts` made safe and every column in derived[count] blanked where count is suppressed.
    A `suppressed` column says which rows lost figures."""
    out = frame.copy()
    suppressed = pd.Series(False, index=out.index)
    for column in counts:
        small = out[column].between(1, SMALLEST_SHOWN - 1)
        suppressed |= small
        for dependent in derived.get(column, []):
            out.loc[small, dependent] = np.nan
        out[column] = out[column].map(round_count)
    return out.assign(suppressed=suppressed)
