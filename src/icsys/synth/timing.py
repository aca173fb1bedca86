"""When things happen: seasonal days within each person's window, hours of the day, weekdays.
Shared by the generators so every table has the same winter, week and day shapes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def seasonal_days(rng: np.random.Generator, first: np.ndarray, span: np.ndarray, amplitude: float,
                  growth: float | np.ndarray = 0.0) -> np.ndarray:
    """One day per row in [first, first + span), more often in winter: the density is proportional to
    1 + amplitude * cos(2 pi (day of year - 15) / 365), peaking in mid-January, times exp(growth * years)
    so that a row's events come more often later in its window (a person ageing and growing frailer).
    Drawn by rejection, redrawing only the rejected rows, so every row gets a day."""
    day = np.empty(len(first), "datetime64[D]")
    rise = np.broadcast_to(np.asarray(growth, float), first.shape)
    todo = np.arange(len(first))
    while len(todo):
        offset = (rng.random(len(todo)) * span[todo]).astype("timedelta64[D]")
        candidate = first[todo] + offset
        doy = (candidate - candidate.astype("datetime64[Y]")).astype(int)
        season = (1 + amplitude * np.cos(2 * np.pi * (doy - 15) / 365)) / (1 + abs(amplitude))
        trend = np.exp(rise[todo] * (offset.astype(int) - span[todo]) / 365.25)  # <= 1, 1 at the window's end
        accept = rng.random(len(todo)) < season * trend
        day[todo[accept]] = candidate[accept]
        todo = todo[~accept]
    return day


def weekday(day: np.ndarray) -> np.ndarray:
    """0 Monday ... 6 Sunday."""
    return ((day.astype("datetime64[D]").astype(np.int64) - 4) % 7).astype(np.int8)


def month_index(day: np.ndarray) -> np.ndarray:
    """Calendar month 1..12."""
    return (day.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int8)


def winter(day: np.ndarray) -> np.ndarray:
    """True from December to February."""
    m = month_index(day)
    return (m == 12) | (m <= 2)


def at_seconds(day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    return day.astype("datetime64[s]") + np.asarray(seconds, dtype=np.int64).astype("timedelta64[s]")


def hours(rng: np.random.Generator, n: int, profile: np.ndarray) -> np.ndarray:
    """Seconds after midnight with the hour drawn from a 24-value profile, uniform within the hour."""
    p = np.asarray(profile, float)
    hour = rng.choice(24, size=n, p=p / p.sum())
    return hour * 3600 + rng.integers(0, 3600, n)


# Share of discharges by hour of day: few at night, most from late morning to early evening.
DISCHARGE_PROFILE = np.array([0.4, 0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.6, 1.2, 2.5, 4.5, 6.5, 8.5, 10, 11, 11.5, 11,
                              9.5, 7.5, 5.5, 3.5, 2.2, 1.2, 0.7])


def discharge_hour(rng: np.random.Generator, around: np.ndarray) -> np.ndarray:
    """A moment near `around` (datetime64[s]) at an hour drawn from DISCHARGE_PROFILE, on the day whose
    mid-afternoon is nearest, so discharges keep their mean time but fall in the day."""
    centre = np.timedelta64(14 * 3600, "s")
    day = (around - centre + np.timedelta64(12 * 3600, "s")).astype("datetime64[D]")
    return at_seconds(day, hours(rng, len(around), DISCHARGE_PROFILE))


def category(index: np.ndarray, labels: list[str] | tuple[str, ...]) -> pa.DictionaryArray:
    """A dictionary-encoded string column: fast to build and to hand to DuckDB."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(index, dtype=np.int32)), pa.array(list(labels)))


def pick(rng: np.random.Generator, n: int, weights: dict[str, float]) -> pa.DictionaryArray:
    """n draws from labelled weights, as a dictionary-encoded column."""
    labels = list(weights)
    p = np.array([weights[k] for k in labels], float)
    return category(rng.choice(len(labels), size=n, p=p / p.sum()), labels)


def expand(counts: np.ndarray) -> np.ndarray:
    """Row positions repeated by count: the owner of each event."""
    return np.repeat(np.arange(len(counts)), counts)


def inside_the_ics(n: int) -> dict[str, pa.Array]:
    """The Who Pays? flags of synthetic activity: every site and provider is the ICS's own and every person is
    registered with one of its practices, so the ICB is the responsible commissioner of every row."""
    yes = pa.array(np.ones(n, dtype=bool))
    return {"provider_in_ics": yes, "commissioned_by_ics": yes}
